//! Pure normalisation of one domain field: bytes in, a normalised name or a
//! reason out. No I/O; the same bytes always give the same answer.

use std::net::{Ipv4Addr, Ipv6Addr};

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

/// Longest label, in octets.
pub const MAX_LABEL: usize = 63;
/// Longest name in text form without the trailing dot, in octets.
pub const MAX_NAME: usize = 253;

/// Why an input line does not name a scannable mail domain. `Display` is the
/// text written to results.csv's `input_error` column.
///
/// The syntax we accept is the one a mail domain must have:
///
/// ```text
/// RFC 5321 §4.1.2:
///    Domain         = sub-domain *("." sub-domain)
///    sub-domain     = Let-dig [Ldh-str]
///    Let-dig        = ALPHA / DIGIT
///    Ldh-str        = *( ALPHA / DIGIT / "-" ) Let-dig
///
/// RFC 1035 §2.3.4:
///    labels          63 octets or less
///    names           255 octets or less
/// ```
///
/// 255 wire octets are 253 characters of text without the trailing dot.
/// A-labels (RFC 5890) are LDH too, so an IDN passes once converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReason {
    /// The whole line is blank (or only whitespace / a BOM).
    #[error("empty line")]
    EmptyLine,
    /// The domain field of a CSV line is blank.
    #[error("empty domain")]
    EmptyDomain,
    /// The line holds a NUL byte: almost always UTF-16 input.
    #[error("NUL byte (UTF-16 input? convert the list to UTF-8)")]
    NulByte,
    /// The bytes are not UTF-8; the `domain` cell shows them as `\xNN`.
    #[error("not valid UTF-8")]
    NotUtf8,
    /// The line is longer than the reader keeps; the rest was skipped.
    #[error("line of {bytes} bytes is too long (max {max})")]
    LineTooLong { bytes: u64, max: usize },
    /// A headerless line that is neither `domain` nor `rank,domain`.
    #[error("{fields} comma-separated fields; expected `domain` or `rank,domain` (a header naming the domain column selects one)")]
    UnexpectedFields { fields: usize },
    /// A line shorter than the header says.
    #[error("no {column} column: the line has {fields} fields, the {column} is field {index}")]
    MissingColumn {
        column: &'static str,
        fields: usize,
        index: usize,
    },
    /// The header's rank column holds something other than a whole number.
    #[error("rank `{0}` is not a whole number")]
    BadRank(String),
    /// A URL pasted instead of a domain: rejected, not guessed, because the
    /// list's author may have meant the host or its registered domain.
    #[error("URL, not a domain{}", hint("host", .host))]
    Url { host: Option<String> },
    /// An e-mail address instead of a domain: rejected, not guessed.
    #[error("e-mail address, not a domain{}", hint("domain", .domain))]
    Email { domain: Option<String> },
    /// Whitespace inside the name (spaces, tabs, no-break spaces).
    #[error("whitespace inside the name")]
    Whitespace,
    /// An IPv4 or IPv6 address literal.
    #[error("IP address, not a domain")]
    IpAddress,
    /// UTS-46 processing (IDN → A-label) failed: a disallowed code point, a
    /// bad bidi or joiner context, or an `xn--` label that is not valid Punycode.
    #[error("invalid internationalised name (UTS-46 processing failed)")]
    Idna,
    /// Two dots in a row, or a leading dot, or two trailing dots.
    #[error("empty label")]
    EmptyLabel,
    /// A character outside letters, digits and hyphen (RFC 5321 §4.1.2).
    #[error("character '{}' not allowed (letters, digits and hyphen only)", .0.escape_debug())]
    BadChar(char),
    /// A label starting or ending with a hyphen (RFC 5321 §4.1.2).
    #[error("label '{0}' starts or ends with a hyphen")]
    HyphenAtEdge(String),
    #[error("label of {0} octets (max 63)")]
    LabelTooLong(usize),
    #[error("name of {0} octets (max 253)")]
    NameTooLong(usize),
    /// A bare TLD: legal in DNS, but no mail domain (ICANN bars dotless
    /// domains, SSAC report SAC053), so almost always a list error.
    #[error("single label, not a mail domain (need at least two labels)")]
    SingleLabel,
    /// The last label is all digits: no TLD is numeric, so this is a
    /// truncated address or a number, never a domain.
    #[error("last label is all digits (no top-level domain is numeric)")]
    NumericTld,
}

fn hint(what: &str, name: &Option<String>) -> String {
    match name {
        Some(n) => format!(" ({what} {n})"),
        None => String::new(),
    }
}

