//! Each resource type gets the rule ids of the call that would make it:
//! every sample event of those calls written as its resource.

use super::*;
/// Every sample event's record.
fn samples() -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let value: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let record = value.get("detail").cloned().unwrap_or(value);
            (path.display().to_string(), record)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The rule ids of a record's offline verdict, judged from its request
/// alone (a template cannot know what AWS answered).
fn judged_ids(record: &Value) -> Vec<&'static str> {
    let mut request_only = record.clone();
    request_only["responseElements"] = Value::Null;
    let event = Event::from_value(&request_only, "sample").unwrap();
    let report = evaluate(&event, &Policy::embedded(), crate::model::today()).unwrap();
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// An API request (camelCase) as CloudFormation's properties: the inverse
/// of [`camel`], with CloudFormation's own names where they differ.
fn pascal(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k.as_str() {
                        "efsVolumeConfiguration" => "EFSVolumeConfiguration".to_string(),
                        "fileSystemId" => "FilesystemId".to_string(),
                        "iam" => "IAM".to_string(),
                        "settings" => "ClusterSettings".to_string(),
                        _ => {
                            let mut c = k.chars();
                            c.next()
                                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                                .unwrap_or_default()
                        }
                    };
                    let user = ["options", "dockerLabels", "driverOpts", "labels"];
                    let v = if user.contains(&k.as_str()) {
                        v.clone()
                    } else {
                        pascal(v)
                    };
                    (key, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(pascal).collect()),
        other => other.clone(),
    }
}

