//! Typed configuration of a guard function, read once at start-up from its
//! environment. A bad value fails the start, naming the variable or policy key.
//!
//! Layer: wiring (with `lambda`). May import every layer.

use crate::finding::Severity;
use crate::guards::GuardSettings;
use crate::policy::location::PolicyLocation;
use crate::policy::settings::set_from_environment;
use crate::policy::{Policy, PolicyError};

/// The policy: a path inside the deployment package, inline TOML, or an S3
/// object (`s3://bucket/key?versionId=…`, what the module writes: Lambda's
/// environment holds at most 4 KB, a listed scope of a few hundred accounts
/// more), read once at start-up.
pub const POLICY_VAR: &str = "ACCESS_GUARD_POLICY";
/// What a function calls to read a policy kept in S3 (the object's pinned
/// version). The module grants it only when it writes a policy there.
pub const POLICY_ACTIONS: &[&str] = &["s3:GetObjectVersion"];
/// Overrides of common policy knobs.
pub const DRY_RUN_VAR: &str = "ACCESS_GUARD_DRY_RUN";
pub const NOTIFY_MIN_SEVERITY_VAR: &str = "ACCESS_GUARD_NOTIFY_MIN_SEVERITY";
pub const EXEMPTION_TAG_KEY_VAR: &str = "ACCESS_GUARD_EXEMPTION_TAG_KEY";
/// The sweep's `[sweep] revoke`, set by the Terraform module on the sweep
/// alone (its variable `sweep_revoke`), which grants the revoke to the
/// sweep's role only then: the setting and the grant never disagree.
pub const SWEEP_REVOKE_VAR: &str = "ACCESS_GUARD_SWEEP_REVOKE";
/// Where alerts go.
pub const TOPIC_ARN_VAR: &str = "ACCESS_GUARD_TOPIC_ARN";
/// The function's own role: its own calls are never acted on.
pub const OWN_ROLE_ARN_VAR: &str = "ACCESS_GUARD_ROLE_ARN";
/// The state table (DESIGN §12): the sweep's findings, ingress-guard's
/// revocations for retries.
pub const STATE_TABLE_VAR: &str = "ACCESS_GUARD_STATE_TABLE";
/// The sweep's work queue: one item per (account, region).
pub const SWEEP_QUEUE_VAR: &str = "ACCESS_GUARD_SWEEP_QUEUE_URL";
/// The retro scan's results bucket (the retro-scan function only): its
/// findings as JSON Lines, the batches' and the run's summaries.
pub const RETRO_BUCKET_VAR: &str = "ACCESS_GUARD_RETRO_BUCKET";
/// The failure queue, for the functions that write a redacted copy of an
/// event they could not handle there themselves (their events may carry
/// secrets, which Lambda's on-failure destination would keep as they came).
pub const FAILURE_QUEUE_VAR: &str = "ACCESS_GUARD_FAILURE_QUEUE_URL";
/// Security Hub on (DESIGN §13): the default product of the account and
/// region the function runs in, where its findings are imported.
pub const SECURITY_HUB_VAR: &str = "ACCESS_GUARD_SECURITY_HUB_PRODUCT_ARN";
/// The Chatbot topic on (DESIGN §13): where the alert goes as a Chatbot
/// custom notification.
pub const CHATBOT_TOPIC_VAR: &str = "ACCESS_GUARD_CHATBOT_TOPIC_ARN";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {problem}")]
    Var { var: &'static str, problem: String },
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// What a guard function needs besides its AWS clients.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub topic_arn: String,
    pub policy: Policy,
    pub settings: GuardSettings,
    /// The state table's name, when the deployment has one.
    pub state_table: Option<String>,
    /// The sweep's work queue URL (the sweep function only).
    pub sweep_queue_url: Option<String>,
    /// The retro scan's results bucket (the retro-scan function only).
    pub retro_bucket: Option<String>,
    /// Where the function itself sends a redacted copy of an event it could
    /// not handle; `None`: it fails the invocation and Lambda's on-failure
    /// destination keeps the event.
    pub failure_queue_url: Option<String>,
    /// Security Hub's product to import findings into; `None`: off.
    pub security_hub: Option<crate::output::asff::Product>,
    /// The Chatbot topic's ARN; `None`: off.
    pub chatbot_topic_arn: Option<String>,
}

