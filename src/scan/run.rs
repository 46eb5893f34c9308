//! One scan run: input → per-domain lookups and fetches → results.csv and summaries
//! in the run directory. The adapters (DNS engine, policy fetcher, files) meet here.

use super::assemble::{assemble, Dns, Observations, PolicyFetch};
use super::output;
use super::pipeline::{self, Item, Limits};
use super::progress::{Progress, ProgressMode};
use super::results_file::{Compression, Sink};
use super::resume::{self, Resumed};
use super::spill::Parking;
use super::unscanned_row;
use crate::dns::{DnsEngine, EngineConfig, Outcome};
use crate::fetch::{BoxFuture, DnsFailure, FetchConfig, FetchOutcome, HostResolver, PolicyFetcher};
use crate::input::{self, DedupMode, Deduper, InputReader, Screening};
use crate::report::writer::RowRenderer;
use crate::report::{ResultsWriter, RunStats, Summary};
use crate::row::{PolicyStatus, ResultRow};
use crate::shard::Shard;
use crate::sts_record::{self, StsRecord};
use anyhow::{bail, Context};
use serde_json::json;
use std::fs::{self, OpenOptions};
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// Everything a scan needs, validated (no CLI types below this line).
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Input list path, or `-` for stdin.
    pub input: String,
    /// The run directory.
    pub out_dir: PathBuf,
    /// The DNS engine (resolvers, rate limits, retries).
    pub engine: EngineConfig,
    /// Policy fetching (timeouts, port, extra CAs).
    pub fetch: FetchConfig,
    /// Domains in flight at once.
    pub concurrency: usize,
    /// Largest distance between the oldest unwritten row and the newest input line taken.
    pub window: usize,
    pub progress: ProgressMode,
    pub dedup: DedupMode,
    /// Continue an interrupted run in `out_dir`.
    pub resume: bool,
    /// Replace a run already in `out_dir`.
    pub force: bool,
    /// The command line, for the manifest.
    pub command_line: Vec<String>,
    /// Scan only this part of the input (`--shard K/N`; docs/scale.md).
    pub shard: Option<Shard>,
    /// How results.csv is stored (`--compress`).
    pub compress: Compression,
}

/// How the run ended.
#[derive(Debug)]
pub struct ScanReport {
    pub summary: Summary,
    pub stats: RunStats,
    /// False when a signal stopped the run before the input's end.
    pub complete: bool,
    /// Rows that were already in results.csv from an earlier, interrupted run.
    pub resumed_rows: u64,
}

/// The policy host lookups of the fetcher go through the scan's DNS engine.
struct EngineResolver(DnsEngine);

impl HostResolver for EngineResolver {
    fn lookup(&self, host: &str) -> BoxFuture<Result<Vec<IpAddr>, DnsFailure>> {
        let engine = self.0.clone();
        let host = host.to_string();
        Box::pin(async move {
            match engine.addrs(&host).await.outcome {
                Outcome::Answer(ips) if !ips.is_empty() => Ok(ips),
                Outcome::Answer(_) | Outcome::NoData => Err(DnsFailure::NoAddress),
                Outcome::NxDomain => Err(DnsFailure::NxDomain),
                Outcome::ServFail => Err(DnsFailure::ServFail),
                Outcome::Refused => Err(DnsFailure::Refused),
                Outcome::Timeout => Err(DnsFailure::Timeout),
                Outcome::Malformed(_) => Err(DnsFailure::Error),
            }
        })
    }
}

fn policy_fetch(outcome: FetchOutcome) -> PolicyFetch {
    match outcome {
        FetchOutcome::Ok { content_type, body } => PolicyFetch::Fetched {
            content_type: content_type.unwrap_or_default(),
            body,
        },
        failed => PolicyFetch::Failed {
            status: failed
                .as_status()
                .and_then(PolicyStatus::parse)
                .unwrap_or(PolicyStatus::ConnectError),
            error: failed.as_error_code().unwrap_or_default(),
            http_status: failed.http_status(),
            content_type: failed.content_type().unwrap_or_default().to_string(),
        },
    }
}

/// The network side of a scan: one DNS engine and one policy fetcher, shared by
/// every domain task.
#[derive(Clone)]
pub struct Scanner {
    engine: DnsEngine,
    fetcher: Arc<PolicyFetcher>,
    /// Policy fetches started.
    fetches: Arc<AtomicU64>,
}

