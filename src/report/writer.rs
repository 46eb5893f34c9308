//! The results.csv writer.

use super::cells::sanitize;
use crate::row::{ResultRow, COLUMNS};
use std::io::{self, Write};

/// Encodes rows as results.csv records: sanitized cells, CSV quoting, one line each.
pub struct RowRenderer {
    /// The csv crate does quoting; we add sanitizing on top.
    csv: csv::Writer<SharedBuf>,
    buf: SharedBuf,
}

/// The renderer's output buffer, shared with the csv writer that fills it.
#[derive(Clone, Default)]
struct SharedBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuf {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Write for SharedBuf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Default for RowRenderer {
    fn default() -> Self {
        let buf = SharedBuf::default();
        RowRenderer {
            csv: csv::WriterBuilder::new()
                .has_headers(false)
                .buffer_capacity(1024)
                .from_writer(buf.clone()),
            buf,
        }
    }
}

impl RowRenderer {
    /// One row's record, newline included.
    pub fn render(&mut self, row: &ResultRow) -> Box<[u8]> {
        let cells = row.to_cells();
        self.record(cells.iter().map(|c| sanitize(c).into_owned()))
    }

    fn record<I, T>(&mut self, cells: I) -> Box<[u8]>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        // Writing into memory cannot fail; flush moves the record out of csv's buffer.
        let _ = self.csv.write_record(cells);
        let _ = self.csv.flush();
        self.buf.take().into_boxed_slice()
    }
}

/// Writes rows as results.csv: a header, then one sanitized record per row.
pub struct ResultsWriter<W: Write> {
    out: W,
    renderer: RowRenderer,
}

impl<W: Write> ResultsWriter<W> {
    /// Starts a results file, writing the header.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut renderer = RowRenderer::default();
        out.write_all(&renderer.record(COLUMNS))?;
        Ok(ResultsWriter { out, renderer })
    }

    /// Continues a results file whose header is already written (resume).
    pub fn append(out: W) -> Self {
        ResultsWriter {
            out,
            renderer: RowRenderer::default(),
        }
    }

    /// Writes one row.
    pub fn write(&mut self, row: &ResultRow) -> io::Result<()> {
        let record = self.renderer.render(row);
        self.out.write_all(&record)
    }

    /// Writes one row already encoded by a [`RowRenderer`].
    pub fn write_rendered(&mut self, record: &[u8]) -> io::Result<()> {
        self.out.write_all(record)
    }

    /// Flushes buffered rows to the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Returns the underlying writer (which the caller flushes or finishes).
    pub fn into_inner(self) -> io::Result<W> {
        Ok(self.out)
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
