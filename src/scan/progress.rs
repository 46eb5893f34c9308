//! Progress on stderr: an indicatif bar on a terminal, a log line every few
//! seconds otherwise (cron, nohup, CI logs).

use super::pipeline::Observer;
use crate::row::{Classification, ResultRow};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bar on a terminal, log lines otherwise.
    Auto,
    /// Nothing.
    Quiet,
}

/// Tracks and shows progress of a scan.
pub struct Progress {
    /// The bar, when stderr is a terminal.
    bar: Option<ProgressBar>,
    /// Whether to print log lines (not a terminal, not quiet).
    log: bool,
    /// Lines expected in all, when the input could be counted.
    total: Option<u64>,
    /// Rows written so far.
    done: u64,
    /// Rows whose lookups failed (classification dns_error).
    errors: u64,
    /// Domains in flight at the last dispatch.
    in_flight: usize,
    started: Instant,
    last_log: Instant,
    /// Time between log lines.
    every: Duration,
}

impl Progress {
    pub fn new(mode: ProgressMode, total: Option<u64>, already_done: u64) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (mode == ProgressMode::Auto && terminal).then(|| {
            let bar = match total {
                Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_position(already_done);
            bar
        });
        let now = Instant::now();
        Progress {
            bar,
            log: mode == ProgressMode::Auto && !terminal,
            total,
            done: already_done,
            errors: 0,
            in_flight: 0,
            started: now,
            last_log: now,
            every: Duration::from_secs(5),
        }
    }

    /// One log line with the current counts.
    pub fn line(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let total = self.total.map(|t| format!("/{t}")).unwrap_or_default();
        format!(
            "stsmap: {}{total} rows, {:.0}/s, {} in flight, {} dns errors, {:.0}s elapsed",
            self.done,
            self.done as f64 / secs,
            self.in_flight,
            self.errors,
            secs
        )
    }

    /// Ends the bar (leaving it on screen).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
        if self.log {
            eprintln!("{}", self.line());
        }
    }
}

impl Observer for Progress {
    fn started(&mut self, in_flight: usize) {
        self.in_flight = in_flight;
    }

    fn finished(&mut self, row: &ResultRow) {
        self.done += 1;
        if row.classification == Some(Classification::DnsError) {
            self.errors += 1;
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if self.done.is_multiple_of(256) {
                bar.set_message(format!(
                    "{} in flight, {} errors",
                    self.in_flight, self.errors
                ));
            }
        } else if self.log && self.last_log.elapsed() >= self.every {
            self.last_log = Instant::now();
            eprintln!("{}", self.line());
        }
    }
}
