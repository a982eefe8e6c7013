//! Security groups and their ingress rules, launch templates and instances
//! in a template, as the AuthorizeSecurityGroupIngress, CreateLaunchTemplate
//! and RunInstances each would make.

use serde_json::{json, Map, Value};

use super::Resource;
use crate::iac::record::{items, permission, record};
use crate::iac::terraform::UNKNOWN_UNTIL_APPLY;

/// A whole number written as a number or a string (`"22"`); `None` when
/// absent, `Err` when it is something else (a value left to deployment).
pub(super) fn int(v: Option<&Value>, what: &str) -> Result<Option<i64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{what} is not a whole number")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{what} is not a number: {s}")),
        Some(_) => Err(format!("{what} is not a number")),
    }
}

/// A known string: a source left to deployment is not one (a permission
/// whose every source is unknown has nothing to judge, and is said).
fn known(v: Option<&Value>) -> Vec<String> {
    match v.and_then(Value::as_str) {
        Some(s) if s != UNKNOWN_UNTIL_APPLY => vec![s.to_string()],
        _ => Vec::new(),
    }
}

/// One `SecurityGroupIngress` item (inline or a resource of its own) as an
/// `ipPermissions` item.
fn ingress_permission(rule: &Value, at: &str) -> Result<Value, String> {
    let protocol = match rule.get("IpProtocol") {
        Some(Value::String(s)) if s != UNKNOWN_UNTIL_APPLY => s.to_ascii_lowercase(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(format!("{at}IpProtocol is not known")),
    };
    // A group by id, else by name (a default VPC's): a group, never the
    // internet.
    let mut groups = known(rule.get("SourceSecurityGroupId"));
    if groups.is_empty() {
        groups = known(rule.get("SourceSecurityGroupName"));
    }
    if let (Some(owner), Some(group)) = (
        known(rule.get("SourceSecurityGroupOwnerId")).first(),
        groups.first_mut(),
    ) {
        *group = format!("{owner}/{group}");
    }
    Ok(permission(
        &protocol,
        int(rule.get("FromPort"), &format!("{at}FromPort"))?,
        int(rule.get("ToPort"), &format!("{at}ToPort"))?,
        known(rule.get("CidrIp")),
        known(rule.get("CidrIpv6")),
        known(rule.get("SourcePrefixListId")),
        groups,
    ))
}

fn authorize(r: &Resource, request: Value) -> Value {
    record(
        r.id,
        r.account,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        request,
        json!({"_return": true}),
    )
}

/// `AWS::EC2::SecurityGroup`: its inline rules, its id its logical id.
pub(super) fn security_group(r: &Resource) -> Result<Vec<Value>, String> {
    let rules = match r.get("SecurityGroupIngress") {
        None => return Ok(Vec::new()),
        Some(Value::Array(rules)) => rules,
        Some(_) => return Err("Properties.SecurityGroupIngress is not a list".into()),
    };
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let perms = rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            ingress_permission(rule, &format!("Properties.SecurityGroupIngress[{i}]."))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut request = Map::new();
    request.insert("groupId".into(), Value::from(r.id));
    if let Some(name) = r.get("GroupName") {
        request.insert("groupName".into(), name.clone());
    }
    request.insert("ipPermissions".into(), items(perms));
    Ok(vec![authorize(r, Value::Object(request))])
}

/// `AWS::EC2::SecurityGroupIngress`: one rule on the group it names.
pub(super) fn ingress(r: &Resource) -> Result<Vec<Value>, String> {
    let mut request = Map::new();
    match (r.get("GroupId"), r.get("GroupName")) {
        (Some(id), _) => request.insert("groupId".into(), id.clone()),
        (None, Some(name)) => request.insert("groupName".into(), name.clone()),
        (None, None) => return Err("Properties: neither GroupId nor GroupName".into()),
    };
    let perm = ingress_permission(r.properties, "Properties.")?;
    request.insert("ipPermissions".into(), items(vec![perm]));
    Ok(vec![authorize(r, Value::Object(request))])
}

/// `AWS::EC2::LaunchTemplate`: CloudTrail writes `LaunchTemplateData` in
/// the query API's PascalCase, as CloudFormation does.
pub(super) fn launch_template(r: &Resource) -> Result<Vec<Value>, String> {
    let data = r
        .get("LaunchTemplateData")
        .cloned()
        .ok_or("Properties.LaunchTemplateData is missing")?;
    Ok(vec![record(
        r.id,
        r.account,
        "ec2.amazonaws.com",
        "CreateLaunchTemplate",
        json!({"CreateLaunchTemplateRequest": {
            "LaunchTemplateName": r.name("LaunchTemplateName"),
            "LaunchTemplateData": data,
        }}),
        Value::Null,
    )])
}

fn group_set(v: Option<&Value>) -> Value {
    let groups: Vec<Value> = v
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|g| json!({"groupId": g}))
        .collect();
    items(groups)
}

/// The properties of an instance that its RunInstances carries.
pub(super) const INSTANCE_READS: &[&str] = &[
    "ImageId",
    "InstanceType",
    "KeyName",
    "SubnetId",
    "SecurityGroupIds",
    "NetworkInterfaces",
    "IamInstanceProfile",
    "MetadataOptions",
    "LaunchTemplate",
];

/// `AWS::EC2::Instance` as the RunInstances that launches it.
pub(super) fn instance(r: &Resource) -> Result<Vec<Value>, String> {
    let mut item = Map::new();
    item.insert(
        "imageId".into(),
        r.get("ImageId").cloned().unwrap_or(Value::Null),
    );
    item.insert("minCount".into(), json!(1));
    item.insert("maxCount".into(), json!(1));
    let mut request = Map::new();
    request.insert("instancesSet".into(), items(vec![Value::Object(item)]));
    for (cfn, api) in [
        ("InstanceType", "instanceType"),
        ("KeyName", "keyName"),
        ("SubnetId", "subnetId"),
    ] {
        if let Some(v) = r.get(cfn) {
            request.insert(api.into(), v.clone());
        }
    }
    if r.get("SecurityGroupIds").is_some() {
        request.insert("groupSet".into(), group_set(r.get("SecurityGroupIds")));
    }
    if let Some(nics) = r.get("NetworkInterfaces").and_then(Value::as_array) {
        let nics: Vec<Value> = nics
            .iter()
            .map(|n| {
                let mut m = Map::new();
                for (cfn, api) in [
                    ("DeviceIndex", "deviceIndex"),
                    ("SubnetId", "subnetId"),
                    ("AssociatePublicIpAddress", "associatePublicIpAddress"),
                ] {
                    if let Some(v) = n.get(cfn) {
                        m.insert(api.into(), v.clone());
                    }
                }
                m.insert("groupSet".into(), group_set(n.get("GroupSet")));
                Value::Object(m)
            })
            .collect();
        request.insert("networkInterfaceSet".into(), items(nics));
    }
    if let Some(profile) = r.get("IamInstanceProfile") {
        request.insert("iamInstanceProfile".into(), json!({"name": profile}));
    }
    if let Some(m) = r.get("MetadataOptions") {
        request.insert("metadataOptions".into(), super::camel(m));
    }
    if let Some(t) = r.get("LaunchTemplate") {
        request.insert("launchTemplate".into(), super::camel(t));
    }
    Ok(vec![record(
        r.id,
        r.account,
        "ec2.amazonaws.com",
        "RunInstances",
        Value::Object(request),
        Value::Null,
    )])
}
