//! Security groups and their ingress rules in a plan, as the
//! AuthorizeSecurityGroupIngress each would make.

use serde_json::{json, Value};

use super::Resource;
use crate::iac::record::{items, permission, record, strings, tag_list};

/// A group's id at `key`: as the plan gives it, else the address of the
/// group of the same plan it refers to (which stands for it until apply),
/// else the resource's own address.
fn group_id(r: &Resource, key: &str) -> String {
    r.after
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| (r.refers_to)(key).into_iter().next())
        .unwrap_or_else(|| r.address.to_string())
}

fn protocol(after: &Value, key: &str) -> Result<String, String> {
    match after.get(key) {
        Some(Value::String(s)) => Ok(s.to_ascii_lowercase()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(format!("{key} is not known")),
    }
}

/// The request of a rule of the group `id`, with the group's name when the
/// plan makes the group (whether it is a VPC's default group is then known).
fn group_request(r: &Resource, id: &str, perm: Value) -> Value {
    let mut request = json!({"groupId": id, "ipPermissions": items(vec![perm])});
    if let Some((_, group)) = r.referred("security_group_id") {
        if let Some(name) = group.get("name").and_then(Value::as_str) {
            request["groupName"] = json!(name);
        }
    }
    request
}

/// A rule in the provider's older form (an inline `ingress` block, an
/// `aws_security_group_rule`) as one `ipPermissions` item, with the groups
/// it admits.
fn rule_permission(rule: &Value, groups: Vec<String>) -> Result<Value, String> {
    Ok(permission(
        &protocol(rule, "protocol")?,
        rule.get("from_port").and_then(Value::as_i64),
        rule.get("to_port").and_then(Value::as_i64),
        strings(rule.get("cidr_blocks")),
        strings(rule.get("ipv6_cidr_blocks")),
        strings(rule.get("prefix_list_ids")),
        groups,
    ))
}

pub(super) fn security_group(r: &Resource) -> Result<Vec<Value>, String> {
    let (address, after, account) = (r.address, r.after, r.account);
    let id = group_id(r, "id");
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
        perms.push(
            rule_permission(rule, groups).map_err(|e| format!("{address}: ingress[{i}].{e}"))?,
        );
    }
    let name = after
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if perms.is_empty() {
        // Rules known only after apply are not "no rules".
        if (r.unknown_at)("ingress") {
            return Err(format!("{address}: ingress is not known until apply"));
        }
        // A group without inline ingress: its creation, which the rule
        // resources of the plan add to.
        let tags = tag_list(after)
            .map(|tags| json!({"items": [{"resourceType": "security-group", "tags": tags}]}));
        let mut request = json!({"groupName": name,
            "groupDescription": after.get("description"), "vpcId": after.get("vpc_id")});
        if let Some(tags) = tags {
            request["tagSpecificationSet"] = tags;
        }
        return Ok(vec![record(
            address,
            account,
            "ec2.amazonaws.com",
            "CreateSecurityGroup",
            request,
            json!({"_return": true, "groupId": id}),
        )]);
    }
    let request = json!({"groupId": id, "groupName": name, "ipPermissions": items(perms)});
    Ok(vec![record(
        address,
        account,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        request,
        json!({"_return": true}),
    )])
}

pub(super) fn group_rule(r: &Resource) -> Result<Vec<Value>, String> {
    let (address, after, account) = (r.address, r.after, r.account);
    if after.get("type").and_then(Value::as_str) != Some("ingress") {
        return Ok(Vec::new());
    }
    let id = group_id(r, "security_group_id");
    let mut groups: Vec<String> = after
        .get("source_security_group_id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .into_iter()
        .collect();
    if groups.is_empty() {
        groups = (r.refers_to)("source_security_group_id");
    }
    if after.get("self").and_then(Value::as_bool) == Some(true) {
        groups.push(id.clone());
    }
    let perm = rule_permission(after, groups).map_err(|e| format!("{address}: {e}"))?;
    Ok(vec![record(
        address,
        account,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        group_request(r, &id, perm),
        json!({"_return": true}),
    )])
}

pub(super) fn ingress_rule(r: &Resource) -> Result<Vec<Value>, String> {
    let (address, after, account) = (r.address, r.after, r.account);
    let id = group_id(r, "security_group_id");
    let one = |key: &str| -> Vec<String> {
        after
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .into_iter()
            .collect()
    };
    // A group of the same plan is named by its address.
    let mut source = one("referenced_security_group_id");
    if source.is_empty() {
        source = (r.refers_to)("referenced_security_group_id");
    }
    let perm = permission(
        &protocol(after, "ip_protocol").map_err(|e| format!("{address}: {e}"))?,
        after.get("from_port").and_then(Value::as_i64),
        after.get("to_port").and_then(Value::as_i64),
        one("cidr_ipv4"),
        one("cidr_ipv6"),
        one("prefix_list_id"),
        source,
    );
    Ok(vec![record(
        address,
        account,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        group_request(r, &id, perm),
        json!({"_return": true}),
    )])
}
