//! Aggregate statistics over result rows: summary.json and summary.md.
//!
//! A [`Summary`] is built from rows alone (plus the run's own counters in
//! [`RunStats`]), so a merge of shards or a re-read of results.csv yields the
//! same summary as the run that wrote them. Every map is ordered, so the JSON
//! is byte-stable for the same rows.

use crate::row::{Classification, InputStatus, MxStatus, PolicyStatus, RecordStatus, ResultRow};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Rank buckets of the survey tables: (label, highest rank inside).
pub const RANK_BUCKETS: &[(&str, u64)] = &[
    ("top 1k", 1_000),
    ("top 10k", 10_000),
    ("top 100k", 100_000),
    ("top 1M", 1_000_000),
    ("rest", u64::MAX),
];

/// How many example domains a list in the summary keeps (lowest ranks first).
const EXAMPLES: usize = 20;

/// Counters the run itself keeps (not derivable from rows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunStats {
    /// Wall time of the run, in seconds.
    pub duration_s: f64,
    /// DNS queries sent (retries and TCP included).
    pub dns_queries: u64,
    /// DNS queries that got an accepted reply.
    pub dns_answered: u64,
    /// HTTPS policy fetches attempted.
    pub https_fetches: u64,
}

/// Counts per class, for one slice of the input.
type ClassCounts = BTreeMap<Classification, u64>;

/// The aggregate of a set of rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Input lines seen (every row).
    pub domains: u64,
    /// Rows per input_status.
    pub input_status: BTreeMap<InputStatus, u64>,
    /// Classification over all scanned rows.
    pub classification: ClassCounts,
    /// Classification over mail domains (mx_status ok).
    pub mail_classification: ClassCounts,
    /// Classification per rank bucket (index into [`RANK_BUCKETS`]).
    pub buckets: Vec<ClassCounts>,
    /// Scanned rows with a valid TLS-RPT record, per classification.
    pub tlsrpt_valid: ClassCounts,
    /// TLS-RPT status counts over scanned rows.
    pub tlsrpt_status: BTreeMap<RecordStatus, u64>,
    /// `_mta-sts` record status counts over scanned rows.
    pub sts_record_status: BTreeMap<RecordStatus, u64>,
    /// Policy status counts over scanned rows.
    pub policy_status: BTreeMap<PolicyStatus, u64>,
    /// `policy_status: code` → count, for failed policies.
    pub policy_errors: BTreeMap<String, u64>,
    /// Warning code → count.
    pub policy_warnings: BTreeMap<String, u64>,
    /// Enforce domains whose policy does not cover every MX host.
    pub enforce_uncovered: u64,
    /// The lowest-ranked such domains, as (rank, domain).
    pub enforce_uncovered_examples: BTreeSet<(u64, String)>,
}

impl Summary {
    pub fn new() -> Summary {
        Summary {
            buckets: vec![ClassCounts::new(); RANK_BUCKETS.len()],
            ..Default::default()
        }
    }

    /// Adds one row.
    pub fn add(&mut self, row: &ResultRow) {
        self.domains += 1;
        if let Some(s) = row.input_status {
            *self.input_status.entry(s).or_default() += 1;
        }
        let Some(class) = row.classification else {
            return;
        };
        *self.classification.entry(class).or_default() += 1;
        if row.mx_status == Some(MxStatus::Ok) {
            *self.mail_classification.entry(class).or_default() += 1;
        }
        let bucket = RANK_BUCKETS
            .iter()
            .position(|(_, top)| row.rank <= *top)
            .unwrap_or(RANK_BUCKETS.len() - 1);
        *self.buckets[bucket].entry(class).or_default() += 1;
        if let Some(s) = row.tlsrpt_status {
            *self.tlsrpt_status.entry(s).or_default() += 1;
            if s == RecordStatus::Valid {
                *self.tlsrpt_valid.entry(class).or_default() += 1;
            }
        }
        if let Some(s) = row.sts_record_status {
            *self.sts_record_status.entry(s).or_default() += 1;
        }
        if let Some(s) = row.policy_status {
            *self.policy_status.entry(s).or_default() += 1;
            if !matches!(s, PolicyStatus::Valid | PolicyStatus::NotFetched) {
                for code in row.policy_error.split(';').filter(|c| !c.is_empty()) {
                    let code = code.split(" Location:").next().unwrap_or(code);
                    *self
                        .policy_errors
                        .entry(format!("{s}: {code}"))
                        .or_default() += 1;
                }
            }
        }
        for w in &row.policy_warnings {
            *self.policy_warnings.entry(w.clone()).or_default() += 1;
        }
        if class == Classification::Enforce && !row.mx_uncovered.is_empty() {
            self.enforce_uncovered += 1;
            self.enforce_uncovered_examples
                .insert((row.rank, row.domain.clone()));
            if self.enforce_uncovered_examples.len() > EXAMPLES {
                self.enforce_uncovered_examples.pop_last();
            }
        }
    }

