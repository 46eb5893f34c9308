//! The results.csv contract: one [`ResultRow`] per input line.
//!
//! Every column of results.csv is a field here, and every status column is an
//! enum whose [`as_str`](Classification::as_str) is exactly the value written to
//! the file. Both the scanner and the lab's ground truth (`stsmap lab truth`)
//! produce these rows, so an end-to-end test compares them column by column.
//! Columns are documented for users in docs/results.md.

use crate::sts_record::{self, StsRecord};
use crate::tlsrpt::{self, TlsRptRecord};
use std::fmt;

/// The contract columns, in order. Extra columns may only be appended.
pub const COLUMNS: &[&str] = &[
    "rank",
    "domain",
    "input_status",
    "mx_status",
    "mx_hosts",
    "sts_record_status",
    "sts_record",
    "sts_id",
    "policy_status",
    "policy_error",
    "policy_http_status",
    "policy_content_type",
    "policy_mode",
    "policy_max_age",
    "policy_mx",
    "policy_warnings",
    "mx_policy_match",
    "mx_uncovered",
    "tlsrpt_status",
    "tlsrpt_rua",
    "classification",
    "duration_ms",
    // Extra columns (after the contract ones).
    "input_error",
    "sts_record_error",
    "tlsrpt_error",
];

/// Index of `duration_ms`: the only column allowed to differ between two runs
/// over the same world and input.
pub const DURATION_COLUMN: usize = 21;

macro_rules! csv_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as written in results.csv.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a value as written in results.csv.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

csv_enum! {
    /// Whether the input line named a domain that was scanned.
    InputStatus {
        /// A valid, first-seen domain: scanned.
        Ok => "ok",
        /// Not a valid domain name; `input_error` says why. Not scanned.
        Invalid => "invalid",
        /// The same normalised domain appeared earlier in the input. Not scanned.
        Duplicate => "duplicate",
    }
}

csv_enum! {
    /// Outcome of the MX lookup for the domain.
    MxStatus {
        /// One or more mail exchangers.
        Ok => "ok",
        /// RFC 7505 null MX (`0 .`): the domain accepts no mail.
        NullMx => "null_mx",
        /// The name exists but has no MX records (NODATA).
        NoMx => "no_mx",
        /// The name does not exist.
        Nxdomain => "nxdomain",
        Servfail => "servfail",
        Refused => "refused",
        Timeout => "timeout",
        /// Any other failure (malformed answer, network error).
        Error => "error",
    }
}

csv_enum! {
    /// Outcome of a TXT record lookup (`_mta-sts` or `_smtp._tls`).
    RecordStatus {
        /// Exactly one record with the version tag, and it parses.
        Valid => "valid",
        /// NXDOMAIN, NODATA, or no record starting with the version tag.
        Absent => "absent",
        /// One record with the version tag, but it does not parse.
        Invalid => "invalid",
        /// More than one record with the version tag.
        Multiple => "multiple",
        Servfail => "servfail",
        Refused => "refused",
        Timeout => "timeout",
        Error => "error",
    }
}

csv_enum! {
    /// Outcome of fetching and parsing the policy.
    PolicyStatus {
        /// Fetched with 200 and valid under the lenient verdict.
        Valid => "valid",
        /// Not fetched: the `_mta-sts` record is not valid.
        NotFetched => "not_fetched",
        /// The policy host `mta-sts.<domain>` did not resolve.
        DnsError => "dns_error",
        ConnectError => "connect_error",
        TlsError => "tls_error",
        Timeout => "timeout",
        /// Any HTTP status but 200 (redirects included).
        HttpError => "http_error",
        /// The body fails the lenient verdict or exceeds 64 KiB.
        Invalid => "invalid",
    }
}

csv_enum! {
    /// The policy `mode` (RFC 8461 §3.2).
    Mode {
        Enforce => "enforce",
        Testing => "testing",
        None => "none",
    }
}

