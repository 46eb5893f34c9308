//! The `_mta-sts` TXT record (RFC 8461 §3.1).
//!
//! Pure: a TXT answer set in, a verdict out. The tag-list splitting shared with
//! the TLS-RPT record (RFC 8460 §3 uses the same delimiter grammar) lives here
//! as [`split_fields`].

/// The verdict on the TXT answer set at `_mta-sts.<domain>`.
///
/// ```text
/// RFC 8461 §3.1:
///   If multiple TXT records for _mta-sts are returned by the resolver,
///   records that do not begin with "v=STSv1;" are discarded.  If the
///   number of resulting records is not one, or if the resulting record is
///   syntactically invalid, senders MUST assume the recipient domain does
///   not have an available MTA-STS Policy.
///
///   sts-text-record = sts-version 1*(sts-field-delim sts-field)
///                     [sts-field-delim]
///   sts-field       = sts-id / sts-extension
///   sts-field-delim = *WSP ";" *WSP
///   sts-version     = %s"v=STSv1"
///   sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
///   sts-extension   = sts-ext-name "=" sts-ext-value
///   sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
///   sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
/// ```
///
/// A record is a candidate when its bytes begin with `v=STSv1` (so
/// `v=STSv10; …` is a candidate that is then invalid, which tells the
/// publisher more than silently calling it absent).
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

/// The version tag every candidate record begins with.
pub const VERSION_TAG: &str = "v=STSv1";

/// Judges a TXT answer set. Each element is one TXT record with its
/// character-strings already concatenated without separators.
pub fn parse_answer(records: &[Vec<u8>]) -> StsRecord {
    let candidates: Vec<&Vec<u8>> = records
        .iter()
        .filter(|r| r.starts_with(VERSION_TAG.as_bytes()))
        .collect();
    match candidates.as_slice() {
        [] => StsRecord::Absent,
        [one] => parse_record(one),
        many => StsRecord::Multiple {
            texts: many.iter().map(|r| lossy(r)).collect(),
        },
    }
}

/// Parses one record that begins with `v=STSv1`.
pub fn parse_record(bytes: &[u8]) -> StsRecord {
    let text = lossy(bytes);
    let invalid = |reason: String| StsRecord::Invalid {
        reason,
        text: text.clone(),
    };
    let Some(rest) = bytes.strip_prefix(VERSION_TAG.as_bytes()) else {
        return invalid(format!("does not begin with {VERSION_TAG}"));
    };
    let rest = match ascii_record(rest) {
        Ok(r) => r,
        Err(reason) => return invalid(reason),
    };
    let fields = match split_fields(rest, VERSION_TAG) {
        Ok(f) => f,
        Err(reason) => return invalid(reason),
    };
    let mut id: Option<String> = None;
    let mut extensions: Vec<(String, String)> = Vec::new();
    for (name, value) in fields {
        if name == "id" {
            if !valid_id(value) {
                return invalid(format!("id {value:?} is not 1 to 32 letters and digits"));
            }
            // The first of duplicated fields wins.
            id.get_or_insert_with(|| value.to_string());
        } else {
            if let Err(reason) = check_extension(name, value) {
                return invalid(reason);
            }
            if !extensions.iter().any(|(n, _)| n == name) {
                extensions.push((name.to_string(), value.to_string()));
            }
        }
    }
    match id {
        Some(id) => StsRecord::Valid {
            id,
            extensions,
            text,
        },
        None => invalid("no id field (id is required)".into()),
    }
}

/// Record text as shown to people: invalid UTF-8 replaced, never a panic.
pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The record grammars are ASCII; name the first byte that is not.
pub(crate) fn ascii_record(bytes: &[u8]) -> Result<&str, String> {
    if let Some(pos) = bytes.iter().position(|b| !b.is_ascii()) {
        return Err(format!(
            "non-ASCII byte 0x{:02x} at offset {pos}; the record grammar is ASCII",
            bytes[pos]
        ));
    }
    // All ASCII, so valid UTF-8.
    std::str::from_utf8(bytes).map_err(|e| e.to_string())
}

/// `WSP = SP / HTAB` (RFC 5234).
pub(crate) fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits what follows the version tag into `(name, value)` fields per
///
/// ```text
/// record = version 1*(field-delim field) [field-delim]
/// field-delim = *WSP ";" *WSP
/// ```
///
/// Returns an error naming the rule broken: text glued to the version tag,
/// no field at all, an empty field between two `;`, whitespace after the last
/// field without a closing `;`, or a field without `=`.
pub(crate) fn split_fields<'a>(
    rest: &'a str,
    version: &str,
) -> Result<Vec<(&'a str, &'a str)>, String> {
    let mut pieces = rest.split(';');
    // Before the first ';' only the delimiter's leading *WSP may appear.
    let head = pieces.next().unwrap_or("");
    if !head.chars().all(is_wsp) {
        let glued = head.trim_matches(is_wsp);
        return Err(if head.starts_with(is_wsp) {
            format!("expected ';' after {version}, found {glued:?}")
        } else {
            format!("version must be exactly {version}, found {version}{glued}")
        });
    }
    let pieces: Vec<&str> = pieces.collect();
    if pieces.is_empty() {
        return Err(format!("no fields after {version}"));
    }
    let last = pieces.len() - 1;
    let mut fields = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let field = piece.trim_start_matches(is_wsp);
        if i == last {
            if field.is_empty() {
                // The optional trailing delimiter.
                if fields.is_empty() {
                    return Err(format!("no fields after {version}"));
                }
                break;
            }
            if field.ends_with(is_wsp) {
                return Err(format!(
                    "whitespace after the last field {:?} must be followed by ';'",
                    field.trim_end_matches(is_wsp)
                ));
            }
        }
        let field = field.trim_end_matches(is_wsp);
        if field.is_empty() {
            return Err("empty field between two ';'".into());
        }
        let Some((name, value)) = field.split_once('=') else {
            return Err(format!("field {field:?} has no '='"));
        };
        fields.push((name, value));
    }
    Ok(fields)
}

/// `1*32(ALPHA / DIGIT)`.
fn valid_id(v: &str) -> bool {
    (1..=32).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`.
pub(crate) fn valid_ext_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// `ext-value = 1*(%x21-3A / %x3C / %x3E-7E)`: no `=`, `;`, space or control.
pub(crate) fn valid_ext_value(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|c| matches!(c, 0x21..=0x3a | 0x3c | 0x3e..=0x7e))
}

/// Checks one extension field against the ext-name / ext-value grammar.
pub(crate) fn check_extension(name: &str, value: &str) -> Result<(), String> {
    if !valid_ext_name(name) {
        return Err(format!(
            "field name {name:?} is not 1 to 32 letters, digits, '_', '-', '.' starting with a letter or digit"
        ));
    }
    if !valid_ext_value(value) {
        return Err(format!(
            "field {name}={value:?}: value must be 1 or more printable characters other than '=', ';' and space"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
