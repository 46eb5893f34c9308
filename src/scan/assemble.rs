//! From what the network said about a domain to its results.csv row. Pure.
//!
//! The scan gathers [`Observations`] (DNS outcomes, the policy fetch) and this
//! module turns them into a [`ResultRow`] following docs/results.md; it is the
//! one place where each column's value is decided.

use crate::mx::{self, MxAnswer};
use crate::policy;
use crate::row::{classify, InputStatus, MxStatus, PolicyStatus, RecordStatus, ResultRow};
use crate::sts_record;
use crate::tlsrpt;

/// The outcome of one DNS lookup: the engine's own type, so the row sees exactly
/// what the engine decided (NXDOMAIN and NODATA are answers; the rest failures).
pub use crate::dns::Outcome as Dns;

/// What happened to the policy fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyFetch {
    /// HTTP 200 with a body of at most 64 KiB.
    Fetched { content_type: String, body: Vec<u8> },
    /// Anything else, already mapped to its policy_status and policy_error code.
    Failed {
        status: PolicyStatus,
        error: String,
        /// The HTTP status when a response arrived.
        http_status: Option<u16>,
        /// The Content-Type when a response arrived.
        content_type: String,
    },
}

/// Everything the scan learnt about one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observations {
    /// MX records as (preference, exchange).
    pub mx: Dns<Vec<(u16, String)>>,
    /// `_mta-sts` TXT records, each record's strings concatenated.
    pub sts: Dns<Vec<Vec<u8>>>,
    /// `_smtp._tls` TXT records.
    pub tlsrpt: Dns<Vec<Vec<u8>>>,
    /// The fetch, when the STS record was valid.
    pub policy: Option<PolicyFetch>,
}

/// The row for a scanned domain.
pub fn assemble(rank: u64, domain: &str, obs: &Observations, duration_ms: u64) -> ResultRow {
    let mut row = ResultRow {
        rank,
        domain: domain.to_string(),
        input_status: Some(InputStatus::Ok),
        duration_ms,
        ..Default::default()
    };
    let mx_status = mx_cells(&obs.mx, &mut row);
    let sts_status = sts_cells(&obs.sts, &mut row);
    let policy_status = match (sts_status, &obs.policy) {
        (RecordStatus::Valid, Some(fetch)) => policy_cells(fetch, &mut row),
        _ => PolicyStatus::NotFetched,
    };
    row.policy_status = Some(policy_status);
    tlsrpt_cells(&obs.tlsrpt, &mut row);
    row.classification = Some(classify(
        mx_status,
        sts_status,
        policy_status,
        row.policy_mode,
    ));
    row
}

fn mx_cells(mx: &Dns<Vec<(u16, String)>>, row: &mut ResultRow) -> MxStatus {
    let status = match mx {
        Dns::Answer(records) => match mx::interpret(records) {
            MxAnswer::Hosts(hosts) | MxAnswer::NullMixed(hosts) => {
                row.mx_hosts = hosts;
                MxStatus::Ok
            }
            MxAnswer::NullMx => MxStatus::NullMx,
            MxAnswer::Empty => MxStatus::NoMx,
        },
        Dns::NxDomain => MxStatus::Nxdomain,
        Dns::NoData => MxStatus::NoMx,
        Dns::ServFail => MxStatus::Servfail,
        Dns::Refused => MxStatus::Refused,
        Dns::Timeout => MxStatus::Timeout,
        Dns::Malformed(_) => MxStatus::Error,
    };
    row.mx_status = Some(status);
    status
}

/// The status of a TXT lookup that failed or found nothing.
fn txt_failure<T>(dns: &Dns<T>) -> Option<RecordStatus> {
    match dns {
        Dns::Answer(_) => None,
        Dns::NxDomain | Dns::NoData => Some(RecordStatus::Absent),
        Dns::ServFail => Some(RecordStatus::Servfail),
        Dns::Refused => Some(RecordStatus::Refused),
        Dns::Timeout => Some(RecordStatus::Timeout),
        Dns::Malformed(_) => Some(RecordStatus::Error),
    }
}

fn sts_cells(sts: &Dns<Vec<Vec<u8>>>, row: &mut ResultRow) -> RecordStatus {
    match sts {
        Dns::Answer(records) => row.set_sts_record(sts_record::parse_answer(records)),
        other => {
            let status = txt_failure(other).unwrap_or(RecordStatus::Error);
            row.sts_record_status = Some(status);
            status
        }
    }
}

fn tlsrpt_cells(tls: &Dns<Vec<Vec<u8>>>, row: &mut ResultRow) {
    match tls {
        Dns::Answer(records) => row.set_tlsrpt_record(tlsrpt::parse_answer(records)),
        other => row.tlsrpt_status = Some(txt_failure(other).unwrap_or(RecordStatus::Error)),
    }
}

fn codes(problems: &[policy::Problem]) -> Vec<String> {
    problems.iter().map(|p| p.code.to_string()).collect()
}

