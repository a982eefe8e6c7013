use super::SvcContext;
use crate::finding::{Action, Severity};
use crate::model::svc::ServiceChange;
use crate::rules::ecs_td::{is_aws_credential_name, Hit};
use crate::secrets;
use crate::secrets::redact;

crate::rule! {
    /// ## What it does
    /// Flags `RunTask`/`StartTask` whose `overrides` replace the task role,
    /// a container's command or its environment: the task then runs
    /// something other than its reviewed task definition. Variables are
    /// named, values never shown; a value that looks like a secret (or an
    /// AWS credential variable) raises the finding to high and is redacted
    /// as in task definitions.
    ///
    /// ## Why is this bad?
    /// Overrides are the quiet way to run arbitrary code with a task's role:
    /// `command: ["sh", "-c", "curl … | sh"]` under a trusted image, or a
    /// more powerful `taskRoleArn`, never appears in any task definition.
    ///
    /// ## Example
    /// `"overrides": {"taskRoleArn": "arn:aws:iam::…:role/admin", "containerOverrides": [{"name": "app", "command": ["sh", "-c", "…"]}]}`
    ///
    /// ## Fix
    /// Register a task definition revision for the job instead; restrict
    /// `ecs:RunTask` and `iam:PassRole` to the roles jobs need.
    ///
    /// ## References
    /// Beyond the peers (standalone tasks are not covered by Security Hub).
    pub static TASK_OVERRIDES = {
        id: "ECS-SVC-010",
        title: "Standalone task overrides role, environment or command",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["beyond (standalone tasks)"],
        remediation: "Register a task definition revision for the job instead of overriding role, command or environment.",
        check: crate::rules::Check::Service(evaluate),
    }
}

/// Pure check over the overrides.
pub fn evaluate(change: &ServiceChange, _ctx: &SvcContext) -> Vec<Hit> {
    let Some(overrides) = &change.overrides else {
        return Vec::new();
    };
    let mut hits = Vec::new();
    if let Some(role) = &overrides.task_role_arn {
        hits.push(Hit::new(format!("taskRoleArn overridden: {role}")));
    }
    for c in &overrides.containers {
        if c.command {
            hits.push(Hit::new(format!(
                "container {}: command overridden",
                c.name
            )));
        }
        if c.environment.is_empty() {
            continue;
        }
        let mut secret = false;
        let names: Vec<String> = c
            .environment
            .iter()
            .map(|var| {
                let kind = secrets::detect(&var.value, false);
                if is_aws_credential_name(&var.name) || kind.is_some() {
                    secret = true;
                    format!(
                        "{} ({}, {})",
                        var.name,
                        kind.map_or("an AWS credential", |k| k.describe()),
                        redact(&var.value)
                    )
                } else {
                    var.name.clone()
                }
            })
            .collect();
        let detail = format!(
            "container {}: environment overridden: {}",
            c.name,
            names.join(", ")
        );
        hits.push(if secret {
            Hit {
                escalate_to: Some(Severity::High),
                ..Hit::new(detail)
            }
        } else {
            Hit::new(detail)
        });
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_svc::test_support::{change, run};
    use serde_json::json;

    #[test]
    fn flags_what_it_should_and_never_repeats_a_secret() {
        let key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz3Kq9TmQ2";
        let task = change(
            "RunTask",
            json!({"taskDefinition": "migrate:4", "overrides": {
            "taskRoleArn": "arn:aws:iam::111122223333:role/admin",
            "containerOverrides": [
                {"name": "app", "command": ["sh", "-c", "env"], "environment": [
                    {"name": "MODE", "value": "full"},
                    {"name": "AWS_SECRET_ACCESS_KEY", "value": key}]},
                {"name": "sidecar", "cpu": 256}]}}),
        );
        let hits = run(evaluate, &task);
        assert_eq!(hits.len(), 3, "{hits:?}");
        assert_eq!(
            hits[0],
            "taskRoleArn overridden: arn:aws:iam::111122223333:role/admin"
        );
        assert_eq!(hits[1], "container app: command overridden");
        assert!(
            hits[2].starts_with(
                "container app: environment overridden: MODE, AWS_SECRET_ACCESS_KEY ("
            ),
            "{}",
            hits[2]
        );
        assert!(
            !hits.iter().any(|h| h.contains(key)),
            "a secret is never repeated"
        );
        assert!(
            !hits.iter().any(|h| h.contains("full")),
            "values are never shown"
        );
        // Resource changes only (cpu, memory) are not overrides of what runs.
        let sized = change(
            "RunTask",
            json!({"taskDefinition": "migrate:4", "overrides": {"cpu": "512",
            "containerOverrides": [{"name": "app", "memory": 1024}]}}),
        );
        assert!(run(evaluate, &sized).is_empty());
        assert!(run(
            evaluate,
            &change("RunTask", json!({"taskDefinition": "migrate:4"}))
        )
        .is_empty());
    }
}
