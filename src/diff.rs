//! Night-to-night comparison of two runs: per-domain field changes and the
//! movements researchers count (new adopters, testing → enforce, downgrades,
//! newly broken, fixed).
//!
//! Pure: rows in, [`Change`]s and a [`DiffSummary`] out. Both runs are usually
//! of the same list, so rows arrive in the same order and are compared pairwise
//! in constant memory. From the first row where the domains differ, the rest of
//! the old run is held in a hash map keyed by domain (about 200 bytes per
//! domain: the compared fields only), and the new run is streamed against it.
//! Only `input_status = ok` rows are compared; invalid and duplicate lines carry
//! no observation.

use crate::row::{Classification, ResultRow};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// The compared fields of one domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub classification: String,
    pub mode: String,
    pub sts_id: String,
    pub max_age: String,
    pub mx_patterns: String,
    pub tlsrpt_status: String,
    pub tlsrpt_rua: String,
}

/// The compared field names, in changes.csv order.
pub const FIELDS: [&str; 7] = [
    "classification",
    "mode",
    "sts_id",
    "max_age",
    "mx_patterns",
    "tlsrpt_status",
    "tlsrpt_rua",
];

impl Snapshot {
    /// The compared fields of a scanned row; None for rows not scanned.
    pub fn of(row: &ResultRow) -> Option<Snapshot> {
        let class = row.classification?;
        let s = |v: Option<String>| v.unwrap_or_default();
        Some(Snapshot {
            classification: class.to_string(),
            mode: s(row.policy_mode.map(|m| m.to_string())),
            sts_id: row.sts_id.clone(),
            max_age: s(row.policy_max_age.map(|m| m.to_string())),
            mx_patterns: row.policy_mx.join(" "),
            tlsrpt_status: s(row.tlsrpt_status.map(|m| m.to_string())),
            tlsrpt_rua: row.tlsrpt_rua.join(" "),
        })
    }

    fn fields(&self) -> [&str; 7] {
        [
            &self.classification,
            &self.mode,
            &self.sts_id,
            &self.max_age,
            &self.mx_patterns,
            &self.tlsrpt_status,
            &self.tlsrpt_rua,
        ]
    }
}

/// One line of changes.csv. A domain in only one run gets one change with
/// field `listed` (`yes` → `no` or `no` → `yes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub domain: String,
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

/// The movements counted in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Movement {
    /// no_sts or no_mail → enforce, testing or none.
    NewAdopter,
    TestingToEnforce,
    /// enforce → testing/none/no_sts, testing → none/no_sts, none → no_sts.
    Downgrade,
    /// anything else → broken.
    NewlyBroken,
    /// broken → enforce, testing or none.
    Fixed,
}

impl Movement {
    pub const ALL: [Movement; 5] = [
        Movement::NewAdopter,
        Movement::TestingToEnforce,
        Movement::Downgrade,
        Movement::NewlyBroken,
        Movement::Fixed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Movement::NewAdopter => "new_adopters",
            Movement::TestingToEnforce => "testing_to_enforce",
            Movement::Downgrade => "downgrades",
            Movement::NewlyBroken => "newly_broken",
            Movement::Fixed => "fixed",
        }
    }

    /// The movement of a classification change, if it is one we count.
    pub fn of(old: Classification, new: Classification) -> Option<Movement> {
        use Classification as C;
        let strength = |c: C| match c {
            C::Enforce => Some(3),
            C::Testing => Some(2),
            C::None => Some(1),
            C::NoSts | C::NoMail => Some(0),
            _ => None,
        };
        match (old, new) {
            (a, b) if a == b => None,
            (C::Testing, C::Enforce) => Some(Movement::TestingToEnforce),
            (C::Broken, C::Enforce | C::Testing | C::None) => Some(Movement::Fixed),
            (_, C::Broken) => Some(Movement::NewlyBroken),
            (a, b) => match (strength(a), strength(b)) {
                (Some(0), Some(s)) if s > 0 => Some(Movement::NewAdopter),
                (Some(x), Some(y)) if y < x && x > 0 => Some(Movement::Downgrade),
                _ => None,
            },
        }
    }
}

/// How many examples each movement keeps.
const EXAMPLES: usize = 20;

/// Aggregates of a diff.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiffSummary {
    /// Domains present (scanned) in both runs.
    pub compared: u64,
    /// Domains only in the old / new run.
    pub removed: u64,
    pub added: u64,
    /// Domains with at least one changed field.
    pub changed_domains: u64,
    /// Changes per field.
    pub field_changes: BTreeMap<&'static str, u64>,
    /// (old class, new class) → domains.
    pub transitions: BTreeMap<(String, String), u64>,
    /// Movement → (count, first examples in input order).
    pub movements: BTreeMap<Movement, (u64, Vec<String>)>,
}

