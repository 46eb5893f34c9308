//! Tests of the lint report: verdicts, and that each problem names its RFC clause.

use super::*;

const GOOD: &[u8] = b"version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n";

#[test]
fn a_valid_policy_prints_its_fields_and_passes() {
    let l = policy(GOOD, false, false);
    assert!(l.valid);
    assert!(l.text.contains("mode     enforce"));
    assert!(l.text.contains("max_age  604800 (7d)"));
    assert!(l.text.contains("mx       mail.example.com"));
    assert!(l.text.ends_with("verdict: valid\n"));
}

#[test]
fn strict_only_problems_fail_only_with_strict() {
    let body = [b"\xef\xbb\xbf".as_slice(), GOOD].concat();
    let lenient = policy(&body, false, false);
    assert!(lenient.valid);
    assert!(lenient
        .text
        .contains("utf8_bom  RFC 8461 §3.2  [breaks strict]"));
    let strict = policy(&body, false, true);
    assert!(!strict.valid);
    assert!(strict.text.contains("verdict: invalid (--strict)"));
}

#[test]
fn errors_name_the_rfc_section() {
    let l = policy(
        b"version: STSv1\nmode: enforced\nmx: a.example\nmax_age: 1\n",
        false,
        false,
    );
    assert!(!l.valid);
    assert!(l.text.contains("mode_invalid  RFC 8461 §3.2"));
    assert!(l.text.contains("did you mean enforce?"));
}

#[test]
fn oversize_input_is_invalid() {
    assert!(!policy(GOOD, true, false).valid);
}

#[test]
fn records_report_id_rua_or_reason() {
    let l = sts_record("v=STSv1; id=20160831085700Z;");
    assert!(l.valid && l.text.contains("id       20160831085700Z"));
    let l = sts_record("v=STSv1; id=bad-id");
    assert!(!l.valid && l.text.contains("RFC 8461 §3.1"));
    let l = sts_record("spf1");
    assert!(!l.valid && l.text.contains("does not begin with v=STSv1"));
    let l = tlsrpt_record("v=TLSRPTv1; rua=mailto:a@example.com,https://r.example/x");
    assert!(l.valid && l.text.contains("rua      https://r.example/x"));
    let l = tlsrpt_record("v=TLSRPTv1; rua=postmaster@example.com");
    assert!(!l.valid && l.text.contains("RFC 8460 §3"));
}

#[test]
fn zone_file_quoted_strings_are_joined_without_spaces() {
    assert_eq!(
        record_bytes(r#""v=STSv1; id=" "policy1;""#).0,
        b"v=STSv1; id=policy1;"
    );
    assert_eq!(record_bytes(r#""a\"b\059c""#).0, b"a\"b;c");
    // Not entirely quoted: taken literally.
    assert_eq!(
        record_bytes(r#""v=STSv1; id=1" x"#).0,
        br#""v=STSv1; id=1" x"#
    );
    assert!(sts_record(r#""v=STSv1; id=" "policy1;""#).valid);
}
