//! Judging what the sweep read with the event path's rules: each group,
//! service, task definition, instance, launch template and cluster as the
//! guard of its event would; the load balancers and VPCs in `network`.

use std::collections::{BTreeMap, BTreeSet};

use time::Date;

use crate::finding::Finding;
use crate::guards::task_definition as task_guard;
use crate::model::cl::{ClusterChange, CONTAINER_INSIGHTS};
use crate::model::svc::ServiceChange;
use crate::policy::Policy;
use crate::ports::estate::{Estate, Unread};
use crate::ports::AwsError;
use crate::rules;
use crate::rules::ecs_cl::ClContext;
use crate::rules::ecs_svc::{Enrichment, SvcContext};
use crate::state::Seen;

use super::paths::PlacePaths;

/// Judges the estate with the event path's rules. Each security group is
/// judged as the live checks judge it (its current ingress rules), each
/// service as a creation of itself (with its groups' findings and its task
/// definition's, as service-guard joins them), each task definition as its
/// registration. Groups (or accounts) with an active exemption give exempt
/// findings; `ous` are the account's OUs (exemptions by OU).
pub fn judge(
    account: &str,
    region: &str,
    estate: &Estate,
    policy: &Policy,
    ous: &[String],
    today: Date,
) -> Vec<Seen> {
    let mut seen = Vec::new();
    let place = PlacePaths::new(estate, policy.wide);
    let mut group_findings: BTreeMap<&str, Vec<Finding>> = BTreeMap::new();
    for group in &estate.groups {
        let id = group.info.group_id.as_str();
        let change = group.change(account);
        let findings = rules::evaluate_sg(&change, policy);
        let exempt = policy
            .exemption_for(Some(id), account, ous, &group.info.tags, today)
            .is_some_and(|e| e.is_active());
        // What the services behind the group are exposed to: not where the
        // group sits or whom it trusts (a default group, a prefix list), nor
        // a wide source that is not the internet. Taken before the group's
        // own path lines: a service's path is its own subnets'.
        let exposure = rules::ec2_sg::internet_exposure(findings.clone());
        group_findings.insert(id, exposure);
        let mut findings = findings;
        place.group(id, &mut findings);
        for f in findings {
            seen.push(Seen::new(account, region, id, f, exempt));
        }
    }
    let mut td_findings: BTreeMap<&str, (String, Vec<Finding>)> = BTreeMap::new();
    for (name, td) in &estate.task_definitions {
        let task_role = td
            .task_role_arn
            .as_ref()
            .and_then(|role| estate.task_roles.get(role));
        let findings = task_guard::assess_with(td, account, policy, task_role);
        for f in &findings {
            seen.push(Seen::new(account, region, &td.label(), f.clone(), false));
        }
        td_findings.insert(name.as_str(), (td.label(), findings));
    }
    let groups_unread: Vec<&Unread> = estate
        .unread
        .iter()
        .filter(|u| u.what.starts_with("DescribeSecurityGroup"))
        .collect();
    for cluster in &estate.clusters {
        let change = ClusterChange::Cluster {
            created: true,
            cluster: cluster.name.clone(),
            requested: cluster.settings.clone(),
            effective: cluster.settings.clone(),
        };
        judge_cluster(account, region, &change, policy, &mut seen);
    }
    for provider in &estate.capacity_providers {
        let change = ClusterChange::CapacityProvider {
            created: true,
            name: provider.name.clone(),
            termination_protection: provider.termination_protection,
            tags: None,
        };
        judge_cluster(account, region, &change, policy, &mut seen);
    }
    if let Some(value) = &estate.account_insights {
        // What was read is the effective setting of the reader's own
        // principal: the account default unless that principal has its own.
        let change = ClusterChange::AccountSetting {
            default: false,
            name: CONTAINER_INSIGHTS.to_string(),
            value: value.clone(),
            principal: Some(
                "the sweep's own role (the account default unless that role has its own)"
                    .to_string(),
            ),
        };
        judge_cluster(account, region, &change, policy, &mut seen);
    }
    // The capacity providers' groups: their instances are container instances.
    let provider_groups: Vec<crate::ports::ProviderGroup> = estate
        .capacity_providers
        .iter()
        .filter_map(|p| {
            let group = crate::ports::group_name(p.auto_scaling_group.as_deref()?)?;
            Some(crate::ports::ProviderGroup {
                provider: p.name.clone(),
                group: group.to_string(),
                template: None,
            })
        })
        .collect();
    for instance in &estate.instances {
        let mut change =
            crate::model::ci::InstanceChange::current(&instance.id, instance.settings.clone());
        change
            .auto_scaling_group
            .clone_from(&instance.auto_scaling_group);
        let mut exposure = crate::rules::ec2_ci::GroupExposure::default();
        for group_id in instance.settings.groups() {
            match group_findings.get(group_id.as_str()) {
                Some(findings) => exposure.groups.push((group_id.clone(), findings.clone())),
                None => exposure
                    .unchecked
                    .push((group_id.clone(), "not read".to_string())),
            }
        }
        let facts = crate::rules::ec2_ci::CiFacts {
            container_instance: instance
                .container_instance
                .clone()
                .or_else(|| crate::guards::instance::provider_evidence(&change, &provider_groups)),
            groups: Some(exposure),
            ..crate::rules::ec2_ci::CiFacts::default()
        };
        let context = crate::rules::ec2_ci::CiContext {
            policy,
            facts: &facts,
        };
        let mut findings = rules::evaluate_ci(&change, &context);
        place.instance(&change, &facts, &mut findings);
        for f in findings {
            seen.push(Seen::new(account, region, &change.resource(), f, false));
        }
    }
    for template in &estate.launch_templates {
        let change = crate::model::ci::InstanceChange {
            call: crate::model::ci::CiCall::CreateLaunchTemplateVersion,
            instance_ids: Vec::new(),
            template: Some(template.template.clone()),
            requested: template.settings.clone(),
            effective: template.settings.clone(),
            needs_template: None,
            auto_scaling_group: None,
        };
        let mut exposure = crate::rules::ec2_ci::GroupExposure::default();
        for group_id in template.settings.groups() {
            match group_findings.get(group_id.as_str()) {
                Some(findings) => exposure.groups.push((group_id.clone(), findings.clone())),
                None => exposure
                    .unchecked
                    .push((group_id.clone(), "not read".to_string())),
            }
        }
        let facts = crate::rules::ec2_ci::CiFacts {
            container_instance: Some(crate::rules::ec2_ci::Evidence(format!(
                "{} is used by {}",
                template.template, template.used_by
            ))),
            metadata_defaults: template.metadata_defaults.clone(),
            groups: Some(exposure),
            ..crate::rules::ec2_ci::CiFacts::default()
        };
        let context = crate::rules::ec2_ci::CiContext {
            policy,
            facts: &facts,
        };
        for f in rules::evaluate_ci(&change, &context) {
            seen.push(Seen::new(account, region, &change.resource(), f, false));
        }
    }
    let cluster_exec: BTreeMap<&str, &crate::model::cl::ExecConfiguration> = estate
        .clusters
        .iter()
        .filter_map(|c| c.settings.exec.as_ref().map(|e| (c.name.as_str(), e)))
        .collect();
    let deployed = estate.services.iter().flat_map(|service| {
        std::iter::once(ServiceChange::current(
            &service.cluster,
            &service.name,
            service.settings.clone(),
        ))
        .chain(service.task_sets.iter().map(|(id, settings)| {
            ServiceChange::current_task_set(&service.cluster, &service.name, id, settings.clone())
        }))
    });
    for change in deployed {
        let mut enrichment = Enrichment {
            task_definition: change
                .task_definition()
                .and_then(|name| td_findings.get(name).cloned()),
            cluster_exec: cluster_exec
                .get(change.cluster.as_str())
                .map(|exec| (change.cluster.clone(), (*exec).clone())),
            ..Enrichment::default()
        };
        for group_id in change.security_groups() {
            match group_findings.get(group_id.as_str()) {
                Some(findings) => enrichment.groups.push((group_id.clone(), findings.clone())),
                None => {
                    // Its own unread entry (not seen in the account), else
                    // the groups' read that failed.
                    let own = groups_unread
                        .iter()
                        .find(|u| u.what.contains(group_id.as_str()));
                    let why = match own.or(groups_unread.first()) {
                        Some(u) => u.error.code_or_kind(),
                        None => "not read".to_string(),
                    };
                    enrichment.unchecked_groups.push((group_id.clone(), why));
                }
            }
        }
        let mut findings = rules::evaluate_svc(
            &change,
            &SvcContext {
                policy,
                enrichment: Some(&enrichment),
            },
        );
        let td = change
            .task_definition()
            .and_then(|name| estate.task_definitions.get(name));
        place.service(&change, &enrichment, td, &mut findings);
        for f in findings {
            seen.push(Seen::new(account, region, &change.resource(), f, false));
        }
    }
    seen.extend(super::network::judge_network(
        account, region, estate, policy,
    ));
    seen
}

