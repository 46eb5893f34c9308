//! Table-driven tests of the policy rules (RFC 8461 §3.2) and both verdicts.

use super::*;

/// (strict ok, lenient ok, error codes, warning codes)
fn verdict(body: &str) -> (bool, bool, Vec<String>, Vec<String>) {
    let r = parse(body.as_bytes());
    let codes = |v: &[Problem]| v.iter().map(|p| p.code.to_string()).collect::<Vec<_>>();
    (
        r.strict_valid,
        r.policy.is_some(),
        codes(&r.errors),
        codes(&r.warnings),
    )
}

const GOOD: &str = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n";

#[test]
fn rfc_8461_example_policy_is_strictly_valid() {
    // RFC 8461 §3.2 example:
    //   version: STSv1
    //   mode: enforce
    //   mx: mail.example.com
    //   mx: *.example.net
    //   mx: backupmx.example.com
    //   max_age: 604800
    let body = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";
    let r = parse(body.as_bytes());
    assert!(r.strict_valid, "{r:?}");
    let p = r.policy.unwrap();
    assert_eq!(p.mode, Mode::Enforce);
    assert_eq!(p.max_age, 604800);
    assert_eq!(
        p.mx,
        ["mail.example.com", "*.example.net", "backupmx.example.com"]
    );
}

#[test]
fn lf_crlf_mixed_and_missing_final_terminator_are_all_legal() {
    // sts-policy-term = LF / CRLF ; the record ends with an optional term.
    for body in [
        GOOD,
        &GOOD.replace('\n', "\r\n"),
        "version: STSv1\r\nmode: enforce\nmx: mail.example.com\r\nmax_age: 604800",
        "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800",
    ] {
        let (strict, lenient, e, w) = verdict(body);
        assert!(
            strict && lenient && e.is_empty() && w.is_empty(),
            "{body:?}: {e:?} {w:?}"
        );
    }
}

#[test]
fn trailing_whitespace_and_whitespace_after_colon_are_legal() {
    // sts-policy-record = sts-policy-field *WSP ... ; sts-policy-field-delim = ":" *WSP
    let body = "version:\tSTSv1 \nmode:   testing\t\nmx: mx.example.com  \nmax_age: 86400 \n";
    let (strict, lenient, e, w) = verdict(body);
    assert!(strict && lenient, "{e:?} {w:?}");
}

#[test]
fn required_fields_missing_are_lenient_errors() {
    // version, mode and max_age are required; mx is required unless mode is none.
    let cases: &[(&str, &[&str])] = &[
        (
            "mode: enforce\nmx: a.example\nmax_age: 1\n",
            &["version_missing"],
        ),
        (
            "version: STSv1\nmx: a.example\nmax_age: 86400\n",
            &["mode_missing"],
        ),
        (
            "version: STSv1\nmode: enforce\nmx: a.example\n",
            &["max_age_missing"],
        ),
        (
            "version: STSv1\nmode: enforce\nmax_age: 86400\n",
            &["mx_missing"],
        ),
        (
            "version: STSv1\nmode: testing\nmax_age: 86400\n",
            &["mx_missing"],
        ),
        ("version: STSv1\nmode: none\nmax_age: 86400\n", &[]),
        (
            "a\n",
            &[
                "version_missing",
                "mode_missing",
                "max_age_missing",
                "mx_missing",
            ],
        ),
    ];
    for (body, want) in cases {
        let (_, lenient, e, _) = verdict(body);
        assert_eq!(e, *want, "{body:?}");
        assert_eq!(lenient, want.is_empty(), "{body:?}");
    }
}

