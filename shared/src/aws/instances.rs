//! EC2 reads about launches (feature `aws`): launch template versions,
//! written back as CloudTrail writes launch template data so that one
//! parser reads both; the account's instance metadata defaults; an AMI's
//! `ImdsSupport`; a subnet's `MapPublicIpOnLaunch`; and, through ECS and
//! Auto Scaling, the groups capacity providers launch container instances with.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::classify;
use crate::model::ci::TemplateRef;
use crate::ports::{AwsError, Instances, ProviderGroup};

/// DescribeClusters and DescribeCapacityProviders take at most 100 names;
/// DescribeAutoScalingGroups at most 100 names and 100 records a page.
const PER_DESCRIBE: usize = 100;

/// EC2, ECS and Auto Scaling through the SDK.
#[derive(Debug, Clone)]
pub struct Ec2Instances {
    client: aws_sdk_ec2::Client,
    ecs: aws_sdk_ecs::Client,
    autoscaling: aws_sdk_autoscaling::Client,
}

impl Ec2Instances {
    pub fn new(
        client: aws_sdk_ec2::Client,
        ecs: aws_sdk_ecs::Client,
        autoscaling: aws_sdk_autoscaling::Client,
    ) -> Self {
        Ec2Instances {
            client,
            ecs,
            autoscaling,
        }
    }
}

/// The launch template each named Auto Scaling group launches from (its
/// own, or its mixed instances policy's; `None`: a launch configuration).
/// `on_call` counts the calls. A group that no longer exists is left out.
pub(crate) async fn group_templates(
    autoscaling: &aws_sdk_autoscaling::Client,
    names: &[String],
    on_call: &(dyn Fn() + Send + Sync),
) -> Result<Vec<(String, Option<TemplateRef>)>, AwsError> {
    let mut found = Vec::new();
    for batch in names.chunks(PER_DESCRIBE) {
        let mut pages = autoscaling
            .describe_auto_scaling_groups()
            .set_auto_scaling_group_names(Some(batch.to_vec()))
            .max_records(PER_DESCRIBE as i32)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            on_call();
            let page = page.map_err(|e| classify("DescribeAutoScalingGroups", &e))?;
            for group in page.auto_scaling_groups() {
                let spec = group.launch_template().or_else(|| {
                    group
                        .mixed_instances_policy()
                        .and_then(|m| m.launch_template())
                        .and_then(|t| t.launch_template_specification())
                });
                let template = spec.map(|spec| TemplateRef {
                    id: spec.launch_template_id().map(str::to_string),
                    name: spec.launch_template_name().map(str::to_string),
                    version: spec.version().unwrap_or("$Default").to_string(),
                });
                found.push((
                    group
                        .auto_scaling_group_name()
                        .unwrap_or_default()
                        .to_string(),
                    template,
                ));
            }
        }
    }
    Ok(found)
}

pub(crate) use crate::ports::group_name;

/// Error codes that mean the template, version or subnet does not exist.
const GONE: [&str; 4] = [
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateName.NotFoundException",
    "InvalidLaunchTemplateId.VersionNotFound",
    "InvalidSubnetID.NotFound",
];

/// A launch template version's data as CloudTrail writes it (the
/// `LaunchTemplateData` of CreateLaunchTemplate): only the fields the rules read.
pub fn template_data_json(data: &aws_sdk_ec2::types::ResponseLaunchTemplateData) -> Value {
    let mut out = Map::new();
    if let Some(image) = data.image_id() {
        out.insert("ImageId".into(), json!(image));
    }
    if let Some(key) = data.key_name() {
        out.insert("KeyName".into(), json!(key));
    }
    if let Some(m) = data.metadata_options() {
        let mut metadata = Map::new();
        if let Some(tokens) = m.http_tokens() {
            metadata.insert("HttpTokens".into(), json!(tokens.as_str()));
        }
        if let Some(hops) = m.http_put_response_hop_limit() {
            metadata.insert("HttpPutResponseHopLimit".into(), json!(hops));
        }
        if let Some(endpoint) = m.http_endpoint() {
            metadata.insert("HttpEndpoint".into(), json!(endpoint.as_str()));
        }
        out.insert("MetadataOptions".into(), Value::Object(metadata));
    }
    if let Some(p) = data.iam_instance_profile() {
        let mut profile = Map::new();
        if let Some(arn) = p.arn() {
            profile.insert("Arn".into(), json!(arn));
        }
        if let Some(name) = p.name() {
            profile.insert("Name".into(), json!(name));
        }
        out.insert("IamInstanceProfile".into(), Value::Object(profile));
    }
    if !data.security_group_ids().is_empty() {
        out.insert("SecurityGroupId".into(), json!(data.security_group_ids()));
    }
    if !data.security_groups().is_empty() {
        out.insert("SecurityGroup".into(), json!(data.security_groups()));
    }
    let nics: Vec<Value> = data
        .network_interfaces()
        .iter()
        .map(|n| {
            let mut nic = Map::new();
            if let Some(public) = n.associate_public_ip_address() {
                nic.insert("AssociatePublicIpAddress".into(), json!(public));
            }
            if let Some(index) = n.device_index() {
                nic.insert("DeviceIndex".into(), json!(index));
            }
            if let Some(subnet) = n.subnet_id() {
                nic.insert("SubnetId".into(), json!(subnet));
            }
            if !n.groups().is_empty() {
                nic.insert("SecurityGroupId".into(), json!(n.groups()));
            }
            Value::Object(nic)
        })
        .collect();
    if !nics.is_empty() {
        out.insert("NetworkInterface".into(), Value::Array(nics));
    }
    Value::Object(out)
}

