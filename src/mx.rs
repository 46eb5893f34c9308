//! MX answers (RFC 7505 null MX) and MX host vs policy pattern matching (RFC 8461 §4.1).
//!
//! API contract (implementation being written): other modules rely on these signatures.

pub use crate::row::Coverage;

/// The meaning of an MX answer set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxAnswer {
    /// Hosts ordered by preference (then name), lowercase, no trailing dot.
    Hosts(Vec<String>),
    /// A single `0 .` record (RFC 7505).
    NullMx,
    /// A null MX mixed with other records (RFC 7505 §3: a misconfiguration); the other hosts.
    NullMixed(Vec<String>),
    /// No records.
    Empty,
}

/// Interprets MX records as (preference, exchange) pairs.
pub fn interpret(records: &[(u16, String)]) -> MxAnswer {
    let _ = records;
    todo!("parsers issue")
}

/// Whether `host` matches the policy `pattern` (RFC 8461 §4.1).
pub fn pattern_matches(pattern: &str, host: &str) -> bool {
    let _ = (pattern, host);
    todo!("parsers issue")
}

/// How many of `hosts` the patterns cover, and which hosts are not covered (in order).
pub fn coverage(patterns: &[String], hosts: &[String]) -> (Coverage, Vec<String>) {
    let _ = (patterns, hosts);
    todo!("parsers issue")
}