#[test]
fn values_must_be_exact_even_when_lenient() {
    // sts-policy-mode-value = %s"testing" / %s"enforce" / %s"none" (case-sensitive)
    // sts-policy-max-age-value = 1*10(DIGIT), at most 31557600
    let cases: &[(&str, &str, &str)] = &[
        ("mode", "enforced", "mode_invalid"),
        ("mode", "Enforce", "mode_invalid"),
        ("mode", "[testing]", "mode_invalid"),
        ("mode", "enforce # comment", "mode_invalid"),
        ("version", "STSv2", "version_invalid"),
        ("version", "stsv1", "version_invalid"),
        ("max_age", "enforce", "max_age_invalid"),
        ("max_age", "-1", "max_age_invalid"),
        ("max_age", "+86400", "max_age_invalid"),
        ("max_age", "86400 # one day", "max_age_invalid"),
        ("max_age", "00000000086400", "max_age_invalid"),
        ("max_age", "31557601", "max_age_out_of_range"),
        ("max_age", "9999999999", "max_age_out_of_range"),
        ("max_age", "", "max_age_invalid"),
    ];
    for (key, value, code) in cases {
        let mut fields = vec![
            ("version", "STSv1"),
            ("mode", "enforce"),
            ("mx", "a.example"),
            ("max_age", "86400"),
        ];
        for f in fields.iter_mut() {
            if f.0 == *key {
                f.1 = value;
            }
        }
        let body: String = fields.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        let (strict, lenient, e, _) = verdict(&body);
        assert!(!strict && !lenient, "{body:?}");
        assert_eq!(e, [*code], "{body:?}");
    }
}

#[test]
fn max_age_bounds_zero_and_one_year_are_valid() {
    for age in ["0", "31557600", "0000000001"] {
        let body = format!("version: STSv1\nmode: none\nmax_age: {age}\n");
        assert!(verdict(&body).0, "{age}");
    }
}

#[test]
fn the_first_of_duplicated_fields_wins() {
    // "If any non-repeated field ... is duplicated, all entries except for
    //  the first SHALL be ignored."
    let body =
        "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 86400\nmax_age: x\n";
    let r = parse(body.as_bytes());
    assert!(r.strict_valid);
    assert_eq!(r.policy.as_ref().unwrap().mode, Mode::Testing);
    assert_eq!(r.warning_codes(), ["duplicate_key"]);
    // ... even when the first is the invalid one.
    let body = "version: STSv1\nmode: enforced\nmode: enforce\nmx: a.example\nmax_age: 86400\n";
    assert_eq!(verdict(body).2, ["mode_invalid"]);
}

#[test]
fn unknown_keys_are_ignored_and_kept_as_extensions() {
    // "unknown fields SHALL be ignored"
    let body = format!("{GOOD}ms: typo.example\nx-note: hello world\nms: again\n");
    let r = parse(body.as_bytes());
    assert!(r.strict_valid);
    let p = r.policy.unwrap();
    assert_eq!(
        p.extensions,
        vec![
            ("ms".to_string(), "typo.example".to_string()),
            ("x-note".to_string(), "hello world".to_string())
        ]
    );
    assert!(r.warnings.iter().all(|w| w.code == "unknown_key"));
    assert!(r.warnings[0].detail.contains("did you mean mx"));
}

#[test]
fn formatting_noise_breaks_strict_only() {
    // None of these are in the grammar; lenient senders read past them.
    let cases: &[(&str, &str)] = &[
        ("\u{feff}", "utf8_bom"),
        ("\n", "blank_line"),
        ("# comment\n", "comment_line"),
        ("   # indented comment\n", "comment_line"),
        (
            "---\npermalink: /.well-known/mta-sts.txt\n---\n",
            "front_matter",
        ),
        ("just words\n", "no_colon"),
        ("bad key: x\n", "key_invalid"),
        ("x-ext: tab\there\n", "value_invalid"),
    ];
    for (prefix, code) in cases {
        let body = format!("{prefix}{GOOD}");
        let (strict, lenient, e, w) = verdict(&body);
        assert!(!strict && lenient && e.is_empty(), "{body:?}: {e:?}");
        assert!(w.iter().any(|c| c == code), "{body:?}: {w:?}");
    }
    let cases: &[(&str, &str)] = &[
        (
            "  version: STSv1\n  mode: enforce\n  mx: a.example\n  max_age: 86400\n",
            "leading_whitespace",
        ),
        (
            "version : STSv1\nmode: enforce\nmx: a.example\nmax_age: 86400\n",
            "space_before_colon",
        ),
        (
            "version: STSv1\rmode: enforce\rmx: a.example\rmax_age: 86400\r",
            "bare_cr",
        ),
        (
            "version: STSv1\nmode: enforce\nmx: a.example.\nmax_age: 86400\n",
            "mx_trailing_dot",
        ),
        (
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 86400\n\n",
            "blank_line",
        ),
    ];
    for (body, code) in cases {
        let (strict, lenient, e, w) = verdict(body);
        assert!(!strict && lenient && e.is_empty(), "{body:?}: {e:?}");
        assert_eq!(w, [*code], "{body:?}");
    }
}

