//! The daily summary of the state table (DESIGN §12).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::finding::Severity;
use crate::output::notify::Notification;
use crate::state::{PlaceStatus, Record, Status};

/// The daily summary (DESIGN §12): open findings by severity, account and
/// rule, the oldest open ones, the exempt count, and every place whose last
/// sweep could not read everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub kind: &'static str,
    pub generated_at: String,
    pub open: usize,
    pub exempt: usize,
    pub by_severity: BTreeMap<String, usize>,
    pub by_account: BTreeMap<String, usize>,
    pub by_rule: BTreeMap<String, usize>,
    pub oldest: Vec<OldFinding>,
    pub places_swept: usize,
    pub incomplete: Vec<PlaceStatus>,
}

/// One of the oldest open findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OldFinding {
    pub rule: String,
    pub severity: String,
    pub account: String,
    pub region: String,
    pub resource: String,
    pub detail: String,
    pub first_seen: String,
}

/// How many of the oldest open findings the summary lists.
pub const OLDEST_LISTED: usize = 10;

impl Summary {
    pub fn of(records: &[Record], statuses: Vec<PlaceStatus>, now: &str) -> Summary {
        let open: Vec<&Record> = records
            .iter()
            .filter(|r| r.status == Status::Open)
            .collect();
        let count = |key: fn(&Record) -> String| {
            let mut m = BTreeMap::new();
            for r in &open {
                *m.entry(key(r)).or_insert(0) += 1;
            }
            m
        };
        let mut oldest = open.clone();
        oldest.sort_by(|a, b| {
            a.first_seen
                .cmp(&b.first_seen)
                .then(b.severity.cmp(&a.severity))
        });
        Summary {
            kind: "sweep_summary",
            generated_at: now.to_string(),
            open: open.len(),
            exempt: records
                .iter()
                .filter(|r| r.status == Status::Exempt)
                .count(),
            by_severity: count(|r| r.severity.as_str().to_string()),
            by_account: count(|r| r.account.clone()),
            by_rule: count(|r| r.rule.clone()),
            oldest: oldest
                .into_iter()
                .take(OLDEST_LISTED)
                .map(|r| OldFinding {
                    rule: r.rule.clone(),
                    severity: r.severity.as_str().to_string(),
                    account: r.account.clone(),
                    region: r.region.clone(),
                    resource: r.resource.clone(),
                    detail: r.detail.clone(),
                    first_seen: r.first_seen.clone(),
                })
                .collect(),
            places_swept: statuses.len(),
            incomplete: statuses.into_iter().filter(|s| !s.complete).collect(),
        }
    }

    /// The most severe open finding's severity.
    fn top(&self) -> Option<Severity> {
        ["critical", "high", "medium", "low", "info"]
            .into_iter()
            .find(|s| self.by_severity.contains_key(*s))
            .and_then(|s| s.parse().ok())
    }

    pub fn subject(&self) -> String {
        let severity = self.top().map_or("INFO", |s| match s {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Info => "INFO",
        });
        let mut subject = format!(
            "[{severity}] Daily summary: {} open findings in {} accounts",
            self.open,
            self.by_account.len()
        );
        if !self.incomplete.is_empty() {
            let _ = write!(subject, ", {} places not fully read", self.incomplete.len());
        }
        subject.truncate(crate::output::notify::SUBJECT_MAX);
        subject
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}\n", self.subject());
        let _ = writeln!(
            out,
            "Open findings: {} (exempt: {}), over {} places swept, as of {}",
            self.open, self.exempt, self.places_swept, self.generated_at
        );
        for (title, map) in [
            ("By severity", &self.by_severity),
            ("By account", &self.by_account),
            ("By rule", &self.by_rule),
        ] {
            let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(out, "{title}: {}", parts.join(", "));
        }
        if !self.oldest.is_empty() {
            let _ = writeln!(out, "\nOldest open findings:");
            for o in &self.oldest {
                let _ = writeln!(
                    out,
                    "- since {}: [{}] {} on {} ({} {}): {}",
                    o.first_seen,
                    o.severity.to_ascii_uppercase(),
                    o.rule,
                    o.resource,
                    o.account,
                    o.region,
                    o.detail
                );
            }
        }
        if !self.incomplete.is_empty() {
            let _ = writeln!(
                out,
                "\nNot fully read at their last sweep (nothing there was resolved):"
            );
            for p in &self.incomplete {
                let _ = writeln!(
                    out,
                    "- {} {} at {}: {}",
                    p.account,
                    p.region,
                    p.swept_at,
                    p.problems.join("; ")
                );
            }
        }
        out
    }

    /// The SNS message: text for people, this document for machines.
    pub fn notification(&self) -> Notification {
        let json = serde_json::to_string(self).unwrap_or_default();
        Notification::summary(self.subject(), &self.text(), &json, self.top(), "summary")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::tests::REGION;

    #[test]
    fn the_summary_counts_and_lists_the_oldest() {
        let mk = |rule: &str, sev: Severity, acct: &str, first: &str, status: Status| Record {
            fingerprint: format!("{rule}{acct}{first}"),
            account: acct.to_string(),
            region: REGION.to_string(),
            resource: "sg-1".to_string(),
            rule: rule.to_string(),
            severity: sev,
            title: "t".to_string(),
            detail: "d".to_string(),
            status,
            first_seen: first.to_string(),
            last_seen: first.to_string(),
            last_alert: None,
            resolved_at: None,
            read_at: 0,
        };
        let records = vec![
            mk(
                "EC2-SG-003",
                Severity::Critical,
                "111111111111",
                "2026-01-02",
                Status::Open,
            ),
            mk(
                "EC2-SG-003",
                Severity::Critical,
                "222222222222",
                "2026-01-01",
                Status::Open,
            ),
            mk(
                "ECS-TD-001",
                Severity::High,
                "111111111111",
                "2026-03-01",
                Status::Open,
            ),
            mk(
                "EC2-SG-004",
                Severity::Critical,
                "111111111111",
                "2025-01-01",
                Status::Resolved,
            ),
            mk(
                "EC2-SG-004",
                Severity::Critical,
                "111111111111",
                "2025-01-01",
                Status::Exempt,
            ),
        ];
        let s = Summary::of(&records, Vec::new(), "now");
        assert_eq!((s.open, s.exempt), (3, 1));
        assert_eq!(s.by_rule["EC2-SG-003"], 2);
        assert_eq!(s.by_account["111111111111"], 2);
        assert_eq!(s.oldest[0].account, "222222222222");
        assert!(s
            .subject()
            .starts_with("[CRITICAL] Daily summary: 3 open findings in 2 accounts"));
    }
}
