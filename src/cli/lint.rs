//! `stsmap lint` (being written).
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum LintCommand {}

pub fn run(c: LintCommand) -> anyhow::Result<ExitCode> {
    match c {}
}
