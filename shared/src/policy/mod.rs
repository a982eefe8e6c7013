//! The policy file (DESIGN §6): one TOML document, validated as a whole before
//! anything runs. Keys it leaves out keep the embedded default's values.
//!
//! Here, the validated [`Policy`] and the way in ([`Policy::from_toml`]);
//! one file a step besides:
//! - `file`: the document as written (its `*File` tables), and the key a
//!   TOML error points at;
//! - `resolve`: the file over the embedded default, validated into a
//!   [`Policy`];
//! - `exemptions`: what an exemption covers, when it holds, and which one
//!   applies to a group (by the policy or by the exemption tag);
//! - `organization`: the accounts and regions an organization deployment
//!   acts in, and its member roles;
//! - `settings`: every setting's effective value and where it came from;
//! - `location`: where a deployed policy is kept.
//!
//! Layer: policy. May import the model; never the rules (their ids are
//! checked against the catalog by `rules::check_policy`).

use std::collections::BTreeMap;

use crate::finding::{Action, Severity};
use crate::model::net::WidePrefixes;

mod exemptions;
mod file;
pub mod location;
mod organization;
mod resolve;
pub mod settings;

pub use exemptions::{Exemption, ExemptionMatch, ExemptionScope, ExemptionStatus};
pub use organization::{
    AccountScope, Organization, DEFAULT_MEMBER_ROLE, MAX_OU_CACHE, REVOKE_ROLE_SUFFIX,
};

use file::{key_at, PolicyFile};

/// The policy compiled into every binary.
pub const EMBEDDED: &str = include_str!("../../policy/default.toml");

/// A policy that cannot be used, naming the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy {origin}: {key}: {problem}")]
pub struct PolicyError {
    pub origin: String,
    pub key: String,
    pub problem: String,
}

/// `[sweep]`: what the scheduled sweep may do besides alerting (DESIGN §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSettings {
    /// Revoke world-open ingress the sweep finds (every invariant of §7
    /// holds, `dry_run` included). Off by default: the sweep only alerts.
    pub revoke: bool,
    /// At most this many rules revoked by one sweep of one place.
    pub max_revocations_per_run: usize,
}

/// How the policy changes one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSetting {
    pub severity: Severity,
    /// `Action::Off` when the rule is disabled.
    pub action: Action,
}

/// One `[rules."ID"]` table: what it changes, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleOverride {
    pub severity: Option<Severity>,
    pub action: Option<Action>,
    /// `enabled = false` turns the rule off, whatever its action.
    pub enabled: bool,
}

/// Tag keys required per kind of resource; an empty list asks for at least one tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequiredTags {
    pub task_definition: Vec<String>,
    pub service: Vec<String>,
    pub cluster: Vec<String>,
}

