//! Preparing the run directory: a fresh run, a forced restart, or a resume.
//!
//! Rows are written in input order, one physical line each (control characters
//! are escaped), so the rows of an interrupted run are exactly a prefix of the
//! input: resuming keeps every complete line, cuts a half-written last line, and
//! skips that many input lines. Domains that were in flight were never written
//! and are scanned again. Resume counts completed work, not dispatched work.

use super::output;
use super::results_file;
use super::run::ScanConfig;
use crate::report::Summary;
use crate::row::{ResultRow, COLUMNS};
use anyhow::{bail, Context};
use serde_json::Value;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

/// What an earlier run left in the directory.
#[derive(Debug, Default)]
pub struct Resumed {
    /// Complete rows kept from the earlier run.
    pub rows: u64,
    /// Their summary.
    pub summary: Summary,
    /// The earlier manifest, when resuming.
    pub manifest: Option<Value>,
    /// The earlier run had finished: nothing to do.
    pub finished: bool,
}

fn read_manifest(dir: &Path) -> Option<Value> {
    let bytes = fs::read(dir.join(output::MANIFEST)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Makes `dir` ready for the run described by `config`.
pub fn prepare(
    dir: &Path,
    config: &ScanConfig,
    input_hash: Option<&str>,
) -> anyhow::Result<Resumed> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let Some((results, compression)) = results_file::find(dir) else {
        return Ok(Resumed {
            summary: Summary::new(),
            ..Default::default()
        });
    };
    let manifest = read_manifest(dir);
    let status = manifest
        .as_ref()
        .and_then(|m| m.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    if config.force {
        for name in [
            results_file::Compression::Gzip.file_name(),
            results_file::Compression::Zstd.file_name(),
            output::RESULTS,
            output::SUMMARY_JSON,
            output::SUMMARY_MD,
            output::MANIFEST,
        ] {
            let _ = fs::remove_file(dir.join(name));
        }
        return Ok(Resumed {
            summary: Summary::new(),
            ..Default::default()
        });
    }
    if !config.resume {
        bail!(
            "{} already holds a run ({status}); add --resume to continue it or --force to replace it",
            dir.display()
        );
    }
    if compression != config.compress {
        bail!(
            "cannot resume {}: it holds {}, this run would write {}",
            dir.display(),
            compression.file_name(),
            config.compress.file_name()
        );
    }
    if compression != results_file::Compression::None && status != "finished" {
        bail!(
            "cannot resume {}: a compressed results file cannot be continued (scan again with --force)",
            dir.display()
        );
    }
    if status == "finished" {
        return Ok(Resumed {
            finished: true,
            manifest,
            ..Default::default()
        });
    }
    let earlier_hash = manifest
        .as_ref()
        .and_then(|m| m.pointer("/input/sha256"))
        .and_then(Value::as_str);
    if let (Some(a), Some(b)) = (earlier_hash, input_hash) {
        if a != b {
            bail!(
                "cannot resume {}: it was started on a different input (sha256 {a}, now {b})",
                dir.display()
            );
        }
    }
    let (rows, summary) = keep_complete_rows(&results)?;
    Ok(Resumed {
        rows,
        summary,
        manifest,
        finished: false,
    })
}

/// Truncates `path` after its last complete line and reads those rows back.
fn keep_complete_rows(path: &Path) -> anyhow::Result<(u64, Summary)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut reader = BufReader::new(&file);
    let mut line = Vec::new();
    let mut kept: u64 = 0;
    let mut rows: u64 = 0;
    let mut summary = Summary::new();
    let header = COLUMNS.join(",");
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        if kept == 0 {
            let text = String::from_utf8_lossy(&line);
            if text.trim_end() != header {
                bail!(
                    "{} does not start with the results.csv header",
                    path.display()
                );
            }
        } else {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_slice());
            let record = r
                .records()
                .next()
                .transpose()
                .with_context(|| format!("{} line {}", path.display(), rows + 2))?
                .with_context(|| format!("{} line {} is empty", path.display(), rows + 2))?;
            let cells: Vec<&str> = record.iter().collect();
            let row = ResultRow::from_cells(&cells)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("{} line {}", path.display(), rows + 2))?;
            summary.add(&row);
            rows += 1;
        }
        kept += n as u64;
    }
    drop(reader);
    file.set_len(kept)?;
    let mut file = file;
    file.seek(SeekFrom::End(0))?;
    file.sync_all()?;
    if kept == 0 {
        // Not even a header: start the file again.
        fs::remove_file(path)?;
    }
    Ok((rows, summary))
}
