//! The state table (DESIGN §12): one record per finding the sweep has seen,
//! keyed by its fingerprint, and what a sweep changes in it. Pure: the
//! DynamoDB adapter is `aws::state`.
//!
//! Layer: report (with `report`). May import the rules, the policy and
//! the model.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::finding::{Finding, Severity};
use crate::report::Resolved;

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Resolved,
    /// Present, but its group or account is exempt (unexpired): not alerted.
    /// When the exemption ends it becomes open, and that is alerted.
    Exempt,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Resolved => "resolved",
            Status::Exempt => "exempt",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "open" => Some(Status::Open),
            "resolved" => Some(Status::Resolved),
            "exempt" => Some(Status::Exempt),
            _ => None,
        }
    }
}

/// One finding as the table keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub fingerprint: String,
    pub account: String,
    pub region: String,
    pub resource: String,
    pub rule: String,
    pub severity: Severity,
    pub title: String,
    /// Never a secret: the rules redact values before they reach a detail.
    pub detail: String,
    pub status: Status,
    /// RFC 3339.
    pub first_seen: String,
    pub last_seen: String,
    /// When it was last alerted; `None` when it never reached the threshold.
    pub last_alert: Option<String>,
    pub resolved_at: Option<String>,
    /// When the sweep that wrote it started reading the place (epoch
    /// seconds; 0 for a record written before read times were kept). The
    /// table takes a write only from a read at least as recent as the
    /// stored one: an older sweep never overwrites what a newer one saw.
    pub read_at: i64,
}

/// How one sweep of one place ended, kept for the daily summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceStatus {
    pub account: String,
    pub region: String,
    /// RFC 3339.
    pub swept_at: String,
    /// False when a read failed: nothing was resolved there.
    pub complete: bool,
    /// What could not be read (`DescribeServices (cluster web): AccessDenied`).
    pub problems: Vec<String>,
    /// When that sweep started reading (epoch seconds): a status from an
    /// older read never replaces a newer one's.
    #[serde(default)]
    pub read_at: i64,
}

