//! The policy file as written: one serde table per TOML table, every key
//! optional (what a file leaves out, the embedded default says), unknown
//! keys refused; and the key a TOML error points at.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;

use crate::finding::Action;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    pub(super) dry_run: Option<bool>,
    pub(super) notify_min_severity: Option<String>,
    pub(super) max_revocations_per_event: Option<u32>,
    pub(super) wide_ipv4_prefix: Option<u8>,
    pub(super) wide_ipv6_prefix: Option<u8>,
    pub(super) wide_port_range: Option<u32>,
    pub(super) exemption_tag_key: Option<String>,
    pub(super) max_tag_exemption_days: Option<u32>,
    pub(super) authorized_public_ports: Option<PortsByProtocol>,
    pub(super) ports: Option<PortListsFile>,
    pub(super) task_definition: Option<TaskDefinitionFile>,
    pub(super) wide_public_ipv4_prefix: Option<u8>,
    pub(super) wide_public_ipv6_prefix: Option<u8>,
    pub(super) required_tags: Option<RequiredTagsFile>,
    pub(super) service: Option<ServiceFile>,
    pub(super) organization: Option<OrganizationFile>,
    pub(super) sweep: Option<SweepFile>,
    #[serde(default)]
    pub(super) account_names: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) rules: BTreeMap<String, RuleOverrideFile>,
    #[serde(default)]
    pub(super) exemptions: Vec<ExemptionFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequiredTagsFile {
    pub(super) task_definition: Option<Vec<String>>,
    pub(super) service: Option<Vec<String>>,
    pub(super) cluster: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServiceFile {
    pub(super) allowed_namespaces: Option<Vec<String>>,
    pub(super) latest_linux_platform_version: Option<String>,
    pub(super) latest_windows_platform_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SweepFile {
    pub(super) revoke: Option<bool>,
    pub(super) max_revocations_per_run: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OrganizationFile {
    pub(super) accounts: AccountsFile,
    pub(super) organization_id: Option<String>,
    pub(super) regions: Vec<String>,
    pub(super) member_role_name: Option<String>,
    pub(super) ou_cache_seconds: Option<u64>,
    pub(super) revoke_role_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum AccountsFile {
    List(Vec<String>),
    Every(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PortsByProtocol {
    pub(super) tcp: Option<Vec<u16>>,
    pub(super) udp: Option<Vec<u16>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PortListsFile {
    pub(super) high_risk: Option<Vec<u16>>,
    pub(super) data_plane: Option<Vec<u16>>,
    pub(super) udp_amplification: Option<Vec<u16>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskDefinitionFile {
    pub(super) trusted_registries: Option<Vec<String>>,
    pub(super) extra_dangerous_capabilities: Option<Vec<String>>,
    pub(super) extra_sensitive_host_paths: Option<Vec<String>>,
    pub(super) secret_name_keywords: Option<Vec<String>>,
    pub(super) allowed_env_names: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleOverrideFile {
    pub(super) enabled: Option<bool>,
    pub(super) severity: Option<String>,
    pub(super) action: Option<Action>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExemptionFile {
    pub(super) group_id: Option<String>,
    pub(super) account: Option<String>,
    pub(super) ou: Option<String>,
    pub(super) reason: Option<String>,
    pub(super) owner: Option<String>,
    pub(super) expires: Option<String>,
}

/// The key written on the line where a TOML error starts (`dry_run`, `[rules."X"]`).
pub(super) fn key_at(text: &str, span: Range<usize>) -> String {
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
