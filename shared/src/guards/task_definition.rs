//! The task-definition guard: `RegisterTaskDefinition` ▶ the ECS-TD rules ▶
//! one alert. Notify only. When CloudTrail omitted the definition, the Lambda
//! reads it back with `DescribeTaskDefinition`; a half-read definition is
//! never reported as clean.

use tracing::info;

use crate::finding::Finding;
use crate::guards::{failed_call, preflight, report_and_notify, GuardError, GuardSettings};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::model::td::TaskDefinition;
use crate::policy::Policy;
use crate::ports::{Iam, Notifier, TaskDefinitions};
use crate::report::Report;
use crate::rules::{
    self,
    ecs_td::{TaskRoleAccess, TdContext},
};

/// Why the offline verdict cannot be given: the definition is not in the event.
pub const INCOMPLETE: &str =
    "incomplete: CloudTrail omitted the task definition; the Lambda reads it with DescribeTaskDefinition";

/// The findings for a task definition registered in `account`.
pub fn assess(td: &TaskDefinition, account: &str, policy: &Policy) -> Vec<Finding> {
    assess_with(td, account, policy, None)
}

/// The findings, with what the Lambda read of the task role (ECS-TD-021).
pub fn assess_with(
    td: &TaskDefinition,
    account: &str,
    policy: &Policy,
    task_role: Option<&TaskRoleAccess>,
) -> Vec<Finding> {
    rules::evaluate_td(
        td,
        &TdContext {
            policy,
            account,
            task_role,
        },
    )
}

fn report_for(
    event: &Event,
    td: &TaskDefinition,
    policy: &Policy,
    task_role: Option<&TaskRoleAccess>,
) -> Report {
    let mut report = Report::for_event(event);
    report.resource = Some(td.label());
    report.findings = assess_with(td, &event.account, policy, task_role);
    report
}

/// What the offline verdict cannot judge: the task role's permissions.
pub const NEEDS_AWS_ROLE: &str =
    "ECS-TD-021 (what the task role may do) needs AWS: the Lambda reads the role's policies";

/// The offline verdict (CLI).
pub fn evaluate_offline(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    if let Some(reason) = failed_call(event, &[]) {
        return Ok(Report::skipped(event, reason));
    }
    Ok(match TaskDefinition::from_event(event)? {
        Some(td) => {
            let mut report = report_for(event, &td, policy, None);
            if td.task_role_arn.is_some() {
                report.notes.push(NEEDS_AWS_ROLE.to_string());
            }
            report
        }
        None => Report::skipped(event, INCOMPLETE),
    })
}

