//! What one domain publishes: a small `Copy` description drawn from hash(seed, domain).
//!
//! The DNS server derives a [`DomainSpec`] per query, so it holds no strings and
//! allocates nothing; names and texts are written from it on the fly.

use super::hash::Draws;
use super::Profile;
use crate::row::{Coverage, Mode};

/// The MX answer at the domain apex.
///
/// ```text
/// RFC 7505 §3: a domain that advertises no mail service publishes a single
/// "null MX" record: MX 0 "."
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MxSpec {
    /// The domain does not exist: NXDOMAIN for it and every name below it.
    Nxdomain,
    /// The apex exists (it has an A record) but no MX: NODATA.
    NoMx,
    /// The single `0 .` record.
    NullMx,
    /// `0 .` mixed with a provider's hosts (a misconfiguration RFC 7505 §3 warns about).
    NullMixed,
    /// Hosts shared with other customers of a mail provider (see `names::MX_PROVIDERS`).
    Provider(u8),
    /// Per-customer host at a provider: `<domain-with-dashes>.mail.protection.mail-provider-2.stsmap-lab.test`.
    CustomerHost,
    /// `mx1.<domain>` … `mxN.<domain>`, N = `mx_count`.
    Own,
}

/// The `_mta-sts.<domain>` TXT answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StsSpec {
    /// NXDOMAIN: absent.
    Nxdomain,
    /// Only TXT records that do not start with `v=STSv1`: absent (RFC 8461 §3.1 discards them).
    UnrelatedOnly,
    /// A CNAME to the STS provider's policy host, which has no TXT: NODATA, absent.
    CnameNoTxt,
    /// One valid record, one character-string.
    Valid,
    /// One valid record split over two character-strings.
    ValidSplit,
    /// A valid record beside an unrelated TXT record.
    ValidWithUnrelated,
    /// A valid record with an extension field.
    ValidExtension,
    /// A valid record among dozens of unrelated TXT records (site verifications, as some
    /// zones collect them): the answer set is far over 1232 bytes, so UDP replies are
    /// truncated (TC=1) and a scanner must retry over TCP (RFC 7766 §5).
    ValidAmongMany,
    /// CNAME to the STS provider's shared record.
    CnameProvider,
    /// Two CNAMEs (customer alias, then the shared record).
    CnameChain,
    /// `v=STSv1;` with no `id`.
    MissingId,
    /// `id` with 33 characters (the limit is 32).
    IdTooLong,
    /// `id` with characters outside ALPHA / DIGIT (a dated id with hyphens).
    IdBadChars,
    /// `id=` with an empty value.
    EmptyId,
    /// Two records starting with `v=STSv1`.
    Multiple,
}

impl StsSpec {
    pub const ALL: &'static [StsSpec] = &[
        StsSpec::Nxdomain,
        StsSpec::UnrelatedOnly,
        StsSpec::CnameNoTxt,
        StsSpec::Valid,
        StsSpec::ValidSplit,
        StsSpec::ValidWithUnrelated,
        StsSpec::ValidExtension,
        StsSpec::ValidAmongMany,
        StsSpec::CnameProvider,
        StsSpec::CnameChain,
        StsSpec::MissingId,
        StsSpec::IdTooLong,
        StsSpec::IdBadChars,
        StsSpec::EmptyId,
        StsSpec::Multiple,
    ];

    /// Whether a correct parser judges this record set `valid`.
    pub fn is_valid(self) -> bool {
        matches!(
            self,
            StsSpec::Valid
                | StsSpec::ValidSplit
                | StsSpec::ValidWithUnrelated
                | StsSpec::ValidExtension
                | StsSpec::ValidAmongMany
                | StsSpec::CnameProvider
                | StsSpec::CnameChain
        )
    }

    /// Whether the answer is absent (NXDOMAIN, NODATA, or no `v=STSv1` record).
    pub fn is_absent(self) -> bool {
        matches!(
            self,
            StsSpec::Nxdomain | StsSpec::UnrelatedOnly | StsSpec::CnameNoTxt
        )
    }
}

