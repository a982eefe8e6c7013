use super::{is_allowed, is_aws_credential_name, secret_value};
use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;
use crate::secrets;
use crate::secrets::redact;

crate::rule! {
    /// ## What it does
    /// Flags variables whose name suggests a secret
    /// (`task_definition.secret_name_keywords`: password, secret, token, api key …,
    /// matched as whole words) and whose value is a literal — not a placeholder,
    /// reference, number or boolean — unless ECS-TD-007 or ECS-TD-008 already
    /// reports it or the name is in `task_definition.allowed_env_names`.
    ///
    /// ## Why is this bad?
    /// A value a developer named `DB_PASSWORD` is a password, whatever it looks
    /// like.
    ///
    /// ## Example
    /// `{"name": "DB_PASSWORD", "value": "hunter2hunter2"}`
    ///
    /// ## Fix
    /// Use `secrets` with `valueFrom`; allow-list names that are not secrets
    /// (`TOKEN_AUDIENCE`) in the policy.
    ///
    /// ## References
    /// Prowler ecs_task_definitions_no_environment_secrets (detect-secrets
    /// KeywordDetector).
    pub static SECRET_NAME_LITERAL = {
        id: "ECS-TD-009",
        title: "Secret-suggestive variable name with a literal value",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["Prowler KeywordDetector"],
        remediation: "Move the value to the container's `secrets` (Secrets Manager or SSM SecureString).",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, ctx: &TdContext) -> Vec<Hit> {
    let mut hits = Vec::new();
    for c in &td.containers {
        for var in &c.environment {
            let owned_elsewhere =
                is_aws_credential_name(&var.name) || secret_value(var, c, ctx.policy).is_some();
            if owned_elsewhere
                || is_allowed(var, ctx.policy)
                || !secrets::is_literal_secret_candidate(&var.value)
                || secrets::is_reference(&var.name, &var.value)
                || !secrets::name_suggests_secret(&var.name, &ctx.policy.secret_name_keywords)
            {
                continue;
            }
            hits.push(
                Hit::new(format!(
                    "container {}: environment {} has a literal value ({})",
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
            env("DB_PASSWORD", "hunter2hunter2"),
            env("TOKEN_TTL", "3600"),
            env("API_TOKEN", "${TOKEN}"),
            env("AUTHOR", "jane"),
        ];
        let hits = run(evaluate, &task(vec![c]));
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(
            hits[0].contains("DB_PASSWORD has a literal value (…(14 chars))"),
            "{}",
            hits[0]
        );
        assert!(!hits[0].contains("hunt"), "no prefix of it");
    }
}
