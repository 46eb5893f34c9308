//! results.csv, plain or compressed (`--compress gzip|zstd` → results.csv.gz /
//! results.csv.zst), written and read back.
//!
//! A compressed stream is only complete once its trailer is written, so
//! `--resume` is refused for compressed runs: an interrupted compressed file may
//! end mid-block, and cutting it at the last complete row would mean rewriting
//! it. Scan uncompressed when you expect to resume, or re-run with `--force`.

use crate::row::{ResultRow, COLUMNS};
use anyhow::{bail, Context};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// How results.csv is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub const ALL: [Compression; 3] = [Compression::None, Compression::Gzip, Compression::Zstd];

    /// The results file name for this compression.
    pub fn file_name(self) -> &'static str {
        match self {
            Compression::None => "results.csv",
            Compression::Gzip => "results.csv.gz",
            Compression::Zstd => "results.csv.zst",
        }
    }

    /// The name used in manifests and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// The results file present in `dir`, if any (plain first).
pub fn find(dir: &Path) -> Option<(PathBuf, Compression)> {
    Compression::ALL
        .iter()
        .map(|&c| (dir.join(c.file_name()), c))
        .find(|(p, _)| p.exists())
}

/// A results file being written; [`Sink::finish`] writes a compressed trailer.
pub enum Sink {
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Sink {
    /// Wraps `file` (already positioned) for `compression`.
    pub fn new(file: File, compression: Compression) -> io::Result<Sink> {
        let buf = BufWriter::with_capacity(1 << 16, file);
        Ok(match compression {
            Compression::None => Sink::Plain(buf),
            Compression::Gzip => Sink::Gzip(flate2::write::GzEncoder::new(
                buf,
                flate2::Compression::default(),
            )),
            Compression::Zstd => Sink::Zstd(zstd::stream::write::Encoder::new(buf, 3)?),
        })
    }

    /// Ends the stream (compressed trailer) and syncs the file.
    pub fn finish(self) -> io::Result<()> {
        let buf = match self {
            Sink::Plain(b) => b,
            Sink::Gzip(g) => g.finish()?,
            Sink::Zstd(z) => z.finish()?,
        };
        let file = buf.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(b),
            Sink::Gzip(w) => w.write(b),
            Sink::Zstd(w) => w.write(b),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
            Sink::Zstd(w) => w.flush(),
        }
    }
}

/// Opens the results file of `dir`, decompressing as needed.
pub fn open(dir: &Path) -> anyhow::Result<(PathBuf, Box<dyn BufRead + Send>)> {
    let Some((path, compression)) = find(dir) else {
        bail!("{} holds no results.csv(.gz|.zst)", dir.display());
    };
    let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let reader: Box<dyn BufRead + Send> = match compression {
        Compression::None => Box::new(BufReader::with_capacity(1 << 16, file)),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(BufReader::new(file)),
        )),
        Compression::Zstd => Box::new(BufReader::with_capacity(
            1 << 16,
            zstd::stream::read::Decoder::new(file)?,
        )),
    };
    Ok((path, reader))
}

/// Reads results rows as raw CSV records, checking the header.
pub struct Records {
    path: PathBuf,
    inner: csv::StringRecordsIntoIter<Box<dyn BufRead + Send>>,
    line: u64,
}

impl Records {
    /// The rows of the results file in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Records> {
        let (path, reader) = open(dir)?;
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(reader);
        let header = r
            .headers()
            .with_context(|| format!("reading {}", path.display()))?;
        if header.len() < COLUMNS.len() || header.iter().zip(COLUMNS).any(|(a, b)| a != *b) {
            bail!(
                "{} does not start with the results.csv header",
                path.display()
            );
        }
        Ok(Records {
            path,
            inner: r.into_records(),
            line: 1,
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Iterator for Records {
    type Item = anyhow::Result<csv::StringRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        let rec = self.inner.next()?;
        self.line += 1;
        Some(rec.with_context(|| format!("{} line {}", self.path.display(), self.line)))
    }
}

/// A raw record as a row.
pub fn to_row(record: &csv::StringRecord) -> anyhow::Result<ResultRow> {
    let cells: Vec<&str> = record.iter().collect();
    ResultRow::from_cells(&cells).map_err(anyhow::Error::msg)
}

/// Iterates the rows of the results file in `dir`.
pub fn rows(dir: &Path) -> anyhow::Result<impl Iterator<Item = anyhow::Result<ResultRow>>> {
    let records = Records::open(dir)?;
    let path = records.path().to_path_buf();
    Ok(records.map(move |r| {
        r.and_then(|r| to_row(&r))
            .with_context(|| format!("reading {}", path.display()))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ResultsWriter;
    use crate::row::InputStatus;

    #[test]
    fn every_compression_reads_back_the_rows_it_wrote() {
        let row = ResultRow {
            rank: 7,
            domain: "example.com".into(),
            input_status: Some(InputStatus::Ok),
            ..Default::default()
        };
        for c in Compression::ALL {
            let dir = std::env::temp_dir().join(format!(
                "stsmap-rf-{}-{}",
                std::process::id(),
                c.as_str()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let file = File::create(dir.join(c.file_name())).unwrap();
            let mut w = ResultsWriter::new(Sink::new(file, c).unwrap()).unwrap();
            w.write(&row).unwrap();
            w.into_inner().unwrap().finish().unwrap();
            assert_eq!(find(&dir).unwrap().1, c);
            let back: Vec<ResultRow> = rows(&dir).unwrap().map(|r| r.unwrap()).collect();
            assert_eq!(back, vec![row.clone()], "{c:?}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