/// The task-definition guard with its ports.
pub struct TaskDefinitionGuard<'a> {
    pub task_definitions: &'a dyn TaskDefinitions,
    /// Reads the task role (ECS-TD-021); `None`: not judged, and said.
    pub iam: Option<&'a dyn Iam>,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl TaskDefinitionGuard<'_> {
    pub async fn handle(&self, event: &Event) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(skipped) = preflight(event, self.settings, &[]) {
            return Ok(skipped);
        }
        if event.name != crate::model::td::REGISTER_TASK_DEFINITION || !event.is_from("ecs") {
            return Ok(Report::not_handled(event));
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
        let task_role = match (&td.task_role_arn, self.iam) {
            (Some(role), Some(iam)) => Some(
                crate::guards::iam::task_role(iam, role, &event.id)
                    .await
                    .map_err(aws)?,
            ),
            _ => None,
        };
        let mut report = report_for(event, &td, self.policy, task_role.as_ref());
        if td.task_role_arn.is_some() && self.iam.is_none() {
            report.notes.push(NEEDS_AWS_ROLE.to_string());
        }
        report_and_notify(event, report, self.policy, self.settings, self.notifier).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::td::{Container, EnvVar};
    use crate::ports::fakes::{MemoryNotifier, MemoryTaskDefinitions};
    use serde_json::json;

    const ARN: &str = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7";

    fn event(request: serde_json::Value, response: serde_json::Value) -> Event {
        let record = json!({"eventID": "ev-td", "eventName": "RegisterTaskDefinition", "eventSource": "ecs.amazonaws.com",
            "recipientAccountId": "111122223333", "awsRegion": "eu-west-1",
            "requestParameters": request, "responseElements": response});
        Event::from_value(&record, "test").unwrap()
    }

    fn privileged_with_key() -> serde_json::Value {
        json!({"family": "web", "networkMode": "awsvpc", "containerDefinitions": [{"name": "app", "image": "nginx:1.27",
            "privileged": true, "user": "1000", "readonlyRootFilesystem": true, "logConfiguration": {"logDriver": "awslogs"},
            "environment": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}]}]})
    }

    async fn run(
        fakes: &MemoryTaskDefinitions,
        e: &Event,
    ) -> (
        Result<Report, GuardError>,
        Vec<crate::output::notify::Notification>,
    ) {
        let notifier = MemoryNotifier::default();
        let policy = Policy::embedded();
        let settings = GuardSettings::default();
        let guard = TaskDefinitionGuard {
            task_definitions: fakes,
            iam: None,
            notifier: &notifier,
            policy: &policy,
            settings: &settings,
        };
        let result = guard.handle(e).await;
        let sent = notifier.sent.lock().unwrap().clone();
        (result, sent)
    }

    #[tokio::test]
    async fn alerts_once_without_repeating_the_secret() {
        let fakes = MemoryTaskDefinitions::default();
        let (report, sent) = run(
            &fakes,
            &event(
                privileged_with_key(),
                json!({"taskDefinition": {"taskDefinitionArn": ARN, "revision": 7}}),
            ),
        )
        .await;
        let report = report.unwrap();
        assert_eq!(report.resource.as_deref(), Some("web:7"));
        assert_eq!(report.findings[0].rule, "ECS-TD-001");
        assert!(
            fakes.calls.lock().unwrap().is_empty(),
            "the event was complete: no ECS call"
        );
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0]
                .subject
                .starts_with("[ALERT] [CRITICAL] Privileged container (+"),
            "{}",
            sent[0].subject
        );
        assert!(!sent[0].message.contains("wJalrXUtnFEMI"), "secret leaked");
        // Its length only: no character of a secret key is shown.
        assert!(!sent[0].message.contains("wJal"), "no prefix of it either");
        assert!(sent[0].message.contains("…(40 chars)"));
    }

    #[tokio::test]
    async fn an_omitted_definition_is_read_back_from_ecs() {
        let fakes = MemoryTaskDefinitions {
            by_arn: vec![(
                ARN.to_string(),
                TaskDefinition {
                    family: "web".into(),
                    revision: Some(7),
                    containers: vec![Container {
                        name: "app".into(),
                        privileged: true,
                        environment: vec![EnvVar {
                            name: "MODE".into(),
                            value: "x".into(),
                        }],
                        ..Container::default()
                    }],
                    ..TaskDefinition::default()
                },
            )],
            ..MemoryTaskDefinitions::default()
        };
        let omitted = event(
            json!({"omitted": true}),
            json!({"taskDefinition": {"taskDefinitionArn": ARN}}),
        );
        let (report, sent) = run(&fakes, &omitted).await;
        assert!(report
            .unwrap()
            .findings
            .iter()
            .any(|f| f.rule == "ECS-TD-001"));
        assert_eq!(*fakes.calls.lock().unwrap(), vec![ARN.to_string()]);
        assert_eq!(sent.len(), 1);

        // Gone from ECS too: reported as incomplete, never as clean.
        let (report, sent) = run(&MemoryTaskDefinitions::default(), &omitted).await;
        assert!(report.unwrap().skipped.unwrap().starts_with("incomplete"));
        assert!(sent.is_empty());
        // Nothing to read it back with: an error naming the field.
        let err = run(&fakes, &event(json!({"omitted": true}), json!({})))
            .await
            .0
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("responseElements.taskDefinition.taskDefinitionArn"),
            "{err}"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Detected secrets reach neither the logs (all levels) nor the message.
        #[test]
        fn detected_secrets_never_reach_the_logs_or_the_message(
            key in "[A-Z0-9]{16}",
            password in "[A-Za-z0-9]{10,20}",
            token in "[A-Za-z0-9]{36}",
            literal in "[a-z]{6,12}-[a-z]{6,12}",
        ) {
            let values = [format!("AKIA{key}"), format!("https://deploy:{password}@git.internal/repo"), format!("ghp_{token}"), literal];
            let request = json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx", "environment": [
                {"name": "AWS_ACCESS_KEY_ID", "value": values[0]}, {"name": "REPO_URL", "value": values[1]},
                {"name": "CI_SECRET", "value": values[2]}, {"name": "DB_PASSWORD", "value": values[3]}]}]});
            let captured = crate::ports::fakes::CapturedLogs::default();
            let writer = captured.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || writer.clone())
                .finish();
            let _guard = tracing::subscriber::set_default(subscriber);
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let (report, sent) = runtime.block_on(run(&MemoryTaskDefinitions::default(), &event(request, json!(null))));
            let report = report.unwrap();
            let logs = captured.text();
            proptest::prop_assert!(logs.contains("ECS-TD-007"), "the findings are logged");
            proptest::prop_assert_eq!(report.findings.iter().filter(|f| f.rule.starts_with("ECS-TD-00")).count() >= 4, true);
            for v in &values {
                proptest::prop_assert!(!logs.contains(v.as_str()), "a secret reached the logs");
                proptest::prop_assert!(!sent[0].message.contains(v.as_str()), "a secret reached the message");
                proptest::prop_assert!(!report.to_json().contains(v.as_str()), "a secret reached the verdict");
            }
            proptest::prop_assert!(!logs.contains(&password), "the password inside the URL reached the logs");
        }
    }

    #[tokio::test]
    async fn failed_calls_are_skipped() {
        let mut e = event(privileged_with_key(), json!(null));
        e.error_code = Some("ClientException".into());
        let (report, sent) = run(&MemoryTaskDefinitions::default(), &e).await;
        assert_eq!(
            report.unwrap().skipped.as_deref(),
            Some("failed call: ClientException")
        );
        assert!(sent.is_empty());
    }
}
