//! Subcommands: each file turns its clap arguments into library configuration.

mod lab;
mod lint;

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check an MTA-STS policy, `_mta-sts` record or `_smtp._tls` record you publish.
    #[command(subcommand)]
    Lint(lint::LintCommand),
    /// The simulated mail-security world: ground truth, servers, zone export.
    #[command(subcommand)]
    Lab(lab::LabCommand),
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Lint(c) => lint::run(c),
        Command::Lab(c) => lab::run(c),
    }
}
