//! Pure DNS message handling: build a query, check that a reply belongs to it, and turn the reply
//! into a typed outcome. No sockets here; everything is deterministic and unit-tested.
//!
//! ```text
//! RFC 5452 §4.3: "When a resolver receives a response, it MUST verify that the response
//! matches the question [...] the ID field [...] and the source address and port".
//! RFC 2181 §10.1.1: a CNAME's target is followed; RFC 1035 §3.3.14: TXT-DATA is one or
//! more <character-string>s.
//! ```

use std::net::IpAddr;

use hickory_proto::op::{
    Edns, Header, Message, MessageType, Metadata, OpCode, Query, ResponseCode,
};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

/// EDNS0 UDP payload size advertised in every query (the DNS Flag Day 2020 value).
pub const EDNS_PAYLOAD: u16 = 1232;

/// Longest CNAME chain followed inside one answer section before the reply is called malformed.
pub const MAX_CNAME_CHAIN: usize = 16;

/// The record types the scanner asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qtype {
    /// Mail exchangers of the domain (RFC 5321 §5.1).
    Mx,
    /// `_mta-sts` and `_smtp._tls` records (RFC 8461 §3.1, RFC 8460 §3).
    Txt,
    /// IPv4 addresses of the policy host.
    A,
    /// IPv6 addresses of the policy host.
    Aaaa,
}

impl Qtype {
    /// The hickory record type.
    pub fn record_type(self) -> RecordType {
        match self {
            Qtype::Mx => RecordType::MX,
            Qtype::Txt => RecordType::TXT,
            Qtype::A => RecordType::A,
            Qtype::Aaaa => RecordType::AAAA,
        }
    }

    /// The numeric QTYPE on the wire.
    pub fn code(self) -> u16 {
        u16::from(self.record_type())
    }
}

/// Records of the asked type, already converted to what the scanner uses.
///
/// ```text
/// RFC 1035 §3.3.14: TXT-DATA  One or more <character-string>s.
/// RFC 7505 §3: a null MX is a single MX record with preference 0 and exchange ".".
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Records {
    /// (preference, exchange): exchange lowercase without the trailing dot, so the null MX
    /// target "." (RFC 7505) becomes "". `crate::mx::interpret` gives it its meaning.
    Mx(Vec<(u16, String)>),
    /// One entry per TXT record, its character-strings concatenated as bytes (RFC 7208 §3.3
    /// style), records kept apart so "multiple records" can be detected.
    Txt(Vec<Vec<u8>>),
    /// A or AAAA addresses.
    Addrs(Vec<IpAddr>),
}

/// Why a reply could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// The name asked for is not a valid DNS name.
    BadName,
    /// The reply did not decode as a DNS message.
    Undecodable,
    /// A response code other than NOERROR, NXDOMAIN, SERVFAIL, REFUSED (the code is kept).
    Rcode(u16),
    /// The CNAME chain loops or is longer than [`MAX_CNAME_CHAIN`].
    CnameChain,
    /// The TCP reply was truncated too, or the TCP exchange did not produce a matching reply.
    TcpFailed,
}

/// How one lookup ended. NXDOMAIN and NODATA are answers (never retried); the others are
/// failures after the engine has used its retries.
///
/// ```text
/// RFC 2308 §2.1: "Name Error [...] NXDOMAIN [...] the domain name [...] does not exist."
/// RFC 2308 §2.2: "NODATA [...] the name [...] is valid [...] but there are no records of the
/// specified type."
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// NOERROR with at least one record of the asked type at the end of the CNAME chain.
    Answer(T),
    /// RCODE 3: the name does not exist (RFC 8020: nothing below it either).
    NxDomain,
    /// NOERROR without records of the asked type (RFC 2308 §2.2).
    NoData,
    /// RCODE 2 from every resolver tried.
    ServFail,
    /// RCODE 5 from every resolver tried.
    Refused,
    /// No matching reply within the timeout, on every attempt.
    Timeout,
    /// The reply could not be used (see [`Malformed`]).
    Malformed(Malformed),
}

impl<T> Outcome<T> {
    /// Maps the answer payload, keeping every other outcome.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Answer(t) => Outcome::Answer(f(t)),
            Outcome::NxDomain => Outcome::NxDomain,
            Outcome::NoData => Outcome::NoData,
            Outcome::ServFail => Outcome::ServFail,
            Outcome::Refused => Outcome::Refused,
            Outcome::Timeout => Outcome::Timeout,
            Outcome::Malformed(m) => Outcome::Malformed(m),
        }
    }

    /// Whether another resolver should be asked (SERVFAIL, REFUSED, timeout).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Outcome::ServFail | Outcome::Refused | Outcome::Timeout
        )
    }
}

