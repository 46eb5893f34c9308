//! The world in a network namespace the test creates, with `tc netem` loss and delay on it.
//!
//! The lab serves loopback only (it refuses other binds), so the lab server and the scanner
//! both run inside the namespace and netem shapes the namespace's own `lo`: every packet
//! between them is delayed and some are lost, and nothing leaves the namespace. Needs root
//! (or CAP_NET_ADMIN + CAP_SYS_ADMIN); otherwise the test says plainly that it did not run.

use crate::reliab_faults::failed_rows;
use crate::scan_lab::{records, sample, tmp_dir, truth_csv};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use stsmap::lab::world::{Profile, World};

const DOMAINS: usize = 2000;
const SEED: u64 = 6;
const PATIENCE: Duration = Duration::from_secs(300);

/// A namespace that is deleted (with everything in it) when dropped.
struct Netns(String);

impl Netns {
    fn create(name: &str) -> Result<Netns, String> {
        let out = Command::new("ip")
            .args(["netns", "add", name])
            .output()
            .map_err(|e| format!("running ip: {e} (install iproute2)"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Netns(name.to_string()))
    }

    fn exec(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).args(args);
        c
    }

    fn run(&self, args: &[&str]) {
        let out = self.exec(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Kills the lab server child when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_output(mut child: Child) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("scan in the namespace did not finish");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

fn wait_for_file(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < PATIENCE,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn scan_in_a_network_namespace_with_netem_loss_and_delay_agrees_with_truth() {
    let name = format!("stsmap-test-{}", std::process::id());
    let ns = match Netns::create(&name) {
        Ok(ns) => ns,
        Err(why) => {
            eprintln!("NOT RUN: netns test: cannot create a network namespace ({why}); needs root or CAP_NET_ADMIN");
            return;
        }
    };
    ns.run(&["ip", "link", "set", "lo", "up"]);
    // 20 ms ± 5 ms each way and 3% of packets lost, UDP and TCP alike.
    let netem = ns
        .exec(&[
            "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "20ms", "5ms", "loss",
            "3%",
        ])
        .output()
        .unwrap();
    // Some kernels (containers, microVMs) lack sch_netem: then the lab server's own knobs
    // inject the loss and delay, still inside the namespace, and the test says so.
    let mut faults: Vec<&str> = Vec::new();
    if !netem.status.success() {
        eprintln!(
            "netns test: tc netem is unavailable here ({}); the lab server injects 3% loss and \
             15-25 ms latency itself instead",
            String::from_utf8_lossy(&netem.stderr).trim()
        );
        faults = vec![
            "--loss",
            "0.03",
            "--latency",
            "15ms..25ms",
            "--fault-seed",
            "3",
        ];
    }

    let dir = tmp_dir("netns");
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.csv");
    let list = std::fs::read_to_string(sample()).unwrap();
    let head: Vec<&str> = list.lines().take(DOMAINS).collect();
    std::fs::write(&input, head.join("\n") + "\n").unwrap();
    let ca = dir.join("ca.pem");
    let bin = env!("CARGO_BIN_EXE_stsmap");
    let seed = SEED.to_string();
    let ca_s = ca.to_string_lossy().to_string();
    let _lab = Killed(
        ns.exec(&[
            bin,
            "lab",
            "serve",
            "--dns",
            "127.0.0.1:5353",
            "--https",
            "127.0.0.1:8443",
            "--ca-out",
            &ca_s,
            "--profile",
            "realistic",
            "--seed",
            &seed,
        ])
        .args(&faults)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    wait_for_file(&ca);
    std::thread::sleep(Duration::from_millis(500));
    let out = dir.join("run");
    let (input_s, out_s) = (
        input.to_string_lossy().to_string(),
        out.to_string_lossy().to_string(),
    );
    let scan = ns
        .exec(&[
            bin,
            "scan",
            "--quiet",
            "--input",
            &input_s,
            "--out",
            &out_s,
            "--resolver",
            "127.0.0.1:5353",
            "--https-port",
            "8443",
            "--ca-file",
            &ca_s,
            "--retries",
            "5",
            "--dns-timeout",
            "1",
            "--timeout",
            "8",
            "--concurrency",
            "200",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = wait_output(scan);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let got = records(&std::fs::read(out.join("results.csv")).unwrap());
    let want = records(&truth_csv(&World::new(Profile::Realistic, SEED), &input_s));
    let differing = failed_rows(&got, &want);
    eprintln!(
        "netns scan: {differing} of {} rows differ from the truth, all failed lookups",
        want.len()
    );
    assert!(differing * 1000 <= want.len(), "{differing} rows differ");
    let _ = std::fs::remove_dir_all(&dir);
}
