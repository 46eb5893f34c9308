//! Making values from the network safe to put in a CSV cell.
//!
//! Values come from hostile servers and dirty input. The csv crate quotes
//! separators, quotes and newlines; on top of that every cell is:
//!
//! ```text
//! 1. control characters (U+0000–U+001F, U+007F) written as \xNN, so a cell is
//!    always one physical line and a terminal never sees escape sequences;
//! 2. formula-injection neutralised: a cell starting with = + - @ (what
//!    spreadsheets evaluate) gets a leading apostrophe ' (the OWASP advice).
//! ```
//!
//! No contract value produced by stsmap itself starts with those characters, so
//! only hostile or invalid text is ever changed.

use std::borrow::Cow;

/// Returns `s` made safe for a results cell (see the module docs).
pub fn sanitize(s: &str) -> Cow<'_, str> {
    let needs_prefix = matches!(s.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@'));
    let has_control = s.chars().any(|c| c.is_ascii_control());
    if !needs_prefix && !has_control {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 4);
    if needs_prefix {
        out.push('\'');
    }
    for c in s.chars() {
        if c.is_ascii_control() {
            out.push_str(&format!("\\x{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_are_untouched() {
        assert!(matches!(sanitize("mx1.example.com"), Cow::Borrowed(_)));
        assert_eq!(sanitize("v=STSv1; id=1"), "v=STSv1; id=1");
    }

    #[test]
    fn formula_starters_get_an_apostrophe() {
        assert_eq!(sanitize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(sanitize("+1"), "'+1");
        assert_eq!(sanitize("-2"), "'-2");
        assert_eq!(sanitize("@SUM(A1)"), "'@SUM(A1)");
    }

    #[test]
    fn control_characters_are_escaped_so_a_row_stays_one_line() {
        assert_eq!(sanitize("a\r\nb"), "a\\x0D\\x0Ab");
        assert_eq!(sanitize("\u{1b}[31mred"), "\\x1B[31mred");
        assert_eq!(sanitize("nul\0"), "nul\\x00");
    }
}