/// The groups services name that the read of the account's groups did not
/// return, when that read succeeded: a shared VPC's group of another
/// account, or one deleted. Unknown, never "none": each is an unread entry
/// naming the group and the service, so the place is not complete and no
/// finding about the service's exposure is resolved on it.
pub fn unseen_groups(account: &str, estate: &Estate) -> Vec<Unread> {
    if estate
        .unread
        .iter()
        .any(|u| u.what.starts_with("DescribeSecurityGroup"))
    {
        // The groups' read failed: that failure is the reason already.
        return Vec::new();
    }
    let known: BTreeSet<&str> = estate
        .groups
        .iter()
        .map(|g| g.info.group_id.as_str())
        .collect();
    let mut named: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for service in &estate.services {
        let settings =
            std::iter::once(&service.settings).chain(service.task_sets.iter().map(|(_, s)| s));
        for s in settings {
            let groups = s
                .awsvpc
                .iter()
                .flat_map(|a| a.security_groups.iter().flatten());
            for group in groups.filter(|g| !known.contains(g.as_str())) {
                let by = named.entry(group.as_str()).or_default();
                let name = format!("{}/{}", service.cluster, service.name);
                if !by.contains(&name) {
                    by.push(name);
                }
            }
        }
    }
    named
        .into_iter()
        .map(|(group, services)| Unread {
            what: format!(
                "DescribeSecurityGroups ({group}, named by service {}: could not be read, {})",
                services.join(", "),
                crate::guards::service::not_visible(account)
            ),
            error: AwsError {
                operation: "DescribeSecurityGroups",
                code: Some("InvalidGroup.NotFound".to_string()),
                message: format!(
                    "{group} could not be read ({})",
                    crate::guards::service::not_visible(account)
                ),
                retryable: false,
            },
        })
        .collect()
}

/// Judges a cluster-level change as cluster-guard would.
fn judge_cluster(
    account: &str,
    region: &str,
    change: &ClusterChange,
    policy: &Policy,
    seen: &mut Vec<Seen>,
) {
    for f in rules::evaluate_cl(change, &ClContext { policy }) {
        seen.push(Seen::new(account, region, &change.resource(), f, false));
    }
}
