//! `stsmap merge`: shard run directories → one run directory.

use super::scan::CompressArg;
use std::path::PathBuf;
use std::process::ExitCode;
use stsmap::merge::MergeConfig;

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The merged run directory.
    #[arg(long)]
    out: PathBuf,
    /// The input list, when it is no longer at the path the shards recorded (its SHA-256 must match).
    #[arg(long)]
    input: Option<String>,
    /// Compress the merged results.csv.
    #[arg(long, value_enum, default_value = "none")]
    compress: CompressArg,
    /// Replace a run already in --out.
    #[arg(long)]
    force: bool,
    /// The shard run directories (every shard 1..N exactly once, in any order).
    #[arg(required = true)]
    shards: Vec<PathBuf>,
}

pub fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let config = MergeConfig {
        shard_dirs: args.shards,
        out_dir: args.out.clone(),
        input: args.input,
        compress: args.compress.into(),
        force: args.force,
        command_line: std::env::args().collect(),
    };
    let summary = stsmap::merge::merge(&config)?;
    eprintln!(
        "stsmap merge: {} rows ({} scanned) from {} shards into {}",
        summary.domains,
        summary.scanned(),
        config.shard_dirs.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
