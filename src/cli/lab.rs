//! `stsmap lab`: the simulated mail-security world: ground truth, zone export, DNS server.
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};

use stsmap::lab::dns_server::DnsServer;
use stsmap::lab::faults::{self, FaultConfig, RateLimit, RateLimitAction};
use stsmap::lab::https_server::HttpsServer;
use stsmap::lab::world::{LabAddrs, Profile, World, DEFAULT_SEED};
use stsmap::lab::zone::{self, ZoneExporter};
use stsmap::report::ResultsWriter;

#[derive(clap::Subcommand)]
pub enum LabCommand {
    /// Write, for every input line, the results.csv row a correct scanner must produce.
    Truth(ListArgs),
    /// Write the DNS side of the world as one RFC 1035 zone file with origin `.`.
    Zone(ListArgs),
    /// Serve the world: authoritative DNS (UDP+TCP) and, with --https, the policy hosts, until SIGINT/SIGTERM.
    #[command(alias = "serve-dns")]
    Serve(ServeArgs),
}

pub fn run(c: LabCommand) -> anyhow::Result<ExitCode> {
    match c {
        LabCommand::Truth(a) => truth(a),
        LabCommand::Zone(a) => zone_cmd(a),
        LabCommand::Serve(a) => serve_cmd(a),
    }
}

fn open_out(path: &Option<String>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path.as_deref() {
        None | Some("-") => Box::new(BufWriter::new(io::stdout().lock())),
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("creating {p}"))?,
        )),
    })
}

/// The input lines of `path` (any format the scan reads), screened like the scan does.
fn input_lines(
    path: &str,
) -> anyhow::Result<impl Iterator<Item = io::Result<stsmap::input::Screened>>> {
    let reader = stsmap::input::open(path).with_context(|| format!("opening {path}"))?;
    Ok(stsmap::input::screen(reader))
}

/// A domain list, a world, and where to write what the world makes of the list
/// (`truth` and `zone` take the same arguments).
#[derive(clap::Args)]
pub struct ListArgs {
    /// Domain list, in any format `scan` reads (`-` for stdin).
    #[arg(long)]
    input: String,
    #[command(flatten)]
    world: WorldArgs,
    /// Output file (default: stdout).
    #[arg(long)]
    out: Option<String>,
}

fn truth(a: ListArgs) -> anyhow::Result<ExitCode> {
    let world = a.world.world();
    let mut w = ResultsWriter::new(open_out(&a.out)?)?;
    for line in input_lines(&a.input)? {
        let line = line.with_context(|| format!("reading {}", a.input))?;
        let row = match line.is_scanned() {
            true => world.truth(line.rank, &line.domain),
            false => stsmap::scan::unscanned_row(&line),
        };
        w.write(&row)?;
    }
    w.flush()?;
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

fn zone_cmd(a: ListArgs) -> anyhow::Result<ExitCode> {
    let mut domains = Vec::new();
    for line in input_lines(&a.input)? {
        let line = line.with_context(|| format!("reading {}", a.input))?;
        if line.is_scanned() {
            domains.push(line.domain);
        }
    }
    let world = a.world.world();
    let mut out = open_out(&a.out)?;
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
pub struct ServeArgs {
    /// Loopback address for UDP and TCP, e.g. 127.0.0.1:5353.
    #[arg(long)]
    dns: SocketAddr,
    /// Loopback address of the HTTPS server for policy hosts, e.g. 127.0.0.1:8443
    /// (policy hosts then resolve to its IP).
    #[arg(long)]
    https: Option<SocketAddr>,
    /// Where to write the lab CA certificate (PEM) that scanners must trust.
    #[arg(long, requires = "https")]
    ca_out: Option<PathBuf>,
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

fn serve_cmd(a: ServeArgs) -> anyhow::Result<ExitCode> {
    for addr in std::iter::once(a.dns).chain(a.https) {
        if !stsmap::lab::may_bind(addr.ip()) {
            bail!("{}, not {}", stsmap::lab::BIND_RULE, addr.ip());
        }
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
    let mut addrs = a.world.addrs();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let https = match a.https {
        Some(bind) => {
            let _guard = rt.enter();
            let server =
                HttpsServer::start(world, bind).with_context(|| format!("binding {bind}"))?;
            match server.local_addr().ip() {
                IpAddr::V4(v4) => addrs.https_v4 = v4,
                IpAddr::V6(v6) => addrs.https_v6 = Some(v6),
            }
            println!("https listening on tcp {}", server.local_addr());
            Some(server)
        }
        None => None,
    };
    let server = match a.udp_sockets {
        Some(n) => DnsServer::start_with_sockets(world, addrs, a.dns, faults, n),
        None => DnsServer::start(world, addrs, a.dns, faults),
    }
    .with_context(|| format!("binding {}", a.dns))?;
    println!("dns listening on udp+tcp {}", server.addr());
    // Written last, and whole (temporary file, then rename): scripts take the CA file's
    // appearance as the sign that both servers listen.
    if let (Some(path), Some(h)) = (&a.ca_out, &https) {
        write_ca(path, h.ca_pem()).with_context(|| format!("writing {}", path.display()))?;
        println!("lab CA certificate written to {}", path.display());
    }
    io::stdout().flush()?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    })?;
    server.shutdown();
    if let Some(h) = https {
        rt.block_on(h.shutdown());
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the CA certificate beside `path` and renames it into place, so a reader never sees
/// a half-written file.
fn write_ca(path: &std::path::Path, pem: &str) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, pem)?;
    std::fs::rename(&tmp, path)
}
