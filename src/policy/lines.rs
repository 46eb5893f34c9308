//! From body bytes to policy lines: encoding, line terminators, front matter.
//!
//! ```text
//! RFC 8461 §3.2:
//!   sts-policy-term   = LF / CRLF
//!   sts-policy-vchar  = VCHAR / UTF8-2 / UTF8-3 / UTF8-4
//! ```
//!
//! So the body is UTF-8 and a line ends at LF, optionally preceded by CR.

/// Why the bytes cannot be read as text at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undecodable {
    /// Starts with the UTF-16 byte-order mark `FF FE` or `FE FF`.
    Utf16,
    /// Invalid UTF-8 at this byte offset.
    NotUtf8 { offset: usize },
}

/// The decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub text: &'a str,
    /// A UTF-8 byte-order mark was removed.
    pub bom: bool,
}

/// Decodes a body. `truncated` says the bytes were cut at a size limit, in
/// which case a UTF-8 sequence cut in half at the end is dropped, not an error.
pub fn decode(bytes: &[u8], truncated: bool) -> Result<Decoded<'_>, Undecodable> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(Undecodable::Utf16);
    }
    let (bytes, bom) = match bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) if truncated && e.error_len().is_none() => {
            // Checked by from_utf8 up to valid_up_to.
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(e) => {
            let offset = e.valid_up_to() + if bom { 3 } else { 0 };
            return Err(Undecodable::NotUtf8 { offset });
        }
    };
    Ok(Decoded { text, bom })
}

/// One line without its terminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number.
    pub no: usize,
    pub text: &'a str,
    /// Ended by a CR not followed by LF.
    pub bare_cr: bool,
}

/// Splits at LF, CRLF, and (leniently) a CR alone. A final terminator does
/// not open an empty last line.
pub fn split(text: &str) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                let end = if i > start && bytes[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                lines.push(line(lines.len(), &text[start..end], false));
                start = i + 1;
            }
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => {
                lines.push(line(lines.len(), &text[start..i], true));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        lines.push(line(lines.len(), &text[start..], false));
    }
    lines
}

fn line(index: usize, text: &str, bare_cr: bool) -> Line<'_> {
    Line {
        no: index + 1,
        text,
        bare_cr,
    }
}

/// `WSP = SP / HTAB`.
pub fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A blank line: empty or whitespace only.
pub fn is_blank(line: &str) -> bool {
    line.chars().all(is_wsp)
}

/// The line range (indices into `lines`) of Jekyll front matter: a `---`
/// line as the first non-blank line, through the next `---` line.
pub fn front_matter(lines: &[Line<'_>]) -> Option<std::ops::RangeInclusive<usize>> {
    let first = lines.iter().position(|l| !is_blank(l.text))?;
    if lines[first].text.trim_matches(is_wsp) != "---" {
        return None;
    }
    let close = lines[first + 1..]
        .iter()
        .position(|l| l.text.trim_matches(is_wsp) == "---")?;
    Some(first..=first + 1 + close)
}
