//! `stsmap scan` and `stsmap check`: flags → [`ScanConfig`] / one-domain check.

use anyhow::Context;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use stsmap::dns::{resolvers, EngineConfig};
use stsmap::fetch::FetchConfig;
use stsmap::input::DedupMode;
use stsmap::scan::progress::ProgressMode;
use stsmap::scan::ScanConfig;

/// Which resolvers, and how hard to use them.
#[derive(clap::Args, Debug, Clone)]
pub struct DnsArgs {
    /// A resolver to send queries to: IP or IP:PORT ([IPv6]:PORT). Repeatable.
    #[arg(long = "resolver", value_name = "IP[:PORT]")]
    resolvers: Vec<String>,
    /// A file with one resolver per line (massdns/zdns style; `#` comments).
    #[arg(long, value_name = "FILE")]
    resolvers_file: Option<PathBuf>,
    /// Use the nameservers of /etc/resolv.conf (never done unless asked).
    #[arg(long)]
    system_resolvers: bool,
    /// Queries per second per resolver (default: unlimited).
    #[arg(long, value_name = "N")]
    qps_per_resolver: Option<NonZeroU32>,
    /// Retries of a lookup after a timeout, SERVFAIL or REFUSED (on other resolvers when there are).
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Wait for one DNS reply, in milliseconds.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    dns_timeout_ms: u64,
    /// UDP sockets of the DNS engine (each with its own random source port).
    #[arg(long, default_value_t = 8)]
    sockets: usize,
    /// DNS queries awaiting a reply, all resolvers together.
    #[arg(long, default_value_t = 4096)]
    max_in_flight: usize,
    /// DNS queries awaiting a reply from one resolver.
    #[arg(long, default_value_t = 2048)]
    max_in_flight_per_resolver: usize,
}

impl DnsArgs {
    pub fn engine_config(&self) -> anyhow::Result<EngineConfig> {
        let mut list = Vec::new();
        for r in &self.resolvers {
            list.push(resolvers::parse_arg(r)?);
        }
        if let Some(f) = &self.resolvers_file {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            list.extend(resolvers::parse_file(&text, &f.display().to_string())?);
        }
        if self.system_resolvers {
            let text =
                std::fs::read_to_string("/etc/resolv.conf").context("reading /etc/resolv.conf")?;
            list.extend(resolvers::parse_resolv_conf(&text));
        }
        let mut cfg = EngineConfig::new(resolvers::finish(list)?);
        cfg.qps_per_resolver = self.qps_per_resolver;
        cfg.retries = self.retries;
        cfg.timeout = Duration::from_millis(self.dns_timeout_ms);
        cfg.sockets = self.sockets.max(1);
        cfg.max_in_flight = self.max_in_flight.max(1);
        cfg.max_in_flight_per_resolver = self.max_in_flight_per_resolver.max(1);
        Ok(cfg)
    }
}

/// How policies are fetched.
#[derive(clap::Args, Debug, Clone)]
pub struct FetchArgs {
    /// Whole-request timeout of a policy fetch, in seconds (DNS, connect, TLS, body).
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Connect to this port instead of 443 (test worlds); SNI and Host stay the policy host.
    #[arg(long, value_name = "N")]
    https_port: Option<u16>,
    /// Also trust the CA certificates in this PEM file (repeatable).
    #[arg(long = "ca-file", value_name = "PEM")]
    ca_files: Vec<PathBuf>,
}

impl FetchArgs {
    pub fn fetch_config(&self) -> anyhow::Result<FetchConfig> {
        let timeout = Duration::from_secs(self.timeout.max(1));
        let mut cfg = FetchConfig {
            https_port: self.https_port,
            connect_timeout: timeout,
            tls_timeout: timeout,
            timeout,
            ..FetchConfig::default()
        };
        for f in &self.ca_files {
            cfg.extra_ca_pem
                .push(std::fs::read(f).with_context(|| format!("reading {}", f.display()))?);
        }
        Ok(cfg)
    }
}

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Domain list: `rank,domain` CSV (Tranco), one column with or without header, `.gz`, or `-`.
    #[arg(long)]
    input: String,
    /// Run directory for results.csv, summary.json, summary.md, manifest.json.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    dns: DnsArgs,
    #[command(flatten)]
    fetch: FetchArgs,
    /// Domains scanned at once.
    #[arg(long, default_value_t = 2000)]
    concurrency: usize,
    /// Continue an interrupted run in --out.
    #[arg(long)]
    resume: bool,
    /// Replace a run already in --out.
    #[arg(long, conflicts_with = "resume")]
    force: bool,
    /// Duplicate detection: exact (memory grows ~50 MB per million distinct names) or off.
    #[arg(long, value_enum, default_value = "exact")]
    dedup: DedupArg,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum DedupArg {
    Exact,
    Off,
}

impl ScanArgs {
    fn config(&self) -> anyhow::Result<ScanConfig> {
        Ok(ScanConfig {
            input: self.input.clone(),
            out_dir: self.out.clone(),
            engine: self.dns.engine_config()?,
            fetch: self.fetch.fetch_config()?,
            concurrency: self.concurrency.max(1),
            window: (self.concurrency * 16).max(4096),
            progress: if self.quiet {
                ProgressMode::Quiet
            } else {
                ProgressMode::Auto
            },
            dedup: match self.dedup {
                DedupArg::Exact => DedupMode::Exact,
                DedupArg::Off => DedupMode::Off,
            },
            resume: self.resume,
            force: self.force,
            command_line: std::env::args().collect(),
        })
    }
}

/// Resolves when SIGINT or SIGTERM arrives.
pub async fn signalled() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let out = config.out_dir.clone();
    let report = runtime()?.block_on(stsmap::scan::run(config, signalled()))?;
    let s = &report.summary;
    eprintln!(
        "stsmap: {} rows ({} scanned) in {:.1} s; results in {}",
        s.domains,
        s.scanned(),
        report.stats.duration_s,
        out.display()
    );
    if report.complete {
        Ok(ExitCode::SUCCESS)
    } else {
        let mut resume: Vec<String> = std::env::args().filter(|a| a != "--force").collect();
        if !resume.iter().any(|a| a == "--resume") {
            resume.push("--resume".into());
        }
        eprintln!(
            "stsmap: interrupted; to continue run:\n  {}",
            resume.join(" ")
        );
        Ok(ExitCode::from(130))
    }
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The domain to check.
    domain: String,
    #[command(flatten)]
    dns: DnsArgs,
    #[command(flatten)]
    fetch: FetchArgs,
}

pub fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let domain = stsmap::input::normalise(args.domain.as_bytes())
        .map_err(|e| anyhow::anyhow!("{:?} is not a domain: {e}", args.domain))?;
    let engine = args.dns.engine_config()?;
    let fetch = args.fetch.fetch_config()?;
    let text = runtime()?.block_on(async move {
        let scanner = stsmap::scan::Scanner::new(engine, fetch)?;
        let obs = scanner.observe(&domain).await;
        let row = stsmap::scan::assemble::assemble(1, &domain, &obs, 0);
        anyhow::Ok(stsmap::scan::explain::explain(&domain, &obs, &row))
    })?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
