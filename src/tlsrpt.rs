//! The `_smtp._tls` TXT record (RFC 8460 §3).
//!
//! API contract (implementation being written): other modules rely on these signatures.

/// The verdict on the TXT answer set at `_smtp._tls.<domain>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsRptRecord {
    Valid { rua: Vec<String>, text: String },
    Absent,
    Multiple { texts: Vec<String> },
    Invalid { reason: String, text: String },
}

/// Judges a TXT answer set (each record's strings concatenated).
pub fn parse_answer(records: &[Vec<u8>]) -> TlsRptRecord {
    let _ = records;
    todo!("parsers issue")
}
