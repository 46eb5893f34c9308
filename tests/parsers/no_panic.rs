//! Property tests: no parser panics on any input, and reports stay consistent.

use proptest::prelude::*;
use stsmap::{mx, policy, sts_record, tlsrpt};

/// Lines that are nearly a policy: real keys and values mixed with noise.
fn near_policy() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("version: STSv1".to_string()),
        Just("mode: enforce".to_string()),
        Just("mode: none".to_string()),
        Just("max_age: 86400".to_string()),
        Just("---".to_string()),
        "mx: [*.]{0,2}[a-zA-Z0-9_.*-]{0,20}\\.?",
        "max_age: [0-9+ -]{0,12}",
        "[ \t#]{0,3}[a-z_]{0,8}[ ]?:[ \t]?[ -~]{0,12}[ \t]?",
        "\\PC{0,10}",
    ];
    let term = prop_oneof![Just("\n"), Just("\r\n"), Just("\r"), Just("")];
    proptest::collection::vec((line, term), 0..12).prop_map(|v| {
        let mut s: String = v.into_iter().map(|(l, t)| l + t).collect();
        if s.len() % 7 == 3 {
            s.insert(0, '\u{feff}');
        }
        s
    })
}

fn check_policy(body: &[u8]) {
    let r = policy::parse(body);
    assert_eq!(r.policy.is_some(), r.errors.is_empty());
    assert!(!r.strict_valid || r.policy.is_some());
    if let Some(p) = &r.policy {
        assert!(p.max_age <= policy::MAX_AGE_LIMIT);
        for m in &p.mx {
            assert_eq!(m, &m.to_ascii_lowercase());
            assert!(!m.ends_with('.'));
        }
    }
    let _ = stsmap::lint::policy(body, false, true);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn policy_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        check_policy(&body);
    }

    #[test]
    fn policy_never_panics_on_near_valid_text(body in near_policy()) {
        check_policy(body.as_bytes());
    }

    #[test]
    fn sts_record_never_panics(
        raw in proptest::collection::vec(any::<u8>(), 0..80),
        near in "v=STSv1[ \t;=a-zA-Z0-9._-]{0,40}",
    ) {
        let r = sts_record::parse_answer(&[raw, near.clone().into_bytes()]);
        let _ = r;
        if let sts_record::StsRecord::Valid { id, .. } = sts_record::parse_answer(&[near.into_bytes()]) {
            prop_assert!((1..=32).contains(&id.len()));
        }
    }

    #[test]
    fn tlsrpt_never_panics(
        raw in proptest::collection::vec(any::<u8>(), 0..80),
        near in "v=TLSRPTv1[ \t;=,:/@a-zA-Z0-9._-]{0,50}",
    ) {
        let _ = tlsrpt::parse_answer(&[raw]);
        if let tlsrpt::TlsRptRecord::Valid { rua, .. } = tlsrpt::parse_answer(&[near.into_bytes()]) {
            prop_assert!(!rua.is_empty());
            for u in rua {
                let l = u.to_ascii_lowercase();
                prop_assert!(l.starts_with("mailto:") || l.starts_with("https://"));
            }
        }
    }

    #[test]
    fn lint_records_never_panic(arg in "\\PC{0,60}|\"[ -~]{0,30}\"( \"[ -~]{0,10}\")?") {
        let _ = stsmap::lint::sts_record(&arg);
        let _ = stsmap::lint::tlsrpt_record(&arg);
    }

    #[test]
    fn mx_functions_never_panic_and_coverage_partitions_hosts(
        recs in proptest::collection::vec((any::<u16>(), "[a-zA-Z0-9.*-]{0,12}"), 0..6),
        patterns in proptest::collection::vec("[*.]{0,2}[a-z0-9.*-]{0,12}", 0..4),
    ) {
        let hosts = match mx::interpret(&recs) {
            mx::MxAnswer::Hosts(h) | mx::MxAnswer::NullMixed(h) => h,
            mx::MxAnswer::NullMx | mx::MxAnswer::Empty => Vec::new(),
        };
        let (cov, uncovered) = mx::coverage(&patterns, &hosts);
        prop_assert!(uncovered.iter().all(|u| hosts.contains(u)));
        match cov {
            mx::Coverage::All => prop_assert!(uncovered.is_empty() && !hosts.is_empty()),
            mx::Coverage::None => prop_assert_eq!(uncovered.len(), hosts.len()),
            mx::Coverage::Some => prop_assert!(!uncovered.is_empty() && uncovered.len() < hosts.len()),
        }
    }
}
