//! Crash safety of the real binary: `kill -9` partway and `--resume` gives the rows of an
//! uninterrupted run (the lab truth, which `scan_lab` proves an uninterrupted scan equals), each
//! input line exactly once; SIGTERM stops with a consistent partial run and the resume command.

use crate::scan_lab::{assert_results_equal_truth, records, sample, tmp_dir};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use stsmap::lab::world::{Profile, World};
use stsmap::lab::{Lab, LabConfig};

const PROFILE: Profile = Profile::Adversarial;
const SEED: u64 = 11;
/// Bounds every wait for the child (never asserted as a duration).
const PATIENCE: Duration = Duration::from_secs(300);

/// `stsmap scan` aimed at `lab`, writing into `out`; low concurrency so a kill lands partway.
pub fn scan_command(lab: &Lab, ca: &Path, input: &str, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stsmap"));
    c.args(["scan", "--quiet", "--input", input, "--out"])
        .arg(out)
        .args(["--resolver", &lab.dns_addr().to_string()])
        .args(["--https-port", &lab.https_addr().port().to_string()])
        .arg("--ca-file")
        .arg(ca)
        .args([
            "--timeout",
            "2",
            "--dns-timeout",
            "1.5",
            "--concurrency",
            "100",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Writes the lab's CA to `dir/ca.pem`.
pub fn write_ca(lab: &Lab, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, lab.ca_pem()).unwrap();
    ca
}

fn complete_rows(out: &Path) -> usize {
    std::fs::read(out.join("results.csv"))
        .map(|b| b.iter().filter(|&&c| c == b'\n').count().saturating_sub(1))
        .unwrap_or(0)
}

/// Waits (bounded) until results.csv holds more than `rows` complete rows; panics if the
/// child ends first.
async fn wait_for_rows(child: &mut Child, out: &Path, rows: usize) {
    let start = Instant::now();
    while complete_rows(out) <= rows {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("scan ended ({status}) before {rows} rows were written");
        }
        assert!(start.elapsed() < PATIENCE, "no progress past {rows} rows");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (bounded) for the child to exit and returns its output.
pub async fn finish(mut child: Child) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > PATIENCE {
            child.kill().unwrap();
            panic!("scan did not finish");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.wait_with_output().unwrap()
}

fn assert_equals_truth(out: &Path, input: &str) {
    assert_results_equal_truth(out, &World::new(PROFILE, SEED), input);
}

/// `stsmap scan ... --resume` into `out`, run to its end.
pub async fn resume(lab: &Lab, ca: &Path, input: &str, out: &Path) -> Output {
    finish(
        scan_command(lab, ca, input, out)
            .arg("--resume")
            .spawn()
            .unwrap(),
    )
    .await
}

/// Sends SIGTERM to the child, as systemd or Ctrl-C would.
fn sigterm(child: &Child) {
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
}

/// Stops the lab and removes the run and CA directories a test made.
async fn clean_up(lab: Lab, out: &Path, ca: &Path) {
    lab.shutdown().await;
    std::fs::remove_dir_all(out).unwrap();
    std::fs::remove_dir_all(ca.parent().unwrap()).unwrap();
}

fn json(path: PathBuf) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_twice_then_resume_equals_an_uninterrupted_run_and_a_finished_run_is_not_rescanned()
{
    let lab = Lab::start(LabConfig::loopback(PROFILE, SEED)).unwrap();
    let out = tmp_dir("kill9");
    let ca = write_ca(&lab, &tmp_dir("kill9-ca"));
    let input = sample();

    let mut first = scan_command(&lab, &ca, &input, &out).spawn().unwrap();
    wait_for_rows(&mut first, &out, 2000).await;
    first.kill().unwrap(); // SIGKILL: no flush, no summary, manifest stays "running"
    first.wait().unwrap();
    let after_first = complete_rows(&out);

    let mut second = scan_command(&lab, &ca, &input, &out)
        .arg("--resume")
        .spawn()
        .unwrap();
    wait_for_rows(&mut second, &out, after_first + 2000).await;
    second.kill().unwrap();
    second.wait().unwrap();

    let third = resume(&lab, &ca, &input, &out).await;
    assert!(
        third.status.success(),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    assert_equals_truth(&out, &input);
    let rows = records(&std::fs::read(out.join("results.csv")).unwrap()).len();
    let summary = json(out.join("summary.json"));
    assert_eq!(
        summary["domains"], rows as u64,
        "summary counts every row once"
    );
    assert_eq!(json(out.join("manifest.json"))["status"], "finished");

    // A finished run is not scanned again: the results are untouched.
    let before = std::fs::read(out.join("results.csv")).unwrap();
    let again = resume(&lab, &ca, &input, &out).await;
    assert_eq!(std::fs::read(out.join("results.csv")).unwrap(), before);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("finished"),
        "{again:?}"
    );
    clean_up(lab, &out, &ca).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_with_a_consistent_partial_run_and_prints_the_resume_command() {
    let lab = Lab::start(LabConfig::loopback(PROFILE, SEED)).unwrap();
    let out = tmp_dir("sigterm");
    let ca = write_ca(&lab, &tmp_dir("sigterm-ca"));
    let input = sample();
    let mut child = scan_command(&lab, &ca, &input, &out).spawn().unwrap();
    wait_for_rows(&mut child, &out, 1000).await;
    sigterm(&child);
    let stopped = finish(child).await;
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    let manifest = json(out.join("manifest.json"));
    assert_eq!(manifest["status"], "interrupted");
    let bytes = std::fs::read(out.join("results.csv")).unwrap();
    assert!(bytes.ends_with(b"\n"), "no half row after a clean stop");
    let rows = records(&bytes).len();
    assert!(rows < 20_000, "stopped partway: {rows} rows");
    assert_eq!(json(out.join("summary.json"))["domains"], rows as u64);

    let resumed = resume(&lab, &ca, &input, &out).await;
    assert!(resumed.status.success());
    assert_equals_truth(&out, &input);
    clean_up(lab, &out, &ca).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_on_a_compressed_run_says_how_to_start_again_not_to_resume() {
    let lab = Lab::start(LabConfig::loopback(PROFILE, SEED)).unwrap();
    let out = tmp_dir("sigterm-gz");
    let ca = write_ca(&lab, &tmp_dir("sigterm-gz-ca"));
    let mut child = scan_command(&lab, &ca, &sample(), &out)
        .args(["--compress", "gzip"])
        .spawn()
        .unwrap();
    // Compressed rows cannot be counted while written: wait for the first flushed block.
    let start = Instant::now();
    let gz = out.join("results.csv.gz");
    while std::fs::metadata(&gz).map_or(0, |m| m.len()) < 4096 {
        assert!(child.try_wait().unwrap().is_none(), "scan ended too early");
        assert!(start.elapsed() < PATIENCE, "no compressed rows written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sigterm(&child);
    let stopped = finish(child).await;
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("cannot be continued") && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("--resume"),
        "resume refuses compressed runs: {stderr}"
    );
    clean_up(lab, &out, &ca).await;
}
