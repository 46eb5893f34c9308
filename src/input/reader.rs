//! Streams lines of an input list into [`InputItem`]s: one per line, except a
//! recognised header on line 1. Reads bytes (never fails on encoding) and
//! keeps at most [`MAX_LINE`] bytes of a line, so memory stays flat whatever
//! the list's length or shape.

use std::io::{self, BufRead};

use super::escape::escape_display;
use super::normalise::{normalise, InvalidReason};

/// Bytes of one line that the reader keeps; the rest of a longer line is
/// skipped and the line is `invalid` (`line of N bytes is too long`).
pub const MAX_LINE: usize = 64 * 1024;

/// Header names (case-insensitive, after trimming and unquoting) that mark
/// line 1 as a header and pick the domain column. Majestic's `Domain`,
/// Tranco-with-header's `domain`, one-column lists' `Domain`.
pub const DOMAIN_COLUMN_NAMES: &[&str] = &[
    "domain",
    "domains",
    "domain_name",
    "domainname",
    "hostname",
    "host",
    "fqdn",
    "site",
    "website",
    "url",
    "name",
];

/// Header names that pick the rank column (Majestic's `GlobalRank`).
pub const RANK_COLUMN_NAMES: &[&str] = &["rank", "globalrank", "global_rank", "position", "#"];

/// One input line, read and normalised (but not de-duplicated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputItem {
    /// 1-based physical line number (a header, when present, is line 1):
    /// what an editor shows, and what `duplicate of line N` refers to.
    pub line_no: u64,
    /// The list's rank column when it has one, else the 1-based number of
    /// the line among data lines (the line number minus the header line).
    pub rank: u64,
    /// The whole line as read, escaped for display (see `escape_display`):
    /// the `domain` cell of an invalid row.
    pub raw: String,
    /// The normalised domain, or why the line names none.
    pub parsed: Result<String, InvalidReason>,
}

/// A recognised header on line 1: it yields no item; the scan records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header line as read, escaped for display.
    pub raw: String,
    /// 0-based index of the domain column.
    pub domain_column: usize,
    /// 0-based index of the rank column, if the header names one.
    pub rank_column: Option<usize>,
}

/// Iterator over the items of one input list; see the module docs for the
/// rules. Yields `Err` only for I/O errors (a read error, a corrupt gzip
/// stream), after which it ends.
pub struct InputReader<R> {
    inner: R,
    buf: Vec<u8>,
    line_no: u64,
    header: Option<Header>,
    done: bool,
}

impl<R: BufRead> InputReader<R> {
    pub fn new(inner: R) -> Self {
        InputReader {
            inner,
            buf: Vec::with_capacity(256),
            line_no: 0,
            header: None,
            done: false,
        }
    }

    /// The header, once line 1 has been read and recognised as one.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Physical lines read so far (header included): items yielded plus one
    /// when there is a header.
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }

    fn next_item(&mut self) -> io::Result<Option<InputItem>> {
        loop {
            let Some(len) = read_line_capped(&mut self.inner, &mut self.buf, MAX_LINE)? else {
                return Ok(None);
            };
            self.line_no += 1;
            let mut line: &[u8] = &self.buf;
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if self.line_no == 1 {
                line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
                if len <= MAX_LINE as u64 {
                    if let Some(header) = detect_header(line) {
                        self.header = Some(header);
                        continue;
                    }
                }
            }
            let data_no = self.line_no - u64::from(self.header.is_some());
            let raw = escape_display(line);
            let (rank, parsed) = if len > MAX_LINE as u64 {
                let reason = InvalidReason::LineTooLong {
                    bytes: len,
                    max: MAX_LINE,
                };
                (None, Err(reason))
            } else {
                parse_line(line, self.header.as_ref())
            };
            return Ok(Some(InputItem {
                line_no: self.line_no,
                rank: rank.unwrap_or(data_no),
                raw,
                parsed,
            }));
        }
    }
}

impl<R: BufRead> Iterator for InputReader<R> {
    type Item = io::Result<InputItem>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_item() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                let context = format!("reading input after line {}: {e}", self.line_no);
                Some(Err(io::Error::new(e.kind(), context)))
            }
        }
    }
}

/// Reads one line (up to and without `\n`) into `buf`, keeping at most `max`
/// bytes. Returns the line's full length, or `None` at end of input.
/// A final line without `\n` is a line.
fn read_line_capped(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<u64>> {
    buf.clear();
    let mut total = 0u64;
    let mut any = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(any.then_some(total));
        }
        any = true;
        let newline = avail.iter().position(|&b| b == b'\n');
        let chunk = &avail[..newline.unwrap_or(avail.len())];
        let room = max.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        total += chunk.len() as u64;
        let used = chunk.len() + usize::from(newline.is_some());
        r.consume(used);
        if newline.is_some() {
            return Ok(Some(total));
        }
    }
}

