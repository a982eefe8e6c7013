//! The ingress guard: parse ▶ evaluate ▶ plan ▶ act ▶ report for
//! security-group ingress events. [`assess`] is the pure part the CLI runs
//! offline; [`IngressGuard::handle`] adds what only AWS can tell and does.

use time::Date;
use tracing::{info, warn};

use crate::event::Event;
use crate::finding::Finding;
use crate::json::FieldError;
use crate::notify::Notification;
use crate::plan::Plan;
use crate::policy::Policy;
use crate::ports::{AwsError, IngressRemediator, Notifier, RevokeTarget, Revoked, SecurityGroups};
use crate::report::{Outcome, OutcomeKind, Report};
use crate::rules;
use crate::net::Source;
use crate::sg::{ChangeKind, Direction, SgChange, SgRule};

/// Error codes after which the call changed nothing but the rule exists anyway.
const DUPLICATE_CODES: [&str; 2] = ["Client.InvalidPermission.Duplicate", "InvalidPermission.Duplicate"];

/// Why an event is not evaluated, or `None` when it is.
pub fn skip_reason(event: &Event) -> Option<String> {
    match &event.error_code {
        Some(code) if !DUPLICATE_CODES.contains(&code.as_str()) => Some(format!("failed call: {code}")),
        _ => None,
    }
}

/// Findings and plan for a change, from the event and the policy alone.
pub fn assess(change: &SgChange, policy: &Policy) -> (Vec<Finding>, Option<Plan>) {
    let findings = rules::evaluate_sg(change, policy);
    let plan = Plan::for_change(change, &findings, policy);
    (findings, plan)
}

/// The offline verdict (CLI): what the Lambda would find and plan, with no AWS call.
pub fn evaluate_offline(event: &Event, policy: &Policy, today: Date) -> Result<Report, FieldError> {
    if let Some(reason) = skip_reason(event) {
        return Ok(Report::skipped(event, reason));
    }
    let Some(change) = SgChange::from_event(event)? else {
        return Ok(Report::skipped(event, format!("not handled: {}", event.name)));
    };
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    let (findings, plan) = assess(&change, policy);
    report.findings = findings;
    if let Some(plan) = plan {
        report.plan = plan.steps();
    }
    report.exemption = policy.exemption_for(change.group_id.as_deref(), &event.account, &[], today);
    if event.error_code.is_some() {
        report
            .notes
            .push("the rule already existed (duplicate): the Lambda re-reads the group's rules".to_string());
    }
    if change.kind == ChangeKind::Modify && !report.plan.is_empty() {
        report.notes.push(
            "ModifySecurityGroupRules does not say ingress or egress: the Lambda verifies it with DescribeSecurityGroupRules"
                .to_string(),
        );
    }
    Ok(report)
}

/// Why the handler failed. Retryable failures make Lambda retry the event;
/// every step is idempotent, so a retry does no harm.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("event {event_id}: {field}")]
    Parse { event_id: String, field: FieldError },
    #[error("event {event_id}: {source}")]
    Aws {
        event_id: String,
        #[source]
        source: AwsError,
    },
}

/// Settings of the ingress guard that are not policy.
#[derive(Debug, Clone, Default)]
pub struct GuardSettings {
    /// The role the guard itself runs as: events it caused are ignored (by role ARN, never session name).
    pub own_role_arn: Option<String>,
}