/// The policy host `mta-sts.<domain>` in DNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostSpec {
    /// A, plus AAAA when the lab has an IPv6 address.
    Direct,
    /// A only.
    DirectV4Only,
    /// CNAME to the STS provider's policy host (which has A/AAAA).
    Cname,
    /// NXDOMAIN.
    Missing,
    /// The name exists (an `_acme-challenge` TXT below it) but has no address.
    NoAddress,
    /// CNAME to a name that does not exist: NXDOMAIN after the CNAME.
    DanglingCname,
}

impl HostSpec {
    pub const ALL: &'static [HostSpec] = &[
        HostSpec::Direct,
        HostSpec::DirectV4Only,
        HostSpec::Cname,
        HostSpec::Missing,
        HostSpec::NoAddress,
        HostSpec::DanglingCname,
    ];

    /// Whether the host resolves to the lab's HTTPS address.
    pub fn resolves(self) -> bool {
        matches!(
            self,
            HostSpec::Direct | HostSpec::DirectV4Only | HostSpec::Cname
        )
    }
}

/// What the HTTPS server does for `https://mta-sts.<domain>/.well-known/mta-sts.txt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyCase {
    /// 200 with a generated policy (mode, coverage etc. from [`GoodPolicy`]).
    Good,
    CertExpired,
    CertNotYetValid,
    CertWrongName,
    CertUntrusted,
    HandshakeStall,
    NotTls,
    /// 404 with an HTML page.
    NotFound,
    /// 403 with an S3 `AccessDenied` XML body.
    Forbidden,
    /// 500 with a Cloudflare-Worker error text.
    ServerError,
    /// 301 to `https://www.<domain>/.well-known/mta-sts.txt`.
    Moved,
    /// 302 to the STS provider.
    Found,
    /// 200 with an HTML page (a soft 404).
    HtmlPage,
    /// 200 with a real-world body (`data/lab-policies/`), index into `https::REAL_BODIES`.
    RealBody,
    /// 200 with a body over 64 KiB.
    Oversize,
    /// 200, then a body that never ends.
    Trickle,
}

impl PolicyCase {
    pub const ALL: &'static [PolicyCase] = &[
        PolicyCase::Good,
        PolicyCase::CertExpired,
        PolicyCase::CertNotYetValid,
        PolicyCase::CertWrongName,
        PolicyCase::CertUntrusted,
        PolicyCase::HandshakeStall,
        PolicyCase::NotTls,
        PolicyCase::NotFound,
        PolicyCase::Forbidden,
        PolicyCase::ServerError,
        PolicyCase::Moved,
        PolicyCase::Found,
        PolicyCase::HtmlPage,
        PolicyCase::RealBody,
        PolicyCase::Oversize,
        PolicyCase::Trickle,
    ];
}

/// The parameters of a generated policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GoodPolicy {
    pub mode: Mode,
    /// How many MX hosts the `mx` patterns are meant to cover (`Some` with a single
    /// host is written as `None`: half of one host is no host).
    pub coverage: Coverage,
    /// Cover hosts with `*.<parent>` patterns instead of listing them.
    pub wildcard: bool,
    /// CRLF line endings instead of LF.
    pub crlf: bool,
    /// Index into `https::MAX_AGES`.
    pub max_age: u8,
    /// Index into `https::CONTENT_TYPES`.
    pub content_type: u8,
}

/// The `_smtp._tls.<domain>` TXT answer (RFC 8460 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsRptSpec {
    Nxdomain,
    /// `rua=mailto:tlsrpt@<domain>`.
    Mailto,
    /// `rua=https://…`.
    Https,
    /// A mailto and an https URI.
    Several,
    /// CNAME to the STS provider's record.
    Cname,
    /// `rua=tlsrpt@<domain>` (no URI scheme).
    NoScheme,
    /// `v=TLSRPTv1;` without `rua`.
    MissingRua,
    /// Two records starting with `v=TLSRPTv1`.
    Multiple,
}

impl TlsRptSpec {
    pub const ALL: &'static [TlsRptSpec] = &[
        TlsRptSpec::Nxdomain,
        TlsRptSpec::Mailto,
        TlsRptSpec::Https,
        TlsRptSpec::Several,
        TlsRptSpec::Cname,
        TlsRptSpec::NoScheme,
        TlsRptSpec::MissingRua,
        TlsRptSpec::Multiple,
    ];
}

