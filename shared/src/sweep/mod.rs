//! The sweep (DESIGN §12): the current state of one place (account, region),
//! read with paginated calls, turned into the inputs the event path builds
//! and judged by the same rules; then reconciled with the state table so that
//! only what is new or resolved is alerted. The CLI's `scan` runs the same
//! sweep read-only, without the table.
//!
//! Layer: guards (with `guards`). May import the ports and every layer
//! below.

use std::collections::BTreeSet;

use time::Date;
use tracing::{info, warn};

use crate::finding::Action;
use crate::guards::ingress::IngressGuard;
use crate::guards::{alert_if_due, GuardSettings};
use crate::model::event::{Actor, Event};
use crate::output::notify::Notification;
use crate::policy::Policy;
use crate::ports::estate::{Estate, Unread};
use crate::ports::{
    AwsError, EstateReader, Iam, IngressRemediator, Instances, Notifier, OrganizationUnits,
    SecurityGroups, StateStore,
};
use crate::report::plan::Plan;
use crate::report::{Report, SWEEP};
use crate::rules;
use crate::state::{place_key, reconcile, PlaceStatus, Record, Seen, Status};

mod complete;
mod judge;
mod network;
mod paths;
mod summary;
mod work;

pub use complete::principals as complete_principals;
pub use judge::{judge, unseen_groups};
pub use summary::{OldFinding, Summary, OLDEST_LISTED};
pub use work::{places, WorkItem};

/// One sweep of one place: what it found, what it alerted, what it could not read.
#[derive(Debug, Clone)]
pub struct PlaceResult {
    /// The verdict, as published (when there was anything to say).
    pub report: Report,
    /// Every finding present now.
    pub seen: Vec<Seen>,
    pub unread: Vec<Unread>,
    pub groups: usize,
    pub services: usize,
    pub task_definitions: usize,
    pub api_calls: usize,
    /// Why the place was not swept (another sweep of it was running).
    pub skipped: Option<String>,
    /// The access map of the place (DESIGN §15): one document per service
    /// and container instance.
    pub map: Vec<crate::report::map::MapDocument>,
    /// How long computing the map took (what it adds to the reads).
    pub map_time: std::time::Duration,
}

impl PlaceResult {
    fn skipped(report: Report, why: &str) -> PlaceResult {
        PlaceResult {
            report,
            seen: Vec::new(),
            unread: Vec::new(),
            groups: 0,
            services: 0,
            task_definitions: 0,
            api_calls: 0,
            skipped: Some(why.to_string()),
            map: Vec::new(),
            map_time: std::time::Duration::ZERO,
        }
    }
}

/// What the sweep may revoke with (`[sweep] revoke = true`).
pub struct Remediation<'a> {
    pub groups: &'a dyn SecurityGroups,
    pub remediator: &'a dyn IngressRemediator,
}

/// The sweep of one place with its ports.
pub struct PlaceSweep<'a> {
    pub account: &'a str,
    pub region: &'a str,
    /// Identifies the sweep run (its start, RFC 3339) in event ids.
    pub run: &'a str,
    pub estate: &'a dyn EstateReader,
    /// What the sweep completes the estate with: container instances and
    /// task roles (IAM), launch templates' metadata defaults (EC2).
    pub iam: &'a dyn Iam,
    pub instances: &'a dyn Instances,
    /// `None`: read-only (the CLI) — everything present is reported.
    pub state: Option<&'a dyn StateStore>,
    pub notifier: Option<&'a dyn Notifier>,
    pub organizations: Option<&'a dyn OrganizationUnits>,
    pub remediation: Option<Remediation<'a>>,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
    /// RFC 3339.
    pub now: &'a str,
    pub today: Date,
}

/// How long a sweep holds its place's lease (seconds): longer than the
/// function may run (Lambda's limit, 900 s, which the module's
/// `sweep_timeout_seconds` cannot exceed), so a lease outlives its sweep
/// only when that sweep crashed, and then frees the place by itself.
pub const LEASE_SECONDS: i64 = 960;

