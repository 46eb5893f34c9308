//! Table-driven tests of the `_mta-sts` record rules (RFC 8461 §3.1).

use super::*;

fn one(text: &str) -> StsRecord {
    parse_answer(&[text.as_bytes().to_vec()])
}

fn valid_id(r: &StsRecord) -> Option<&str> {
    match r {
        StsRecord::Valid { id, .. } => Some(id),
        _ => None,
    }
}

#[test]
fn rfc_8461_example_record_is_valid() {
    // RFC 8461 §3.1: `_mta-sts.example.com.  IN TXT "v=STSv1; id=20160831085700Z;"`
    let r = one("v=STSv1; id=20160831085700Z;");
    assert_eq!(valid_id(&r), Some("20160831085700Z"));
}

#[test]
fn delimiter_whitespace_and_trailing_semicolon_are_optional() {
    // sts-field-delim = *WSP ";" *WSP ; sts-text-record = ... [sts-field-delim]
    for text in [
        "v=STSv1;id=1",
        "v=STSv1;id=1;",
        "v=STSv1 ; id=1",
        "v=STSv1 \t; \tid=1 \t;",
        "v=STSv1; id=1;  ",
        "v=STSv1;id=1577377920599;",
    ] {
        assert!(valid_id(&one(text)).is_some(), "{text:?}");
    }
}

#[test]
fn id_must_be_1_to_32_letters_or_digits() {
    // sts-id = %s"id=" 1*32(ALPHA / DIGIT)
    let cases = [
        ("v=STSv1; id=abcDEF0123", true),
        (&*format!("v=STSv1; id={}", "a".repeat(32)), true),
        (&*format!("v=STSv1; id={}", "a".repeat(33)), false),
        ("v=STSv1; id=;", false),
        ("v=STSv1; id=###;", false),
        ("v=STSv1; id=bad-value;", false),
        ("v=STSv1; id=abc+/def", false),
        ("v=STSv1; id=2020-01-29", false),
    ];
    for (text, ok) in cases {
        assert_eq!(valid_id(&one(text)).is_some(), ok, "{text:?}");
    }
}

#[test]
fn records_not_starting_with_the_version_are_discarded() {
    // "records that do not begin with "v=STSv1;" are discarded"
    let cases: &[&[&str]] = &[
        &[],
        &["id=20180907T090909; v=STSv1;"],
        &["\"v=STSv1; id=202106232052\""],
        &["V=STSv1; id=1"],
        &["v=spf1 -all", "azazaza;asdasdasdasd"],
    ];
    for answer in cases {
        let recs: Vec<Vec<u8>> = answer.iter().map(|s| s.as_bytes().to_vec()).collect();
        assert_eq!(parse_answer(&recs), StsRecord::Absent, "{answer:?}");
    }
    // A non-STS record next to a valid one does not matter.
    let recs = vec![b"v=spf1 -all".to_vec(), b"v=STSv1; id=1".to_vec()];
    assert_eq!(valid_id(&parse_answer(&recs)), Some("1"));
}

#[test]
fn more_than_one_candidate_is_multiple_even_if_identical() {
    // "If the number of resulting records is not one ..."
    let recs = vec![b"v=STSv1; id=a".to_vec(), b"v=STSv1; id=a".to_vec()];
    assert!(matches!(parse_answer(&recs), StsRecord::Multiple { texts } if texts.len() == 2));
}

#[test]
fn syntax_errors_make_the_record_invalid_with_a_reason() {
    let cases = [
        ("v=STSv1", "no fields"),
        ("v=STSv1;", "no fields"),
        ("v=STSv1 id=021120211155", "expected ';'"),
        ("v=STSv10; id=policy1;", "exactly v=STSv1"),
        ("v=STSv12;id=20180907T090909;", "exactly v=STSv1"),
        ("v=STSv1; id=policy1 ", "must be followed by ';'"),
        ("v=STSv1;; id=1", "empty field"),
        ("v=STSv1; id=1; note=has space;", "value must be"),
        ("v=STSv1; id=1; note=café;", "non-ASCII"),
        ("v=STSv1; $$=@@", "field name"),
        ("v=STSv1; v=STSv1", "no id"),
        ("v=STSv1; id", "no '='"),
        ("v=STSv1; ID=123", "no id"),
        ("v=STSv1; id=123v=STSv1", "id"),
    ];
    for (text, why) in cases {
        match one(text) {
            StsRecord::Invalid { reason, text: t } => {
                assert!(reason.contains(why), "{text:?}: {reason}");
                assert_eq!(t, text);
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn tags_are_case_sensitive() {
    // sts-id = %s"id=" — %s is case-sensitive (RFC 7405); "ID" is an extension.
    assert!(matches!(one("v=STSv1; ID=1"), StsRecord::Invalid { .. }));
    assert!(matches!(one("v=STSv1; Id=1; id=2"), StsRecord::Valid { id, .. } if id == "2"));
}

#[test]
fn extensions_are_kept_first_occurrence_wins_for_id_and_extensions() {
    let r = one("v=STSv1; x-a=1; id=first; id=second; x-a=2; b.c_d=z");
    match r {
        StsRecord::Valid { id, extensions, .. } => {
            assert_eq!(id, "first");
            assert_eq!(
                extensions,
                vec![("x-a".into(), "1".into()), ("b.c_d".into(), "z".into())]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn strings_are_concatenated_by_the_caller_without_spaces() {
    // TXT "v=STSv1; id=" "policy1;" arrives here as one byte string.
    let joined = [b"v=STSv1; id=".as_slice(), b"policy1;"].concat();
    assert_eq!(valid_id(&parse_answer(&[joined])), Some("policy1"));
}

#[test]
fn invalid_utf8_never_panics_and_is_invalid() {
    let r = parse_answer(&[b"v=STSv1; id=\xff\xfe".to_vec()]);
    assert!(matches!(r, StsRecord::Invalid { .. }));
}