/// Everything one domain publishes. `Copy`, string-free: cheap to derive per query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DomainSpec {
    pub mx: MxSpec,
    /// Number of MX hosts for `Provider`, `NullMixed` and `Own` (1–5, capped by the provider).
    pub mx_count: u8,
    pub sts: StsSpec,
    pub host: HostSpec,
    pub policy: PolicyCase,
    pub good: GoodPolicy,
    /// Index into `https::REAL_BODIES` for [`PolicyCase::RealBody`].
    pub real_body: u8,
    pub tlsrpt: TlsRptSpec,
    /// Free bits for small variations (record ids, split points, orderings).
    pub bits: u64,
}

impl DomainSpec {
    /// The spec of a name that does not exist.
    pub fn nonexistent(bits: u64) -> DomainSpec {
        DomainSpec {
            mx: MxSpec::Nxdomain,
            mx_count: 0,
            sts: StsSpec::Nxdomain,
            host: HostSpec::Missing,
            policy: PolicyCase::Good,
            good: GoodPolicy {
                mode: Mode::Enforce,
                coverage: Coverage::All,
                wildcard: false,
                crlf: false,
                max_age: 0,
                content_type: 0,
            },
            real_body: 0,
            tlsrpt: TlsRptSpec::Nxdomain,
            bits,
        }
    }

    /// Whether the domain's apex exists.
    pub fn exists(&self) -> bool {
        self.mx != MxSpec::Nxdomain
    }

    /// Whether the domain receives mail (MX hosts other than a lone null MX).
    pub fn has_mail(&self) -> bool {
        matches!(
            self.mx,
            MxSpec::NullMixed | MxSpec::Provider(_) | MxSpec::CustomerHost | MxSpec::Own
        )
    }
}

/// Number of MX providers with shared host names.
pub const MX_PROVIDER_COUNT: u8 = 4;

/// Adversarial MX weights: every case, mail cases twice as often as no-mail ones.
const MX_ADVERSARIAL: &[(MxSpec, u32)] = &[
    (MxSpec::Nxdomain, 1),
    (MxSpec::NoMx, 1),
    (MxSpec::NullMx, 1),
    (MxSpec::NullMixed, 2),
    (MxSpec::Provider(0), 2),
    (MxSpec::Provider(1), 2),
    (MxSpec::Provider(2), 2),
    (MxSpec::Provider(3), 2),
    (MxSpec::CustomerHost, 2),
    (MxSpec::Own, 2),
];

/// Adversarial `_mta-sts` weights: a quarter absent, half valid, a quarter broken.
const STS_ADVERSARIAL: &[(StsSpec, u32)] = &[
    (StsSpec::Nxdomain, 2),
    (StsSpec::UnrelatedOnly, 2),
    (StsSpec::CnameNoTxt, 2),
    (StsSpec::Valid, 2),
    (StsSpec::ValidSplit, 2),
    (StsSpec::ValidWithUnrelated, 2),
    (StsSpec::ValidExtension, 2),
    (StsSpec::ValidAmongMany, 1),
    (StsSpec::CnameProvider, 2),
    (StsSpec::CnameChain, 2),
    (StsSpec::MissingId, 1),
    (StsSpec::IdTooLong, 1),
    (StsSpec::IdBadChars, 1),
    (StsSpec::EmptyId, 1),
    (StsSpec::Multiple, 2),
];

/// Adversarial policy-host weights: two thirds resolve.
const HOST_ADVERSARIAL: &[(HostSpec, u32)] = &[
    (HostSpec::Direct, 2),
    (HostSpec::DirectV4Only, 2),
    (HostSpec::Cname, 2),
    (HostSpec::Missing, 1),
    (HostSpec::NoAddress, 1),
    (HostSpec::DanglingCname, 1),
];

/// Adversarial fetch weights: half good policies (which split further by mode,
/// coverage and format), the other half spread over every failure.
const POLICY_ADVERSARIAL: &[(PolicyCase, u32)] = &[
    (PolicyCase::Good, 18),
    (PolicyCase::CertExpired, 1),
    (PolicyCase::CertNotYetValid, 1),
    (PolicyCase::CertWrongName, 1),
    (PolicyCase::CertUntrusted, 1),
    (PolicyCase::HandshakeStall, 1),
    (PolicyCase::NotTls, 1),
    (PolicyCase::NotFound, 1),
    (PolicyCase::Forbidden, 1),
    (PolicyCase::ServerError, 1),
    (PolicyCase::Moved, 1),
    (PolicyCase::Found, 1),
    (PolicyCase::HtmlPage, 1),
    (PolicyCase::RealBody, 4),
    (PolicyCase::Oversize, 1),
    (PolicyCase::Trickle, 1),
];