impl FunctionConfig {
    /// Reads the process environment. Policy exemptions already past their
    /// expiry are logged as errors naming the key: they are not honoured (and
    /// each event they would have covered reports them), but they do not stop
    /// the guard, which would leave every other group unguarded.
    /// `policy_object` is the text of the S3 object `ACCESS_GUARD_POLICY`
    /// names, when it names one ([`policy_location`]), read by the caller.
    /// Every setting's effective value and its source are logged, one line
    /// each, so that an operator can see which of theirs won.
    pub fn from_env(policy_object: Option<String>) -> Result<FunctionConfig, ConfigError> {
        let config = FunctionConfig::from_lookup_with(env, policy_object)?;
        for setting in &config.policy.settings {
            tracing::info!(
                setting = %setting.key,
                value = %setting.value,
                source = %setting.source,
                "policy setting"
            );
        }
        for problem in config.policy.expired_exemptions(crate::model::today()) {
            tracing::error!(problem = %problem, "policy exemption past due: not honoured");
        }
        Ok(config)
    }

    /// Reads the configuration through `get` (the environment, or a map in tests).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<FunctionConfig, ConfigError> {
        FunctionConfig::from_lookup_with(get, None)
    }

    /// As [`FunctionConfig::from_lookup`], with the text of the S3 object
    /// the policy variable names.
    pub fn from_lookup_with(
        get: impl Fn(&str) -> Option<String>,
        policy_object: Option<String>,
    ) -> Result<FunctionConfig, ConfigError> {
        let topic_arn = get(TOPIC_ARN_VAR).ok_or(ConfigError::Var {
            var: TOPIC_ARN_VAR,
            problem: "missing: the SNS topic ARN for alerts".to_string(),
        })?;
        Ok(FunctionConfig {
            topic_arn,
            policy: policy_from_lookup_with(&get, policy_object)?,
            settings: GuardSettings {
                own_role_arn: get(OWN_ROLE_ARN_VAR),
                acting_as: None,
            },
            state_table: get(STATE_TABLE_VAR),
            sweep_queue_url: get(SWEEP_QUEUE_VAR),
            retro_bucket: get(RETRO_BUCKET_VAR),
            failure_queue_url: get(FAILURE_QUEUE_VAR),
            security_hub: get(SECURITY_HUB_VAR)
                .map(|arn| crate::output::asff::Product::parse(arn.trim()))
                .transpose()
                .map_err(|problem| ConfigError::Var {
                    var: SECURITY_HUB_VAR,
                    problem,
                })?,
            chatbot_topic_arn: get(CHATBOT_TOPIC_VAR)
                .map(|arn| {
                    let arn = arn.trim().to_string();
                    match arn.split(':').collect::<Vec<_>>()[..] {
                        ["arn", _, "sns", _, _, name] if !name.is_empty() => Ok(arn),
                        _ => Err(ConfigError::Var {
                            var: CHATBOT_TOPIC_VAR,
                            problem: format!("expected an SNS topic ARN, found {arn:?}"),
                        }),
                    }
                })
                .transpose()?,
        })
    }
}

/// The process environment, a blank value as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The S3 object `ACCESS_GUARD_POLICY` names, if it names one.
pub fn policy_location(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<PolicyLocation>, ConfigError> {
    let Some(value) = get(POLICY_VAR) else {
        return Ok(None);
    };
    let Some(rest) = value.trim().strip_prefix("s3://") else {
        return Ok(None);
    };
    let bad = |problem: &str| ConfigError::Var {
        var: POLICY_VAR,
        problem: format!("{problem}: expected s3://BUCKET/KEY[?versionId=VERSION]"),
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    let (bucket, key) = path.split_once('/').ok_or_else(|| bad("no key"))?;
    if bucket.is_empty() || key.is_empty() {
        return Err(bad("an empty bucket or key"));
    }
    let version_id = match query {
        None => None,
        Some(q) => match q.strip_prefix("versionId=") {
            Some(v) if !v.is_empty() && !v.contains('&') => Some(v.to_string()),
            _ => return Err(bad("the only query is versionId")),
        },
    };
    Ok(Some(PolicyLocation {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version_id,
    }))
}

/// The policy named by `ACCESS_GUARD_POLICY` (or the embedded one), with the
/// environment's overrides applied.
pub fn policy_from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Policy, ConfigError> {
    policy_from_lookup_with(get, None)
}

/// As [`policy_from_lookup`], with the text of the S3 object the policy
/// variable names (read by the caller: this module does no I/O but files).
pub fn policy_from_lookup_with(
    get: &impl Fn(&str) -> Option<String>,
    policy_object: Option<String>,
) -> Result<Policy, ConfigError> {
    let mut policy = match (get(POLICY_VAR), policy_location(get)?) {
        (None, _) => Policy::embedded(),
        (Some(_), Some(location)) => match policy_object {
            Some(text) => crate::rules::policy_from_toml(&text, &location.to_string())?,
            None => {
                return Err(ConfigError::Var {
                    var: POLICY_VAR,
                    problem: format!("the policy object {location} was not read"),
                })
            }
        },
        (Some(value), None) if value.contains('\n') || value.contains('=') => {
            crate::rules::policy_from_toml(&value, "ACCESS_GUARD_POLICY (inline)")?
        }
        (Some(path), None) => {
            let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Var {
                var: POLICY_VAR,
                problem: format!("cannot read policy file {path}: {e}"),
            })?;
            crate::rules::policy_from_toml(&text, &path)?
        }
    };
    apply_overrides(&mut policy, get)?;
    Ok(policy)
}

/// `true`/`false` (or `1`/`0`, `yes`/`no`) in `var`.
fn boolean(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::Var {
            var,
            problem: format!("expected true or false, found {value:?}"),
        }),
    }
}