/// The ingress guard with its ports.
pub struct IngressGuard<'a> {
    pub groups: &'a dyn SecurityGroups,
    pub remediator: &'a dyn IngressRemediator,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl IngressGuard<'_> {
    /// Handles one event end to end and returns the report that was published (if any).
    pub async fn handle(&self, event: &Event, today: Date) -> Result<Report, GuardError> {
        let aws = |source: AwsError| GuardError::Aws {
            event_id: event.id.clone(),
            source,
        };
        if let Some(reason) = skip_reason(event) {
            info!(event_id = %event.id, reason = %reason, "skipped");
            return Ok(Report::skipped(event, reason));
        }
        if self.is_own_call(event) {
            info!(event_id = %event.id, "skipped: the guard's own call");
            return Ok(Report::skipped(event, "own call: made by the guard's role"));
        }
        let change = match SgChange::from_event(event) {
            Ok(Some(change)) => change,
            Ok(None) => return Ok(Report::skipped(event, format!("not handled: {}", event.name))),
            Err(field) => {
                return Err(GuardError::Parse {
                    event_id: event.id.clone(),
                    field,
                })
            }
        };
        let mut report = Report::for_event(event);
        report.resource = Some(change.resource());
        let change = self.complete(event, change, &mut report).await.map_err(aws)?;

        let (findings, plan) = assess(&change, self.policy);
        report.findings = findings;
        for f in &report.findings {
            info!(event_id = %event.id, rule = f.rule, severity = %f.severity, detail = %f.detail, "finding");
        }
        if let Some(plan) = plan {
            report.plan = plan.steps();
            self.act(event, &plan, &mut report, today).await.map_err(aws)?;
        }
        if report.should_notify(self.policy.notify_min_severity) {
            let notification = Notification::render(&report);
            self.notifier.publish(&notification).await.map_err(aws)?;
            info!(event_id = %event.id, subject = %notification.subject, "notified");
        }
        Ok(report)
    }

    fn is_own_call(&self, event: &Event) -> bool {
        let Some(own) = &self.settings.own_role_arn else {
            return false;
        };
        [&event.actor.issuer_arn, &event.actor.arn]
            .into_iter()
            .flatten()
            .any(|arn| arn == own)
    }

    /// Fills in what the record cannot say, from the group's stored rules: the
    /// direction of modified rules, the stored source behind an unparseable
    /// CIDR, and the rule ids of older records and duplicate calls.
    async fn complete(&self, event: &Event, mut change: SgChange, report: &mut Report) -> Result<SgChange, AwsError> {
        let Some(group_id) = change.group_id.clone() else {
            report.notes.push("the event names no group id: nothing can be revoked".to_string());
            return Ok(change);
        };
        let needs_lookup = |r: &SgRule| {
            r.rule_id.is_none() || r.direction == Direction::Unverified || matches!(r.source, Source::Unparsed(_))
        };
        if !change.rules.iter().any(needs_lookup) {
            return Ok(change);
        }
        let stored = self.groups.rules_of_group(&group_id).await?;
        if event.error_code.is_some() {
            report
                .notes
                .push("the rule already existed (duplicate call): judged the stored rule".to_string());
        }
        for rule in change.rules.iter_mut().filter(|r| needs_lookup(r)) {
            let found = match &rule.rule_id {
                Some(id) => stored.iter().find(|s| s.rule_id.as_deref() == Some(id.as_str())),
                None => stored
                    .iter()
                    .find(|s| s.direction == Direction::Ingress && same_permission(s, rule)),
            };
            match found {
                Some(s) => {
                    rule.rule_id = s.rule_id.clone();
                    rule.direction = s.direction;
                    if matches!(rule.source, Source::Unparsed(_)) {
                        rule.source = s.source.clone();
                    }
                }
                None if rule.direction == Direction::Unverified => {
                    // Gone already; without its direction it is never revoked.
                    report.notes.push(format!("{rule} no longer exists"));
                    rule.direction = Direction::Egress;
                }
                None => {}
            }
        }
        change.rules.retain(|r| r.direction != Direction::Egress);
        Ok(change)
    }

    /// Carries out the plan, reporting one outcome per rule.
    async fn act(&self, event: &Event, plan: &Plan, report: &mut Report, today: Date) -> Result<(), AwsError> {
        let group = match self.groups.group(&plan.group_id).await {
            Ok(group) => group,
            Err(e) if e.retryable => return Err(e),
            Err(e) => {
                // Without the tags we cannot know the group is not exempt: revoke nothing.
                warn!(event_id = %event.id, group_id = %plan.group_id, error = %e, "cannot read the group");
                report.notes.push(format!("could not read the group's tags: {}", e.code_or_kind()));
                for r in &plan.revocations {
                    report.outcomes.push(outcome(r.label(), OutcomeKind::Failed, Some(e.code_or_kind())));
                }
                return Ok(());
            }
        };
        let Some(group) = group else {
            for r in &plan.revocations {
                report.outcomes.push(outcome(r.label(), OutcomeKind::AlreadyAbsent, None));
            }
            report.notes.push(format!("{} no longer exists", plan.group_id));
            return Ok(());
        };
        report.exemption = self
            .policy
            .exemption_for(Some(&group.group_id), &event.account, &group.tags, today);
        let exempt = report.exemption.as_ref().is_some_and(|e| e.is_active());

        for r in &plan.revocations {
            let label = r.label();
            let kind = if exempt {
                OutcomeKind::Exempt
            } else if self.policy.dry_run {
                OutcomeKind::DryRun
            } else {
                let target = match &r.rule.rule_id {
                    Some(id) => RevokeTarget::RuleId(id),
                    None => RevokeTarget::Permission(&r.rule),
                };
                match self.remediator.revoke_ingress(&plan.group_id, target).await {
                    Ok(Revoked::Revoked) => OutcomeKind::Revoked,
                    Ok(Revoked::AlreadyAbsent) => OutcomeKind::AlreadyAbsent,
                    Err(e) if e.retryable => return Err(e),
                    Err(e) => {
                        warn!(event_id = %event.id, group_id = %plan.group_id, rule_id = %label, error = %e, "revoke failed");
                        report.outcomes.push(outcome(label, OutcomeKind::Failed, Some(e.code_or_kind())));
                        continue;
                    }
                }
            };
            info!(event_id = %event.id, group_id = %plan.group_id, rule_id = %label, outcome = ?kind, "outcome");
            report.outcomes.push(outcome(label, kind, None));
        }
        for r in &plan.held_back {
            report.outcomes.push(outcome(r.label(), OutcomeKind::HeldBack, None));
        }
        Ok(())
    }
}

fn outcome(rule_id: String, result: OutcomeKind, error_code: Option<String>) -> Outcome {
    Outcome {
        rule_id,
        result,
        error_code,
    }
}

/// Same protocol, ports and source: the stored rule a request asked for.
fn same_permission(stored: &SgRule, wanted: &SgRule) -> bool {
    stored.protocol == wanted.protocol
        && stored.source == wanted.source
        && (stored.protocol.is_all_traffic() || stored.ports() == wanted.ports())
}
