//! DNS wire format for the lab's authoritative server: a query parser and a
//! compressing response encoder that implements the world's [`AnswerSink`].
//!
//! Both work in caller-owned buffers so the server's hot path never allocates.
//!
//! ```text
//! RFC 1035 4.1.1: ID, QR, Opcode, AA, TC, RD, RA, Z, RCODE, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT
//! RFC 1035 4.1.4: "a domain name or a list of labels in a message is replaced with a pointer
//!                  to a prior occurance of the same name."
//! RFC 6891 6.2.5: "Responders ... MUST NOT send a response larger than the requestor's
//!                  advertised UDP payload size" (512 when no OPT is present, RFC 1035 4.2.1).
//! ```

use super::world::{AnswerSink, Rcode};
use std::net::{Ipv4Addr, Ipv6Addr};

pub const TYPE_A: u16 = 1;
pub const TYPE_NS: u16 = 2;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_MX: u16 = 15;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_OPT: u16 = 41;
pub const TYPE_IXFR: u16 = 251;
pub const TYPE_AXFR: u16 = 252;
pub const CLASS_IN: u16 = 1;
pub const CLASS_ANY: u16 = 255;

/// RFC 1035 response codes the server itself emits (besides the world's).
pub const RCODE_NOERROR: u8 = 0;
pub const RCODE_FORMERR: u8 = 1;
pub const RCODE_SERVFAIL: u8 = 2;
pub const RCODE_NXDOMAIN: u8 = 3;
pub const RCODE_NOTIMP: u8 = 4;
pub const RCODE_REFUSED: u8 = 5;

/// Size of the DNS header.
pub const HEADER_LEN: usize = 12;
/// UDP payload size without EDNS (RFC 1035 4.2.1).
pub const CLASSIC_UDP_SIZE: usize = 512;
/// The UDP payload size the lab advertises in its own OPT record (the DNS flag day 2020 value).
pub const SERVER_UDP_SIZE: u16 = 1232;
/// Largest UDP reply the lab ever sends, whatever the client advertises.
pub const MAX_UDP_REPLY: usize = 4096;
/// Bytes an OPT record without options takes.
const OPT_LEN: usize = 11;
/// How many label offsets the compressor remembers.
const COMP_CAP: usize = 64;
/// The lab zone's SOA/NS names, in a reserved TLD so they never collide with a world name.
pub const APEX_NS: &str = "ns.stsmap-lab.invalid";
pub const APEX_MAILBOX: &str = "hostmaster.stsmap-lab.invalid";
/// SOA timers of the lab zone: serial, refresh, retry, expire, minimum (negative TTL).
pub const APEX_SOA_TIMERS: [u32; 5] = [1, 3600, 600, 86400, 300];
/// TTL of the apex SOA and NS records.
pub const APEX_TTL: u32 = 3600;

/// The EDNS0 pseudo-record of a query (RFC 6891 6.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    /// Requestor's UDP payload size.
    pub udp_size: u16,
    /// EDNS version; anything but 0 gets BADVERS.
    pub version: u8,
    /// DO bit, copied into the reply (RFC 3225 3).
    pub dnssec_ok: bool,
}

/// A query the server can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    pub id: u16,
    pub rd: bool,
    pub cd: bool,
    pub qtype: u16,
    pub qclass: u16,
    /// Offset just past the question section: the question is echoed byte for byte.
    pub question_end: usize,
    /// Length of the lowercase dotted qname written into the caller's name buffer.
    pub name_len: usize,
    /// The qname has a label holding a dot or a non-ASCII byte: no world name can match it.
    pub odd_name: bool,
    pub edns: Option<Edns>,
}

/// Why a message cannot be answered normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Too short to carry an id, or a response: send nothing.
    Ignore,
    /// Reply with this rcode, header only (id, opcode and RD copied).
    Header(u8),
}

