//! `stsmap merge`: shard run directories → one run directory equal to a single
//! run's (timings and network counters aside).
//!
//! Rows carry no input line number, so merge re-reads the input (checked
//! against the SHA-256 every shard recorded), screens it exactly as a scan
//! does, and for each line takes the next row of the shard that line hashes to
//! ([`crate::shard::shard_of`]). Each row's `domain` cell is checked against the
//! line, so a shard that does not belong to this input is caught, not merged.
//! Memory: the duplicate table of the input (as in the scan) plus one read
//! buffer per shard.

use crate::input::{self, DedupMode, Deduper, InputReader, Screening};
use crate::report::cells::sanitize;
use crate::report::{RunStats, Summary};
use crate::row::COLUMNS;
use crate::scan::output;
use crate::scan::results_file::{self, Compression, Records, Sink};
use crate::shard::shard_of;
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};

/// What to merge, and where.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// The shard run directories, in any order.
    pub shard_dirs: Vec<PathBuf>,
    /// The merged run directory.
    pub out_dir: PathBuf,
    /// The input list, when not at the path the shards recorded.
    pub input: Option<String>,
    /// How the merged results.csv is stored.
    pub compress: Compression,
    /// Replace a run already in `out_dir`.
    pub force: bool,
    /// For the manifest.
    pub command_line: Vec<String>,
}

