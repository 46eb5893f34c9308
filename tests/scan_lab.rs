//! End to end: `scan` against the lab equals `lab truth`, row by row, column by column.

use std::path::{Path, PathBuf};
use std::time::Duration;
use stsmap::dns::EngineConfig;
use stsmap::fetch::FetchConfig;
use stsmap::input::DedupMode;
use stsmap::lab::world::{Profile, World};
use stsmap::lab::{Lab, LabConfig};
use stsmap::report::ResultsWriter;
use stsmap::row::{COLUMNS, DURATION_COLUMN};
use stsmap::scan::progress::ProgressMode;
use stsmap::scan::{ScanConfig, ScanReport};

pub fn sample() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample.csv").to_string()
}

pub fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stsmap-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A scan configuration aimed at a running lab.
pub fn lab_config(lab: &Lab, input: &str, out: &Path) -> ScanConfig {
    let mut engine = EngineConfig::new(vec![lab.dns_addr()]);
    engine.timeout = Duration::from_millis(1500);
    // Long enough that a fetch is never cut short by CPU contention (the lab and the
    // scanner share two cores with other tests); stalled and trickling hosts cost
    // this much each, 64 at a time.
    let timeout = Duration::from_secs(5);
    ScanConfig {
        input: input.to_string(),
        out_dir: out.to_path_buf(),
        engine,
        fetch: FetchConfig {
            https_port: Some(lab.https_addr().port()),
            extra_ca_pem: vec![lab.ca_pem().as_bytes().to_vec()],
            connect_timeout: timeout,
            tls_timeout: timeout,
            timeout,
            max_concurrent: 64,
            ..FetchConfig::default()
        },
        concurrency: 500,
        window: 20_000,
        progress: ProgressMode::Quiet,
        dedup: DedupMode::Exact,
        resume: false,
        force: false,
        command_line: vec!["test".into()],
        shard: None,
        compress: Default::default(),
    }
}

/// The truth file for `input` in `world`, written like `stsmap lab truth`.
pub fn truth_csv(world: &World, input: &str) -> Vec<u8> {
    let mut w = ResultsWriter::new(Vec::new()).unwrap();
    for line in stsmap::input::screen(stsmap::input::open(input).unwrap()) {
        let line = line.unwrap();
        let row = if line.is_scanned() {
            world.truth(line.rank, &line.domain)
        } else {
            stsmap::scan::unscanned_row(&line)
        };
        w.write(&row).unwrap();
    }
    w.into_inner().unwrap()
}

pub fn records(bytes: &[u8]) -> Vec<csv::StringRecord> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        COLUMNS.to_vec(),
        "results.csv header"
    );
    r.records().map(|r| r.unwrap()).collect()
}

