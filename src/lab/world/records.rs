//! Writes a domain's DNS records into an [`AnswerSink`] from its [`DomainSpec`],
//! with names as parts and texts in stack buffers: nothing here allocates.

use super::hash::Draws;
use super::names::{self, StackBuf};
use super::spec::{DomainSpec, MxSpec, StsSpec, TlsRptSpec};
use super::AnswerSink;

/// TTLs: long for MX (as providers publish), short for the policy-signalling names.
pub const TTL_MX: u32 = 3600;
pub const TTL_TXT: u32 = 300;
pub const TTL_ADDR: u32 = 300;
pub const TTL_CNAME: u32 = 300;

/// A record id: 14 digits, date-like (`20` + 12 digits), ALPHA/DIGIT only as RFC 8461 §3.1 requires.
pub fn sts_id(bits: u64) -> StackBuf<32> {
    let mut b = StackBuf::new();
    b.push(b"20");
    let mut v = bits % 1_000_000_000_000;
    let mut digits = [b'0'; 12];
    for d in digits.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    b.push(&digits);
    b
}

/// The id of the STS provider's shared record (one per seed).
pub fn provider_sts_id(seed: u64) -> StackBuf<32> {
    sts_id(Draws::new(seed, b"sts-provider").next_u64())
}

/// Emits the MX records of `domain` at `owner`, in preference order.
pub fn mx(domain: &str, spec: &DomainSpec, owner: &[&str], sink: &mut dyn AnswerSink) {
    let n = usize::from(spec.mx_count);
    match spec.mx {
        MxSpec::Nxdomain | MxSpec::NoMx => {}
        MxSpec::NullMx => sink.mx(owner, 0, &[], TTL_MX),
        MxSpec::NullMixed => {
            sink.mx(owner, 0, &[], TTL_MX);
            for (pref, host) in names::MX_PROVIDERS[0].iter().take(n) {
                sink.mx(owner, *pref, &[host], TTL_MX);
            }
        }
        MxSpec::Provider(p) => {
            for (pref, host) in names::MX_PROVIDERS[usize::from(p)].iter().take(n) {
                sink.mx(owner, *pref, &[host], TTL_MX);
            }
        }
        MxSpec::CustomerHost => {
            let host = names::customer_mx(domain);
            sink.mx(owner, 0, &[host.as_str()], TTL_MX);
        }
        MxSpec::Own => {
            for (i, label) in names::OWN_MX_LABELS.iter().take(n).enumerate() {
                sink.mx(owner, 10 * (i as u16 + 1), &[label, domain], TTL_MX);
            }
        }
    }
}

fn record(id: &[u8]) -> StackBuf<128> {
    let mut b = StackBuf::new();
    b.push(b"v=STSv1; id=").push(id);
    b
}

/// How many unrelated TXT records surround the STS record in [`StsSpec::ValidAmongMany`]:
/// 40 records of about 60 bytes each, about 2.5 KB, twice the 1232-byte EDNS size.
pub const AMONG_MANY: usize = 40;

/// The `i`-th unrelated site-verification record of a [`StsSpec::ValidAmongMany`] answer.
fn verification(bits: u64, i: usize) -> StackBuf<64> {
    let mut b = StackBuf::new();
    b.push(b"site-verification-");
    b.push(&[b'0' + (i / 10) as u8, b'0' + (i % 10) as u8]);
    b.push(b"=");
    b.push(sts_id(bits.rotate_left(i as u32 + 1)).as_bytes());
    b.push(b"abcdefghijklmnopqrstu");
    b
}