/// Who holds a lease: the run, the sweep's start, and a value drawn per
/// sweep, so that two deliveries of one work item are two holders.
fn lease_holder(run: &str, now: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("{run} {now} {:016x}", hasher.finish())
}

impl PlaceSweep<'_> {
    /// Reads, judges, reconciles with the table, revokes if allowed, alerts,
    /// and records the place's status. With the table, one sweep of a place
    /// at a time (DESIGN §7.16): the sweep first takes the place's lease; a
    /// sweep that cannot take it ends quietly (`skipped`), alerting and
    /// writing nothing. An error (the table, SNS, throttling) fails the work
    /// item, which is retried: nothing unchanged is alerted twice, because
    /// what an alert is about is recorded as alerted only after it went out.
    pub async fn run(&self) -> Result<PlaceResult, AwsError> {
        let Some(state) = self.state else {
            return self.sweep(None).await;
        };
        let read_at = crate::state::epoch_seconds(self.now).ok_or_else(|| AwsError {
            operation: "Sweep",
            code: Some("BadTime".to_string()),
            message: format!("the sweep's time {:?} is not RFC 3339", self.now),
            retryable: false,
        })?;
        let holder = lease_holder(self.run, self.now);
        if !state
            .take_lease(
                self.account,
                self.region,
                &holder,
                read_at,
                read_at + LEASE_SECONDS,
            )
            .await?
        {
            info!(account = %self.account, region = %self.region, run = %self.run,
                "another sweep of this place holds its lease: not swept now");
            return Ok(PlaceResult::skipped(
                self.report(),
                "another sweep of this place is running (it holds the place's lease)",
            ));
        }
        let result = self.sweep(Some((state, read_at))).await;
        match state
            .release_lease(self.account, self.region, &holder)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                warn!(account = %self.account, region = %self.region, "the lease expired during the sweep and another sweep took it");
            }
            // It expires by itself.
            Err(e) => {
                warn!(account = %self.account, region = %self.region, error = %e, "cannot release the lease");
            }
        }
        result
    }

    async fn sweep(&self, table: Option<(&dyn StateStore, i64)>) -> Result<PlaceResult, AwsError> {
        let mut estate = self.estate.read().await;
        complete::complete(&mut estate, self.iam, self.instances).await;
        let unseen = unseen_groups(self.account, &estate);
        estate.unread.extend(unseen);
        let ous = self.ous(&mut estate).await?;
        let mut seen = judge(
            self.account,
            self.region,
            &estate,
            self.policy,
            &ous,
            self.today,
        );
        let mapping = std::time::Instant::now();
        let map = crate::map::access_map(self.account, self.region, &estate, self.policy);
        let map_time = mapping.elapsed();
        if table.is_some() {
            // The map in the state table: each way in recorded, alerted
            // when it opens, resolved when it closes (DESIGN §15).
            for doc in &map {
                for f in doc.path_findings() {
                    seen.push(Seen::new(
                        self.account,
                        self.region,
                        &doc.target.id,
                        f,
                        false,
                    ));
                }
            }
        }
        let mut report = self.report();
        let mut reconciled = match table {
            Some((state, read_at)) => {
                let stored = state.findings(self.account, self.region).await?;
                let r = reconcile(
                    self.account,
                    self.region,
                    &seen,
                    stored,
                    estate.complete(),
                    self.policy.notify_min_severity,
                    self.now,
                    read_at,
                );
                if !r.superseded.is_empty() {
                    info!(account = %self.account, region = %self.region, superseded = r.superseded.len(),
                        "findings recorded by a newer sweep are left to it");
                }
                report.findings.clone_from(&r.new);
                report.resolved.clone_from(&r.resolved);
                r
            }
            None => {
                // Read-only (the CLI): what is present, exempt findings counted apart.
                let exempt = seen.iter().filter(|s| s.exempt).count();
                if exempt > 0 {
                    report.notes.push(format!(
                        "{exempt} findings on exempt groups or accounts are not listed"
                    ));
                }
                report.findings = seen
                    .iter()
                    .filter(|s| !s.exempt)
                    .map(|s| s.finding.clone())
                    .collect();
                report
                    .findings
                    .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(b.rule)));
                crate::state::Reconciled::default()
            }
        };
        report.resource = Some(resource_phrase(&report, self.account, self.region));
        if let Some(remediation) = &self.remediation {
            if let Err(e) = self.revoke(remediation, &estate, &seen, &mut report).await {
                // What was revoked before the error is reported now; the rest
                // waits for the next sweep (each rule is read back again then).
                warn!(account = %self.account, region = %self.region, error = %e, "revoking stopped");
                report.notes.push(format!(
                    "revoking stopped: {}: the rest is left for the next sweep",
                    e.code_or_kind()
                ));
            }
        }
        for u in &estate.unread {
            warn!(account = %self.account, region = %self.region, what = %u.what, error = %u.error, "could not read");
            report.notes.push(format!(
                "could not read {}: nothing there was resolved this sweep",
                u.phrase()
            ));
        }
        // Every write is conditional on this sweep's read time: what a newer
        // sweep recorded meanwhile is its to say, never alerted, resolved
        // or overwritten here. Nothing revoked: claim what the alert is
        // about, alert, then record (a failed alert is retried and still
        // finds the findings new). Something revoked: record first, so that
        // a retry after a failed alert finds the revoked findings in the
        // table and lists them as resolved instead of forgetting them.
        let revoked = report
            .outcomes
            .iter()
            .any(|o| o.result == crate::report::OutcomeKind::Revoked);
        if let Some((state, _)) = table {
            let first = if revoked {
                reconciled.writes.clone()
            } else {
                std::mem::take(&mut reconciled.claims)
            };
            let lost = state.save(&first).await?;
            self.forget(&mut reconciled, &mut report, &lost);
        }
        let mut alerted = false;
        if let Some(notifier) = self.notifier.filter(|_| worth_a_message(&report)) {
            alerted = alert_if_due(&mut report, self.policy, self.settings, notifier).await?;
        }
        if let (Some((state, _)), false) = (table, revoked) {
            let lost = state.save(&reconciled.writes).await?;
            if !lost.is_empty() {
                // Overtaken between the claim and now: the sinks say nothing
                // of these either.
                warn!(account = %self.account, region = %self.region, lost = lost.len(),
                    "a newer sweep recorded findings after this one claimed them");
            }
            reconciled.drop_superseded(self.account, self.region, &lost);
        }
        if let Some(notifier) = self.notifier {
            // The sinks (DESIGN §13): Security Hub gets every finding present
            // and every one resolved now, chat the alert when it went out.
            let present: Vec<Seen> = seen
                .iter()
                .filter(|s| !reconciled.superseded.contains(&s.fingerprint))
                .cloned()
                .collect();
            let findings = self.findings_view(&report, &present, &reconciled.writes);
            notifier
                .deliver(&findings, alerted.then_some(&report))
                .await;
        }
        if let Some((state, read_at)) = table {
            let kept = state
                .save_status(&PlaceStatus {
                    account: self.account.to_string(),
                    region: self.region.to_string(),
                    swept_at: self.now.to_string(),
                    complete: estate.complete(),
                    problems: estate.unread.iter().map(Unread::phrase).collect(),
                    read_at,
                })
                .await?;
            if !kept {
                info!(account = %self.account, region = %self.region, "a newer sweep's status of this place is kept");
            }
        }
        info!(account = %self.account, region = %self.region, groups = estate.groups.len(),
            services = estate.services.len(), findings = seen.len(), new = report.findings.len(),
            resolved = report.resolved.len(), unread = estate.unread.len(), api_calls = estate.api_calls, "swept");
        Ok(PlaceResult {
            map,
            map_time,
            report,
            groups: estate.groups.len(),
            services: estate.services.len(),
            task_definitions: estate.task_definitions.len(),
            api_calls: estate.api_calls,
            seen,
            unread: estate.unread,
            skipped: None,
        })
    }

    /// Drops from the alert what the table refused: a newer sweep recorded
    /// it first and knows better.
    fn forget(
        &self,
        reconciled: &mut crate::state::Reconciled,
        report: &mut Report,
        lost: &[String],
    ) {
        if lost.is_empty() {
            return;
        }
        info!(account = %self.account, region = %self.region, lost = lost.len(),
            "findings a newer sweep recorded first are not alerted by this one");
        reconciled.drop_superseded(self.account, self.region, lost);
        report.findings.clone_from(&reconciled.new);
        report.resolved.clone_from(&reconciled.resolved);
        report.resource = Some(resource_phrase(report, self.account, self.region));
    }

    /// The account's OUs when the policy exempts by OU. When they cannot be
    /// read, no group counts as exempt by OU (alerting is the safe side) and
    /// nothing is revoked (the sweep cannot know the account is not exempt).
    async fn ous(&self, estate: &mut Estate) -> Result<Vec<String>, AwsError> {
        if !self.policy.has_ou_exemptions() {
            return Ok(Vec::new());
        }
        let read = match self.organizations {
            Some(o) => o.ous_of(self.account).await,
            None => Err(AwsError {
                operation: "ListParents",
                code: Some("NoOrganizationsClient".to_string()),
                message: "this sweep cannot read OUs".to_string(),
                retryable: false,
            }),
        };
        match read {
            Ok(ous) => Ok(ous),
            Err(e) if e.retryable => Err(e),
            Err(e) => {
                estate.unread.push(Unread {
                    what: format!("ListParents (account {})", self.account),
                    error: e,
                });
                Ok(Vec::new())
            }
        }
    }

    /// What the findings store (Security Hub) records of this sweep: every
    /// finding present (exempt ones aside), whatever the alert threshold, and
    /// every finding resolved now (alerted or not: the store may hold it),
    /// with what was revoked.
    fn findings_view(&self, report: &Report, seen: &[Seen], writes: &[Record]) -> Report {
        let mut view = report.clone();
        // CreatedAt: when the sweep first saw it, not this run.
        view.first_seen = writes
            .iter()
            .map(|r| (r.fingerprint.clone(), r.first_seen.clone()))
            .collect();
        view.findings = seen
            .iter()
            .filter(|s| !s.exempt)
            .map(|s| s.finding.clone())
            .collect();
        if self.state.is_some() {
            view.resolved = writes
                .iter()
                .filter(|r| {
                    r.status == Status::Resolved && r.resolved_at.as_deref() == Some(self.now)
                })
                .map(|r| crate::report::Resolved {
                    rule: r.rule.clone(),
                    severity: r.severity.as_str().to_string(),
                    resource: r.resource.clone(),
                    detail: r.detail.clone(),
                    first_seen: r.first_seen.clone(),
                })
                .collect();
        }
        view
    }

    fn report(&self) -> Report {
        let mut report = Report::for_event(&self.event());
        report.notes.push(
            "found by the scheduled sweep of the current state: who made the change is not known (no event was seen for it, or it predates the guard)"
                .to_string(),
        );
        report
    }

    /// The sweep as an event, for reports and logs.
    fn event(&self) -> Event {
        Event {
            origin: "sweep".to_string(),
            id: format!("sweep-{}-{}-{}", self.run, self.account, self.region),
            name: SWEEP.to_string(),
            source: "access-guard".to_string(),
            time: self.now.to_string(),
            account: self.account.to_string(),
            region: self.region.to_string(),
            actor: Actor::default(),
            source_ip: None,
            user_agent: None,
            error_code: None,
            envelope_conflict: None,
            request: serde_json::Value::Null,
            response: serde_json::Value::Null,
        }
    }

    /// Revokes what breaks a `revoke` rule in groups that are not exempt, as
    /// ingress-guard does (tags and exemptions read again, every rule read
    /// back right before its revoke, dry run honoured), at most
    /// `max_revocations_per_run` rules; the rest are held back and reported.
    async fn revoke(
        &self,
        remediation: &Remediation<'_>,
        estate: &Estate,
        seen: &[Seen],
        report: &mut Report,
    ) -> Result<(), AwsError> {
        if !self.policy.sweep.revoke {
            return Ok(());
        }
        let offending: BTreeSet<&str> = seen
            .iter()
            .filter(|s| !s.exempt && s.finding.action == Action::Revoke)
            .map(Seen::resource)
            .collect();
        let mut budget = self.policy.sweep.max_revocations_per_run;
        let mut held_back = 0;
        let event = self.event();
        let guard = IngressGuard {
            groups: remediation.groups,
            organizations: self.organizations,
            remediator: remediation.remediator,
            revocations: None,
            notifier: &NoNotifier,
            policy: self.policy,
            settings: self.settings,
            deadline: None,
            visibility: None,
            // The sweep alerts on its own: no path lines here.
            vpcs: None,
            services: None,
            iam: None,
        };
        for group in estate
            .groups
            .iter()
            .filter(|g| offending.contains(g.info.group_id.as_str()))
        {
            let change = group.change(self.account);
            let findings = rules::evaluate_sg(&change, self.policy);
            let Some(mut plan) = Plan::for_change(&change, &findings, self.policy) else {
                continue;
            };
            if plan.revocations.len() > budget {
                let over = plan.revocations.split_off(budget);
                plan.held_back.splice(0..0, over);
            }
            budget -= plan.revocations.len();
            held_back += plan.held_back.len();
            report.plan.extend(plan.steps());
            if plan.revocations.is_empty() {
                report
                    .outcomes
                    .extend(plan.held_back.iter().map(|r| crate::report::Outcome {
                        restore: Default::default(),
                        rule_id: r.label(),
                        result: crate::report::OutcomeKind::HeldBack,
                        error_code: None,
                        earlier_attempt: false,
                    }));
                continue;
            }
            let mut part = Report::for_event(&event);
            guard.act(&event, &plan, &mut part, self.today).await?;
            report.outcomes.extend(part.outcomes);
            report.notes.extend(part.notes);
        }
        if held_back > 0 {
            report.notes.push(format!(
                "{held_back} rules held back (max_revocations_per_run {} or max_revocations_per_event): left for the next sweep",
                self.policy.sweep.max_revocations_per_run
            ));
        }
        Ok(())
    }
}

