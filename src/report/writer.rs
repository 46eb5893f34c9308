//! The results.csv writer.

use super::cells::sanitize;
use crate::row::{ResultRow, COLUMNS};
use std::io::{self, Write};

/// Writes rows as results.csv: a header, then one sanitized record per row.
pub struct ResultsWriter<W: Write> {
    /// The csv crate does quoting; we add sanitizing on top.
    inner: csv::Writer<W>,
}

impl<W: Write> ResultsWriter<W> {
    /// Starts a results file, writing the header.
    pub fn new(out: W) -> io::Result<Self> {
        let mut inner = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(out);
        inner.write_record(COLUMNS).map_err(csv_err)?;
        Ok(ResultsWriter { inner })
    }

    /// Continues a results file whose header is already written (resume).
    pub fn append(out: W) -> Self {
        let inner = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(out);
        ResultsWriter { inner }
    }

    /// Writes one row.
    pub fn write(&mut self, row: &ResultRow) -> io::Result<()> {
        let cells = row.to_cells();
        self.inner
            .write_record(cells.iter().map(|c| sanitize(c).into_owned()))
            .map_err(csv_err)
    }

    /// Flushes buffered rows to the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(self) -> io::Result<W> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}

fn csv_err(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::InputStatus;

    #[test]
    fn hostile_record_text_stays_on_one_line_and_cannot_become_a_formula() {
        let row = ResultRow {
            rank: 1,
            domain: "example.com".into(),
            input_status: Some(InputStatus::Ok),
            sts_record: "=cmd|' /C calc'!A0\r\nx,\"y\"".into(),
            ..Default::default()
        };
        let mut w = ResultsWriter::new(Vec::new()).unwrap();
        w.write(&row).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            2,
            "header plus exactly one physical line: {text}"
        );
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(&rec[6], "'=cmd|' /C calc'!A0\\x0D\\x0Ax,\"y\"");
    }
}
