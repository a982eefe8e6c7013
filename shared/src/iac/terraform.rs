//! Terraform plans (`terraform show -json PLANFILE`): each resource change
//! that is not a deletion, read from `change.after` (`planned_values` are
//! the same values), as the record of the call that would make it:
//!
//! | resource | record |
//! | --- | --- |
//! | `aws_security_group` (inline `ingress`) | AuthorizeSecurityGroupIngress |
//! | `aws_security_group_rule` (`type = "ingress"`) | AuthorizeSecurityGroupIngress |
//! | `aws_vpc_security_group_ingress_rule` | AuthorizeSecurityGroupIngress |
//! | `aws_ecs_task_definition` | RegisterTaskDefinition |
//! | `aws_ecs_service` | CreateService |
//!
//! A group created in the same plan has no id yet: its address stands for
//! it. `change.after_unknown` marks what apply decides; such a value the
//! rules would judge is listed as unknown.

use serde_json::{json, Map, Value};

use super::Planned;
use crate::model::event::Event;

/// What is not judged though unknown: ids and ARNs AWS gives at creation,
/// the tags the provider adds.
const DECIDED_BY_AWS: &[&str] = &[
    "id",
    "arn",
    "arn_without_revision",
    "owner_id",
    "revision",
    "tags_all",
    "security_group_rule_id",
    "security_group_id",
    "source_security_group_id",
    "referenced_security_group_id",
    "task_role_arn",
    "execution_role_arn",
    "cluster",
    "task_definition",
    "iam_role",
    "vpc_id",
];

/// What stands for a value the plan leaves unknown where the rules need
/// one to be there (a group created in the same plan).
pub const UNKNOWN_UNTIL_APPLY: &str = "(known after apply)";

/// The resources a plan would create or change that some guard judges, in
/// the plan's order; `Err` when the document is not a plan. `account` is the
/// account the plan deploys to, when known (its own ECR registry is
/// trusted); a plan does not say.
pub fn planned(plan: &Value, origin: &str, account: Option<&str>) -> Result<Vec<Planned>, String> {
    let account = account.unwrap_or("plan");
    let changes = plan
        .get("resource_changes")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            format!("{origin}: not a Terraform plan (no resource_changes: `terraform show -json PLANFILE` writes one)")
        })?;
    let mut out = Vec::new();
    for (i, rc) in changes.iter().enumerate() {
        let address = rc
            .get("address")
            .and_then(Value::as_str)
            .map_or_else(|| format!("resource_changes[{i}]"), str::to_string);
        let kind = rc.get("type").and_then(Value::as_str).unwrap_or_default();
        let actions: Vec<&str> = rc
            .pointer("/change/actions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if actions.iter().all(|a| *a == "delete") && !actions.is_empty() {
            continue;
        }
        let after = rc.pointer("/change/after").cloned().unwrap_or(Value::Null);
        let unknown_tree = rc
            .pointer("/change/after_unknown")
            .cloned()
            .unwrap_or(Value::Null);
        let mut unknown = Vec::new();
        unknown_paths(&unknown_tree, String::new(), &mut unknown);
        unknown.retain(|p| {
            let leaf = p
                .rsplit(['.', ']'])
                .find(|s| !s.is_empty() && !s.starts_with('['))
                .unwrap_or(p);
            let top = p.split(['.', '[']).next().unwrap_or(p);
            !DECIDED_BY_AWS.contains(&top) && !DECIDED_BY_AWS.contains(&leaf)
        });
        let unknown_at = |key: &str| {
            unknown.iter().any(|u| {
                u == key || u.starts_with(&format!("{key}.")) || u.starts_with(&format!("{key}["))
            })
        };
        let record = match kind {
            "aws_security_group" => security_group(&address, &after, account),
            "aws_security_group_rule" => {
                if after.get("type").and_then(Value::as_str) != Some("ingress") {
                    continue;
                }
                group_rule(&address, &after, account)
            }
            "aws_vpc_security_group_ingress_rule" => ingress_rule(&address, &after, account),
            "aws_ecs_task_definition" => task_definition(&address, &after, account),
            "aws_ecs_service" => service(&address, &after, account, &unknown_at),
            _ => continue,
        };
        let event = record
            .and_then(|r| Event::from_value(&r, origin).map_err(|e| format!("{address}: {e}")));
        // A record that cannot be made because a value is unknown until
        // apply is unknown, not an error of the plan.
        let event = match event {
            Err(_) if !unknown.is_empty() => Err(format!(
                "{address}: not judged: {} unknown until apply",
                unknown.join(", ")
            )),
            other => other,
        };
        out.push(Planned {
            address,
            kind: kind.to_string(),
            event,
            unknown,
        });
    }
    Ok(out)
}

