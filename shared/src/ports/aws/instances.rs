//! EC2 reads about launches (feature `aws`): launch template versions,
//! written back as CloudTrail writes launch template data so that one
//! parser reads both; the account's instance metadata defaults; a subnet's
//! `MapPublicIpOnLaunch`.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::classify;
use crate::ports::{AwsError, Instances};

/// EC2 through the SDK.
#[derive(Debug, Clone)]
pub struct Ec2Instances {
    client: aws_sdk_ec2::Client,
}

impl Ec2Instances {
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Ec2Instances { client }
    }
}

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
