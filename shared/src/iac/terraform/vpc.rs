//! The network path in a plan: routes (`aws_route`, `aws_route_table`'s
//! inline `route`) as CreateRoute, network ACL entries
//! (`aws_network_acl_rule`, `aws_network_acl`'s inline `ingress` and
//! `egress`) as CreateNetworkAclEntry, and a subnet that maps public IPs
//! at launch (`aws_subnet`) as ModifySubnetAttribute.
//!
//! A route table, ACL or subnet made in the same plan stands as its
//! address. A route target or an entry's source known only after apply is
//! not judged.

use serde_json::{json, Map, Value};

use super::{known, text, Resource};
use crate::iac::record::record;

const EC2: &str = "ec2.amazonaws.com";

/// A resource's id or the address that stands for it.
fn id_or<'a>(v: &'a Value, key: &str, address: &'a str) -> &'a str {
    text(v, key).unwrap_or(address)
}

/// Terraform's route attributes → CreateRoute's (destination and target).
const ROUTE_KEYS: [(&str, &str); 12] = [
    ("destination_cidr_block", "destinationCidrBlock"),
    ("destination_ipv6_cidr_block", "destinationIpv6CidrBlock"),
    ("destination_prefix_list_id", "destinationPrefixListId"),
    ("gateway_id", "gatewayId"),
    ("egress_only_gateway_id", "egressOnlyInternetGatewayId"),
    ("nat_gateway_id", "natGatewayId"),
    ("network_interface_id", "networkInterfaceId"),
    ("vpc_peering_connection_id", "vpcPeeringConnectionId"),
    ("transit_gateway_id", "transitGatewayId"),
    ("local_gateway_id", "localGatewayId"),
    ("carrier_gateway_id", "carrierGatewayId"),
    ("vpc_endpoint_id", "vpcEndpointId"),
];

fn route_request(table: &str, route: &Value, inline: bool) -> Value {
    let mut request = Map::new();
    request.insert("routeTableId".into(), json!(table));
    for (tf, aws) in ROUTE_KEYS {
        // An inline route names its destination without the prefix.
        let tf = match (inline, tf) {
            (true, "destination_cidr_block") => "cidr_block",
            (true, "destination_ipv6_cidr_block") => "ipv6_cidr_block",
            (true, "destination_prefix_list_id") => "destination_prefix_list_id",
            (_, tf) => tf,
        };
        if let Some(v) = text(route, tf) {
            request.insert(aws.into(), json!(v));
        }
    }
    Value::Object(request)
}

pub(super) fn route(r: &Resource) -> Result<Vec<Value>, String> {
    let paths: Vec<String> = ROUTE_KEYS.iter().map(|(tf, _)| tf.to_string()).collect();
    known(r, &paths)?;
    let table = id_or(r.after, "route_table_id", r.address);
    Ok(vec![record(
        r.address,
        r.account,
        EC2,
        "CreateRoute",
        route_request(table, r.after, false),
        json!({"_return": true}),
    )])
}

pub(super) fn route_table(r: &Resource) -> Result<Vec<Value>, String> {
    known(r, &["route".to_string()])?;
    let table = id_or(r.after, "id", r.address);
    Ok(r.after
        .get("route")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|route| {
            record(
                r.address,
                r.account,
                EC2,
                "CreateRoute",
                route_request(table, route, true),
                json!({"_return": true}),
            )
        })
        .collect())
}