/// Normalises one domain field: trim (whitespace and BOMs), UTS-46 (which
/// lowercases and turns an IDN into A-labels), strip one trailing dot, then
/// validate the RFC 5321 syntax, lengths, and at least two labels.
///
/// URLs, e-mail addresses and IP literals are rejected with a reason that
/// names the host or domain inside, so the list can be fixed.
/// Output re-normalises to itself.
pub fn normalise(field: &[u8]) -> Result<String, InvalidReason> {
    if field.contains(&0) {
        return Err(InvalidReason::NulByte);
    }
    let text = std::str::from_utf8(field).map_err(|_| InvalidReason::NotUtf8)?;
    let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if text.is_empty() {
        return Err(InvalidReason::EmptyDomain);
    }
    if let Some(host) = url_host(text) {
        return Err(InvalidReason::Url {
            host: normalise(host.as_bytes()).ok(),
        });
    }
    if let Some(at) = text.rfind('@') {
        return Err(InvalidReason::Email {
            domain: normalise(&text.as_bytes()[at + 1..]).ok(),
        });
    }
    if text.chars().any(char::is_whitespace) {
        return Err(InvalidReason::Whitespace);
    }
    if is_ip_literal(text) {
        return Err(InvalidReason::IpAddress);
    }
    let ascii = Uts46::new()
        .to_ascii(
            text.as_bytes(),
            AsciiDenyList::EMPTY,
            Hyphens::Allow,
            DnsLength::Ignore,
        )
        .map_err(|_| InvalidReason::Idna)?;
    let name = ascii.strip_suffix('.').unwrap_or(&ascii);
    validate(name)?;
    Ok(name.to_owned())
}

