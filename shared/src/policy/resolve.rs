//! Resolve: the file over the embedded default, key by key, each value
//! validated, into a [`Policy`]; the first key at fault fails it, named.

use std::collections::BTreeMap;

use super::exemptions::{exemptions, Exemption, ExemptionScope};
use super::file::PolicyFile;
use super::organization::organization;
use super::{PlatformVersions, Policy, PolicyError, RequiredTags, RuleOverride, SweepSettings};
use crate::finding::Severity;
use crate::model::net::WidePrefixes;

impl Policy {
    pub(super) fn resolve(
        file: PolicyFile,
        base: PolicyFile,
        origin: &str,
    ) -> Result<Policy, PolicyError> {
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

        let exemptions = exemptions(file.exemptions, &err)?;

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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::policy;
    use crate::finding::{Action, Severity};
    use crate::policy::RuleSetting;

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
}
