//! De-duplication of normalised domains, and the final input verdict of a
//! line (`ok`, `invalid`, `duplicate`).
//!
//! Exact de-duplication must remember every domain seen, so it is the one
//! part of input handling whose memory grows with the list. It keeps a
//! 128-bit digest (SHA-256, truncated) and the first line number per distinct
//! domain: 24 bytes a slot in a hash table that is 44–88% full, measured in
//! docs/input.md. [`DedupMode::Off`] keeps nothing: every valid line is `ok`.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::io;

use super::normalise::InvalidReason;
use super::reader::InputItem;
use crate::row::InputStatus;

/// Whether a repeated domain is reported as `duplicate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DedupMode {
    /// Every later occurrence of a normalised domain is `duplicate of line N`.
    /// Memory: one table slot per distinct domain (see docs/input.md).
    #[default]
    Exact,
    /// No memory kept; repeats are scanned again and reported `ok`.
    Off,
}

/// A SHA-256 digest of the domain, truncated to 128 bits. Distinct domains
/// collide with probability about n²/2¹²⁹ (below 10⁻²⁰ at a billion names),
/// and SHA-256 makes collisions impractical to craft in a hostile list.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key(u64, u64);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

/// The key is already a uniform digest: use its first word as the hash.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

fn key(domain: &str) -> Key {
    let d = ring::digest::digest(&ring::digest::SHA256, domain.as_bytes());
    let b = d.as_ref();
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    Key(word(0), word(8))
}

/// Remembers the first line of each normalised domain.
pub struct Deduper {
    seen: Option<HashMap<Key, u64, BuildHasherDefault<KeyHasher>>>,
}

impl Deduper {
    pub fn new(mode: DedupMode) -> Self {
        Deduper {
            seen: match mode {
                DedupMode::Exact => Some(HashMap::default()),
                DedupMode::Off => None,
            },
        }
    }

    /// Records `domain` as first seen on `line_no`, or returns the line it was
    /// first seen on. With [`DedupMode::Off`] always `None`.
    pub fn check(&mut self, domain: &str, line_no: u64) -> Option<u64> {
        let seen = self.seen.as_mut()?;
        match seen.entry(key(domain)) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(line_no);
                None
            }
        }
    }

    /// Distinct domains remembered.
    pub fn len(&self) -> usize {
        self.seen.as_ref().map_or(0, HashMap::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The final verdict on one item.
    pub fn screen(&mut self, item: InputItem) -> Screened {
        let (domain, verdict) = match item.parsed {
            Err(reason) => (item.raw, Verdict::Invalid(reason)),
            Ok(domain) => match self.check(&domain, item.line_no) {
                Some(first_line) => (domain, Verdict::Duplicate { first_line }),
                None => (domain, Verdict::Ok),
            },
        };
        Screened {
            line_no: item.line_no,
            rank: item.rank,
            domain,
            verdict,
        }
    }
}

/// Why a line is or is not scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A valid domain seen for the first time: scan it.
    Ok,
    /// Not a valid domain.
    Invalid(InvalidReason),
    /// The same normalised domain was first seen on `first_line`.
    Duplicate { first_line: u64 },
}

/// `Display` is the `input_error` cell: empty for `Ok`.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Ok => Ok(()),
            Verdict::Invalid(reason) => reason.fmt(f),
            Verdict::Duplicate { first_line } => write!(f, "duplicate of line {first_line}"),
        }
    }
}

/// One input line with its final verdict: the input columns of its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screened {
    /// 1-based physical line number.
    pub line_no: u64,
    /// The `rank` cell.
    pub rank: u64,
    /// The `domain` cell: the normalised domain, or for an invalid line the
    /// line as read (escaped).
    pub domain: String,
    pub verdict: Verdict,
}

impl Screened {
    /// The `input_status` cell.
    pub fn status(&self) -> InputStatus {
        match self.verdict {
            Verdict::Ok => InputStatus::Ok,
            Verdict::Invalid(_) => InputStatus::Invalid,
            Verdict::Duplicate { .. } => InputStatus::Duplicate,
        }
    }

    /// The `input_error` cell (empty for `ok`).
    pub fn input_error(&self) -> String {
        self.verdict.to_string()
    }

    /// Only `ok` lines are scanned.
    pub fn is_scanned(&self) -> bool {
        self.verdict == Verdict::Ok
    }
}

/// Iterator adapter: items → screened lines, in input order.
pub struct Screening<I> {
    items: I,
    dedup: Deduper,
}

impl<I> Screening<I> {
    pub fn new(items: I, dedup: Deduper) -> Self {
        Screening { items, dedup }
    }

    pub fn deduper(&self) -> &Deduper {
        &self.dedup
    }
}

impl<I: Iterator<Item = io::Result<InputItem>>> Iterator for Screening<I> {
    type Item = io::Result<Screened>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.items.next()?.map(|item| self.dedup.screen(item)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(line_no: u64, parsed: Result<&str, InvalidReason>) -> InputItem {
        InputItem {
            line_no,
            rank: line_no,
            raw: format!("raw{line_no}"),
            parsed: parsed.map(str::to_owned),
        }
    }

    #[test]
    fn later_occurrence_is_duplicate_of_the_first_line() {
        let mut d = Deduper::new(DedupMode::Exact);
        assert_eq!(d.screen(item(3, Ok("a.com"))).verdict, Verdict::Ok);
        assert_eq!(d.screen(item(4, Ok("b.com"))).verdict, Verdict::Ok);
        let dup = d.screen(item(9, Ok("a.com")));
        assert_eq!(dup.status(), InputStatus::Duplicate);
        assert_eq!(dup.input_error(), "duplicate of line 3");
        assert_eq!(dup.domain, "a.com");
        assert_eq!(
            d.screen(item(10, Ok("a.com"))).input_error(),
            "duplicate of line 3"
        );
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn invalid_lines_show_raw_and_are_not_remembered() {
        let mut d = Deduper::new(DedupMode::Exact);
        let s = d.screen(item(1, Err(InvalidReason::EmptyLine)));
        assert_eq!(
            (s.status(), s.domain.as_str()),
            (InputStatus::Invalid, "raw1")
        );
        assert_eq!(s.input_error(), "empty line");
        assert!(d.is_empty());
    }

    #[test]
    fn off_mode_reports_repeats_as_ok() {
        let mut d = Deduper::new(DedupMode::Off);
        assert!(d.screen(item(1, Ok("a.com"))).is_scanned());
        assert!(d.screen(item(2, Ok("a.com"))).is_scanned());
        assert_eq!(d.len(), 0);
    }

    #[test]
    fn ok_has_empty_input_error() {
        let mut d = Deduper::new(DedupMode::Exact);
        assert_eq!(d.screen(item(1, Ok("a.com"))).input_error(), "");
    }
}
