//! Opens an input list: a path or `-` for stdin, gzip detected by its magic
//! bytes (not by the file name).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};

use flate2::read::MultiGzDecoder;

/// Read buffer size: large enough that a line rarely spans two refills.
const BUFFER: usize = 64 * 1024;

/// The two bytes every gzip member starts with (RFC 1952 §2.3.1, ID1 ID2).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` (`-` = stdin) for [`InputReader`](super::InputReader),
/// decompressing it when it starts with the gzip magic bytes. Concatenated
/// gzip members (as `cat a.gz b.gz` makes) are read as one stream.
pub fn open(path: &str) -> io::Result<Box<dyn BufRead + Send>> {
    if path == "-" {
        open_reader(io::stdin())
    } else {
        let file =
            File::open(path).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
        open_reader(file)
    }
}

/// Like [`open`] for any byte source: sniffs the first two bytes for gzip.
pub fn open_reader<R: Read + Send + 'static>(mut raw: R) -> io::Result<Box<dyn BufRead + Send>> {
    let mut magic = [0u8; 2];
    let mut n = 0;
    while n < magic.len() {
        match raw.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let whole = Cursor::new(magic[..n].to_vec()).chain(raw);
    if n == 2 && magic == GZIP_MAGIC {
        Ok(Box::new(BufReader::with_capacity(
            BUFFER,
            MultiGzDecoder::new(whole),
        )))
    } else {
        Ok(Box::new(BufReader::with_capacity(BUFFER, whole)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(r: Box<dyn BufRead + Send>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut r = r;
        r.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn plain_bytes_pass_through_unchanged() {
        assert_eq!(
            read_all(open_reader(Cursor::new(b"a.com\n".to_vec())).unwrap()),
            b"a.com\n"
        );
    }

    #[test]
    fn gzip_is_detected_by_magic_and_concatenated_members_are_read() {
        let mut data = gzip(b"a.com\n");
        data.extend(gzip(b"b.com\n"));
        assert_eq!(
            read_all(open_reader(Cursor::new(data)).unwrap()),
            b"a.com\nb.com\n"
        );
    }

    #[test]
    fn one_byte_input_is_not_mistaken_for_gzip() {
        assert_eq!(
            read_all(open_reader(Cursor::new(vec![0x1f])).unwrap()),
            vec![0x1f]
        );
        assert_eq!(read_all(open_reader(Cursor::new(Vec::new())).unwrap()), b"");
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let err = open("/nonexistent/list.csv").err().unwrap();
        assert!(err.to_string().contains("/nonexistent/list.csv"));
    }
}