/// Parses `msg` as a query, writing its lowercase dotted qname (no trailing dot) into `name`.
pub fn parse_query(msg: &[u8], name: &mut [u8; 256]) -> Result<Query, Reject> {
    if msg.len() < HEADER_LEN || msg[2] & 0x80 != 0 {
        return Err(Reject::Ignore);
    }
    let opcode = (msg[2] >> 3) & 0x0f;
    if opcode != 0 {
        return Err(Reject::Header(RCODE_NOTIMP));
    }
    let formerr = Err(Reject::Header(RCODE_FORMERR));
    let count = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]);
    if count(4) != 1 {
        return formerr;
    }
    // The question name: plain labels only (a pointer has nothing to point to).
    let mut p = HEADER_LEN;
    let mut n = 0usize;
    let mut odd_name = false;
    loop {
        let Some(&len) = msg.get(p) else {
            return formerr;
        };
        let len = len as usize;
        if len == 0 {
            p += 1;
            break;
        }
        // The whole wire name, root byte included, is at most 255 octets (RFC 1035 3.1).
        if len > 63 || p + 1 + len > msg.len() || p + 1 + len - HEADER_LEN > 254 {
            return formerr;
        }
        if n > 0 {
            name[n] = b'.';
            n += 1;
        }
        for &b in &msg[p + 1..p + 1 + len] {
            odd_name |= b == b'.' || b >= 0x80;
            name[n] = b.to_ascii_lowercase();
            n += 1;
        }
        p += 1 + len;
    }
    if p + 4 > msg.len() {
        return formerr;
    }
    let qtype = u16::from_be_bytes([msg[p], msg[p + 1]]);
    let qclass = u16::from_be_bytes([msg[p + 2], msg[p + 3]]);
    let question_end = p + 4;
    // Skip answer and authority records, look for one OPT among the additional ones.
    let mut edns = None;
    let mut q = question_end;
    let records = count(6) as usize + count(8) as usize + count(10) as usize;
    let additional_from = records - count(10) as usize;
    for i in 0..records {
        let Some((rtype, class, ttl, next)) = skip_record(msg, q) else {
            return formerr;
        };
        if rtype == TYPE_OPT {
            if i < additional_from || edns.is_some() || msg[q] != 0 {
                return formerr;
            }
            edns = Some(Edns {
                udp_size: class,
                version: (ttl >> 16) as u8,
                dnssec_ok: ttl & 0x8000 != 0,
            });
        }
        q = next;
    }
    Ok(Query {
        id: count(0),
        rd: msg[2] & 0x01 != 0,
        cd: msg[3] & 0x10 != 0,
        qtype,
        qclass,
        question_end,
        name_len: n,
        odd_name,
        edns,
    })
}

/// Skips one resource record at `p`: returns (type, class, ttl, offset after it).
fn skip_record(msg: &[u8], mut p: usize) -> Option<(u16, u16, u32, usize)> {
    loop {
        let len = *msg.get(p)? as usize;
        if len & 0xc0 == 0xc0 {
            p += 2;
            break;
        }
        if len > 63 {
            return None;
        }
        p += 1 + len;
        if len == 0 {
            break;
        }
    }
    let f = msg.get(p..p + 10)?;
    let rtype = u16::from_be_bytes([f[0], f[1]]);
    let class = u16::from_be_bytes([f[2], f[3]]);
    let ttl = u32::from_be_bytes([f[4], f[5], f[6], f[7]]);
    let rdlen = u16::from_be_bytes([f[8], f[9]]) as usize;
    let end = p + 10 + rdlen;
    (end <= msg.len()).then_some((rtype, class, ttl, end))
}

/// Writes a header-only reply (FORMERR, NOTIMP) for `msg`; returns its length.
pub fn header_reply(msg: &[u8], rcode: u8, out: &mut [u8]) -> usize {
    out[..HEADER_LEN].fill(0);
    out[0] = msg[0];
    out[1] = msg[1];
    out[2] = 0x80 | (msg[2] & 0x79); // QR, opcode and RD copied
    out[3] = rcode & 0x0f;
    HEADER_LEN
}

