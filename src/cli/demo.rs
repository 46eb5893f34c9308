//! `stsmap demo`: the main job on a fresh machine — start the lab in-process,
//! scan the bundled sample against it, print the summary.

use super::scan::{runtime, signalled};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;
use stsmap::dns::EngineConfig;
use stsmap::fetch::FetchConfig;
use stsmap::input::DedupMode;
use stsmap::lab::world::Profile;
use stsmap::lab::{Lab, LabConfig};
use stsmap::scan::progress::ProgressMode;
use stsmap::scan::ScanConfig;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// The list to scan.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample.csv"))]
    input: String,
    /// Run directory (replaced if present).
    #[arg(long, default_value = "demo-out")]
    out: PathBuf,
    /// The lab world: realistic or adversarial.
    #[arg(long, default_value = "realistic")]
    profile: Profile,
    /// The world's seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Domains scanned at once.
    #[arg(long, default_value_t = 1000)]
    concurrency: usize,
}

pub fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    let out = args.out.clone();
    let report = rt.block_on(async move {
        let lab =
            Lab::start(LabConfig::loopback(args.profile, args.seed)).context("starting the lab")?;
        eprintln!(
            "stsmap demo: lab world ({:?}, seed {}) on DNS {} and HTTPS {}; scanning {}",
            args.profile,
            args.seed,
            lab.dns_addr(),
            lab.https_addr(),
            args.input
        );
        let mut engine = EngineConfig::new(vec![lab.dns_addr()]);
        engine.timeout = std::time::Duration::from_millis(1000);
        let fetch = FetchConfig {
            https_port: Some(lab.https_addr().port()),
            extra_ca_pem: vec![lab.ca_pem().as_bytes().to_vec()],
            ..FetchConfig::default()
        };
        let config = ScanConfig {
            input: args.input.clone(),
            out_dir: args.out.clone(),
            engine,
            fetch,
            concurrency: args.concurrency,
            window: stsmap::scan::pipeline::window_for(args.concurrency),
            progress: ProgressMode::Auto,
            dedup: DedupMode::Exact,
            resume: false,
            force: true,
            command_line: std::env::args().collect(),
            shard: None,
            compress: Default::default(),
        };
        let report = stsmap::scan::run(config, signalled()).await;
        lab.shutdown().await;
        report
    })?;
    let md = std::fs::read_to_string(out.join("summary.md")).context("reading summary.md")?;
    println!("{md}");
    eprintln!(
        "stsmap demo: {} rows in {:.1} s ({:.0} domains/s); results in {}/results.csv",
        report.summary.domains,
        report.stats.duration_s,
        report.summary.domains as f64 / report.stats.duration_s.max(1e-3),
        out.display()
    );
    Ok(if report.complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(130)
    })
}
