// Fault tests of the DNS engine against the lab DNS server (included into `dns_engine.rs`):
// every lookup must equal the lab world's truth, whatever faults the server injects.

use std::net::Ipv4Addr;

use stsmap::dns::Lookup;
use stsmap::lab::dns_server::{DnsServer, DnsServerHandle};
use stsmap::lab::faults::{FaultConfig, RateLimit, RateLimitAction};
use stsmap::lab::world::{Collect, LabAddrs, Profile, Rcode, World};

fn lab_world() -> World {
    World::new(Profile::Adversarial, 7)
}

fn lab_addrs() -> LabAddrs {
    LabAddrs {
        https_v4: Ipv4Addr::new(127, 0, 0, 44),
        https_v6: None,
    }
}

fn start_lab(faults: FaultConfig) -> DnsServerHandle {
    DnsServer::start_with_sockets(
        lab_world(),
        lab_addrs(),
        "127.0.0.1:0".parse().unwrap(),
        faults,
        2,
    )
    .unwrap()
}

/// What the scan asks per domain: MX, `_mta-sts` TXT, `_smtp._tls` TXT.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ask {
    Mx,
    Sts,
    TlsRpt,
}

/// A lookup reduced to comparable data: the outcome with MX or TXT records.
#[derive(Debug, PartialEq)]
enum Got {
    Mx(Outcome<Vec<(u16, String)>>),
    Txt(Outcome<Vec<Vec<u8>>>),
}

/// The lab world's own answer for one question.
fn truth(domain: &str, ask: Ask) -> Got {
    let (name, qtype) = match ask {
        Ask::Mx => (domain.to_string(), 15),
        Ask::Sts => (format!("_mta-sts.{domain}"), 16),
        Ask::TlsRpt => (format!("_smtp._tls.{domain}"), 16),
    };
    let mut c = Collect::default();
    let rcode = lab_world().resolve(&name, qtype, &lab_addrs(), &mut c);
    let outcome = |empty: bool| match rcode {
        Rcode::NxDomain => Outcome::NxDomain,
        Rcode::ServFail => Outcome::ServFail,
        Rcode::NoError if empty => Outcome::NoData,
        Rcode::NoError => Outcome::Answer(()),
    };
    match ask {
        Ask::Mx => Got::Mx(outcome(c.mx.is_empty()).map(|()| c.mx.clone())),
        _ => Got::Txt(outcome(c.txt.is_empty()).map(|()| c.txt_joined())),
    }
}

/// RRsets are unordered (RFC 2181 §5): a recursive resolver may shuffle them.
fn sorted(g: Got) -> Got {
    match g {
        Got::Mx(o) => Got::Mx(o.map(|mut v| {
            v.sort();
            v
        })),
        Got::Txt(o) => Got::Txt(o.map(|mut v| {
            v.sort();
            v
        })),
    }
}

async fn ask(engine: &DnsEngine, domain: &str, ask: Ask) -> (Got, u32, bool) {
    fn parts<T>(l: Lookup<T>) -> (Outcome<T>, u32, bool) {
        (l.outcome, l.attempts, l.tcp)
    }
    match ask {
        Ask::Mx => {
            let (o, a, t) = parts(engine.mx(domain).await);
            (Got::Mx(o), a, t)
        }
        Ask::Sts => {
            let (o, a, t) = parts(engine.txt(&format!("_mta-sts.{domain}")).await);
            (Got::Txt(o), a, t)
        }
        Ask::TlsRpt => {
            let (o, a, t) = parts(engine.txt(&format!("_smtp._tls.{domain}")).await);
            (Got::Txt(o), a, t)
        }
    }
}

/// Runs the scan's three lookups for `domains` lab domains concurrently and asserts each
/// equals the world's truth. Returns how many went over TCP.
async fn scan_equals_truth(engine: &DnsEngine, domains: usize) -> usize {
    scan_list_equals_truth(
        engine,
        (0..domains).map(|i| format!("site{i}.com")).collect(),
    )
    .await
}