    /// Combines two summaries (shards of one input).
    pub fn merge(&mut self, other: &Summary) {
        self.domains += other.domains;
        add_all(&mut self.input_status, &other.input_status);
        add_all(&mut self.classification, &other.classification);
        add_all(&mut self.mail_classification, &other.mail_classification);
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            add_all(a, b);
        }
        add_all(&mut self.tlsrpt_valid, &other.tlsrpt_valid);
        add_all(&mut self.tlsrpt_status, &other.tlsrpt_status);
        add_all(&mut self.sts_record_status, &other.sts_record_status);
        add_all(&mut self.policy_status, &other.policy_status);
        add_all(&mut self.policy_errors, &other.policy_errors);
        add_all(&mut self.policy_warnings, &other.policy_warnings);
        self.enforce_uncovered += other.enforce_uncovered;
        for e in &other.enforce_uncovered_examples {
            self.enforce_uncovered_examples.insert(e.clone());
        }
        while self.enforce_uncovered_examples.len() > EXAMPLES {
            self.enforce_uncovered_examples.pop_last();
        }
    }

    /// Scanned rows (those with a classification).
    pub fn scanned(&self) -> u64 {
        self.classification.values().sum()
    }

    /// summary.json.
    pub fn to_json(&self, stats: &RunStats) -> Value {
        let tlsrpt_by_class: Map<String, Value> = Classification::ALL
            .iter()
            .map(|c| {
                let total = self.classification.get(c).copied().unwrap_or(0);
                let valid = self.tlsrpt_valid.get(c).copied().unwrap_or(0);
                (
                    c.to_string(),
                    json!({ "domains": total, "tlsrpt_valid": valid }),
                )
            })
            .collect();
        let buckets: Map<String, Value> = RANK_BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|((label, _), counts)| (label.to_string(), class_map(counts)))
            .collect();
        json!({
            "domains": self.domains,
            "scanned": self.scanned(),
            "duration_s": (stats.duration_s * 1000.0).round() / 1000.0,
            "dns_queries": stats.dns_queries,
            "dns_answered": stats.dns_answered,
            "https_fetches": stats.https_fetches,
            "input_status": enum_map(&self.input_status),
            "classification": class_map(&self.classification),
            "mail_domains": self.mail_classification.values().sum::<u64>(),
            "mail_classification": class_map(&self.mail_classification),
            "rank_buckets": buckets,
            "sts_record_status": enum_map(&self.sts_record_status),
            "policy_status": enum_map(&self.policy_status),
            "tlsrpt_status": enum_map(&self.tlsrpt_status),
            "tlsrpt_by_classification": tlsrpt_by_class,
            "enforce_mx_not_covered": {
                "domains": self.enforce_uncovered,
                "examples": self.enforce_uncovered_examples.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(),
            },
            "policy_errors": self.policy_errors,
            "policy_warnings": self.policy_warnings,
        })
    }

    /// summary.md: the tables a researcher reads first.
    pub fn to_markdown(&self, stats: &RunStats) -> String {
        let mut md = String::new();
        let scanned = self.scanned();
        let mail: u64 = self.mail_classification.values().sum();
        let _ = writeln!(md, "# stsmap summary\n");
        let _ = writeln!(
            md,
            "{} input lines, {} scanned, {} mail domains, in {:.1} s ({} DNS queries, {} answered, {} HTTPS fetches).\n",
            self.domains, scanned, mail, stats.duration_s, stats.dns_queries, stats.dns_answered, stats.https_fetches
        );
        let _ = writeln!(md, "## Classification\n");
        let _ = writeln!(
            md,
            "| class | domains | share of scanned | mail domains | share of mail |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|");
        for c in Classification::ALL {
            let n = self.classification.get(c).copied().unwrap_or(0);
            let m = self.mail_classification.get(c).copied().unwrap_or(0);
            let _ = writeln!(
                md,
                "| {c} | {n} | {} | {m} | {} |",
                pct(n, scanned),
                pct(m, mail)
            );
        }
        for (s, n) in &self.input_status {
            if *s != InputStatus::Ok {
                let _ = writeln!(md, "\nNot scanned: {n} input lines {s}.");
            }
        }
        let _ = writeln!(md, "\n## By rank bucket\n");
        let mut header = String::from("| bucket | scanned |");
        let mut rule = String::from("|---|---:|");
        for c in Classification::ALL {
            let _ = write!(header, " {c} |");
            rule.push_str("---:|");
        }
        let _ = writeln!(md, "{header}\n{rule}");
        for ((label, _), counts) in RANK_BUCKETS.iter().zip(&self.buckets) {
            let total: u64 = counts.values().sum();
            if total == 0 {
                continue;
            }
            let _ = write!(md, "| {label} | {total} |");
            for c in Classification::ALL {
                let _ = write!(md, " {} |", pct(counts.get(c).copied().unwrap_or(0), total));
            }
            md.push('\n');
        }
        let _ = writeln!(md, "\n## TLS-RPT adoption by classification\n");
        let _ = writeln!(md, "| class | domains | valid TLS-RPT | share |");
        let _ = writeln!(md, "|---|---:|---:|---:|");
        for c in Classification::ALL {
            let n = self.classification.get(c).copied().unwrap_or(0);
            let v = self.tlsrpt_valid.get(c).copied().unwrap_or(0);
            let _ = writeln!(md, "| {c} | {n} | {v} | {} |", pct(v, n));
        }
        let _ = writeln!(
            md,
            "\n## Enforce policies that do not cover their MX\n\n{} enforce domains have MX hosts no policy pattern matches (mail to them fails under enforce).",
            self.enforce_uncovered
        );
        if !self.enforce_uncovered_examples.is_empty() {
            let names: Vec<&str> = self
                .enforce_uncovered_examples
                .iter()
                .map(|(_, d)| d.as_str())
                .collect();
            let _ = writeln!(md, "Lowest-ranked: {}.", names.join(", "));
        }
        top_table(&mut md, "Most common policy errors", &self.policy_errors);
        top_table(
            &mut md,
            "Most common policy warnings",
            &self.policy_warnings,
        );
        md
    }
}

