//! `stsmap lint`: the report people read when checking what they publish.
//!
//! Pure: input bytes or text in, report text and verdict out. Reading files
//! and exit codes live in the CLI adapter (src/cli/lint.rs).

use crate::policy::{self, PolicyReport, Problem, Severity};
use crate::sts_record::{self, StsRecord};
use crate::tlsrpt::{self, TlsRptRecord};
use std::fmt::Write;

/// The most input `lint` reads (1 MiB); a bigger file is reported as oversize.
pub const MAX_INPUT: usize = 1 << 20;

/// A finished report: what to print and whether the input passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    pub text: String,
    pub valid: bool,
}

/// Lints a policy body. `oversize` says the input was longer than
/// [`MAX_INPUT`] and `body` holds its first bytes; `strict` fails the verdict
/// on problems only the RFC grammar rejects.
pub fn policy(body: &[u8], oversize: bool, strict: bool) -> Lint {
    let report = policy::parse(body);
    let mut out = String::from("MTA-STS policy (RFC 8461 §3.2)\n");
    if oversize {
        let _ = writeln!(
            out,
            "  input is larger than {MAX_INPUT} bytes; only the first {MAX_INPUT} were read"
        );
    }
    write_policy(&mut out, &report);
    let lenient_ok = report.policy.is_some() && !oversize;
    let valid = lenient_ok && (!strict || report.strict_valid);
    let strict_only = report
        .warnings
        .iter()
        .filter(|w| w.severity() == Severity::StrictOnly)
        .count();
    let strict_line = match (report.strict_valid, strict_only) {
        (true, _) => "valid".to_string(),
        (false, 0) => "not valid".to_string(),
        (false, n) => format!("not valid ({n} problem(s) only the RFC grammar rejects)"),
    };
    let _ = writeln!(out, "strict:  {strict_line}");
    let _ = writeln!(
        out,
        "lenient: {}",
        if lenient_ok { "valid" } else { "not valid" }
    );
    let verdict = match (valid, strict && lenient_ok && !report.strict_valid) {
        (true, _) => "valid",
        (false, true) => "invalid (--strict)",
        (false, false) => "invalid",
    };
    let _ = writeln!(out, "verdict: {verdict}");
    Lint { text: out, valid }
}

fn write_policy(out: &mut String, report: &PolicyReport) {
    match &report.policy {
        Some(p) => {
            let _ = writeln!(out, "  version  {}", p.version);
            let _ = writeln!(out, "  mode     {}", p.mode);
            let _ = writeln!(out, "  max_age  {} ({})", p.max_age, human_secs(p.max_age));
            for mx in &p.mx {
                let _ = writeln!(out, "  mx       {mx}");
            }
            for (k, v) in &p.extensions {
                let _ = writeln!(out, "  ext      {k}: {}", v.escape_debug());
            }
        }
        None => out.push_str("  no policy: the lenient verdict fails\n"),
    }
    if !report.errors.is_empty() {
        out.push_str("errors:\n");
        for p in &report.errors {
            write_problem(out, p, "");
        }
    }
    if !report.warnings.is_empty() {
        out.push_str("warnings:\n");
        for p in &report.warnings {
            let tag = match p.severity() {
                Severity::StrictOnly => "[breaks strict] ",
                _ => "",
            };
            write_problem(out, p, tag);
        }
    }
}

fn write_problem(out: &mut String, p: &Problem, tag: &str) {
    let _ = writeln!(out, "  {}  {}  {tag}{}", p.code, p.rfc, p.detail);
}

/// `604800` → `7d`, `90061` → `1d 1h 1m 1s`.
fn human_secs(s: u64) -> String {
    let parts = [
        (s / 86400, "d"),
        (s / 3600 % 24, "h"),
        (s / 60 % 60, "m"),
        (s % 60, "s"),
    ];
    let shown: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    if shown.is_empty() {
        "0s".into()
    } else {
        shown.join(" ")
    }
}

