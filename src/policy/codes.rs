//! The stable problem codes of the policy parser and what each one costs.
//!
//! These strings are written to results.csv (`policy_error`,
//! `policy_warnings`): never rename one. docs/policy-verdicts.md explains them.

/// What a problem does to the two verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Fails the lenient verdict (and so the strict one): no policy.
    Error,
    /// Breaks the RFC grammar only; lenient senders read past it.
    StrictOnly,
    /// Legal, but probably not what the publisher meant.
    Advice,
}

/// One row of the code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    pub code: &'static str,
    pub rfc: &'static str,
    pub severity: Severity,
    /// One line for people, used by docs and `stsmap lint`.
    pub summary: &'static str,
}

const S32: &str = "RFC 8461 §3.2";

macro_rules! codes {
    ($($code:literal, $rfc:expr, $sev:ident, $summary:literal;)+) => {
        /// Every code the policy parser can emit, errors first.
        pub const CODES: &[CodeInfo] = &[
            $(CodeInfo { code: $code, rfc: $rfc, severity: Severity::$sev, summary: $summary },)+
        ];
    };
}

codes! {
    "body_too_large", "RFC 8461 §3.3", Error, "body over 64 KiB";
    "utf16", S32, Error, "body is UTF-16, not UTF-8";
    "not_utf8", S32, Error, "body is not valid UTF-8";
    "empty", S32, Error, "body is empty or only whitespace";
    "markup_body", S32, Error, "body is an HTML or XML document, not a policy";
    "version_missing", S32, Error, "no version field";
    "version_invalid", S32, Error, "version is not exactly STSv1";
    "mode_missing", S32, Error, "no mode field";
    "mode_invalid", S32, Error, "mode is not exactly enforce, testing or none";
    "max_age_missing", S32, Error, "no max_age field";
    "max_age_invalid", S32, Error, "max_age is not 1 to 10 digits";
    "max_age_out_of_range", S32, Error, "max_age is over 31557600";
    "mx_missing", S32, Error, "no mx field while mode is not none";
    "mx_all_invalid", S32, Error, "every mx pattern is invalid while mode is not none";
    "utf8_bom", S32, StrictOnly, "body starts with a UTF-8 byte-order mark";
    "bare_cr", S32, StrictOnly, "a line ends with CR alone";
    "front_matter", S32, StrictOnly, "Jekyll front matter (--- ... ---) before the policy";
    "blank_line", S32, StrictOnly, "blank line";
    "leading_whitespace", S32, StrictOnly, "line starts with whitespace";
    "comment_line", S32, StrictOnly, "# comment line";
    "no_colon", S32, StrictOnly, "line without ':'";
    "space_before_colon", S32, StrictOnly, "whitespace between key and ':'";
    "key_invalid", S32, StrictOnly, "key is not a valid field name; line ignored";
    "value_invalid", S32, StrictOnly, "extension value has control characters or is empty";
    "mx_trailing_dot", S32, StrictOnly, "mx pattern ends with '.'";
    "mx_invalid", S32, StrictOnly, "mx pattern is not [\"*.\"] Domain; ignored";
    "unknown_key", S32, Advice, "unknown key, ignored";
    "duplicate_key", S32, Advice, "key repeated; the first one counts";
    "mx_duplicate", S32, Advice, "mx pattern listed twice";
    "max_age_short", S32, Advice, "max_age under one day outside mode none";
}

/// The table row of `code`.
pub fn info(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code == code)
}
