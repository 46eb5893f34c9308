//! The world model: what the lab serves for any name, derived from hash(seed, name).
//!
//! Pure and deterministic: [`World::spec`] draws a small `Copy` [`DomainSpec`] from a
//! stable hash of (seed, domain); [`World::resolve`] writes the DNS answer for any
//! query name into an [`AnswerSink`] without allocating; [`World::https`] says what
//! the policy host serves. The DNS server, the HTTPS server, the zone exporter and
//! the ground truth (`truth.rs`) all read the world through these functions, so
//! they agree by construction. Shares per profile are in docs/lab.md.

mod hash;
mod https;
pub mod names;
mod records;
pub mod spec;

pub use hash::{name_hash, Draws};
pub use https::{CONTENT_TYPES, MAX_AGES, REAL_BODIES};
pub use spec::{DomainSpec, GoodPolicy, HostSpec, MxSpec, PolicyCase, StsSpec, TlsRptSpec};

use names::{LabKind, LabNode, Role};

use std::net::{Ipv4Addr, Ipv6Addr};

/// How domains are spread over the cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Follows published adoption figures (see docs/lab.md).
    Realistic,
    /// Spreads domains evenly over every case.
    Adversarial,
}

/// The seed `stsmap lab` uses when none is given.
pub const DEFAULT_SEED: u64 = 1;

impl Profile {
    pub const ALL: &'static [Profile] = &[Profile::Realistic, Profile::Adversarial];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Realistic => "realistic",
            Profile::Adversarial => "adversarial",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Profile, String> {
        Profile::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown profile {s:?} (realistic | adversarial)"))
    }
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
        let mut owner: &str = qname;
        // In-world chains are at most two CNAMEs long; the bound only guards against a future loop.
        for _ in 0..8 {
            match self.lookup(owner, qtype, addrs, sink) {
                Node::Nxdomain => return Rcode::NxDomain,
                Node::Data => return Rcode::NoError,
                Node::Cname(target) => {
                    sink.cname(&[owner], &[target], records::TTL_CNAME);
                    if qtype == qtype::CNAME {
                        return Rcode::NoError;
                    }
                    owner = target;
                }
            }
        }
        Rcode::ServFail
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
        let domain = match names::role(host) {
            Role::PolicyHost(d) => d,
            _ => return None,
        };
        let spec = self.spec(domain);
        if !spec.exists() || !spec.host.resolves() {
            return None;
        }
        Some(https::serve(self, domain, &spec))
    }
}

/// RFC 1035 / RFC 3596 type numbers the world answers.
pub mod qtype {
    pub const A: u16 = 1;
    pub const CNAME: u16 = 5;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
}

/// What one owner name holds, for the query at hand.
enum Node {
    /// The name does not exist.
    Nxdomain,
    /// The name is an alias; no other data at it.
    Cname(&'static str),
    /// The name exists; records of the queried type (if any) were emitted.
    Data,
}

impl World {
    /// The spec of `domain` (lowercase, no trailing dot). A domain exists only
    /// when every ancestor with two or more labels exists too, so an NXDOMAIN
    /// never hides a name below it (RFC 8020) — also in the exported zone.
    /// Single-label names (TLDs, `localhost`) are never domains of the world
    /// (they answer as empty non-terminals).
    pub fn spec(&self, domain: &str) -> DomainSpec {
        let s = spec::derive(self.profile, self.seed, domain);
        if !s.exists() || !domain.contains('.') {
            return DomainSpec::nonexistent(s.bits);
        }
        let mut rest = domain;
        while let Some(i) = rest.find('.') {
            rest = &rest[i + 1..];
            if !rest.contains('.') {
                break;
            }
            if !spec::exists_alone(self.profile, self.seed, rest) {
                return DomainSpec::nonexistent(s.bits);
            }
        }
        s
    }

    /// The records of `owner` itself, without following CNAMEs (what a zone file
    /// holds at that name). For an alias, `qtype` CNAME yields the CNAME record.
    pub fn rrset(
        &self,
        owner: &str,
        qtype: u16,
        addrs: &LabAddrs,
        sink: &mut dyn AnswerSink,
    ) -> Rcode {
        match self.lookup(owner, qtype, addrs, sink) {
            Node::Nxdomain => Rcode::NxDomain,
            Node::Data => Rcode::NoError,
            Node::Cname(target) => {
                if qtype == qtype::CNAME {
                    sink.cname(&[owner], &[target], records::TTL_CNAME);
                }
                Rcode::NoError
            }
        }
    }

    fn addresses(
        owner: &[&str],
        qtype: u16,
        v6: bool,
        addrs: &LabAddrs,
        sink: &mut dyn AnswerSink,
    ) {
        match (qtype, addrs.https_v6) {
            (qtype::A, _) => sink.a(owner, addrs.https_v4, records::TTL_ADDR),
            (qtype::AAAA, Some(v6addr)) if v6 => sink.aaaa(owner, v6addr, records::TTL_ADDR),
            _ => {}
        }
    }

