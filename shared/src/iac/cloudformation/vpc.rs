//! Routes, network ACL entries and subnets in a template, as CreateRoute,
//! CreateNetworkAclEntry and ModifySubnetAttribute.

use serde_json::{json, Map, Value};

use super::ec2::int;
use super::{camel, Resource};
use crate::iac::record::record;

fn ec2(r: &Resource, name: &str, request: Value) -> Vec<Value> {
    vec![record(
        r.id,
        r.account,
        "ec2.amazonaws.com",
        name,
        request,
        json!({"_return": true}),
    )]
}

/// `AWS::EC2::Route` as CreateRoute.
pub(super) fn route(r: &Resource) -> Result<Vec<Value>, String> {
    Ok(ec2(r, "CreateRoute", camel(r.properties)))
}

/// `AWS::EC2::NetworkAclEntry` as CreateNetworkAclEntry: the protocol
/// number as text (`"6"`), the ports as `portRange`, ICMP as `icmpTypeCode`.
pub(super) fn acl_entry(r: &Resource) -> Result<Vec<Value>, String> {
    let mut request = Map::new();
    for (cfn, api) in [
        ("NetworkAclId", "networkAclId"),
        ("RuleNumber", "ruleNumber"),
        ("RuleAction", "ruleAction"),
        ("CidrBlock", "cidrBlock"),
        ("Ipv6CidrBlock", "ipv6CidrBlock"),
    ] {
        if let Some(v) = r.get(cfn) {
            request.insert(api.into(), v.clone());
        }
    }
    request.insert(
        "egress".into(),
        r.get("Egress").cloned().unwrap_or(Value::Bool(false)),
    );
    let protocol =
        int(r.get("Protocol"), "Properties.Protocol")?.ok_or("Properties.Protocol is missing")?;
    request.insert("aclProtocol".into(), Value::from(protocol.to_string()));
    let mut range = Map::new();
    if let Some(p) = r.get("PortRange") {
        for (cfn, api) in [("From", "from"), ("To", "to")] {
            if let Some(port) = int(p.get(cfn), &format!("Properties.PortRange.{cfn}"))? {
                range.insert(api.into(), Value::from(port));
            }
        }
    }
    request.insert("portRange".into(), Value::Object(range));
    let mut icmp = Map::new();
    if let Some(i) = r.get("Icmp") {
        for (cfn, api) in [("Type", "type"), ("Code", "code")] {
            if let Some(n) = int(i.get(cfn), &format!("Properties.Icmp.{cfn}"))? {
                icmp.insert(api.into(), Value::from(n));
            }
        }
    }
    request.insert("icmpTypeCode".into(), Value::Object(icmp));
    Ok(ec2(r, "CreateNetworkAclEntry", Value::Object(request)))
}

/// `AWS::EC2::Subnet` that sets `MapPublicIpOnLaunch`, as the
/// ModifySubnetAttribute that sets it on the subnet (its logical id).
pub(super) fn subnet(r: &Resource) -> Result<Vec<Value>, String> {
    let Some(map) = r.get("MapPublicIpOnLaunch") else {
        return Ok(Vec::new());
    };
    let value = match map {
        Value::Bool(b) => Value::Bool(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
        _ => return Err("Properties.MapPublicIpOnLaunch is not a boolean".into()),
    };
    Ok(ec2(
        r,
        "ModifySubnetAttribute",
        json!({"subnetId": r.id, "mapPublicIpOnLaunch": {"value": value}}),
    ))
}