/// Trims ASCII whitespace and one pair of surrounding double quotes.
fn clean_field(field: &[u8]) -> &[u8] {
    let field = field.trim_ascii();
    match field {
        [b'"', inner @ .., b'"'] => inner.trim_ascii(),
        _ => field,
    }
}

/// Line 1 is a header when one of its comma-separated fields is a known
/// domain-column name (case-insensitive).
fn detect_header(line: &[u8]) -> Option<Header> {
    let text = std::str::from_utf8(line).ok()?;
    let names: Vec<String> = text
        .split(',')
        .map(|f| String::from_utf8_lossy(clean_field(f.as_bytes())).to_ascii_lowercase())
        .collect();
    let domain_column = names
        .iter()
        .position(|n| DOMAIN_COLUMN_NAMES.contains(&n.as_str()))?;
    let rank_column = names
        .iter()
        .position(|n| RANK_COLUMN_NAMES.contains(&n.as_str()));
    Some(Header {
        raw: escape_display(line),
        domain_column,
        rank_column,
    })
}

fn is_blank(line: &[u8]) -> bool {
    std::str::from_utf8(line).is_ok_and(|t| t.chars().all(|c| c.is_whitespace() || c == '\u{feff}'))
}

fn parse_rank(field: &[u8]) -> Option<u64> {
    let field = clean_field(field);
    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Splits a data line into (rank, normalised domain) by the header's columns
/// or, without a header, as `domain` or `rank,domain`.
fn parse_line(
    line: &[u8],
    header: Option<&Header>,
) -> (Option<u64>, Result<String, InvalidReason>) {
    if is_blank(line) {
        return (None, Err(InvalidReason::EmptyLine));
    }
    let fields: Vec<&[u8]> = line.split(|&b| b == b',').collect();
    match header {
        None => match fields.as_slice() {
            [domain] => (None, normalise(clean_field(domain))),
            [rank, domain] => match parse_rank(rank) {
                Some(rank) => (Some(rank), normalise(clean_field(domain))),
                None => (None, Err(InvalidReason::UnexpectedFields { fields: 2 })),
            },
            _ => (
                None,
                Err(InvalidReason::UnexpectedFields {
                    fields: fields.len(),
                }),
            ),
        },
        Some(h) => {
            let missing = |column, index: usize| InvalidReason::MissingColumn {
                column,
                fields: fields.len(),
                index: index + 1,
            };
            let rank = match h.rank_column {
                None => None,
                Some(i) => match fields.get(i) {
                    None => return (None, Err(missing("rank", i))),
                    Some(f) => match parse_rank(f) {
                        Some(r) => Some(r),
                        None => {
                            return (
                                None,
                                Err(InvalidReason::BadRank(escape_display(clean_field(f)))),
                            )
                        }
                    },
                },
            };
            match fields.get(h.domain_column) {
                None => (rank, Err(missing("domain", h.domain_column))),
                Some(f) => (rank, normalise(clean_field(f))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InvalidReason::*;

    fn read(input: &[u8]) -> (Vec<InputItem>, Option<Header>, u64) {
        let mut r = InputReader::new(input);
        let items: Vec<_> = r.by_ref().map(Result::unwrap).collect();
        (items, r.header().cloned(), r.lines_read())
    }

    fn parsed(input: &[u8]) -> Vec<(u64, Result<String, InvalidReason>)> {
        read(input)
            .0
            .into_iter()
            .map(|i| (i.rank, i.parsed))
            .collect()
    }

    #[test]
    fn one_domain_per_line_ranks_by_line() {
        assert_eq!(
            parsed(b"a.com\nb.org\n"),
            vec![(1, Ok("a.com".into())), (2, Ok("b.org".into()))]
        );
    }

    #[test]
    fn rank_domain_csv_takes_the_rank_column() {
        assert_eq!(
            parsed(b"7,a.com\n9,b.org\n"),
            vec![(7, Ok("a.com".into())), (9, Ok("b.org".into()))]
        );
    }

    #[test]
    fn crlf_bom_and_missing_final_newline_are_handled() {
        let (items, header, lines) = read(b"\xef\xbb\xbfa.com\r\nb.org");
        assert!(header.is_none());
        assert_eq!(lines, 2);
        assert_eq!(items[0].parsed, Ok("a.com".into()));
        assert_eq!(items[1].parsed, Ok("b.org".into()));
        assert_eq!(items[1].raw, "b.org");
    }

    #[test]
    fn one_column_header_is_consumed_and_ranks_count_data_lines() {
        let (items, header, lines) = read(b"Domain\r\ngoogle.com\r\nmail.ru");
        assert_eq!(header.unwrap().domain_column, 0);
        assert_eq!(lines, 3);
        assert_eq!(items.len(), 2);
        assert_eq!((items[0].line_no, items[0].rank), (2, 1));
        assert_eq!((items[1].line_no, items[1].rank), (3, 2));
    }

    #[test]
    fn majestic_header_picks_domain_and_globalrank_columns() {
        let input = b"GlobalRank,TldRank,Domain,TLD,RefSubNets\n1,1,google.com,com,1\n2,2,facebook.com,com,2\n";
        let (items, header, _) = read(input);
        let h = header.unwrap();
        assert_eq!((h.domain_column, h.rank_column), (2, Some(0)));
        assert_eq!(items[1].rank, 2);
        assert_eq!(items[1].parsed, Ok("facebook.com".into()));
    }

    #[test]
    fn header_only_recognised_on_line_one() {
        let items = parsed(b"a.com\ndomain\n");
        assert_eq!(items[1].1, Err(SingleLabel));
    }

    #[test]
    fn blank_lines_each_yield_an_empty_line_item() {
        let items = parsed(b"a.com\n\n \r\n\t\n");
        assert_eq!(items.len(), 4);
        assert!(items[1..].iter().all(|(_, p)| *p == Err(EmptyLine)));
    }

    #[test]
    fn headerless_lines_of_other_shapes_are_invalid() {
        assert_eq!(
            parsed(b"a.com,b.com\n")[0].1,
            Err(UnexpectedFields { fields: 2 })
        );
        assert_eq!(
            parsed(b"1,a.com,x\n")[0].1,
            Err(UnexpectedFields { fields: 3 })
        );
        assert_eq!(parsed(b"1,\n")[0].1, Err(EmptyDomain));
    }

    #[test]
    fn header_rows_missing_columns_or_with_bad_rank_are_invalid() {
        let items = parsed(b"rank,domain\n1\nx,a.com\n3,\"B.com\"\n");
        assert_eq!(
            items[0].1,
            Err(MissingColumn {
                column: "domain",
                fields: 1,
                index: 2
            })
        );
        assert_eq!(items[1].1, Err(BadRank("x".into())));
        assert_eq!(items[2], (3, Ok("b.com".into())));
    }

    #[test]
    fn non_utf8_line_is_an_item_with_escaped_raw() {
        let (items, _, _) = read(b"ex\xffample.com\nok.com\n");
        assert_eq!(items[0].parsed, Err(NotUtf8));
        assert_eq!(items[0].raw, "ex\\xffample.com");
        assert_eq!(items[1].parsed, Ok("ok.com".into()));
    }

    #[test]
    fn over_long_line_is_skipped_to_its_end_and_reported() {
        let mut input = vec![b'a'; MAX_LINE + 5];
        input.extend_from_slice(b"\nb.com\n");
        let (items, _, _) = read(&input);
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].parsed,
            Err(LineTooLong {
                bytes: MAX_LINE as u64 + 5,
                max: MAX_LINE
            })
        );
        assert_eq!(items[1].parsed, Ok("b.com".into()));
    }

    #[test]
    fn lines_split_across_small_buffers_are_reassembled() {
        let r = io::BufReader::with_capacity(3, &b"alpha.com\r\nbeta.org\n"[..]);
        let got: Vec<_> = InputReader::new(r).map(|i| i.unwrap().parsed).collect();
        assert_eq!(got, vec![Ok("alpha.com".into()), Ok("beta.org".into())]);
    }

    proptest::proptest! {
        #[test]
        fn every_line_yields_one_item_except_a_header(
            bytes in proptest::collection::vec(
                proptest::sample::select(b"ab.,1\n\r \xff\xef\xbb\xbfdomain".to_vec()), 0..200)
        ) {
            let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            let lines = newlines + u64::from(bytes.last().is_some_and(|&b| b != b'\n'));
            let (items, header, read_lines) = read(&bytes);
            proptest::prop_assert_eq!(read_lines, lines);
            proptest::prop_assert_eq!(items.len() as u64 + u64::from(header.is_some()), lines);
            for (i, item) in items.iter().enumerate() {
                proptest::prop_assert_eq!(item.line_no, i as u64 + 1 + u64::from(header.is_some()));
            }
        }
    }

    #[test]
    fn read_error_names_the_last_line_read_and_ends_the_iteration() {
        let gz = {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&b"a.com\n".repeat(50_000)).unwrap();
            e.finish().unwrap()
        };
        let truncated = gz[..gz.len() / 2].to_vec();
        let source = super::super::open_reader(io::Cursor::new(truncated)).unwrap();
        let mut r = InputReader::new(source);
        let err = r
            .by_ref()
            .find_map(Result::err)
            .expect("a truncated gzip stream is an error");
        assert!(
            err.to_string().starts_with("reading input after line "),
            "{err}"
        );
        assert!(r.next().is_none());
    }

    #[test]
    fn empty_input_yields_nothing() {
        assert_eq!(read(b"").2, 0);
        assert_eq!(parsed(b"\n"), vec![(1, Err(EmptyLine))]);
    }
}