/// One shard's run directory, read.
#[derive(Debug, Clone)]
pub struct ShardRun {
    pub dir: PathBuf,
    pub manifest: Value,
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Checks that `runs` are the finished shards 1..=N of one input with one set
/// of settings, and returns them ordered by shard index; otherwise says why.
pub fn check_shards(runs: &[ShardRun]) -> Result<Vec<ShardRun>, String> {
    if runs.is_empty() {
        return Err("no shard directories given".into());
    }
    let mut problems = Vec::new();
    let mut indexed = Vec::new();
    for r in runs {
        let d = r.dir.display();
        let status = text(&r.manifest, "/status");
        if status != "finished" {
            problems.push(format!(
                "{d} is not finished (status {status:?}); resume it first"
            ));
        }
        let k = r.manifest.pointer("/shard/index").and_then(Value::as_u64);
        let n = r.manifest.pointer("/shard/count").and_then(Value::as_u64);
        match (k, n) {
            (Some(k), Some(n)) => indexed.push((k, n, r.clone())),
            _ => problems.push(format!("{d} is not a shard (scanned without --shard)")),
        }
    }
    let first = &runs[0];
    for r in &runs[1..] {
        let (a, b) = (first.dir.display(), r.dir.display());
        for (what, ptr) in [
            ("input", "/input/sha256"),
            ("stsmap version", "/stsmap_version"),
        ] {
            if r.manifest.pointer(ptr) != first.manifest.pointer(ptr) {
                problems.push(format!(
                    "{b} and {a} differ in {what}: {} vs {}",
                    r.manifest.pointer(ptr).unwrap_or(&Value::Null),
                    first.manifest.pointer(ptr).unwrap_or(&Value::Null)
                ));
            }
        }
        let (sa, sb) = (&first.manifest["settings"], &r.manifest["settings"]);
        let keys: std::collections::BTreeSet<&String> = sa
            .as_object()
            .into_iter()
            .chain(sb.as_object())
            .flat_map(|m| m.keys())
            .collect();
        for key in keys {
            if sa.get(key) != sb.get(key) {
                problems.push(format!(
                    "{b} and {a} were scanned with different settings: {key} = {} vs {}",
                    sb.get(key).unwrap_or(&Value::Null),
                    sa.get(key).unwrap_or(&Value::Null)
                ));
            }
        }
    }
    if first
        .manifest
        .pointer("/input/sha256")
        .is_none_or(Value::is_null)
    {
        problems.push(format!(
            "{} has no input hash (scanned from stdin?)",
            first.dir.display()
        ));
    }
    if let Some(&(_, n, _)) = indexed.first() {
        if let Some((_, other, r)) = indexed.iter().find(|(_, m, _)| *m != n) {
            problems.push(format!(
                "shard counts differ: {} is one of {other}, {} one of {n}",
                r.dir.display(),
                indexed[0].2.dir.display()
            ));
        } else {
            let mut seen = vec![Vec::new(); n as usize + 1];
            for (k, _, r) in &indexed {
                if *k >= 1 && *k <= n {
                    seen[*k as usize].push(r.dir.display().to_string());
                }
            }
            let missing: Vec<String> = (1..=n)
                .filter(|&k| seen[k as usize].is_empty())
                .map(|k| format!("{k}/{n}"))
                .collect();
            if !missing.is_empty() {
                problems.push(format!("missing shards: {}", missing.join(", ")));
            }
            for k in 1..=n {
                if seen[k as usize].len() > 1 {
                    problems.push(format!(
                        "shard {k}/{n} given more than once: {}",
                        seen[k as usize].join(", ")
                    ));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    indexed.sort_by_key(|(k, _, _)| *k);
    Ok(indexed.into_iter().map(|(_, _, r)| r).collect())
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
}

/// Makes `dir` ready for a new run: refuses to overwrite one unless `force`.
pub fn prepare_out_dir(dir: &Path, force: bool) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let existing = results_file::find(dir).is_some() || dir.join(output::MANIFEST).exists();
    if existing && !force {
        bail!(
            "{} already holds a run; add --force to replace it",
            dir.display()
        );
    }
    for c in Compression::ALL {
        let _ = fs::remove_file(dir.join(c.file_name()));
    }
    for name in [output::SUMMARY_JSON, output::SUMMARY_MD, output::MANIFEST] {
        let _ = fs::remove_file(dir.join(name));
    }
    Ok(())
}

/// Merges the shards; returns the merged summary.
pub fn merge(config: &MergeConfig) -> anyhow::Result<Summary> {
    let mut runs = Vec::new();
    for dir in &config.shard_dirs {
        let manifest = read_json(&dir.join(output::MANIFEST))?;
        runs.push(ShardRun {
            dir: dir.clone(),
            manifest,
        });
    }
    let runs = check_shards(&runs).map_err(|why| anyhow::anyhow!("refusing to merge:\n{why}"))?;
    let base = &runs[0].manifest;
    let n = runs.len() as u32;
    let input_path = config
        .input
        .clone()
        .unwrap_or_else(|| text(base, "/input/path").to_string());
    let want = text(base, "/input/sha256");
    let got = output::sha256_file(input_path.as_ref())
        .with_context(|| format!("reading the input {input_path} (pass --input if it moved)"))?;
    if got != want {
        bail!("{input_path} is not the input the shards scanned (sha256 {got}, shards {want})");
    }
    let dedup = match text(base, "/settings/dedup") {
        "off" => DedupMode::Off,
        _ => DedupMode::Exact,
    };

    prepare_out_dir(&config.out_dir, config.force)?;
    let results = config.out_dir.join(config.compress.file_name());
    let file =
        fs::File::create(&results).with_context(|| format!("creating {}", results.display()))?;
    let mut out = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Sink::new(file, config.compress)?);
    out.write_record(COLUMNS)?;
    let mut shards: Vec<Records> = runs
        .iter()
        .map(|r| Records::open(&r.dir))
        .collect::<anyhow::Result<_>>()?;
    let mut summary = Summary::new();
    let reader = input::open(&input_path).with_context(|| format!("opening {input_path}"))?;
    for line in Screening::new(InputReader::new(reader), Deduper::new(dedup)) {
        let line = line.with_context(|| format!("reading {input_path}"))?;
        let k = shard_of(&line.domain, n);
        let shard = &mut shards[k as usize - 1];
        let record = shard.next().transpose()?.with_context(|| {
            format!(
                "{} ends before input line {} ({})",
                shard.path().display(),
                line.line_no,
                line.domain
            )
        })?;
        if record.get(1) != Some(sanitize(&line.domain).as_ref()) {
            bail!(
                "{} does not match the input: input line {} is {:?}, the shard's next row is {:?}",
                shard.path().display(),
                line.line_no,
                line.domain,
                record.get(1).unwrap_or("")
            );
        }
        summary.add(&results_file::to_row(&record)?);
        out.write_record(&record)?;
    }
    for shard in &mut shards {
        if shard.next().is_some() {
            bail!(
                "{} has more rows than the input gives it",
                shard.path().display()
            );
        }
    }
    out.into_inner()
        .map_err(|e| e.into_error())?
        .finish()
        .with_context(|| format!("writing {}", results.display()))?;

    let mut stats = RunStats::default();
    for r in &runs {
        let s = read_json(&r.dir.join(output::SUMMARY_JSON))?;
        let num = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
        stats.duration_s = stats
            .duration_s
            .max(s.get("duration_s").and_then(Value::as_f64).unwrap_or(0.0));
        stats.dns_queries += num("dns_queries");
        stats.dns_answered += num("dns_answered");
        stats.https_fetches += num("https_fetches");
    }
    output::write_summaries(&config.out_dir, &summary, &stats).context("writing summaries")?;
    output::write_manifest(&config.out_dir, &merged_manifest(config, &runs, &summary))
        .context("writing manifest.json")?;
    Ok(summary)
}

/// A single run's manifest, with counters summed over the shards.
fn merged_manifest(config: &MergeConfig, runs: &[ShardRun], summary: &Summary) -> Value {
    let base = &runs[0].manifest;
    let mut counts = serde_json::Map::new();
    for r in runs {
        if let Some(c) = r.manifest.get("counts").and_then(Value::as_object) {
            for (k, v) in c {
                let sum =
                    counts.get(k).and_then(Value::as_u64).unwrap_or(0) + v.as_u64().unwrap_or(0);
                counts.insert(k.clone(), json!(sum));
            }
        }
    }
    counts.insert("rows".into(), json!(summary.domains));
    let started = runs.iter().map(|r| text(&r.manifest, "/started")).min();
    let finished = runs.iter().map(|r| text(&r.manifest, "/finished")).max();
    json!({
        "stsmap_version": base["stsmap_version"],
        "command_line": config.command_line,
        "input": base["input"],
        "resolvers": base["resolvers"],
        "settings": base["settings"],
        "shard": null,
        "results_file": config.compress.file_name(),
        "started": started,
        "status": "finished",
        "finished": finished,
        "counts": counts,
        "merged_from": runs.iter().map(|r| json!({
            "dir": r.dir.display().to_string(),
            "shard": r.manifest["shard"],
            "resolvers": r.manifest["resolvers"],
            "started": r.manifest["started"],
            "finished": r.manifest["finished"],
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &str, k: u64, n: u64, status: &str, sha: &str, conc: u64) -> ShardRun {
        ShardRun {
            dir: dir.into(),
            manifest: json!({
                "stsmap_version": "1", "status": status,
                "input": { "path": "in.csv", "sha256": sha },
                "settings": { "concurrency": conc },
                "shard": { "index": k, "count": n },
            }),
        }
    }

    #[test]
    fn complete_matching_shards_are_ordered_by_index() {
        let runs = [
            run("b", 2, 2, "finished", "x", 1),
            run("a", 1, 2, "finished", "x", 1),
        ];
        let ok = check_shards(&runs).unwrap();
        assert_eq!(ok[0].dir, PathBuf::from("a"));
    }

    #[test]
    fn each_refusal_says_why() {
        let cases: Vec<(Vec<ShardRun>, &str)> = vec![
            (
                vec![run("a", 1, 2, "finished", "x", 1)],
                "missing shards: 2/2",
            ),
            (
                vec![
                    run("a", 1, 2, "finished", "x", 1),
                    run("b", 1, 2, "finished", "x", 1),
                ],
                "shard 1/2 given more than once",
            ),
            (
                vec![
                    run("a", 1, 2, "finished", "x", 1),
                    run("b", 2, 2, "running", "x", 1),
                ],
                "b is not finished",
            ),
            (
                vec![
                    run("a", 1, 2, "finished", "x", 1),
                    run("b", 2, 2, "finished", "y", 1),
                ],
                "differ in input",
            ),
            (
                vec![
                    run("a", 1, 2, "finished", "x", 1),
                    run("b", 2, 2, "finished", "x", 9),
                ],
                "different settings: concurrency = 9 vs 1",
            ),
            (
                vec![
                    run("a", 1, 2, "finished", "x", 1),
                    run("b", 2, 3, "finished", "x", 1),
                ],
                "shard counts differ",
            ),
        ];
        for (runs, why) in cases {
            let err = check_shards(&runs).unwrap_err();
            assert!(err.contains(why), "expected {why:?} in {err:?}");
        }
    }
}
