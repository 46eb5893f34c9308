//! `stsmap scan` and `stsmap check`: flags → [`ScanConfig`] / one-domain check.

use super::dns_args::DnsArgs;
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use stsmap::fetch::FetchConfig;
use stsmap::input::DedupMode;
use stsmap::scan::progress::ProgressMode;
use stsmap::scan::results_file::Compression;
use stsmap::scan::ScanConfig;

/// How policies are fetched.
#[derive(clap::Args, Debug, Clone)]
pub struct FetchArgs {
    /// Whole-request timeout of a policy fetch, in seconds (DNS, connect, TLS, body).
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Connect to this port instead of 443 (test worlds); SNI and Host stay the policy host.
    #[arg(long, value_name = "N")]
    https_port: Option<u16>,
    /// Policy fetches in progress at once.
    #[arg(long, default_value_t = 128, value_name = "N")]
    fetch_concurrency: usize,
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
            max_concurrent: self.fetch_concurrency.max(1),
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
    /// Duplicate detection: exact (peak memory grows ~75 MiB per million distinct names, measured) or off.
    #[arg(long, value_enum, default_value = "exact")]
    dedup: DedupArg,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
    /// Scan only part K of N of the input (1-based; split by a hash of the domain; see docs/scale.md).
    #[arg(long, value_name = "K/N")]
    shard: Option<stsmap::shard::Shard>,
    /// Compress results.csv (→ results.csv.gz / results.csv.zst). Not resumable.
    #[arg(long, value_enum, default_value = "none")]
    compress: CompressArg,
}

/// `--compress` values.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum CompressArg {
    None,
    Gzip,
    Zstd,
}

impl From<CompressArg> for Compression {
    fn from(c: CompressArg) -> Compression {
        match c {
            CompressArg::None => Compression::None,
            CompressArg::Gzip => Compression::Gzip,
            CompressArg::Zstd => Compression::Zstd,
        }
    }
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
            engine: self.dns.to_config()?,
            fetch: self.fetch.fetch_config()?,
            concurrency: self.concurrency.max(1),
            window: stsmap::scan::pipeline::window_for(self.concurrency),
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
            shard: self.shard,
            compress: self.compress.into(),
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
    let compressed = config.compress != Compression::None;
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
    } else if compressed {
        let again: Vec<String> = std::env::args().filter(|a| a != "--resume").collect();
        eprintln!(
            "stsmap: interrupted; a compressed results file cannot be continued. To scan \
             again from the start:\n  {} --force\n(without --compress a run can be resumed)",
            again.join(" ")
        );
        Ok(ExitCode::from(130))
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
    let engine = args.dns.to_config()?;
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