/// The host part when `text` looks like a URL: it has a scheme (`://`) or a
/// path (`/`). `None` otherwise.
fn url_host(text: &str) -> Option<&str> {
    let rest = match text.find("://") {
        Some(i) => &text[i + 3..],
        None if text.contains('/') => text,
        None => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    Some(host)
}

fn is_ip_literal(text: &str) -> bool {
    let unbracketed = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    text.parse::<Ipv4Addr>().is_ok() || unbracketed.parse::<Ipv6Addr>().is_ok()
}

/// Checks an ASCII name (no trailing dot) against RFC 5321 §4.1.2 and the
/// RFC 1035 lengths.
fn validate(name: &str) -> Result<(), InvalidReason> {
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Err(InvalidReason::BadChar(c));
    }
    let mut labels = 0;
    let mut last = "";
    for label in name.split('.') {
        if label.is_empty() {
            return Err(InvalidReason::EmptyLabel);
        }
        if label.len() > MAX_LABEL {
            return Err(InvalidReason::LabelTooLong(label.len()));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(InvalidReason::HyphenAtEdge(label.to_owned()));
        }
        labels += 1;
        last = label;
    }
    if name.len() > MAX_NAME {
        return Err(InvalidReason::NameTooLong(name.len()));
    }
    if labels < 2 {
        return Err(InvalidReason::SingleLabel);
    }
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidReason::NumericTld);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::InvalidReason::*;
    use super::*;
    use proptest::prelude::*;

    /// (rule, input, expected)
    type Case = (
        &'static str,
        &'static [u8],
        Result<&'static str, InvalidReason>,
    );

    #[rustfmt::skip]
    fn cases() -> Vec<Case> {
        vec![
            ("plain name passes", b"example.com", Ok("example.com")),
            ("uppercase is lowered", b"ExAmPlE.CoM", Ok("example.com")),
            ("surrounding spaces trimmed", b"  example.com \t", Ok("example.com")),
            ("one trailing dot stripped", b"example.com.", Ok("example.com")),
            ("two trailing dots rejected", b"example.com..", Err(EmptyLabel)),
            ("leading dot rejected", b".example.com", Err(EmptyLabel)),
            ("double dot rejected", b"a..example.com", Err(EmptyLabel)),
            ("bom trimmed", "\u{feff}example.com".as_bytes(), Ok("example.com")),
            ("idn becomes a-label", "bücher.de".as_bytes(), Ok("xn--bcher-kva.de")),
            ("uppercase idn lowered first", "BÜCHER.DE".as_bytes(), Ok("xn--bcher-kva.de")),
            ("fullwidth dot maps to dot", "example\u{ff0e}com".as_bytes(), Ok("example.com")),
            ("ideographic full stop trailing is stripped", "example.com\u{3002}".as_bytes(), Ok("example.com")),
            ("soft hyphen is ignored per uts46", "exa\u{ad}mple.com".as_bytes(), Ok("example.com")),
            ("a-label kept", b"XN--BCHER-KVA.de", Ok("xn--bcher-kva.de")),
            ("bad punycode rejected", b"xn--.de", Err(Idna)),
            ("bad punycode label rejected", b"xn--zz-.de", Err(Idna)),
            ("youtube cdn double hyphen allowed", b"r3---sn-4g5e6nz7.googlevideo.com", Ok("r3---sn-4g5e6nz7.googlevideo.com")),
            ("leading hyphen rejected", b"-a.example.com", Err(HyphenAtEdge("-a".into()))),
            ("trailing hyphen rejected", b"a-.example.com", Err(HyphenAtEdge("a-".into()))),
            ("underscore rejected", b"my_site.example.com", Err(BadChar('_'))),
            ("wildcard rejected", b"*.example.com", Err(BadChar('*'))),
            ("port rejected", b"example.com:443", Err(BadChar(':'))),
            ("control char rejected", b"exa\x07mple.com", Err(BadChar('\u{7}'))),
            ("nul means utf16", b"e\0x\0", Err(NulByte)),
            ("non utf8 rejected", b"ex\xffample.com", Err(NotUtf8)),
            ("empty rejected", b"", Err(EmptyDomain)),
            ("whitespace only is empty", b" \t ", Err(EmptyDomain)),
            ("inner space rejected", b"exa mple.com", Err(Whitespace)),
            ("inner nbsp rejected", "exa\u{a0}mple.com".as_bytes(), Err(Whitespace)),
            ("ipv4 rejected", b"192.0.2.1", Err(IpAddress)),
            ("ipv6 rejected", b"2001:db8::1", Err(IpAddress)),
            ("bracketed ipv6 rejected", b"[2001:db8::1]", Err(IpAddress)),
            ("short numeric rejected as numeric tld", b"10.1", Err(NumericTld)),
            ("single label rejected", b"localhost", Err(SingleLabel)),
            ("bare tld with dot rejected", b"com.", Err(SingleLabel)),
            ("numeric first label allowed", b"163.com", Ok("163.com")),
            ("url rejected naming host", b"https://Example.com/path", Err(Url { host: Some("example.com".into()) })),
            ("url with userinfo and port names host", b"http://u:p@www.Example.org:8080/x?y", Err(Url { host: Some("www.example.org".into()) })),
            ("path without scheme is a url", b"example.com/index.html", Err(Url { host: Some("example.com".into()) })),
            ("url with bad host has no hint", b"https:///path", Err(Url { host: None })),
            ("email rejected naming domain", b"user@Example.com", Err(Email { domain: Some("example.com".into()) })),
            ("lone at sign is an email without domain", b"@", Err(Email { domain: None })),
        ]
    }

    #[test]
    fn every_rule_in_the_table_holds() {
        for (rule, input, want) in cases() {
            let got = normalise(input);
            let want = want.map(str::to_owned);
            assert_eq!(got, want, "rule: {rule}");
        }
    }

    #[test]
    fn label_of_63_passes_and_64_fails() {
        let ok = format!("{}.com", "a".repeat(63));
        assert_eq!(normalise(ok.as_bytes()), Ok(ok.clone()));
        let long = format!("{}.com", "a".repeat(64));
        assert_eq!(normalise(long.as_bytes()), Err(LabelTooLong(64)));
    }

    #[test]
    fn name_of_253_passes_and_254_fails() {
        // 4 labels of 61 + 3 dots = 247, + ".abcde" = 253.
        let base = vec!["a".repeat(61); 4].join(".");
        let ok = format!("{base}.abcde");
        assert_eq!(ok.len(), 253);
        assert_eq!(normalise(ok.as_bytes()), Ok(ok.clone()));
        let long = format!("{base}.abcdef");
        assert_eq!(normalise(long.as_bytes()), Err(NameTooLong(254)));
        // A trailing dot does not count toward the limit.
        assert_eq!(normalise(format!("{ok}.").as_bytes()), Ok(ok));
    }

    #[test]
    fn idn_length_is_checked_after_conversion() {
        // 30 'ü' become a 60+ octet A-label.
        let label = "ü".repeat(60);
        assert!(matches!(
            normalise(format!("{label}.de").as_bytes()),
            Err(LabelTooLong(_))
        ));
    }

    #[test]
    fn reasons_read_as_input_error_text() {
        assert_eq!(
            Url {
                host: Some("example.com".into())
            }
            .to_string(),
            "URL, not a domain (host example.com)"
        );
        assert_eq!(
            BadChar('\t').to_string(),
            "character '\\t' not allowed (letters, digits and hyphen only)"
        );
        assert_eq!(EmptyLine.to_string(), "empty line");
    }

    proptest! {
        #[test]
        fn normalise_never_panics_and_is_idempotent(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(name) = normalise(&bytes) {
                prop_assert_eq!(normalise(name.as_bytes()), Ok(name.clone()));
            }
        }

        #[test]
        fn normalise_is_idempotent_on_domain_like_text(s in "[a-zA-Z0-9ü\u{3002}ß._@/: -]{0,40}") {
            if let Ok(name) = normalise(s.as_bytes()) {
                prop_assert_eq!(normalise(name.as_bytes()), Ok(name.clone()));
            }
        }
    }
}
