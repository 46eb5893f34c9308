//! Reads an input list the way `stsmap scan` does (open → InputReader →
//! Deduper) and prints what it found and how fast: used to measure the input
//! stage's throughput and memory (docs/input.md).
//!
//! cargo run --release --example input_stats -- LIST [--dedup off]

use std::collections::BTreeMap;
use std::time::Instant;

use stsmap::input::{open, DedupMode, Deduper, InputReader, Screening, Verdict};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().map(String::as_str).unwrap_or("-");
    let mode = if args.iter().any(|a| a == "off") {
        DedupMode::Off
    } else {
        DedupMode::Exact
    };
    let start = Instant::now();
    let mut lines = Screening::new(InputReader::new(open(path)?), Deduper::new(mode));
    let (mut ok, mut dup, mut invalid) = (0u64, 0u64, 0u64);
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for line in lines.by_ref() {
        match line?.verdict {
            Verdict::Ok => ok += 1,
            Verdict::Duplicate { .. } => dup += 1,
            Verdict::Invalid(r) => {
                invalid += 1;
                // Group by the reason's kind, not its details.
                let text = r.to_string();
                let kind = text.split(" (").next().unwrap_or(&text).to_owned();
                *reasons.entry(kind).or_default() += 1;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let total = ok + dup + invalid;
    println!("rows {total}: ok {ok}, duplicate {dup}, invalid {invalid}");
    println!("distinct remembered: {}", lines.deduper().len());
    println!("{secs:.3} s, {:.0} lines/s", total as f64 / secs);
    let mut by_count: Vec<_> = reasons.into_iter().collect();
    by_count.sort_by_key(|e| std::cmp::Reverse(e.1));
    for (reason, n) in by_count.iter().take(15) {
        println!("  {n:>8}  {reason}");
    }
    Ok(())
}
