//! Names: the lab-owned providers under `stsmap-lab.test`, and how a query name
//! maps to the domain whose spec answers it.
//!
//! Every lab-owned name is under the `.test` TLD (RFC 2606 reserves it for testing),
//! so the lab can never shadow a real domain.

/// Suffix of every lab-owned name.
pub const LAB_SUFFIX: &str = "stsmap-lab.test";

/// MX host tables of the providers whose host names customers share,
/// `(preference, exchange)` in preference order.
pub const MX_PROVIDERS: [&[(u16, &str)]; 4] = [
    &[
        (1, "aspmx.l.mail-provider-1.stsmap-lab.test"),
        (5, "alt1.aspmx.l.mail-provider-1.stsmap-lab.test"),
        (5, "alt2.aspmx.l.mail-provider-1.stsmap-lab.test"),
        (10, "alt3.aspmx.l.mail-provider-1.stsmap-lab.test"),
        (10, "alt4.aspmx.l.mail-provider-1.stsmap-lab.test"),
    ],
    &[
        (10, "in1-smtp.mail-provider-3.stsmap-lab.test"),
        (20, "in2-smtp.mail-provider-3.stsmap-lab.test"),
    ],
    &[
        (10, "mail.mail-provider-4.stsmap-lab.test"),
        (20, "mailsec.mail-provider-4.stsmap-lab.test"),
    ],
    &[
        (10, "mx00.mail-provider-5.stsmap-lab.test"),
        (10, "mx01.mail-provider-5.stsmap-lab.test"),
        (20, "mx02.mail-provider-5.stsmap-lab.test"),
    ],
];

/// Per-customer MX hosts are `<domain with dots as dashes>` + this suffix; any one
/// label here has an A record.
pub const CUSTOMER_MX_SUFFIX: &str = ".mail.protection.mail-provider-2.stsmap-lab.test";

/// The hosted MTA-STS provider's policy host (A/AAAA); customers CNAME `mta-sts.` here.
pub const STS_PROVIDER_HOST: &str = "mta-sts.sts-provider.stsmap-lab.test";
/// The provider's shared `_mta-sts` TXT record.
pub const STS_PROVIDER_RECORD: &str = "_mta-sts.sts-provider.stsmap-lab.test";
/// A CNAME to [`STS_PROVIDER_RECORD`], so customers pointing here make a two-step chain.
pub const STS_PROVIDER_ALIAS: &str = "_mta-sts.customers.sts-provider.stsmap-lab.test";
/// The provider's shared `_smtp._tls` TXT record.
pub const TLSRPT_PROVIDER_RECORD: &str = "_smtp._tls.sts-provider.stsmap-lab.test";
/// A CNAME target that does not exist (a retired hosting service).
pub const DANGLING_TARGET: &str = "mta-sts.retired-host.stsmap-lab.test";
/// An MX host no domain uses: the pattern of policies that cover none of their MX.
pub const OLD_MX: &str = "mx.old-provider.stsmap-lab.test";
/// The https reporting URI of TLS-RPT records.
pub const TLSRPT_HTTPS_URI: &str = "https://tlsrpt.sts-provider.stsmap-lab.test/v1/report";

/// What a lab-owned name holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabKind {
    /// A (and AAAA when the lab has IPv6).
    Host,
    /// The STS provider's `v=STSv1` record.
    StsRecord,
    /// CNAME to the given name.
    Cname(&'static str),
    /// The provider's `v=TLSRPTv1` record.
    TlsRptRecord,
}

/// Lab-owned names that are not MX hosts of [`MX_PROVIDERS`].
pub const LAB_NAMES: &[(&str, LabKind)] = &[
    (STS_PROVIDER_HOST, LabKind::Host),
    (STS_PROVIDER_RECORD, LabKind::StsRecord),
    (STS_PROVIDER_ALIAS, LabKind::Cname(STS_PROVIDER_RECORD)),
    (TLSRPT_PROVIDER_RECORD, LabKind::TlsRptRecord),
];