fn policy_cells(fetch: &PolicyFetch, row: &mut ResultRow) -> PolicyStatus {
    match fetch {
        PolicyFetch::Failed {
            status,
            error,
            http_status,
            content_type,
        } => {
            row.policy_error = error.clone();
            row.policy_http_status = *http_status;
            row.policy_content_type = content_type.clone();
            *status
        }
        PolicyFetch::Fetched { content_type, body } => {
            row.policy_http_status = Some(200);
            row.policy_content_type = content_type.clone();
            if body.len() > policy::MAX_BODY {
                row.policy_error = "body_too_large".into();
                return PolicyStatus::Invalid;
            }
            let report = policy::parse(body);
            row.policy_warnings = codes(&report.warnings);
            match report.policy {
                Some(p) => {
                    if !row.mx_hosts.is_empty() {
                        let (cov, uncovered) = mx::coverage(&p.mx, &row.mx_hosts);
                        row.mx_policy_match = Some(cov);
                        row.mx_uncovered = uncovered;
                    }
                    row.policy_mode = Some(p.mode);
                    row.policy_max_age = Some(p.max_age);
                    row.policy_mx = p.mx;
                    PolicyStatus::Valid
                }
                None => {
                    row.policy_error = codes(&report.errors).join(";");
                    PolicyStatus::Invalid
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::{Classification, Coverage, Mode};

    fn obs() -> Observations {
        Observations {
            mx: Dns::Answer(vec![
                (10, "mx1.example.com".into()),
                (20, "mx2.other.net".into()),
            ]),
            sts: Dns::Answer(vec![b"v=STSv1; id=20240101".to_vec()]),
            tlsrpt: Dns::NxDomain,
            policy: Some(PolicyFetch::Fetched {
                content_type: "text/plain".into(),
                body: b"version: STSv1\nmode: enforce\nmx: *.example.com\nmax_age: 86400\n"
                    .to_vec(),
            }),
        }
    }

    #[test]
    fn enforce_policy_reports_mode_and_uncovered_mx() {
        let row = assemble(1, "example.com", &obs(), 5);
        assert_eq!(row.classification, Some(Classification::Enforce));
        assert_eq!(row.policy_mode, Some(Mode::Enforce));
        assert_eq!(row.sts_id, "20240101");
        assert_eq!(row.mx_policy_match, Some(Coverage::Some));
        assert_eq!(row.mx_uncovered, vec!["mx2.other.net".to_string()]);
        assert_eq!(row.tlsrpt_status, Some(RecordStatus::Absent));
        assert_eq!(row.duration_ms, 5);
    }

    #[test]
    fn null_mx_is_no_mail_even_with_a_valid_policy() {
        let mut o = obs();
        o.mx = Dns::Answer(vec![(0, String::new())]);
        let row = assemble(1, "example.com", &o, 0);
        assert_eq!(row.mx_status, Some(MxStatus::NullMx));
        assert_eq!(row.classification, Some(Classification::NoMail));
        assert_eq!(row.policy_status, Some(PolicyStatus::Valid));
    }

    #[test]
    fn two_sts_records_are_multiple_and_broken_without_a_fetch() {
        let mut o = obs();
        o.sts = Dns::Answer(vec![b"v=STSv1; id=1".to_vec(), b"v=STSv1; id=2".to_vec()]);
        o.policy = None;
        let row = assemble(1, "example.com", &o, 0);
        assert_eq!(row.sts_record_status, Some(RecordStatus::Multiple));
        assert_eq!(row.sts_record, "v=STSv1; id=1 | v=STSv1; id=2");
        assert_eq!(row.sts_record_error, "2 records start with v=STSv1");
        assert_eq!(row.policy_status, Some(PolicyStatus::NotFetched));
        assert_eq!(row.classification, Some(Classification::Broken));
    }

    #[test]
    fn invalid_body_lists_its_error_codes() {
        let mut o = obs();
        o.policy = Some(PolicyFetch::Fetched {
            content_type: "text/html".into(),
            body: b"version: STSv1\nmode: enforced\nmx: mx1.example.com\nmax_age: 86400\n".to_vec(),
        });
        let row = assemble(1, "example.com", &o, 0);
        assert_eq!(row.policy_status, Some(PolicyStatus::Invalid));
        assert_eq!(row.policy_error, "mode_invalid");
        assert_eq!(row.policy_content_type, "text/html");
        assert_eq!(row.policy_mode, None);
        assert_eq!(row.classification, Some(Classification::Broken));
    }

    #[test]
    fn fetch_failures_keep_their_status_and_code() {
        let mut o = obs();
        o.policy = Some(PolicyFetch::Failed {
            status: PolicyStatus::HttpError,
            error: "HTTP 404".into(),
            http_status: Some(404),
            content_type: "text/html".into(),
        });
        let row = assemble(1, "example.com", &o, 0);
        assert_eq!(row.policy_status, Some(PolicyStatus::HttpError));
        assert_eq!(row.policy_http_status, Some(404));
        assert_eq!(row.classification, Some(Classification::Broken));
    }

    #[test]
    fn failed_sts_lookup_is_dns_error_not_absent() {
        let mut o = obs();
        o.sts = Dns::Timeout;
        o.policy = None;
        let row = assemble(1, "example.com", &o, 0);
        assert_eq!(row.sts_record_status, Some(RecordStatus::Timeout));
        assert_eq!(row.classification, Some(Classification::DnsError));
    }
}