csv_enum! {
    /// How many of the domain's MX hosts the policy's `mx` patterns cover.
    Coverage {
        All => "all",
        Some => "some",
        None => "none",
    }
}

csv_enum! {
    /// The domain's overall class, the unit of the survey statistics.
    Classification {
        /// MX NXDOMAIN, NODATA or null MX.
        NoMail => "no_mail",
        /// The MX or `_mta-sts` lookup failed: the answer is unknown.
        DnsError => "dns_error",
        /// A mail domain without an `_mta-sts` record.
        NoSts => "no_sts",
        /// Record present but no valid policy obtained.
        Broken => "broken",
        Enforce => "enforce",
        Testing => "testing",
        None => "none",
    }
}

/// One row of results.csv. Empty cells are `None` / empty vectors / empty strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResultRow {
    /// The input's rank column when it has one, else the 1-based line number.
    pub rank: u64,
    /// The normalised domain (A-label, lowercase, no trailing dot); for invalid
    /// input, the line as read (control characters escaped).
    pub domain: String,
    pub input_status: Option<InputStatus>,
    pub mx_status: Option<MxStatus>,
    /// MX hosts by preference (lowest first), lowercase, no trailing dot.
    pub mx_hosts: Vec<String>,
    pub sts_record_status: Option<RecordStatus>,
    /// The `_mta-sts` record text (strings concatenated), when one has the version tag.
    pub sts_record: String,
    pub sts_id: String,
    pub policy_status: Option<PolicyStatus>,
    pub policy_error: String,
    pub policy_http_status: Option<u16>,
    pub policy_content_type: String,
    pub policy_mode: Option<Mode>,
    pub policy_max_age: Option<u64>,
    pub policy_mx: Vec<String>,
    pub policy_warnings: Vec<String>,
    pub mx_policy_match: Option<Coverage>,
    pub mx_uncovered: Vec<String>,
    pub tlsrpt_status: Option<RecordStatus>,
    pub tlsrpt_rua: Vec<String>,
    pub classification: Option<Classification>,
    /// Wall time spent on the domain; not part of the deterministic output.
    pub duration_ms: u64,
    pub input_error: String,
    pub sts_record_error: String,
    pub tlsrpt_error: String,
}

fn opt<T: fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_default()
}

impl ResultRow {
    /// The cells of this row, in [`COLUMNS`] order, unescaped.
    pub fn to_cells(&self) -> Vec<String> {
        vec![
            self.rank.to_string(),
            self.domain.clone(),
            opt(&self.input_status),
            opt(&self.mx_status),
            self.mx_hosts.join(" "),
            opt(&self.sts_record_status),
            self.sts_record.clone(),
            self.sts_id.clone(),
            opt(&self.policy_status),
            self.policy_error.clone(),
            opt(&self.policy_http_status),
            self.policy_content_type.clone(),
            opt(&self.policy_mode),
            opt(&self.policy_max_age),
            self.policy_mx.join(" "),
            self.policy_warnings.join(";"),
            opt(&self.mx_policy_match),
            self.mx_uncovered.join(" "),
            opt(&self.tlsrpt_status),
            self.tlsrpt_rua.join(" "),
            opt(&self.classification),
            self.duration_ms.to_string(),
            self.input_error.clone(),
            self.sts_record_error.clone(),
            self.tlsrpt_error.clone(),
        ]
    }
}

impl ResultRow {
    /// Fills the `_mta-sts` record cells from the parser's verdict on an answer set and returns
    /// the status it gives. The scan and `lab truth` both write the record cells through here.
    pub fn set_sts_record(&mut self, verdict: StsRecord) -> RecordStatus {
        let status = match verdict {
            StsRecord::Valid { id, text, .. } => {
                self.sts_record = text;
                self.sts_id = id;
                RecordStatus::Valid
            }
            StsRecord::Absent => RecordStatus::Absent,
            StsRecord::Multiple { texts } => {
                self.sts_record_error = multiple_error(texts.len(), sts_record::VERSION_TAG);
                self.sts_record = texts.join(" | ");
                RecordStatus::Multiple
            }
            StsRecord::Invalid { reason, text } => {
                self.sts_record = text;
                self.sts_record_error = reason;
                RecordStatus::Invalid
            }
        };
        self.sts_record_status = Some(status);
        status
    }

