//! The world across a veth link between two network namespaces the test creates, with `tc netem`
//! loss and delay on the link.
//!
//! The lab server runs in one namespace on the link's address (the lab binds non-loopback
//! addresses only inside a namespace made with `ip netns`), the scanner in the other, and every
//! DNS query and policy fetch crosses the veth pair; nothing leaves the two namespaces, which
//! are deleted after. Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN); otherwise the test says
//! plainly that it did not run. Where the kernel has no `sch_netem`, the lab server injects the
//! loss and delay itself and the test says so.

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

/// Waits (bounded) for the lab to write its CA file; panics with the lab's stderr if it exits.
fn wait_for_lab(lab: &mut Killed, ca: &Path, log: &Path) {
    let start = Instant::now();
    while !ca.exists() {
        if let Some(status) = lab.0.try_wait().unwrap() {
            panic!(
                "lab serve exited ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{} never appeared",
            ca.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Packets that crossed `dev` into `ns` (from `/sys`, as the namespace sees it).
fn rx_packets(ns: &Netns, dev: &str) -> u64 {
    let out = ns
        .exec(&[
            "cat",
            &format!("/sys/class/net/{dev}/statistics/rx_packets"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn lab_serve_refuses_a_non_loopback_address_in_the_host_namespace() {
    if stsmap::lab::may_bind("192.0.2.1".parse().unwrap()) {
        eprintln!("NOT RUN: this test process already runs in a network namespace of its own");
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_stsmap"))
        .args(["lab", "serve", "--dns", "192.0.2.1:5353"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("only loopback") && stderr.contains("192.0.2.1"),
        "{stderr}"
    );
}

#[test]
fn scan_across_a_veth_link_with_netem_loss_and_delay_agrees_with_truth() {
    let name = format!("stsmap-test-{}", std::process::id());
    let created = Netns::create(&format!("{name}-scan"))
        .and_then(|scan| Ok((scan, Netns::create(&format!("{name}-lab"))?)));
    let (scan_ns, lab_ns) = match created {
        Ok(pair) => pair,
        Err(why) => {
            eprintln!("NOT RUN: netns test: cannot create a network namespace ({why}); needs root or CAP_NET_ADMIN");
            return;
        }
    };
    // One veth pair, one end in each namespace (the names must be unique on the host).
    let id = std::process::id() % 100_000;
    let (scan_dev, lab_dev) = (format!("stss{id}"), format!("stsl{id}"));
    let (scan_ip, lab_ip) = ("10.253.0.1", "10.253.0.2");
    let link = Command::new("ip")
        .args([
            "link", "add", &scan_dev, "netns", &scan_ns.0, "type", "veth",
        ])
        .args(["peer", "name", &lab_dev, "netns", &lab_ns.0])
        .output()
        .unwrap();
    assert!(
        link.status.success(),
        "ip link add veth: {}",
        String::from_utf8_lossy(&link.stderr)
    );
    for (ns, dev, ip) in [(&scan_ns, &scan_dev, scan_ip), (&lab_ns, &lab_dev, lab_ip)] {
        ns.run(&["ip", "link", "set", "lo", "up"]);
        ns.run(&["ip", "addr", "add", &format!("{ip}/30"), "dev", dev]);
        ns.run(&["ip", "link", "set", dev, "up"]);
    }
    // 10 ms ± 3 ms and 1.5% loss on each end: ~20 ms and ~3% per round trip, UDP and TCP alike.
    let mut netem_ok = true;
    for (ns, dev) in [(&scan_ns, &scan_dev), (&lab_ns, &lab_dev)] {
        let netem = ns
            .exec(&["tc", "qdisc", "add", "dev", dev, "root", "netem"])
            .args(["delay", "10ms", "3ms", "loss", "1.5%"])
            .output()
            .unwrap();
        if !netem.status.success() {
            netem_ok = false;
            eprintln!(
                "netns test: tc netem is unavailable here ({}); the lab server injects 3% loss \
                 and 15-25 ms latency itself instead, on the same veth link",
                String::from_utf8_lossy(&netem.stderr).trim()
            );
            break;
        }
    }
    let faults: Vec<&str> = if netem_ok {
        Vec::new()
    } else {
        vec![
            "--loss",
            "0.03",
            "--latency",
            "15ms..25ms",
            "--fault-seed",
            "3",
        ]
    };

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
    let (dns_addr, https_addr) = (format!("{lab_ip}:5353"), format!("{lab_ip}:8443"));
    let lab_log = dir.join("lab.log");
    let mut lab = Killed(
        lab_ns
            .exec(&[
                bin,
                "lab",
                "serve",
                "--dns",
                &dns_addr,
                "--https",
                &https_addr,
                "--ca-out",
                &ca_s,
                "--profile",
                "realistic",
                "--seed",
                &seed,
            ])
            .args(&faults)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&lab_log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for_lab(&mut lab, &ca, &lab_log);
    std::thread::sleep(Duration::from_millis(500));
    let out = dir.join("run");
    let (input_s, out_s) = (
        input.to_string_lossy().to_string(),
        out.to_string_lossy().to_string(),
    );
    let scan = scan_ns
        .exec(&[
            bin,
            "scan",
            "--quiet",
            "--input",
            &input_s,
            "--out",
            &out_s,
            "--resolver",
            &dns_addr,
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
    // Every query and fetch crossed the link (3 lookups per domain at least).
    let crossed = rx_packets(&lab_ns, &lab_dev);
    assert!(
        crossed > 3 * DOMAINS as u64,
        "{crossed} packets reached the lab over the veth"
    );
    let differing = failed_rows(&got, &want);
    eprintln!(
        "netns scan over veth ({crossed} packets to the lab): {differing} of {} rows differ from the truth, all failed lookups",
        want.len()
    );
    assert!(differing * 1000 <= want.len(), "{differing} rows differ");
    let _ = std::fs::remove_dir_all(&dir);
}
