//! Ground truth (`World::truth`) against the world's intended specs.

use std::collections::HashSet;

use stsmap::lab::world::{
    DomainSpec, HostSpec, MxSpec, PolicyCase, Profile, StsSpec, TlsRptSpec, World,
};
use stsmap::row::{
    classify, Classification, Coverage, MxStatus, PolicyStatus, RecordStatus, ResultRow,
};

fn synthetic(i: u32) -> String {
    format!("site{i}.example{}.com", i % 97)
}

fn intended_mx(s: &DomainSpec) -> MxStatus {
    match s.mx {
        MxSpec::Nxdomain => MxStatus::Nxdomain,
        MxSpec::NoMx => MxStatus::NoMx,
        MxSpec::NullMx => MxStatus::NullMx,
        _ => MxStatus::Ok,
    }
}

fn intended_sts(s: &DomainSpec) -> RecordStatus {
    match s.sts {
        _ if !s.exists() => RecordStatus::Absent,
        StsSpec::Multiple => RecordStatus::Multiple,
        x if x.is_absent() => RecordStatus::Absent,
        x if x.is_valid() => RecordStatus::Valid,
        _ => RecordStatus::Invalid,
    }
}

fn intended_tlsrpt(s: &DomainSpec) -> RecordStatus {
    match s.tlsrpt {
        _ if !s.exists() => RecordStatus::Absent,
        TlsRptSpec::Nxdomain => RecordStatus::Absent,
        TlsRptSpec::Mailto | TlsRptSpec::Https | TlsRptSpec::Several | TlsRptSpec::Cname => {
            RecordStatus::Valid
        }
        TlsRptSpec::NoScheme | TlsRptSpec::MissingRua => RecordStatus::Invalid,
        TlsRptSpec::Multiple => RecordStatus::Multiple,
    }
}

/// The intended (policy_status, policy_error) when the record is valid; None for
/// real-world bodies, whose verdict is the parser's to give.
fn intended_policy(s: &DomainSpec) -> Option<(PolicyStatus, &'static str)> {
    use PolicyStatus as P;
    Some(match (s.host, s.policy) {
        (HostSpec::Missing | HostSpec::DanglingCname, _) => (P::DnsError, "nxdomain"),
        (HostSpec::NoAddress, _) => (P::DnsError, "no_address"),
        (_, PolicyCase::Good) => (P::Valid, ""),
        (_, PolicyCase::CertExpired) => (P::TlsError, "expired"),
        (_, PolicyCase::CertNotYetValid) => (P::TlsError, "not_yet_valid"),
        (_, PolicyCase::CertWrongName) => (P::TlsError, "name_mismatch"),
        (_, PolicyCase::CertUntrusted) => (P::TlsError, "unknown_issuer"),
        (_, PolicyCase::NotTls) => (P::TlsError, "not_tls"),
        (_, PolicyCase::HandshakeStall) => (P::Timeout, "tls_handshake"),
        (_, PolicyCase::NotFound) => (P::HttpError, "HTTP 404"),
        (_, PolicyCase::Forbidden) => (P::HttpError, "HTTP 403"),
        (_, PolicyCase::ServerError) => (P::HttpError, "HTTP 500"),
        (_, PolicyCase::Moved) => (P::HttpError, "HTTP 301 Location: "),
        (_, PolicyCase::Found) => (P::HttpError, "HTTP 302 Location: "),
        (_, PolicyCase::HtmlPage) => (P::Invalid, ""),
        (_, PolicyCase::Oversize) => (P::Invalid, "body_too_large"),
        (_, PolicyCase::Trickle) => (P::Timeout, "body"),
        (_, PolicyCase::RealBody) => return None,
    })
}

fn check_row(d: &str, s: &DomainSpec, row: &ResultRow) {
    let ctx = format!("{d}: {s:?}\n{row:?}");
    assert_eq!(row.mx_status, Some(intended_mx(s)), "{ctx}");
    assert_eq!(row.sts_record_status, Some(intended_sts(s)), "{ctx}");
    assert_eq!(row.tlsrpt_status, Some(intended_tlsrpt(s)), "{ctx}");
    if row.sts_record_status != Some(RecordStatus::Valid) {
        assert_eq!(row.policy_status, Some(PolicyStatus::NotFetched), "{ctx}");
    } else if let Some((status, error)) = intended_policy(s) {
        assert_eq!(row.policy_status, Some(status), "{ctx}");
        assert!(row.policy_error.starts_with(error), "{ctx}");
        if status == PolicyStatus::Valid {
            assert_eq!(row.policy_mode, Some(s.good.mode), "{ctx}");
            assert!(
                row.policy_warnings.is_empty(),
                "generated policies are strict: {ctx}"
            );
            let intended = match s.good.coverage {
                Coverage::Some if row.mx_hosts.len() < 2 => Coverage::None,
                c => c,
            };
            let expect = (!row.mx_hosts.is_empty()).then_some(intended);
            assert_eq!(row.mx_policy_match, expect, "{ctx}");
        }
    }
    let class = classify(
        row.mx_status.unwrap(),
        row.sts_record_status.unwrap(),
        row.policy_status.unwrap(),
        row.policy_mode,
    );
    assert_eq!(row.classification, Some(class), "{ctx}");
    assert_eq!(row.duration_ms, 0);
}