impl DiffSummary {
    fn record(
        &mut self,
        domain: &str,
        old: &Snapshot,
        new: &Snapshot,
        out: &mut impl FnMut(Change),
    ) {
        self.compared += 1;
        let mut changed = false;
        for ((field, a), b) in FIELDS.iter().zip(old.fields()).zip(new.fields()) {
            if a != b {
                changed = true;
                *self.field_changes.entry(field).or_default() += 1;
                out(Change {
                    domain: domain.to_string(),
                    field,
                    old: a.to_string(),
                    new: b.to_string(),
                });
            }
        }
        if !changed {
            return;
        }
        self.changed_domains += 1;
        if old.classification != new.classification {
            *self
                .transitions
                .entry((old.classification.clone(), new.classification.clone()))
                .or_default() += 1;
            let (Some(a), Some(b)) = (
                Classification::parse(&old.classification),
                Classification::parse(&new.classification),
            ) else {
                return;
            };
            if let Some(m) = Movement::of(a, b) {
                let e = self.movements.entry(m).or_default();
                e.0 += 1;
                if e.1.len() < EXAMPLES {
                    e.1.push(domain.to_string());
                }
            }
        }
    }

    /// summary.json of the diff.
    pub fn to_json(&self) -> Value {
        let movements: serde_json::Map<String, Value> = Movement::ALL
            .iter()
            .map(|m| {
                let (n, ex) = self.movements.get(m).cloned().unwrap_or_default();
                (
                    m.as_str().to_string(),
                    json!({ "domains": n, "examples": ex }),
                )
            })
            .collect();
        json!({
            "compared": self.compared,
            "added": self.added,
            "removed": self.removed,
            "changed_domains": self.changed_domains,
            "field_changes": self.field_changes,
            "movements": movements,
            "transitions": self.transitions.iter().map(|((a, b), n)| json!({ "old": a, "new": b, "domains": n })).collect::<Vec<_>>(),
        })
    }

    /// summary.md of the diff.
    pub fn to_markdown(&self, old: &str, new: &str) -> String {
        let mut s = format!("# stsmap diff\n\n{old} → {new}\n\n");
        let _ = writeln!(
            s,
            "{} domains compared, {} changed, {} added, {} removed.\n",
            self.compared, self.changed_domains, self.added, self.removed
        );
        s.push_str("| movement | domains | examples |\n|---|---|---|\n");
        for m in Movement::ALL {
            let (n, ex) = self.movements.get(&m).cloned().unwrap_or_default();
            let _ = writeln!(s, "| {} | {n} | {} |", m.as_str(), ex.join(" "));
        }
        s.push_str("\n| field | changes |\n|---|---|\n");
        for f in FIELDS {
            let _ = writeln!(s, "| {f} | {} |", self.field_changes.get(f).unwrap_or(&0));
        }
        s.push_str("\n| old classification | new classification | domains |\n|---|---|---|\n");
        for ((a, b), n) in &self.transitions {
            let _ = writeln!(s, "| {a} | {b} | {n} |");
        }
        s
    }
}

/// The scanned rows of a run, as (domain, snapshot).
fn scanned<E>(
    rows: impl Iterator<Item = Result<ResultRow, E>>,
) -> impl Iterator<Item = Result<(String, Snapshot), E>> {
    rows.filter_map(|r| match r {
        Ok(row) => Snapshot::of(&row).map(|s| Ok((row.domain, s))),
        Err(e) => Some(Err(e)),
    })
}

