//! From decoded text to fields, and the judgement of each field.
//!
//! ```text
//! RFC 8461 §3.2:
//!   sts-policy-record      = sts-policy-field *WSP
//!                            *(sts-policy-term sts-policy-field *WSP)
//!                            [sts-policy-term]
//!   sts-policy-field-delim = ":" *WSP
//!   sts-policy-ext-name    = (ALPHA / DIGIT)
//!                            *31(ALPHA / DIGIT / "_" / "-" / ".")
//!   sts-policy-ext-value   = sts-policy-vchar
//!                            [*(%x20 / sts-policy-vchar) sts-policy-vchar]
//! ```
//!
//! Trailing whitespace after a value is legal; anything before a key, blank
//! lines and lines that are not `key: value` are not.

use super::lines::{self, is_blank, is_wsp, Line};
use super::{Mode, Policy, Problem, MAX_AGE_LIMIT};
use crate::sts_record::valid_ext_name;

/// The first occurrence of a single-valued field.
#[derive(Default)]
struct First<'a> {
    version: Option<&'a str>,
    mode: Option<&'a str>,
    max_age: Option<&'a str>,
}

/// Line numbers per noise code, so each noise kind is reported once.
#[derive(Default)]
struct Noise {
    bare_cr: Vec<usize>,
    blank: Vec<usize>,
    leading: Vec<usize>,
    comment: Vec<usize>,
    no_colon: Vec<usize>,
    space_before_colon: Vec<usize>,
}

/// Reads the fields; pushes problems; returns the policy when no error was found.
pub fn read(text: &str, errors: &mut Vec<Problem>, warnings: &mut Vec<Problem>) -> Option<Policy> {
    if text.chars().all(|c| c.is_whitespace()) {
        errors.push(Problem::new("empty", "no fields at all"));
        return None;
    }
    if text.trim_start().starts_with('<') {
        errors.push(Problem::new(
            "markup_body",
            "starts with '<': an HTML or XML page was served instead of a policy",
        ));
        return None;
    }
    let all = lines::split(text);
    let mut noise = Noise::default();
    let skip = lines::front_matter(&all);
    if let Some(range) = &skip {
        warnings.push(Problem::new(
            "front_matter",
            format!(
                "lines {}-{} are Jekyll front matter, ignored",
                range.start() + 1,
                range.end() + 1
            ),
        ));
    }
    let mut first = First::default();
    let mut mx: Vec<(&str, usize)> = Vec::new();
    let mut extensions: Vec<(String, String)> = Vec::new();
    for (i, line) in all.iter().enumerate() {
        if line.bare_cr {
            noise.bare_cr.push(line.no);
        }
        if skip.as_ref().is_some_and(|r| r.contains(&i)) {
            continue;
        }
        read_line(
            line,
            &mut noise,
            &mut first,
            &mut mx,
            &mut extensions,
            warnings,
        );
    }
    push_noise(&noise, warnings);
    judge(first, &mx, extensions, errors, warnings)
}

fn read_line<'a>(
    line: &Line<'a>,
    noise: &mut Noise,
    first: &mut First<'a>,
    mx: &mut Vec<(&'a str, usize)>,
    extensions: &mut Vec<(String, String)>,
    warnings: &mut Vec<Problem>,
) {
    if is_blank(line.text) {
        noise.blank.push(line.no);
        return;
    }
    // Trailing WSP is allowed by the grammar.
    let trimmed = line.text.trim_end_matches(is_wsp);
    let content = trimmed.trim_start_matches(is_wsp);
    if content.starts_with('#') {
        noise.comment.push(line.no);
        return;
    }
    if content.len() != trimmed.len() {
        noise.leading.push(line.no);
    }
    let Some((raw_key, raw_value)) = content.split_once(':') else {
        noise.no_colon.push(line.no);
        return;
    };
    let key = raw_key.trim_end_matches(is_wsp);
    if key.len() != raw_key.len() {
        noise.space_before_colon.push(line.no);
    }
    let value = raw_value.trim_start_matches(is_wsp);
    if !valid_ext_name(key) {
        warnings.push(Problem::new(
            "key_invalid",
            format!(
                "line {}: key {key:?} is not a field name; line ignored",
                line.no
            ),
        ));
        return;
    }
    let slot = match key {
        "version" => &mut first.version,
        "mode" => &mut first.mode,
        "max_age" => &mut first.max_age,
        "mx" => {
            mx.push((value, line.no));
            return;
        }
        _ => {
            unknown(key, value, line.no, extensions, warnings);
            return;
        }
    };
    match slot {
        None => *slot = Some(value),
        Some(kept) => warnings.push(Problem::new(
            "duplicate_key",
            format!(
                "line {}: {key} repeated ({value:?} ignored, {kept:?} counts)",
                line.no
            ),
        )),
    }
}