/// Like [`scan_equals_truth`] over the given domains.
async fn scan_list_equals_truth(engine: &DnsEngine, domains: Vec<String>) -> usize {
    let mut tasks = Vec::new();
    for d in domains {
        for a in [Ask::Mx, Ask::Sts, Ask::TlsRpt] {
            let e = engine.clone();
            let d = d.clone();
            tasks.push(tokio::spawn(async move {
                let (got, attempts, tcp) = ask(&e, &d, a).await;
                (d, a, got, attempts, tcp)
            }));
        }
    }
    let mut tcp_count = 0;
    for t in tasks {
        let (d, a, got, attempts, tcp) = t.await.unwrap();
        assert_eq!(
            sorted(got),
            sorted(truth(&d, a)),
            "{d} {a:?} after {attempts} attempts"
        );
        tcp_count += usize::from(tcp);
    }
    tcp_count
}

fn lab_config(resolvers: Vec<SocketAddr>) -> EngineConfig {
    let mut c = EngineConfig::new(resolvers);
    c.timeout = Duration::from_millis(250);
    c.retry_backoff = Duration::from_millis(5);
    c.retries = 6;
    c.sockets = 4;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_with_5_percent_loss_every_lookup_still_resolves() {
    let lab = start_lab(FaultConfig {
        loss: 0.05,
        seed: 1,
        ..FaultConfig::default()
    });
    let engine = DnsEngine::new(lab_config(vec![lab.addr()])).unwrap();
    scan_equals_truth(&engine, 1500).await;
    let s = engine.stats();
    assert!(s.timed_out > 0 && s.retried > 0, "loss did not show: {s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_spoofed_replies_are_never_accepted() {
    let lab = start_lab(FaultConfig {
        spoof: 0.5,
        seed: 2,
        ..FaultConfig::default()
    });
    let engine = DnsEngine::new(lab_config(vec![lab.addr()])).unwrap();
    scan_equals_truth(&engine, 1000).await;
    let s = engine.stats();
    assert!(s.unmatched > 500, "spoofing did not show: {s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_truncated_answers_are_fetched_over_tcp_and_right() {
    let lab = start_lab(FaultConfig::default());
    // The engine's default EDNS size (1232): only the world's `ValidAmongMany` `_mta-sts` sets
    // (about 2.5 KB of TXT) are truncated over UDP; they must come whole over TCP.
    let engine = DnsEngine::new(lab_config(vec![lab.addr()])).unwrap();
    let world = lab_world();
    let domains: Vec<String> = (0..20_000)
        .map(|i| format!("site{i}.com"))
        .filter(|d| world.spec(d).sts == stsmap::lab::world::StsSpec::ValidAmongMany)
        .take(100)
        .chain((0..200).map(|i| format!("site{i}.com")))
        .collect();
    assert!(
        domains.len() > 250,
        "the lab world has too few answers over 1232 bytes (lab issue)"
    );
    let tcp = scan_list_equals_truth(&engine, domains).await;
    let s = engine.stats();
    assert!(
        tcp >= 100 && s.tcp_fallbacks as usize == tcp,
        "{tcp} over TCP: {s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_servfail_on_one_of_two_resolvers_the_other_answers() {
    let bad = start_lab(FaultConfig {
        servfail: 1.0,
        ..FaultConfig::default()
    });
    let good = start_lab(FaultConfig::default());
    let engine = DnsEngine::new(lab_config(vec![bad.addr(), good.addr()])).unwrap();
    scan_equals_truth(&engine, 1000).await;
    let s = engine.stats();
    assert!(
        s.resolvers[0].failed > 0 && s.resolvers[0].backoffs > 0,
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_dead_resolver_is_backed_off_and_the_run_goes_on() {
    let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let good = start_lab(FaultConfig::default());
    let mut c = lab_config(vec![dead.local_addr().unwrap(), good.addr()]);
    c.health.backoff_min = Duration::from_secs(30);
    let engine = DnsEngine::new(c).unwrap();
    // In waves, as a scan's window moves on: queries already out when the resolver is
    // backed off still time out (and are retried), later waves avoid it.
    for wave in 0..10 {
        let domains = (wave * 100..wave * 100 + 100)
            .map(|i| format!("site{i}.com"))
            .collect();
        scan_list_equals_truth(&engine, domains).await;
    }
    let s = engine.stats();
    let d = &s.resolvers[0];
    assert!(d.backed_off && d.backoffs >= 1, "{s}");
    assert!(
        d.sent < s.resolvers[1].sent / 4,
        "dead resolver kept its share: {s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_rate_limit_refusing_past_n_qps_is_never_hit() {
    let lab = start_lab(FaultConfig {
        rate_limit: Some(RateLimit {
            qps: 400,
            action: RateLimitAction::Refused,
        }),
        ..FaultConfig::default()
    });
    let mut c = lab_config(vec![lab.addr()]);
    c.qps_per_resolver = std::num::NonZeroU32::new(360);
    let engine = DnsEngine::new(c).unwrap();
    scan_equals_truth(&engine, 300).await;
    let s = engine.stats();
    assert_eq!(s.refused, 0, "{s}");
    assert!(s.sent >= 900, "{s}");
}

/// Where Debian installs unbound. CI installs it (`.ci/run`); without it this test fails
/// rather than skipping, so a CI image missing it cannot pass silently.
const UNBOUND: &str = "/usr/sbin/unbound";

/// A running `unbound -d`, killed on drop.
struct Unbound {
    child: std::process::Child,
    dir: std::path::PathBuf,
    addr: SocketAddr,
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free loopback port for both UDP and TCP (small race, fine for a test).
fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Starts unbound on a loopback port as a recursive resolver whose root is the lab server.
fn start_unbound(lab: SocketAddr) -> Unbound {
    assert!(
        std::path::Path::new(UNBOUND).exists(),
        "{UNBOUND} not found: this test needs the Debian package `unbound` (CI installs it; \
         locally: apt-get install unbound)"
    );
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("stsmap-unbound-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = format!(
        "server:\n  interface: 127.0.0.1@{port}\n  port: {port}\n  do-ip6: no\n  \
         do-not-query-localhost: no\n  chroot: \"\"\n  username: \"\"\n  directory: \"{dir}\"\n  \
         pidfile: \"{dir}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 0\n  \
         module-config: \"iterator\"\n  qname-minimisation: no\n  harden-referral-path: no\n  \
         access-control: 127.0.0.0/8 allow\n  num-threads: 1\n\
         remote-control:\n  control-enable: no\n\
         stub-zone:\n  name: \".\"\n  stub-addr: {ip}@{lab_port}\n",
        dir = dir.display(),
        ip = lab.ip(),
        lab_port = lab.port(),
    );
    let path = dir.join("unbound.conf");
    std::fs::write(&path, conf).unwrap();
    let child = std::process::Command::new(UNBOUND)
        .arg("-d")
        .arg("-c")
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {UNBOUND}: {e}"));
    Unbound {
        child,
        dir,
        addr: ([127, 0, 0, 1], port).into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_through_unbound_recursing_to_the_lab_equal_the_truth() {
    let lab = start_lab(FaultConfig::default());
    let mut unbound = start_unbound(lab.addr());
    let mut c = lab_config(vec![unbound.addr]);
    c.timeout = Duration::from_millis(500);
    c.retries = 0;
    let engine = DnsEngine::new(c).unwrap();
    // Wait (bounded) for unbound to answer at all.
    let mut up = false;
    for _ in 0..40 {
        if let Some(status) = unbound.child.try_wait().unwrap() {
            panic!("unbound exited early: {status}");
        }
        if engine.mx("site0.com").await.outcome != Outcome::Timeout {
            up = true;
            break;
        }
    }
    assert!(up, "unbound on {} never answered", unbound.addr);
    let mut c = lab_config(vec![unbound.addr]);
    c.timeout = Duration::from_secs(1);
    let engine = DnsEngine::new(c).unwrap();
    scan_equals_truth(&engine, 300).await;
}