/// Compares two runs' rows; `out` receives every change, in the new run's
/// order, then domains that left the list in the old run's order.
pub fn diff<E>(
    old: impl IntoIterator<Item = Result<ResultRow, E>>,
    new: impl IntoIterator<Item = Result<ResultRow, E>>,
    mut out: impl FnMut(Change),
) -> Result<DiffSummary, E> {
    let mut old = scanned(old.into_iter());
    let mut new = scanned(new.into_iter());
    let mut summary = DiffSummary::default();
    // Aligned phase: same domain at the same position.
    let pending_new;
    let mut rest_old: Vec<(String, Snapshot)> = Vec::new();
    loop {
        match (old.next().transpose()?, new.next().transpose()?) {
            (Some((d1, s1)), Some((d2, s2))) if d1 == d2 => summary.record(&d1, &s1, &s2, &mut out),
            (o, n) => {
                rest_old.extend(o);
                pending_new = n;
                break;
            }
        }
    }
    // Unaligned phase: the rest of the old run in a map.
    for item in old {
        rest_old.push(item?);
    }
    let mut by_domain: HashMap<String, (usize, Snapshot)> = HashMap::with_capacity(rest_old.len());
    let mut order = Vec::with_capacity(rest_old.len());
    for (i, (d, s)) in rest_old.into_iter().enumerate() {
        order.push(d.clone());
        by_domain.insert(d, (i, s));
    }
    for item in pending_new.map(Ok).into_iter().chain(new) {
        let (d, s2) = item?;
        match by_domain.remove(&d) {
            Some((_, s1)) => summary.record(&d, &s1, &s2, &mut out),
            None => {
                summary.added += 1;
                out(Change {
                    domain: d,
                    field: "listed",
                    old: "no".into(),
                    new: "yes".into(),
                });
            }
        }
    }
    for d in order {
        if by_domain.remove(&d).is_some() {
            summary.removed += 1;
            out(Change {
                domain: d,
                field: "listed",
                old: "yes".into(),
                new: "no".into(),
            });
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::{InputStatus, Mode};

    fn row(domain: &str, class: Classification, mode: Option<Mode>) -> ResultRow {
        ResultRow {
            domain: domain.into(),
            input_status: Some(InputStatus::Ok),
            classification: Some(class),
            policy_mode: mode,
            ..Default::default()
        }
    }

    fn run(rows: Vec<ResultRow>) -> (DiffSummary, Vec<Change>) {
        let mut changes = Vec::new();
        let s = diff::<()>(rows_ok(&rows[..0]), rows_ok(&rows), |c| changes.push(c)).unwrap();
        (s, changes)
    }

    fn rows_ok(rows: &[ResultRow]) -> Vec<Result<ResultRow, ()>> {
        rows.iter().cloned().map(Ok).collect()
    }

    #[test]
    fn movements_follow_the_classification_change() {
        use Classification as C;
        assert_eq!(
            Movement::of(C::NoSts, C::Testing),
            Some(Movement::NewAdopter)
        );
        assert_eq!(
            Movement::of(C::Testing, C::Enforce),
            Some(Movement::TestingToEnforce)
        );
        assert_eq!(
            Movement::of(C::Enforce, C::NoSts),
            Some(Movement::Downgrade)
        );
        assert_eq!(
            Movement::of(C::Enforce, C::Broken),
            Some(Movement::NewlyBroken)
        );
        assert_eq!(Movement::of(C::Broken, C::None), Some(Movement::Fixed));
        assert_eq!(Movement::of(C::Enforce, C::DnsError), None);
        assert_eq!(Movement::of(C::NoSts, C::NoMail), None);
    }

    #[test]
    fn aligned_and_reordered_runs_give_the_same_changes() {
        use Classification as C;
        let old = vec![
            row("a.com", C::Testing, Some(Mode::Testing)),
            row("b.com", C::NoSts, None),
            row("c.com", C::Enforce, Some(Mode::Enforce)),
        ];
        let new = vec![
            row("a.com", C::Enforce, Some(Mode::Enforce)),
            row("b.com", C::NoSts, None),
            row("c.com", C::Broken, None),
        ];
        let mut aligned = Vec::new();
        let s1 = diff::<()>(rows_ok(&old), rows_ok(&new), |c| aligned.push(c)).unwrap();
        let mut reversed: Vec<ResultRow> = new.clone();
        reversed.reverse();
        let mut shuffled = Vec::new();
        let s2 = diff::<()>(rows_ok(&old), rows_ok(&reversed), |c| shuffled.push(c)).unwrap();
        assert_eq!(s1.movements, s2.movements);
        assert_eq!(s1.changed_domains, 2);
        assert_eq!(s1.movements[&Movement::TestingToEnforce].0, 1);
        assert_eq!(s1.movements[&Movement::NewlyBroken].0, 1);
        aligned.sort_by(|a, b| (&a.domain, a.field).cmp(&(&b.domain, b.field)));
        shuffled.sort_by(|a, b| (&a.domain, a.field).cmp(&(&b.domain, b.field)));
        assert_eq!(aligned, shuffled);
    }

    #[test]
    fn domains_in_one_run_only_are_listed_changes() {
        let (s, changes) = run(vec![row("new.com", Classification::NoSts, None)]);
        assert_eq!((s.added, s.removed, s.compared), (1, 0, 0));
        assert_eq!(changes[0].field, "listed");
    }

    #[test]
    fn rows_not_scanned_are_not_compared() {
        let mut r = row("x", Classification::NoSts, None);
        r.classification = None;
        r.input_status = Some(InputStatus::Invalid);
        let (s, changes) = run(vec![r]);
        assert_eq!((s.added, changes.len()), (0, 0));
    }
}
