//! What a policy host serves: status, headers, body and certificate behaviour.
//!
//! Runs per HTTPS request (allocation is fine here). Real bodies come from
//! data/lab-policies/ (copied byte-exact from ../shared/data/policies/).

use super::names;
use super::spec::{DomainSpec, GoodPolicy, MxSpec, PolicyCase};
use super::{BodySpec, CertSpec, HttpsSpec, World};
use crate::row::Coverage;

/// `max_age` values of generated policies (1 day … the RFC maximum of one year).
pub const MAX_AGES: &[u64] = &[86_400, 604_800, 1_209_600, 2_419_200, 31_557_600];

/// Content-Type headers of generated policies: two right ones and two wrong ones
/// (recorded by the scanner, not judged: RFC 8461 §3.2 says SHOULD be text/plain).
pub const CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "text/plain; charset=utf-8",
    "text/html",
    "application/octet-stream",
];

macro_rules! real {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!(
                "../../../data/lab-policies/",
                $name,
                ".mta-sts.txt"
            )) as &[u8],
        )
    };
}

/// Real-world policy files served with 200 `text/plain` (name, bytes); most fail
/// the lenient verdict, some are valid with warnings. The parser decides which.
pub const REAL_BODIES: &[(&str, &[u8])] = &[
    real!("05_crlf_maxage_value_enforce"),
    real!("07_template_placeholders_inline_comments"),
    real!("09_mode_enforcing_invalid"),
    real!("12_two_policies_concatenated"),
    real!("13_empty_lf_only"),
    real!("14_garbage_a"),
    real!("16_mode_enforced_blank_line_comment"),
    real!("17_mode_test_invalid"),
    real!("19_crlf_comment_partial_label_wildcard"),
    real!("20_jekyll_front_matter_permalink"),
    real!("23_utf16le_bom_crlf"),
    real!("24_utf8_bom_crlf"),
    real!("25_typo_key_ms"),
    real!("26_all_lines_indented_duplicate_mx"),
    real!("28_crlf_trailing_spaces_noeol"),
];

/// A soft-404 page (real: a meta-refresh page served where the policy should be).
const HTML_PAGE: &[u8] =
    include_bytes!("../../../data/lab-policies/beyondparanoid_404_meta_refresh.html");
/// A real S3 `AccessDenied` body.
const S3_DENIED: &[u8] = include_bytes!("../../../data/lab-policies/s3_accessdenied_body.xml");
const NOT_FOUND: &[u8] = b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
/// Cloudflare-Worker error text (real, see non_policy_bodies/SOURCES.txt).
const WORKER_ERROR: &[u8] =
    b"Incorrect worker route. mta-sts policies must be served on the mta-sts subdomain\n";

/// Size of the oversize body: over the 64 KiB cap.
pub const OVERSIZE_LEN: usize = 70_000;
/// Interval between trickled bytes.
pub const TRICKLE_INTERVAL_MS: u64 = 1_000;

fn header(name: &str, value: &str) -> (String, String) {
    (name.to_string(), value.to_string())
}

fn response(status: u16, content_type: &str, body: BodySpec) -> HttpsSpec {
    HttpsSpec {
        cert: CertSpec::Valid,
        status,
        headers: vec![header("Content-Type", content_type)],
        body,
    }
}