/// Applies the environment's overrides of common knobs. Precedence for
/// `dry_run`: `ACCESS_GUARD_DRY_RUN` when set, else the policy file's
/// `dry_run`, else the embedded default (`true`).
pub fn apply_overrides(
    policy: &mut Policy,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if let Some(value) = get(DRY_RUN_VAR) {
        policy.dry_run = boolean(DRY_RUN_VAR, &value)?;
        policy.dry_run_source = DRY_RUN_VAR;
        set_from_environment(
            &mut policy.settings,
            "dry_run",
            policy.dry_run.to_string(),
            DRY_RUN_VAR,
        );
    }
    if let Some(value) = get(SWEEP_REVOKE_VAR) {
        policy.sweep.revoke = boolean(SWEEP_REVOKE_VAR, &value)?;
        set_from_environment(
            &mut policy.settings,
            "sweep.revoke",
            policy.sweep.revoke.to_string(),
            SWEEP_REVOKE_VAR,
        );
    }
    if let Some(value) = get(NOTIFY_MIN_SEVERITY_VAR) {
        policy.notify_min_severity =
            value
                .parse::<Severity>()
                .map_err(|problem| ConfigError::Var {
                    var: NOTIFY_MIN_SEVERITY_VAR,
                    problem,
                })?;
        set_from_environment(
            &mut policy.settings,
            "notify_min_severity",
            format!("{:?}", policy.notify_min_severity.to_string()),
            NOTIFY_MIN_SEVERITY_VAR,
        );
    }
    if let Some(value) = get(EXEMPTION_TAG_KEY_VAR) {
        set_from_environment(
            &mut policy.settings,
            "exemption_tag_key",
            format!("{value:?}"),
            EXEMPTION_TAG_KEY_VAR,
        );
        policy.exemption_tag_key = value;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_sweep_revokes_as_its_variable_says_over_the_policy() {
        let topic = (TOPIC_ARN_VAR, "arn:aws:sns:us-east-1:111122223333:alerts");
        let revoke = |vars: &[(&str, &str)]| {
            let mut vars = vars.to_vec();
            vars.push(topic);
            FunctionConfig::from_lookup(lookup(&vars))
                .map(|c| c.policy.sweep.revoke)
                .map_err(|e| e.to_string())
        };
        assert_eq!(revoke(&[]), Ok(false));
        assert_eq!(revoke(&[(POLICY_VAR, "[sweep]\nrevoke = true")]), Ok(true));
        assert_eq!(
            revoke(&[
                (POLICY_VAR, "[sweep]\nrevoke = true"),
                (SWEEP_REVOKE_VAR, "false")
            ]),
            Ok(false)
        );
        assert_eq!(revoke(&[(SWEEP_REVOKE_VAR, "true")]), Ok(true));
        let bad = revoke(&[(SWEEP_REVOKE_VAR, "sometimes")]).unwrap_err();
        assert!(bad.starts_with(SWEEP_REVOKE_VAR), "{bad}");
    }

    #[test]
    fn inline_policy_and_overrides() {
        let get = lookup(&[
            (TOPIC_ARN_VAR, "arn:aws:sns:us-east-1:111122223333:alerts"),
            (POLICY_VAR, "notify_min_severity = \"low\""),
            (DRY_RUN_VAR, "TRUE"),
        ]);
        let config = FunctionConfig::from_lookup(get).unwrap();
        assert!(config.policy.dry_run);
        assert_eq!(config.policy.notify_min_severity, Severity::Low);
    }

    #[test]
    fn dry_run_is_on_unless_the_environment_or_the_policy_says_otherwise() {
        let topic = (TOPIC_ARN_VAR, "arn:aws:sns:us-east-1:111122223333:alerts");
        type Vars<'a> = &'a [(&'a str, &'a str)];
        let cases: [(Vars, bool, &str); 5] = [
            (&[], true, "the embedded default"),
            (&[(POLICY_VAR, "dry_run = false")], false, "the policy file"),
            (
                &[(POLICY_VAR, "notify_min_severity = \"low\"")],
                true,
                "the embedded default",
            ),
            (
                &[(POLICY_VAR, "dry_run = false"), (DRY_RUN_VAR, "true")],
                true,
                DRY_RUN_VAR,
            ),
            (
                &[(POLICY_VAR, "dry_run = true"), (DRY_RUN_VAR, "false")],
                false,
                DRY_RUN_VAR,
            ),
        ];
        for (vars, dry_run, source) in cases {
            let mut pairs = vars.to_vec();
            pairs.push(topic);
            let policy = FunctionConfig::from_lookup(lookup(&pairs)).unwrap().policy;
            assert_eq!(
                (policy.dry_run, policy.dry_run_source),
                (dry_run, source),
                "{vars:?}"
            );
        }
    }

    #[test]
    fn the_sinks_are_off_unless_their_variables_say_where() {
        let topic = (TOPIC_ARN_VAR, "arn:aws:sns:us-east-1:111122223333:alerts");
        let off = FunctionConfig::from_lookup(lookup(&[topic])).unwrap();
        assert_eq!((off.security_hub, off.chatbot_topic_arn), (None, None));
        let on = FunctionConfig::from_lookup(lookup(&[
            topic,
            (
                SECURITY_HUB_VAR,
                "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default",
            ),
            (CHATBOT_TOPIC_VAR, "arn:aws:sns:us-east-1:111122223333:chat"),
        ]))
        .unwrap();
        assert_eq!(
            on.security_hub,
            Some(crate::output::asff::Product::default_of(
                "aws",
                "us-east-1",
                "111122223333"
            ))
        );
        assert_eq!(
            on.chatbot_topic_arn.as_deref(),
            Some("arn:aws:sns:us-east-1:111122223333:chat")
        );
        for (var, bad) in [
            (SECURITY_HUB_VAR, "true"),
            (
                SECURITY_HUB_VAR,
                "arn:aws:securityhub:us-east-1:111122223333:product/444455556666/default",
            ),
            (CHATBOT_TOPIC_VAR, "chat"),
        ] {
            let err = FunctionConfig::from_lookup(lookup(&[topic, (var, bad)]))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }

    #[test]
    fn each_setting_says_whether_the_embedded_policy_the_file_or_the_environment_set_it() {
        use crate::policy::settings::Source;
        let source = |pairs: &[(&str, &str)], key: &str| {
            let policy = policy_from_lookup(&lookup(pairs)).unwrap();
            let setting = policy
                .settings
                .iter()
                .find(|s| s.key == key)
                .cloned()
                .unwrap_or_else(|| panic!("{key}"));
            (setting.value, setting.source)
        };
        let inline = || Source::File("ACCESS_GUARD_POLICY (inline)".to_string());
        let file = (POLICY_VAR, "exemption_tag_key = \"secops:exempt\"\n[organization]\naccounts = [\"111122223333\"]\nregions = [\"us-east-1\"]\n");
        assert_eq!(
            source(&[file], "exemption_tag_key"),
            ("\"secops:exempt\"".to_string(), inline())
        );
        assert_eq!(
            source(&[file], "notify_min_severity"),
            ("\"high\"".to_string(), Source::Embedded)
        );
        assert_eq!(
            source(&[file], "organization.accounts"),
            ("[\"111122223333\"]".to_string(), inline())
        );
        assert_eq!(
            source(
                &[file, (EXEMPTION_TAG_KEY_VAR, "ops:skip")],
                "exemption_tag_key"
            ),
            (
                "\"ops:skip\"".to_string(),
                Source::Environment(EXEMPTION_TAG_KEY_VAR)
            )
        );
        assert_eq!(
            source(&[(DRY_RUN_VAR, "false")], "dry_run"),
            ("false".to_string(), Source::Environment(DRY_RUN_VAR))
        );
        // And what the function runs with is what the list says.
        let policy =
            policy_from_lookup(&lookup(&[file, (EXEMPTION_TAG_KEY_VAR, "ops:skip")])).unwrap();
        assert_eq!(policy.exemption_tag_key, "ops:skip");
    }

    #[test]
    fn bad_values_name_the_variable_or_key() {
        let err = FunctionConfig::from_lookup(lookup(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(TOPIC_ARN_VAR), "{err}");
        let err = policy_from_lookup(&lookup(&[(DRY_RUN_VAR, "maybe")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(DRY_RUN_VAR), "{err}");
        let err = policy_from_lookup(&lookup(&[(POLICY_VAR, "dry_run = 3")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("dry_run"), "{err}");
        let err = policy_from_lookup(&lookup(&[(POLICY_VAR, "/nonexistent/policy.toml")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/policy.toml"), "{err}");
        // A rule id the catalog does not have stops the start: a typo in
        // `[rules."…"]` would otherwise leave the rule as it was, unseen.
        let err = policy_from_lookup(&lookup(&[(
            POLICY_VAR,
            "[rules.\"EC2-SG-03\"]\nenabled = false\n",
        )]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("rules.\"EC2-SG-03\": unknown rule id"),
            "{err}"
        );
    }
}
