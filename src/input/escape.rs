//! Shows an input line as text that is safe to print: what the `domain` cell
//! holds for an invalid line.

use std::fmt::Write;

/// At most this many input bytes are shown; longer lines end in `…`.
pub const MAX_SHOWN: usize = 300;

/// Escapes `bytes` for display: bytes that are not UTF-8 become `\xNN`;
/// control characters, bidi overrides, zero-width characters and BOMs become
/// Rust-style escapes (`\t`, `\r`, `\u{feff}`); a backslash is doubled so the
/// result is unambiguous. At most [`MAX_SHOWN`] bytes are shown.
pub fn escape_display(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(MAX_SHOWN)];
    let mut out = String::with_capacity(shown.len() + 8);
    for chunk in shown.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else if needs_escape(c) {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    if bytes.len() > MAX_SHOWN {
        out.push('…');
    }
    out
}

/// Characters that would hide or reorder what a reader sees.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}' // zero-width, LRM/RLM
            | '\u{2028}' | '\u{2029}' // line/paragraph separators
            | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{feff}') // BOM / zero-width no-break space
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(escape_display("bücher.de".as_bytes()), "bücher.de");
    }

    #[test]
    fn invalid_utf8_bytes_become_hex_escapes() {
        assert_eq!(escape_display(b"ab\xff\xfecd"), "ab\\xff\\xfecd");
    }

    #[test]
    fn control_and_invisible_characters_are_escaped() {
        assert_eq!(escape_display(b"a\tb\r"), "a\\tb\\r");
        assert_eq!(
            escape_display("\u{feff}x\u{202e}".as_bytes()),
            "\\u{feff}x\\u{202e}"
        );
    }

    #[test]
    fn backslash_is_doubled_so_escapes_are_unambiguous() {
        assert_eq!(escape_display(b"a\\xff"), "a\\\\xff");
    }

    #[test]
    fn long_lines_are_cut_with_an_ellipsis() {
        let shown = escape_display(&[b'a'; MAX_SHOWN + 10]);
        assert_eq!(shown.len(), MAX_SHOWN + '…'.len_utf8());
        assert!(shown.ends_with('…'));
    }
}
