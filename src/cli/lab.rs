//! `stsmap lab` (being written).
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum LabCommand {}

pub fn run(c: LabCommand) -> anyhow::Result<ExitCode> {
    match c {}
}
