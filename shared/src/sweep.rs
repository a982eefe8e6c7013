//! The sweep (DESIGN §12): the current state of one place (account, region),
//! read with paginated calls, turned into the inputs the event path builds
//! and judged by the same rules; then reconciled with the state table so that
//! only what is new or resolved is alerted. The CLI's `scan` runs the same
//! sweep read-only, without the table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use time::Date;
use tracing::{info, warn};

use crate::finding::{Action, Finding, Severity};
use crate::guards::ingress::IngressGuard;
use crate::guards::task_definition as task_guard;
use crate::guards::{alert_if_due, GuardSettings};
use crate::model::cl::{ClusterChange, CONTAINER_INSIGHTS};
use crate::model::event::{Actor, Event};
use crate::model::svc::ServiceChange;
use crate::output::notify::{Attribute, Notification};
use crate::policy::Policy;
use crate::ports::estate::{Estate, Unread};
use crate::ports::{
    AccountLister, AwsError, EstateReader, IngressRemediator, Notifier, OrganizationUnits,
    SecurityGroups, StateStore,
};
use crate::report::plan::Plan;
use crate::report::{Report, SWEEP};
use crate::rules;
use crate::rules::ecs_cl::ClContext;
use crate::rules::ecs_svc::{Enrichment, SvcContext};
use crate::state::{place_key, reconcile, PlaceStatus, Record, Seen, Status};