#[test]
fn truth_matches_the_intended_spec_of_every_adversarial_domain() {
    let w = World::new(Profile::Adversarial, 1);
    for i in 0..20_000 {
        let d = synthetic(i);
        check_row(&d, &w.spec(&d), &w.truth(u64::from(i) + 1, &d));
    }
}

#[test]
fn truth_matches_the_intended_spec_of_realistic_domains() {
    let w = World::new(Profile::Realistic, 7);
    for i in 0..20_000 {
        let d = synthetic(i);
        check_row(&d, &w.spec(&d), &w.truth(u64::from(i) + 1, &d));
    }
}

#[test]
fn adversarial_truth_reaches_every_classification_and_failure_code() {
    let w = World::new(Profile::Adversarial, 1);
    let mut classes = HashSet::new();
    let mut errors = HashSet::new();
    let mut statuses = HashSet::new();
    for i in 0..20_000 {
        let row = w.truth(1, &synthetic(i));
        classes.insert(row.classification.unwrap());
        statuses.insert(row.policy_status.unwrap());
        let family = row
            .policy_error
            .split(" Location")
            .next()
            .unwrap()
            .to_string();
        errors.insert(family);
    }
    for c in Classification::ALL {
        // dns_error needs a failing resolver: the servers' fault knobs, not the world.
        if *c != Classification::DnsError {
            assert!(classes.contains(c), "{c} never produced");
        }
    }
    for s in PolicyStatus::ALL {
        if *s != PolicyStatus::ConnectError {
            assert!(statuses.contains(s), "{s} never produced");
        }
    }
    for e in [
        "nxdomain",
        "no_address",
        "expired",
        "not_yet_valid",
        "name_mismatch",
        "unknown_issuer",
        "not_tls",
        "tls_handshake",
        "body",
        "body_too_large",
        "HTTP 404",
        "HTTP 403",
        "HTTP 500",
        "HTTP 301",
        "HTTP 302",
    ] {
        assert!(errors.contains(e), "{e} never produced");
    }
}

#[test]
fn record_texts_are_joined_as_the_contract_says() {
    let w = World::new(Profile::Adversarial, 1);
    let find = |want: &dyn Fn(&DomainSpec) -> bool| {
        (0..100_000)
            .map(synthetic)
            .find(|d| want(&w.spec(d)))
            .unwrap()
    };
    let d = find(&|s| s.exists() && s.sts == StsSpec::ValidSplit);
    let row = w.truth(1, &d);
    assert_eq!(row.sts_record, format!("v=STSv1; id={}", row.sts_id));
    let d = find(&|s| s.exists() && s.sts == StsSpec::Multiple);
    let row = w.truth(1, &d);
    assert_eq!(row.sts_record.matches(" | ").count(), 1, "{row:?}");
    assert_eq!(row.sts_record_error, "2 records start with v=STSv1");
    let d = find(&|s| s.exists() && s.tlsrpt == TlsRptSpec::Several);
    let row = w.truth(1, &d);
    assert_eq!(row.tlsrpt_rua.len(), 2, "{row:?}");
    assert!(row.tlsrpt_rua[0].starts_with("mailto:tlsrpt@"));
}

#[test]
fn truth_is_deterministic_and_depends_on_the_seed() {
    let a = World::new(Profile::Adversarial, 11);
    let b = World::new(Profile::Adversarial, 12);
    let mut differ = 0;
    for i in 0..500 {
        let d = synthetic(i);
        assert_eq!(a.truth(1, &d), a.truth(1, &d));
        if a.truth(1, &d) != b.truth(1, &d) {
            differ += 1;
        }
    }
    assert!(differ > 400, "{differ}");
}

#[test]
fn lab_truth_cli_writes_a_header_and_one_row_per_domain() {
    let dir = std::env::temp_dir().join(format!("stsmap-lab-truth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("list.csv");
    std::fs::write(&input, "1,Example.COM.\n2,example.org\n\n3,example.net\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stsmap"))
        .args([
            "lab",
            "truth",
            "--profile",
            "adversarial",
            "--seed",
            "3",
            "--input",
        ])
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = csv::Reader::from_reader(&out.stdout[..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, stsmap::row::COLUMNS);
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let w = World::new(Profile::Adversarial, 3);
    let expect: Vec<Vec<String>> = [(1, "example.com"), (2, "example.org"), (3, "example.net")]
        .iter()
        .map(|(rank, d)| w.truth(*rank, d).to_cells())
        .collect();
    // The blank line gets its own row too (docs/input.md: every line gets a row).
    assert_eq!(rows.len(), 4);
    assert_eq!(
        (rows[2][2].as_str(), rows[2][22].as_str()),
        ("invalid", "empty line")
    );
    let scanned: Vec<Vec<String>> = [0, 1, 3].iter().map(|&i| rows[i].clone()).collect();
    assert_eq!(scanned, expect);
    std::fs::remove_dir_all(&dir).ok();
}