impl Scanner {
    pub fn new(engine: EngineConfig, fetch: FetchConfig) -> anyhow::Result<Scanner> {
        let engine = DnsEngine::new(engine).context("starting the DNS engine")?;
        let resolver = Arc::new(EngineResolver(engine.clone()));
        let fetcher = PolicyFetcher::new(fetch, resolver).context("setting up HTTPS")?;
        Ok(Scanner {
            engine,
            fetcher: Arc::new(fetcher),
            fetches: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Looks at one domain: MX, `_mta-sts` and `_smtp._tls` at once, then the
    /// policy when the record is valid.
    pub async fn observe(&self, domain: &str) -> Observations {
        let sts_name = format!("_mta-sts.{domain}");
        let tls_name = format!("_smtp._tls.{domain}");
        let (mx, sts, tlsrpt) = tokio::join!(
            self.engine.mx(domain),
            self.engine.txt(&sts_name),
            self.engine.txt(&tls_name)
        );
        let sts = sts.outcome;
        let valid = matches!(&sts, Dns::Answer(r) if matches!(sts_record::parse_answer(r), StsRecord::Valid { .. }));
        let policy = if valid {
            self.fetches.fetch_add(1, Ordering::Relaxed);
            Some(policy_fetch(self.fetcher.fetch_policy(domain).await))
        } else {
            None
        };
        Observations {
            mx: mx.outcome,
            sts,
            tlsrpt: tlsrpt.outcome,
            policy,
        }
    }

    /// The row of one domain.
    pub async fn scan(&self, rank: u64, domain: String) -> ResultRow {
        let start = Instant::now();
        let obs = self.observe(&domain).await;
        assemble(rank, &domain, &obs, start.elapsed().as_millis() as u64)
    }

    /// Counters for summary.json.
    pub fn stats(&self, started: Instant) -> RunStats {
        let dns = self.engine.stats();
        RunStats {
            duration_s: started.elapsed().as_secs_f64(),
            dns_queries: dns.sent + dns.tcp_fallbacks,
            dns_answered: dns.answered,
            https_fetches: self.fetches.load(Ordering::Relaxed),
        }
    }

    /// The DNS engine (for its detailed stats).
    pub fn engine(&self) -> &DnsEngine {
        &self.engine
    }
}

/// Counts the lines of a plain file (for the progress total); None for stdin or gzip.
fn count_lines(path: &str) -> Option<u64> {
    if path == "-" {
        return None;
    }
    let mut f = fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 1 << 16];
    let (mut lines, mut last, mut first) = (0u64, b'\n', true);
    loop {
        let n = io::Read::read(&mut f, &mut buf).ok()?;
        if n == 0 {
            break;
        }
        if first && buf[..n].starts_with(&[0x1f, 0x8b]) {
            return None;
        }
        first = false;
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[n - 1];
    }
    Some(lines + u64::from(last != b'\n'))
}

/// Bytes of finished rows kept in memory while they wait for their turn; the rest wait in
/// a spill file (see `spill`).
const PARK_IN_MEMORY: usize = 4 << 20;

/// Runs a scan to the end of its input, or until `stop` resolves.
pub async fn run(
    config: ScanConfig,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<ScanReport> {
    let started = Instant::now();
    let start_time = SystemTime::now();
    let dir = &config.out_dir;
    let input_hash = match config.input.as_str() {
        "-" => None,
        path => {
            Some(output::sha256_file(path.as_ref()).with_context(|| format!("reading {path}"))?)
        }
    };
    if config.shard.is_some() && input_hash.is_none() {
        bail!("--shard needs an input file (merge re-reads it to restore input order), not stdin");
    }
    let resumed: Resumed = resume::prepare(dir, &config, input_hash.as_deref())?;
    if resumed.finished {
        bail!(
            "{} holds a finished run; nothing to resume (use --force to scan again)",
            dir.display()
        );
    }
    let scanner = Scanner::new(config.engine.clone(), config.fetch.clone())?;

    let mut manifest = json!({
        "stsmap_version": env!("CARGO_PKG_VERSION"),
        "command_line": config.command_line,
        "input": { "path": config.input, "sha256": input_hash },
        "resolvers": config.engine.resolvers.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "settings": {
            "concurrency": config.concurrency,
            "dns_timeout_ms": config.engine.timeout.as_millis() as u64,
            "dns_retries": config.engine.retries,
            "qps_per_resolver": config.engine.qps_per_resolver.map(|q| q.get()),
            "https_timeout_ms": config.fetch.timeout.as_millis() as u64,
            "https_port": config.fetch.https_port,
            "extra_ca_files": config.fetch.extra_ca_pem.len(),
            "dedup": format!("{:?}", config.dedup).to_lowercase(),
        },
        "shard": config.shard.map(|s| json!({ "index": s.index, "count": s.count })),
        "results_file": config.compress.file_name(),
        "started": output::rfc3339(start_time),
        "status": "running",
    });
    if let Some(prev) = &resumed.manifest {
        manifest["first_started"] = prev
            .get("first_started")
            .or_else(|| prev.get("started"))
            .cloned()
            .unwrap_or_default();
        manifest["resumed"] = json!(true);
    }
    output::write_manifest(dir, &manifest).context("writing manifest.json")?;

    let results = dir.join(config.compress.file_name());
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&results)
        .with_context(|| format!("opening {}", results.display()))?;
    let empty = file.metadata()?.len() == 0;
    let buffered = Sink::new(file, config.compress)?;
    let mut writer = if empty {
        ResultsWriter::new(buffered)?
    } else {
        ResultsWriter::append(buffered)
    };
    let mut summary = resumed.summary;

    let reader = input::open(&config.input).with_context(|| format!("opening {}", config.input))?;
    let lines = Screening::new(InputReader::new(reader), Deduper::new(config.dedup));
    let shard = config.shard;
    let lines = lines.filter(move |l| match (shard, l) {
        (Some(s), Ok(l)) => s.contains(&l.domain),
        _ => true,
    });
    let skip = resumed.rows;
    let items = lines.enumerate().filter_map(move |(i, line)| {
        if (i as u64) < skip {
            return match line {
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            };
        }
        Some(line.map(|line| match line.is_scanned() {
            true => Item::Scan {
                rank: line.rank,
                domain: line.domain,
            },
            false => Item::Ready(Box::new(unscanned_row(&line))),
        }))
    });

    let total = count_lines(&config.input).map(|t| t / u64::from(shard.map_or(1, |s| s.count)));
    let mut progress = Progress::new(config.progress, total, resumed.rows);
    let limits = Limits {
        concurrency: config.concurrency,
        window: config.window,
    };
    let task_scanner = scanner.clone();
    let scan = move |rank: u64, domain: String| {
        let s = task_scanner.clone();
        async move { s.scan(rank, domain).await }
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_flag = stopped.clone();
    let stop_watch = tokio::spawn(async move {
        stop.await;
        stop_flag.store(true, Ordering::SeqCst);
        let _ = stop_tx.send(());
    });
    let mut renderer = RowRenderer::default();
    let parking = Parking::new(dir, PARK_IN_MEMORY);
    let counts = pipeline::run(
        items,
        limits,
        scan,
        |row| {
            summary.add(&row);
            parking.park(renderer.render(&row))
        },
        |parked| writer.write_rendered(&parking.take(parked?)?),
        &mut progress,
        async {
            let _ = stop_rx.await;
        },
    )
    .await;
    stop_watch.abort();
    progress.finish();
    let flushed = writer.into_inner().and_then(Sink::finish);
    let compressed = config.compress != Compression::None;
    let counts = counts.with_context(|| {
        // Rows already in results.csv are kept; a resume truncates a half-written last row.
        // A compressed file cannot be continued (resume refuses it).
        let next = if compressed {
            "fix the cause, then scan again with --force (compressed runs cannot be resumed)"
        } else {
            "fix the cause, then rerun with --resume to continue"
        };
        format!("scan stopped ({}; {next})", results.display())
    })?;
    flushed.with_context(|| format!("writing {}", results.display()))?;

    let complete = !stopped.load(Ordering::SeqCst);
    let stats = scanner.stats(started);
    output::write_summaries(dir, &summary, &stats).context("writing summaries")?;
    let dns = scanner.engine().stats();
    manifest["finished"] = json!(output::rfc3339(SystemTime::now()));
    manifest["status"] = json!(if complete { "finished" } else { "interrupted" });
    manifest["counts"] = json!({
        "rows": summary.domains,
        "rows_this_session": counts.rows,
        "scanned_this_session": counts.scanned,
        "resumed_rows": resumed.rows,
        "dns_queries": stats.dns_queries,
        "dns_answered": stats.dns_answered,
        "dns_retried": dns.retried,
        "dns_timed_out": dns.timed_out,
        "dns_tcp_fallbacks": dns.tcp_fallbacks,
        "dns_unmatched": dns.unmatched,
        "udp_rcvbuf_errors": dns.rcvbuf_errors,
        "https_fetches": stats.https_fetches,
    });
    output::write_manifest(dir, &manifest).context("writing manifest.json")?;
    Ok(ScanReport {
        summary,
        stats,
        complete,
        resumed_rows: resumed.rows,
    })
}