/// Builds one response in a caller-owned buffer; records are appended through [`AnswerSink`].
///
/// When a record does not fit under `limit` the response becomes truncated: [`Response::finish`]
/// then sends the question alone with TC=1, so the client retries over TCP.
pub struct Response<'a> {
    buf: &'a mut [u8],
    len: usize,
    /// Largest message size allowed, OPT space already reserved.
    limit: usize,
    question_end: usize,
    ancount: u16,
    nscount: u16,
    overflow: bool,
    /// The world handed over a name that cannot be encoded (a world bug): answer SERVFAIL.
    bad_name: bool,
    comp: [u16; COMP_CAP],
    ncomp: usize,
}

impl<'a> Response<'a> {
    /// Starts the reply to `query` (parsed from `msg`) in `buf`, at most `max_len` bytes long.
    pub fn start(msg: &[u8], query: &Query, buf: &'a mut [u8], max_len: usize) -> Response<'a> {
        let mut limit = max_len.min(buf.len());
        if query.edns.is_some() {
            limit -= OPT_LEN;
        }
        let qe = query.question_end;
        buf[..qe].copy_from_slice(&msg[..qe]);
        buf[2] = 0x84 | (msg[2] & 0x79); // QR, AA; opcode and RD copied
        buf[3] = msg[3] & 0x10; // CD copied
        buf[4..HEADER_LEN].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        let mut r = Response {
            buf,
            len: qe,
            limit,
            question_end: qe,
            ancount: 0,
            nscount: 0,
            overflow: false,
            bad_name: false,
            comp: [0; COMP_CAP],
            ncomp: 0,
        };
        // Register the question name's labels as compression targets.
        let mut p = HEADER_LEN;
        while r.buf[p] != 0 && r.ncomp < COMP_CAP {
            r.comp[r.ncomp] = p as u16;
            r.ncomp += 1;
            p += 1 + r.buf[p] as usize;
        }
        r
    }

    /// Records in the answer section so far.
    pub fn answer_count(&self) -> u16 {
        self.ancount
    }

    /// Drops every record written so far (e.g. to send SERVFAIL).
    pub fn clear_records(&mut self) {
        self.len = self.question_end;
        self.ancount = 0;
        self.nscount = 0;
        self.overflow = false;
        // Forget compression targets past the question.
        while self.ncomp > 0 && self.comp[self.ncomp - 1] as usize >= self.question_end {
            self.ncomp -= 1;
        }
    }

    /// Whether the world gave a name that cannot be encoded.
    pub fn had_bad_name(&self) -> bool {
        self.bad_name
    }

    /// Adds the apex SOA to the authority section (negative answers, RFC 2308 3).
    pub fn authority_soa(&mut self) {
        if self.soa_record(&[""]) {
            self.nscount += 1;
        }
    }

    /// Adds the apex SOA to the answer section.
    pub fn answer_soa(&mut self) {
        if self.soa_record(&[""]) {
            self.ancount += 1;
        }
    }

    /// Adds the apex NS to the answer section.
    pub fn answer_ns(&mut self) {
        let Some(at) = self.begin_rr(&[""], TYPE_NS, APEX_TTL) else {
            return;
        };
        self.name(&[APEX_NS]);
        if self.end_rr(at) {
            self.ancount += 1;
        }
    }

    fn soa_record(&mut self, owner: &[&str]) -> bool {
        let Some(at) = self.begin_rr(owner, TYPE_SOA, APEX_TTL) else {
            return false;
        };
        self.name(&[APEX_NS]);
        self.name(&[APEX_MAILBOX]);
        for t in APEX_SOA_TIMERS {
            self.put(&t.to_be_bytes());
        }
        self.end_rr(at)
    }

    /// Finishes the message with `rcode` (plus the OPT echo when the query had one);
    /// returns its length.
    pub fn finish(self, rcode: u8, edns: Option<Edns>) -> usize {
        let mut len = self.len;
        let (mut ancount, mut nscount) = (self.ancount, self.nscount);
        let mut rcode = rcode;
        if self.bad_name {
            rcode = RCODE_SERVFAIL;
        }
        if self.overflow || self.bad_name {
            len = self.question_end;
            ancount = 0;
            nscount = 0;
            if self.overflow && !self.bad_name {
                self.buf[2] |= 0x02; // TC
            }
        }
        let mut arcount = 0u16;
        if let Some(e) = edns {
            let (ext, version) = if e.version != 0 { (1u8, 0u8) } else { (0, 0) };
            if e.version != 0 {
                // BADVERS (16): upper 8 bits in the OPT, lower 4 (0) in the header; no answer.
                len = self.question_end;
                ancount = 0;
                nscount = 0;
                rcode = 0;
            }
            let flags: u16 = if e.dnssec_ok { 0x8000 } else { 0 };
            let opt = &mut self.buf[len..len + OPT_LEN];
            opt[0] = 0;
            opt[1..3].copy_from_slice(&TYPE_OPT.to_be_bytes());
            opt[3..5].copy_from_slice(&SERVER_UDP_SIZE.to_be_bytes());
            opt[5] = ext;
            opt[6] = version;
            opt[7..9].copy_from_slice(&flags.to_be_bytes());
            opt[9..11].copy_from_slice(&[0, 0]);
            len += OPT_LEN;
            arcount = 1;
        }
        self.buf[3] = (self.buf[3] & 0xf0) | (rcode & 0x0f);
        self.buf[6..8].copy_from_slice(&ancount.to_be_bytes());
        self.buf[8..10].copy_from_slice(&nscount.to_be_bytes());
        self.buf[10..12].copy_from_slice(&arcount.to_be_bytes());
        len
    }

    fn put(&mut self, bytes: &[u8]) {
        if self.overflow {
            return;
        }
        let end = self.len + bytes.len();
        if end > self.limit {
            self.overflow = true;
            return;
        }
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
    }

    /// Writes owner, type, class, TTL and a placeholder RDLENGTH; returns where RDATA starts.
    fn begin_rr(&mut self, owner: &[&str], rtype: u16, ttl: u32) -> Option<usize> {
        if self.overflow {
            return None;
        }
        self.name(owner);
        let mut fixed = [0u8; 10];
        fixed[0..2].copy_from_slice(&rtype.to_be_bytes());
        fixed[2..4].copy_from_slice(&CLASS_IN.to_be_bytes());
        fixed[4..8].copy_from_slice(&ttl.to_be_bytes());
        self.put(&fixed);
        (!self.overflow).then_some(self.len)
    }

    /// Fills in RDLENGTH; false when the record did not fit.
    fn end_rr(&mut self, rdata_at: usize) -> bool {
        if self.overflow {
            return false;
        }
        let rdlen = (self.len - rdata_at) as u16;
        self.buf[rdata_at - 2..rdata_at].copy_from_slice(&rdlen.to_be_bytes());
        true
    }

    /// Writes a name given as parts, compressed against names already in the message.
    fn name(&mut self, parts: &[&str]) {
        let mut tmp = [0u8; 256];
        let mut n = 0usize;
        for part in parts {
            let b = part.as_bytes();
            if n + b.len() > 255 {
                self.bad_name = true;
                self.overflow = true;
                return;
            }
            tmp[n..n + b.len()].copy_from_slice(b);
            n += b.len();
        }
        if n > 0 && tmp[n - 1] == b'.' {
            n -= 1;
        }
        // Label (start, len) pairs.
        let mut labels = [(0u8, 0u8); 128];
        let mut nl = 0usize;
        if n > 0 {
            let mut start = 0usize;
            for (i, &b) in tmp[..=n].iter().enumerate() {
                if i == n || b == b'.' {
                    let len = i - start;
                    if len == 0 || len > 63 || nl == labels.len() {
                        self.bad_name = true;
                        self.overflow = true;
                        return;
                    }
                    labels[nl] = (start as u8, len as u8);
                    nl += 1;
                    start = i + 1;
                }
            }
        }
        let labels = &labels[..nl];
        for i in 0..nl {
            if let Some(ptr) = self.find(&tmp, &labels[i..]) {
                self.labels(&tmp, &labels[..i]);
                self.put(&(0xc000 | ptr).to_be_bytes());
                return;
            }
        }
        self.labels(&tmp, labels);
        self.put(&[0]);
    }

    fn labels(&mut self, tmp: &[u8], labels: &[(u8, u8)]) {
        for &(s, l) in labels {
            if self.len < 0x4000 && self.ncomp < COMP_CAP && !self.overflow {
                self.comp[self.ncomp] = self.len as u16;
                self.ncomp += 1;
            }
            self.put(&[l]);
            self.put(&tmp[s as usize..s as usize + l as usize]);
        }
    }

    /// The offset of a name already in the message equal (ignoring ASCII case) to `labels`.
    fn find(&self, tmp: &[u8], labels: &[(u8, u8)]) -> Option<u16> {
        self.comp[..self.ncomp]
            .iter()
            .copied()
            .find(|&off| self.name_at_eq(off as usize, tmp, labels))
    }

    fn name_at_eq(&self, mut p: usize, tmp: &[u8], labels: &[(u8, u8)]) -> bool {
        let mut k = 0usize;
        let mut hops = 0;
        loop {
            let b = self.buf[p] as usize;
            if b & 0xc0 == 0xc0 {
                hops += 1;
                if hops > 32 {
                    return false;
                }
                p = ((b & 0x3f) << 8) | self.buf[p + 1] as usize;
                continue;
            }
            if b == 0 {
                return k == labels.len();
            }
            let Some(&(s, l)) = labels.get(k) else {
                return false;
            };
            if b != l as usize
                || !self.buf[p + 1..p + 1 + b]
                    .eq_ignore_ascii_case(&tmp[s as usize..s as usize + b])
            {
                return false;
            }
            p += 1 + b;
            k += 1;
        }
    }
}

impl AnswerSink for Response<'_> {
    fn cname(&mut self, owner: &[&str], target: &[&str], ttl: u32) {
        let Some(at) = self.begin_rr(owner, TYPE_CNAME, ttl) else {
            return;
        };
        self.name(target);
        if self.end_rr(at) {
            self.ancount += 1;
        }
    }

