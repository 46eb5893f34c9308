//! Benchmark driver for the DNS engine (used by scripts/bench-dns.sh; not a timed test).
//!
//! Reads `NAME TYPE` lines (dnsperf's input format; TYPE is MX, TXT, A or AAAA) as a stream,
//! keeps `--in-flight` lookups going, and prints the engine's stats and a summary line.
//! With `--verify-profile`, every outcome is compared to the lab world's truth and
//! differences are counted as misattributed.
//!
//!     cargo run --release --example dns_bench -- --resolver 127.0.0.1:5300 --names q.txt

use std::io::BufRead;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use stsmap::dns::{DnsEngine, EngineConfig, Outcome, Qtype, Records};
use stsmap::lab::world::{Collect, LabAddrs, Profile, Rcode, World};

#[derive(Parser)]
struct Args {
    /// Resolver IP[:PORT] (repeatable).
    #[arg(long, required = true)]
    resolver: Vec<String>,
    /// `NAME TYPE` lines; `-` for stdin.
    #[arg(long)]
    names: String,
    /// Lookups in flight.
    #[arg(long, default_value_t = 2000)]
    in_flight: usize,
    /// UDP sockets.
    #[arg(long, default_value_t = 8)]
    sockets: usize,
    /// Per-attempt timeout in milliseconds.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
    /// Retries after the first attempt.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Tokio worker threads (1: a current-thread runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Compare each outcome with the lab world (realistic or adversarial).
    #[arg(long)]
    verify_profile: Option<String>,
    /// Seed of the lab world for --verify-profile.
    #[arg(long, default_value_t = 1)]
    verify_seed: u64,
    /// IPv4 address the lab world gives policy hosts (for --verify-profile).
    #[arg(long, default_value = "127.0.0.1")]
    verify_https_ip: std::net::Ipv4Addr,
}

#[derive(Default)]
struct Tally {
    answer: AtomicU64,
    nxdomain: AtomicU64,
    nodata: AtomicU64,
    servfail: AtomicU64,
    refused: AtomicU64,
    timeout: AtomicU64,
    malformed: AtomicU64,
    misattributed: AtomicU64,
    verified: AtomicU64,
    /// Microseconds from the start until a worker found the input exhausted.
    input_done_us: AtomicU64,
}