/// What a lab-owned name is.
pub enum LabNode {
    Record(LabKind),
    /// Exists only because names below it exist (NODATA for every type).
    EmptyNonTerminal,
    Nxdomain,
}

/// Every lab-owned name with records, in a fixed order.
pub fn lab_names(f: &mut dyn FnMut(&'static str, LabKind)) {
    for table in MX_PROVIDERS {
        for (_, host) in table {
            f(host, LabKind::Host);
        }
    }
    for (name, kind) in LAB_NAMES {
        f(name, *kind);
    }
}

/// Looks up a name under [`LAB_SUFFIX`].
pub fn lab_node(qname: &str) -> LabNode {
    let mut found = None;
    let mut below = false;
    lab_names(&mut |name, kind| {
        if name == qname {
            found = Some(kind);
        } else if is_below(name, qname) {
            below = true;
        }
    });
    if let Some(kind) = found {
        return LabNode::Record(kind);
    }
    if let Some(label) = qname.strip_suffix(CUSTOMER_MX_SUFFIX) {
        if !label.is_empty() && !label.contains('.') {
            return LabNode::Record(LabKind::Host);
        }
    }
    let customer_parent = &CUSTOMER_MX_SUFFIX[1..];
    if below || qname == customer_parent || is_below(customer_parent, qname) || qname == LAB_SUFFIX
    {
        return LabNode::EmptyNonTerminal;
    }
    LabNode::Nxdomain
}

/// Whether `name` is strictly below `ancestor`.
pub fn is_below(name: &str, ancestor: &str) -> bool {
    name.len() > ancestor.len()
        && name.ends_with(ancestor)
        && name.as_bytes()[name.len() - ancestor.len() - 1] == b'.'
}

/// The role a query name plays, and the domain whose spec answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role<'a> {
    /// Under [`LAB_SUFFIX`].
    Lab,
    /// `_mta-sts.<domain>`.
    Sts(&'a str),
    /// `_smtp._tls.<domain>`.
    TlsRpt(&'a str),
    /// `_tls.<domain>`: the empty non-terminal above `_smtp._tls.<domain>`.
    TlsEnt(&'a str),
    /// `_acme-challenge.mta-sts.<domain>`.
    Acme(&'a str),
    /// `mta-sts.<domain>`.
    PolicyHost(&'a str),
    /// `mx<N>.<domain>`, N in 1..=5 (only when the domain has that many own MX hosts).
    MxHost(&'a str, u8),
    /// Any other name: a domain apex.
    Apex(&'a str),
}

/// Own MX host labels, with the dot: `mx1.` … `mx5.`.
pub const OWN_MX_LABELS: [&str; 5] = ["mx1.", "mx2.", "mx3.", "mx4.", "mx5."];

/// The role of `qname` (lowercase, no trailing dot). `MxHost` is only a candidate:
/// the caller falls back to `Apex` when the domain has no such host.
pub fn role(qname: &str) -> Role<'_> {
    if qname == LAB_SUFFIX || is_below(qname, LAB_SUFFIX) {
        return Role::Lab;
    }
    let sub = |prefix: &str| qname.strip_prefix(prefix).filter(|d| !d.is_empty());
    if let Some(d) = sub("_mta-sts.") {
        return Role::Sts(d);
    }
    if let Some(d) = sub("_smtp._tls.") {
        return Role::TlsRpt(d);
    }
    if let Some(d) = sub("_tls.") {
        return Role::TlsEnt(d);
    }
    if let Some(d) = sub("_acme-challenge.mta-sts.") {
        return Role::Acme(d);
    }
    if let Some(d) = sub("mta-sts.") {
        return Role::PolicyHost(d);
    }
    for (i, label) in OWN_MX_LABELS.iter().enumerate() {
        if let Some(d) = sub(label) {
            return Role::MxHost(d, i as u8 + 1);
        }
    }
    Role::Apex(qname)
}

/// A fixed-capacity byte buffer on the stack, for names and TXT texts built per query.
pub struct StackBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StackBuf<N> {
    pub fn new() -> Self {
        StackBuf {
            bytes: [0; N],
            len: 0,
        }
    }

    /// Appends, truncating at capacity (capacities are chosen so that names the
    /// DNS allows always fit).
    pub fn push(&mut self, s: &[u8]) -> &mut Self {
        debug_assert!(self.len + s.len() <= N, "StackBuf<{N}> too small");
        let n = s.len().min(N - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
        self
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The contents as text (only ASCII is ever pushed; invalid UTF-8 yields "").
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The contents cut into character-strings of at most 255 bytes (RFC 1035 §3.3).
    pub fn strings(&self) -> ([&[u8]; 4], usize) {
        let mut out: [&[u8]; 4] = [&[]; 4];
        let mut n = 0;
        let mut rest = self.as_bytes();
        while !rest.is_empty() && n < 4 {
            let (head, tail) = rest.split_at(rest.len().min(255));
            out[n] = head;
            n += 1;
            rest = tail;
        }
        if n == 0 {
            n = 1;
        }
        (out, n)
    }
}

impl<const N: usize> Default for StackBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// `<domain with dots replaced by dashes>` + [`CUSTOMER_MX_SUFFIX`], as Exchange Online names tenants.
pub fn customer_mx(domain: &str) -> StackBuf<128> {
    let mut b = StackBuf::new();
    for &c in domain.as_bytes() {
        b.push(&[if c == b'.' { b'-' } else { c }]);
    }
    b.push(CUSTOMER_MX_SUFFIX.as_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_strip_the_prefix_the_scanner_adds() {
        assert_eq!(role("_mta-sts.example.com"), Role::Sts("example.com"));
        assert_eq!(role("_smtp._tls.example.com"), Role::TlsRpt("example.com"));
        assert_eq!(role("_tls.example.com"), Role::TlsEnt("example.com"));
        assert_eq!(role("mta-sts.example.com"), Role::PolicyHost("example.com"));
        assert_eq!(role("_acme-challenge.mta-sts.a.b"), Role::Acme("a.b"));
        assert_eq!(role("mx2.example.com"), Role::MxHost("example.com", 2));
        assert_eq!(role("mx6.example.com"), Role::Apex("mx6.example.com"));
        assert_eq!(role("example.com"), Role::Apex("example.com"));
        assert_eq!(
            role("alt1.aspmx.l.mail-provider-1.stsmap-lab.test"),
            Role::Lab
        );
        assert_eq!(role("mta-sts."), Role::Apex("mta-sts."));
    }

    #[test]
    fn lab_names_have_records_and_their_parents_are_empty_non_terminals() {
        assert!(matches!(
            lab_node(STS_PROVIDER_RECORD),
            LabNode::Record(LabKind::StsRecord)
        ));
        assert!(matches!(
            lab_node("l.mail-provider-1.stsmap-lab.test"),
            LabNode::EmptyNonTerminal
        ));
        assert!(matches!(
            lab_node("stsmap-lab.test"),
            LabNode::EmptyNonTerminal
        ));
        assert!(matches!(lab_node(DANGLING_TARGET), LabNode::Nxdomain));
        let c = customer_mx("example.co.uk");
        assert_eq!(
            c.as_str(),
            "example-co-uk.mail.protection.mail-provider-2.stsmap-lab.test"
        );
        assert!(matches!(
            lab_node(c.as_str()),
            LabNode::Record(LabKind::Host)
        ));
        assert!(matches!(
            lab_node("mail.protection.mail-provider-2.stsmap-lab.test"),
            LabNode::EmptyNonTerminal
        ));
    }

    #[test]
    fn long_texts_are_cut_into_255_byte_strings() {
        let mut b = StackBuf::<1024>::new();
        b.push(&[b'x'; 600]);
        let (s, n) = b.strings();
        assert_eq!(n, 3);
        assert_eq!((s[0].len(), s[1].len(), s[2].len()), (255, 255, 90));
    }
}
