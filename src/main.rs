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
        // A closed pipe (`stsmap lab truth ... | head`) is the reader's choice, not a failure.
        Err(err)
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("stsmap: {err:#}");
            ExitCode::from(2)
        }
    }
}
