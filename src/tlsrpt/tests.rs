//! Table-driven tests of the `_smtp._tls` record rules (RFC 8460 §3).

use super::*;

fn one(text: &str) -> TlsRptRecord {
    parse_answer(&[text.as_bytes().to_vec()])
}

fn rua(r: &TlsRptRecord) -> Option<Vec<&str>> {
    match r {
        TlsRptRecord::Valid { rua, .. } => Some(rua.iter().map(|s| s.as_str()).collect()),
        _ => None,
    }
}

#[test]
fn rfc_8460_examples_are_valid() {
    // RFC 8460 §3.1: _smtp._tls.example.com. IN TXT \
    //     "v=TLSRPTv1;rua=mailto:reports@example.com"
    assert_eq!(
        rua(&one("v=TLSRPTv1;rua=mailto:reports@example.com")),
        Some(vec!["mailto:reports@example.com"])
    );
    // "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt"
    assert_eq!(
        rua(&one(
            "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt"
        )),
        Some(vec!["https://reporting.example.com/v1/tlsrpt"])
    );
}

#[test]
fn rua_holds_one_or_more_comma_separated_uris() {
    // tlsrpt-rua = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
    let cases: &[(&str, Option<&[&str]>)] = &[
        (
            "v=TLSRPTv1; rua=mailto:a@x.fr,mailto:b@y.fr",
            Some(&["mailto:a@x.fr", "mailto:b@y.fr"]),
        ),
        (
            "v=TLSRPTv1; rua=mailto:a@x.fr , https://r.example/v1;",
            Some(&["mailto:a@x.fr", "https://r.example/v1"]),
        ),
        ("v=TLSRPTv1; rua=mailto:a@x.fr,mailto:b@y.fr,", None),
        ("v=TLSRPTv1; rua=", None),
    ];
    for (text, want) in cases {
        assert_eq!(rua(&one(text)).as_deref(), *want, "{text:?}");
    }
}

#[test]
fn only_mailto_and_https_schemes_are_accepted() {
    // RFC 8460 §3: "Two URI schemes are supported" (mailto, https).
    let cases = [
        ("v=TLSRPTv1; rua=mailto:x@example.com", true),
        ("v=TLSRPTv1; rua=MAILTO:x@example.com", true),
        ("v=TLSRPTv1; rua=https://example.com/r", true),
        ("v=TLSRPTv1; rua=http://example.com/r", false),
        ("v=TLSRPTv1; rua=ftp://example.com/r", false),
        ("v=TLSRPTv1; rua=postmaster@isaspa.it", false),
        ("v=TLSRPTv1; rua=not_a_valid_uri", false),
        ("v=TLSRPTv1; rua=mailto:", false),
        ("v=TLSRPTv1; rua=https://", false),
        ("v=TLSRPTv1; rua=mailto:a b@example.com", false),
    ];
    for (text, ok) in cases {
        assert_eq!(rua(&one(text)).is_some(), ok, "{text:?}");
    }
}

#[test]
fn rua_is_required_and_the_first_duplicate_wins() {
    assert!(matches!(one("v=TLSRPTv1;"), TlsRptRecord::Invalid { .. }));
    assert!(matches!(one("v=TLSRPTv1"), TlsRptRecord::Invalid { .. }));
    assert_eq!(
        rua(&one(
            "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com"
        )),
        Some(vec!["mailto:a@example.com"])
    );
}

#[test]
fn discarded_absent_and_multiple_follow_the_version_prefix() {
    assert_eq!(parse_answer(&[]), TlsRptRecord::Absent);
    assert_eq!(
        one("\"v=TLSRPTv1; rua=mailto:tls-reports@williamblondel.fr\""),
        TlsRptRecord::Absent
    );
    let two = vec![
        b"v=TLSRPTv1; rua=mailto:a@x.fr".to_vec(),
        b"v=TLSRPTv1; rua=mailto:b@x.fr".to_vec(),
    ];
    assert!(matches!(parse_answer(&two), TlsRptRecord::Multiple { texts } if texts.len() == 2));
}

#[test]
fn extensions_must_follow_the_ext_grammar_and_are_ignored() {
    assert!(rua(&one("v=TLSRPTv1; x-y=z; rua=mailto:a@example.com")).is_some());
    assert!(rua(&one("v=TLSRPTv1; rua=mailto:a@example.com; bad ext=1")).is_none());
    assert!(rua(&one("v=TLSRPTv10; rua=mailto:a@example.com")).is_none());
}