/// One question, pre-encoded: the query bytes (id patched per attempt) and the wire qname in
/// lowercase for matching replies without decoding them.
///
/// ```text
/// RFC 6891 §6.2.5: "Values lower than 512 MUST be treated as equal to 512."
/// RFC 4343 §3: "comparisons on [...] labels [...] are done in a case-insensitive manner."
/// ```
#[derive(Debug, Clone)]
pub struct Question {
    /// The type asked for.
    pub qtype: Qtype,
    /// The whole query message; bytes 0..2 hold the id and are rewritten per attempt.
    pub wire: Vec<u8>,
    /// End of the question section inside `wire` (header + qname + type + class).
    pub question_end: usize,
}

impl AsRef<[u8]> for Question {
    /// The query message as built (id 0; the engine sets the id per attempt).
    fn as_ref(&self) -> &[u8] {
        &self.wire
    }
}

impl Question {
    /// Encodes a query for `name` (absolute or not; a trailing dot is optional) with RD=1 and
    /// EDNS0 at [`EDNS_PAYLOAD`] bytes. Fails only on names DNS cannot carry.
    pub fn new(name: &str, qtype: Qtype) -> Result<Question, Malformed> {
        Question::with_payload(name, qtype, EDNS_PAYLOAD)
    }

    /// Like [`Question::new`] advertising `payload` bytes (a smaller size forces truncation,
    /// for tests; sizes under 512 mean 512, RFC 6891 §6.2.5).
    ///
    /// Plain host names (letters, digits, `-`, `_`) are encoded by hand, byte for byte what
    /// hickory would emit (a unit test compares both); anything else (escapes, other bytes)
    /// goes through hickory.
    pub fn with_payload(name: &str, qtype: Qtype, payload: u16) -> Result<Question, Malformed> {
        let wire = match encode_plain(name, qtype, payload) {
            Some(wire) => wire,
            None => encode_with_hickory(name, qtype, payload)?,
        };
        let question_end = question_end(&wire).ok_or(Malformed::BadName)?;
        Ok(Question {
            qtype,
            wire,
            question_end,
        })
    }

    /// The name asked for, fully qualified (decoded from the query bytes).
    pub fn name(&self) -> Name {
        let mut d = BinDecoder::new(&self.wire[12..self.question_end - 4]);
        Name::read(&mut d).expect("the query's own qname decodes")
    }

    /// The query bytes with `id` written into the header.
    pub fn with_id(&self, id: u16) -> Vec<u8> {
        let mut wire = self.wire.clone();
        set_id(&mut wire, id);
        wire
    }
}

/// Hand encoding of a query for a plain name: header (RD=1, one question, one additional),
/// the qname as labels, QTYPE, QCLASS IN, and an OPT record (RFC 6891 §6.1.2) advertising
/// `payload`. None if the name needs hickory (escapes, other bytes) or is not valid.
fn encode_plain(name: &str, qtype: Qtype, payload: u16) -> Option<Vec<u8>> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return None;
    }
    let mut wire = Vec::with_capacity(12 + name.len() + 2 + 4 + 11);
    wire.extend_from_slice(&[0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    for label in name.split('.') {
        let ok = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
        if label.is_empty() || label.len() > 63 || !label.as_bytes().iter().all(ok) {
            return None;
        }
        wire.push(label.len() as u8);
        wire.extend_from_slice(label.as_bytes());
    }
    wire.push(0);
    wire.extend_from_slice(&qtype.code().to_be_bytes());
    wire.extend_from_slice(&[0, 1]);
    // OPT: root owner, TYPE 41, CLASS = payload (at least 512), TTL 0 (no extended rcode,
    // version 0, DO clear), no options.
    wire.extend_from_slice(&[0, 0, 41]);
    wire.extend_from_slice(&payload.max(512).to_be_bytes());
    wire.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    Some(wire)
}

/// The general encoder (hickory) for names [`encode_plain`] does not take.
fn encode_with_hickory(name: &str, qtype: Qtype, payload: u16) -> Result<Vec<u8>, Malformed> {
    let mut name = Name::from_ascii(name).map_err(|_| Malformed::BadName)?;
    name.set_fqdn(true);
    let mut msg = Message::new(0, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(name, qtype.record_type()));
    let mut edns = Edns::new();
    edns.set_max_payload(payload);
    msg.set_edns(edns);
    msg.to_vec().map_err(|_| Malformed::BadName)
}

/// Writes `id` into a message's header.
pub fn set_id(wire: &mut [u8], id: u16) {
    wire[..2].copy_from_slice(&id.to_be_bytes());
}

/// The id of a message, if it has a header.
pub fn message_id(wire: &[u8]) -> Option<u16> {
    (wire.len() >= 12).then(|| u16::from_be_bytes([wire[0], wire[1]]))
}

/// Offset just past the first question (uncompressed qname + QTYPE + QCLASS).
fn question_end(wire: &[u8]) -> Option<usize> {
    let mut i = 12;
    loop {
        let len = *wire.get(i)? as usize;
        if len & 0xC0 != 0 {
            return None; // a compression pointer cannot appear in the first qname
        }
        i += 1 + len;
        if len == 0 {
            break;
        }
    }
    let end = i + 4;
    (wire.len() >= end).then_some(end)
}

/// Cheap check on raw bytes that `reply` answers `question` with `id`: QR set, same id,
/// exactly one question, same QTYPE/QCLASS and the same qname compared ASCII
/// case-insensitively (RFC 4343). Anything else is an unmatched reply.
pub fn reply_matches(reply: &[u8], id: u16, question: &Question) -> bool {
    if message_id(reply) != Some(id) || reply[2] & 0x80 == 0 {
        return false;
    }
    if u16::from_be_bytes([reply[4], reply[5]]) != 1 {
        return false;
    }
    let end = question.question_end;
    match reply.get(12..end) {
        Some(got) => got.eq_ignore_ascii_case(&question.wire[12..end]),
        None => false,
    }
}

/// What one reply says: an outcome for the lookup, the CNAME chain followed, and whether the
/// server truncated it (TC=1, so the caller should ask again over TCP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The typed outcome of this one reply.
    pub outcome: Outcome<Records>,
    /// CNAME targets followed from the qname, in order (lowercase, no trailing dot).
    pub cname_chain: Vec<String>,
    /// TC bit: the records are incomplete.
    pub truncated: bool,
}

