//! The MTA-STS policy body (RFC 8461 §3.2), with strict and lenient verdicts.
//!
//! API contract (implementation being written): other modules rely on these signatures.

pub use crate::row::Mode;

/// A parsed policy (the lenient reading).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: String,
    pub mode: Mode,
    pub max_age: u64,
    /// `mx` patterns in order, as written (lowercased, trailing dot removed).
    pub mx: Vec<String>,
    /// Unknown keys, first occurrence of each.
    pub extensions: Vec<(String, String)>,
}

/// One named problem: `code` is stable (used in results.csv), `rfc` the clause it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Stable snake_case name, e.g. `mode_invalid`, `crlf_mixed`, `utf8_bom`.
    pub code: &'static str,
    /// The rule broken, e.g. "RFC 8461 §3.2".
    pub rfc: &'static str,
    /// Human explanation naming the offending value.
    pub detail: String,
}

/// Both verdicts on one body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyReport {
    /// The policy under the lenient verdict, or None when it is invalid.
    pub policy: Option<Policy>,
    /// Problems that make the lenient verdict fail (empty iff `policy` is Some).
    pub errors: Vec<Problem>,
    /// Problems only the strict RFC grammar rejects, plus other warnings.
    pub warnings: Vec<Problem>,
    /// True when the body satisfies the strict RFC grammar.
    pub strict_valid: bool,
}

/// Largest body a fetcher accepts (RFC 8461 §3.3 suggests a limit; we use 64 KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// Parses a policy body.
pub fn parse(body: &[u8]) -> PolicyReport {
    let _ = body;
    todo!("parsers issue")
}
