//! The `stsmap` command line: parses arguments and hands them to the library.

mod cli;

use clap::Parser;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "stsmap",
    version,
    about = "Survey MTA-STS and TLS-RPT deployment at scale"
)]
struct Cli {
    #[command(subcommand)]
    command: cli::Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("stsmap: {err:#}");
            ExitCode::from(2)
        }
    }
}
