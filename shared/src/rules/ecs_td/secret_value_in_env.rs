use super::secret_value;
use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;
use crate::secrets::redact;
use crate::secrets::SecretKind;

crate::rule! {
    /// ## What it does
    /// Flags environment values that look like secrets whatever the variable is
    /// called. Structure first: AWS access key ids (`AKIA`/`ASIA`) and the
    /// 40-character secret keys beside them, private-key blocks, JSON Web
    /// Tokens (the header decoded), passwords inside URLs
    /// (`scheme://user:pass@host`) and connection strings (`Password=`,
    /// `AccountKey=`), Slack webhook URLs, Telegram bot tokens and Mailchimp
    /// keys; then the provider formats (`access-guard rules ECS-TD-008` lists
    /// them: GitHub, GitLab, npm, PyPI, Slack, Stripe, OpenAI, Anthropic,
    /// Google, Shopify, Databricks, Mailgun, Twilio, SendGrid …), with their
    /// checksums where they have one (GitHub, npm), so a random string of the
    /// right length is not a credential; only then high entropy, which never
    /// fires on what decodes to ordinary text or JSON, on paths, on URLs
    /// without credentials, or on digests and UUIDs. Placeholders (`${VAR}`,
    /// `changeme`, `<token>`), ARNs, numbers and booleans are not flagged. The
    /// AWS documentation's example keys (`AKIAIOSFODNN7EXAMPLE`) are reported
    /// at info, as examples. The value is never shown: its length, and the
    /// prefix of its token format when it is one (`ghp_…(40 chars)`).
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
                let detail = format!(
                    "container {}: environment {} holds {} ({})",
                    c.name,
                    var.name,
                    kind.describe(),
                    redact(&var.value)
                );
                let hit = match kind {
                    SecretKind::Example(_) => Hit::at(Severity::Info, detail),
                    // A provider's credential at the severity the format gives it.
                    SecretKind::Format(f) => Hit {
                        escalate_to: Some(f.severity),
                        ..Hit::new(detail)
                    },
                    _ => Hit::new(detail),
                };
                hits.push(hit.with_variable(&var.name, redact(&var.value)));
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
            hits[0].contains("DATABASE_URL holds a URL with a password in it (…("),
            "{}",
            hits[0]
        );
        assert!(!hits[0].contains("Sup3rS3cret"));
        assert!(!hits[0].contains("post"), "no prefix of it either");
    }
}
