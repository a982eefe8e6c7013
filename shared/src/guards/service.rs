//! The service guard: `CreateService`/`UpdateService` ▶ the ECS-SVC rules,
//! joined with what the service deploys (`DescribeTaskDefinition`) and the
//! groups in front of it (`DescribeSecurityGroupRules`) ▶ one alert. Notify only.

use tracing::{info, warn};

use crate::guards::task_definition as task_guard;
use crate::guards::{failed_call, notify_if_due, preflight, GuardError, GuardSettings};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::model::sg::SgChange;
use crate::model::svc::ServiceChange;
use crate::model::td::TaskDefinition;
use crate::output::report::Report;
use crate::policy::Policy;
use crate::ports::{AwsError, Notifier, SecurityGroups, TaskDefinitions};
use crate::rules;
use crate::rules::ecs_svc::{Enrichment, SvcContext};
use crate::rules::ecs_td::is_root_user;

/// What the offline verdict cannot judge.
pub const NEEDS_AWS: &str = "ECS-SVC-004 (the groups' live rules) and ECS-SVC-005 (the deployed task definition) need AWS: the Lambda checks them";

fn report_for(
    event: &Event,
    change: &ServiceChange,
    policy: &Policy,
    enrichment: Option<&Enrichment>,
) -> Report {
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
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
    if change.changes_exposure() {
        report.notes.push(NEEDS_AWS.to_string());
    }
    Ok(report)
}