/// Decodes a reply (already matched by [`reply_matches`]) into a typed outcome.
pub fn parse_reply(reply: &[u8], question: &Question) -> Parsed {
    let malformed = |m| Parsed {
        outcome: Outcome::Malformed(m),
        cname_chain: Vec::new(),
        truncated: false,
    };
    // Fast path: with no answer records the header alone says what the reply means (the
    // question was checked by `reply_matches`); most replies in a survey are NXDOMAIN or
    // NODATA, and decoding their authority section would only be thrown away.
    if let Some(outcome) = header_only_outcome(reply) {
        return Parsed {
            outcome,
            cname_chain: Vec::new(),
            truncated: reply[2] & 0x02 != 0,
        };
    }
    // Defence in depth: the reply's question must be the asked one, byte for byte up to
    // ASCII case (RFC 4343), as `reply_matches` checks.
    let end = question.question_end;
    let same_question = reply.len() >= end
        && u16::from_be_bytes([reply[4], reply[5]]) == 1
        && reply[12..end].eq_ignore_ascii_case(&question.wire[12..end]);
    if !same_question {
        return malformed(Malformed::Undecodable);
    }
    let Some(msg) = decode(reply) else {
        return malformed(Malformed::Undecodable);
    };
    let truncated = msg.metadata.truncation;
    let code = u16::from(msg.metadata.response_code);
    let mut parsed = Parsed {
        outcome: Outcome::NoData,
        cname_chain: Vec::new(),
        truncated,
    };
    let qname = msg.query.name();
    parsed.outcome = match msg.metadata.response_code {
        ResponseCode::NoError => {
            match follow(&msg.answers, qname, question.qtype, &mut parsed.cname_chain) {
                Ok(Some(records)) => Outcome::Answer(records),
                Ok(None) => Outcome::NoData,
                Err(m) => Outcome::Malformed(m),
            }
        }
        ResponseCode::NXDomain => {
            // Record the chain that led to the missing name, if any.
            let _ = follow(&msg.answers, qname, question.qtype, &mut parsed.cname_chain);
            Outcome::NxDomain
        }
        ResponseCode::ServFail => Outcome::ServFail,
        ResponseCode::Refused => Outcome::Refused,
        _ => Outcome::Malformed(Malformed::Rcode(code)),
    };
    parsed
}

/// What [`parse_reply`] needs from a reply: flags and rcode, the question, the answers.
struct Decoded {
    metadata: Metadata,
    query: Query,
    answers: Vec<Record>,
}

