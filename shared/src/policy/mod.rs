//! The policy file (DESIGN §6): one TOML document, validated as a whole before
//! anything runs. Keys it leaves out keep the embedded default's values.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::Date;

use crate::finding::{Action, Severity};
use crate::model::net::WidePrefixes;

pub mod location;
pub mod settings;

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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    dry_run: Option<bool>,
    notify_min_severity: Option<String>,
    max_revocations_per_event: Option<u32>,
    wide_ipv4_prefix: Option<u8>,
    wide_ipv6_prefix: Option<u8>,
    wide_port_range: Option<u32>,
    exemption_tag_key: Option<String>,
    max_tag_exemption_days: Option<u32>,
    authorized_public_ports: Option<PortsByProtocol>,
    ports: Option<PortListsFile>,
    task_definition: Option<TaskDefinitionFile>,
    wide_public_ipv4_prefix: Option<u8>,
    wide_public_ipv6_prefix: Option<u8>,
    required_tags: Option<RequiredTagsFile>,
    service: Option<ServiceFile>,
    organization: Option<OrganizationFile>,
    sweep: Option<SweepFile>,
    #[serde(default)]
    account_names: BTreeMap<String, String>,
    #[serde(default)]
    rules: BTreeMap<String, RuleOverrideFile>,
    #[serde(default)]
    exemptions: Vec<ExemptionFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequiredTagsFile {
    task_definition: Option<Vec<String>>,
    service: Option<Vec<String>>,
    cluster: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceFile {
    allowed_namespaces: Option<Vec<String>>,
    latest_linux_platform_version: Option<String>,
    latest_windows_platform_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    revoke: Option<bool>,
    max_revocations_per_run: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganizationFile {
    accounts: AccountsFile,
    organization_id: Option<String>,
    regions: Vec<String>,
    member_role_name: Option<String>,
    ou_cache_seconds: Option<u64>,
    revoke_role_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AccountsFile {
    List(Vec<String>),
    Every(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortsByProtocol {
    tcp: Option<Vec<u16>>,
    udp: Option<Vec<u16>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortListsFile {
    high_risk: Option<Vec<u16>>,
    data_plane: Option<Vec<u16>>,
    udp_amplification: Option<Vec<u16>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskDefinitionFile {
    trusted_registries: Option<Vec<String>>,
    extra_dangerous_capabilities: Option<Vec<String>>,
    extra_sensitive_host_paths: Option<Vec<String>>,
    secret_name_keywords: Option<Vec<String>>,
    allowed_env_names: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleOverrideFile {
    enabled: Option<bool>,
    severity: Option<String>,
    action: Option<Action>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExemptionFile {
    group_id: Option<String>,
    account: Option<String>,
    ou: Option<String>,
    reason: Option<String>,
    owner: Option<String>,
    expires: Option<String>,
}

/// The member role's name when the policy names none.
pub const DEFAULT_MEMBER_ROLE: &str = "access-guard-member";
/// The revoke role's name when the policy names none: the member role's
/// name with this suffix (`access-guard-member-revoke`).
pub const REVOKE_ROLE_SUFFIX: &str = "-revoke";

/// The accounts an organization deployment acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountScope {
    Listed(Vec<String>),
    /// Every account of the organization (events reach the central bus only
    /// from it: its policy checks `aws:PrincipalOrgID`).
    Organization(String),
}

/// `[organization]`: one deployment for many accounts and regions (DESIGN §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub accounts: AccountScope,
    pub regions: Vec<String>,
    /// The read-only role assumed in a member account
    /// (`arn:<partition>:iam::<account>:role/<name>`), for every call but the revoke.
    pub member_role_name: String,
    /// How long the OUs an account sits in are kept once read (exemptions
    /// by OU): at most [`MAX_OU_CACHE`].
    pub ou_cache: std::time::Duration,
    /// The role assumed in a member account for `RevokeSecurityGroupIngress`
    /// alone (DESIGN §7.13), trusted only by the functions that revoke;
    /// default `<member_role_name>-revoke`.
    pub revoke_role_name: String,
}

/// What is read from Organizations is kept at most this long (DESIGN §7
/// invariant 12): minutes, never the life of an instance.
pub const MAX_OU_CACHE: std::time::Duration = std::time::Duration::from_secs(300);

impl Organization {
    /// Why `account`/`region` is outside the scope, or `None` when inside.
    pub fn outside(&self, account: &str, region: &str) -> Option<String> {
        let account_in = match &self.accounts {
            AccountScope::Listed(accounts) => accounts.iter().any(|a| a == account),
            AccountScope::Organization(_) => is_account_id(account),
        };
        if !account_in {
            return Some(format!(
                "account {account} is not in the organization scope"
            ));
        }
        if !self.regions.iter().any(|r| r == region) {
            return Some(format!("region {region} is not in the organization scope"));
        }
        None
    }
}

fn is_ou_id(text: &str) -> bool {
    text.strip_prefix("ou-").is_some_and(|rest| {
        rest.len() >= 10
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
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

/// What an exemption covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionScope {
    Group(String),
    Account(String),
    /// Every account of an organizational unit, at any depth below it.
    Ou(String),
}

/// An exemption written in the policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exemption {
    pub scope: ExemptionScope,
    pub reason: String,
    pub owner: Option<String>,
    pub expires: Option<Date>,
}

/// Whether an exemption that applies to a group holds today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionStatus {
    Active,
    /// Past its expiry date: reported, not honoured.
    Expired,
    /// Written so that it cannot be read (e.g. a bad date in the tag): not honoured.
    Invalid,
    /// A tag without `expires=`, or expiring beyond `max_tag_exemption_days`:
    /// not honoured (tag exemptions expire).
    Unbounded,
}

impl ExemptionStatus {
    /// How the alert says it.
    pub fn phrase(self) -> &'static str {
        match self {
            ExemptionStatus::Active => "active",
            ExemptionStatus::Expired => "EXPIRED, not honoured",
            ExemptionStatus::Invalid => "UNREADABLE, not honoured",
            ExemptionStatus::Unbounded => {
                "NOT HONOURED: a tag exemption needs expires= within max_tag_exemption_days"
            }
        }
    }
}

/// The exemption that applies to one event's group, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExemptionMatch {
    /// `policy group sg-…`, `policy account 1234…`, or `tag access-guard:exempt`.
    pub source: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    pub status: ExemptionStatus,
}

impl ExemptionMatch {
    pub fn is_active(&self) -> bool {
        self.status == ExemptionStatus::Active
    }
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

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("expected a date YYYY-MM-DD, found {text:?}"))
}

fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| date.to_string())
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

    fn resolve(file: PolicyFile, base: PolicyFile, origin: &str) -> Result<Policy, PolicyError> {
        let err = |key: &str, problem: String| PolicyError {
            origin: origin.to_string(),
            key: key.to_string(),
            problem,
        };
        let missing = |key: &str| err(key, "missing (and no default)".to_string());
        let base_ports = base.authorized_public_ports.unwrap_or_default();
        let file_ports = file.authorized_public_ports.unwrap_or_default();
        let base_lists = base.ports.unwrap_or_default();
        let base_td = base.task_definition.unwrap_or_default();
        let file_td = file.task_definition.unwrap_or_default();
        for (i, path) in file_td
            .extra_sensitive_host_paths
            .iter()
            .flatten()
            .enumerate()
        {
            if !path.starts_with('/') {
                return Err(err(
                    &format!("task_definition.extra_sensitive_host_paths[{i}]"),
                    format!("{path:?} is not an absolute path"),
                ));
            }
        }
        let file_lists = file.ports.unwrap_or_default();

        let severity_text = file
            .notify_min_severity
            .or(base.notify_min_severity)
            .ok_or_else(|| missing("notify_min_severity"))?;
        let notify_min_severity = severity_text
            .parse::<Severity>()
            .map_err(|p| err("notify_min_severity", p))?;
        let wide = WidePrefixes {
            ipv4: file.wide_ipv4_prefix.or(base.wide_ipv4_prefix).unwrap_or(8),
            ipv6: file
                .wide_ipv6_prefix
                .or(base.wide_ipv6_prefix)
                .unwrap_or(16),
        };
        if wide.ipv4 > 16 {
            return Err(err(
                "wide_ipv4_prefix",
                format!("{} is not a prefix length from 0 to 16", wide.ipv4),
            ));
        }
        if wide.ipv6 > 64 {
            return Err(err(
                "wide_ipv6_prefix",
                format!("{} is not a prefix length from 0 to 64", wide.ipv6),
            ));
        }
        let wide_public = WidePrefixes {
            ipv4: file
                .wide_public_ipv4_prefix
                .or(base.wide_public_ipv4_prefix)
                .unwrap_or(16),
            ipv6: file
                .wide_public_ipv6_prefix
                .or(base.wide_public_ipv6_prefix)
                .unwrap_or(32),
        };
        if wide_public.ipv4 <= wide.ipv4 || wide_public.ipv4 > 32 {
            return Err(err(
                "wide_public_ipv4_prefix",
                format!(
                    "{} is not a prefix length from wide_ipv4_prefix + 1 ({}) to 32",
                    wide_public.ipv4,
                    wide.ipv4 + 1
                ),
            ));
        }
        if wide_public.ipv6 <= wide.ipv6 || wide_public.ipv6 > 128 {
            return Err(err(
                "wide_public_ipv6_prefix",
                format!(
                    "{} is not a prefix length from wide_ipv6_prefix + 1 ({}) to 128",
                    wide_public.ipv6,
                    wide.ipv6 + 1
                ),
            ));
        }
        let base_tags = base.required_tags.unwrap_or_default();
        let file_tags = file.required_tags.unwrap_or_default();
        let required_tags = RequiredTags {
            task_definition: file_tags
                .task_definition
                .or(base_tags.task_definition)
                .unwrap_or_default(),
            service: file_tags.service.or(base_tags.service).unwrap_or_default(),
            cluster: file_tags.cluster.or(base_tags.cluster).unwrap_or_default(),
        };
        for (kind, keys) in [
            ("task_definition", &required_tags.task_definition),
            ("service", &required_tags.service),
            ("cluster", &required_tags.cluster),
        ] {
            if let Some(i) = keys.iter().position(|k| k.trim().is_empty()) {
                return Err(err(
                    &format!("required_tags.{kind}[{i}]"),
                    "a tag key must not be empty".to_string(),
                ));
            }
        }
        let base_svc = base.service.unwrap_or_default();
        let file_svc = file.service.unwrap_or_default();
        let latest_platform = PlatformVersions {
            linux: file_svc
                .latest_linux_platform_version
                .or(base_svc.latest_linux_platform_version)
                .unwrap_or_else(|| "1.4.0".to_string()),
            windows: file_svc
                .latest_windows_platform_version
                .or(base_svc.latest_windows_platform_version)
                .unwrap_or_else(|| "1.0.0".to_string()),
        };
        for (key, version) in [
            (
                "service.latest_linux_platform_version",
                &latest_platform.linux,
            ),
            (
                "service.latest_windows_platform_version",
                &latest_platform.windows,
            ),
        ] {
            if crate::model::svc::platform_version(version).is_none() {
                return Err(err(key, format!("{version:?} is not a version like 1.4.0")));
            }
        }
        let allowed_namespaces = file_svc
            .allowed_namespaces
            .or(base_svc.allowed_namespaces)
            .unwrap_or_default();
        let max_revocations = file
            .max_revocations_per_event
            .or(base.max_revocations_per_event)
            .unwrap_or(20);
        if max_revocations == 0 {
            return Err(err(
                "max_revocations_per_event",
                "must be at least 1 (use dry_run to stop revoking)".to_string(),
            ));
        }
        let wide_port_range = file
            .wide_port_range
            .or(base.wide_port_range)
            .unwrap_or(1000);
        if !(2..=65536).contains(&wide_port_range) {
            return Err(err(
                "wide_port_range",
                format!("{wide_port_range} is not from 2 to 65536"),
            ));
        }
        let exemption_tag_key = file
            .exemption_tag_key
            .or(base.exemption_tag_key)
            .ok_or_else(|| missing("exemption_tag_key"))?;
        if exemption_tag_key.trim().is_empty() {
            return Err(err("exemption_tag_key", "must not be empty".to_string()));
        }
        let max_tag_exemption_days = file
            .max_tag_exemption_days
            .or(base.max_tag_exemption_days)
            .unwrap_or(90);
        if !(1..=366).contains(&max_tag_exemption_days) {
            return Err(err(
                "max_tag_exemption_days",
                format!("{max_tag_exemption_days} is not from 1 to 366"),
            ));
        }

        // Which ids exist, and which rules may revoke, is the catalog's to
        // say: `rules::check_policy` checks these against it.
        let mut rule_overrides = BTreeMap::new();
        for (id, over) in file.rules {
            let key = format!("rules.\"{id}\"");
            let severity = match &over.severity {
                Some(severity) => Some(
                    severity
                        .parse()
                        .map_err(|p| err(&format!("{key}.severity"), p))?,
                ),
                None => None,
            };
            rule_overrides.insert(
                id,
                RuleOverride {
                    severity,
                    action: over.action,
                    enabled: over.enabled != Some(false),
                },
            );
        }

        let mut exemptions = Vec::new();
        for (i, ex) in file.exemptions.into_iter().enumerate() {
            let key = format!("exemptions[{i}]");
            let scope = match (ex.group_id, ex.account, ex.ou) {
                (None, None, Some(ou)) if is_ou_id(&ou) => ExemptionScope::Ou(ou),
                (None, None, Some(ou)) => {
                    return Err(err(
                        &format!("{key}.ou"),
                        format!("{ou:?} is not an organizational unit id (ou-…)"),
                    ));
                }
                (Some(g), None, None) if g.starts_with("sg-") => ExemptionScope::Group(g),
                (Some(g), None, None) => {
                    return Err(err(
                        &format!("{key}.group_id"),
                        format!("{g:?} is not a security group id (sg-…)"),
                    ));
                }
                (None, Some(a), None) if is_account_id(&a) => ExemptionScope::Account(a),
                (None, Some(a), None) => {
                    return Err(err(
                        &format!("{key}.account"),
                        format!("{a:?} is not a 12-digit account id"),
                    ));
                }
                _ => {
                    return Err(err(
                        &key,
                        "needs exactly one of group_id, account or ou".to_string(),
                    ));
                }
            };
            let reason = ex.reason.filter(|r| !r.trim().is_empty()).ok_or_else(|| {
                err(
                    &format!("{key}.reason"),
                    "missing: every exemption says why".to_string(),
                )
            })?;
            let expires = match ex.expires {
                Some(text) => {
                    Some(parse_date(&text).map_err(|p| err(&format!("{key}.expires"), p))?)
                }
                None => None,
            };
            exemptions.push(Exemption {
                scope,
                reason,
                owner: ex.owner,
                expires,
            });
        }

        let base_sweep = base.sweep.unwrap_or_default();
        let file_sweep = file.sweep.unwrap_or_default();
        let max_revocations_per_run = file_sweep
            .max_revocations_per_run
            .or(base_sweep.max_revocations_per_run)
            .unwrap_or(10);
        if max_revocations_per_run == 0 {
            return Err(err(
                "sweep.max_revocations_per_run",
                "must be at least 1 (use sweep.revoke = false to stop revoking)".to_string(),
            ));
        }
        let sweep = SweepSettings {
            revoke: file_sweep.revoke.or(base_sweep.revoke).unwrap_or(false),
            max_revocations_per_run: max_revocations_per_run as usize,
        };
        let organization = match file.organization {
            None => None,
            Some(org) => Some(organization(org, &err)?),
        };
        if organization.is_none() {
            // Where an account sits is read only in organization mode.
            if let Some(i) = exemptions
                .iter()
                .position(|ex: &Exemption| matches!(ex.scope, ExemptionScope::Ou(_)))
            {
                return Err(err(
                    &format!("exemptions[{i}].ou"),
                    "exemptions by OU need [organization]".to_string(),
                ));
            }
        }
        for (account, name) in &file.account_names {
            let key = format!("account_names.{account}");
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(&key, "an account id is 12 digits".to_string()));
            }
            if name.trim().is_empty()
                || name.chars().count() > 64
                || name.chars().any(char::is_control)
            {
                return Err(err(
                    &key,
                    "a name of 1 to 64 characters, none a control character".to_string(),
                ));
            }
        }
        Ok(Policy {
            settings: Vec::new(),
            account_names: file.account_names.clone(),
            organization,
            sweep,
            dry_run_source: if file.dry_run.is_some() && origin != "(embedded)" {
                "the policy file"
            } else {
                "the embedded default"
            },
            dry_run: file.dry_run.or(base.dry_run).unwrap_or(true),
            notify_min_severity,
            max_revocations_per_event: max_revocations as usize,
            wide,
            wide_port_range,
            exemption_tag_key,
            max_tag_exemption_days,
            authorized_tcp: file_ports.tcp.or(base_ports.tcp).unwrap_or_default(),
            authorized_udp: file_ports.udp.or(base_ports.udp).unwrap_or_default(),
            high_risk_ports: file_lists
                .high_risk
                .or(base_lists.high_risk)
                .unwrap_or_default(),
            data_plane_ports: file_lists
                .data_plane
                .or(base_lists.data_plane)
                .unwrap_or_default(),
            udp_amplification_ports: file_lists
                .udp_amplification
                .or(base_lists.udp_amplification)
                .unwrap_or_default(),
            wide_public,
            required_tags,
            allowed_namespaces,
            latest_platform,
            trusted_registries: file_td
                .trusted_registries
                .or(base_td.trusted_registries)
                .unwrap_or_default(),
            extra_dangerous_capabilities: file_td
                .extra_dangerous_capabilities
                .or(base_td.extra_dangerous_capabilities)
                .unwrap_or_default(),
            extra_sensitive_host_paths: file_td
                .extra_sensitive_host_paths
                .or(base_td.extra_sensitive_host_paths)
                .unwrap_or_default(),
            secret_name_keywords: file_td
                .secret_name_keywords
                .or(base_td.secret_name_keywords)
                .unwrap_or_default(),
            allowed_env_names: file_td
                .allowed_env_names
                .or(base_td.allowed_env_names)
                .unwrap_or_default(),
            rules: rule_overrides,
            exemptions,
        })
    }

    /// True when an exemption names an OU: the guard then reads the OUs an
    /// account sits in (`organizations:ListParents`).
    pub fn has_ou_exemptions(&self) -> bool {
        self.exemptions
            .iter()
            .any(|ex| matches!(ex.scope, ExemptionScope::Ou(_)))
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

    /// Reads the exemption tag's value `<reason>;expires=YYYY-MM-DD`. It
    /// holds only with a reason and an expiry from today to
    /// `max_tag_exemption_days` ahead (DESIGN §7.11).
    pub fn tag_exemption(&self, value: &str, today: Date) -> ExemptionMatch {
        self.tag_exemption_set_on(value, today, today)
    }

    /// As [`Policy::tag_exemption`], with the window judged from the day the
    /// tag was set (`set_on`, when earlier than `today`): a tag whose expiry
    /// lay beyond the window when it was set is never honoured, not even
    /// once its date comes within `max_tag_exemption_days` of today
    /// (DESIGN §7.12).
    pub fn tag_exemption_set_on(&self, value: &str, set_on: Date, today: Date) -> ExemptionMatch {
        let from = set_on.min(today);
        let mut parts = value.split(';');
        let reason = parts.next().unwrap_or_default().trim().to_string();
        let mut expires = None;
        let mut status = ExemptionStatus::Unbounded;
        for part in parts {
            match part.trim().split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("expires") => match parse_date(v) {
                    Ok(date) => {
                        expires = Some(format_date(date));
                        let latest =
                            from + time::Duration::days(self.max_tag_exemption_days.into());
                        status = if date < today {
                            ExemptionStatus::Expired
                        } else if date > latest {
                            ExemptionStatus::Unbounded
                        } else {
                            ExemptionStatus::Active
                        };
                    }
                    Err(_) => {
                        expires = Some(v.trim().to_string());
                        status = ExemptionStatus::Invalid;
                    }
                },
                _ => {}
            }
        }
        // An alert's exemption command carries `<reason>` to fill in: pasted
        // as it is, it exempts nothing.
        if reason.is_empty() || (reason.starts_with('<') && reason.ends_with('>')) {
            status = ExemptionStatus::Invalid;
        }
        ExemptionMatch {
            source: format!("tag {}", self.exemption_tag_key),
            reason,
            owner: None,
            expires,
            status,
        }
    }

    /// Exemptions in the policy file that are past due on `today`, by key.
    pub fn expired_exemptions(&self, today: Date) -> Vec<String> {
        self.exemptions
            .iter()
            .enumerate()
            .filter(|(_, ex)| ex.expires.is_some_and(|d| d < today))
            .map(|(i, ex)| {
                format!(
                    "exemptions[{i}].expires: {} is past",
                    ex.expires.map(format_date).unwrap_or_default()
                )
            })
            .collect()
    }

    /// The exemption that covers this group, account or one of the OUs the
    /// account sits in (`ous`): an active one if any, else an expired or
    /// unreadable one (so that it is reported), else none.
    pub fn exemption_for(
        &self,
        group_id: Option<&str>,
        account: &str,
        ous: &[String],
        tags: &[(String, String)],
        today: Date,
    ) -> Option<ExemptionMatch> {
        let mut found: Vec<ExemptionMatch> = Vec::new();
        for ex in &self.exemptions {
            let source = match &ex.scope {
                ExemptionScope::Group(g) if Some(g.as_str()) == group_id => {
                    format!("policy group {g}")
                }
                ExemptionScope::Account(a) if a == account => format!("policy account {a}"),
                ExemptionScope::Ou(ou) if ous.contains(ou) => {
                    format!("policy OU {ou} (account {account})")
                }
                _ => continue,
            };
            found.push(ExemptionMatch {
                source,
                reason: ex.reason.clone(),
                owner: ex.owner.clone(),
                expires: ex.expires.map(format_date),
                status: if ex.expires.is_some_and(|d| d < today) {
                    ExemptionStatus::Expired
                } else {
                    ExemptionStatus::Active
                },
            });
        }
        for (key, value) in tags {
            if key == &self.exemption_tag_key {
                found.push(self.tag_exemption(value, today));
            }
        }
        found
            .iter()
            .find(|m| m.is_active())
            .or_else(|| found.first())
            .cloned()
    }
}

