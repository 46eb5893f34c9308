//! The input reader against real, dirty top-site lists and a hand-written
//! dirty fixture: every line accounted for exactly once.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use stsmap::input::{
    open, open_reader, DedupMode, Deduper, InputReader, InvalidReason, Screened, Screening,
};
use stsmap::row::InputStatus;

fn shared_list(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/lists");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "missing {}: these tests read the real lists in ../shared/data/lists beside the checkout",
        path.display()
    );
    path
}

/// Lines counted independently of the reader: each `\n` ends one, and bytes
/// after the last `\n` are one more.
fn count_lines(bytes: &[u8]) -> u64 {
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    newlines + u64::from(bytes.last().is_some_and(|&b| b != b'\n'))
}

struct Tally {
    lines: u64,
    header_lines: u64,
    rows: Vec<Screened>,
}

fn screen_path(path: &Path) -> Tally {
    let mut reader = InputReader::new(open(path.to_str().unwrap()).unwrap());
    let mut dedup = Deduper::new(DedupMode::Exact);
    let rows: Vec<Screened> = reader
        .by_ref()
        .map(|item| dedup.screen(item.unwrap()))
        .collect();
    Tally {
        lines: reader.lines_read(),
        header_lines: u64::from(reader.header().is_some()),
        rows,
    }
}

/// Every physical line yields one row except the header, in order, with no
/// gap and no repeat.
fn assert_every_line_once(path: &Path) -> Tally {
    let expected = count_lines(&fs::read(path).unwrap());
    let t = screen_path(path);
    assert_eq!(t.lines, expected, "{}: lines read", path.display());
    assert_eq!(
        t.rows.len() as u64 + t.header_lines,
        expected,
        "{}: rows + header",
        path.display()
    );
    for (i, row) in t.rows.iter().enumerate() {
        assert_eq!(row.line_no, i as u64 + 1 + t.header_lines);
    }
    t
}

fn count(t: &Tally, status: InputStatus) -> usize {
    t.rows.iter().filter(|r| r.status() == status).count()
}

#[test]
fn umbrella_list_with_945k_blank_crlf_lines_has_one_row_per_line() {
    let t = assert_every_line_once(&shared_list("tom-martin01-ciscoumb_top-10k.csv"));
    assert_eq!(t.lines, 955_335);
    let blank = t
        .rows
        .iter()
        .filter(|r| r.verdict == stsmap::input::Verdict::Invalid(InvalidReason::EmptyLine))
        .count();
    assert_eq!(blank, 945_335);
    assert_eq!(t.rows[0].domain, "google.com");
    assert_eq!(
        count(&t, InputStatus::Ok)
            + count(&t, InputStatus::Duplicate)
            + count(&t, InputStatus::Invalid),
        t.rows.len()
    );
}

#[test]
fn crlf_one_column_list_with_header_and_no_final_newline_is_read_whole() {
    let t = assert_every_line_once(&shared_list("LimoWagdy-TrancoTop10k_top-10k.csv"));
    assert_eq!((t.lines, t.header_lines, t.rows.len()), (10_001, 1, 10_000));
    assert_eq!(
        (t.rows[0].rank, t.rows[0].domain.as_str()),
        (1, "google.com")
    );
    let last = t.rows.last().unwrap();
    assert_eq!(
        (last.rank, last.domain.as_str()),
        (10_000, "upbhulekh.gov.in")
    );
}

#[test]
fn tranco_style_rank_domain_list_keeps_its_ranks() {
    let t = assert_every_line_once(&shared_list("kmikholap-dns-gen_top-1m_50k.csv"));
    assert_eq!(t.rows.len(), 50_526);
    assert!(t.rows.iter().all(|r| r.rank == r.line_no));
    assert_eq!(t.rows[2].domain, "mail.ru");
}

#[test]
fn alexa_list_is_read_whole() {
    let t = assert_every_line_once(&shared_list("phunterlau-dga_classifier_alexa-top-100k.csv"));
    assert_eq!(t.rows.len(), 100_000);
    assert_eq!(
        (t.rows[99_999].rank, t.rows[99_999].domain.as_str()),
        (100_000, "interval.cz")
    );
}

#[test]
fn gzipped_list_reads_the_same_as_the_plain_one() {
    let plain_path = shared_list("kmikholap-dns-gen_top-1m_50k.csv");
    let plain = fs::read(&plain_path).unwrap();
    let gz_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tranco-50k.csv.data");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&plain).unwrap();
    fs::write(&gz_path, enc.finish().unwrap()).unwrap();
    let from_gz = screen_path(&gz_path);
    let from_plain = screen_path(&plain_path);
    assert_eq!(from_gz.rows, from_plain.rows);
}

#[test]
fn dirty_fixture_rows_match_the_hand_written_expectations() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let input = fs::read(fixtures.join("dirty-input.txt")).unwrap();
    let expected = fs::read_to_string(fixtures.join("dirty-input.expected.tsv")).unwrap();
    let reader = InputReader::new(open_reader(std::io::Cursor::new(input.clone())).unwrap());
    let got: Vec<String> = Screening::new(reader, Deduper::new(DedupMode::Exact))
        .map(|r| {
            let r = r.unwrap();
            format!(
                "{}\t{}\t{}\t{}\t{}",
                r.line_no,
                r.rank,
                r.status(),
                r.domain,
                r.input_error()
            )
        })
        .collect();
    let want: Vec<&str> = expected.lines().skip(1).collect();
    assert_eq!(got.len() as u64, count_lines(&input));
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
    assert_eq!(got.len(), want.len());
}
