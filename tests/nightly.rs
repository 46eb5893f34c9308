//! Shards, merge, diff and compressed output, end to end against the lab.

use crate::scan_lab::{differences, lab_config, records, sample, scan, tmp_dir, truth_csv};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use stsmap::lab::world::{Profile, World};
use stsmap::lab::{Lab, LabConfig};
use stsmap::merge::MergeConfig;
use stsmap::scan::results_file::{self, Compression};
use stsmap::shard::Shard;

/// The first 4000 sample lines plus an invalid line and a duplicate, so every
/// kind of row goes through the shards.
fn input(dir: &Path) -> String {
    let text = std::fs::read_to_string(sample()).unwrap();
    let mut lines: Vec<&str> = text.lines().take(4000).collect();
    lines.extend([
        "99998,not a domain!",
        "99999,google.com",
        "100000,-bad-.example",
    ]);
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("input.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.display().to_string()
}

fn merge_config(shards: &[PathBuf], out: &Path, compress: Compression) -> MergeConfig {
    MergeConfig {
        shard_dirs: shards.to_vec(),
        out_dir: out.to_path_buf(),
        input: None,
        compress,
        force: true,
        command_line: vec!["test".into()],
    }
}

/// All rows of a run directory as CSV records (any compression).
fn run_records(dir: &Path) -> Vec<csv::StringRecord> {
    let (_, mut r) = results_file::open(dir).unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut bytes).unwrap();
    records(&bytes)
}

fn summary_without_timings(dir: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    for k in ["duration_s", "dns_queries", "dns_answered", "https_fetches"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_merged_equal_the_single_run_and_bad_sets_are_refused() {
    let base = tmp_dir("shards");
    let input = input(&base);
    let lab = Lab::start(LabConfig::loopback(Profile::Realistic, 1)).unwrap();
    let single = base.join("single");
    scan(lab_config(&lab, &input, &single)).await;
    let mut shards = Vec::new();
    for (k, compress) in [
        (1, Compression::None),
        (2, Compression::Gzip),
        (3, Compression::Zstd),
    ] {
        let dir = base.join(format!("shard{k}"));
        let mut c = lab_config(&lab, &input, &dir);
        c.shard = Some(Shard { index: k, count: 3 });
        c.compress = compress;
        scan(c).await;
        shards.push(dir);
    }
    let other_settings = base.join("shard1-other");
    let mut c = lab_config(&lab, &input, &other_settings);
    c.shard = Some(Shard { index: 1, count: 3 });
    c.concurrency = 100;
    scan(c).await;
    let mut resume_compressed = lab_config(&lab, &input, &shards[2]);
    resume_compressed.shard = Some(Shard { index: 3, count: 3 });
    resume_compressed.compress = Compression::Zstd;
    resume_compressed.resume = true;
    lab.shutdown().await;

    let sizes: Vec<usize> = shards.iter().map(|d| run_records(d).len()).collect();
    assert!(sizes.iter().all(|&n| n > 1000), "a fair split: {sizes:?}");

    let merged = base.join("merged");
    let mut reversed = shards.clone();
    reversed.reverse();
    stsmap::merge::merge(&merge_config(&reversed, &merged, Compression::None)).unwrap();
    let want = run_records(&single);
    assert_eq!(want.len(), 4003);
    let got = run_records(&merged);
    // Byte for byte on the contract columns (duration_ms aside): against the
    // single run, and both against the truth.
    let diffs = differences(&got, &want);
    assert!(diffs.is_empty(), "{:#?}", &diffs[..diffs.len().min(10)]);
    let truth = records(&truth_csv(&World::new(Profile::Realistic, 1), &input));
    let vs_truth = differences(&got, &truth);
    assert!(
        vs_truth.is_empty(),
        "merged rows equal the truth: {:#?}",
        &vs_truth[..vs_truth.len().min(10)]
    );
    let mut recount = stsmap::report::Summary::new();
    for row in results_file::rows(&merged).unwrap() {
        recount.add(&row.unwrap());
    }
    let mut recount = recount.to_json(&Default::default());
    for k in ["duration_s", "dns_queries", "dns_answered", "https_fetches"] {
        recount.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(summary_without_timings(&merged), recount);
    assert_eq!(
        summary_without_timings(&merged),
        summary_without_timings(&single)
    );

    for compress in [Compression::Gzip, Compression::Zstd] {
        let out = base.join(format!("merged-{}", compress.as_str()));
        stsmap::merge::merge(&merge_config(&shards, &out, compress)).unwrap();
        assert!(out.join(compress.file_name()).exists());
        assert_eq!(run_records(&out), got, "{compress:?} round trip");
    }

    let refused = |dirs: Vec<PathBuf>| {
        stsmap::merge::merge(&merge_config(
            &dirs,
            &base.join("refused"),
            Compression::None,
        ))
        .unwrap_err()
        .to_string()
    };
    let s = &shards;
    assert!(refused(vec![s[0].clone(), s[1].clone()]).contains("missing shards: 3/3"));
    let twice = refused(vec![s[0].clone(), s[0].clone(), s[1].clone(), s[2].clone()]);
    assert!(twice.contains("shard 1/3 given more than once"), "{twice}");
    let settings = refused(vec![other_settings.clone(), s[1].clone(), s[2].clone()]);
    assert!(
        settings.contains("different settings: concurrency"),
        "{settings}"
    );
    let manifest = s[2].join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"finished\"", "\"interrupted\"")).unwrap();
    assert!(refused(s.clone()).contains("is not finished"));
    let err = stsmap::scan::run(resume_compressed, std::future::pending())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("compressed results file cannot be continued"),
        "{err}"
    );
    std::fs::remove_dir_all(&base).unwrap();
}