/// The paths of the `true` leaves of `after_unknown`.
fn unknown_paths(tree: &Value, at: String, out: &mut Vec<String>) {
    match tree {
        Value::Bool(true) => out.push(if at.is_empty() {
            "(all)".to_string()
        } else {
            at
        }),
        Value::Object(map) => {
            for (k, v) in map {
                let next = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                unknown_paths(v, next, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                unknown_paths(v, format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// A CloudTrail record of `name` by `source`, its id the address.
fn record(
    address: &str,
    account: &str,
    source: &str,
    name: &str,
    request: Value,
    response: Value,
) -> Value {
    json!({
        "eventVersion": "1.08",
        "eventID": address,
        "eventName": name,
        "eventSource": source,
        "eventTime": "1970-01-01T00:00:00Z",
        "awsRegion": "plan",
        "recipientAccountId": account,
        "userIdentity": {"type": "AssumedRole", "arn": "terraform plan"},
        "requestParameters": request,
        "responseElements": response,
    })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn items(values: Vec<Value>) -> Value {
    json!({ "items": values })
}

/// One `ipPermissions` item from Terraform's attributes (inline `ingress`
/// or a rule resource): CIDRs, IPv6 CIDRs, prefix lists, groups.
fn permission(
    protocol: &str,
    from: Option<i64>,
    to: Option<i64>,
    v4: Vec<String>,
    v6: Vec<String>,
    lists: Vec<String>,
    groups: Vec<String>,
) -> Value {
    let mut p = Map::new();
    p.insert("ipProtocol".into(), json!(protocol));
    if protocol != "-1" && protocol != "all" {
        if let Some(from) = from {
            p.insert("fromPort".into(), json!(from));
        }
        if let Some(to) = to {
            p.insert("toPort".into(), json!(to));
        }
    }
    p.insert(
        "ipRanges".into(),
        items(v4.into_iter().map(|c| json!({"cidrIp": c})).collect()),
    );
    p.insert(
        "ipv6Ranges".into(),
        items(v6.into_iter().map(|c| json!({"cidrIpv6": c})).collect()),
    );
    p.insert(
        "prefixListIds".into(),
        items(
            lists
                .into_iter()
                .map(|l| json!({"prefixListId": l}))
                .collect(),
        ),
    );
    // Another account's group is `owner/sg-…` in Terraform.
    p.insert(
        "groups".into(),
        items(
            groups
                .into_iter()
                .map(|g| match g.split_once('/') {
                    Some((owner, id)) => json!({"groupId": id, "userId": owner}),
                    None => json!({"groupId": g}),
                })
                .collect(),
        ),
    );
    Value::Object(p)
}

/// A group's id: its own, else the address that stands for it.
fn group_id(after: &Value, key: &str, address: &str) -> String {
    after
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map_or_else(|| address.to_string(), str::to_string)
}

fn protocol(after: &Value, key: &str) -> Result<String, String> {
    match after.get(key) {
        Some(Value::String(s)) => Ok(s.to_ascii_lowercase()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(format!("{key} is not known")),
    }
}

fn security_group(address: &str, after: &Value, account: &str) -> Result<Value, String> {
    let id = group_id(after, "id", address);
    let mut perms = Vec::new();
    for (i, rule) in after
        .get("ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let mut groups = strings(rule.get("security_groups"));
        if rule.get("self").and_then(Value::as_bool) == Some(true) {
            groups.push(id.clone());
        }
        perms.push(permission(
            &protocol(rule, "protocol").map_err(|e| format!("{address}: ingress[{i}].{e}"))?,
            rule.get("from_port").and_then(Value::as_i64),
            rule.get("to_port").and_then(Value::as_i64),
            strings(rule.get("cidr_blocks")),
            strings(rule.get("ipv6_cidr_blocks")),
            strings(rule.get("prefix_list_ids")),
            groups,
        ));
    }
    let name = after
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let request = json!({"groupId": id, "groupName": name, "ipPermissions": items(perms)});
    Ok(record(
        address,
        account,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        request,
        json!({"_return": true}),
    ))
}

fn group_rule(address: &str, after: &Value, account: &str) -> Result<Value, String> {
    let id = group_id(after, "security_group_id", address);
    let mut groups: Vec<String> = after
        .get("source_security_group_id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .into_iter()
        .collect();
    if after.get("self").and_then(Value::as_bool) == Some(true) {
        groups.push(id.clone());
    }
    let perm = permission(
        &protocol(after, "protocol").map_err(|e| format!("{address}: {e}"))?,
        after.get("from_port").and_then(Value::as_i64),
        after.get("to_port").and_then(Value::as_i64),
        strings(after.get("cidr_blocks")),
        strings(after.get("ipv6_cidr_blocks")),
        strings(after.get("prefix_list_ids")),
        groups,
    );
    Ok(record(
        address,
        account,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        json!({"groupId": id, "ipPermissions": items(vec![perm])}),
        json!({"_return": true}),
    ))
}

fn ingress_rule(address: &str, after: &Value, account: &str) -> Result<Value, String> {
    let id = group_id(after, "security_group_id", address);
    let one = |key: &str| -> Vec<String> {
        after
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .into_iter()
            .collect()
    };
    let perm = permission(
        &protocol(after, "ip_protocol").map_err(|e| format!("{address}: {e}"))?,
        after.get("from_port").and_then(Value::as_i64),
        after.get("to_port").and_then(Value::as_i64),
        one("cidr_ipv4"),
        one("cidr_ipv6"),
        one("prefix_list_id"),
        one("referenced_security_group_id"),
    );
    Ok(record(
        address,
        account,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        json!({"groupId": id, "ipPermissions": items(vec![perm])}),
        json!({"_return": true}),
    ))
}

fn task_definition(address: &str, after: &Value, account: &str) -> Result<Value, String> {
    let containers: Value = match after.get("container_definitions") {
        Some(Value::String(text)) => serde_json::from_str(text)
            .map_err(|e| format!("{address}: container_definitions is not JSON: {e}"))?,
        Some(Value::Array(list)) => Value::Array(list.clone()),
        _ => {
            return Err(format!(
                "{address}: container_definitions is not known until apply"
            ))
        }
    };
    let mut request = Map::new();
    request.insert("containerDefinitions".into(), containers);
    for (tf, aws) in [
        ("family", "family"),
        ("network_mode", "networkMode"),
        ("task_role_arn", "taskRoleArn"),
        ("execution_role_arn", "executionRoleArn"),
        ("cpu", "cpu"),
        ("memory", "memory"),
        ("pid_mode", "pidMode"),
        ("ipc_mode", "ipcMode"),
    ] {
        if let Some(v) = after.get(tf).filter(|v| !v.is_null()) {
            request.insert(aws.into(), v.clone());
        }
    }
    if let Some(list) = after.get("requires_compatibilities") {
        request.insert("requiresCompatibilities".into(), list.clone());
    }
    if let Some(platform) = after
        .get("runtime_platform")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        request.insert(
            "runtimePlatform".into(),
            json!({"operatingSystemFamily": platform.get("operating_system_family"),
                   "cpuArchitecture": platform.get("cpu_architecture")}),
        );
    }
    if let Some(volumes) = after.get("volume").and_then(Value::as_array) {
        let volumes: Vec<Value> = volumes.iter().map(volume).collect();
        request.insert("volumes".into(), Value::Array(volumes));
    }
    if let Some(tags) = after.get("tags").and_then(Value::as_object) {
        let tags: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        request.insert("tags".into(), Value::Array(tags));
    }
    Ok(record(
        address,
        account,
        "ecs.amazonaws.com",
        "RegisterTaskDefinition",
        Value::Object(request),
        Value::Null,
    ))
}

/// A `volume` block as the API's `volumes[]` entry: a host path, a Docker
/// volume (its driver options), an EFS file system (transit encryption).
fn volume(v: &Value) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), v.get("name").cloned().unwrap_or(Value::Null));
    if let Some(path) = v
        .get("host_path")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        out.insert("host".into(), json!({"sourcePath": path}));
    }
    let first = |key: &str| v.get(key).and_then(Value::as_array).and_then(|a| a.first());
    if let Some(d) = first("docker_volume_configuration") {
        let mut c = Map::new();
        for (tf, aws) in [
            ("scope", "scope"),
            ("autoprovision", "autoprovision"),
            ("driver", "driver"),
            ("driver_opts", "driverOpts"),
            ("labels", "labels"),
        ] {
            if let Some(x) = d.get(tf).filter(|x| !x.is_null()) {
                c.insert(aws.into(), x.clone());
            }
        }
        out.insert("dockerVolumeConfiguration".into(), Value::Object(c));
    }
    if let Some(e) = first("efs_volume_configuration") {
        let mut c = Map::new();
        for (tf, aws) in [
            ("file_system_id", "fileSystemId"),
            ("root_directory", "rootDirectory"),
            ("transit_encryption", "transitEncryption"),
            ("transit_encryption_port", "transitEncryptionPort"),
        ] {
            if let Some(x) = e.get(tf).filter(|x| !x.is_null()) {
                c.insert(aws.into(), x.clone());
            }
        }
        if let Some(a) = e
            .get("authorization_config")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            c.insert(
                "authorizationConfig".into(),
                json!({"iam": a.get("iam"), "accessPointId": a.get("access_point_id")}),
            );
        }
        out.insert("efsVolumeConfiguration".into(), Value::Object(c));
    }
    Value::Object(out)
}

fn service(
    address: &str,
    after: &Value,
    account: &str,
    unknown_at: &dyn Fn(&str) -> bool,
) -> Result<Value, String> {
    let mut request = Map::new();
    request.insert(
        "serviceName".into(),
        after.get("name").cloned().unwrap_or(json!(address)),
    );
    for (tf, aws) in [
        ("cluster", "cluster"),
        ("task_definition", "taskDefinition"),
        ("launch_type", "launchType"),
        ("platform_version", "platformVersion"),
        ("enable_execute_command", "enableExecuteCommand"),
        ("desired_count", "desiredCount"),
    ] {
        if let Some(v) = after.get(tf).filter(|v| !v.is_null()) {
            request.insert(aws.into(), v.clone());
        }
    }
    if let Some(net) = after
        .get("network_configuration")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        let public = net.get("assign_public_ip").and_then(Value::as_bool) == Some(true);
        // Groups created in the same plan have no ids yet: there are
        // groups, which ones is known after apply.
        let mut groups = strings(net.get("security_groups"));
        if groups.is_empty() && unknown_at("network_configuration") {
            groups.push(UNKNOWN_UNTIL_APPLY.to_string());
        }
        request.insert(
            "networkConfiguration".into(),
            json!({"awsvpcConfiguration": {
                "subnets": strings(net.get("subnets")),
                "securityGroups": groups,
                "assignPublicIp": if public { "ENABLED" } else { "DISABLED" },
            }}),
        );
    }
    if let Some(tags) = after.get("tags").and_then(Value::as_object) {
        let tags: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        request.insert("tags".into(), Value::Array(tags));
    }
    if let Some(sc) = after
        .get("service_connect_configuration")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        let services: Vec<Value> = sc
            .get("service")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|s| {
                let mut m = Map::new();
                m.insert(
                    "portName".into(),
                    s.get("port_name").cloned().unwrap_or(Value::Null),
                );
                if let Some(tls) = s
                    .get("tls")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                {
                    m.insert(
                        "tls".into(),
                        json!({"kmsKey": tls.get("kms_key"), "roleArn": tls.get("role_arn")}),
                    );
                }
                Value::Object(m)
            })
            .collect();
        request.insert(
            "serviceConnectConfiguration".into(),
            json!({"enabled": sc.get("enabled"), "namespace": sc.get("namespace"), "services": services}),
        );
    }
    if let Some(lbs) = after.get("load_balancer").and_then(Value::as_array) {
        let lbs: Vec<Value> = lbs
            .iter()
            .map(|lb| {
                let mut m = Map::new();
                for (tf, aws) in [
                    ("target_group_arn", "targetGroupArn"),
                    ("elb_name", "loadBalancerName"),
                    ("container_name", "containerName"),
                    ("container_port", "containerPort"),
                ] {
                    if let Some(v) = lb
                        .get(tf)
                        .filter(|v| !v.is_null() && v.as_str() != Some(""))
                    {
                        m.insert(aws.into(), v.clone());
                    }
                }
                Value::Object(m)
            })
            .collect();
        request.insert("loadBalancers".into(), Value::Array(lbs));
    }
    Ok(record(
        address,
        account,
        "ecs.amazonaws.com",
        "CreateService",
        Value::Object(request),
        Value::Null,
    ))
}

#[cfg(test)]
mod tests;