/// Realistic MX shares, per 10 000 names: about 20% without mail (docs/lab.md).
const MX_REALISTIC: &[(MxSpec, u32)] = &[
    (MxSpec::Nxdomain, 500),
    (MxSpec::NoMx, 1300),
    (MxSpec::NullMx, 200),
    (MxSpec::NullMixed, 5),
    (MxSpec::Provider(0), 2600),
    (MxSpec::Provider(1), 150),
    (MxSpec::Provider(2), 200),
    (MxSpec::Provider(3), 150),
    (MxSpec::CustomerHost, 2000),
    (MxSpec::Own, 2895),
];

/// Realistic `_mta-sts` shares among mail domains, per 100 000: 1% publish a
/// record, 10% of those records are invalid or multiple.
const STS_REALISTIC: &[(StsSpec, u32)] = &[
    (StsSpec::Nxdomain, 98_490),
    (StsSpec::UnrelatedOnly, 300),
    (StsSpec::CnameNoTxt, 200),
    (StsSpec::Valid, 620),
    (StsSpec::ValidSplit, 60),
    (StsSpec::ValidWithUnrelated, 70),
    (StsSpec::ValidExtension, 30),
    (StsSpec::ValidAmongMany, 10),
    (StsSpec::CnameProvider, 90),
    (StsSpec::CnameChain, 30),
    (StsSpec::MissingId, 13),
    (StsSpec::IdTooLong, 12),
    (StsSpec::IdBadChars, 13),
    (StsSpec::EmptyId, 12),
    (StsSpec::Multiple, 50),
];

/// Realistic policy-host shares (per 10 000) for domains with an STS record.
const HOST_REALISTIC: &[(HostSpec, u32)] = &[
    (HostSpec::Direct, 6500),
    (HostSpec::DirectV4Only, 1500),
    (HostSpec::Cname, 1500),
    (HostSpec::Missing, 400),
    (HostSpec::NoAddress, 50),
    (HostSpec::DanglingCname, 50),
];

/// Realistic fetch outcomes (per 10 000) for policy hosts that resolve.
const POLICY_REALISTIC: &[(PolicyCase, u32)] = &[
    (PolicyCase::Good, 8230),
    (PolicyCase::CertExpired, 300),
    (PolicyCase::CertNotYetValid, 30),
    (PolicyCase::CertWrongName, 300),
    (PolicyCase::CertUntrusted, 100),
    (PolicyCase::HandshakeStall, 30),
    (PolicyCase::NotTls, 20),
    (PolicyCase::NotFound, 400),
    (PolicyCase::Forbidden, 50),
    (PolicyCase::ServerError, 50),
    (PolicyCase::Moved, 60),
    (PolicyCase::Found, 40),
    (PolicyCase::HtmlPage, 100),
    (PolicyCase::RealBody, 250),
    (PolicyCase::Oversize, 20),
    (PolicyCase::Trickle, 20),
];

/// Realistic TLS-RPT shares (per 10 000) for domains with an STS record.
const TLSRPT_WITH_STS: &[(TlsRptSpec, u32)] = &[
    (TlsRptSpec::Nxdomain, 2500),
    (TlsRptSpec::Mailto, 4500),
    (TlsRptSpec::Https, 800),
    (TlsRptSpec::Several, 700),
    (TlsRptSpec::Cname, 1000),
    (TlsRptSpec::NoScheme, 200),
    (TlsRptSpec::MissingRua, 100),
    (TlsRptSpec::Multiple, 200),
];

/// Realistic TLS-RPT shares (per 10 000) for mail domains without an STS record.
const TLSRPT_WITHOUT_STS: &[(TlsRptSpec, u32)] = &[
    (TlsRptSpec::Nxdomain, 9900),
    (TlsRptSpec::Mailto, 60),
    (TlsRptSpec::Https, 15),
    (TlsRptSpec::Several, 10),
    (TlsRptSpec::Cname, 5),
    (TlsRptSpec::NoScheme, 4),
    (TlsRptSpec::MissingRua, 3),
    (TlsRptSpec::Multiple, 3),
];

