//! `stsmap check`: one domain, every step explained in plain words. Pure: it
//! turns the observations and the row the scan made of them into text.

use super::assemble::{Dns, Observations, PolicyFetch};
use crate::policy;
use crate::row::{Classification, MxStatus, PolicyStatus, RecordStatus, ResultRow};
use std::fmt::Write as _;

fn dns_words<T>(dns: &Dns<T>) -> &'static str {
    match dns {
        Dns::Answer(_) => "an answer",
        Dns::NxDomain => "NXDOMAIN (the name does not exist)",
        Dns::NoData => "no records of that type (NODATA)",
        Dns::ServFail => "SERVFAIL from every resolver tried",
        Dns::Refused => "REFUSED from every resolver tried",
        Dns::Timeout => "no reply before the timeout, on every attempt",
        Dns::Malformed(_) => "a reply that could not be used",
    }
}

/// Advice for a policy fetch failure code.
fn fetch_advice(status: PolicyStatus, code: &str) -> &'static str {
    match (status, code) {
        (PolicyStatus::DnsError, "nxdomain") | (PolicyStatus::DnsError, "no_address") => {
            "publish an A or AAAA record (or a CNAME to your provider's policy host) for mta-sts.<domain>"
        }
        (PolicyStatus::DnsError, _) => "the name servers of mta-sts.<domain> must answer reliably",
        (PolicyStatus::ConnectError, _) => "an HTTPS server must listen on port 443 of mta-sts.<domain>",
        (PolicyStatus::TlsError, "expired") => "renew the certificate of mta-sts.<domain>",
        (PolicyStatus::TlsError, "not_yet_valid") => "the certificate's validity starts in the future: check the server clock or reissue it",
        (PolicyStatus::TlsError, "name_mismatch") => "the certificate must name mta-sts.<domain> (RFC 8461 §3.3)",
        (PolicyStatus::TlsError, "unknown_issuer") => "use a certificate from a publicly trusted CA and send the whole chain (RFC 8461 §3.3)",
        (PolicyStatus::TlsError, "not_tls") => "port 443 of mta-sts.<domain> does not speak TLS",
        (PolicyStatus::TlsError, _) => "the server must offer TLS 1.2 or newer with a current cipher suite",
        (PolicyStatus::Timeout, _) => "the server must answer the whole request well within a minute (RFC 8461 §3.3)",
        (PolicyStatus::HttpError, c) if c.contains("Location") => {
            "senders do not follow redirects (RFC 8461 §3.3): serve the policy itself at that URL with status 200"
        }
        (PolicyStatus::HttpError, _) => "serve the policy at exactly /.well-known/mta-sts.txt with status 200",
        (PolicyStatus::Invalid, "body_too_large") => "a policy is a few lines: serve the policy file, not a page",
        _ => "fix the policy text (run `stsmap lint policy FILE`)",
    }
}

