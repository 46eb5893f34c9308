//! Zone-file export: the DNS side of the world as one RFC 1035 master file with origin `.`,
//! so NSD, Knot or BIND can serve the same world unchanged.
//!
//! ```text
//! RFC 1035 5.1: <domain-name> [<TTL>] [<class>] <type> <RDATA>
//!   "\DDD  where each D is a digit is the octet corresponding to the decimal number"
//!   "\X    where X is any character other than a digit (0-9), is used to quote that character"
//!   <character-string> is "expressed in one or two ways: as a contiguous set of characters
//!   without interior spaces, or as a string beginning with a " and ending with a "."
//! ```

use super::wire::{self, APEX_MAILBOX, APEX_NS, APEX_SOA_TIMERS, APEX_TTL};
use super::world::{AnswerSink, LabAddrs, World};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The query types asked of the world for every exported name.
const EXPORT_TYPES: [u16; 5] = [wire::TYPE_CNAME, wire::TYPE_A, wire::TYPE_AAAA, wire::TYPE_MX, wire::TYPE_TXT];

/// Writes the `$ORIGIN`, `$TTL`, SOA and NS lines of the lab zone.
pub fn write_apex(out: &mut impl Write) -> io::Result<()> {
    let [serial, refresh, retry, expire, minimum] = APEX_SOA_TIMERS;
    writeln!(out, "$ORIGIN .")?;
    writeln!(out, "$TTL {APEX_TTL}")?;
    writeln!(
        out,
        ".\t{APEX_TTL}\tIN\tSOA\t{APEX_NS}. {APEX_MAILBOX}. {serial} {refresh} {retry} {expire} {minimum}"
    )?;
    writeln!(out, ".\t{APEX_TTL}\tIN\tNS\t{APEX_NS}.")
}

/// Exports names of a world, each once, following CNAME targets and MX exchanges so every
/// in-world name an answer mentions is in the zone too.
pub struct ZoneExporter<'w> {
    world: &'w World,
    addrs: LabAddrs,
    seen: HashSet<String>,
    /// Names written (owners with at least one record).
    pub names_written: usize,
    /// Records written.
    pub records_written: usize,
}

impl<'w> ZoneExporter<'w> {
    pub fn new(world: &'w World, addrs: LabAddrs) -> Self {
        ZoneExporter {
            world,
            addrs,
            seen: HashSet::new(),
            names_written: 0,
            records_written: 0,
        }
    }

    /// Writes every record owned by `name` (lowercase, no trailing dot), then the names its
    /// records point to. A name already exported is skipped.
    pub fn export(&mut self, name: &str, out: &mut impl Write) -> io::Result<()> {
        let mut todo = vec![name.trim_end_matches('.').to_ascii_lowercase()];
        while let Some(name) = todo.pop() {
            if name.is_empty() || !self.seen.insert(name.clone()) {
                continue;
            }
            let mut sink = ZoneSink::default();
            for t in EXPORT_TYPES {
                let _ = self.world.resolve(&name, t, &self.addrs, &mut sink);
            }
            let mut lines = HashSet::new();
            let mut wrote = false;
            for rec in &sink.records {
                if rec.owner != name {
                    continue;
                }
                if let Some(t) = &rec.target {
                    todo.push(t.clone());
                }
                if lines.insert(rec.line.as_str()) {
                    writeln!(out, "{}", rec.line)?;
                    self.records_written += 1;
                    wrote = true;
                }
            }
            self.names_written += usize::from(wrote);
        }
        Ok(())
    }
}

/// One record as zone-file text.
#[derive(Debug)]
struct Record {
    /// Lowercase owner, no trailing dot (to compare with the exported name).
    owner: String,
    /// A name the record points to (CNAME target, MX exchange), lowercase, no trailing dot.
    target: Option<String>,
    line: String,
}

/// An [`AnswerSink`] that renders records as RFC 1035 master-file lines.
#[derive(Debug, Default)]
pub struct ZoneSink {
    records: Vec<Record>,
}

impl ZoneSink {
    /// The rendered lines, in the order the world gave them.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.records.iter().map(|r| r.line.as_str())
    }

    fn push(&mut self, owner: &[&str], ttl: u32, rtype: &str, rdata: &str, target: Option<&[&str]>) {
        let owner = owner.concat();
        let owner = owner.trim_end_matches('.').to_ascii_lowercase();
        let mut line = String::new();
        push_name(&mut line, &owner);
        let _ = write!(line, "\t{ttl}\tIN\t{rtype}\t{rdata}");
        let target = target.map(|t| t.concat().trim_end_matches('.').to_ascii_lowercase());
        self.records.push(Record { owner, target, line });
    }
}