/// Emits the TXT records of `_mta-sts.<domain>` (for the specs that have TXT there).
pub fn sts_txt(spec: &DomainSpec, owner: &[&str], sink: &mut dyn AnswerSink) {
    let id = sts_id(spec.bits);
    let id = id.as_bytes();
    let t = TTL_TXT;
    let unrelated: &[u8] = if spec.bits & 1 == 0 {
        b"v=spf1 -all"
    } else {
        b"google-site-verification=3q1cJ7mXv0aZ9pK2sLwE8rT4yU6iO5nB"
    };
    match spec.sts {
        StsSpec::UnrelatedOnly => sink.txt(owner, &[unrelated], t),
        StsSpec::Valid => sink.txt(owner, &[record(id).as_bytes()], t),
        StsSpec::ValidSplit => {
            let r = record(id);
            let at = 9 + (spec.bits >> 8) as usize % 6;
            let (a, b) = r.as_bytes().split_at(at);
            sink.txt(owner, &[a, b], t);
        }
        StsSpec::ValidWithUnrelated => {
            let r = record(id);
            if spec.bits & 2 == 0 {
                sink.txt(owner, &[unrelated], t);
                sink.txt(owner, &[r.as_bytes()], t);
            } else {
                sink.txt(owner, &[r.as_bytes()], t);
                sink.txt(owner, &[unrelated], t);
            }
        }
        StsSpec::ValidExtension => {
            let mut r = record(id);
            r.push(b"; x-hosted-by=sts-provider.stsmap-lab.test;");
            sink.txt(owner, &[r.as_bytes()], t);
        }
        StsSpec::ValidAmongMany => {
            let at = (spec.bits >> 8) as usize % AMONG_MANY;
            for i in 0..AMONG_MANY {
                if i == at {
                    sink.txt(owner, &[record(id).as_bytes()], t);
                }
                sink.txt(owner, &[verification(spec.bits, i).as_bytes()], t);
            }
        }
        StsSpec::MissingId => sink.txt(owner, &[b"v=STSv1;"], t),
        StsSpec::IdTooLong => {
            let mut r = record(id);
            r.push(id).push(&id[..5]);
            sink.txt(owner, &[r.as_bytes()], t);
        }
        StsSpec::IdBadChars => {
            let mut r = StackBuf::<64>::new();
            r.push(b"v=STSv1; id=").push(&id[..4]).push(b"-");
            r.push(&id[4..6]).push(b"-").push(&id[6..8]);
            sink.txt(owner, &[r.as_bytes()], t);
        }
        StsSpec::EmptyId => sink.txt(owner, &[b"v=STSv1; id="], t),
        StsSpec::Multiple => {
            let old = sts_id(spec.bits.rotate_left(17));
            sink.txt(owner, &[record(id).as_bytes()], t);
            sink.txt(owner, &[record(old.as_bytes()).as_bytes()], t);
        }
        StsSpec::Nxdomain | StsSpec::CnameNoTxt | StsSpec::CnameProvider | StsSpec::CnameChain => {}
    }
}

/// Emits the STS provider's shared record.
pub fn provider_sts_txt(seed: u64, owner: &[&str], sink: &mut dyn AnswerSink) {
    let id = provider_sts_id(seed);
    sink.txt(owner, &[record(id.as_bytes()).as_bytes()], TTL_TXT);
}

fn txt_long(owner: &[&str], text: &StackBuf<1024>, sink: &mut dyn AnswerSink) {
    let (strings, n) = text.strings();
    sink.txt(owner, &strings[..n], TTL_TXT);
}

fn tlsrpt_mailto(domain: &str, scheme: bool) -> StackBuf<1024> {
    let mut b = StackBuf::new();
    b.push(b"v=TLSRPTv1; rua=");
    if scheme {
        b.push(b"mailto:");
    }
    b.push(b"tlsrpt@").push(domain.as_bytes());
    b
}

/// Emits the TXT records of `_smtp._tls.<domain>`.
pub fn tlsrpt_txt(domain: &str, spec: &DomainSpec, owner: &[&str], sink: &mut dyn AnswerSink) {
    let mut https = StackBuf::<1024>::new();
    https
        .push(b"v=TLSRPTv1; rua=")
        .push(names::TLSRPT_HTTPS_URI.as_bytes());
    match spec.tlsrpt {
        TlsRptSpec::Mailto => txt_long(owner, &tlsrpt_mailto(domain, true), sink),
        TlsRptSpec::Https => txt_long(owner, &https, sink),
        TlsRptSpec::Several => {
            let mut b = tlsrpt_mailto(domain, true);
            b.push(b",").push(names::TLSRPT_HTTPS_URI.as_bytes());
            txt_long(owner, &b, sink);
        }
        TlsRptSpec::NoScheme => txt_long(owner, &tlsrpt_mailto(domain, false), sink),
        TlsRptSpec::MissingRua => sink.txt(owner, &[b"v=TLSRPTv1;"], TTL_TXT),
        TlsRptSpec::Multiple => {
            txt_long(owner, &tlsrpt_mailto(domain, true), sink);
            txt_long(owner, &https, sink);
        }
        TlsRptSpec::Nxdomain | TlsRptSpec::Cname => {}
    }
}

/// Emits the STS provider's shared TLS-RPT record.
pub fn provider_tlsrpt_txt(owner: &[&str], sink: &mut dyn AnswerSink) {
    let mut b = StackBuf::<1024>::new();
    b.push(b"v=TLSRPTv1; rua=mailto:tlsrpt@sts-provider.stsmap-lab.test,")
        .push(names::TLSRPT_HTTPS_URI.as_bytes());
    txt_long(owner, &b, sink);
}

/// Emits the ACME challenge TXT under a policy host that has no address.
pub fn acme_txt(spec: &DomainSpec, owner: &[&str], sink: &mut dyn AnswerSink) {
    let id = sts_id(spec.bits.rotate_left(31));
    let mut b = StackBuf::<64>::new();
    b.push(b"acme-").push(id.as_bytes());
    sink.txt(owner, &[b.as_bytes()], TTL_TXT);
}
