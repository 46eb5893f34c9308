//! Subcommands: each file turns its clap arguments into library configuration.

mod demo;
mod diff;
mod dns_args;
mod lab;
mod lint;
mod merge;
mod scan;

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Scan a list of domains: MX, MTA-STS record and policy, TLS-RPT → results.csv and summaries.
    Scan(scan::ScanArgs),
    /// Combine the run directories of `scan --shard K/N` into one run directory, in input order.
    Merge(merge::MergeArgs),
    /// Compare two runs: per-domain changes (changes.csv) and movements (summary.md/json).
    Diff(diff::DiffArgs),
    /// Check one domain and explain every step in plain words.
    Check(scan::CheckArgs),
    /// Start the lab in-process and scan the bundled sample against it.
    Demo(demo::DemoArgs),
    /// Check an MTA-STS policy, `_mta-sts` record or `_smtp._tls` record you publish.
    #[command(subcommand)]
    Lint(lint::LintCommand),
    /// The simulated mail-security world: ground truth, servers, zone export.
    #[command(subcommand)]
    Lab(lab::LabCommand),
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Scan(a) => scan::scan(a),
        Command::Merge(a) => merge::merge(a),
        Command::Diff(a) => diff::diff(a),
        Command::Check(a) => scan::check(a),
        Command::Demo(a) => demo::demo(a),
        Command::Lint(c) => lint::run(c),
        Command::Lab(c) => lab::run(c),
    }
}