/// Decodes the header, the question and the answer records with hickory, and only walks the
/// authority and additional sections (checking their framing, as [`header_only_outcome`]
/// does): their records are never used. Falls back to decoding the whole message when the
/// walk finds anything unusual (an OPT record extending the RCODE, RFC 6891 §6.1.3, bad
/// framing, trailing bytes), so such replies get hickory's full verdict.
fn decode(reply: &[u8]) -> Option<Decoded> {
    let light = || -> Option<Decoded> {
        let mut d = BinDecoder::new(reply);
        let Header { metadata, counts } = Header::read(&mut d).ok()?;
        if counts.queries != 1 {
            return None;
        }
        let query = Query::read(&mut d).ok()?;
        let (answers, _, _) =
            Message::read_records(&mut d, usize::from(counts.answers), false, metadata.op_code)
                .ok()?;
        let mut i = d.index();
        for _ in 0..(usize::from(counts.authorities) + usize::from(counts.additionals)) {
            i = skip_name(reply, i)?;
            let fixed = reply.get(i..i + 10)?;
            if u16::from_be_bytes([fixed[0], fixed[1]]) == 41 && fixed[4] != 0 {
                return None;
            }
            i += 10 + usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        }
        (i == reply.len()).then_some(Decoded {
            metadata,
            query,
            answers,
        })
    };
    light().or_else(|| {
        let mut msg = Message::from_vec(reply).ok()?;
        if msg.queries.len() != 1 {
            return None;
        }
        Some(Decoded {
            metadata: msg.metadata,
            query: msg.queries.swap_remove(0),
            answers: msg.answers,
        })
    })
}

/// The outcome of a reply without answer records, from its header RCODE, after walking the
/// authority and additional sections to check they are well-formed and that no OPT record
/// extends the RCODE (RFC 6891 §6.1.3). None when the message must be decoded in full.
fn header_only_outcome(reply: &[u8]) -> Option<Outcome<Records>> {
    let count = |i: usize| u16::from_be_bytes([reply[i], reply[i + 1]]);
    if reply.len() < 12 || count(4) != 1 || count(6) != 0 {
        return None;
    }
    let mut i = question_end(reply)?;
    for _ in 0..(usize::from(count(8)) + usize::from(count(10))) {
        i = skip_name(reply, i)?;
        let fixed = reply.get(i..i + 10)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        if rtype == 41 && fixed[4] != 0 {
            return None; // extended RCODE bits set
        }
        i += 10 + usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    }
    if i != reply.len() {
        return None;
    }
    match reply[3] & 0x0F {
        0 => Some(Outcome::NoData),
        2 => Some(Outcome::ServFail),
        3 => Some(Outcome::NxDomain),
        5 => Some(Outcome::Refused),
        _ => None,
    }
}

/// Offset just past the (possibly compressed) name at `i`.
fn skip_name(msg: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let len = *msg.get(i)?;
        match len & 0xC0 {
            0xC0 => return (i + 2 <= msg.len()).then_some(i + 2),
            0x00 if len == 0 => return Some(i + 1),
            0x00 => i += 1 + usize::from(len),
            _ => return None,
        }
    }
}

/// Follows the CNAME chain from the qname through the answer section, then collects the
/// records of the asked type owned by the final name. `Ok(None)` means no such records.
fn follow(
    answers: &[Record],
    qname: &Name,
    qtype: Qtype,
    chain: &mut Vec<String>,
) -> Result<Option<Records>, Malformed> {
    let want = qtype.record_type();
    let mut owner = qname.clone();
    'chain: loop {
        for r in answers {
            if r.name != owner {
                continue;
            }
            if let RData::CNAME(target) = &r.data {
                if chain.len() >= MAX_CNAME_CHAIN {
                    return Err(Malformed::CnameChain);
                }
                let text = display_name(&target.0);
                if chain.contains(&text) || target.0 == *qname {
                    return Err(Malformed::CnameChain);
                }
                chain.push(text);
                owner = target.0.clone();
                continue 'chain;
            }
        }
        break;
    }
    let owned = answers
        .iter()
        .filter(|r| r.name == owner && r.record_type() == want);
    let records = match qtype {
        Qtype::Mx => Records::Mx(
            owned
                .filter_map(|r| match &r.data {
                    RData::MX(mx) => Some((mx.preference, display_name(&mx.exchange))),
                    _ => None,
                })
                .collect(),
        ),
        Qtype::Txt => Records::Txt(
            owned
                .filter_map(|r| match &r.data {
                    RData::TXT(txt) => Some(txt.txt_data.iter().flatten().copied().collect()),
                    _ => None,
                })
                .collect(),
        ),
        Qtype::A | Qtype::Aaaa => Records::Addrs(
            owned
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                })
                .collect(),
        ),
    };
    let empty = match &records {
        Records::Mx(v) => v.is_empty(),
        Records::Txt(v) => v.is_empty(),
        Records::Addrs(v) => v.is_empty(),
    };
    Ok((!empty).then_some(records))
}

/// A name as the scanner shows it: lowercase, no trailing dot (the root becomes "").
pub fn display_name(name: &Name) -> String {
    let mut s = name.to_ascii();
    if s.ends_with('.') {
        s.pop();
    }
    s.make_ascii_lowercase();
    s
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