/// Domains (scanned in both) whose classification differs, from two result sets.
fn class_changes(old: &[csv::StringRecord], new: &[csv::StringRecord]) -> BTreeSet<String> {
    old.iter()
        .zip(new)
        .filter(|(a, b)| &a[2] == "ok" && a[20] != b[20])
        .map(|(a, _)| a[1].to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_of_two_seeds_lists_exactly_the_domains_whose_truth_changed_class() {
    let base = tmp_dir("diff");
    let input = input(&base);
    let mut dirs = Vec::new();
    for seed in [1, 2] {
        let lab = Lab::start(LabConfig::loopback(Profile::Realistic, seed)).unwrap();
        let dir = base.join(format!("seed{seed}"));
        let mut c = lab_config(&lab, &input, &dir);
        c.compress = if seed == 1 {
            Compression::Gzip
        } else {
            Compression::None
        };
        scan(c).await;
        lab.shutdown().await;
        dirs.push(dir);
    }
    let truth = |seed| records(&truth_csv(&World::new(Profile::Realistic, seed), &input));
    let (t1, t2) = (truth(1), truth(2));
    let want = class_changes(&t1, &t2);
    // Both scans equal their truth on every contract column, so the diff of the
    // scans must list exactly the truth's class changes.
    let (s1, s2) = (run_records(&dirs[0]), run_records(&dirs[1]));
    for (got, want) in [(&s1, &t1), (&s2, &t2)] {
        let diffs = differences(got, want);
        assert!(diffs.is_empty(), "{:#?}", &diffs[..diffs.len().min(10)]);
    }
    assert!(
        want.len() > 50,
        "the seeds differ: {} class changes",
        want.len()
    );

    let mut got = BTreeSet::new();
    let mut changes = 0;
    let summary = stsmap::diff::diff(
        results_file::rows(&dirs[0]).unwrap(),
        results_file::rows(&dirs[1]).unwrap(),
        |c| {
            changes += 1;
            if c.field == "classification" {
                assert!(got.insert(c.domain.clone()), "{} listed twice", c.domain);
            }
        },
    )
    .unwrap();
    assert_eq!(got, want);
    assert_eq!(summary.transitions.values().sum::<u64>(), got.len() as u64);
    assert_eq!((summary.added, summary.removed), (0, 0));
    assert!(changes >= want.len());
    std::fs::remove_dir_all(&base).unwrap();
}
