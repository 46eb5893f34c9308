//! Writing results: the CSV writer (escaping hostile values) and the run summaries.

pub mod cells;
pub mod summary;
pub mod writer;

pub use summary::{RunStats, Summary};
pub use writer::ResultsWriter;
