//! The scan's input: a list of domains streamed line by line into
//! [`InputItem`]s, normalised, validated, then de-duplicated into
//! [`Screened`] lines that give each row's `rank`, `domain`, `input_status`
//! and `input_error`. Rules for users are in docs/input.md.
//!
//! Guarantees:
//! - Every physical line yields exactly one item, except a recognised header
//!   on line 1, which yields none and is available from
//!   [`InputReader::header`]. So `items + header lines == lines`, where a line
//!   ends with `\n` or is the final unterminated bytes.
//! - Content never fails the run: bad bytes, blank lines, URLs, over-long
//!   lines all become `invalid` items with a reason. Only I/O errors (a read
//!   error, a corrupt gzip stream) are `Err`.
//! - The reader's memory is bounded ([`MAX_LINE`] bytes of line buffer);
//!   only exact de-duplication ([`Deduper`]) grows, by one slot per distinct
//!   domain.
//!
//! ```no_run
//! use stsmap::input::{open, DedupMode, Deduper, InputReader, Screening};
//! let lines = Screening::new(InputReader::new(open("top-1m.csv.gz")?), Deduper::new(DedupMode::Exact));
//! for line in lines {
//!     let line = line?;
//!     println!("{},{},{},{}", line.rank, line.domain, line.status(), line.input_error());
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

mod dedup;
mod escape;
mod normalise;
mod open;
mod reader;

pub use dedup::{DedupMode, Deduper, Screened, Screening, Verdict};
pub use escape::{escape_display, MAX_SHOWN};
pub use normalise::{normalise, InvalidReason, MAX_LABEL, MAX_NAME};
pub use open::{open, open_reader};
pub use reader::{
    Header, InputItem, InputReader, DOMAIN_COLUMN_NAMES, MAX_LINE, RANK_COLUMN_NAMES,
};

/// The usual input stage: lines read from `reader`, normalised, and screened
/// for duplicates exactly (see docs/input.md for the memory this takes).
pub fn screen<R: std::io::BufRead>(reader: R) -> Screening<InputReader<R>> {
    Screening::new(InputReader::new(reader), Deduper::new(DedupMode::Exact))
}