/// `{"items": [...]}` as a plain list.
fn listed(v: Option<&Value>) -> Vec<Value> {
    v.and_then(|v| v.get("items"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// An `ipPermissions` item as CloudFormation's ingress rules, one source
/// each.
fn ingress_rules(p: &Value) -> Vec<Value> {
    let mut base = json!({"IpProtocol": p["ipProtocol"]});
    if let Some(from) = p.get("fromPort") {
        base["FromPort"] = from.clone();
    }
    if let Some(to) = p.get("toPort") {
        base["ToPort"] = to.clone();
    }
    let with = |key: &str, v: &Value| {
        let mut rule = base.clone();
        rule[key] = v.clone();
        rule
    };
    let mut out = Vec::new();
    for r in listed(p.get("ipRanges")) {
        out.push(with("CidrIp", &r["cidrIp"]));
    }
    for r in listed(p.get("ipv6Ranges")) {
        out.push(with("CidrIpv6", &r["cidrIpv6"]));
    }
    for r in listed(p.get("prefixListIds")) {
        out.push(with("SourcePrefixListId", &r["prefixListId"]));
    }
    for g in listed(p.get("groups")) {
        let mut rule = with("SourceSecurityGroupId", &g["groupId"]);
        if let Some(owner) = g.get("userId") {
            rule["SourceSecurityGroupOwnerId"] = owner.clone();
        }
        out.push(rule);
    }
    out
}

/// A launch template's data as CloudTrail writes it (singular members
/// numbered with `tag`) as CloudFormation writes it (plural lists).
fn template_data(data: &Value) -> Value {
    match data {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if k == "tag" {
                    continue;
                }
                let plain = |v: &Value| v.get("content").cloned().unwrap_or_else(|| v.clone());
                let as_list = |v: &Value| match v {
                    Value::Array(a) => a.iter().map(|i| template_data(&plain(i))).collect(),
                    other => vec![template_data(&plain(other))],
                };
                match k.as_str() {
                    "NetworkInterface" => {
                        out.insert("NetworkInterfaces".into(), Value::Array(as_list(v)))
                    }
                    "SecurityGroupId" => {
                        out.insert("SecurityGroupIds".into(), Value::Array(as_list(v)))
                    }
                    _ => out.insert(k.clone(), template_data(v)),
                };
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// A sample's call as the resource that would make it: its type and
/// properties, or `None` for a record no resource stands for.
fn as_resource(record: &Value) -> Option<(&'static str, Value)> {
    let r = &record["requestParameters"];
    Some(match record["eventName"].as_str()? {
        "RegisterTaskDefinition" if r["containerDefinitions"].is_array() => {
            ("AWS::ECS::TaskDefinition", pascal(r))
        }
        "AuthorizeSecurityGroupIngress" => {
            let perms = r.pointer("/ipPermissions/items")?.as_array()?;
            let rules: Vec<Value> = perms.iter().flat_map(ingress_rules).collect();
            let mut p = json!({"GroupDescription": "sample", "SecurityGroupIngress": rules});
            if let Some(name) = r.get("groupName") {
                p["GroupName"] = name.clone();
            }
            ("AWS::EC2::SecurityGroup", p)
        }
        "CreateService" => ("AWS::ECS::Service", pascal(r)),
        "CreateTaskSet" => ("AWS::ECS::TaskSet", pascal(r)),
        "CreateCluster" => ("AWS::ECS::Cluster", pascal(r)),
        "CreateCapacityProvider" => ("AWS::ECS::CapacityProvider", pascal(r)),
        "CreateLaunchTemplate" => {
            let request = &r["CreateLaunchTemplateRequest"];
            (
                "AWS::EC2::LaunchTemplate",
                json!({"LaunchTemplateName": request["LaunchTemplateName"],
                       "LaunchTemplateData": template_data(&request["LaunchTemplateData"])}),
            )
        }
        "RunInstances" => {
            let mut p = Map::new();
            let item = listed(r.get("instancesSet"))
                .first()
                .cloned()
                .unwrap_or_default();
            for (api, cfn) in [("imageId", "ImageId"), ("keyName", "KeyName")] {
                if let Some(v) = r.get(api).or(item.get(api)) {
                    p.insert(cfn.into(), v.clone());
                }
            }
            for (api, cfn) in [("instanceType", "InstanceType"), ("subnetId", "SubnetId")] {
                if let Some(v) = r.get(api) {
                    p.insert(cfn.into(), v.clone());
                }
            }
            let groups = |v: Option<&Value>| -> Vec<Value> {
                listed(v).iter().map(|g| g["groupId"].clone()).collect()
            };
            if r.get("groupSet").is_some() {
                p.insert("SecurityGroupIds".into(), json!(groups(r.get("groupSet"))));
            }
            let nics: Vec<Value> = listed(r.get("networkInterfaceSet"))
                .iter()
                .map(|n| {
                    json!({"DeviceIndex": n.get("deviceIndex"), "SubnetId": n.get("subnetId"),
                           "AssociatePublicIpAddress": n.get("associatePublicIpAddress"),
                           "GroupSet": groups(n.get("groupSet"))})
                })
                .collect();
            if !nics.is_empty() {
                p.insert("NetworkInterfaces".into(), Value::Array(nics));
            }
            if let Some(profile) = r.get("iamInstanceProfile") {
                let arn = profile.get("arn").or(profile.get("name"));
                p.insert(
                    "IamInstanceProfile".into(),
                    arn.cloned().unwrap_or_default(),
                );
            }
            if let Some(m) = r.get("metadataOptions") {
                p.insert("MetadataOptions".into(), pascal(m));
            }
            if let Some(t) = r.get("launchTemplate") {
                p.insert("LaunchTemplate".into(), pascal(t));
            }
            ("AWS::EC2::Instance", Value::Object(p))
        }
        "PutRolePolicy" => {
            let text = r["policyDocument"].as_str()?;
            let document = serde_json::from_str::<Value>(text).unwrap_or_else(|_| json!(text));
            (
                "AWS::IAM::Policy",
                json!({"PolicyName": r["policyName"], "PolicyDocument": document,
                       "Roles": [r["roleName"]]}),
            )
        }
        "AttachRolePolicy" => (
            "AWS::IAM::Role",
            json!({"RoleName": r["roleName"], "ManagedPolicyArns": [r["policyArn"]],
                   "AssumeRolePolicyDocument": {"Statement": []}}),
        ),
        "CreateLoadBalancer" => ("AWS::ElasticLoadBalancingV2::LoadBalancer", pascal(r)),
        "ModifyLoadBalancerAttributes" => (
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            json!({"LoadBalancerAttributes": pascal(&r["attributes"])}),
        ),
        "CreateListener" => ("AWS::ElasticLoadBalancingV2::Listener", pascal(r)),
        "CreateTargetGroup" => ("AWS::ElasticLoadBalancingV2::TargetGroup", pascal(r)),
        "CreateRule" => ("AWS::ElasticLoadBalancingV2::ListenerRule", pascal(r)),
        "CreateRoute" => ("AWS::EC2::Route", pascal(r)),
        "CreateNetworkAclEntry" => {
            let mut p = json!({"NetworkAclId": r["networkAclId"], "RuleNumber": r["ruleNumber"],
                "Egress": r["egress"], "RuleAction": r["ruleAction"],
                "Protocol": r["aclProtocol"].as_str()?.parse::<i64>().ok()?});
            for (api, cfn) in [
                ("cidrBlock", "CidrBlock"),
                ("ipv6CidrBlock", "Ipv6CidrBlock"),
            ] {
                if let Some(v) = r.get(api) {
                    p[cfn] = v.clone();
                }
            }
            if let Some(range) = r.get("portRange").filter(|v| v.get("from").is_some()) {
                p["PortRange"] = json!({"From": range["from"], "To": range["to"]});
            }
            if let Some(icmp) = r.get("icmpTypeCode").filter(|v| v.get("type").is_some()) {
                p["Icmp"] = json!({"Type": icmp["type"], "Code": icmp["code"]});
            }
            ("AWS::EC2::NetworkAclEntry", p)
        }
        "ModifySubnetAttribute" => (
            "AWS::EC2::Subnet",
            json!({"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24",
                   "MapPublicIpOnLaunch": r.pointer("/mapPublicIpOnLaunch/value")?}),
        ),
        _ => return None,
    })
}

#[test]
fn each_resource_gets_the_rule_ids_of_the_call_that_would_make_it() {
    let mut compared: std::collections::BTreeMap<String, usize> = Default::default();
    for (path, record) in samples() {
        if record["errorCode"].is_string() {
            continue;
        }
        let Some((kind, properties)) = as_resource(&record) else {
            continue;
        };
        // The same name from another service is another call.
        let service = match kind.split("::").nth(1) {
            Some("ElasticLoadBalancingV2") => "elasticloadbalancing".to_string(),
            Some(s) => s.to_ascii_lowercase(),
            None => continue,
        };
        if record["eventSource"] != format!("{service}.amazonaws.com") {
            continue;
        }
        let name = record["eventName"].as_str().unwrap_or_default();
        let template = json!({"Resources": {"Sample": {"Type": kind, "Properties": properties}}});
        let account = record["recipientAccountId"].as_str();
        let planned = planned(&template.to_string(), "template.json", account).unwrap();
        let made: Vec<&Planned> = planned
            .iter()
            .filter(|p| p.event.as_ref().is_ok_and(|e| e.name == name))
            .collect();
        assert_eq!(made.len(), 1, "{path}: {planned:?}");
        assert!(made[0].unknown.is_empty(), "{path}: {:?}", made[0].unknown);
        assert_eq!(rules(made[0]), judged_ids(&record), "{path}");
        *compared.entry(name.to_string()).or_default() += 1;
    }
    for name in [
        "RegisterTaskDefinition",
        "AuthorizeSecurityGroupIngress",
        "CreateService",
        "CreateTaskSet",
        "CreateCluster",
        "CreateCapacityProvider",
        "CreateLaunchTemplate",
        "RunInstances",
        "PutRolePolicy",
        "AttachRolePolicy",
        "CreateLoadBalancer",
        "ModifyLoadBalancerAttributes",
        "CreateListener",
        "CreateTargetGroup",
        "CreateRule",
        "CreateRoute",
        "CreateNetworkAclEntry",
        "ModifySubnetAttribute",
    ] {
        assert!(
            compared.contains_key(name),
            "no sample {name} compared: {compared:?}"
        );
    }
    assert!(
        compared["RegisterTaskDefinition"] >= 20 && compared["AuthorizeSecurityGroupIngress"] >= 15,
        "{compared:?}"
    );
}
