//! The policy parser over real policies: the decided verdict for each of the
//! 57 curated files (docs/policy-verdicts.md explains each), and the whole
//! corpus (346 files) plus real non-policy bodies without a panic.

use super::fixture;
use stsmap::policy::{self, codes, Severity};

/// (file number, strict ok, lenient ok, lenient mode, error codes, warning codes)
type Row = (
    u32,
    bool,
    bool,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

#[rustfmt::skip]
const CURATED: &[Row] = &[
    (1, true, true, "enforce", &[], &[]),
    (2, true, true, "none", &[], &[]),
    (3, true, true, "none", &[], &[]),
    (4, true, true, "enforce", &[], &[]),
    // "max_age: enforce"
    (5, false, false, "-", &["max_age_invalid"], &[]),
    // "mx: ." is no host name, and it is the only mx
    (6, false, false, "-", &["mx_all_invalid"], &["mx_invalid"]),
    // unedited template: inline comments make every value invalid
    (7, false, false, "-", &["mode_invalid", "max_age_invalid", "mx_all_invalid"], &["mx_invalid"]),
    (8, false, false, "-", &["mode_invalid", "max_age_invalid", "mx_all_invalid"], &["comment_line", "mx_invalid"]),
    (9, false, false, "-", &["mode_invalid"], &[]),
    // "*.mx.cloudflare.net." read as "*.mx.cloudflare.net"
    (10, false, true, "enforce", &[], &["mx_trailing_dot"]),
    (11, false, false, "-", &["mode_invalid"], &[]),
    // "max_age: 86400version: STSv1": the first max_age counts and is invalid
    (12, false, false, "-", &["max_age_invalid"], &["duplicate_key"]),
    (13, false, false, "-", &["empty"], &[]),
    (14, false, false, "-", &["version_missing", "mode_missing", "max_age_missing", "mx_missing"], &["no_colon"]),
    (15, false, false, "-", &["empty"], &[]),
    (16, false, false, "-", &["mode_invalid"], &["blank_line", "comment_line"]),
    (17, false, false, "-", &["mode_invalid"], &[]),
    (18, false, false, "-", &["mode_invalid"], &[]),
    // "mx: alt*.google.com" dropped; two valid patterns remain
    (19, false, true, "enforce", &[], &["comment_line", "mx_invalid"]),
    (20, false, true, "enforce", &[], &["front_matter", "blank_line"]),
    (21, false, true, "testing", &[], &["front_matter"]),
    (22, false, true, "testing", &[], &["front_matter"]),
    (23, false, false, "-", &["utf16"], &[]),
    (24, false, true, "enforce", &[], &["utf8_bom"]),
    // "ms:" is an unknown key: legal, ignored
    (25, true, true, "testing", &[], &["unknown_key"]),
    (26, false, true, "testing", &[], &["leading_whitespace", "mx_duplicate"]),
    (27, false, true, "testing", &[], &["leading_whitespace"]),
    // trailing whitespace after a value is in the grammar
    (28, true, true, "testing", &[], &[]),
    (29, true, true, "testing", &[], &[]),
    (30, false, true, "none", &[], &["leading_whitespace"]),
    (31, true, true, "none", &[], &[]),
    (32, true, true, "enforce", &[], &[]),
    (33, true, true, "enforce", &[], &[]),
    (34, true, true, "testing", &[], &[]),
    (35, true, true, "testing", &[], &[]),
    (36, true, true, "testing", &[], &[]),
    (37, true, true, "enforce", &[], &[]),
    (38, true, true, "testing", &[], &["max_age_short"]),
    (39, true, true, "enforce", &[], &[]),
    (40, true, true, "enforce", &[], &[]),
    (41, true, true, "testing", &[], &[]),
    (42, true, true, "enforce", &[], &[]),
    (43, true, true, "enforce", &[], &[]),
    (44, true, true, "testing", &[], &[]),
    (45, true, true, "enforce", &[], &[]),
    (46, true, true, "enforce", &[], &[]),
    (47, true, true, "enforce", &[], &[]),
    (48, true, true, "enforce", &[], &[]),
    (49, true, true, "enforce", &[], &[]),
    (50, true, true, "testing", &[], &[]),
    // "mx: ://google.com" is the only mx
    (51, false, false, "-", &["mx_all_invalid"], &["mx_invalid"]),
    (52, true, true, "testing", &[], &["max_age_short"]),
    (53, true, true, "enforce", &[], &[]),
    // "nmx:" is not mx: an enforce policy without mx
    (54, false, false, "-", &["mx_missing"], &["unknown_key"]),
    (55, false, true, "testing", &[], &["blank_line"]),
    // generator templates with MODE / PRIMARY_HOSTNAME placeholders
    (56, false, false, "-", &["mode_invalid", "mx_all_invalid"], &["mx_invalid"]),
    (57, false, false, "-", &["mode_invalid", "mx_all_invalid"], &["mx_invalid"]),
];

fn curated_files() -> Vec<(u32, std::path::PathBuf)> {
    let mut files: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".mta-sts.txt"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name[..2].parse().unwrap(), p)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_curated_policy_gets_its_decided_verdict() {
    let files = curated_files();
    assert_eq!(files.len(), 57);
    assert_eq!(CURATED.len(), 57);
    let mut failures = Vec::new();
    for ((n, path), row) in files.iter().zip(CURATED) {
        assert_eq!(*n, row.0);
        let r = policy::parse(&std::fs::read(path).unwrap());
        let mode = r.policy.as_ref().map_or("-", |p| p.mode.as_str());
        let errors: Vec<&str> = r.errors.iter().map(|p| p.code).collect();
        let got = (
            r.strict_valid,
            r.policy.is_some(),
            mode,
            errors,
            r.warning_codes(),
        );
        let want_w: Vec<String> = row.5.iter().map(|s| s.to_string()).collect();
        let want = (row.1, row.2, row.3, row.4.to_vec(), want_w);
        if got != want {
            failures.push(format!("{n:02}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn curated_valid_policies_agree_with_index_tsv_on_mode_and_max_age() {
    let index = std::fs::read_to_string(fixture("INDEX.tsv")).unwrap();
    let mut checked = 0;
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let r = policy::parse(&std::fs::read(fixture(cols[1])).unwrap());
        if let Some(p) = r.policy {
            assert_eq!(p.mode.as_str(), cols[6], "{}", cols[1]);
            assert_eq!(p.max_age.to_string(), cols[7], "{}", cols[1]);
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} rows checked");
}

/// Invariants every report keeps, whatever the body.
fn assert_consistent(name: &str, r: &policy::PolicyReport) {
    assert_eq!(r.policy.is_some(), r.errors.is_empty(), "{name}");
    assert!(!r.strict_valid || r.policy.is_some(), "{name}");
    for p in &r.errors {
        assert_eq!(
            codes::info(p.code).map(|c| c.severity),
            Some(Severity::Error),
            "{name}: {}",
            p.code
        );
    }
    for p in &r.warnings {
        let sev = codes::info(p.code).map(|c| c.severity);
        assert!(
            matches!(sev, Some(Severity::StrictOnly | Severity::Advice)),
            "{name}: {}",
            p.code
        );
    }
    let strict_only = r
        .warnings
        .iter()
        .any(|w| w.severity() == Severity::StrictOnly);
    assert_eq!(
        r.strict_valid,
        r.errors.is_empty() && !strict_only,
        "{name}"
    );
}

#[test]
fn whole_corpus_parses_consistently_and_agrees_with_its_index() {
    let index = std::fs::read_to_string(fixture("corpus/INDEX.tsv")).unwrap();
    let mut seen = 0;
    let mut valid = 0;
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let body = std::fs::read(fixture(&format!("corpus/{}", cols[0]))).unwrap();
        let r = policy::parse(&body);
        assert_consistent(cols[0], &r);
        if let Some(p) = &r.policy {
            // The index's mode and max_age columns were extracted independently.
            assert_eq!(p.mode.as_str(), cols[5], "{}", cols[0]);
            assert_eq!(p.max_age.to_string(), cols[6], "{}", cols[0]);
            valid += 1;
        }
        seen += 1;
    }
    assert_eq!(seen, 346);
    // Most real policies are fine; the count pins the decisions in the doc.
    assert_eq!(valid, 315, "lenient-valid policies in the corpus");
}

#[test]
fn non_policy_bodies_are_invalid() {
    for name in [
        "beyondparanoid_404_meta_refresh.html",
        "s3_accessdenied_body.xml",
        "cloudflare_worker_error_bodies.txt",
    ] {
        let r =
            policy::parse(&std::fs::read(fixture(&format!("non_policy_bodies/{name}"))).unwrap());
        assert_consistent(name, &r);
        assert!(r.policy.is_none(), "{name}");
    }
    let html = policy::parse(
        &std::fs::read(fixture(
            "non_policy_bodies/beyondparanoid_404_meta_refresh.html",
        ))
        .unwrap(),
    );
    assert_eq!(html.error_summary(), "markup_body");
}
