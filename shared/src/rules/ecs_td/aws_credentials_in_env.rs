use super::is_aws_credential_name;
use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;
use crate::secrets;
use crate::secrets::redact;

crate::rule! {
    /// ## What it does
    /// Flags `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` and
    /// `ECS_ENGINE_AUTH_DATA` set with a literal value in a container's
    /// `environment`.
    ///
    /// ## Why is this bad?
    /// Environment values are stored in plain text in the task definition: anyone
    /// with `ecs:DescribeTaskDefinition`, and every CloudTrail reader, can read the
    /// key. Long-lived keys in task definitions are a classic source of account
    /// compromise.
    ///
    /// ## Example
    /// `{"name": "AWS_SECRET_ACCESS_KEY", "value": "wJal…"}`
    ///
    /// ## Fix
    /// Remove the variable, deactivate and rotate the key, and use the task role
    /// (`taskRoleArn`).
    ///
    /// ## References
    /// Security Hub ECS.8.
    pub static AWS_CREDENTIALS_IN_ENV = {
        id: "ECS-TD-007",
        title: "AWS credential variables in environment",
        severity: Severity::Critical,
        action: Action::Notify,
        anchors: &["SH ECS.8"],
        remediation: "Delete the variable and rotate the key; give the task a task role (credentials delivered and rotated by ECS), or move the value to the container's `secrets` (valueFrom Secrets Manager or SSM SecureString).",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    let mut hits = Vec::new();
    for c in &td.containers {
        for var in c
            .environment
            .iter()
            .filter(|v| is_aws_credential_name(&v.name))
        {
            if !secrets::is_literal_secret_candidate(&var.value) {
                continue;
            }
            if secrets::is_documentation_example(&var.value) {
                hits.push(
                    Hit::at(
                        Severity::Info,
                        format!(
                            "container {}: environment {} holds the AWS documentation's example key (not a leak; {})",
                            c.name,
                            var.name,
                            redact(&var.value)
                        ),
                    )
                    .with_variable(&var.name, redact(&var.value)),
                );
                continue;
            }
            hits.push(
                Hit::new(format!(
                    "container {}: environment {} = {}",
                    c.name,
                    var.name,
                    redact(&var.value)
                ))
                .with_variable(&var.name, redact(&var.value)),
            );
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_td::test_support::{container, env, run, task};

    #[test]
    fn flags_what_it_should() {
        let mut c = container("app");
        c.environment = vec![
            env("AWS_REGION", "eu-west-1"),
            env("AWS_SECRET_ACCESS_KEY", "abcdEFGHijkl1234"),
        ];
        let hits = run(evaluate, &task(vec![c.clone()]));
        assert_eq!(hits.len(), 1);
        assert!(
            hits[0].contains("AWS_SECRET_ACCESS_KEY = …(16 chars)"),
            "{}",
            hits[0]
        );
        assert!(!hits[0].contains("abcd"));
        c.environment = vec![env("AWS_ACCESS_KEY_ID", "${KEY_ID}")];
        assert!(run(evaluate, &task(vec![c])).is_empty());
    }
}