    fn lookup(&self, owner: &str, qtype: u16, addrs: &LabAddrs, sink: &mut dyn AnswerSink) -> Node {
        let o = &[owner][..];
        let role = match names::role(owner) {
            Role::MxHost(d, n) => {
                let s = self.spec(d);
                if s.mx == MxSpec::Own && n <= s.mx_count {
                    Self::addresses(o, qtype, false, addrs, sink);
                    return Node::Data;
                }
                Role::Apex(owner)
            }
            r => r,
        };
        match role {
            Role::Lab => return self.lab_lookup(owner, qtype, addrs, sink),
            // The root and TLDs exist above every domain (empty non-terminals here;
            // the root's SOA and NS are the server's): never NXDOMAIN, which would
            // deny every name below them to a resolver that minimises query names.
            Role::Apex(d) if !d.contains('.') => return Node::Data,
            Role::Apex(d) => {
                let s = self.spec(d);
                if !s.exists() {
                    return Node::Nxdomain;
                }
                match qtype {
                    qtype::A => sink.a(o, addrs.https_v4, records::TTL_ADDR),
                    qtype::MX => records::mx(d, &s, o, sink),
                    _ => {}
                }
                return Node::Data;
            }
            _ => {}
        }
        let (d, kind) = match role {
            Role::Sts(d) => (d, 0),
            Role::TlsRpt(d) => (d, 1),
            Role::TlsEnt(d) => (d, 2),
            Role::Acme(d) => (d, 3),
            Role::PolicyHost(d) => (d, 4),
            _ => unreachable!("handled above"),
        };
        let s = self.spec(d);
        if !s.exists() {
            return Node::Nxdomain;
        }
        let txt = qtype == qtype::TXT;
        match kind {
            0 => match s.sts {
                StsSpec::Nxdomain => Node::Nxdomain,
                StsSpec::CnameNoTxt => Node::Cname(names::STS_PROVIDER_HOST),
                StsSpec::CnameProvider => Node::Cname(names::STS_PROVIDER_RECORD),
                StsSpec::CnameChain => Node::Cname(names::STS_PROVIDER_ALIAS),
                _ => {
                    if txt {
                        records::sts_txt(&s, o, sink);
                    }
                    Node::Data
                }
            },
            1 => match s.tlsrpt {
                TlsRptSpec::Nxdomain => Node::Nxdomain,
                TlsRptSpec::Cname => Node::Cname(names::TLSRPT_PROVIDER_RECORD),
                _ => {
                    if txt {
                        records::tlsrpt_txt(d, &s, o, sink);
                    }
                    Node::Data
                }
            },
            2 if s.tlsrpt != TlsRptSpec::Nxdomain => Node::Data,
            3 if s.host == HostSpec::NoAddress => {
                if txt {
                    records::acme_txt(&s, o, sink);
                }
                Node::Data
            }
            4 => match s.host {
                HostSpec::Missing => Node::Nxdomain,
                HostSpec::NoAddress => Node::Data,
                HostSpec::Cname => Node::Cname(names::STS_PROVIDER_HOST),
                HostSpec::DanglingCname => Node::Cname(names::DANGLING_TARGET),
                HostSpec::Direct | HostSpec::DirectV4Only => {
                    Self::addresses(o, qtype, s.host == HostSpec::Direct, addrs, sink);
                    Node::Data
                }
            },
            _ => Node::Nxdomain,
        }
    }

    fn lab_lookup(
        &self,
        owner: &str,
        qtype: u16,
        addrs: &LabAddrs,
        sink: &mut dyn AnswerSink,
    ) -> Node {
        let o = &[owner][..];
        match names::lab_node(owner) {
            LabNode::Nxdomain => Node::Nxdomain,
            LabNode::EmptyNonTerminal => Node::Data,
            LabNode::Record(LabKind::Cname(target)) => Node::Cname(target),
            LabNode::Record(kind) => {
                match (kind, qtype) {
                    (LabKind::Host, _) => Self::addresses(o, qtype, true, addrs, sink),
                    (LabKind::StsRecord, qtype::TXT) => {
                        records::provider_sts_txt(self.seed, o, sink)
                    }
                    (LabKind::TlsRptRecord, qtype::TXT) => records::provider_tlsrpt_txt(o, sink),
                    _ => {}
                }
                Node::Data
            }
        }
    }

