//! The instance guard's reads: what only AWS can tell about a change — the
//! launch template version the record does not carry, the metadata
//! defaults, the subnet's public-IP setting, whether these are container
//! instances, and the groups' live rules.

use super::facts::{container_instance, metadata_defaults, provider_evidence};
use super::InstanceGuard;
use crate::model::ci::{CiCall, InstanceChange, InstanceSettings, Said};
use crate::model::event::Event;
use crate::model::json::Node;
use crate::model::sg::{PrefixListEntries, SgChange};
use crate::ports::AwsError;
use crate::rules;
use crate::rules::ec2_ci::{CiFacts, Evidence, GroupExposure};

impl InstanceGuard<'_> {
    /// What only AWS can tell about `change`: the launch template version
    /// the record does not carry (`change` comes back with it), the metadata
    /// defaults, the subnet's public-IP setting, whether these are container
    /// instances, and the groups' live rules. What cannot be read is said in
    /// `notes` or `unread`; throttling and outages are `Err`, so that Lambda
    /// retries the invocation.
    pub(super) async fn read_facts(
        &self,
        event: &Event,
        mut change: InstanceChange,
        notes: &mut Vec<String>,
        unread: &mut Vec<String>,
    ) -> Result<(InstanceChange, CiFacts), AwsError> {
        let mut facts = CiFacts::default();
        if let Some(template) = change.needs_template.clone() {
            match self
                .instances
                .launch_template_data(template.key(), &template.version)
                .await
            {
                Ok(Some(data)) => {
                    let node = Node::root(&data, "launchTemplateData");
                    match InstanceSettings::from_template_data(&node) {
                        Ok(settings) => change = change.with_template(&settings),
                        Err(field) => facts.template_unread = Some(field.to_string()),
                    }
                }
                Ok(None) => facts.template_unread = Some("not found".to_string()),
                Err(e) if e.retryable => return Err(e),
                Err(e) => facts.template_unread = Some(e.code_or_kind()),
            }
            if let Some(why) = &facts.template_unread {
                notes.push(format!("could not read {template}: {why}"));
            }
        }
        let effective = change.effective.clone();
        match metadata_defaults(self.instances, &effective, &|| {}).await {
            Ok(defaults) => {
                let unknown_fields = defaults.as_ref().is_some_and(|d| {
                    (effective.http_tokens == Said::Default && d.http_tokens.is_none())
                        || (effective.hop_limit == Said::Default && d.hop_limit.is_none())
                });
                if let Some(why) = defaults.as_ref().and_then(|d| d.ami_unknown.as_ref()) {
                    if unknown_fields {
                        unread.push(format!("the AMI's ImdsSupport ({why})"));
                    }
                }
                facts.metadata_defaults = defaults;
            }
            Err(e) if e.retryable => return Err(e),
            Err(e) => unread.push(format!(
                "the instance metadata defaults ({}: {})",
                e.operation,
                e.code_or_kind()
            )),
        }
        if change.call == CiCall::RunInstances && effective.public_ip == Said::Default {
            match effective.subnet.as_deref() {
                Some(subnet) => match self.instances.subnet_maps_public_ip(subnet).await {
                    Ok(Some(maps)) => facts.subnet_public_ip = Some(maps),
                    Ok(None) => unread.push(format!(
                        "whether subnet {subnet} gives public IPs (not found)"
                    )),
                    Err(e) if e.retryable => return Err(e),
                    Err(e) => unread.push(format!(
                        "whether subnet {subnet} gives public IPs ({})",
                        e.code_or_kind()
                    )),
                },
                None => unread.push(
                    "whether the instances get a public IP (the launch names no subnet: the default subnet's setting applies)"
                        .to_string(),
                ),
            }
        }
        // A metadata update names the instance, not its profile: read it.
        let mut profile = effective.instance_profile.set().cloned();
        if change.call == CiCall::ModifyMetadataOptions && profile.is_none() {
            for instance in &change.instance_ids {
                match self.instances.instance_profile(instance).await {
                    Ok(Some(found)) => profile = profile.or(found),
                    Ok(None) => notes.push(format!("instance {instance} no longer exists")),
                    Err(e) if e.retryable => return Err(e),
                    Err(e) => unread.push(format!(
                        "the instance profile of {instance} ({})",
                        e.code_or_kind()
                    )),
                }
            }
        }
        if let Some(profile) = &profile {
            match self.container_instance(profile).await {
                Ok(evidence) => facts.container_instance = evidence,
                Err(e) if e.retryable => return Err(e),
                Err(e) => unread.push(format!(
                    "whether these are container instances (instance profile {profile}: {})",
                    e.code_or_kind()
                )),
            }
        }
        // Else a capacity provider's Auto Scaling group: the group that
        // launched the instances, or the template it launches from. (A new
        // template cannot be any group's yet.)
        let by_group = change.call == CiCall::RunInstances
            && (change.auto_scaling_group.is_some() || change.template.is_some());
        let by_template =
            change.call == CiCall::CreateLaunchTemplateVersion && change.template.is_some();
        if facts.container_instance.is_none() && (by_group || by_template) {
            match self.instances.provider_groups().await {
                Ok(groups) => facts.container_instance = provider_evidence(&change, &groups),
                Err(e) if e.retryable => return Err(e),
                Err(e) => unread.push(format!(
                    "whether these are container instances (the capacity providers' Auto Scaling groups: {}: {})",
                    e.operation,
                    e.code_or_kind()
                )),
            }
        }
        if change.call != CiCall::ModifyMetadataOptions {
            facts.groups = Some(self.read_groups(event, &effective, notes).await?);
        }
        Ok((change, facts))
    }

    /// What the groups the instances get let in from the internet, read
    /// live; a group named by its name, or one that cannot be read, is
    /// unknown.
    async fn read_groups(
        &self,
        event: &Event,
        effective: &InstanceSettings,
        notes: &mut Vec<String>,
    ) -> Result<GroupExposure, AwsError> {
        let mut exposure = GroupExposure::default();
        for group_id in effective.groups() {
            if !group_id.starts_with("sg-") {
                // Named by its name (a default VPC launch): its rules are
                // not read by name here, so it is unknown.
                exposure
                    .unchecked
                    .push((group_id.clone(), "named by name, not read".to_string()));
                continue;
            }
            match self.groups.rules_of_group(group_id).await {
                Ok(stored) => {
                    let mut ingress =
                        SgChange::current_ingress(group_id, stored).with_account(&event.account);
                    for list in ingress.prefix_list_ids() {
                        let entries = match self.groups.prefix_list(&list).await {
                            Ok(entries) => entries,
                            Err(e) if e.retryable => return Err(e),
                            Err(e) => {
                                exposure.unchecked.push((
                                    group_id.clone(),
                                    format!("prefix list {list}: {}", e.code_or_kind()),
                                ));
                                PrefixListEntries::Unknown(e.code_or_kind())
                            }
                        };
                        ingress.prefix_lists.insert(list, entries);
                    }
                    let findings =
                        rules::ec2_sg::internet_exposure(rules::evaluate_sg(&ingress, self.policy));
                    exposure.groups.push((group_id.clone(), findings));
                }
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    notes.push(format!(
                        "could not check security group {group_id}: {}",
                        e.code_or_kind()
                    ));
                    exposure
                        .unchecked
                        .push((group_id.clone(), e.code_or_kind()));
                }
            }
        }
        Ok(exposure)
    }

    async fn container_instance(&self, profile: &str) -> Result<Option<Evidence>, AwsError> {
        container_instance(self.iam, profile).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guards::instance::test_support::*;
    use crate::ports::fakes::{MemoryIam, MemoryInstances};
    use crate::ports::{ProviderGroup, RolePolicies};
    use serde_json::json;

    fn from_template() -> Event {
        event(
            "RunInstances",
            json!({"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
                   "launchTemplate": {"launchTemplateId": "lt-1", "version": "3"}}),
            json!(null),
        )
    }
    #[tokio::test]
    async fn a_metadata_update_reads_the_instances_profile_and_says_when_it_cannot() {
        let update = event(
            "ModifyInstanceMetadataOptions",
            json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-1", "HttpPutResponseHopLimit": 3}}),
            json!(null),
        );
        let instances = MemoryInstances {
            profiles: vec![(
                "i-1".into(),
                Some("arn:aws:iam::111122223333:instance-profile/ecs".into()),
            )],
            ..MemoryInstances::default()
        };
        let iam = MemoryIam {
            profiles: vec![("ecs".into(), vec!["ecs".into()])],
            roles: vec![RolePolicies {
                role: "ecs".into(),
                managed: vec![(
                    "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
                        .into(),
                    None,
                )],
                ..RolePolicies::default()
            }],
            ..MemoryIam::default()
        };
        let (report, _) = run(&instances, &iam, &update).await;
        let report = report.unwrap();
        assert_eq!(rules_of(&report), ["EC2-CI-004"], "{report:?}");
        assert!(report.unevaluated.is_none());

        let denied = MemoryInstances {
            error: Some(denied("DescribeInstances")),
            ..MemoryInstances::default()
        };
        let (report, sent) = run(&denied, &iam, &update).await;
        let report = report.unwrap();
        assert!(
            report
                .unevaluated
                .as_deref()
                .is_some_and(|u| u.contains("UnauthorizedOperation")),
            "{report:?}"
        );
        assert_eq!(sent, 1, "a check that could not run is alerted");
    }

    #[tokio::test]
    async fn the_template_version_is_read_and_an_unreadable_one_is_unknown_never_clean() {
        let data = json!({"MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 3},
            "KeyName": "ops", "IamInstanceProfile": {"Name": "ecsInstanceRole"}});
        let instances = MemoryInstances {
            templates: vec![(("lt-1".into(), "3".into()), data)],
            ..MemoryInstances::default()
        };
        let iam = MemoryIam {
            profiles: vec![("ecsInstanceRole".into(), vec!["ecsInstanceRole".into()])],
            roles: vec![RolePolicies {
                role: "ecsInstanceRole".into(),
                managed: vec![(
                    "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
                        .into(),
                    None,
                )],
                ..RolePolicies::default()
            }],
            ..MemoryIam::default()
        };
        let (report, sent) = run(&instances, &iam, &from_template()).await;
        let report = report.unwrap();
        let rules = rules_of(&report);
        for rule in ["EC2-CI-001", "EC2-CI-003", "EC2-CI-004"] {
            assert!(rules.contains(&rule), "{rule}: {rules:?}");
        }
        assert!(
            report.findings.iter().any(|f| f.rule == "EC2-CI-003"
                && f.detail.contains("AmazonEC2ContainerServiceforEC2Role")),
            "the evidence is named: {:?}",
            report.findings
        );
        assert_eq!(sent, 1);

        let unreadable = MemoryInstances {
            error: Some(denied("DescribeLaunchTemplateVersions")),
            ..MemoryInstances::default()
        };
        let (report, sent) = run(&unreadable, &MemoryIam::default(), &from_template()).await;
        let report = report.unwrap();
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.rule == "EC2-CI-001" && f.detail.contains("unknown")),
            "{:?}",
            report.findings
        );
        assert!(report
            .notes
            .iter()
            .any(|n| n.contains("UnauthorizedOperation")));
        assert_eq!(sent, 1, "an unknown at high alerts");
    }
    fn from_group() -> Event {
        event(
            "RunInstances",
            json!({"instancesSet": {"items": [{"imageId": "ami-1", "keyName": "ops"}]},
                   "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
                   "networkInterfaceSet": {"items": [{"deviceIndex": 0, "subnetId": "subnet-1", "associatePublicIpAddress": false}]},
                   "tagSpecificationSet": {"items": [{"resourceType": "instance",
                       "tags": [{"key": "aws:autoscaling:groupName", "value": "prod-asg"}]}]}}),
            json!(null),
        )
    }
    #[tokio::test]
    async fn a_launch_by_a_capacity_providers_group_is_a_container_instance() {
        let group = |name: &str| ProviderGroup {
            provider: "prod-ec2".into(),
            group: name.into(),
            template: None,
        };
        let instances = MemoryInstances {
            provider_groups: vec![group("prod-asg")],
            ..MemoryInstances::default()
        };
        let (report, _) = run(&instances, &MemoryIam::default(), &from_group()).await;
        let report = report.unwrap();
        assert_eq!(rules_of(&report), ["EC2-CI-003"], "{report:?}");
        assert!(
            report.findings[0]
                .detail
                .contains("launched by Auto Scaling group prod-asg of capacity provider prod-ec2"),
            "{:?}",
            report.findings
        );
        // Another group: not shown to be one.
        let other = MemoryInstances {
            provider_groups: vec![group("batch-asg")],
            ..MemoryInstances::default()
        };
        let (report, _) = run(&other, &MemoryIam::default(), &from_group()).await;
        assert!(report.unwrap().findings.is_empty());
        // The groups could not be read: said, and alerted.
        let denied = MemoryInstances {
            error: Some(denied("ListClusters")),
            ..MemoryInstances::default()
        };
        let (report, sent) = run(&denied, &MemoryIam::default(), &from_group()).await;
        let report = report.unwrap();
        assert!(
            report
                .unevaluated
                .as_deref()
                .is_some_and(|u| u.contains("capacity providers")),
            "{report:?}"
        );
        assert_eq!(sent, 1);
    }
}