    fn mx(&mut self, owner: &[&str], preference: u16, exchange: &[&str], ttl: u32) {
        let Some(at) = self.begin_rr(owner, TYPE_MX, ttl) else {
            return;
        };
        self.put(&preference.to_be_bytes());
        self.name(exchange);
        if self.end_rr(at) {
            self.ancount += 1;
        }
    }

    fn txt(&mut self, owner: &[&str], strings: &[&[u8]], ttl: u32) {
        let Some(at) = self.begin_rr(owner, TYPE_TXT, ttl) else {
            return;
        };
        if strings.is_empty() {
            self.put(&[0]);
        }
        for s in strings {
            if s.is_empty() {
                self.put(&[0]);
            }
            for chunk in s.chunks(255) {
                self.put(&[chunk.len() as u8]);
                self.put(chunk);
            }
        }
        if self.len - at > u16::MAX as usize {
            self.overflow = true;
        }
        if self.end_rr(at) {
            self.ancount += 1;
        }
    }

    fn a(&mut self, owner: &[&str], addr: Ipv4Addr, ttl: u32) {
        let Some(at) = self.begin_rr(owner, TYPE_A, ttl) else {
            return;
        };
        self.put(&addr.octets());
        if self.end_rr(at) {
            self.ancount += 1;
        }
    }

    fn aaaa(&mut self, owner: &[&str], addr: Ipv6Addr, ttl: u32) {
        let Some(at) = self.begin_rr(owner, TYPE_AAAA, ttl) else {
            return;
        };
        self.put(&addr.octets());
        if self.end_rr(at) {
            self.ancount += 1;
        }
    }
}

/// The header rcode for a world rcode.
pub fn rcode_byte(r: Rcode) -> u8 {
    match r {
        Rcode::NoError => RCODE_NOERROR,
        Rcode::NxDomain => RCODE_NXDOMAIN,
        Rcode::ServFail => RCODE_SERVFAIL,
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