/// A Terraform protocol (`tcp`, `6`, `-1`, `all`) as the API's number.
fn protocol(v: Option<&Value>) -> Option<String> {
    let raw = match v? {
        Value::String(s) => s.to_ascii_lowercase(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(
        match raw.as_str() {
            "tcp" => "6",
            "udp" => "17",
            "icmp" => "1",
            "icmpv6" => "58",
            "all" => "-1",
            other => other,
        }
        .to_string(),
    )
}

/// One ACL entry; `keys` name the rule number and action as the resource
/// or the inline block writes them.
fn acl_entry(acl: &str, e: &Value, egress: bool, keys: (&str, &str)) -> Value {
    let mut request = Map::new();
    request.insert("networkAclId".into(), json!(acl));
    request.insert(
        "ruleNumber".into(),
        e.get(keys.0).cloned().unwrap_or(Value::Null),
    );
    request.insert("egress".into(), json!(egress));
    request.insert(
        "ruleAction".into(),
        e.get(keys.1).cloned().unwrap_or(Value::Null),
    );
    request.insert("icmpTypeCode".into(), json!({}));
    if let Some(p) = protocol(e.get("protocol")) {
        request.insert("aclProtocol".into(), json!(p));
    }
    let mut ports = Map::new();
    for (tf, aws) in [("from_port", "from"), ("to_port", "to")] {
        if let Some(v) = e.get(tf).filter(|v| !v.is_null()) {
            ports.insert(aws.into(), v.clone());
        }
    }
    request.insert("portRange".into(), Value::Object(ports));
    for (tf, aws) in [
        ("cidr_block", "cidrBlock"),
        ("ipv6_cidr_block", "ipv6CidrBlock"),
    ] {
        if let Some(v) = text(e, tf) {
            request.insert(aws.into(), json!(v));
        }
    }
    Value::Object(request)
}

pub(super) fn network_acl_rule(r: &Resource) -> Result<Vec<Value>, String> {
    let paths: Vec<String> = [
        "cidr_block",
        "ipv6_cidr_block",
        "protocol",
        "from_port",
        "to_port",
    ]
    .map(String::from)
    .to_vec();
    known(r, &paths)?;
    let acl = id_or(r.after, "network_acl_id", r.address);
    let egress = r
        .after
        .get("egress")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(vec![record(
        r.address,
        r.account,
        EC2,
        "CreateNetworkAclEntry",
        acl_entry(acl, r.after, egress, ("rule_number", "rule_action")),
        json!({"_return": true}),
    )])
}

pub(super) fn network_acl(r: &Resource) -> Result<Vec<Value>, String> {
    known(r, &["ingress".to_string(), "egress".to_string()])?;
    let acl = id_or(r.after, "id", r.address);
    let mut out = Vec::new();
    for (key, egress) in [("ingress", false), ("egress", true)] {
        for e in r
            .after
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(record(
                r.address,
                r.account,
                EC2,
                "CreateNetworkAclEntry",
                acl_entry(acl, e, egress, ("rule_no", "action")),
                json!({"_return": true}),
            ));
        }
    }
    Ok(out)
}

pub(super) fn subnet(r: &Resource) -> Result<Vec<Value>, String> {
    known(r, &["map_public_ip_on_launch".to_string()])?;
    // A subnet that does not hand out public IPs makes no such call.
    if r.after
        .get("map_public_ip_on_launch")
        .and_then(Value::as_bool)
        != Some(true)
    {
        return Ok(Vec::new());
    }
    Ok(vec![record(
        r.address,
        r.account,
        EC2,
        "ModifySubnetAttribute",
        json!({"subnetId": id_or(r.after, "id", r.address), "mapPublicIpOnLaunch": {"value": true}}),
        json!({"_return": true}),
    )])
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::tests_kinds::{from_plan, ids, judge, judged, samples};

    #[test]
    fn routes_acl_entries_and_subnets_are_judged_as_their_calls() {
        let route = |target: &str, id: &str| json!({"route_table_id": "rtb-1", "destination_cidr_block": "0.0.0.0/0", target: id});
        let to_igw = judge("aws_route", route("gateway_id", "igw-1"), json!({}));
        let to_nat = judge("aws_route", route("nat_gateway_id", "nat-1"), json!({}));
        assert_ne!(
            to_igw[0].as_ref().unwrap(),
            to_nat[0].as_ref().unwrap(),
            "a route to the internet is told from one to a NAT gateway"
        );
        let table = json!({"route": [
            {"cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"},
            {"cidr_block": "10.1.0.0/16", "transit_gateway_id": "tgw-1"}]});
        let v = judge("aws_route_table", table, json!({"id": true}));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].as_ref().unwrap(), to_igw[0].as_ref().unwrap());

        let rule = |port: i64| {
            json!({"network_acl_id": "acl-1", "rule_number": 100, "egress": false, "protocol": "tcp",
                   "rule_action": "allow", "cidr_block": "0.0.0.0/0", "from_port": port, "to_port": port})
        };
        assert_eq!(ids("aws_network_acl_rule", rule(22)), ["NET-002"]);
        assert_eq!(ids("aws_network_acl_rule", rule(443)), Vec::<&str>::new());
        let acl = json!({"ingress": [{"protocol": "6", "rule_no": 100, "action": "allow",
            "cidr_block": "0.0.0.0/0", "ipv6_cidr_block": "", "from_port": 3389, "to_port": 3389,
            "icmp_type": 0, "icmp_code": 0}], "egress": []});
        let v = judge("aws_network_acl", acl, json!({"id": true}));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].as_ref().unwrap().ids, ["NET-002"]);

        assert_eq!(
            ids("aws_subnet", json!({"map_public_ip_on_launch": true})),
            ["NET-003"]
        );
        assert!(judge(
            "aws_subnet",
            json!({"map_public_ip_on_launch": false}),
            json!({})
        )
        .is_empty());
    }

    #[test]
    fn a_route_target_or_an_acl_source_known_only_after_apply_is_not_judged() {
        for (kind, after, unknown) in [
            (
                "aws_route",
                json!({"route_table_id": "rtb-1", "destination_cidr_block": "0.0.0.0/0"}),
                json!({"gateway_id": true}),
            ),
            (
                "aws_route_table",
                json!({"route": [{"cidr_block": "0.0.0.0/0"}]}),
                json!({"route": [{"gateway_id": true}]}),
            ),
            (
                "aws_network_acl_rule",
                json!({"network_acl_id": "acl-1", "rule_number": 1, "protocol": "tcp",
                       "rule_action": "allow", "from_port": 22, "to_port": 22}),
                json!({"cidr_block": true}),
            ),
            (
                "aws_subnet",
                json!({"cidr_block": "10.0.0.0/24"}),
                json!({"map_public_ip_on_launch": true}),
            ),
        ] {
            let v = judge(kind, after, unknown);
            let err = v[0].as_ref().unwrap_err();
            assert!(err.contains("not judged"), "{kind}: {err}");
        }
    }

    /// A VPC call's request as Terraform writes the resource.
    fn as_resource(name: &str, r: &Value) -> (&'static str, Value) {
        match name {
            "CreateRoute" => {
                let mut after = json!({"route_table_id": r["routeTableId"]});
                for (tf, aws) in super::ROUTE_KEYS {
                    if let Some(v) = r.get(aws) {
                        after[tf] = v.clone();
                    }
                }
                ("aws_route", after)
            }
            "CreateNetworkAclEntry" => (
                "aws_network_acl_rule",
                json!({"network_acl_id": r["networkAclId"], "rule_number": r["ruleNumber"],
                    "egress": r["egress"], "protocol": r["aclProtocol"], "rule_action": r["ruleAction"],
                    "cidr_block": r.get("cidrBlock"), "ipv6_cidr_block": r.get("ipv6CidrBlock"),
                    "from_port": r.pointer("/portRange/from"), "to_port": r.pointer("/portRange/to")}),
            ),
            _ => (
                "aws_subnet",
                json!({"id": r["subnetId"], "map_public_ip_on_launch": r.pointer("/mapPublicIpOnLaunch/value")}),
            ),
        }
    }

    #[test]
    fn a_network_resource_from_a_plan_gets_the_verdict_of_its_call() {
        let mut compared = 0;
        for (file, record) in samples(
            "ec2",
            &[
                "CreateRoute",
                "CreateNetworkAclEntry",
                "ModifySubnetAttribute",
            ],
        ) {
            let name = record["eventName"].as_str().unwrap();
            let (kind, after) = as_resource(name, &record["requestParameters"]);
            let mut record = record.clone();
            record["responseElements"] = json!({"_return": true});
            assert_eq!(from_plan(kind, after), judged(&record), "{file}");
            compared += 1;
        }
        assert!(compared >= 4, "only {compared} sample calls compared");
    }
}
