//! Ground truth: the row a correct scanner must produce for a domain of the world.
//!
//! The truth asks the world exactly what a scanner asks it — the MX, `_mta-sts`
//! and `_smtp._tls` answers through [`World::resolve`] (CNAMEs followed), the policy
//! host's addresses, then [`World::https`] — and judges the answers with the
//! project's own parsers (`sts_record`, `tlsrpt`, `policy`, `mx`). Only the transport
//! is skipped: a certificate or HTTP behaviour maps straight to the code
//! docs/results.md gives it. So the truth agrees with the served world by
//! construction, and a scan that differs from it has a bug in its transport,
//! DNS handling or bookkeeping.

use std::net::Ipv4Addr;

use crate::lab::world::{qtype, BodySpec, CertSpec, Collect, LabAddrs, Rcode, World};
use crate::mx::{self, MxAnswer};
use crate::policy;
use crate::row::{classify, InputStatus, MxStatus, PolicyStatus, RecordStatus, ResultRow};
use crate::sts_record::{self, StsRecord};
use crate::tlsrpt::{self, TlsRptRecord};

/// Addresses used while computing the truth (their values never reach a row).
const TRUTH_ADDRS: LabAddrs = LabAddrs {
    https_v4: Ipv4Addr::LOCALHOST,
    https_v6: None,
};

impl World {
    /// The results.csv row a correct scanner produces for `domain` (already
    /// normalised: lowercase A-label, no trailing dot) at input rank `rank`.
    /// `duration_ms` is 0.
    pub fn truth(&self, rank: u64, domain: &str) -> ResultRow {
        let mut row = ResultRow {
            rank,
            domain: domain.to_string(),
            input_status: Some(InputStatus::Ok),
            ..Default::default()
        };
        self.truth_mx(domain, &mut row);
        self.truth_sts(domain, &mut row);
        self.truth_tlsrpt(domain, &mut row);
        if row.sts_record_status == Some(RecordStatus::Valid) {
            self.truth_policy(domain, &mut row);
        } else {
            row.policy_status = Some(PolicyStatus::NotFetched);
        }
        row.classification = Some(classify(
            row.mx_status.unwrap_or(MxStatus::Error),
            row.sts_record_status.unwrap_or(RecordStatus::Error),
            row.policy_status.unwrap_or(PolicyStatus::NotFetched),
            row.policy_mode,
        ));
        row
    }

    fn ask(&self, name: &str, qt: u16) -> (Rcode, Collect) {
        let mut c = Collect::default();
        let rcode = self.resolve(name, qt, &TRUTH_ADDRS, &mut c);
        (rcode, c)
    }

    fn truth_mx(&self, domain: &str, row: &mut ResultRow) {
        let (rcode, c) = self.ask(domain, qtype::MX);
        if rcode == Rcode::NxDomain {
            row.mx_status = Some(MxStatus::Nxdomain);
            return;
        }
        let records: Vec<(u16, String)> =
            c.mx.into_iter()
                .map(|(p, h)| (p, if h.is_empty() { ".".to_string() } else { h }))
                .collect();
        let (status, hosts) = match mx::interpret(&records) {
            MxAnswer::Hosts(h) | MxAnswer::NullMixed(h) => (MxStatus::Ok, h),
            MxAnswer::NullMx => (MxStatus::NullMx, Vec::new()),
            MxAnswer::Empty => (MxStatus::NoMx, Vec::new()),
        };
        row.mx_status = Some(status);
        row.mx_hosts = hosts;
    }

    fn truth_sts(&self, domain: &str, row: &mut ResultRow) {
        let (rcode, c) = self.ask(&format!("_mta-sts.{domain}"), qtype::TXT);
        let verdict = if rcode == Rcode::NxDomain {
            StsRecord::Absent
        } else {
            sts_record::parse_answer(&c.txt_joined())
        };
        row.set_sts_record(verdict);
    }

    fn truth_tlsrpt(&self, domain: &str, row: &mut ResultRow) {
        let (rcode, c) = self.ask(&format!("_smtp._tls.{domain}"), qtype::TXT);
        let verdict = if rcode == Rcode::NxDomain {
            TlsRptRecord::Absent
        } else {
            tlsrpt::parse_answer(&c.txt_joined())
        };
        row.set_tlsrpt_record(verdict);
    }

    fn truth_policy(&self, domain: &str, row: &mut ResultRow) {
        let host = format!("mta-sts.{domain}");
        let fail = |row: &mut ResultRow, status: PolicyStatus, error: &str| {
            row.policy_status = Some(status);
            row.policy_error = error.to_string();
        };
        let (rcode, a) = self.ask(&host, qtype::A);
        if rcode == Rcode::NxDomain {
            return fail(row, PolicyStatus::DnsError, "nxdomain");
        }
        let (_, aaaa) = self.ask(&host, qtype::AAAA);
        if a.a.is_empty() && aaaa.aaaa.is_empty() {
            return fail(row, PolicyStatus::DnsError, "no_address");
        }
        let Some(spec) = self.https(&host) else {
            // The lab's HTTPS server resets connections for names it does not serve.
            return fail(row, PolicyStatus::ConnectError, "reset");
        };
        match spec.cert {
            CertSpec::Valid => {}
            CertSpec::Expired => return fail(row, PolicyStatus::TlsError, "expired"),
            CertSpec::NotYetValid => return fail(row, PolicyStatus::TlsError, "not_yet_valid"),
            CertSpec::WrongName => return fail(row, PolicyStatus::TlsError, "name_mismatch"),
            CertSpec::UntrustedCa => return fail(row, PolicyStatus::TlsError, "unknown_issuer"),
            CertSpec::NotTls => return fail(row, PolicyStatus::TlsError, "not_tls"),
            CertSpec::HandshakeStall => return fail(row, PolicyStatus::Timeout, "tls_handshake"),
        }
        let header = |name: &str| {
            spec.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        row.policy_http_status = Some(spec.status);
        row.policy_content_type = header("Content-Type").unwrap_or_default();
        if spec.status != 200 {
            let mut error = format!("HTTP {}", spec.status);
            if let Some(location) = header("Location") {
                error.push_str(&format!(" Location: {location}"));
            }
            return fail(row, PolicyStatus::HttpError, &error);
        }
        let body = match spec.body {
            BodySpec::Oversize { .. } => return fail(row, PolicyStatus::Invalid, "body_too_large"),
            BodySpec::Trickle { .. } => return fail(row, PolicyStatus::Timeout, "body"),
            BodySpec::Bytes(b) if b.len() > policy::MAX_BODY => {
                return fail(row, PolicyStatus::Invalid, "body_too_large")
            }
            BodySpec::Bytes(b) => b,
        };
        let report = policy::parse(&body);
        row.policy_warnings = report.warnings.iter().map(|p| p.code.to_string()).collect();
        let Some(p) = report.policy else {
            let codes: Vec<&str> = report.errors.iter().map(|p| p.code).collect();
            return fail(row, PolicyStatus::Invalid, &codes.join(";"));
        };
        row.policy_status = Some(PolicyStatus::Valid);
        row.policy_mode = Some(p.mode);
        row.policy_max_age = Some(p.max_age);
        if !row.mx_hosts.is_empty() {
            let (coverage, uncovered) = mx::coverage(&p.mx, &row.mx_hosts);
            row.mx_policy_match = Some(coverage);
            row.mx_uncovered = uncovered;
        }
        row.policy_mx = p.mx;
    }
}