/// The service guard with its ports.
pub struct ServiceGuard<'a> {
    pub task_definitions: &'a dyn TaskDefinitions,
    pub groups: &'a dyn SecurityGroups,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl ServiceGuard<'_> {
    pub async fn handle(&self, event: &Event) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(skipped) = preflight(event, self.settings, &[]) {
            return Ok(skipped);
        }
        let change = match ServiceChange::from_event(event).map_err(GuardError::parse(event))? {
            Some(change) => change,
            None => return Ok(Report::not_handled(event)),
        };
        let mut notes = Vec::new();
        let mut task_definition = None;
        let enrichment = if change.changes_exposure() {
            let (enrichment, td) = self.enrich(event, &change, &mut notes).await.map_err(aws)?;
            task_definition = td;
            Some(enrichment)
        } else {
            None
        };
        let mut report = report_for(event, &change, self.policy, enrichment.as_ref());
        report.notes = notes;
        report.reachability = Some(reachability(
            &change,
            enrichment.as_ref(),
            task_definition.as_ref(),
        ));
        for f in &report.findings {
            info!(event_id = %event.id, rule = f.rule, severity = %f.severity, detail = %f.detail, "finding");
        }
        notify_if_due(&mut report, self.policy, self.settings, self.notifier)
            .await
            .map_err(aws)?;
        Ok(report)
    }

    /// Reads the deployed task definition and the attached groups. What cannot
    /// be read is said in `notes` ("could not check …: code"); throttling and
    /// outages fail the invocation so that Lambda retries it.
    async fn enrich(
        &self,
        event: &Event,
        change: &ServiceChange,
        notes: &mut Vec<String>,
    ) -> Result<(Enrichment, Option<TaskDefinition>), AwsError> {
        let mut enrichment = Enrichment::default();
        let mut deployed = None;
        match change.task_definition() {
            None => notes.push(
                "could not check the task definition: the event does not name it".to_string(),
            ),
            Some(name) => match self.task_definitions.describe(name).await {
                Ok(Some(td)) => {
                    let findings = task_guard::assess(&td, &event.account, self.policy);
                    enrichment.task_definition = Some((td.label(), findings));
                    deployed = Some(td);
                }
                Ok(None) => {
                    notes.push(format!("could not check task definition {name}: not found"))
                }
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    warn!(event_id = %event.id, task_definition = %name, error = %e, "could not check");
                    notes.push(format!(
                        "could not check task definition {name}: {}",
                        e.code_or_kind()
                    ));
                }
            },
        }
        for group_id in change.security_groups() {
            match self.groups.rules_of_group(group_id).await {
                Ok(stored) => {
                    let ingress = SgChange::current_ingress(group_id, stored);
                    enrichment
                        .groups
                        .push((group_id.clone(), rules::evaluate_sg(&ingress, self.policy)));
                }
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    warn!(event_id = %event.id, group_id = %group_id, error = %e, "could not check");
                    notes.push(format!(
                        "could not check security group {group_id}: {}",
                        e.code_or_kind()
                    ));
                    enrichment
                        .unchecked_groups
                        .push((group_id.clone(), e.code_or_kind()));
                }
            }
        }
        Ok((enrichment, deployed))
    }
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
    use super::*;
    use crate::finding::Severity;
    use crate::model::net::{Protocol, Source};
    use crate::model::sg::{Direction, SgRule};
    use crate::model::td::Container;
    use crate::ports::fakes::{MemoryGroups, MemoryNotifier, MemoryTaskDefinitions};
    use serde_json::json;

    fn ssh_open_group() -> MemoryGroups {
        MemoryGroups {
            rules: std::sync::Mutex::new(vec![SgRule {
                rule_id: Some("sgr-ssh".into()),
                direction: Direction::Ingress,
                ip_protocol: "tcp".into(),
                protocol: Protocol::Tcp,
                from_port: Some(22),
                to_port: Some(22),
                source: Source::cidr("0.0.0.0/0"),
            }]),
            ..MemoryGroups::default()
        }
    }

    fn privileged_task() -> MemoryTaskDefinitions {
        MemoryTaskDefinitions {
            by_arn: vec![(
                "web:3".into(),
                TaskDefinition {
                    family: "web".into(),
                    revision: Some(3),
                    containers: vec![Container {
                        name: "app".into(),
                        privileged: true,
                        ..Container::default()
                    }],
                    ..TaskDefinition::default()
                },
            )],
            ..MemoryTaskDefinitions::default()
        }
    }

    fn event(name: &str, request: serde_json::Value) -> Event {
        let record = json!({"eventID": "ev-svc", "eventName": name, "recipientAccountId": "111122223333",
            "awsRegion": "eu-west-1", "requestParameters": request});
        Event::from_value(&record, "test").unwrap()
    }

    fn create() -> Event {
        event(
            "CreateService",
            json!({"serviceName": "web", "taskDefinition": "web:3", "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}}}),
        )
    }

    async fn run(
        tds: &MemoryTaskDefinitions,
        groups: &MemoryGroups,
        e: &Event,
    ) -> (
        Result<Report, GuardError>,
        Vec<crate::output::notify::Notification>,
    ) {
        let notifier = MemoryNotifier::default();
        let policy = Policy::embedded();
        let settings = GuardSettings::default();
        let guard = ServiceGuard {
            task_definitions: tds,
            groups,
            notifier: &notifier,
            policy: &policy,
            settings: &settings,
        };
        let result = guard.handle(e).await;
        let sent = notifier.sent.lock().unwrap().clone();
        (result, sent)
    }

    #[tokio::test]
    async fn joins_the_service_with_what_it_runs_and_exposes() {
        let (report, sent) = run(&privileged_task(), &ssh_open_group(), &create()).await;
        let report = report.unwrap();
        let rules: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["ECS-SVC-005", "ECS-SVC-001", "ECS-SVC-004"]);
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

    #[tokio::test]
    async fn a_scale_out_reads_nothing_and_sends_nothing() {
        let tds = privileged_task();
        let (report, sent) = run(
            &tds,
            &ssh_open_group(),
            &event(
                "UpdateService",
                json!({"service": "web", "desiredCount": 5}),
            ),
        )
        .await;
        let report = report.unwrap();
        assert!(report.findings.is_empty());
        assert!(sent.is_empty());
        assert!(tds.calls.lock().unwrap().is_empty());
        assert!(
            report
                .reachability
                .unwrap()
                .contains("internet-open groups: unknown (not checked)"),
            "a check that did not run is unknown, never none"
        );
    }

    #[tokio::test]
    async fn what_cannot_be_checked_is_said() {
        let mut tds = privileged_task();
        tds.error = Some(AwsError {
            operation: "DescribeTaskDefinition",
            code: Some("AccessDeniedException".into()),
            message: "no".into(),
            retryable: false,
        });
        let (report, sent) = run(&tds, &ssh_open_group(), &create()).await;
        let report = report.unwrap();
        assert_eq!(
            report.notes,
            ["could not check task definition web:3: AccessDeniedException"]
        );
        assert!(sent[0]
            .message
            .contains("could not check task definition web:3: AccessDeniedException"));

        // A group that cannot be read is "unknown" in the reach line, never "none".
        let mut denied = ssh_open_group();
        denied.rules_error = Some(AwsError {
            operation: "DescribeSecurityGroupRules",
            code: Some("UnauthorizedOperation".into()),
            message: "no".into(),
            retryable: false,
        });
        let (report, _) = run(&privileged_task(), &denied, &create()).await;
        let reach = report.unwrap().reachability.unwrap();
        assert!(
            reach.contains("internet-open groups: unknown for sg-1 (UnauthorizedOperation)"),
            "{reach}"
        );

        tds.error = Some(AwsError {
            operation: "DescribeTaskDefinition",
            code: Some("ThrottlingException".into()),
            message: "slow".into(),
            retryable: true,
        });
        let (result, sent) = run(&tds, &ssh_open_group(), &create()).await;
        assert!(
            result.is_err(),
            "throttling fails the invocation so Lambda retries"
        );
        assert!(sent.is_empty());
    }
}
