//! `stsmap lab`: the simulated world's zone export and DNS server.
use anyhow::{bail, Context};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;
use stsmap::lab::dns_server::DnsServer;
use stsmap::lab::faults::{self, FaultConfig, RateLimit, RateLimitAction};
use stsmap::lab::world::{LabAddrs, Profile, World};
use stsmap::lab::zone::{self, ZoneExporter};

#[derive(clap::Subcommand)]
pub enum LabCommand {
    /// Write the DNS side of the world as one RFC 1035 zone file with origin `.`.
    Zone(ZoneArgs),
    /// Run only the lab's authoritative DNS server (UDP and TCP) until SIGINT/SIGTERM.
    ServeDns(ServeDnsArgs),
}

pub fn run(c: LabCommand) -> anyhow::Result<ExitCode> {
    match c {
        LabCommand::Zone(a) => zone_cmd(a),
        LabCommand::ServeDns(a) => serve_dns_cmd(a),
    }
}

/// Which world: profile and seed.
#[derive(clap::Args, Debug, Clone)]
pub struct WorldArgs {
    /// How domains are spread over the cases.
    #[arg(long, value_enum, default_value = "realistic")]
    profile: ProfileArg,
    /// Seed of the world's hash: same seed, same world.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Address policy hosts resolve to (where the lab's HTTPS server listens).
    #[arg(long, default_value = "127.0.0.1")]
    https_ip: Ipv4Addr,
    /// IPv6 address policy hosts resolve to, if any.
    #[arg(long)]
    https_ip6: Option<Ipv6Addr>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum ProfileArg {
    Realistic,
    Adversarial,
}

impl WorldArgs {
    fn world(&self) -> World {
        let profile = match self.profile {
            ProfileArg::Realistic => Profile::Realistic,
            ProfileArg::Adversarial => Profile::Adversarial,
        };
        World::new(profile, self.seed)
    }

    fn addrs(&self) -> LabAddrs {
        LabAddrs {
            https_v4: self.https_ip,
            https_v6: self.https_ip6,
        }
    }
}

#[derive(clap::Args)]
pub struct ZoneArgs {
    /// Domain list: `rank,domain` lines or one domain per line.
    #[arg(long)]
    input: String,
    #[command(flatten)]
    world: WorldArgs,
    /// Output file (default: stdout).
    #[arg(long)]
    out: Option<String>,
}

fn zone_cmd(a: ZoneArgs) -> anyhow::Result<ExitCode> {
    let domains = read_domains(&a.input)?;
    let world = a.world.world();
    let mut out: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("creating {p}"))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    zone::write_apex(&mut out)?;
    let mut ex = ZoneExporter::new(&world, a.world.addrs());
    for d in &domains {
        ex.export_domain(d, &mut out)?;
    }
    ex.export_lab(&mut out)?;
    out.flush()?;
    eprintln!(
        "zone: {} domains, {} rrsets, {} records",
        domains.len(),
        ex.rrsets,
        ex.records_written
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads a domain list: the last comma-separated field of each line, lowercased, without a
/// trailing dot; blank lines, a `domain` header and names that are not DNS names are skipped.
fn read_domains(path: &str) -> anyhow::Result<Vec<String>> {
    let f = File::open(path).with_context(|| format!("opening {path}"))?;
    let mut out = Vec::new();
    for line in BufReader::new(f).split(b'\n') {
        let line = line?;
        let line = String::from_utf8_lossy(&line);
        let field = line.trim().rsplit(',').next().unwrap_or("").trim();
        let d = field.trim_end_matches('.').to_ascii_lowercase();
        let ok_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if d.len() <= 253 && d.contains('.') && d.split('.').all(ok_label) {
            out.push(d);
        }
    }
    Ok(out)
}

#[derive(clap::Args)]
pub struct ServeDnsArgs {
    /// Loopback address for UDP and TCP, e.g. 127.0.0.1:5353.
    #[arg(long)]
    dns: SocketAddr,
    #[command(flatten)]
    world: WorldArgs,
    /// UDP sockets (SO_REUSEPORT, one thread each); default: one per CPU.
    #[arg(long)]
    udp_sockets: Option<usize>,
    /// Reply latency range, e.g. `20ms..200ms`.
    #[arg(long, value_parser = faults::parse_latency)]
    latency: Option<(Duration, Duration)>,
    /// Share of UDP queries dropped.
    #[arg(long, value_parser = faults::parse_rate, default_value = "0")]
    loss: f64,
    /// Share of queries answered SERVFAIL.
    #[arg(long, value_parser = faults::parse_rate, default_value = "0")]
    servfail: f64,
    /// Queries per second allowed per source IP.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// What a query past the rate limit gets.
    #[arg(long, value_enum, default_value = "refused")]
    rate_limit_action: RateLimitArg,
    /// Share of queries answered by a truncated, unparseable reply.
    #[arg(long, value_parser = faults::parse_rate, default_value = "0")]
    malformed: f64,
    /// Share of UDP queries preceded by a spoofed reply (wrong id or question).
    #[arg(long, value_parser = faults::parse_rate, default_value = "0")]
    spoof: f64,
    /// Seed of the fault draws.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum RateLimitArg {
    Refused,
    Drop,
}

fn serve_dns_cmd(a: ServeDnsArgs) -> anyhow::Result<ExitCode> {
    if !a.dns.ip().is_loopback() {
        bail!("the lab binds only loopback addresses, not {}", a.dns.ip());
    }
    let faults = FaultConfig {
        latency: a.latency,
        loss: a.loss,
        servfail: a.servfail,
        rate_limit: a.rate_limit.map(|qps| RateLimit {
            qps,
            action: match a.rate_limit_action {
                RateLimitArg::Refused => RateLimitAction::Refused,
                RateLimitArg::Drop => RateLimitAction::Drop,
            },
        }),
        malformed: a.malformed,
        spoof: a.spoof,
        seed: a.fault_seed,
    };
    let world = a.world.world();
    let server = match a.udp_sockets {
        Some(n) => DnsServer::start_with_sockets(world, a.world.addrs(), a.dns, faults, n),
        None => DnsServer::start(world, a.world.addrs(), a.dns, faults),
    }
    .with_context(|| format!("binding {}", a.dns))?;
    println!("dns listening on udp+tcp {}", server.addr());
    io::stdout().flush()?;
    wait_for_signal()?;
    server.shutdown();
    Ok(ExitCode::SUCCESS)
}

/// Blocks until SIGINT or SIGTERM.
fn wait_for_signal() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    })?;
    Ok(())
}
