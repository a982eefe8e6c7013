//! The CloudTrail records a template or plan's resources stand for, made
//! the same way whatever the source: one record per call, its event id the
//! resource's address or logical id.

use serde_json::{json, Map, Value};

/// A CloudTrail record of `name` by `source`, its id the address.
pub(crate) fn record(
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
        "userIdentity": {"type": "AssumedRole", "arn": "before deployment"},
        "requestParameters": request,
        "responseElements": response,
    })
}

pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn items(values: Vec<Value>) -> Value {
    json!({ "items": values })
}

/// One `ipPermissions` item from Terraform's attributes (inline `ingress`
/// or a rule resource): CIDRs, IPv6 CIDRs, prefix lists, groups.
pub(crate) fn permission(
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

/// Copies into `into` each value of `source` that is set (not null) at a
/// `(from, to)` pair's `from`, under its `to`: Terraform's attribute names
/// to the API's.
pub(crate) fn copy(source: &Value, pairs: &[(&str, &str)], into: &mut Map<String, Value>) {
    for (from, to) in pairs {
        if let Some(v) = source.get(from).filter(|v| !v.is_null()) {
            into.insert((*to).to_string(), v.clone());
        }
    }
}

/// A Terraform tag map (`{"team": "web"}`) at `tags` as the API's
/// `[{key, value}]`; `None` when there is none.
pub(crate) fn tag_list(source: &Value) -> Option<Value> {
    source.get("tags").and_then(Value::as_object).map(|tags| {
        Value::Array(
            tags.iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect(),
        )
    })
}
