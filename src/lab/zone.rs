//! Zone-file export: the DNS side of the world as one RFC 1035 master file with origin `.`,
//! so NSD, Knot or BIND can serve the same world unchanged (for the names exported).
//!
//! ```text
//! RFC 1035 5.1: <domain-name> [<TTL>] [<class>] <type> <RDATA>
//!   "\DDD  where each D is a digit is the octet corresponding to the decimal number"
//!   "\X    where X is any character other than a digit (0-9), is used to quote that character"
//!   <character-string> is "expressed in one or two ways: as a contiguous set of characters
//!   without interior spaces, or as a string beginning with a " and ending with a "."
//! ```

use super::wire::{APEX_MAILBOX, APEX_NS, APEX_SOA_TIMERS, APEX_TTL};
use super::world::{AnswerSink, LabAddrs, World};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

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

/// Exports the rrsets of a world, each (owner, type) once: the world enumerates them
/// ([`World::zone_names`], [`World::lab_zone_names`]) and gives each one's records
/// ([`World::rrset`], without following CNAMEs, as a zone holds them).
pub struct ZoneExporter<'w> {
    world: &'w World,
    addrs: LabAddrs,
    seen: HashSet<(String, u16)>,
    /// Records written.
    pub records_written: usize,
    /// Rrsets asked of the world (some are empty: NODATA owners).
    pub rrsets: usize,
}

impl<'w> ZoneExporter<'w> {
    pub fn new(world: &'w World, addrs: LabAddrs) -> Self {
        ZoneExporter {
            world,
            addrs,
            seen: HashSet::new(),
            records_written: 0,
            rrsets: 0,
        }
    }

    /// Writes every rrset `domain` (lowercase, no trailing dot) contributes.
    pub fn export_domain(&mut self, domain: &str, out: &mut impl Write) -> io::Result<()> {
        let mut todo = Vec::new();
        self.world
            .zone_names(domain, &mut |owner, t| todo.push((owner.to_string(), t)));
        self.export_all(todo, out)
    }

    /// Writes the lab-owned provider names.
    pub fn export_lab(&mut self, out: &mut impl Write) -> io::Result<()> {
        let mut todo = Vec::new();
        World::lab_zone_names(&mut |owner, t| todo.push((owner.to_string(), t)));
        self.export_all(todo, out)
    }

    fn export_all(&mut self, todo: Vec<(String, u16)>, out: &mut impl Write) -> io::Result<()> {
        for key in todo {
            if self.seen.contains(&key) {
                continue;
            }
            let mut sink = ZoneSink::default();
            let _ = self.world.rrset(&key.0, key.1, &self.addrs, &mut sink);
            self.rrsets += 1;
            for rec in &sink.records {
                writeln!(out, "{}", rec.line)?;
                self.records_written += 1;
            }
            self.seen.insert(key);
        }
        Ok(())
    }
}

/// One record as zone-file text.
#[derive(Debug)]
struct Record {
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

    fn push(&mut self, owner: &[&str], ttl: u32, rtype: &str, rdata: &str) {
        let mut line = String::new();
        push_name(&mut line, &owner.concat().to_ascii_lowercase());
        let _ = write!(line, "\t{ttl}\tIN\t{rtype}\t{rdata}");
        self.records.push(Record { line });
    }
}

/// Appends `name` as an absolute master-file name, escaping every byte outside `[A-Za-z0-9_-]`.
fn push_name(s: &mut String, name: &str) {
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
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
        self.push(owner, ttl, "CNAME", &name_text(target));
    }

    fn mx(&mut self, owner: &[&str], preference: u16, exchange: &[&str], ttl: u32) {
        self.push(
            owner,
            ttl,
            "MX",
            &format!("{preference} {}", name_text(exchange)),
        );
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
        self.push(owner, ttl, "TXT", &rdata);
    }

    fn a(&mut self, owner: &[&str], addr: Ipv4Addr, ttl: u32) {
        self.push(owner, ttl, "A", &addr.to_string());
    }

    fn aaaa(&mut self, owner: &[&str], addr: Ipv6Addr, ttl: u32) {
        self.push(owner, ttl, "AAAA", &addr.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_strings_escape_quotes_backslashes_and_nonprintables() {
        let mut sink = ZoneSink::default();
        sink.txt(
            &["_mta-sts.", "a.example"],
            &[b"v=STSv1; id=\"x\\y\"", b"\x00\xff\t"],
            300,
        );
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
    }
}