const MODE_REALISTIC: &[(Mode, u32)] = &[(Mode::Enforce, 60), (Mode::Testing, 35), (Mode::None, 5)];
const COVERAGE_REALISTIC: &[(Coverage, u32)] = &[
    (Coverage::All, 94),
    (Coverage::Some, 3),
    (Coverage::None, 3),
];
const CONTENT_TYPE_REALISTIC: &[(u8, u32)] = &[(0, 70), (1, 25), (2, 3), (3, 2)];

fn draw_mx(profile: Profile, d: &mut Draws) -> MxSpec {
    match profile {
        Profile::Adversarial => d.pick(MX_ADVERSARIAL),
        Profile::Realistic => d.pick(MX_REALISTIC),
    }
}

/// Whether `domain` alone exists (the first draws of [`derive`], without the rest).
pub fn exists_alone(profile: Profile, seed: u64, domain: &str) -> bool {
    let mut d = Draws::new(seed, domain.as_bytes());
    d.next_u64();
    draw_mx(profile, &mut d) != MxSpec::Nxdomain
}

/// Derives the spec of `domain` alone, before the existence of its ancestors is applied.
pub fn derive(profile: Profile, seed: u64, domain: &str) -> DomainSpec {
    let mut d = Draws::new(seed, domain.as_bytes());
    let bits = d.next_u64();
    let adversarial = profile == Profile::Adversarial;
    let mx = draw_mx(profile, &mut d);
    if mx == MxSpec::Nxdomain {
        return DomainSpec::nonexistent(bits);
    }
    // A per-customer provider name is one label: it must fit in 63 bytes.
    let mx = if mx == MxSpec::CustomerHost && domain.len() > 63 {
        MxSpec::Provider(0)
    } else {
        mx
    };
    let mx_count = match mx {
        MxSpec::Provider(0) if !adversarial => d.pick(&[(5, 80), (2, 10), (1, 10)]),
        MxSpec::Provider(_) | MxSpec::NullMixed | MxSpec::Own => 1 + d.below(5) as u8,
        MxSpec::CustomerHost => 1,
        _ => 0,
    };
    let mail = matches!(
        mx,
        MxSpec::NullMixed | MxSpec::Provider(_) | MxSpec::CustomerHost | MxSpec::Own
    );
    let sts = if adversarial {
        d.pick(STS_ADVERSARIAL)
    } else if mail {
        d.pick(STS_REALISTIC)
    } else {
        StsSpec::Nxdomain
    };
    let host = if adversarial {
        d.pick(HOST_ADVERSARIAL)
    } else if sts.is_absent() {
        HostSpec::Missing
    } else {
        d.pick(HOST_REALISTIC)
    };
    let policy = if adversarial {
        d.pick(POLICY_ADVERSARIAL)
    } else {
        d.pick(POLICY_REALISTIC)
    };
    let good = if adversarial {
        GoodPolicy {
            mode: d.uniform(Mode::ALL),
            coverage: d.uniform(Coverage::ALL),
            wildcard: d.below(2) == 1,
            crlf: d.below(2) == 1,
            max_age: d.below(super::https::MAX_AGES.len() as u32) as u8,
            content_type: d.below(super::https::CONTENT_TYPES.len() as u32) as u8,
        }
    } else {
        GoodPolicy {
            mode: d.pick(MODE_REALISTIC),
            coverage: d.pick(COVERAGE_REALISTIC),
            wildcard: d.below(4) == 0,
            crlf: d.below(5) == 0,
            max_age: d.below(super::https::MAX_AGES.len() as u32) as u8,
            content_type: d.pick(CONTENT_TYPE_REALISTIC),
        }
    };
    let real_body = d.below(super::https::REAL_BODIES.len() as u32) as u8;
    let tlsrpt = if adversarial {
        d.uniform(TlsRptSpec::ALL)
    } else if !mail {
        TlsRptSpec::Nxdomain
    } else if sts.is_absent() {
        d.pick(TLSRPT_WITHOUT_STS)
    } else {
        d.pick(TLSRPT_WITH_STS)
    };
    DomainSpec {
        mx,
        mx_count,
        sts,
        host,
        policy,
        good,
        real_body,
        tlsrpt,
        bits,
    }
}