/// Judges the estate with the event path's rules. Each security group is
/// judged as the live checks judge it (its current ingress rules), each
/// service as a creation of itself (with its groups' findings and its task
/// definition's, as service-guard joins them), each task definition as its
/// registration. Groups (or accounts) with an active exemption give exempt
/// findings; `ous` are the account's OUs (exemptions by OU).
pub fn judge(
    account: &str,
    region: &str,
    estate: &Estate,
    policy: &Policy,
    ous: &[String],
    today: Date,
) -> Vec<Seen> {
    let mut seen = Vec::new();
    let mut group_findings: BTreeMap<&str, Vec<Finding>> = BTreeMap::new();
    for group in &estate.groups {
        let id = group.info.group_id.as_str();
        let change = group.change(account);
        let findings = rules::evaluate_sg(&change, policy);
        let exempt = policy
            .exemption_for(Some(id), account, ous, &group.info.tags, today)
            .is_some_and(|e| e.is_active());
        for f in &findings {
            seen.push(Seen::new(account, region, id, f.clone(), exempt));
        }
        // What the services behind the group are exposed to: not where the
        // group sits or whom it trusts (a default group, a prefix list), nor
        // a wide source that is not the internet.
        let exposure = rules::ec2_sg::internet_exposure(findings);
        group_findings.insert(id, exposure);
    }
    let mut td_findings: BTreeMap<&str, (String, Vec<Finding>)> = BTreeMap::new();
    for (name, td) in &estate.task_definitions {
        let task_role = td
            .task_role_arn
            .as_ref()
            .and_then(|role| estate.task_roles.get(role));
        let findings = task_guard::assess_with(td, account, policy, task_role);
        for f in &findings {
            seen.push(Seen::new(account, region, &td.label(), f.clone(), false));
        }
        td_findings.insert(name.as_str(), (td.label(), findings));
    }
    let groups_unread: Vec<&Unread> = estate
        .unread
        .iter()
        .filter(|u| u.what.starts_with("DescribeSecurityGroup"))
        .collect();
    for cluster in &estate.clusters {
        let change = ClusterChange::Cluster {
            created: true,
            cluster: cluster.name.clone(),
            requested: cluster.settings.clone(),
            effective: cluster.settings.clone(),
        };
        judge_cluster(account, region, &change, policy, &mut seen);
    }
    for provider in &estate.capacity_providers {
        let change = ClusterChange::CapacityProvider {
            created: true,
            name: provider.name.clone(),
            termination_protection: provider.termination_protection,
            tags: None,
        };
        judge_cluster(account, region, &change, policy, &mut seen);
    }
    if let Some(value) = &estate.account_insights {
        // What was read is the effective setting of the reader's own
        // principal: the account default unless that principal has its own.
        let change = ClusterChange::AccountSetting {
            default: false,
            name: CONTAINER_INSIGHTS.to_string(),
            value: value.clone(),
            principal: Some(
                "the sweep's own role (the account default unless that role has its own)"
                    .to_string(),
            ),
        };
        judge_cluster(account, region, &change, policy, &mut seen);
    }
    // The capacity providers' groups: their instances are container instances.
    let provider_groups: Vec<crate::ports::ProviderGroup> = estate
        .capacity_providers
        .iter()
        .filter_map(|p| {
            let group = crate::ports::group_name(p.auto_scaling_group.as_deref()?)?;
            Some(crate::ports::ProviderGroup {
                provider: p.name.clone(),
                group: group.to_string(),
                template: None,
            })
        })
        .collect();
    for instance in &estate.instances {
        let mut change =
            crate::model::ci::InstanceChange::current(&instance.id, instance.settings.clone());
        change
            .auto_scaling_group
            .clone_from(&instance.auto_scaling_group);
        let mut exposure = crate::rules::ec2_ci::GroupExposure::default();
        for group_id in instance.settings.groups() {
            match group_findings.get(group_id.as_str()) {
                Some(findings) => exposure.groups.push((group_id.clone(), findings.clone())),
                None => exposure
                    .unchecked
                    .push((group_id.clone(), "not read".to_string())),
            }
        }
        let facts = crate::rules::ec2_ci::CiFacts {
            container_instance: instance
                .container_instance
                .clone()
                .or_else(|| crate::guards::instance::provider_evidence(&change, &provider_groups)),
            groups: Some(exposure),
            ..crate::rules::ec2_ci::CiFacts::default()
        };
        let context = crate::rules::ec2_ci::CiContext {
            policy,
            facts: &facts,
        };
        for f in rules::evaluate_ci(&change, &context) {
            seen.push(Seen::new(account, region, &change.resource(), f, false));
        }
    }
    for template in &estate.launch_templates {
        let change = crate::model::ci::InstanceChange {
            call: crate::model::ci::CiCall::CreateLaunchTemplateVersion,
            instance_ids: Vec::new(),
            template: Some(template.template.clone()),
            requested: template.settings.clone(),
            effective: template.settings.clone(),
            needs_template: None,
            auto_scaling_group: None,
        };
        let mut exposure = crate::rules::ec2_ci::GroupExposure::default();
        for group_id in template.settings.groups() {
            match group_findings.get(group_id.as_str()) {
                Some(findings) => exposure.groups.push((group_id.clone(), findings.clone())),
                None => exposure
                    .unchecked
                    .push((group_id.clone(), "not read".to_string())),
            }
        }
        let facts = crate::rules::ec2_ci::CiFacts {
            container_instance: Some(crate::rules::ec2_ci::Evidence(format!(
                "{} is used by {}",
                template.template, template.used_by
            ))),
            metadata_defaults: template.metadata_defaults.clone(),
            groups: Some(exposure),
            ..crate::rules::ec2_ci::CiFacts::default()
        };
        let context = crate::rules::ec2_ci::CiContext {
            policy,
            facts: &facts,
        };
        for f in rules::evaluate_ci(&change, &context) {
            seen.push(Seen::new(account, region, &change.resource(), f, false));
        }
    }
    let cluster_exec: BTreeMap<&str, &crate::model::cl::ExecConfiguration> = estate
        .clusters
        .iter()
        .filter_map(|c| c.settings.exec.as_ref().map(|e| (c.name.as_str(), e)))
        .collect();
    let deployed = estate.services.iter().flat_map(|service| {
        std::iter::once(ServiceChange::current(
            &service.cluster,
            &service.name,
            service.settings.clone(),
        ))
        .chain(service.task_sets.iter().map(|(id, settings)| {
            ServiceChange::current_task_set(&service.cluster, &service.name, id, settings.clone())
        }))
    });
    for change in deployed {
        let mut enrichment = Enrichment {
            task_definition: change
                .task_definition()
                .and_then(|name| td_findings.get(name).cloned()),
            cluster_exec: cluster_exec
                .get(change.cluster.as_str())
                .map(|exec| (change.cluster.clone(), (*exec).clone())),
            ..Enrichment::default()
        };
        for group_id in change.security_groups() {
            match group_findings.get(group_id.as_str()) {
                Some(findings) => enrichment.groups.push((group_id.clone(), findings.clone())),
                None => {
                    // Its own unread entry (not seen in the account), else
                    // the groups' read that failed.
                    let own = groups_unread
                        .iter()
                        .find(|u| u.what.contains(group_id.as_str()));
                    let why = match own.or(groups_unread.first()) {
                        Some(u) => u.error.code_or_kind(),
                        None => "not read".to_string(),
                    };
                    enrichment.unchecked_groups.push((group_id.clone(), why));
                }
            }
        }
        let findings = rules::evaluate_svc(
            &change,
            &SvcContext {
                policy,
                enrichment: Some(&enrichment),
            },
        );
        for f in findings {
            seen.push(Seen::new(account, region, &change.resource(), f, false));
        }
    }
    seen
}