    /// Fills the TLS-RPT cells, status included, from the parser's verdict on an answer set.
    pub fn set_tlsrpt_record(&mut self, verdict: TlsRptRecord) {
        let status = match verdict {
            TlsRptRecord::Valid { rua, .. } => {
                self.tlsrpt_rua = rua;
                RecordStatus::Valid
            }
            TlsRptRecord::Absent => RecordStatus::Absent,
            TlsRptRecord::Multiple { texts } => {
                self.tlsrpt_error = multiple_error(texts.len(), tlsrpt::VERSION_TAG);
                RecordStatus::Multiple
            }
            TlsRptRecord::Invalid { reason, .. } => {
                self.tlsrpt_error = reason;
                RecordStatus::Invalid
            }
        };
        self.tlsrpt_status = Some(status);
    }
}

fn multiple_error(n: usize, tag: &str) -> String {
    format!("{n} records start with {tag}")
}

fn parse_opt<T>(
    cell: &str,
    parse: impl Fn(&str) -> Option<T>,
    column: &str,
) -> Result<Option<T>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    parse(cell)
        .map(Some)
        .ok_or_else(|| format!("column {column}: unexpected value {cell:?}"))
}

fn list(cell: &str, sep: char) -> Vec<String> {
    cell.split(sep)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl ResultRow {
    /// Reads a row back from its cells (as written by [`ResultRow::to_cells`]):
    /// used by resume, merge and diff. Extra trailing cells are ignored.
    pub fn from_cells<S: AsRef<str>>(cells: &[S]) -> Result<ResultRow, String> {
        if cells.len() < COLUMNS.len() {
            return Err(format!("{} cells, expected {}", cells.len(), COLUMNS.len()));
        }
        let c = |i: usize| cells[i].as_ref();
        let num = |i: usize| -> Result<Option<u64>, String> {
            parse_opt(c(i), |s| s.parse::<u64>().ok(), COLUMNS[i])
        };
        Ok(ResultRow {
            rank: num(0)?.unwrap_or(0),
            domain: c(1).to_string(),
            input_status: parse_opt(c(2), InputStatus::parse, COLUMNS[2])?,
            mx_status: parse_opt(c(3), MxStatus::parse, COLUMNS[3])?,
            mx_hosts: list(c(4), ' '),
            sts_record_status: parse_opt(c(5), RecordStatus::parse, COLUMNS[5])?,
            sts_record: c(6).to_string(),
            sts_id: c(7).to_string(),
            policy_status: parse_opt(c(8), PolicyStatus::parse, COLUMNS[8])?,
            policy_error: c(9).to_string(),
            policy_http_status: parse_opt(c(10), |s| s.parse::<u16>().ok(), COLUMNS[10])?,
            policy_content_type: c(11).to_string(),
            policy_mode: parse_opt(c(12), Mode::parse, COLUMNS[12])?,
            policy_max_age: num(13)?,
            policy_mx: list(c(14), ' '),
            policy_warnings: list(c(15), ';'),
            mx_policy_match: parse_opt(c(16), Coverage::parse, COLUMNS[16])?,
            mx_uncovered: list(c(17), ' '),
            tlsrpt_status: parse_opt(c(18), RecordStatus::parse, COLUMNS[18])?,
            tlsrpt_rua: list(c(19), ' '),
            classification: parse_opt(c(20), Classification::parse, COLUMNS[20])?,
            duration_ms: num(21)?.unwrap_or(0),
            input_error: c(22).to_string(),
            sts_record_error: c(23).to_string(),
            tlsrpt_error: c(24).to_string(),
        })
    }
}

/// The classification rule, from the statuses already in the row.
///
/// ```text
/// no_mail    MX nxdomain, no_mx or null_mx
/// dns_error  MX or _mta-sts lookup failed (servfail, refused, timeout, error)
/// no_sts     mail domain, _mta-sts record absent
/// broken     record invalid or multiple, or the policy not valid
/// enforce | testing | none   the valid policy's mode
/// ```
pub fn classify(
    mx: MxStatus,
    sts: RecordStatus,
    policy: PolicyStatus,
    mode: Option<Mode>,
) -> Classification {
    match mx {
        MxStatus::Nxdomain | MxStatus::NoMx | MxStatus::NullMx => return Classification::NoMail,
        MxStatus::Servfail | MxStatus::Refused | MxStatus::Timeout | MxStatus::Error => {
            return Classification::DnsError
        }
        MxStatus::Ok => {}
    }
    match sts {
        RecordStatus::Servfail
        | RecordStatus::Refused
        | RecordStatus::Timeout
        | RecordStatus::Error => Classification::DnsError,
        RecordStatus::Absent => Classification::NoSts,
        RecordStatus::Invalid | RecordStatus::Multiple => Classification::Broken,
        RecordStatus::Valid => match (policy, mode) {
            (PolicyStatus::Valid, Some(Mode::Enforce)) => Classification::Enforce,
            (PolicyStatus::Valid, Some(Mode::Testing)) => Classification::Testing,
            (PolicyStatus::Valid, Some(Mode::None)) => Classification::None,
            _ => Classification::Broken,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/results.md: a multiple record set keeps every text, `|`-joined, and says how many.
    #[test]
    fn record_cells_of_a_multiple_and_an_invalid_sts_answer() {
        let records = [b"v=STSv1; id=1".to_vec(), b"v=STSv1; id=2".to_vec()];
        let mut row = ResultRow::default();
        let verdict = crate::sts_record::parse_answer(&records);
        assert_eq!(row.set_sts_record(verdict), RecordStatus::Multiple);
        assert_eq!(row.sts_record_status, Some(RecordStatus::Multiple));
        assert_eq!(row.sts_record, "v=STSv1; id=1 | v=STSv1; id=2");
        assert_eq!(row.sts_record_error, "2 records start with v=STSv1");
        assert_eq!(row.sts_id, "");

        let mut row = ResultRow::default();
        let verdict = crate::sts_record::parse_answer(&[b"v=STSv1; id=not-alnum!".to_vec()]);
        assert_eq!(row.set_sts_record(verdict), RecordStatus::Invalid);
        assert_eq!(row.sts_record, "v=STSv1; id=not-alnum!");
        assert!(!row.sts_record_error.is_empty());
    }

    /// A valid TLS-RPT record fills `tlsrpt_rua`; two fill the error and no URI.
    #[test]
    fn record_cells_of_valid_and_multiple_tlsrpt_answers() {
        let mut row = ResultRow::default();
        let one = [b"v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/x".to_vec()];
        row.set_tlsrpt_record(crate::tlsrpt::parse_answer(&one));
        assert_eq!(row.tlsrpt_status, Some(RecordStatus::Valid));
        assert_eq!(
            row.tlsrpt_rua,
            ["mailto:a@example.com", "https://r.example.com/x"]
        );
        let mut row = ResultRow::default();
        let two = [
            one[0].clone(),
            b"v=TLSRPTv1; rua=mailto:b@example.com".to_vec(),
        ];
        row.set_tlsrpt_record(crate::tlsrpt::parse_answer(&two));
        assert_eq!(row.tlsrpt_status, Some(RecordStatus::Multiple));
        assert!(row.tlsrpt_rua.is_empty());
        assert_eq!(row.tlsrpt_error, "2 records start with v=TLSRPTv1");
    }

    #[test]
    fn cells_follow_the_column_order() {
        let row = ResultRow {
            rank: 7,
            domain: "example.com".into(),
            input_status: Some(InputStatus::Ok),
            mx_hosts: vec!["a.example".into(), "b.example".into()],
            policy_warnings: vec!["w1".into(), "w2".into()],
            ..Default::default()
        };
        let cells = row.to_cells();
        assert_eq!(cells.len(), COLUMNS.len());
        assert_eq!(cells[0], "7");
        assert_eq!(cells[1], "example.com");
        assert_eq!(cells[2], "ok");
        assert_eq!(cells[4], "a.example b.example");
        assert_eq!(cells[15], "w1;w2");
        assert_eq!(COLUMNS[DURATION_COLUMN], "duration_ms");
    }

    #[test]
    fn a_row_reads_back_from_its_cells() {
        let row = ResultRow {
            rank: 3,
            domain: "example.org".into(),
            input_status: Some(InputStatus::Ok),
            mx_status: Some(MxStatus::Ok),
            mx_hosts: vec!["mx1.example.org".into(), "mx2.example.org".into()],
            sts_record_status: Some(RecordStatus::Valid),
            sts_record: "v=STSv1; id=1".into(),
            sts_id: "1".into(),
            policy_status: Some(PolicyStatus::Valid),
            policy_http_status: Some(200),
            policy_content_type: "text/plain".into(),
            policy_mode: Some(Mode::Enforce),
            policy_max_age: Some(86400),
            policy_mx: vec!["*.example.org".into()],
            policy_warnings: vec!["trailing_whitespace".into(), "crlf".into()],
            mx_policy_match: Some(Coverage::All),
            tlsrpt_status: Some(RecordStatus::Absent),
            classification: Some(Classification::Enforce),
            duration_ms: 12,
            ..Default::default()
        };
        assert_eq!(ResultRow::from_cells(&row.to_cells()).unwrap(), row);
        let mut bad = row.to_cells();
        bad[3] = "maybe".into();
        assert!(ResultRow::from_cells(&bad)
            .unwrap_err()
            .contains("mx_status"));
    }

    #[test]
    fn csv_values_round_trip() {
        for c in Classification::ALL {
            assert_eq!(Classification::parse(c.as_str()), Some(*c));
        }
        assert_eq!(PolicyStatus::NotFetched.as_str(), "not_fetched");
        assert_eq!(MxStatus::NullMx.as_str(), "null_mx");
    }

    #[test]
    fn mail_less_domains_are_no_mail_whatever_they_publish() {
        for mx in [MxStatus::Nxdomain, MxStatus::NoMx, MxStatus::NullMx] {
            let c = classify(
                mx,
                RecordStatus::Valid,
                PolicyStatus::Valid,
                Some(Mode::Enforce),
            );
            assert_eq!(c, Classification::NoMail);
        }
    }

    #[test]
    fn failed_lookups_are_dns_error_not_no_sts() {
        let c = classify(
            MxStatus::Ok,
            RecordStatus::Timeout,
            PolicyStatus::NotFetched,
            None,
        );
        assert_eq!(c, Classification::DnsError);
        let c = classify(
            MxStatus::Servfail,
            RecordStatus::Absent,
            PolicyStatus::NotFetched,
            None,
        );
        assert_eq!(c, Classification::DnsError);
    }

    #[test]
    fn record_without_valid_policy_is_broken() {
        let c = classify(
            MxStatus::Ok,
            RecordStatus::Multiple,
            PolicyStatus::NotFetched,
            None,
        );
        assert_eq!(c, Classification::Broken);
        let c = classify(
            MxStatus::Ok,
            RecordStatus::Valid,
            PolicyStatus::TlsError,
            None,
        );
        assert_eq!(c, Classification::Broken);
        let c = classify(
            MxStatus::Ok,
            RecordStatus::Valid,
            PolicyStatus::Valid,
            Some(Mode::Testing),
        );
        assert_eq!(c, Classification::Testing);
    }
}