/// A sweep's message says what changed: new findings, resolved ones, or a
/// rule revoked (or a revoke that failed). A rule the sweep would revoke in
/// dry run, or holds back, is said once, with its finding when it is new:
/// nothing unchanged is alerted again.
fn worth_a_message(report: &Report) -> bool {
    use crate::report::OutcomeKind::{Failed, Revoked};
    !report.findings.is_empty()
        || !report.resolved.is_empty()
        || report
            .outcomes
            .iter()
            .any(|o| matches!(o.result, Revoked | Failed))
}

/// The act step publishes nothing: the sweep's report carries its outcomes.
struct NoNotifier;

#[async_trait::async_trait]
impl Notifier for NoNotifier {
    async fn publish(&self, _: &Notification) -> Result<(), AwsError> {
        Ok(())
    }
}

/// The resource a sweep's message is about: the one resource, or how many.
fn resource_phrase(report: &Report, account: &str, region: &str) -> String {
    let resources: BTreeSet<&str> = report
        .findings
        .iter()
        .filter_map(|f| f.resource.as_deref())
        .chain(report.resolved.iter().map(|r| r.resource.as_str()))
        .collect();
    match resources.len() {
        1 => resources.into_iter().next().unwrap_or_default().to_string(),
        n => format!("{n} resources in {}", place_key(account, region)),
    }
}

#[cfg(test)]
mod tests;
