//! The examples printed in RFC 8461 and RFC 8460 pass, through the library and `lint`.

use stsmap::{lint, policy, sts_record, tlsrpt};

/// RFC 8461 §3.2, the example policy (served with CRLF line endings).
const RFC8461_POLICY: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";

#[test]
fn rfc_8461_section_3_1_record_example_is_valid() {
    // _mta-sts.example.com.  IN TXT "v=STSv1; id=20160831085700Z;"
    let r = sts_record::parse_answer(&[b"v=STSv1; id=20160831085700Z;".to_vec()]);
    assert!(matches!(r, sts_record::StsRecord::Valid { id, .. } if id == "20160831085700Z"));
    assert!(lint::sts_record("v=STSv1; id=20160831085700Z;").valid);
}

#[test]
fn rfc_8461_section_3_2_policy_example_is_strictly_valid() {
    let r = policy::parse(RFC8461_POLICY.as_bytes());
    assert!(r.strict_valid && r.warnings.is_empty(), "{r:?}");
    let p = r.policy.unwrap();
    assert_eq!(
        p.mx,
        ["mail.example.com", "*.example.net", "backupmx.example.com"]
    );
    assert!(lint::policy(RFC8461_POLICY.as_bytes(), false, true).valid);
    // The same with LF endings.
    let lf = RFC8461_POLICY.replace("\r\n", "\n");
    assert!(policy::parse(lf.as_bytes()).strict_valid);
}

#[test]
fn rfc_8461_section_4_1_wildcard_example_matches_one_label() {
    // A policy with mx "*.example.net" covers mx1.example.net only.
    use stsmap::mx::pattern_matches;
    assert!(pattern_matches("*.example.net", "mx1.example.net"));
    assert!(!pattern_matches("*.example.net", "example.net"));
    assert!(!pattern_matches("*.example.net", "foo.mx1.example.net"));
}

#[test]
fn rfc_8460_section_3_examples_are_valid() {
    // RFC 8460 §3.1 (mailto) and §3.2 (https) report URIs.
    for (text, uri) in [
        (
            "v=TLSRPTv1;rua=mailto:reports@example.com",
            "mailto:reports@example.com",
        ),
        (
            "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt",
            "https://reporting.example.com/v1/tlsrpt",
        ),
    ] {
        let r = tlsrpt::parse_answer(&[text.as_bytes().to_vec()]);
        assert!(
            matches!(&r, tlsrpt::TlsRptRecord::Valid { rua, .. } if rua == &[uri]),
            "{r:?}"
        );
        assert!(lint::tlsrpt_record(text).valid);
    }
}