/// An extension (unknown key): kept once, ignored, with a hint for typos.
fn unknown(
    key: &str,
    value: &str,
    no: usize,
    extensions: &mut Vec<(String, String)>,
    warnings: &mut Vec<Problem>,
) {
    let hint = ["version", "mode", "mx", "max_age"]
        .iter()
        .find(|k| looks_like(key, k))
        .map(|k| match key.eq_ignore_ascii_case(k) {
            true => format!(" (did you mean {k}? keys are case-sensitive)"),
            false => format!(" (did you mean {k}?)"),
        })
        .unwrap_or_default();
    warnings.push(Problem::new(
        "unknown_key",
        format!("line {no}: {key:?} is not a policy field and is ignored{hint}"),
    ));
    if !valid_ext_value(value) {
        warnings.push(Problem::new(
            "value_invalid",
            format!("line {no}: value {value:?} of {key} is empty or has control characters"),
        ));
    }
    if !extensions.iter().any(|(k, _)| k == key) {
        extensions.push((key.to_string(), value.to_string()));
    }
}

/// `sts-policy-ext-value`: non-control characters, spaces only inside.
fn valid_ext_value(v: &str) -> bool {
    !v.is_empty()
        && !v.ends_with(' ')
        && v.chars().all(|c| c == ' ' || (c > ' ' && !c.is_control()))
}

/// A case-insensitive match or a single edit away (`ms`, `nmx`, `max-age`).
fn looks_like(key: &str, known: &str) -> bool {
    key.eq_ignore_ascii_case(known) || edit_distance(&key.to_ascii_lowercase(), known) <= 1
}

fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn push_noise(noise: &Noise, warnings: &mut Vec<Problem>) {
    let kinds: [(&'static str, &Vec<usize>, &str); 6] = [
        ("bare_cr", &noise.bare_cr, "ended by CR alone"),
        ("blank_line", &noise.blank, "blank"),
        ("leading_whitespace", &noise.leading, "indented"),
        ("comment_line", &noise.comment, "'#' comment, ignored"),
        ("no_colon", &noise.no_colon, "not key: value, ignored"),
        (
            "space_before_colon",
            &noise.space_before_colon,
            "whitespace before ':'",
        ),
    ];
    for (code, nos, what) in kinds {
        if !nos.is_empty() {
            let list: Vec<String> = nos.iter().map(|n| n.to_string()).collect();
            let s = if nos.len() == 1 { "" } else { "s" };
            warnings.push(Problem::new(
                code,
                format!("line{s} {} {what}", list.join(", ")),
            ));
        }
    }
}

/// Judges the collected fields.
fn judge(
    first: First<'_>,
    mx_lines: &[(&str, usize)],
    extensions: Vec<(String, String)>,
    errors: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<Policy> {
    let version = match first.version {
        None => {
            errors.push(Problem::new(
                "version_missing",
                "no \"version: STSv1\" line",
            ));
            None
        }
        Some("STSv1") => Some("STSv1"),
        Some(v) => {
            errors.push(Problem::new(
                "version_invalid",
                format!("version {v:?} is not STSv1"),
            ));
            None
        }
    };
    let mode = match first.mode {
        None => {
            errors.push(Problem::new("mode_missing", "no mode line"));
            None
        }
        Some(v) => match Mode::parse(v) {
            Some(m) => Some(m),
            None => {
                errors.push(Problem::new(
                    "mode_invalid",
                    format!(
                        "mode {v:?} is not exactly enforce, testing or none{}",
                        mode_hint(v)
                    ),
                ));
                None
            }
        },
    };
    let max_age = match first.max_age {
        None => {
            errors.push(Problem::new("max_age_missing", "no max_age line"));
            None
        }
        Some(v) => max_age(v, errors),
    };
    let mx = mx_patterns(mx_lines, warnings);
    if mode != Some(Mode::None) {
        if mx_lines.is_empty() {
            errors.push(Problem::new(
                "mx_missing",
                "no mx line; mx is required unless mode is none",
            ));
        } else if mx.is_empty() {
            errors.push(Problem::new(
                "mx_all_invalid",
                format!("none of the {} mx patterns is valid", mx_lines.len()),
            ));
        }
    }
    if let (Some(age), Some(Mode::Enforce | Mode::Testing)) = (max_age, mode) {
        if age < 86_400 {
            warnings.push(Problem::new(
                "max_age_short",
                format!("max_age {age} is under a day; RFC 8461 expects weeks or more"),
            ));
        }
    }
    Some(Policy {
        version: version?.to_string(),
        mode: mode?,
        max_age: max_age?,
        mx,
        extensions,
    })
}

/// A guess at the intended mode for `enforced`, `Enforce`, `test`, ...
fn mode_hint(v: &str) -> String {
    let v = v.to_ascii_lowercase();
    let v = v.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if !v.bytes().all(|b| b.is_ascii_alphabetic()) {
        return String::new();
    }
    let guess = if v.starts_with("enforc") {
        "enforce"
    } else if v.starts_with("test") {
        "testing"
    } else if v == "none" {
        "none"
    } else {
        return String::new();
    };
    format!(" (did you mean {guess}?)")
}

/// `1*10(DIGIT)`, at most 31557600.
fn max_age(v: &str, errors: &mut Vec<Problem>) -> Option<u64> {
    if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(Problem::new(
            "max_age_invalid",
            format!("max_age {v:?} is not 1 to 10 digits"),
        ));
        return None;
    }
    let n: u64 = v.parse().ok()?;
    if n > MAX_AGE_LIMIT {
        errors.push(Problem::new(
            "max_age_out_of_range",
            format!("max_age {n} is over {MAX_AGE_LIMIT} (one year)"),
        ));
        return None;
    }
    Some(n)
}

/// The valid patterns, lowercased, trailing dot removed, each once.
fn mx_patterns(mx_lines: &[(&str, usize)], warnings: &mut Vec<Problem>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for &(raw, no) in mx_lines {
        let mut p = raw;
        if let Some(stripped) = p.strip_suffix('.').filter(|s| valid_mx_pattern(s)) {
            warnings.push(Problem::new(
                "mx_trailing_dot",
                format!("line {no}: mx {raw:?} ends with '.'; read as {stripped:?}"),
            ));
            p = stripped;
        }
        if !valid_mx_pattern(p) {
            warnings.push(Problem::new(
                "mx_invalid",
                format!("line {no}: mx {raw:?} is not a host name or *.host name; ignored"),
            ));
            continue;
        }
        let p = p.to_ascii_lowercase();
        if out.contains(&p) {
            warnings.push(Problem::new(
                "mx_duplicate",
                format!("line {no}: mx {p:?} listed again"),
            ));
        } else {
            out.push(p);
        }
    }
    out
}

/// `["*."] Domain` with RFC 5321 `Domain = sub-domain *("." sub-domain)`,
/// `sub-domain = Let-dig [Ldh-str]`, and DNS length limits (63, 253).
pub fn valid_mx_pattern(p: &str) -> bool {
    let domain = p.strip_prefix("*.").unwrap_or(p);
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}