#[async_trait]
impl Instances for Ec2Instances {
    async fn launch_template_data(
        &self,
        template: &str,
        version: &str,
    ) -> Result<Option<Value>, AwsError> {
        let call = self
            .client
            .describe_launch_template_versions()
            .versions(version);
        let call = if template.starts_with("lt-") {
            call.launch_template_id(template)
        } else {
            call.launch_template_name(template)
        };
        match call.send().await {
            Ok(out) => Ok(out
                .launch_template_versions()
                .first()
                .and_then(|v| v.launch_template_data())
                .map(template_data_json)),
            Err(e) => {
                let e = classify("DescribeLaunchTemplateVersions", &e);
                if e.code.as_deref().is_some_and(|c| GONE.contains(&c)) {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn metadata_defaults(&self) -> Result<(Option<String>, Option<i64>), AwsError> {
        let out = self
            .client
            .get_instance_metadata_defaults()
            .send()
            .await
            .map_err(|e| classify("GetInstanceMetadataDefaults", &e))?;
        let account = out.account_level();
        Ok((
            account
                .and_then(|a| a.http_tokens())
                .map(|t| t.as_str().to_string()),
            account
                .and_then(|a| a.http_put_response_hop_limit())
                .map(i64::from),
        ))
    }

    async fn instance_profile(&self, instance: &str) -> Result<Option<Option<String>>, AwsError> {
        match self
            .client
            .describe_instances()
            .instance_ids(instance)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .next()
                .map(|i| {
                    i.iam_instance_profile()
                        .and_then(|p| p.arn())
                        .map(str::to_string)
                })),
            Err(e) => {
                let e = classify("DescribeInstances", &e);
                if e.code.as_deref() == Some("InvalidInstanceID.NotFound") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn image_imds_support(&self, image: &str) -> Result<Option<Option<String>>, AwsError> {
        match self.client.describe_images().image_ids(image).send().await {
            Ok(out) => Ok(out.images().first().map(|i| {
                i.imds_support()
                    .map(|s| s.as_str().to_string())
                    .filter(|s| !s.is_empty())
            })),
            Err(e) => {
                let e = classify("DescribeImages", &e);
                if e.code.as_deref() == Some("InvalidAMIID.NotFound") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn provider_groups(&self) -> Result<Vec<ProviderGroup>, AwsError> {
        let mut clusters = Vec::new();
        let mut pages = self
            .ecs
            .list_clusters()
            .max_results(PER_DESCRIBE as i32)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListClusters", &e))?;
            clusters.extend(page.cluster_arns().iter().cloned());
        }
        let mut providers = BTreeSet::new();
        for batch in clusters.chunks(PER_DESCRIBE) {
            let out = self
                .ecs
                .describe_clusters()
                .set_clusters(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| classify("DescribeClusters", &e))?;
            if let Some(e) = super::ecs_failure("DescribeClusters", out.failures()) {
                return Err(e);
            }
            for cluster in out.clusters() {
                providers.extend(
                    cluster
                        .capacity_providers()
                        .iter()
                        .filter(|p| !p.starts_with("FARGATE"))
                        .cloned(),
                );
            }
        }
        let providers: Vec<String> = providers.into_iter().collect();
        let mut groups: BTreeMap<String, String> = BTreeMap::new();
        for batch in providers.chunks(PER_DESCRIBE) {
            let out = self
                .ecs
                .describe_capacity_providers()
                .set_capacity_providers(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| classify("DescribeCapacityProviders", &e))?;
            if let Some(e) = super::ecs_failure("DescribeCapacityProviders", out.failures()) {
                return Err(e);
            }
            for provider in out.capacity_providers() {
                let Some(asg) = provider.auto_scaling_group_provider() else {
                    continue;
                };
                if let Some(name) = group_name(asg.auto_scaling_group_arn()) {
                    groups.insert(
                        name.to_string(),
                        provider.name().unwrap_or_default().to_string(),
                    );
                }
            }
        }
        let names: Vec<String> = groups.keys().cloned().collect();
        let templates = group_templates(&self.autoscaling, &names, &|| {}).await?;
        Ok(templates
            .into_iter()
            .map(|(group, template)| ProviderGroup {
                provider: groups.get(&group).cloned().unwrap_or_default(),
                group,
                template,
            })
            .collect())
    }

    async fn subnet_maps_public_ip(&self, subnet: &str) -> Result<Option<bool>, AwsError> {
        match self
            .client
            .describe_subnets()
            .subnet_ids(subnet)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .subnets()
                .first()
                .map(|s| s.map_public_ip_on_launch().unwrap_or(false))),
            Err(e) => {
                let e = classify("DescribeSubnets", &e);
                if e.code.as_deref().is_some_and(|c| GONE.contains(&c)) {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }
}
