//! Table-driven tests of MX interpretation (RFC 7505) and matching (RFC 8461 §4.1).

use super::*;

fn recs(v: &[(u16, &str)]) -> Vec<(u16, String)> {
    v.iter().map(|(p, h)| (*p, h.to_string())).collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn hosts_are_ordered_by_preference_then_name_lowercase_without_dot() {
    let a = interpret(&recs(&[
        (20, "B.example."),
        (10, "z.example."),
        (20, "a.example"),
        (30, "z.example."),
    ]));
    assert_eq!(
        a,
        MxAnswer::Hosts(s(&["z.example", "a.example", "b.example"]))
    );
}

#[test]
fn a_single_root_exchange_is_a_null_mx() {
    // RFC 7505 §3: preference 0 and a zero-length label, written ".".
    assert_eq!(interpret(&recs(&[(0, ".")])), MxAnswer::NullMx);
    assert_eq!(interpret(&recs(&[(0, "")])), MxAnswer::NullMx);
}

#[test]
fn a_null_mx_beside_other_records_is_null_mixed() {
    // RFC 7505 §3: "A domain that advertises a null MX MUST NOT advertise any other MX RR."
    let a = interpret(&recs(&[(0, "."), (10, "Mail.example.")]));
    assert_eq!(a, MxAnswer::NullMixed(s(&["mail.example"])));
}

#[test]
fn no_records_is_empty() {
    assert_eq!(interpret(&[]), MxAnswer::Empty);
}

#[test]
fn patterns_match_case_insensitively_ignoring_trailing_dot() {
    let cases = [
        ("mail.example.com", "MAIL.Example.com.", true),
        ("mail.example.com.", "mail.example.com", true),
        ("mail.example.com", "mail2.example.com", false),
        ("example.com", "mail.example.com", false),
    ];
    for (p, h, want) in cases {
        assert_eq!(pattern_matches(p, h), want, "{p} vs {h}");
    }
}

#[test]
fn wildcard_is_the_whole_leftmost_label_and_matches_exactly_one_label() {
    // RFC 8461 §4.1: "*.example.com" matches "mx1.example.com" but not
    // "example.com" nor "foo.mx1.example.com".
    let cases = [
        ("*.example.com", "mx1.example.com", true),
        ("*.Example.COM.", "MX1.example.com", true),
        ("*.example.com", "example.com", false),
        ("*.example.com", "foo.mx1.example.com", false),
        ("*.example.com", ".example.com", false),
        ("alt*.google.com", "alt1.google.com", false),
        ("alt*.google.com", "alt*.google.com", false),
        ("*", "com", false),
        ("*.", "com", false),
        ("mx.*.example.com", "mx.a.example.com", false),
        ("*.*.example.com", "a.b.example.com", false),
    ];
    for (p, h, want) in cases {
        assert_eq!(pattern_matches(p, h), want, "{p} vs {h}");
    }
}

#[test]
fn coverage_is_all_some_or_none_with_uncovered_hosts_in_order() {
    let pats = s(&["*.mail.protection.outlook.com", "aspmx.l.google.com"]);
    let cases: &[(&[&str], Coverage, &[&str])] = &[
        (
            &["x.mail.protection.outlook.com", "aspmx.l.google.com"],
            Coverage::All,
            &[],
        ),
        (
            &["b.example", "aspmx.l.google.com", "a.example"],
            Coverage::Some,
            &["b.example", "a.example"],
        ),
        (&["b.example"], Coverage::None, &["b.example"]),
        (&[], Coverage::None, &[]),
    ];
    for (hosts, want, unc) in cases {
        assert_eq!(coverage(&pats, &s(hosts)), (*want, s(unc)), "{hosts:?}");
    }
}
