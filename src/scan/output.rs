//! The run directory: results.csv, summary.json, summary.md, manifest.json.
//!
//! Summaries and the manifest are written to a temporary file and renamed, so a
//! reader (or a crash) never sees half of one.

use crate::report::{RunStats, Summary};
use serde_json::Value;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// File names inside a run directory.
pub const RESULTS: &str = "results.csv";
pub const SUMMARY_JSON: &str = "summary.json";
pub const SUMMARY_MD: &str = "summary.md";
pub const MANIFEST: &str = "manifest.json";

/// Writes `bytes` to `dir/name` atomically (temporary file, fsync, rename).
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(name))
}

/// Writes summary.json and summary.md.
pub fn write_summaries(dir: &Path, summary: &Summary, stats: &RunStats) -> io::Result<()> {
    let mut json = serde_json::to_vec_pretty(&summary.to_json(stats)).map_err(io::Error::other)?;
    json.push(b'\n');
    write_atomic(dir, SUMMARY_JSON, &json)?;
    write_atomic(dir, SUMMARY_MD, summary.to_markdown(stats).as_bytes())
}

/// Writes manifest.json.
pub fn write_manifest(dir: &Path, manifest: &Value) -> io::Result<()> {
    let mut json = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
    json.push(b'\n');
    write_atomic(dir, MANIFEST, &json)
}

/// Path of the results file in `dir`.
pub fn results_path(dir: &Path) -> PathBuf {
    dir.join(RESULTS)
}

/// SHA-256 of a file, as lowercase hex, read in chunks.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = fs::File::open(path)?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = io::Read::read(&mut f, &mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// `t` as an RFC 3339 UTC timestamp with second precision.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) — H. Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_256_000 + 3_723);
        assert_eq!(rfc3339(t), "2026-12-03T01:02:03Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn atomic_write_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("stsmap-out-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        write_atomic(&dir, "x.json", b"{}").unwrap();
        assert_eq!(fs::read(dir.join("x.json")).unwrap(), b"{}");
        assert!(!dir.join(".x.json.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_hash_is_sha256() {
        let p = std::env::temp_dir().join(format!("stsmap-hash-{}", std::process::id()));
        fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        fs::remove_file(&p).unwrap();
    }
}