/// The explanation of one domain's check.
pub fn explain(domain: &str, obs: &Observations, row: &ResultRow) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "Checking {domain}\n");

    let _ = writeln!(t, "1. Mail: asked MX {domain}, got {}.", dns_words(&obs.mx));
    match row.mx_status {
        Some(MxStatus::Ok) => {
            let _ = writeln!(t, "   Mail goes to: {}.", row.mx_hosts.join(", "));
        }
        Some(MxStatus::NullMx) => {
            let _ = writeln!(
                t,
                "   A null MX (RFC 7505): the domain says it accepts no mail."
            );
        }
        Some(MxStatus::NoMx | MxStatus::Nxdomain) => {
            let _ = writeln!(t, "   No MX: for this survey the domain receives no mail.");
        }
        _ => {
            let _ = writeln!(
                t,
                "   The lookup failed, so whether it receives mail is unknown."
            );
        }
    }

    let _ = writeln!(
        t,
        "\n2. MTA-STS record: asked TXT _mta-sts.{domain}, got {}.",
        dns_words(&obs.sts)
    );
    match row.sts_record_status {
        Some(RecordStatus::Valid) => {
            let _ = writeln!(t, "   Valid: \"{}\" (id {}).", row.sts_record, row.sts_id);
        }
        Some(RecordStatus::Absent) => {
            let _ = writeln!(
                t,
                "   No record starts with v=STSv1: the domain does not publish MTA-STS.\n   To adopt it: publish TXT \"v=STSv1; id=<timestamp>\" at _mta-sts.{domain} and a policy at https://mta-sts.{domain}/.well-known/mta-sts.txt (RFC 8461 §3)."
            );
        }
        Some(RecordStatus::Multiple) => {
            let _ = writeln!(
                t,
                "   {}: \"{}\".\n   RFC 8461 §3.1: exactly one record may start with v=STSv1, else senders act as if there were none. Remove all but one.",
                row.sts_record_error, row.sts_record
            );
        }
        Some(RecordStatus::Invalid) => {
            let _ = writeln!(
                t,
                "   Invalid: \"{}\": {}.\n   RFC 8461 §3.1: v=STSv1; id=<1–32 letters or digits>; fields separated by ';'.",
                row.sts_record, row.sts_record_error
            );
        }
        _ => {
            let _ = writeln!(
                t,
                "   The lookup failed: whether MTA-STS is published is unknown."
            );
        }
    }

    let url = format!("https://mta-sts.{domain}/.well-known/mta-sts.txt");
    let _ = writeln!(t, "\n3. Policy:");
    match (&obs.policy, row.policy_status) {
        (None, _) | (_, Some(PolicyStatus::NotFetched)) => {
            let _ = writeln!(
                t,
                "   Not fetched: it is only looked for when the record is valid."
            );
        }
        (Some(PolicyFetch::Failed { status, error, .. }), _) => {
            let _ = writeln!(t, "   GET {url} failed: {status}, {error}.");
            let advice = fetch_advice(*status, error).replace("<domain>", domain);
            let _ = writeln!(t, "   Fix: {advice}.");
        }
        (Some(PolicyFetch::Fetched { content_type, body }), status) => {
            let _ = writeln!(
                t,
                "   GET {url}: 200, {} bytes, Content-Type \"{content_type}\".",
                body.len()
            );
            if !content_type.to_ascii_lowercase().starts_with("text/plain") {
                let _ = writeln!(
                    t,
                    "   Note: RFC 8461 §3.3 says the media type SHOULD be text/plain."
                );
            }
            if status == Some(PolicyStatus::Invalid) && body.len() > policy::MAX_BODY {
                let _ = writeln!(
                    t,
                    "   Over 64 KiB: not read as a policy. Fix: {}.",
                    fetch_advice(PolicyStatus::Invalid, "body_too_large")
                );
            } else {
                let report = policy::parse(body);
                match &report.policy {
                    Some(p) => {
                        let _ = writeln!(
                            t,
                            "   Valid policy: mode {}, max_age {} s, mx {}.",
                            p.mode,
                            p.max_age,
                            p.mx.join(" ")
                        );
                    }
                    None => {
                        let _ = writeln!(t, "   Not a valid policy; senders will ignore it:");
                    }
                }
                for p in &report.errors {
                    let _ = writeln!(t, "   - error {} ({}): {}", p.code, p.rfc, p.detail);
                }
                for p in &report.warnings {
                    let _ = writeln!(t, "   - warning {} ({}): {}", p.code, p.rfc, p.detail);
                }
            }
        }
    }

    if let Some(cov) = row.mx_policy_match {
        let _ = writeln!(
            t,
            "\n   MX coverage (RFC 8461 §4.1): {cov} of the MX hosts match the policy's mx patterns."
        );
        if !row.mx_uncovered.is_empty() {
            let _ = writeln!(
                t,
                "   Not covered: {}. Under enforce, senders refuse to deliver to them. Fix: add an mx line for each (or a *. wildcard for one label).",
                row.mx_uncovered.join(", ")
            );
        }
    }

    let _ = writeln!(
        t,
        "\n4. TLS reporting: asked TXT _smtp._tls.{domain}, got {}.",
        dns_words(&obs.tlsrpt)
    );
    match row.tlsrpt_status {
        Some(RecordStatus::Valid) => {
            let _ = writeln!(t, "   Valid: reports go to {}.", row.tlsrpt_rua.join(", "));
        }
        Some(RecordStatus::Absent) => {
            let _ = writeln!(
                t,
                "   None: senders cannot tell you when TLS to your MX fails. Publish TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}\" (RFC 8460 §3)."
            );
        }
        Some(s) => {
            let _ = writeln!(t, "   {s}: {} (RFC 8460 §3).", row.tlsrpt_error);
        }
        None => {}
    }

    let verdict = match row.classification {
        Some(Classification::Enforce) => "enforce: MTA-STS protects mail to this domain",
        Some(Classification::Testing) => "testing: failures are reported, not enforced; switch to mode: enforce once reports are clean",
        Some(Classification::None) => "none: the policy is being withdrawn; nothing is enforced",
        Some(Classification::Broken) => "broken: MTA-STS is published but senders cannot use it",
        Some(Classification::NoSts) => "no_sts: a mail domain without MTA-STS",
        Some(Classification::NoMail) => "no_mail: the domain receives no mail",
        Some(Classification::DnsError) => "dns_error: a lookup failed, so the answer is unknown; try again",
        None => "not scanned",
    };
    let _ = writeln!(t, "\nVerdict: {verdict}.");
    t
}