/// An IAM role name: 1 to 64 of letters, digits and `+=,.@_-`.
fn is_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// Validates `[organization]`.
fn organization(
    org: OrganizationFile,
    err: &impl Fn(&str, String) -> PolicyError,
) -> Result<Organization, PolicyError> {
    let accounts = match (org.accounts, org.organization_id) {
        (AccountsFile::Every(star), Some(id)) if star == "*" => {
            let valid = id.starts_with("o-")
                && id.len() >= 12
                && id[2..]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            if !valid {
                return Err(err(
                    "organization.organization_id",
                    format!("{id:?} is not an organization id (o-…)"),
                ));
            }
            AccountScope::Organization(id)
        }
        (AccountsFile::Every(star), None) if star == "*" => {
            return Err(err(
                "organization.organization_id",
                "missing: accounts = \"*\" needs the organization id".to_string(),
            ));
        }
        (AccountsFile::Every(other), _) => {
            return Err(err(
                "organization.accounts",
                format!("{other:?}: expected a list of account ids or \"*\""),
            ));
        }
        (AccountsFile::List(accounts), _) => {
            if accounts.is_empty() {
                return Err(err(
                    "organization.accounts",
                    "empty: list the accounts in scope, or \"*\"".to_string(),
                ));
            }
            for (i, account) in accounts.iter().enumerate() {
                if !is_account_id(account) {
                    return Err(err(
                        &format!("organization.accounts[{i}]"),
                        format!("{account:?} is not a 12-digit account id"),
                    ));
                }
            }
            AccountScope::Listed(accounts)
        }
    };
    if org.regions.is_empty() {
        return Err(err(
            "organization.regions",
            "empty: list the regions in scope".to_string(),
        ));
    }
    for (i, region) in org.regions.iter().enumerate() {
        let valid = region.split('-').count() >= 3
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(err(
                &format!("organization.regions[{i}]"),
                format!("{region:?} is not a region name"),
            ));
        }
    }
    let member_role_name = org
        .member_role_name
        .unwrap_or_else(|| DEFAULT_MEMBER_ROLE.to_string());
    if !is_role_name(&member_role_name) {
        return Err(err(
            "organization.member_role_name",
            format!("{member_role_name:?} is not an IAM role name"),
        ));
    }
    let ou_cache = match org.ou_cache_seconds {
        None => MAX_OU_CACHE,
        Some(seconds) if (1..=MAX_OU_CACHE.as_secs()).contains(&seconds) => {
            std::time::Duration::from_secs(seconds)
        }
        Some(seconds) => {
            return Err(err(
                "organization.ou_cache_seconds",
                format!(
                    "{seconds}: from 1 to {} (an account moved to another OU is judged by it within that time)",
                    MAX_OU_CACHE.as_secs()
                ),
            ))
        }
    };
    let (revoke_role_name, named) = match org.revoke_role_name {
        Some(name) => (name, true),
        None => (format!("{member_role_name}{REVOKE_ROLE_SUFFIX}"), false),
    };
    if !is_role_name(&revoke_role_name) || revoke_role_name == member_role_name {
        let problem = if named {
            format!("{revoke_role_name:?} is not an IAM role name other than member_role_name")
        } else {
            format!(
                "missing, and the default {revoke_role_name:?} is not an IAM role name: name it"
            )
        };
        return Err(err("organization.revoke_role_name", problem));
    }
    Ok(Organization {
        accounts,
        regions: org.regions,
        member_role_name,
        ou_cache,
        revoke_role_name,
    })
}

