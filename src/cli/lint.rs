//! `stsmap lint`: reads the input, prints the report from [`stsmap::lint`],
//! and turns the verdict into the exit code (0 valid, 1 invalid; usage and
//! read errors exit 2 through `main`).

use anyhow::Context;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use stsmap::lint::{self, Lint, MAX_INPUT};

#[derive(clap::Subcommand)]
pub enum LintCommand {
    /// Check a policy file (what you serve at /.well-known/mta-sts.txt).
    Policy {
        /// The policy file, or `-` for standard input.
        file: PathBuf,
        /// Also fail on problems only the strict RFC grammar rejects.
        #[arg(long)]
        strict: bool,
    },
    /// Check an `_mta-sts` TXT value, e.g. 'v=STSv1; id=20240101T000000'.
    StsRecord {
        /// The record text; zone-file quoted strings ("a" "b") are joined.
        text: String,
    },
    /// Check an `_smtp._tls` TXT value, e.g. 'v=TLSRPTv1; rua=mailto:tls@example.com'.
    TlsrptRecord {
        /// The record text; zone-file quoted strings ("a" "b") are joined.
        text: String,
    },
}

pub fn run(c: LintCommand) -> anyhow::Result<ExitCode> {
    let report = match c {
        LintCommand::Policy { file, strict } => {
            let (body, oversize) = read_capped(&file)?;
            lint::policy(&body, oversize, strict)
        }
        LintCommand::StsRecord { text } => lint::sts_record(&text),
        LintCommand::TlsrptRecord { text } => lint::tlsrpt_record(&text),
    };
    emit(report)
}

/// Reads at most [`MAX_INPUT`] bytes; the flag says more were there.
fn read_capped(file: &PathBuf) -> anyhow::Result<(Vec<u8>, bool)> {
    let limit = MAX_INPUT as u64 + 1;
    let mut body = Vec::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut body)
            .context("reading standard input")?;
    } else {
        std::fs::File::open(file)
            .and_then(|f| f.take(limit).read_to_end(&mut body))
            .with_context(|| format!("reading {}", file.display()))?;
    }
    let oversize = body.len() > MAX_INPUT;
    body.truncate(MAX_INPUT);
    Ok((body, oversize))
}

fn emit(report: Lint) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not worth a panic or an error message.
    let _ = out.write_all(report.text.as_bytes());
    let _ = out.flush();
    Ok(ExitCode::from(if report.valid { 0 } else { 1 }))
}
