//! The service guard's verdict and its lines: the findings, who started
//! standalone tasks, the reach line, and the offline verdict (what the event
//! shows, and what needs AWS).

use crate::guards::failed_call;
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::model::svc::{ServiceChange, Subject};
use crate::model::td::TaskDefinition;
use crate::policy::Policy;
use crate::report::Report;
use crate::rules;
use crate::rules::ecs_svc::{Enrichment, SvcContext};
use crate::rules::ecs_td::is_root_user;

use super::bypass::bypass_unknown;

/// What the offline verdict cannot judge.
pub const NEEDS_AWS: &str = "ECS-SVC-004 (the groups' live rules) and ECS-SVC-005 (the deployed task definition) need AWS: the Lambda checks them";

/// What the offline verdict cannot judge when the call turns ECS Exec on.
pub const NEEDS_AWS_EXEC: &str =
    "ECS-SVC-012 (the cluster's exec session logging and encryption) needs AWS: the Lambda reads the cluster";
/// True when the call turns ECS Exec on: the cluster's Exec configuration
/// decides ECS-SVC-012.
pub(super) fn turns_exec_on(change: &ServiceChange) -> bool {
    change.set_by_call().enable_execute_command == Some(true)
}
/// Who started standalone tasks, when it is not a person's call: the AWS
/// service that invoked RunTask (EventBridge, Step Functions, Batch) and the
/// `startedBy` it gave.
pub(super) fn started_by(event: &Event, change: &ServiceChange) -> Option<String> {
    if change.subject != Subject::Task {
        return None;
    }
    let invoked = event.actor.invoked_by.as_deref().map(|by| {
        let who = match by {
            "events.amazonaws.com" => "EventBridge (events.amazonaws.com)".to_string(),
            "states.amazonaws.com" => "Step Functions (states.amazonaws.com)".to_string(),
            "batch.amazonaws.com" => "AWS Batch (batch.amazonaws.com)".to_string(),
            "scheduler.amazonaws.com" => {
                "EventBridge Scheduler (scheduler.amazonaws.com)".to_string()
            }
            other => other.to_string(),
        };
        format!("invoked by {who}")
    });
    let tag = change
        .started_by
        .as_deref()
        .map(|s| format!("startedBy {s}"));
    match (invoked, tag) {
        (None, None) => None,
        (a, b) => Some(format!(
            "{} {}",
            event.name,
            [a, b].into_iter().flatten().collect::<Vec<_>>().join(", ")
        )),
    }
}
pub(super) fn report_for(
    event: &Event,
    change: &ServiceChange,
    policy: &Policy,
    enrichment: Option<&Enrichment>,
) -> Report {
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    report.location.cluster = Some(change.cluster.clone()).filter(|c| !c.is_empty());
    report.findings = rules::evaluate_svc(change, &SvcContext { policy, enrichment });
    report
}
/// The offline verdict (CLI): only what the event shows.
pub fn evaluate_offline(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    if let Some(reason) = failed_call(event, &[]) {
        return Ok(Report::skipped(event, reason));
    }
    let Some(change) = ServiceChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let mut report = report_for(event, &change, policy, None);
    report.reachability = Some(reachability(&change, None, None));
    report.notes.extend(started_by(event, &change));
    if change.changes_exposure() {
        report.notes.push(NEEDS_AWS.to_string());
    }
    report
        .notes
        .extend(bypass_unknown(&change, policy, None, "needs AWS"));
    if turns_exec_on(&change) {
        report.notes.push(NEEDS_AWS_EXEC.to_string());
    }
    Ok(report)
}
/// The verdict before deployment (DESIGN §16): what the record shows, with
/// what the same plan or template holds beside it (the groups' rules, the
/// task definition) in `enrichment`; `unread` says what it does not hold.
pub fn evaluate_planned(
    event: &Event,
    policy: &Policy,
    enrichment: &Enrichment,
    td: Option<&TaskDefinition>,
    unread: &[String],
) -> Result<Report, FieldError> {
    let Some(change) = ServiceChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let mut report = report_for(event, &change, policy, Some(enrichment));
    report.reachability = Some(reachability(&change, Some(enrichment), td));
    report.notes.extend(started_by(event, &change));
    report.notes.extend(bypass_unknown(
        &change,
        policy,
        Some(enrichment),
        "needs AWS",
    ));
    if turns_exec_on(&change) {
        report.notes.push(NEEDS_AWS_EXEC.to_string());
    }
    if !unread.is_empty() {
        report.unevaluated = Some(format!("could not check {}", unread.join("; ")));
    }
    Ok(report)
}

