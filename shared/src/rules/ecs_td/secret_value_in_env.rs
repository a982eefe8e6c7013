use super::secret_value;
use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::notify::redact;
use crate::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags environment values that look like secrets whatever the variable is
    /// called: AWS access key ids (`AKIA`/`ASIA`) and the 40-character secret keys
    /// beside them, private-key blocks, JSON Web Tokens, passwords inside URLs
    /// (`scheme://user:pass@host`), GitHub, GitLab, Slack, Stripe and
    /// OpenAI/Anthropic-style tokens, and high-entropy strings. Placeholders
    /// (`${VAR}`, `changeme`, `<token>`), ARNs, numbers and booleans are not
    /// flagged. The value is never shown beyond its first 4 characters.
    ///
    /// ## Why is this bad?
    /// Task definitions are readable by many principals and logged in CloudTrail in
    /// full; a secret in `environment` is a secret published.
    ///
    /// ## Example
    /// `{"name": "DATABASE_URL", "value": "postgres://app:…@db:5432/app"}`
    ///
    /// ## Fix
    /// Reference the secret with `secrets: [{"name": "DATABASE_URL", "valueFrom":
    /// "arn:aws:secretsmanager:…"}]` and rotate it.
    ///
    /// ## References
    /// Prowler ecs_task_definitions_no_environment_secrets (detect-secrets);
    /// credentials in URLs go beyond it.
    pub static SECRET_VALUE_IN_ENV = {
        id: "ECS-TD-008",
        title: "Secret-looking value in environment (AKIA/ASIA keys, private keys, JWTs, well-known token prefixes, credentials in URLs, high entropy)",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["Prowler no_environment_secrets"],
        remediation: "Move the value to the container's `secrets` (Secrets Manager or SSM SecureString) and rotate it.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, ctx: &TdContext) -> Vec<Hit> {
    let mut hits = Vec::new();
    for c in &td.containers {
        for var in &c.environment {
            if let Some(kind) = secret_value(var, c, ctx.policy) {
                hits.push(Hit::new(format!(
                    "container {}: environment {} holds {} ({})",
                    c.name,
                    var.name,
                    kind.describe(),
                    redact(&var.value)
                )));
            }
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
        let url = format!("postgres://app:{}@db:5432/app", "Sup3rS3cret");
        c.environment = vec![
            env("DATABASE_URL", &url),
            env("MODE", "production"),
            env("AWS_SECRET_ACCESS_KEY", "x1y2z3w4v5u6t7s8r9q0"),
        ];
        let hits = run(evaluate, &task(vec![c]));
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(
            hits[0].contains("DATABASE_URL holds a URL with a password in it (post…"),
            "{}",
            hits[0]
        );
        assert!(!hits[0].contains("Sup3rS3cret"));
    }
}