/// `now` (RFC 3339) in epoch seconds: a sweep's read time, compared in the
/// table's conditions as a number, whatever the text's form.
pub fn epoch_seconds(now: &str) -> Option<i64> {
    time::OffsetDateTime::parse(now, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

/// The partition of a place in the table: `account/region`.
pub fn place_key(account: &str, region: &str) -> String {
    format!("{account}/{region}")
}

/// A finding's identity: account, region, resource, rule and detail, hashed
/// (SHA-256, first 128 bits in hex) so the key stays short whatever the
/// detail; the parts are kept beside it in the record.
pub fn fingerprint(
    account: &str,
    region: &str,
    resource: &str,
    rule: &str,
    detail: &str,
) -> String {
    let mut hash = Sha256::new();
    for part in [account, region, resource, rule, detail] {
        hash.update(part.as_bytes());
        // A separator no part contains, so that ("a","bc") ≠ ("ab","c").
        hash.update([0u8]);
    }
    let digest = hash.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A finding the sweep sees now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub fingerprint: String,
    /// With `resource` set.
    pub finding: Finding,
    /// The group or account is exempt (an unexpired exemption applies).
    pub exempt: bool,
}

impl Seen {
    pub fn new(
        account: &str,
        region: &str,
        resource: &str,
        mut finding: Finding,
        exempt: bool,
    ) -> Seen {
        finding.resource = Some(resource.to_string());
        Seen {
            fingerprint: fingerprint(account, region, resource, finding.rule, &finding.detail),
            finding,
            exempt,
        }
    }

    pub fn resource(&self) -> &str {
        self.finding.resource.as_deref().unwrap_or_default()
    }
}

/// What one sweep changes: the findings to alert (new, or no longer
/// exempt), those resolved since the last sweep, and every record to write.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub new: Vec<Finding>,
    pub resolved: Vec<Resolved>,
    pub writes: Vec<Record>,
    /// Written before the alert, to claim what it is about: each finding
    /// alerted as new, recorded open but not yet alerted, and each one
    /// alerted as resolved, as stored but with this run's read time. A
    /// claim the table refuses (a newer sweep wrote the record) drops the
    /// finding from the alert; a claim taken and an alert that then fails
    /// leave the record as it was, so the retried sweep alerts it again.
    pub claims: Vec<Record>,
    /// The fingerprints the table holds from a newer sweep than this one:
    /// left as they are, neither written nor alerted nor resolved.
    pub superseded: BTreeSet<String>,
}

impl Reconciled {
    /// Forgets what the table refused (`lost`: fingerprints a newer sweep
    /// wrote first): no alert, no write, nothing resolved for them.
    pub fn drop_superseded(&mut self, account: &str, region: &str, lost: &[String]) {
        if lost.is_empty() {
            return;
        }
        self.superseded.extend(lost.iter().cloned());
        let gone = &self.superseded;
        self.new.retain(|f| {
            let resource = f.resource.as_deref().unwrap_or_default();
            !gone.contains(&fingerprint(account, region, resource, f.rule, &f.detail))
        });
        self.resolved.retain(|r| {
            !gone.contains(&fingerprint(
                account,
                region,
                &r.resource,
                &r.rule,
                &r.detail,
            ))
        });
        self.writes.retain(|r| !gone.contains(&r.fingerprint));
        self.claims.retain(|r| !gone.contains(&r.fingerprint));
    }
}

/// Compares what the sweep sees in one place with what the table holds.
/// A finding already open is never alerted again. When the sweep could not
/// read everything (`complete` false), nothing is resolved: a denied or
/// throttled read is not evidence that a finding went away. `read_at` is
/// when this sweep started reading (epoch seconds): a record written from a
/// later read is a newer sweep's knowledge and is left alone.
#[allow(clippy::too_many_arguments)]
pub fn reconcile(
    account: &str,
    region: &str,
    seen: &[Seen],
    stored: Vec<Record>,
    complete: bool,
    alert_min: Severity,
    now: &str,
    read_at: i64,
) -> Reconciled {
    let mut out = Reconciled::default();
    let mut stored: BTreeMap<String, Record> = stored
        .into_iter()
        .filter(|r| {
            let newer = r.read_at > read_at;
            if newer {
                out.superseded.insert(r.fingerprint.clone());
            }
            !newer
        })
        .map(|r| (r.fingerprint.clone(), r))
        .collect();
    let mut done = BTreeSet::new();
    for s in seen {
        // The same finding twice (a variable repeated in one container) is
        // one record; one a newer sweep recorded is its to say.
        if out.superseded.contains(&s.fingerprint) || !done.insert(s.fingerprint.as_str()) {
            continue;
        }
        let status = if s.exempt {
            Status::Exempt
        } else {
            Status::Open
        };
        let before = stored.remove(&s.fingerprint);
        // Alerted once: unless it is open and was alerted already (a finding
        // below the threshold then, above it now, is alerted now).
        let alerted = before
            .as_ref()
            .is_some_and(|r| r.status == Status::Open && r.last_alert.is_some());
        let alert = status == Status::Open && !alerted && s.finding.severity >= alert_min;
        if alert {
            out.new.push(s.finding.clone());
        }
        let kept_since = before
            .as_ref()
            .filter(|r| r.status != Status::Resolved)
            .map(|r| r.first_seen.clone());
        let record = Record {
            fingerprint: s.fingerprint.clone(),
            account: account.to_string(),
            region: region.to_string(),
            resource: s.resource().to_string(),
            rule: s.finding.rule.to_string(),
            severity: s.finding.severity,
            title: s.finding.title.to_string(),
            detail: s.finding.detail.clone(),
            status,
            first_seen: kept_since.unwrap_or_else(|| now.to_string()),
            last_seen: now.to_string(),
            last_alert: if alert {
                Some(now.to_string())
            } else {
                before.and_then(|r| r.last_alert)
            },
            resolved_at: None,
            read_at,
        };
        if alert {
            out.claims.push(Record {
                last_alert: None,
                ..record.clone()
            });
        }
        out.writes.push(record);
    }
    if complete {
        for (_, mut gone) in stored {
            if gone.status == Status::Resolved {
                continue;
            }
            // Listed when it was alerted: what nobody was told of needs no all-clear.
            if gone.status == Status::Open && gone.last_alert.is_some() {
                out.claims.push(Record {
                    read_at,
                    ..gone.clone()
                });
                out.resolved.push(Resolved {
                    rule: gone.rule.clone(),
                    severity: gone.severity.as_str().to_string(),
                    resource: gone.resource.clone(),
                    detail: gone.detail.clone(),
                    first_seen: gone.first_seen.clone(),
                });
            }
            gone.status = Status::Resolved;
            gone.resolved_at = Some(now.to_string());
            gone.read_at = read_at;
            out.writes.push(gone);
        }
    }
    out.new
        .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(b.rule)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Action;

    fn finding(rule: &'static str, detail: &str) -> Finding {
        Finding {
            fields: Default::default(),
            resource: None,
            rule,
            severity: Severity::Critical,
            title: "SSH (22) open to the internet",
            detail: detail.to_string(),
            remediation: "Remove the rule.",
            action: Action::Revoke,
            target: None,
        }
    }

    fn seen(detail: &str) -> Seen {
        Seen::new(
            "111122223333",
            "eu-west-1",
            "sg-1",
            finding("EC2-SG-003", detail),
            false,
        )
    }

    fn sweep(seen: &[Seen], stored: Vec<Record>, complete: bool, now: &str) -> Reconciled {
        reconcile(
            "111122223333",
            "eu-west-1",
            seen,
            stored,
            complete,
            Severity::High,
            now,
            // `t3` read at 3.
            now.trim_start_matches('t').parse().unwrap(),
        )
    }

    #[test]
    fn the_fingerprint_is_stable_and_separates_its_parts() {
        let a = fingerprint("1", "r", "sg-1", "EC2-SG-003", "tcp 22");
        assert_eq!(a, fingerprint("1", "r", "sg-1", "EC2-SG-003", "tcp 22"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, fingerprint("1", "r", "sg-", "1EC2-SG-003", "tcp 22"));
        assert_ne!(a, fingerprint("1", "r", "sg-2", "EC2-SG-003", "tcp 22"));
    }

    #[test]
    fn new_once_then_quiet_then_resolved_once() {
        let now = [seen("tcp 22 from 0.0.0.0/0")];
        let first = sweep(&now, vec![], true, "t1");
        assert_eq!(first.new.len(), 1);
        assert_eq!(first.writes[0].status, Status::Open);
        assert_eq!(first.writes[0].last_alert.as_deref(), Some("t1"));

        let second = sweep(&now, first.writes.clone(), true, "t2");
        assert!(second.new.is_empty(), "unchanged: not alerted again");
        assert_eq!(second.writes[0].first_seen, "t1");
        assert_eq!(second.writes[0].last_seen, "t2");
        assert_eq!(second.writes[0].last_alert.as_deref(), Some("t1"));

        let third = sweep(&[], second.writes.clone(), true, "t3");
        assert_eq!(third.resolved.len(), 1);
        assert_eq!(third.resolved[0].first_seen, "t1");
        assert_eq!(third.writes[0].status, Status::Resolved);

        let fourth = sweep(&[], third.writes.clone(), true, "t4");
        assert!(fourth.resolved.is_empty(), "listed once");
        assert!(fourth.writes.is_empty());

        let back = sweep(&now, third.writes, true, "t5");
        assert_eq!(back.new.len(), 1, "open again: alerted again");
        assert_eq!(back.writes[0].first_seen, "t5");
    }

    #[test]
    fn an_incomplete_sweep_resolves_nothing() {
        let first = sweep(&[seen("tcp 22 from 0.0.0.0/0")], vec![], true, "t1");
        let partial = sweep(&[], first.writes.clone(), false, "t2");
        assert!(partial.resolved.is_empty());
        assert!(
            partial.writes.is_empty(),
            "the open record is left as it was"
        );
    }

    #[test]
    fn exempt_findings_are_kept_quietly_and_alert_when_the_exemption_ends() {
        let exempt = [Seen::new(
            "111122223333",
            "eu-west-1",
            "sg-1",
            finding("EC2-SG-003", "tcp 22 from 0.0.0.0/0"),
            true,
        )];
        let first = sweep(&exempt, vec![], true, "t1");
        assert!(first.new.is_empty());
        assert_eq!(first.writes[0].status, Status::Exempt);
        let ended = sweep(&[seen("tcp 22 from 0.0.0.0/0")], first.writes, true, "t2");
        assert_eq!(ended.new.len(), 1);
        assert_eq!(ended.writes[0].first_seen, "t1");
    }

    #[test]
    fn a_finding_twice_is_one_record_and_one_alert() {
        let twice = [seen("tcp 22 from 0.0.0.0/0"), seen("tcp 22 from 0.0.0.0/0")];
        let r = sweep(&twice, vec![], true, "t1");
        assert_eq!((r.new.len(), r.writes.len()), (1, 1));
    }

    #[test]
    fn a_finding_recorded_below_the_threshold_alerts_once_it_reaches_it() {
        let mut low = finding("EC2-SG-007", "tcp 8443 from 0.0.0.0/0");
        low.severity = Severity::Medium;
        let quiet = [Seen::new(
            "111122223333",
            "eu-west-1",
            "sg-1",
            low.clone(),
            false,
        )];
        let first = sweep(&quiet, vec![], true, "t1");
        assert!(first.new.is_empty());
        low.severity = Severity::High;
        let loud = [Seen::new("111122223333", "eu-west-1", "sg-1", low, false)];
        let second = sweep(&loud, first.writes, true, "t2");
        assert_eq!(second.new.len(), 1);
        assert_eq!(second.writes[0].first_seen, "t1");
    }

    #[test]
    fn below_the_threshold_is_recorded_not_alerted() {
        let mut low = finding("EC2-SG-007", "tcp 8443 from 0.0.0.0/0");
        low.severity = Severity::Medium;
        let s = [Seen::new("111122223333", "eu-west-1", "sg-1", low, false)];
        let r = sweep(&s, vec![], true, "t1");
        assert!(r.new.is_empty());
        assert_eq!(r.writes[0].status, Status::Open);
        assert_eq!(r.writes[0].last_alert, None);
    }

    #[test]
    fn what_a_newer_sweep_recorded_is_left_to_it() {
        let open = [seen("tcp 22 from 0.0.0.0/0")];
        let first = sweep(&open, vec![], true, "t1");
        // A newer sweep (read at 3) saw it gone and recorded it resolved.
        let newer = sweep(&[], first.writes.clone(), true, "t3");
        assert_eq!(newer.resolved.len(), 1);
        assert_eq!(newer.claims[0].read_at, 3, "claimed before the all-clear");
        assert_eq!(newer.claims[0].status, Status::Open);
        // An older one (read at 2) that still saw it open says nothing of it.
        let older = sweep(&open, newer.writes.clone(), true, "t2");
        assert!(older.new.is_empty() && older.writes.is_empty() && older.claims.is_empty());
        assert!(older.superseded.contains(&open[0].fingerprint));
        // Nor does an older one that saw it gone while the newer saw it open.
        let reopened = sweep(&open, newer.writes, true, "t4");
        let stale = sweep(&[], reopened.writes, true, "t3");
        assert!(stale.resolved.is_empty() && stale.writes.is_empty());
    }

    #[test]
    fn a_claim_records_the_finding_as_not_yet_alerted() {
        let open = [seen("tcp 22 from 0.0.0.0/0")];
        let mut first = sweep(&open, vec![], true, "t1");
        assert_eq!(first.claims.len(), 1);
        assert_eq!(first.claims[0].last_alert, None);
        // The alert failed after the claim: the retry alerts it again.
        let retry = sweep(&open, first.claims.clone(), true, "t1");
        assert_eq!(retry.new.len(), 1);
        // A lost claim drops the finding from the alert and the writes.
        first.drop_superseded("111122223333", "eu-west-1", &[open[0].fingerprint.clone()]);
        assert!(first.new.is_empty() && first.writes.is_empty() && first.claims.is_empty());
    }
}
