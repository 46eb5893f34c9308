//! `stsmap lab`: the simulated mail-security world: ground truth, zone export, DNS server.
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};

use stsmap::lab::dns_server::DnsServer;
use stsmap::lab::faults::{self, FaultConfig, RateLimit, RateLimitAction};
use stsmap::lab::world::{LabAddrs, Profile, World, DEFAULT_SEED};
use stsmap::lab::zone::{self, ZoneExporter};
use stsmap::row::COLUMNS;

#[derive(clap::Subcommand)]
pub enum LabCommand {
    /// Write, for every input domain, the results.csv row a correct scanner must produce.
    Truth(TruthArgs),
    /// Write the DNS side of the world as one RFC 1035 zone file with origin `.`.
    Zone(ZoneArgs),
    /// Run only the lab's authoritative DNS server (UDP and TCP) until SIGINT/SIGTERM.
    ServeDns(ServeDnsArgs),
}

#[derive(clap::Args)]
pub struct TruthArgs {
    /// Domain list: `rank,domain` CSV or one domain per line (`-` for stdin).
    #[arg(long)]
    input: PathBuf,
    /// realistic | adversarial
    #[arg(long, default_value = "realistic")]
    profile: Profile,
    /// The world's seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Output CSV file (`-` for stdout).
    #[arg(long, default_value = "-")]
    out: PathBuf,
}

pub fn run(c: LabCommand) -> anyhow::Result<ExitCode> {
    match c {
        LabCommand::Truth(a) => truth(a),
        LabCommand::Zone(a) => zone_cmd(a),
        LabCommand::ServeDns(a) => serve_dns_cmd(a),
    }
}

fn open_in(path: &PathBuf) -> anyhow::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::new(io::stdin())));
    }
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Box::new(BufReader::new(f)))
}

fn open_out(path: &PathBuf) -> anyhow::Result<Box<dyn Write>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufWriter::new(io::stdout().lock())));
    }
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(Box::new(BufWriter::new(f)))
}

/// A deliberately simple list reader, to be swapped for the `input` module's
/// normaliser: `rank,domain` or one domain per line; blank lines and a header
/// (a first line whose rank is not a number) are skipped; the domain is trimmed,
/// lowercased and loses a trailing dot. Without a rank column, rank = line number.
fn simple_list_entry(line_no: u64, line: &str) -> Option<(u64, String)> {
    let line = line.trim();
    let (rank, domain) = match line.split_once(',') {
        Some((r, d)) => (r.trim().parse().ok()?, d),
        None => (line_no, line),
    };
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() || (line_no == 1 && domain == "domain") {
        return None;
    }
    Some((rank, domain))
}

fn truth(a: TruthArgs) -> anyhow::Result<ExitCode> {
    let world = World::new(a.profile, a.seed);
    let input = open_in(&a.input)?;
    let mut out = csv::Writer::from_writer(open_out(&a.out)?);
    out.write_record(COLUMNS)?;
    for (i, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", a.input.display()))?;
        if let Some((rank, domain)) = simple_list_entry(i as u64 + 1, &line) {
            out.write_record(world.truth(rank, &domain).to_cells())?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Which world: profile and seed.
#[derive(clap::Args, Debug, Clone)]
pub struct WorldArgs {
    /// realistic | adversarial
    #[arg(long, default_value = "realistic")]
    profile: Profile,
    /// The world's seed: same seed, same world.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Address policy hosts resolve to (where the lab's HTTPS server listens).
    #[arg(long, default_value = "127.0.0.1")]
    https_ip: Ipv4Addr,
    /// IPv6 address policy hosts resolve to, if any.
    #[arg(long)]
    https_ip6: Option<Ipv6Addr>,
}

impl WorldArgs {
    fn world(&self) -> World {
        World::new(self.profile, self.seed)
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
    /// Domain list: `rank,domain` CSV or one domain per line (`-` for stdin).
    #[arg(long)]
    input: PathBuf,
    #[command(flatten)]
    world: WorldArgs,
    /// Output file (default: stdout).
    #[arg(long)]
    out: Option<String>,
}

fn zone_cmd(a: ZoneArgs) -> anyhow::Result<ExitCode> {
    let mut domains = Vec::new();
    for (i, line) in open_in(&a.input)?.lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", a.input.display()))?;
        if let Some((_, domain)) = simple_list_entry(i as u64 + 1, &line) {
            domains.push(domain);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::simple_list_entry;

    #[test]
    fn list_lines_give_rank_and_normalised_domain() {
        assert_eq!(
            simple_list_entry(3, "7,Example.COM."),
            Some((7, "example.com".into()))
        );
        assert_eq!(
            simple_list_entry(3, " example.org \r"),
            Some((3, "example.org".into()))
        );
        assert_eq!(simple_list_entry(1, "rank,domain"), None);
        assert_eq!(simple_list_entry(1, "Domain"), None);
        assert_eq!(simple_list_entry(5, ""), None);
    }
}