/// The `mx` patterns of a generated policy for these MX hosts (in preference order).
pub fn patterns(domain: &str, hosts: &[String], good: &GoodPolicy) -> Vec<String> {
    let listed = |hs: &[String]| -> Vec<String> {
        if !good.wildcard {
            return hs.to_vec();
        }
        let mut out: Vec<String> = Vec::new();
        for h in hs {
            let p = match h.split_once('.') {
                Some((_, parent)) if parent.contains('.') => format!("*.{parent}"),
                _ => h.clone(),
            };
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    };
    if hosts.is_empty() {
        return vec![format!("mx1.{domain}")];
    }
    match good.coverage {
        Coverage::All => listed(hosts),
        Coverage::Some if hosts.len() >= 2 => hosts[..hosts.len() / 2].to_vec(),
        _ => vec![names::OLD_MX.to_string()],
    }
}

/// A generated policy body (RFC 8461 §3.2 syntax).
pub fn policy_body(domain: &str, hosts: &[String], good: &GoodPolicy) -> Vec<u8> {
    let eol = if good.crlf { "\r\n" } else { "\n" };
    let mut s = format!("version: STSv1{eol}mode: {}{eol}", good.mode.as_str());
    for p in patterns(domain, hosts, good) {
        s.push_str(&format!("mx: {p}{eol}"));
    }
    s.push_str(&format!(
        "max_age: {}{eol}",
        MAX_AGES[usize::from(good.max_age)]
    ));
    s.into_bytes()
}

/// The MX hosts (no null MX) in preference order, as a scanner would list them.
pub fn mail_hosts(world: &World, domain: &str, spec: &DomainSpec) -> Vec<String> {
    if spec.mx == MxSpec::NullMx {
        return Vec::new();
    }
    let mut recs = world.mx_records(domain);
    recs.retain(|(_, h)| !h.is_empty());
    recs.sort();
    recs.into_iter().map(|(_, h)| h).collect()
}

/// What `https://mta-sts.<domain>/.well-known/mta-sts.txt` returns.
pub fn serve(world: &World, domain: &str, spec: &DomainSpec) -> HttpsSpec {
    let bytes = BodySpec::Bytes;
    let cert = |c: CertSpec| HttpsSpec {
        cert: c,
        ..response(200, "text/plain", bytes(Vec::new()))
    };
    match spec.policy {
        PolicyCase::Good => {
            let hosts = mail_hosts(world, domain, spec);
            let ct = CONTENT_TYPES[usize::from(spec.good.content_type)];
            response(200, ct, bytes(policy_body(domain, &hosts, &spec.good)))
        }
        PolicyCase::CertExpired => cert(CertSpec::Expired),
        PolicyCase::CertNotYetValid => cert(CertSpec::NotYetValid),
        PolicyCase::CertWrongName => cert(CertSpec::WrongName),
        PolicyCase::CertUntrusted => cert(CertSpec::UntrustedCa),
        PolicyCase::HandshakeStall => cert(CertSpec::HandshakeStall),
        PolicyCase::NotTls => cert(CertSpec::NotTls),
        PolicyCase::NotFound => response(404, "text/html", bytes(NOT_FOUND.to_vec())),
        PolicyCase::Forbidden => response(403, "application/xml", bytes(S3_DENIED.to_vec())),
        PolicyCase::ServerError => response(
            500,
            "text/plain;charset=UTF-8",
            bytes(WORKER_ERROR.to_vec()),
        ),
        PolicyCase::Moved | PolicyCase::Found => {
            let (status, location) = if spec.policy == PolicyCase::Moved {
                (301, format!("https://www.{domain}/.well-known/mta-sts.txt"))
            } else {
                (
                    302,
                    format!(
                        "https://{}/policies/{domain}/mta-sts.txt",
                        names::STS_PROVIDER_HOST
                    ),
                )
            };
            let body =
                format!("<html><body>Moved: <a href=\"{location}\">here</a></body></html>\n");
            let mut r = response(status, "text/html", bytes(body.into_bytes()));
            r.headers.push(header("Location", &location));
            r
        }
        PolicyCase::HtmlPage => {
            response(200, "text/html; charset=utf-8", bytes(HTML_PAGE.to_vec()))
        }
        PolicyCase::RealBody => {
            let (_, body) = REAL_BODIES[usize::from(spec.real_body)];
            response(200, "text/plain", bytes(body.to_vec()))
        }
        PolicyCase::Oversize => {
            response(200, "text/plain", BodySpec::Oversize { len: OVERSIZE_LEN })
        }
        PolicyCase::Trickle => response(
            200,
            "text/plain",
            BodySpec::Trickle {
                interval_ms: TRICKLE_INTERVAL_MS,
            },
        ),
    }
}
