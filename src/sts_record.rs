//! The `_mta-sts` TXT record (RFC 8461 §3.1).
//!
//! API contract (implementation being written): other modules rely on these signatures.

/// The verdict on the TXT answer set at `_mta-sts.<domain>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StsRecord {
    /// Exactly one record starts with `v=STSv1` and it parses.
    Valid {
        /// The `id` value (1–32 ALPHA/DIGIT).
        id: String,
        /// Extension fields, in order, first occurrence of each name.
        extensions: Vec<(String, String)>,
        /// The record text (strings concatenated).
        text: String,
    },
    /// No record starts with `v=STSv1` (or the answer set is empty).
    Absent,
    /// More than one record starts with `v=STSv1`.
    Multiple { texts: Vec<String> },
    /// One record starts with `v=STSv1` but does not parse.
    Invalid { reason: String, text: String },
}

/// Judges a TXT answer set. Each element is one TXT record with its
/// character-strings already concatenated without separators.
pub fn parse_answer(records: &[Vec<u8>]) -> StsRecord {
    let _ = records;
    todo!("parsers issue")
}
