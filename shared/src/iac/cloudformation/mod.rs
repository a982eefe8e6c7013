//! CloudFormation templates (JSON or YAML, short-form tags read as their
//! long forms): each resource, named by its logical id and the line where
//! it is declared, as the record of the call that would make it:
//!
//! | type | record |
//! | --- | --- |
//! | `AWS::EC2::SecurityGroup` (inline `SecurityGroupIngress`) | AuthorizeSecurityGroupIngress |
//! | `AWS::EC2::SecurityGroupIngress` | AuthorizeSecurityGroupIngress |
//! | `AWS::ECS::TaskDefinition` | RegisterTaskDefinition |
//! | `AWS::ECS::Service` | CreateService |
//! | `AWS::ECS::TaskSet` | CreateTaskSet |
//! | `AWS::ECS::Cluster` | CreateCluster |
//! | `AWS::ECS::CapacityProvider` | CreateCapacityProvider |
//! | `AWS::ECS::ClusterCapacityProviderAssociations` | PutClusterCapacityProviders |
//! | `AWS::EC2::LaunchTemplate` | CreateLaunchTemplate |
//! | `AWS::EC2::Instance` | RunInstances |
//! | `AWS::IAM::Role` | CreateRole, PutRolePolicy per inline policy, AttachRolePolicy per managed policy |
//! | `AWS::IAM::Policy` | PutRolePolicy, PutUserPolicy, PutGroupPolicy per role, user, group |
//! | `AWS::IAM::ManagedPolicy` | CreatePolicy |
//! | `AWS::ElasticLoadBalancingV2::LoadBalancer` | CreateLoadBalancer (+ ModifyLoadBalancerAttributes) |
//! | `AWS::ElasticLoadBalancingV2::Listener` | CreateListener |
//! | `AWS::ElasticLoadBalancingV2::TargetGroup` | CreateTargetGroup |
//! | `AWS::ElasticLoadBalancingV2::ListenerRule` | CreateRule |
//! | `AWS::EC2::Route` | CreateRoute |
//! | `AWS::EC2::NetworkAclEntry` | CreateNetworkAclEntry |
//! | `AWS::EC2::Subnet` (`MapPublicIpOnLaunch`) | ModifySubnetAttribute |
//!
//! A resource of the same template stands for itself by its logical id: a
//! service's group `!Ref WebSG` is `"WebSG"`, the id the group's own record
//! carries. What the template leaves to deployment (a parameter without a
//! default, `Fn::If`, `Fn::ImportValue`, the account when none is given) is
//! unknown: its property path is said, never taken as a pass.

mod ec2;
mod ecs;
mod elb;
mod iam;
mod read;
mod resolve;
mod vpc;

use serde_json::{Map, Value};

use super::Planned;
use crate::model::event::Event;
use resolve::Template;