/// The key written on the line where a TOML error starts (`dry_run`, `[rules."X"]`).
fn key_at(text: &str, span: Range<usize>) -> String {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[line_start..line_end].trim();
    let key = line.split('=').next().unwrap_or(line).trim();
    // The enclosing table, when there is one.
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').to_string());
    match table {
        Some(table) if !key.starts_with('[') => format!("{table}.{key}"),
        _ => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn policy(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml(text, "test.toml")
    }

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

    #[test]
    fn a_partial_file_keeps_the_defaults() {
        let p = policy(
            "dry_run = true\n[rules.\"EC2-SG-003\"]\naction = \"notify\"\nseverity = \"high\"\n",
        )
        .unwrap();
        assert!(p.dry_run);
        assert_eq!(p.authorized_tcp, vec![80, 443]);
        let own = RuleSetting {
            severity: Severity::Critical,
            action: Action::Revoke,
        };
        assert_eq!(
            p.setting("EC2-SG-003", own),
            RuleSetting {
                severity: Severity::High,
                action: Action::Notify
            }
        );
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("dry_run = \"yes\"\n", "dry_run"),
            ("wide_public_ipv4_prefix = 4\n", "wide_public_ipv4_prefix"),
            ("wide_public_ipv6_prefix = 129\n", "wide_public_ipv6_prefix"),
            (
                "[required_tags]\nservice = [\"owner\", \" \"]\n",
                "required_tags.service[1]",
            ),
            (
                "[service]\nlatest_windows_platform_version = \"1.0\"\n",
                "service.latest_windows_platform_version",
            ),
            ("[service]\nnamespaces = []\n", "service.namespaces"),
            ("colour = true\n", "colour"),
            ("notify_min_severity = \"severe\"\n", "notify_min_severity"),
            (
                "[rules.\"EC2-SG-003\"]\naction = \"delete\"\n",
                "rules.\"EC2-SG-003\".action",
            ),
            (
                "[[exemptions]]\ngroup_id = \"sg-1\"\n",
                "exemptions[0].reason",
            ),
            (
                "[[exemptions]]\ngroup_id = \"sg-1\"\nreason = \"x\"\nexpires = \"soon\"\n",
                "exemptions[0].expires",
            ),
            (
                "[[exemptions]]\naccount = \"12\"\nreason = \"x\"\n",
                "exemptions[0].account",
            ),
            (
                "max_revocations_per_event = 0\n",
                "max_revocations_per_event",
            ),
            ("max_tag_exemption_days = 0\n", "max_tag_exemption_days"),
            (
                "[account_names]\n\"1234\" = \"prod\"\n",
                "account_names.1234",
            ),
            (
                "[account_names]\n\"111122223333\" = \" \"\n",
                "account_names.111122223333",
            ),
            (
                "[authorized_public_ports]\ntcp = [80, 70000]\n",
                "authorized_public_ports.tcp",
            ),
        ];
        for (text, key) in cases {
            let err = policy(text).expect_err(text);
            assert_eq!(err.key, key, "{text} -> {err}");
            assert!(err.to_string().starts_with("policy test.toml: "), "{err}");
        }
    }

    #[test]
    fn exemptions_by_ou() {
        let org = "[organization]\naccounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\n";
        let p = policy(&format!(
            "[[exemptions]]\nou = \"ou-ab12-34567890\"\nreason = \"sandboxes\"\n{org}"
        ))
        .unwrap();
        assert!(p.has_ou_exemptions());
        assert_eq!(
            policy("[[exemptions]]\nou = \"ou-ab12-34567890\"\nreason = \"sandboxes\"\n")
                .unwrap_err()
                .key,
            "exemptions[0].ou",
            "a single-account deployment cannot read OUs"
        );
        let today = date!(2026 - 06 - 01);
        let inside = [
            "ou-ab12-34567890".to_string(),
            "ou-ab12-00000001".to_string(),
        ];
        let m = p
            .exemption_for(Some("sg-1"), "111122223333", &inside, &[], today)
            .unwrap();
        assert!(m.is_active());
        assert_eq!(
            m.source,
            "policy OU ou-ab12-34567890 (account 111122223333)"
        );
        assert!(p
            .exemption_for(Some("sg-1"), "111122223333", &[], &[], today)
            .is_none());
        for (text, key) in [
            ("[[exemptions]]\nou = \"sandbox\"\nreason = \"x\"\n", "exemptions[0].ou"),
            ("[[exemptions]]\nou = \"ou-ab12-34567890\"\naccount = \"111122223333\"\nreason = \"x\"\n", "exemptions[0]"),
        ] {
            assert_eq!(policy(text).unwrap_err().key, key, "{text}");
        }
    }

    #[test]
    fn organization_scope() {
        let p =
            policy("[organization]\naccounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\n")
                .unwrap();
        let org = p.organization.unwrap();
        assert_eq!(org.member_role_name, DEFAULT_MEMBER_ROLE);
        assert_eq!(org.revoke_role_name, "access-guard-member-revoke");
        let named = policy(
            "[organization]\naccounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\nmember_role_name = \"guard-read\"\n",
        )
        .unwrap()
        .organization
        .unwrap();
        assert_eq!(named.revoke_role_name, "guard-read-revoke");
        let named = policy(
            "[organization]\naccounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\nrevoke_role_name = \"guard-revoke\"\n",
        )
        .unwrap()
        .organization
        .unwrap();
        assert_eq!(named.revoke_role_name, "guard-revoke");
        assert_eq!(org.outside("111122223333", "eu-west-1"), None);
        assert!(org.outside("999988887777", "eu-west-1").is_some());
        assert!(org.outside("111122223333", "us-east-1").is_some());
        let every = policy(
            "[organization]\naccounts = \"*\"\norganization_id = \"o-a1b2c3d4e5\"\nregions = [\"eu-west-1\"]\n",
        )
        .unwrap()
        .organization
        .unwrap();
        assert_eq!(every.outside("999988887777", "eu-west-1"), None);
        assert!(
            every.outside("", "eu-west-1").is_some(),
            "an account id, not anything"
        );
        assert!(
            Policy::embedded().organization.is_none(),
            "single account by default"
        );

        let cases = [
            ("accounts = \"*\"\nregions = [\"eu-west-1\"]", "organization.organization_id"),
            ("accounts = \"*\"\norganization_id = \"org-1\"\nregions = [\"eu-west-1\"]", "organization.organization_id"),
            ("accounts = \"all\"\nregions = [\"eu-west-1\"]", "organization.accounts"),
            ("accounts = []\nregions = [\"eu-west-1\"]", "organization.accounts"),
            ("accounts = [\"12\"]\nregions = [\"eu-west-1\"]", "organization.accounts[0]"),
            ("accounts = [\"111122223333\"]\nregions = []", "organization.regions"),
            ("accounts = [\"111122223333\"]\nregions = [\"Europe\"]", "organization.regions[0]"),
            ("accounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\nmember_role_name = \"a b\"", "organization.member_role_name"),
            ("accounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\nrevoke_role_name = \"a b\"", "organization.revoke_role_name"),
            ("accounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\nrevoke_role_name = \"access-guard-member\"", "organization.revoke_role_name"),
            ("accounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\nmember_role_name = \"a1234567890123456789012345678901234567890123456789012345678\"", "organization.revoke_role_name"),
        ];
        for (body, key) in cases {
            let text = format!("[organization]\n{body}\n");
            let err = policy(&text).expect_err(&text);
            assert_eq!(err.key, key, "{text} -> {err}");
        }
    }

    #[test]
    fn exemptions_by_group_account_and_tag() {
        let p = policy(
            "[[exemptions]]\ngroup_id = \"sg-1\"\nreason = \"bastion\"\nexpires = \"2026-01-01\"\n\
             [[exemptions]]\naccount = \"111122223333\"\nreason = \"sandbox\"\n",
        )
        .unwrap();
        let today = date!(2026 - 06 - 01);
        let m = p
            .exemption_for(Some("sg-1"), "999999999999", &[], &[], today)
            .unwrap();
        assert_eq!(m.status, ExemptionStatus::Expired);
        let m = p
            .exemption_for(Some("sg-1"), "111122223333", &[], &[], today)
            .unwrap();
        assert!(
            m.is_active(),
            "an active exemption wins over an expired one"
        );
        assert_eq!(
            p.expired_exemptions(today),
            vec!["exemptions[0].expires: 2026-01-01 is past"]
        );

        let tag = |v: &str| vec![("access-guard:exempt".to_string(), v.to_string())];
        let m = p
            .exemption_for(
                Some("sg-2"),
                "0",
                &[],
                &tag("public web;expires=2026-08-30"),
                today,
            )
            .unwrap();
        assert!(m.is_active() && m.reason == "public web");
        // Tag exemptions expire: none, or beyond 90 days, is not honoured.
        for value in [
            "public web",
            "public web;expires=2026-08-31",
            "public web;expires=2099-12-31",
        ] {
            let m = p
                .exemption_for(Some("sg-2"), "0", &[], &tag(value), today)
                .unwrap();
            assert_eq!(m.status, ExemptionStatus::Unbounded, "{value}");
        }
        let short = policy("max_tag_exemption_days = 7\n").unwrap();
        let m = short
            .exemption_for(Some("sg-2"), "0", &[], &tag("x;expires=2026-06-09"), today)
            .unwrap();
        assert_eq!(m.status, ExemptionStatus::Unbounded);
        let m = p
            .exemption_for(
                Some("sg-2"),
                "0",
                &[],
                &tag("old;expires=2025-01-01"),
                today,
            )
            .unwrap();
        assert_eq!(m.status, ExemptionStatus::Expired);
        let m = p
            .exemption_for(Some("sg-2"), "0", &[], &tag("x;expires=someday"), today)
            .unwrap();
        assert_eq!(m.status, ExemptionStatus::Invalid);
        assert!(p
            .exemption_for(Some("sg-2"), "0", &[], &[], today)
            .is_none());
    }
}