/// The internet-open groups in front of the service; "unknown" (with why)
/// wherever a check did not run, never "none".
fn open_groups(change: &ServiceChange, enrichment: Option<&Enrichment>) -> String {
    let Some(e) = enrichment else {
        return "unknown (not checked)".to_string();
    };
    let mut parts: Vec<String> = e
        .groups
        .iter()
        .filter(|(_, f)| !f.is_empty())
        .map(|(g, f)| {
            let mut rules: Vec<&str> = f.iter().map(|x| x.rule).collect();
            rules.dedup();
            format!("{g} ({})", rules.join(", "))
        })
        .collect();
    parts.extend(
        e.unchecked_groups
            .iter()
            .map(|(g, code)| format!("unknown for {g} ({code})")),
    );
    if !parts.is_empty() {
        return parts.join(", ");
    }
    match &change.after().awsvpc {
        Some(_) if !change.security_groups().is_empty() => "none".to_string(),
        Some(_) => "unknown (none named: the VPC default group applies)".to_string(),
        None => "unknown (not awsvpc: the container instances' groups apply)".to_string(),
    }
}
/// One line on how the service can be reached: public IP, internet-open
/// groups, ECS Exec, and what its tasks run as.
pub fn reachability(
    change: &ServiceChange,
    enrichment: Option<&Enrichment>,
    td: Option<&TaskDefinition>,
) -> String {
    let after = change.after();
    let public_ip = match after.awsvpc.as_ref().map(|vpc| vpc.assign_public_ip) {
        Some(Some(true)) => "yes",
        Some(Some(false)) => "no",
        _ => "unknown",
    };
    let groups = open_groups(change, enrichment);
    let exec = match after.enable_execute_command {
        Some(true) => "enabled",
        Some(false) => "disabled",
        None => "unknown",
    };
    let users = match td {
        None => "unknown".to_string(),
        Some(td) => td
            .containers
            .iter()
            .map(|c| {
                let who = if td.is_windows() {
                    c.user.clone().unwrap_or_else(|| "default user".to_string())
                } else if is_root_user(c.user.as_deref()) {
                    "root".to_string()
                } else {
                    c.user.clone().unwrap_or_default()
                };
                let privileged = if c.privileged { ", privileged" } else { "" };
                format!("{}={who}{privileged}", c.name)
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!("public IP: {public_ip}; internet-open groups: {groups}; ECS Exec: {exec}; tasks run as: {users}")
}

#[cfg(test)]
mod tests {
    use crate::finding::Severity;
    use crate::guards::service::test_support::*;

    #[tokio::test]
    async fn joins_the_service_with_what_it_runs_and_exposes() {
        let (report, sent) = run(&privileged_task(), &ssh_open_group(), &create()).await;
        let report = report.unwrap();
        let rules: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
        assert_eq!(
            rules,
            ["ECS-SVC-005", "ECS-SVC-001", "ECS-SVC-004", "ECS-SVC-011"]
        );
        assert_eq!(
            report.findings[0].severity,
            Severity::Critical,
            "inherits the privileged container's severity"
        );
        assert!(report.findings[0].detail.contains("ECS-TD-001"));
        assert!(
            report.findings[2]
                .detail
                .starts_with("sg-1: tcp 22 from 0.0.0.0/0 (sgr-ssh)"),
            "{}",
            report.findings[2].detail
        );
        assert_eq!(
            report.reachability.as_deref(),
            Some("public IP: yes; internet-open groups: sg-1 (EC2-SG-003); ECS Exec: disabled; tasks run as: app=root, privileged")
        );
        assert_eq!(sent.len(), 1);
        assert!(sent[0].message.contains("Reach: public IP: yes"));
    }
}