/// The resources of a CloudFormation template (JSON or YAML text) that some
/// guard judges, in the template's order; `Err` when the text is not a
/// template. `account` is the account the template deploys to, when known
/// (`AWS::AccountId`; its own ECR registry is trusted).
pub fn planned(text: &str, origin: &str, account: Option<&str>) -> Result<Vec<Planned>, String> {
    let document = read::document(text).map_err(|e| format!("{origin}: {e}"))?;
    let resources = document
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{origin}: not a CloudFormation template (no Resources map)"))?;
    let template = Template {
        parameters: document.get("Parameters").and_then(Value::as_object),
        mappings: document.get("Mappings").and_then(Value::as_object),
        resources,
        account,
    };
    let lines = read::lines(text);
    let line_of = |id: &str| lines.iter().find(|(k, _)| k == id).map(|(_, l)| *l);
    // In the template's order: by line, where the text has one.
    let mut order: Vec<(&String, &Value)> = resources.iter().collect();
    order.sort_by_key(|(id, _)| line_of(id).unwrap_or(usize::MAX));
    let mut out = Vec::new();
    for (id, resource) in order {
        let kind = resource
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // Each reader, and the properties it reads where not all (an
        // unknown value elsewhere is not one a rule needs).
        let (read, reads): (Reader, &[&str]) = match kind {
            "AWS::EC2::SecurityGroup" => {
                (ec2::security_group, &["SecurityGroupIngress", "GroupName"])
            }
            "AWS::EC2::SecurityGroupIngress" => (ec2::ingress, ALL),
            "AWS::EC2::LaunchTemplate" => (
                ec2::launch_template,
                &["LaunchTemplateName", "LaunchTemplateData"],
            ),
            "AWS::EC2::Instance" => (ec2::instance, ec2::INSTANCE_READS),
            "AWS::ECS::TaskDefinition" => (ecs::task_definition, ALL),
            "AWS::ECS::Service" => (ecs::service, ALL),
            "AWS::ECS::TaskSet" => (ecs::task_set, ALL),
            "AWS::ECS::Cluster" => (ecs::cluster, ALL),
            "AWS::ECS::CapacityProvider" => (ecs::capacity_provider, ALL),
            "AWS::ECS::ClusterCapacityProviderAssociations" => (ecs::associations, ALL),
            "AWS::IAM::Role" => (
                iam::role,
                &[
                    "RoleName",
                    "AssumeRolePolicyDocument",
                    "Policies",
                    "ManagedPolicyArns",
                ],
            ),
            "AWS::IAM::Policy" => (
                iam::policy,
                &["PolicyName", "PolicyDocument", "Roles", "Users", "Groups"],
            ),
            "AWS::IAM::ManagedPolicy" => (
                iam::managed_policy,
                &["ManagedPolicyName", "PolicyDocument"],
            ),
            "AWS::ElasticLoadBalancingV2::LoadBalancer" => (elb::load_balancer, ALL),
            "AWS::ElasticLoadBalancingV2::Listener" => (elb::listener, ALL),
            "AWS::ElasticLoadBalancingV2::TargetGroup" => (elb::target_group, ALL),
            "AWS::ElasticLoadBalancingV2::ListenerRule" => (elb::rule, ALL),
            "AWS::EC2::Route" => (vpc::route, ALL),
            "AWS::EC2::NetworkAclEntry" => (vpc::acl_entry, ALL),
            "AWS::EC2::Subnet" => (vpc::subnet, &["MapPublicIpOnLaunch"]),
            _ => continue,
        };
        let mut unknown = Vec::new();
        let properties = match resource.get("Properties") {
            Some(p) => template
                .resolve(p, "Properties", &mut unknown)
                .unwrap_or_else(|| Value::Object(Map::new())),
            None => Value::Object(Map::new()),
        };
        if !reads.is_empty() {
            unknown.retain(|path| {
                let property = path
                    .strip_prefix("Properties.")
                    .and_then(|p| p.split(['.', '[']).next());
                property.is_none_or(|p| reads.contains(&p))
            });
        }
        let r = Resource {
            id,
            properties: &properties,
            account: account.unwrap_or("template"),
        };
        // Properties left to deployment as a whole (`Fn::If`) say nothing
        // a reader could take as safe.
        let read = if properties.is_object() {
            read(&r)
        } else {
            Err("Properties is not a map".to_string())
        };
        let records = match read {
            Ok(records) => records.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(format!("{id}: {e}"))],
        };
        let line = line_of(id);
        for record in records {
            let event = record
                .and_then(|r| Event::from_value(&r, origin).map_err(|e| format!("{id}: {e}")));
            // A record that cannot be made because a value is left to
            // deployment is unknown, not an error of the template.
            let event = match event {
                Err(_) if !unknown.is_empty() => Err(format!(
                    "{id}: not judged: {} unknown until deployment",
                    unknown.join(", ")
                )),
                other => other,
            };
            out.push(Planned {
                address: id.clone(),
                kind: kind.to_string(),
                event,
                unknown: unknown.clone(),
                line,
            });
        }
    }
    Ok(out)
}

/// Every property: the reader passes them all to the record.
const ALL: &[&str] = &[];

/// Reads one resource type into the records of its calls.
type Reader = fn(&Resource) -> Result<Vec<Value>, String>;

/// One resource as the function that reads its type sees it.
struct Resource<'a> {
    /// The logical id.
    id: &'a str,
    /// `Properties`, intrinsics resolved.
    properties: &'a Value,
    account: &'a str,
}

impl Resource<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.properties.get(key).filter(|v| !v.is_null())
    }

    /// A string property, else the logical id (a name CloudFormation
    /// makes up stands for the resource).
    fn name(&self, key: &str) -> Value {
        self.get(key)
            .cloned()
            .unwrap_or_else(|| Value::from(self.id))
    }
}

/// The keys whose values are the user's own maps (labels, driver and log
/// options): their keys are kept as written.
const USER_MAPS: [&str; 4] = ["Options", "DockerLabels", "DriverOpts", "Labels"];

/// A PascalCase property tree as the API's camelCase request: each key's
/// leading capitals lowered (`EFSVolumeConfiguration` →
/// `efsVolumeConfiguration`), the keys of user maps kept.
fn camel(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if USER_MAPS.contains(&k.as_str()) {
                        v.clone()
                    } else {
                        camel(v)
                    };
                    (camel_key(k), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(camel).collect()),
        other => other.clone(),
    }
}

fn camel_key(key: &str) -> String {
    match key {
        // Where CloudFormation's name is not the API's.
        "FilesystemId" => return "fileSystemId".into(),
        "ClusterSettings" => return "settings".into(),
        _ => {}
    }
    let chars: Vec<char> = key.chars().collect();
    let capitals = chars.iter().take_while(|c| c.is_ascii_uppercase()).count();
    // `EFSVolume`: the last capital starts the next word; `IAM`, `Cpu`:
    // all lowered.
    let lower = if capitals > 1 && capitals < chars.len() {
        capitals - 1
    } else {
        capitals.max(1)
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < lower {
                c.to_ascii_lowercase()
            } else {
                *c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
