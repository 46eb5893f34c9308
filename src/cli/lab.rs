//! `stsmap lab`: the simulated mail-security world.
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use stsmap::lab::world::{Profile, World, DEFAULT_SEED};
use stsmap::row::COLUMNS;

#[derive(clap::Subcommand)]
pub enum LabCommand {
    /// Write, for every input domain, the results.csv row a correct scanner must produce.
    Truth(TruthArgs),
}

#[derive(clap::Args)]
pub struct TruthArgs {
    /// Domain list: `rank,domain` CSV or one domain per line (`-` for stdin).
    #[arg(long)]
    input: PathBuf,
    /// realistic | adversarial
    #[arg(long, default_value = "realistic")]
    profile: Profile,
    /// The world's seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Output CSV file (`-` for stdout).
    #[arg(long, default_value = "-")]
    out: PathBuf,
}

pub fn run(c: LabCommand) -> anyhow::Result<ExitCode> {
    match c {
        LabCommand::Truth(a) => truth(a),
    }
}

fn open_in(path: &PathBuf) -> anyhow::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::new(io::stdin())));
    }
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Box::new(BufReader::new(f)))
}

fn open_out(path: &PathBuf) -> anyhow::Result<Box<dyn Write>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufWriter::new(io::stdout().lock())));
    }
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(Box::new(BufWriter::new(f)))
}

/// A deliberately simple list reader, to be swapped for the `input` module's
/// normaliser: `rank,domain` or one domain per line; blank lines and a header
/// (a first line whose rank is not a number) are skipped; the domain is trimmed,
/// lowercased and loses a trailing dot. Without a rank column, rank = line number.
fn simple_list_entry(line_no: u64, line: &str) -> Option<(u64, String)> {
    let line = line.trim();
    let (rank, domain) = match line.split_once(',') {
        Some((r, d)) => (r.trim().parse().ok()?, d),
        None => (line_no, line),
    };
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() || (line_no == 1 && domain == "domain") {
        return None;
    }
    Some((rank, domain))
}

fn truth(a: TruthArgs) -> anyhow::Result<ExitCode> {
    let world = World::new(a.profile, a.seed);
    let input = open_in(&a.input)?;
    let mut out = csv::Writer::from_writer(open_out(&a.out)?);
    out.write_record(COLUMNS)?;
    for (i, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", a.input.display()))?;
        if let Some((rank, domain)) = simple_list_entry(i as u64 + 1, &line) {
            out.write_record(world.truth(rank, &domain).to_cells())?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::simple_list_entry;

    #[test]
    fn list_lines_give_rank_and_normalised_domain() {
        assert_eq!(
            simple_list_entry(3, "7,Example.COM."),
            Some((7, "example.com".into()))
        );
        assert_eq!(
            simple_list_entry(3, " example.org \r"),
            Some((3, "example.org".into()))
        );
        assert_eq!(simple_list_entry(1, "rank,domain"), None);
        assert_eq!(simple_list_entry(1, "Domain"), None);
        assert_eq!(simple_list_entry(5, ""), None);
    }
}
