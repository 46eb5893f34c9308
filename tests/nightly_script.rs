//! `scripts/nightly.sh` end to end against the lab: three nights (three lab seeds), each scanned,
//! diffed against the night before, pruned to the last two, with its Prometheus file; a night
//! already finished is refused with the reason, in the log and in the Prometheus file.

use crate::scan_lab::{differences, records, tmp_dir, truth_csv};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use stsmap::lab::world::{Profile, World};
use stsmap::scan::results_file;

/// Lines of data/sample.csv each night scans (the script's `STSMAP_LAB_LINES`).
const LINES: usize = 1500;

fn nightly(base: &Path, night: &str, seed: u64) -> Output {
    Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/nightly.sh"))
        .env("STSMAP_BIN", env!("CARGO_BIN_EXE_stsmap"))
        .env("STSMAP_BASE", base)
        .env("STSMAP_LAB", "1")
        .env("STSMAP_LAB_SEED", seed.to_string())
        .env("STSMAP_LAB_LINES", LINES.to_string())
        .env("STSMAP_NIGHT", night)
        .env("STSMAP_KEEP", "2")
        .output()
        .expect("running scripts/nightly.sh")
}

fn run_rows(dir: &Path) -> Vec<csv::StringRecord> {
    let (_, mut r) = results_file::open(dir).unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut bytes).unwrap();
    records(&bytes)
}

/// `name value` of a Prometheus text line, for the metric written exactly as `name`.
fn metric(prom: &str, name: &str) -> Option<f64> {
    prom.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn nightly_script_scans_diffs_prunes_and_reports_three_lab_nights() {
    let base = tmp_dir("nightly-script");
    let nights = [("2026-12-01", 1), ("2026-12-02", 2), ("2026-12-03", 3)];
    for (night, seed) in nights {
        let out = nightly(&base, night, seed);
        assert!(
            out.status.success(),
            "night {night}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let prom = std::fs::read_to_string(base.join("stsmap.prom")).unwrap();

    // Kept: the last two nights and their logs; the first is pruned with its diff.
    let kept: BTreeSet<String> = std::fs::read_dir(base.join("nights"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        kept,
        BTreeSet::from(["2026-12-02".into(), "2026-12-03".into()])
    );
    assert!(!base.join("logs/2026-12-01.log").exists());
    assert!(!base.join("diffs/2026-12-01_2026-12-02").exists());

    // The last night equals the lab truth for its seed on every contract column.
    let input = base.join("lab-input.csv").display().to_string();
    let night3 = base.join("nights/2026-12-03");
    assert!(night3.join("results.csv.gz").exists(), "gzip by default");
    let got = run_rows(&night3);
    let want = records(&truth_csv(&World::new(Profile::Realistic, 3), &input));
    assert_eq!(got.len(), LINES, "one row per input line");
    let diffs = differences(&got, &want);
    assert!(diffs.is_empty(), "{:#?}", &diffs[..diffs.len().min(10)]);

    // The diff against night 2 lists exactly the domains whose truth changed class.
    let night2 = records(&truth_csv(&World::new(Profile::Realistic, 2), &input));
    let want_changed: BTreeSet<String> = night2
        .iter()
        .zip(&want)
        .filter(|(a, b)| &a[2] == "ok" && a[20] != b[20])
        .map(|(a, _)| a[1].to_string())
        .collect();
    assert!(want_changed.len() > 10, "the seeds differ");
    let changes = std::fs::read(base.join("diffs/2026-12-02_2026-12-03/changes.csv")).unwrap();
    let mut r = csv::Reader::from_reader(&changes[..]);
    assert_eq!(r.headers().unwrap(), vec!["domain", "field", "old", "new"]);
    let changes: Vec<csv::StringRecord> = r.records().map(|c| c.unwrap()).collect();
    let got_changed: BTreeSet<String> = changes
        .iter()
        .filter(|c| &c[1] == "classification")
        .map(|c| c[0].to_string())
        .collect();
    assert_eq!(got_changed, want_changed);
    let changed_domains: BTreeSet<&str> = changes.iter().map(|c| c.get(0).unwrap()).collect();

    // The Prometheus file describes the last night.
    assert_eq!(metric(&prom, "stsmap_nightly_success"), Some(1.0));
    assert_eq!(metric(&prom, "stsmap_domains"), Some(LINES as f64));
    let scanned = want.iter().filter(|r| &r[2] == "ok").count();
    assert_eq!(metric(&prom, "stsmap_scanned"), Some(scanned as f64));
    let per_class: f64 = prom
        .lines()
        .filter(|l| l.starts_with("stsmap_classification{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(per_class, scanned as f64);
    assert_eq!(
        metric(&prom, r#"stsmap_diff_domains{movement="changed"}"#),
        Some(changed_domains.len() as f64)
    );

    // A finished night is not scanned again: exit 1, the reason on stderr and in the file.
    let again = nightly(&base, "2026-12-03", 3);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already a finished run"), "{stderr}");
    let prom = std::fs::read_to_string(base.join("stsmap.prom")).unwrap();
    assert_eq!(metric(&prom, "stsmap_nightly_success"), Some(0.0));
    assert!(
        prom.contains("stsmap_nightly_failure_info{reason="),
        "{prom}"
    );
    std::fs::remove_dir_all(&base).unwrap();
}