/// Rows that differ from the truth in any column but duration_ms, described.
pub fn differences(got: &[csv::StringRecord], want: &[csv::StringRecord]) -> Vec<String> {
    let mut diffs = Vec::new();
    if got.len() != want.len() {
        diffs.push(format!("{} rows, truth has {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        for (c, name) in COLUMNS.iter().enumerate() {
            if c != DURATION_COLUMN && g.get(c) != w.get(c) {
                diffs.push(format!(
                    "row {} ({}): {name} = {:?}, truth {:?}",
                    i + 1,
                    w.get(1).unwrap_or(""),
                    g.get(c).unwrap_or(""),
                    w.get(c).unwrap_or("")
                ));
            }
        }
    }
    diffs
}

/// Asserts that `out/results.csv` equals `lab truth` of `world` for `input` on every contract
/// column (the first differences in the message); returns the number of rows.
pub fn assert_results_equal_truth(out: &Path, world: &World, input: &str) -> usize {
    let got = records(&std::fs::read(out.join("results.csv")).unwrap());
    let want = records(&truth_csv(world, input));
    let diffs = differences(&got, &want);
    assert!(
        diffs.is_empty(),
        "{} differences, first: {:#?}",
        diffs.len(),
        &diffs[..diffs.len().min(15)]
    );
    want.len()
}

pub async fn scan(config: ScanConfig) -> ScanReport {
    stsmap::scan::run(config, std::future::pending())
        .await
        .unwrap()
}

async fn scan_equals_truth(profile: Profile, seed: u64, name: &str) {
    let lab = Lab::start(LabConfig::loopback(profile, seed)).unwrap();
    let out = tmp_dir(name);
    let report = scan(lab_config(&lab, &sample(), &out)).await;
    lab.shutdown().await;
    let want = assert_results_equal_truth(&out, &World::new(profile, seed), &sample());
    assert!(want >= 20_000, "the sample has {want} rows");
    assert_eq!(report.summary.domains, want as u64);
    assert!(report.complete);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    for key in [
        "domains",
        "duration_s",
        "dns_queries",
        "dns_answered",
        "https_fetches",
        "classification",
    ] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "finished");
    std::fs::remove_dir_all(&out).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_of_the_adversarial_world_equals_the_truth_on_every_row() {
    scan_equals_truth(Profile::Adversarial, 7, "adversarial").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_of_the_realistic_world_equals_the_truth_on_every_row() {
    scan_equals_truth(Profile::Realistic, 1, "realistic").await;
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + usize::from(!bytes.ends_with(b"\n"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dirty_umbrella_list_gets_exactly_one_row_per_line() {
    let list = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/lists/tom-martin01-ciscoumb_top-10k.csv"
    );
    let bytes = std::fs::read(list).unwrap_or_else(|e| {
        panic!("{list}: {e} (the shared data folder must sit beside the project)")
    });
    let lines = count_lines(&bytes);
    let lab = Lab::start(LabConfig::loopback(Profile::Realistic, 3)).unwrap();
    let out = tmp_dir("umbrella");
    scan(lab_config(&lab, list, &out)).await;
    lab.shutdown().await;
    let got = records(&std::fs::read(out.join("results.csv")).unwrap());
    assert_eq!(
        got.len(),
        lines,
        "one row per input line (the list has no header)"
    );
    let empty = got.iter().filter(|r| &r[22] == "empty line").count();
    assert!(empty > 900_000, "{empty} blank lines reported");
    let want = records(&truth_csv(&World::new(Profile::Realistic, 3), list));
    let diffs = differences(&got, &want);
    assert!(diffs.is_empty(), "{:#?}", &diffs[..diffs.len().min(15)]);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn scan_without_a_resolver_stops_and_says_how_to_name_one() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stsmap"))
        .args(["scan", "--input", &sample(), "--out"])
        .arg(tmp_dir("no-resolver"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--resolver") && err.contains("--system-resolvers"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_explains_a_certificate_name_mismatch_and_its_fix() {
    let world = World::new(Profile::Adversarial, 7);
    let domain = stsmap::input::screen(stsmap::input::open(&sample()).unwrap())
        .map(|l| l.unwrap())
        .find(|l| l.is_scanned() && world.truth(l.rank, &l.domain).policy_error == "name_mismatch")
        .expect("the adversarial world has a name mismatch")
        .domain;
    let lab = Lab::start(LabConfig::loopback(Profile::Adversarial, 7)).unwrap();
    let ca = tmp_dir("check-ca.pem");
    std::fs::write(&ca, lab.ca_pem()).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_stsmap"))
        .args(["check", &domain, "--resolver", &lab.dns_addr().to_string()])
        .args([
            "--https-port",
            &lab.https_addr().port().to_string(),
            "--ca-file",
        ])
        .arg(&ca)
        .output()
        .await
        .unwrap();
    lab.shutdown().await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("tls_error, name_mismatch"), "{text}");
    assert!(
        text.contains(&format!("must name mta-sts.{domain}")),
        "{text}"
    );
    assert!(text.contains("Verdict: broken"), "{text}");
    std::fs::remove_file(&ca).ok();
}
