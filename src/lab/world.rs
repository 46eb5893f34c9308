//! The world model: what the lab serves for any name, derived from hash(seed, name).
//!
//! API contract (implementation being written): the DNS server, the HTTPS server,
//! the zone exporter and the ground truth all rely on these signatures.

use std::net::{Ipv4Addr, Ipv6Addr};

/// How domains are spread over the cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Follows published adoption figures (see docs/lab.md).
    Realistic,
    /// Spreads domains evenly over every case.
    Adversarial,
}

/// Where the lab's HTTPS server listens: policy hosts resolve here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabAddrs {
    pub https_v4: Ipv4Addr,
    pub https_v6: Option<Ipv6Addr>,
}

/// DNS response codes the world can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    NoError,
    NxDomain,
    ServFail,
}

/// Receives the records of one answer, in order, without allocating.
/// A name is given as parts to concatenate (e.g. `["mx1.", "example.com"]`),
/// absolute, without the trailing dot.
pub trait AnswerSink {
    /// A CNAME at `owner` pointing to `target`.
    fn cname(&mut self, owner: &[&str], target: &[&str], ttl: u32);
    fn mx(&mut self, owner: &[&str], preference: u16, exchange: &[&str], ttl: u32);
    /// One TXT record made of several character-strings (each ≤ 255 bytes).
    fn txt(&mut self, owner: &[&str], strings: &[&[u8]], ttl: u32);
    fn a(&mut self, owner: &[&str], addr: Ipv4Addr, ttl: u32);
    fn aaaa(&mut self, owner: &[&str], addr: Ipv6Addr, ttl: u32);
}

/// The world for one (profile, seed).
#[derive(Debug, Clone, Copy)]
pub struct World {
    pub profile: Profile,
    pub seed: u64,
}

impl World {
    pub fn new(profile: Profile, seed: u64) -> World {
        World { profile, seed }
    }

    /// Answers `qname` (lowercase, no trailing dot) for `qtype` (RFC 1035 type number),
    /// following in-world CNAMEs, emitting records into `sink`. Returns the rcode
    /// (NXDOMAIN vs NOERROR-with-no-records = NODATA).
    pub fn resolve(
        &self,
        qname: &str,
        qtype: u16,
        addrs: &LabAddrs,
        sink: &mut dyn AnswerSink,
    ) -> Rcode {
        let _ = (qname, qtype, addrs, sink);
        todo!("lab issue")
    }
}

/// The certificate (or TLS behaviour) a policy host presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertSpec {
    /// Issued by the lab CA for the SNI name, currently valid.
    Valid,
    /// Lab CA, right name, expired.
    Expired,
    /// Lab CA, right name, not valid yet.
    NotYetValid,
    /// Lab CA, valid, for another name.
    WrongName,
    /// Right name, valid, but issued by a CA the scanner does not trust.
    UntrustedCa,
    /// Accepts TCP, never completes the TLS handshake.
    HandshakeStall,
    /// Answers the ClientHello with non-TLS garbage.
    NotTls,
}

/// The response body a policy host sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodySpec {
    /// These exact bytes.
    Bytes(Vec<u8>),
    /// `len` bytes of a valid-looking policy padded with comment-free filler (over 64 KiB).
    Oversize { len: usize },
    /// A few bytes, then one byte every `interval_ms`, forever.
    Trickle { interval_ms: u64 },
}

/// What `https://<host>/.well-known/mta-sts.txt` returns. Other paths get 404.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsSpec {
    pub cert: CertSpec,
    pub status: u16,
    /// Response headers besides Content-Length (e.g. Content-Type, Location).
    pub headers: Vec<(String, String)>,
    pub body: BodySpec,
}

impl World {
    /// What the lab's HTTPS server does for SNI / Host `host` (lowercase, no trailing dot),
    /// or None when no policy host of the world has that name (the server then resets).
    pub fn https(&self, host: &str) -> Option<HttpsSpec> {
        let _ = host;
        todo!("lab issue")
    }
}