/// The world's answer, in the engine's terms.
fn truth(world: &World, addrs: &LabAddrs, name: &str, qtype: Qtype) -> Outcome<Records> {
    let mut c = Collect::default();
    let rc = world.resolve(name, qtype.code(), addrs, &mut c);
    let records = match qtype {
        Qtype::Mx => Records::Mx(c.mx.clone()),
        Qtype::Txt => Records::Txt(c.txt_joined()),
        Qtype::A => Records::Addrs(c.a.iter().map(|a| (*a).into()).collect()),
        Qtype::Aaaa => Records::Addrs(c.aaaa.iter().map(|a| (*a).into()).collect()),
    };
    let empty = match &records {
        Records::Mx(v) => v.is_empty(),
        Records::Txt(v) => v.is_empty(),
        Records::Addrs(v) => v.is_empty(),
    };
    match rc {
        Rcode::NxDomain => Outcome::NxDomain,
        Rcode::ServFail => Outcome::ServFail,
        Rcode::NoError if empty => Outcome::NoData,
        Rcode::NoError => Outcome::Answer(records),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // One thread: a current-thread runtime, so that no wakeup crosses threads.
    let rt = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    };
    rt.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let resolvers = args
        .resolver
        .iter()
        .map(|r| stsmap::dns::resolvers::parse_arg(r))
        .collect::<Result<Vec<SocketAddr>, _>>()?;
    let mut config = EngineConfig::new(resolvers);
    config.sockets = args.sockets;
    config.timeout = Duration::from_millis(args.timeout_ms);
    config.retries = args.retries;
    config.max_in_flight = args.in_flight;
    config.max_in_flight_per_resolver = args.in_flight;
    let engine = DnsEngine::new(config)?;
    let verify = match args.verify_profile.as_deref() {
        None => None,
        Some("realistic") => Some(World::new(Profile::Realistic, args.verify_seed)),
        Some("adversarial") => Some(World::new(Profile::Adversarial, args.verify_seed)),
        Some(other) => anyhow::bail!("unknown profile {other}"),
    };
    let addrs = LabAddrs {
        https_v4: args.verify_https_ip,
        https_v6: None,
    };
    let tally = Arc::new(Tally::default());
    let input: Box<dyn BufRead + Send> = if args.names == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(std::fs::File::open(&args.names)?))
    };
    // `--in-flight` long-lived workers pull the next line from the shared (buffered) input:
    // no task spawn per lookup, and memory bounded by the window, not the list.
    let input = Arc::new(Mutex::new(input.lines()));
    let start = Instant::now();
    let mut workers = Vec::with_capacity(args.in_flight);
    for _ in 0..args.in_flight {
        let (engine, tally, input) = (engine.clone(), tally.clone(), input.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let line = match input.lock().unwrap_or_else(|e| e.into_inner()).next() {
                    Some(Ok(line)) => line,
                    Some(Err(e)) => return Err(anyhow::Error::from(e)),
                    None => {
                        let us = start.elapsed().as_micros() as u64;
                        let _ = tally.input_done_us.compare_exchange(
                            0,
                            us,
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        );
                        return Ok(());
                    }
                };
                let mut words = line.split_whitespace();
                let (Some(name), Some(t)) = (words.next(), words.next()) else {
                    continue;
                };
                let qtype = match t.to_ascii_uppercase().as_str() {
                    "MX" => Qtype::Mx,
                    "TXT" => Qtype::Txt,
                    "A" => Qtype::A,
                    "AAAA" => Qtype::Aaaa,
                    _ => anyhow::bail!("unsupported type {t}"),
                };
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                let l = engine.lookup(&name, qtype).await;
                let c = match &l.outcome {
                    Outcome::Answer(_) => &tally.answer,
                    Outcome::NxDomain => &tally.nxdomain,
                    Outcome::NoData => &tally.nodata,
                    Outcome::ServFail => &tally.servfail,
                    Outcome::Refused => &tally.refused,
                    Outcome::Timeout => &tally.timeout,
                    Outcome::Malformed(_) => &tally.malformed,
                };
                c.fetch_add(1, Ordering::Relaxed);
                if let Some(world) = verify {
                    tally.verified.fetch_add(1, Ordering::Relaxed);
                    if l.outcome != truth(&world, &addrs, &name, qtype)
                        && l.outcome != Outcome::Timeout
                        && tally.misattributed.fetch_add(1, Ordering::Relaxed) < 5
                    {
                        eprintln!("differs from the world: {name} {qtype:?}: {:?}", l.outcome);
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    let elapsed = start.elapsed();
    let s = engine.stats();
    eprint!("{s}");
    let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let t = &*tally;
    let lookups = g(&t.answer)
        + g(&t.nxdomain)
        + g(&t.nodata)
        + g(&t.servfail)
        + g(&t.refused)
        + g(&t.timeout)
        + g(&t.malformed);
    println!(
        "engine: lookups={lookups} elapsed_s={:.3} input_done_s={:.3} sent={} answered={} answered_qps={:.0} \
         answer={} nxdomain={} nodata={} servfail={} refused={} lost={} malformed={} \
         retried={} timed_out_attempts={} unmatched={} tcp={} rcvbuf_errors={} verified={} misattributed={}",
        elapsed.as_secs_f64(),
        g(&t.input_done_us) as f64 / 1e6,
        s.sent,
        s.answered,
        s.answered as f64 / elapsed.as_secs_f64(),
        g(&t.answer),
        g(&t.nxdomain),
        g(&t.nodata),
        g(&t.servfail),
        g(&t.refused),
        g(&t.timeout),
        g(&t.malformed),
        s.retried,
        s.timed_out,
        s.unmatched,
        s.tcp_fallbacks,
        s.rcvbuf_errors.map_or(-1, |n| n as i64),
        g(&t.verified),
        g(&t.misattributed),
    );
    Ok(())
}