/// Lints an `_mta-sts` TXT value (raw, or zone-file quoted strings).
pub fn sts_record(arg: &str) -> Lint {
    let (bytes, note) = record_bytes(arg);
    let mut out = String::from("_mta-sts TXT record (RFC 8461 §3.1)\n");
    if let Some(n) = note {
        let _ = writeln!(out, "  {n}");
    }
    let _ = writeln!(out, "  text     {:?}", String::from_utf8_lossy(&bytes));
    let valid = match sts_record::parse_answer(&[bytes]) {
        StsRecord::Valid { id, extensions, .. } => {
            let _ = writeln!(out, "  id       {id}");
            for (k, v) in extensions {
                let _ = writeln!(out, "  ext      {k}={v}");
            }
            true
        }
        StsRecord::Absent => {
            absent(
                &mut out,
                sts_record::VERSION_TAG,
                "RFC 8461 §3.1",
                "no MTA-STS",
            );
            false
        }
        StsRecord::Invalid { reason, .. } => {
            let _ = writeln!(out, "errors:\n  invalid  RFC 8461 §3.1  {reason}");
            false
        }
        StsRecord::Multiple { texts } => {
            let _ = writeln!(
                out,
                "errors:\n  multiple  RFC 8461 §3.1  {} records",
                texts.len()
            );
            false
        }
    };
    finish(out, valid)
}

/// Lints an `_smtp._tls` TXT value (raw, or zone-file quoted strings).
pub fn tlsrpt_record(arg: &str) -> Lint {
    let (bytes, note) = record_bytes(arg);
    let mut out = String::from("_smtp._tls TXT record (RFC 8460 §3)\n");
    if let Some(n) = note {
        let _ = writeln!(out, "  {n}");
    }
    let _ = writeln!(out, "  text     {:?}", String::from_utf8_lossy(&bytes));
    let valid = match tlsrpt::parse_answer(&[bytes]) {
        TlsRptRecord::Valid { rua, .. } => {
            for u in rua {
                let _ = writeln!(out, "  rua      {u}");
            }
            true
        }
        TlsRptRecord::Absent => {
            absent(
                &mut out,
                tlsrpt::VERSION_TAG,
                "RFC 8460 §3",
                "no TLS reporting",
            );
            false
        }
        TlsRptRecord::Invalid { reason, .. } => {
            let _ = writeln!(out, "errors:\n  invalid  RFC 8460 §3  {reason}");
            false
        }
        TlsRptRecord::Multiple { texts } => {
            let _ = writeln!(
                out,
                "errors:\n  multiple  RFC 8460 §3  {} records",
                texts.len()
            );
            false
        }
    };
    finish(out, valid)
}

fn absent(out: &mut String, tag: &str, rfc: &str, meaning: &str) {
    let _ = writeln!(
        out,
        "errors:\n  absent  {rfc}  does not begin with {tag}; senders discard it ({meaning})"
    );
}

fn finish(mut out: String, valid: bool) -> Lint {
    let _ = writeln!(out, "verdict: {}", if valid { "valid" } else { "invalid" });
    Lint { text: out, valid }
}

/// The record bytes of a command-line value. Zone-file notation
/// (`"v=STSv1; " "id=1"`) is unquoted and its strings joined without spaces,
/// as a resolver joins character-strings; anything else is taken as is.
pub fn record_bytes(arg: &str) -> (Vec<u8>, Option<String>) {
    match unquote(arg.trim()) {
        Some(strings) => {
            let n = strings.len();
            (
                strings.concat(),
                Some(format!("joined {n} quoted string(s)")),
            )
        }
        None => (arg.as_bytes().to_vec(), None),
    }
}

/// `"a" "b\"c"` → [a, b"c]; None unless the whole text is quoted strings.
fn unquote(s: &str) -> Option<Vec<Vec<u8>>> {
    let mut strings = Vec::new();
    let mut rest = s.as_bytes();
    while !rest.is_empty() {
        let (&first, body) = rest.split_first()?;
        if first != b'"' {
            return None;
        }
        let mut cur = Vec::new();
        let mut i = 0;
        loop {
            match body.get(i)? {
                b'"' => break,
                b'\\' => {
                    let next = body.get(i + 1)?;
                    let digits = body
                        .get(i + 1..i + 4)
                        .filter(|d| d.iter().all(u8::is_ascii_digit));
                    match digits.and_then(|d| std::str::from_utf8(d).ok()?.parse::<u8>().ok()) {
                        Some(b) => {
                            cur.push(b);
                            i += 4;
                        }
                        None => {
                            cur.push(*next);
                            i += 2;
                        }
                    }
                }
                b => {
                    cur.push(*b);
                    i += 1;
                }
            }
        }
        strings.push(cur);
        rest = body[i + 1..].trim_ascii_start();
    }
    (!strings.is_empty()).then_some(strings)
}

#[cfg(test)]
mod tests;
