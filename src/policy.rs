//! The MTA-STS policy body (RFC 8461 §3.2), with strict and lenient verdicts.
//!
//! [`parse`] reads the body once and reports two verdicts: *strict* (the RFC
//! grammar) and *lenient* (what widely deployed senders accept: whitespace,
//! BOM, comment, blank-line and front-matter noise is read past, but invalid
//! values are not). docs/policy-verdicts.md lists the rules and the decision
//! for every curated real-world policy; [`codes::CODES`] is the code table.

pub mod codes;
mod fields;
pub mod lines;

pub use crate::row::Mode;
pub use codes::{CodeInfo, Severity, CODES};

/// A parsed policy (the lenient reading).
///
/// ```text
/// RFC 8461 §3.2:
///   sts-policy-version-value = %s"STSv1"
///   sts-policy-mode-value    = %s"testing" / %s"enforce" / %s"none"
///   sts-policy-mx-value      = ["*."] Domain
///   sts-policy-max-age-value = 1*10(DIGIT)
///   max_age: Max lifetime of the policy (plaintext non-negative integer
///   seconds, maximum value of 31557600).
///   If any non-repeated field -- i.e., all fields excluding "mx" -- is
///   duplicated, all entries except for the first SHALL be ignored.
/// ```
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

impl Problem {
    /// A problem with a code from [`CODES`] (its `rfc` comes from the table).
    pub fn new(code: &'static str, detail: impl Into<String>) -> Problem {
        let rfc = codes::info(code).map_or("RFC 8461 §3.2", |c| c.rfc);
        Problem {
            code,
            rfc,
            detail: detail.into(),
        }
    }

    /// What this problem does to the verdicts.
    pub fn severity(&self) -> Severity {
        codes::info(self.code).map_or(Severity::Error, |c| c.severity)
    }
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

impl PolicyReport {
    /// The error codes joined by `;` (the `policy_error` cell of an invalid body).
    pub fn error_summary(&self) -> String {
        dedup_codes(&self.errors).join(";")
    }

    /// The warning codes in order found, each once (the `policy_warnings` cell).
    pub fn warning_codes(&self) -> Vec<String> {
        dedup_codes(&self.warnings)
    }
}

fn dedup_codes(problems: &[Problem]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in problems {
        if !out.iter().any(|c| c == p.code) {
            out.push(p.code.to_string());
        }
    }
    out
}

/// Largest body a fetcher accepts (RFC 8461 §3.3 suggests a limit; we use 64 KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// The largest max_age (RFC 8461 §3.2): one year.
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

/// Parses a policy body.
pub fn parse(body: &[u8]) -> PolicyReport {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let truncated = body.len() > MAX_BODY;
    let body = if truncated {
        errors.push(Problem::new(
            "body_too_large",
            format!("{} bytes; only the first {MAX_BODY} were read", body.len()),
        ));
        &body[..MAX_BODY]
    } else {
        body
    };
    let policy = match lines::decode(body, truncated) {
        Err(lines::Undecodable::Utf16) => {
            errors.push(Problem::new(
                "utf16",
                "starts with a UTF-16 byte-order mark; policies are UTF-8",
            ));
            None
        }
        Err(lines::Undecodable::NotUtf8 { offset }) => {
            errors.push(Problem::new(
                "not_utf8",
                format!("invalid UTF-8 at byte offset {offset}"),
            ));
            None
        }
        Ok(decoded) => {
            if decoded.bom {
                warnings.push(Problem::new(
                    "utf8_bom",
                    "starts with EF BB BF; the grammar has no byte-order mark",
                ));
            }
            fields::read(decoded.text, &mut errors, &mut warnings)
        }
    };
    let policy = if errors.is_empty() { policy } else { None };
    let strict_valid = errors.is_empty()
        && warnings
            .iter()
            .all(|w| w.severity() != Severity::StrictOnly);
    PolicyReport {
        policy,
        errors,
        warnings,
        strict_valid,
    }
}

#[cfg(test)]
mod tests;