    /// Every (owner, qtype) rrset that `domain` contributes to the world, for the
    /// zone exporter: call [`World::rrset`] on each. Owners may repeat across
    /// domains (a shared per-customer MX name); deduplicate by owner and type.
    /// A name that plays another role (`mta-sts.x`, `_mta-sts.x`, a used `mxN.x`)
    /// contributes nothing as an apex: its records come with its own domain.
    pub fn zone_names(&self, domain: &str, f: &mut dyn FnMut(&str, u16)) {
        let s = self.spec(domain);
        if !s.exists() {
            return;
        }
        let mut name = String::with_capacity(domain.len() + 32);
        let mut with = |prefix: &str, t: u16, f: &mut dyn FnMut(&str, u16)| {
            name.clear();
            name.push_str(prefix);
            name.push_str(domain);
            f(&name, t);
        };
        let apex = match names::role(domain) {
            Role::Apex(_) => true,
            Role::MxHost(d, n) => {
                let p = self.spec(d);
                !(p.mx == MxSpec::Own && n <= p.mx_count)
            }
            _ => false,
        };
        if apex {
            with("", qtype::A, f);
            if s.mx != MxSpec::NoMx {
                with("", qtype::MX, f);
            }
            if s.mx == MxSpec::Own {
                for label in names::OWN_MX_LABELS.iter().take(usize::from(s.mx_count)) {
                    with(label, qtype::A, f);
                }
            }
            if s.mx == MxSpec::CustomerHost {
                f(names::customer_mx(domain).as_str(), qtype::A);
            }
        }
        match s.sts {
            StsSpec::Nxdomain => {}
            StsSpec::CnameNoTxt | StsSpec::CnameProvider | StsSpec::CnameChain => {
                with("_mta-sts.", qtype::CNAME, f)
            }
            _ => with("_mta-sts.", qtype::TXT, f),
        }
        match s.tlsrpt {
            TlsRptSpec::Nxdomain => {}
            TlsRptSpec::Cname => with("_smtp._tls.", qtype::CNAME, f),
            _ => with("_smtp._tls.", qtype::TXT, f),
        }
        match s.host {
            HostSpec::Missing => {}
            HostSpec::Direct | HostSpec::DirectV4Only => {
                with("mta-sts.", qtype::A, f);
                with("mta-sts.", qtype::AAAA, f);
            }
            HostSpec::Cname | HostSpec::DanglingCname => with("mta-sts.", qtype::CNAME, f),
            HostSpec::NoAddress => with("_acme-challenge.mta-sts.", qtype::TXT, f),
        }
    }

    /// Every lab-owned (owner, qtype) rrset (providers under `stsmap-lab.test`),
    /// for the zone exporter. Per-customer MX names come from [`World::zone_names`].
    pub fn lab_zone_names(f: &mut dyn FnMut(&str, u16)) {
        names::lab_names(&mut |name, kind| match kind {
            LabKind::Host => {
                f(name, qtype::A);
                f(name, qtype::AAAA);
            }
            LabKind::StsRecord | LabKind::TlsRptRecord => f(name, qtype::TXT),
            LabKind::Cname(_) => f(name, qtype::CNAME),
        });
    }

    /// The MX records of `domain` as the DNS serves them, `(preference, exchange)`
    /// in answer order (the null MX's exchange is "").
    pub fn mx_records(&self, domain: &str) -> Vec<(u16, String)> {
        let mut c = Collect::default();
        let s = self.spec(domain);
        records::mx(domain, &s, &[domain], &mut c);
        c.mx
    }
}

/// An [`AnswerSink`] that keeps everything, for the truth, tests and tools
/// (allocates; not for the DNS hot path).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collect {
    /// `(owner, target)`.
    pub cnames: Vec<(String, String)>,
    /// `(preference, exchange)`.
    pub mx: Vec<(u16, String)>,
    /// One entry per TXT record: its character-strings.
    pub txt: Vec<Vec<Vec<u8>>>,
    pub a: Vec<Ipv4Addr>,
    pub aaaa: Vec<Ipv6Addr>,
    /// Owners of the data records, in order (for checking CNAME chains).
    pub owners: Vec<String>,
}

impl Collect {
    /// Each TXT record with its strings concatenated (what the record parsers take).
    pub fn txt_joined(&self) -> Vec<Vec<u8>> {
        self.txt.iter().map(|r| r.concat()).collect()
    }
}

impl AnswerSink for Collect {
    fn cname(&mut self, owner: &[&str], target: &[&str], _ttl: u32) {
        self.cnames.push((owner.concat(), target.concat()));
    }
    fn mx(&mut self, owner: &[&str], preference: u16, exchange: &[&str], _ttl: u32) {
        self.owners.push(owner.concat());
        self.mx.push((preference, exchange.concat()));
    }
    fn txt(&mut self, owner: &[&str], strings: &[&[u8]], _ttl: u32) {
        self.owners.push(owner.concat());
        self.txt.push(strings.iter().map(|s| s.to_vec()).collect());
    }
    fn a(&mut self, owner: &[&str], addr: Ipv4Addr, _ttl: u32) {
        self.owners.push(owner.concat());
        self.a.push(addr);
    }
    fn aaaa(&mut self, owner: &[&str], addr: Ipv6Addr, _ttl: u32) {
        self.owners.push(owner.concat());
        self.aaaa.push(addr);
    }
}

#[cfg(test)]
mod tests;