/// The current Fargate platform version per operating system family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformVersions {
    pub linux: String,
    pub windows: String,
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub dry_run: bool,
    /// Where `dry_run` came from: the policy file, the embedded default, or
    /// `ACCESS_GUARD_DRY_RUN` (which wins when set).
    pub dry_run_source: &'static str,
    pub notify_min_severity: Severity,
    pub max_revocations_per_event: usize,
    pub wide: WidePrefixes,
    pub wide_port_range: u32,
    pub exemption_tag_key: String,
    /// How far ahead a tag exemption may expire; without `expires=`, or
    /// beyond this, it is not honoured.
    pub max_tag_exemption_days: u32,
    pub authorized_tcp: Vec<u16>,
    pub authorized_udp: Vec<u16>,
    pub high_risk_ports: Vec<u16>,
    pub data_plane_ports: Vec<u16>,
    /// UDP ports that answer small requests with large replies (EC2-SG-008).
    pub udp_amplification_ports: Vec<u16>,
    /// A public source wider than this, and narrower than internet-wide, is
    /// a wide public CIDR (EC2-SG-009).
    pub wide_public: WidePrefixes,
    /// Tag keys each kind of resource must carry (ECS-TD-026, ECS-SVC-011,
    /// ECS-CL-003); an empty list asks for at least one tag.
    pub required_tags: RequiredTags,
    /// Service Connect namespaces services may join (ECS-SVC-007); empty:
    /// any namespace (TLS is still required).
    pub allowed_namespaces: Vec<String>,
    /// The Fargate platform versions considered current (ECS-SVC-006).
    pub latest_platform: PlatformVersions,
    /// Registries trusted besides the account's own ECR (host, or host/path prefix).
    pub trusted_registries: Vec<String>,
    pub extra_dangerous_capabilities: Vec<String>,
    pub extra_sensitive_host_paths: Vec<String>,
    /// Words in a variable name that suggest a secret (ECS-TD-009).
    pub secret_name_keywords: Vec<String>,
    /// Variable names never reported as secrets (ECS-TD-008/009).
    pub allowed_env_names: Vec<String>,
    /// `[rules."ID"]`, by id. Parsed here; whether each id is in the
    /// catalog, and may revoke, is checked by `rules::check_policy`.
    pub rules: BTreeMap<String, RuleOverride>,
    pub exemptions: Vec<Exemption>,
    /// What people call each account (`[account_names]`, `"123456789012" =
    /// "payments-prod"`): alerts name the account by it beside its id.
    pub account_names: BTreeMap<String, String>,
    /// One deployment for many accounts and regions; `None`: the function's own only.
    pub organization: Option<Organization>,
    pub sweep: SweepSettings,
    /// Every setting's effective value and where it came from (embedded,
    /// file, environment): logged at start-up, printed by `policy check`.
    pub settings: Vec<settings::Setting>,
}

impl Policy {
    /// The embedded default policy.
    pub fn embedded() -> Policy {
        // The embedded file is checked by a unit test; failing here would be a build defect.
        Policy::from_toml(EMBEDDED, "(embedded)").unwrap_or_else(|e| panic!("{e}"))
    }

    /// Parses and validates a policy; keys it leaves out take the embedded
    /// defaults. The rule ids of `[rules."ID"]` are the catalog's to check:
    /// a policy loaded for use goes through `rules::policy_from_toml`.
    pub fn from_toml(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| PolicyError {
            origin: origin.to_string(),
            key: e
                .span()
                .map(|s| key_at(text, s))
                .unwrap_or_else(|| "(document)".to_string()),
            problem: e.message().to_string(),
        })?;
        let base = if origin == "(embedded)" {
            PolicyFile::default()
        } else {
            toml::from_str(EMBEDDED).map_err(|e| PolicyError {
                origin: "(embedded)".to_string(),
                key: "(document)".to_string(),
                problem: e.message().to_string(),
            })?
        };
        let mut policy = Policy::resolve(file, base, origin)?;
        // Both documents parsed above as PolicyFile: as tables they parse too.
        let table = |text: &str| text.parse::<toml::Table>().unwrap_or_default();
        let embedded = table(EMBEDDED);
        policy.settings = if origin == "(embedded)" {
            settings::effective(&embedded, None)
        } else {
            settings::effective(&embedded, Some((&table(text), origin)))
        };
        Ok(policy)
    }

    /// The severity and action the policy gives the rule `id`, whose own
    /// are `default`.
    pub fn setting(&self, id: &str, default: RuleSetting) -> RuleSetting {
        let Some(over) = self.rules.get(id) else {
            return default;
        };
        RuleSetting {
            severity: over.severity.unwrap_or(default.severity),
            action: if over.enabled {
                over.action.unwrap_or(default.action)
            } else {
                Action::Off
            },
        }
    }
}

#[cfg(test)]
mod test_support {
    use super::{Policy, PolicyError};

    pub(super) fn policy(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml(text, "test.toml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_policy_is_valid_and_complete() {
        let p = Policy::embedded();
        assert!(p.dry_run, "a first deployment never revokes by surprise");
        assert_eq!(p.notify_min_severity, Severity::High);
        assert_eq!(p.authorized_tcp, vec![80, 443]);
        assert_eq!(p.high_risk_ports.len(), 22);
        assert_eq!(p.data_plane_ports.len(), 21);
        assert!(p.rules.is_empty(), "the catalog's own settings hold");
    }
}