/// The groups services name that the read of the account's groups did not
/// return, when that read succeeded: a shared VPC's group of another
/// account, or one deleted. Unknown, never "none": each is an unread entry
/// naming the group and the service, so the place is not complete and no
/// finding about the service's exposure is resolved on it.
pub fn unseen_groups(account: &str, estate: &Estate) -> Vec<Unread> {
    if estate
        .unread
        .iter()
        .any(|u| u.what.starts_with("DescribeSecurityGroup"))
    {
        // The groups' read failed: that failure is the reason already.
        return Vec::new();
    }
    let known: BTreeSet<&str> = estate
        .groups
        .iter()
        .map(|g| g.info.group_id.as_str())
        .collect();
    let mut named: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for service in &estate.services {
        let settings =
            std::iter::once(&service.settings).chain(service.task_sets.iter().map(|(_, s)| s));
        for s in settings {
            let groups = s
                .awsvpc
                .iter()
                .flat_map(|a| a.security_groups.iter().flatten());
            for group in groups.filter(|g| !known.contains(g.as_str())) {
                let by = named.entry(group.as_str()).or_default();
                let name = format!("{}/{}", service.cluster, service.name);
                if !by.contains(&name) {
                    by.push(name);
                }
            }
        }
    }
    named
        .into_iter()
        .map(|(group, services)| Unread {
            what: format!(
                "DescribeSecurityGroups ({group}, named by service {}: could not be read, {})",
                services.join(", "),
                crate::guards::service::not_visible(account)
            ),
            error: AwsError {
                operation: "DescribeSecurityGroups",
                code: Some("InvalidGroup.NotFound".to_string()),
                message: format!(
                    "{group} could not be read ({})",
                    crate::guards::service::not_visible(account)
                ),
                retryable: false,
            },
        })
        .collect()
}

/// Judges a cluster-level change as cluster-guard would.
fn judge_cluster(
    account: &str,
    region: &str,
    change: &ClusterChange,
    policy: &Policy,
    seen: &mut Vec<Seen>,
) {
    for f in rules::evaluate_cl(change, &ClContext { policy }) {
        seen.push(Seen::new(account, region, &change.resource(), f, false));
    }
}

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
        let unseen = unseen_groups(self.account, &estate);
        estate.unread.extend(unseen);
        let ous = self.ous(&mut estate).await?;
        let seen = judge(
            self.account,
            self.region,
            &estate,
            self.policy,
            &ous,
            self.today,
        );
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

/// One unit of the sweep's work: a place, and the run it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WorkItem {
    pub account: String,
    pub region: String,
    pub run: String,
}

/// The places a sweep covers: the function's own account and region, or
/// every account and region of `[organization]` (with `accounts = "*"`, the
/// organization's active accounts, listed through `accounts`).
pub async fn places(
    policy: &Policy,
    home_account: &str,
    home_region: &str,
    accounts: &dyn AccountLister,
) -> Result<Vec<(String, String)>, AwsError> {
    let Some(org) = &policy.organization else {
        return Ok(vec![(home_account.to_string(), home_region.to_string())]);
    };
    let listed = match &org.accounts {
        crate::policy::AccountScope::Listed(list) => list.clone(),
        crate::policy::AccountScope::Organization(_) => accounts.accounts().await?,
    };
    let mut out = Vec::new();
    for account in &listed {
        for region in &org.regions {
            out.push((account.clone(), region.clone()));
        }
    }
    Ok(out)
}

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
        let text = self.text();
        let json = serde_json::to_string(self).unwrap_or_default();
        let message = serde_json::json!({
            "default": text, "email": text, "sqs": json, "lambda": json, "https": json,
        })
        .to_string();
        Notification {
            subject: self.subject(),
            message,
            attributes: vec![
                Attribute {
                    name: "severity",
                    data_type: "String",
                    value: self.top().map_or("info", Severity::as_str).to_string(),
                },
                Attribute {
                    name: "action",
                    data_type: "String",
                    value: "summary".to_string(),
                },
            ],
            verdict_included: true,
        }
    }
}

#[cfg(test)]
mod tests;