/// Appends `name` as an absolute master-file name, escaping every byte outside `[A-Za-z0-9_-]`.
fn push_name(s: &mut String, name: &str) {
    for label in name.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
        for b in label.bytes() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                s.push(b as char);
            } else {
                let _ = write!(s, "\\{b:03}");
            }
        }
        s.push('.');
    }
    if s.is_empty() || !s.ends_with('.') {
        s.push('.');
    }
}

fn name_text(parts: &[&str]) -> String {
    let mut s = String::new();
    push_name(&mut s, &parts.concat());
    s
}

/// Renders one character-string in quotes: `"` and `\` escaped, non-printables as `\DDD`.
pub fn quote_string(s: &mut String, bytes: &[u8]) {
    s.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(b as char);
            }
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\{b:03}");
            }
        }
    }
    s.push('"');
}

impl AnswerSink for ZoneSink {
    fn cname(&mut self, owner: &[&str], target: &[&str], ttl: u32) {
        self.push(owner, ttl, "CNAME", &name_text(target), Some(target));
    }

    fn mx(&mut self, owner: &[&str], preference: u16, exchange: &[&str], ttl: u32) {
        let rdata = format!("{preference} {}", name_text(exchange));
        let target = exchange.concat();
        // The null MX (RFC 7505) points at the root: nothing to follow.
        let follow = (!target.trim_end_matches('.').is_empty()).then_some(exchange);
        self.push(owner, ttl, "MX", &rdata, follow);
    }

    fn txt(&mut self, owner: &[&str], strings: &[&[u8]], ttl: u32) {
        let mut rdata = String::new();
        if strings.is_empty() {
            rdata.push_str("\"\"");
        }
        for (i, s) in strings.iter().enumerate() {
            if i > 0 {
                rdata.push(' ');
            }
            if s.is_empty() {
                rdata.push_str("\"\"");
            }
            for (j, chunk) in s.chunks(255).enumerate() {
                if j > 0 {
                    rdata.push(' ');
                }
                quote_string(&mut rdata, chunk);
            }
        }
        self.push(owner, ttl, "TXT", &rdata, None);
    }

    fn a(&mut self, owner: &[&str], addr: Ipv4Addr, ttl: u32) {
        self.push(owner, ttl, "A", &addr.to_string(), None);
    }

    fn aaaa(&mut self, owner: &[&str], addr: Ipv6Addr, ttl: u32) {
        self.push(owner, ttl, "AAAA", &addr.to_string(), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_strings_escape_quotes_backslashes_and_nonprintables() {
        let mut sink = ZoneSink::default();
        sink.txt(&["_mta-sts.", "a.example"], &[b"v=STSv1; id=\"x\\y\"", b"\x00\xff\t"], 300);
        let line = sink.lines().next().unwrap();
        assert_eq!(
            line,
            "_mta-sts.a.example.\t300\tIN\tTXT\t\"v=STSv1; id=\\\"x\\\\y\\\"\" \"\\000\\255\\009\""
        );
    }

    #[test]
    fn long_txt_string_is_split_in_255_byte_chunks() {
        let mut sink = ZoneSink::default();
        let long = vec![b'a'; 300];
        sink.txt(&["x"], &[&long], 60);
        let line = sink.lines().next().unwrap();
        assert!(line.ends_with(&format!("\"{}\" \"{}\"", "a".repeat(255), "a".repeat(45))));
    }

    #[test]
    fn odd_name_bytes_are_escaped_and_wildcards_stay_literal() {
        let mut s = String::new();
        push_name(&mut s, "*.we ird.example");
        assert_eq!(s, "\\042.we\\032ird.example.");
        let mut root = String::new();
        push_name(&mut root, "");
        assert_eq!(root, ".");
    }

    #[test]
    fn null_mx_points_at_root() {
        let mut sink = ZoneSink::default();
        sink.mx(&["n.example"], 0, &[""], 300);
        assert_eq!(sink.lines().next().unwrap(), "n.example.\t300\tIN\tMX\t0 .");
        assert!(sink.records[0].target.is_none());
    }
}
