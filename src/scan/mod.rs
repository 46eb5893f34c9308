//! `stsmap scan`: the streaming survey.

pub mod assemble;
pub mod explain;
pub mod output;
pub mod pipeline;
pub mod progress;
pub mod results_file;
pub mod resume;
pub mod run;
pub mod spill;

pub use run::{run, ScanConfig, ScanReport, Scanner};

use crate::input::Screened;
use crate::row::ResultRow;

/// The row of an input line that is not scanned (invalid or duplicate).
pub fn unscanned_row(line: &Screened) -> ResultRow {
    ResultRow {
        rank: line.rank,
        domain: line.domain.clone(),
        input_status: Some(line.status()),
        input_error: line.input_error(),
        ..Default::default()
    }
}