fn add_all<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

fn class_map(counts: &ClassCounts) -> Value {
    Classification::ALL
        .iter()
        .map(|c| (c.to_string(), json!(counts.get(c).copied().unwrap_or(0))))
        .collect::<Map<String, Value>>()
        .into()
}

fn enum_map<K: std::fmt::Display>(counts: &BTreeMap<K, u64>) -> Value {
    counts
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect::<Map<String, Value>>()
        .into()
}

fn pct(n: u64, of: u64) -> String {
    if of == 0 {
        "-".into()
    } else {
        format!("{:.2}%", n as f64 * 100.0 / of as f64)
    }
}

fn top_table(md: &mut String, title: &str, counts: &BTreeMap<String, u64>) {
    let _ = writeln!(md, "\n## {title}\n");
    if counts.is_empty() {
        let _ = writeln!(md, "None.");
        return;
    }
    let mut top: Vec<(&String, &u64)> = counts.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let _ = writeln!(md, "| value | domains |\n|---|---:|");
    for (k, v) in top.into_iter().take(15) {
        let _ = writeln!(md, "| {k} | {v} |");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::Mode;

    fn row(rank: u64, class: Classification) -> ResultRow {
        ResultRow {
            rank,
            domain: format!("d{rank}.example"),
            input_status: Some(InputStatus::Ok),
            mx_status: Some(MxStatus::Ok),
            classification: Some(class),
            ..Default::default()
        }
    }

    #[test]
    fn counts_classes_overall_and_per_rank_bucket() {
        let mut s = Summary::new();
        s.add(&row(5, Classification::Enforce));
        s.add(&row(50_000, Classification::NoSts));
        s.add(&row(2_000_000, Classification::NoSts));
        assert_eq!(s.classification[&Classification::NoSts], 2);
        assert_eq!(s.buckets[0][&Classification::Enforce], 1);
        assert_eq!(s.buckets[2][&Classification::NoSts], 1);
        assert_eq!(s.buckets[4][&Classification::NoSts], 1);
        let j = s.to_json(&RunStats::default());
        assert_eq!(j["classification"]["no_sts"], 2);
        assert_eq!(j["domains"], 3);
    }

    #[test]
    fn unscanned_lines_count_as_inputs_but_not_classes() {
        let mut s = Summary::new();
        s.add(&ResultRow {
            rank: 1,
            input_status: Some(InputStatus::Invalid),
            ..Default::default()
        });
        assert_eq!(s.domains, 1);
        assert_eq!(s.scanned(), 0);
    }

    #[test]
    fn enforce_with_uncovered_mx_is_reported() {
        let mut s = Summary::new();
        let mut r = row(3, Classification::Enforce);
        r.policy_mode = Some(Mode::Enforce);
        r.mx_uncovered = vec!["mx9.other.example".into()];
        s.add(&r);
        assert_eq!(s.enforce_uncovered, 1);
        assert!(s.to_markdown(&RunStats::default()).contains("d3.example"));
    }

    #[test]
    fn merged_shards_equal_the_whole() {
        let rows: Vec<ResultRow> = (1..=50)
            .map(|i| row(i * 997, Classification::ALL[(i % 7) as usize]))
            .collect();
        let mut whole = Summary::new();
        rows.iter().for_each(|r| whole.add(r));
        let (mut a, mut b) = (Summary::new(), Summary::new());
        for (i, r) in rows.iter().enumerate() {
            if i % 3 == 0 {
                a.add(r)
            } else {
                b.add(r)
            }
        }
        a.merge(&b);
        assert_eq!(a, whole);
    }

    #[test]
    fn policy_errors_count_each_code_without_the_location() {
        let mut s = Summary::new();
        let mut r = row(1, Classification::Broken);
        r.policy_status = Some(PolicyStatus::HttpError);
        r.policy_error = "HTTP 301 Location: https://x.example/".into();
        s.add(&r);
        let mut r = row(2, Classification::Broken);
        r.policy_status = Some(PolicyStatus::Invalid);
        r.policy_error = "mode_invalid;max_age_missing".into();
        s.add(&r);
        assert_eq!(s.policy_errors["http_error: HTTP 301"], 1);
        assert_eq!(s.policy_errors["invalid: mode_invalid"], 1);
        assert_eq!(s.policy_errors["invalid: max_age_missing"], 1);
    }
}