#[test]
fn mx_patterns_are_star_dot_domain_lowercased_without_trailing_dot() {
    // sts-policy-mx-value = ["*."] Domain
    let body = "version: STSv1\nmode: enforce\nmx: MX1.Example.COM.\nmx: *.mail.example\nmx: alt*.google.com\nmx: ://google.com\nmx: .\nmx: your_domain.tld\nmx: *.mail.example\nmax_age: 86400\n";
    let r = parse(body.as_bytes());
    assert!(!r.strict_valid);
    assert_eq!(r.policy.unwrap().mx, ["mx1.example.com", "*.mail.example"]);
    let invalid = r.warnings.iter().filter(|w| w.code == "mx_invalid").count();
    assert_eq!(invalid, 4);
    assert!(r.warnings.iter().any(|w| w.code == "mx_duplicate"));
}

#[test]
fn no_valid_mx_left_fails_unless_mode_none() {
    let body = "version: STSv1\nmode: enforce\nmx: ://google.com\nmax_age: 86400\n";
    assert_eq!(verdict(body).2, ["mx_all_invalid"]);
    let body = "version: STSv1\nmode: none\nmx: ://google.com\nmax_age: 86400\n";
    let (strict, lenient, _, w) = verdict(body);
    assert!(!strict && lenient && w == ["mx_invalid"]);
}

#[test]
fn undecodable_and_non_policy_bodies_are_single_errors() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "empty"),
        (b"\n", "empty"),
        (b"\r\n", "empty"),
        (b" \t\r\n\r\n", "empty"),
        (b"\xff\xfev\x00=\x00", "utf16"),
        (b"\xfe\xff\x00v", "utf16"),
        (b"version: STSv1\n\xc3\x28\n", "not_utf8"),
        (b"<!DOCTYPE html>\n<title>404</title>", "markup_body"),
        (b"<?xml version=\"1.0\"?><Error/>", "markup_body"),
    ];
    for (body, code) in cases {
        let r = parse(body);
        let codes: Vec<&str> = r.errors.iter().map(|p| p.code).collect();
        assert_eq!(codes, [*code], "{body:?}");
        assert!(r.policy.is_none() && !r.strict_valid);
    }
}

#[test]
fn bodies_over_64_kib_are_invalid_but_still_read() {
    let mut body = GOOD.as_bytes().to_vec();
    body.extend(std::iter::repeat_n(b'\n', MAX_BODY));
    let r = parse(&body);
    assert_eq!(r.errors[0].code, "body_too_large");
    assert!(r.policy.is_none());
    assert!(r.warnings.iter().any(|w| w.code == "blank_line"));
}

#[test]
fn short_max_age_outside_none_is_advice_only() {
    let body = "version: STSv1\nmode: testing\nmx: a.example\nmax_age: 600\n";
    let (strict, lenient, _, w) = verdict(body);
    assert!(strict && lenient);
    assert_eq!(w, ["max_age_short"]);
    let body = "version: STSv1\nmode: none\nmax_age: 600\n";
    assert!(verdict(body).3.is_empty());
}

#[test]
fn every_emitted_code_is_in_the_table_and_codes_are_unique() {
    for (i, c) in CODES.iter().enumerate() {
        assert!(
            CODES[i + 1..].iter().all(|d| d.code != c.code),
            "{}",
            c.code
        );
        assert!(c
            .code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()));
    }
    let bodies = [
        GOOD,
        "a",
        "\u{feff}# x\n\n  version : STSv2\nmode: x\nmax_age: y\nmx: .\nfoo bar: 1\n",
    ];
    for b in bodies {
        let r = parse(b.as_bytes());
        for p in r.errors.iter().chain(&r.warnings) {
            assert!(codes::info(p.code).is_some(), "{}", p.code);
        }
        for p in &r.errors {
            assert_eq!(p.severity(), Severity::Error, "{}", p.code);
        }
        for p in &r.warnings {
            assert_ne!(p.severity(), Severity::Error, "{}", p.code);
        }
    }
}
