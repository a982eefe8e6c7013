//! The task-definition guard: `RegisterTaskDefinition` ▶ the ECS-TD rules ▶
//! one alert. Notify only. When CloudTrail omitted the definition, the Lambda
//! reads it back with `DescribeTaskDefinition`; a half-read definition is
//! never reported as clean.

use tracing::info;

use crate::event::Event;
use crate::finding::Finding;
use crate::guard::{failed_call, notify_if_due, GuardError, GuardSettings};
use crate::json::FieldError;
use crate::policy::Policy;
use crate::ports::{Notifier, TaskDefinitions};
use crate::report::Report;
use crate::rules::{self, ecs_td::TdContext};
use crate::td::TaskDefinition;

/// Why the offline verdict cannot be given: the definition is not in the event.
pub const INCOMPLETE: &str =
    "incomplete: CloudTrail omitted the task definition; the Lambda reads it with DescribeTaskDefinition";

/// The findings for a task definition registered in `account`.
pub fn assess(td: &TaskDefinition, account: &str, policy: &Policy) -> Vec<Finding> {
    rules::evaluate_td(td, &TdContext { policy, account })
}

fn report_for(event: &Event, td: &TaskDefinition, policy: &Policy) -> Report {
    let mut report = Report::for_event(event);
    report.resource = Some(td.label());
    report.findings = assess(td, &event.account, policy);
    report
}

/// The offline verdict (CLI).
pub fn evaluate_offline(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    if let Some(reason) = failed_call(event, &[]) {
        return Ok(Report::skipped(event, reason));
    }
    Ok(match TaskDefinition::from_event(event)? {
        Some(td) => report_for(event, &td, policy),
        None => Report::skipped(event, INCOMPLETE),
    })
}

/// The task-definition guard with its ports.
pub struct TaskDefinitionGuard<'a> {
    pub task_definitions: &'a dyn TaskDefinitions,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl TaskDefinitionGuard<'_> {
    pub async fn handle(&self, event: &Event) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(reason) = failed_call(event, &[]) {
            info!(event_id = %event.id, reason = %reason, "skipped");
            return Ok(Report::skipped(event, reason));
        }
        if self.settings.is_own_call(event) {
            return Ok(Report::skipped(event, "own call: made by the guard's role"));
        }
        if event.name != crate::td::REGISTER_TASK_DEFINITION {
            return Ok(Report::skipped(
                event,
                format!("not handled: {}", event.name),
            ));
        }
        let td = match TaskDefinition::from_event(event).map_err(GuardError::parse(event))? {
            Some(td) => td,
            None => {
                // Read back what CloudTrail left out; never judge half a definition.
                let Some(arn) = TaskDefinition::arn_in(event) else {
                    return Err(GuardError::parse(event)(
                        event
                            .response()
                            .get("taskDefinition")
                            .get("taskDefinitionArn")
                            .error("missing, and CloudTrail omitted the definition"),
                    ));
                };
                info!(event_id = %event.id, task_definition = %arn, "definition omitted from the event: reading it");
                match self.task_definitions.describe(&arn).await.map_err(aws)? {
                    Some(td) => td,
                    None => {
                        return Ok(Report::skipped(
                            event,
                            format!("incomplete: CloudTrail omitted the definition and {arn} no longer exists"),
                        ))
                    }
                }
            }
        };
        let report = report_for(event, &td, self.policy);
        for f in &report.findings {
            info!(event_id = %event.id, rule = f.rule, severity = %f.severity, detail = %f.detail, "finding");
        }
        notify_if_due(&report, self.policy, self.notifier)
            .await
            .map_err(aws)?;
        Ok(report)
    }
}
