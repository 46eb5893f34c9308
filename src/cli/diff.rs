//! `stsmap diff`: two run directories → changes.csv, summary.json, summary.md.

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;
use stsmap::scan::{output, results_file};

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The earlier run directory.
    old: PathBuf,
    /// The later run directory.
    new: PathBuf,
    /// Where changes.csv, summary.json and summary.md go.
    #[arg(long)]
    out: PathBuf,
    /// Replace a diff already in --out.
    #[arg(long)]
    force: bool,
}

pub fn diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    if args.out.join("changes.csv").exists() && !args.force {
        anyhow::bail!(
            "{} already holds a diff; add --force to replace it",
            args.out.display()
        );
    }
    if results_file::find(&args.out).is_some() || args.out.join(output::MANIFEST).exists() {
        anyhow::bail!(
            "{} is a run directory; give the diff its own --out",
            args.out.display()
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let old = results_file::rows(&args.old)?;
    let new = results_file::rows(&args.new)?;
    let path = args.out.join("changes.csv");
    let mut w =
        csv::Writer::from_path(&path).with_context(|| format!("creating {}", path.display()))?;
    w.write_record(["domain", "field", "old", "new"])?;
    let mut failed = None;
    let summary = stsmap::diff::diff(old, new, |c| {
        let cells = [c.domain.as_str(), c.field, &c.old, &c.new];
        if let Err(e) = w.write_record(
            cells
                .map(stsmap::report::cells::sanitize)
                .iter()
                .map(|c| c.as_ref()),
        ) {
            failed.get_or_insert(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    w.flush()?;
    let mut json = summary.to_json();
    json["old"] = args.old.display().to_string().into();
    json["new"] = args.new.display().to_string().into();
    let mut bytes = serde_json::to_vec_pretty(&json)?;
    bytes.push(b'\n');
    output::write_atomic(&args.out, "summary.json", &bytes)?;
    let md = summary.to_markdown(
        &args.old.display().to_string(),
        &args.new.display().to_string(),
    );
    output::write_atomic(&args.out, "summary.md", md.as_bytes())?;
    eprintln!(
        "stsmap diff: {} compared, {} changed, {} added, {} removed; {}",
        summary.compared,
        summary.changed_domains,
        summary.added,
        summary.removed,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
