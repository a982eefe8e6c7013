//! The tests of `cloudformation`: reading JSON and YAML, resolving
//! intrinsics, the line of each resource, each resource type, and the
//! parity of templates with the sample events.

use super::*;
use crate::guards::offline::evaluate;
use crate::iac::terraform::UNKNOWN_UNTIL_APPLY;
use crate::model::event::Event;
use crate::policy::Policy;
use serde_json::json;

/// The rule ids of one planned record's offline verdict, each once.
fn rules(p: &Planned) -> Vec<&'static str> {
    let event = p.event.as_ref().unwrap();
    let report = evaluate(event, &Policy::embedded(), crate::model::today()).unwrap();
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The records of a template written as JSON.
fn read(template: &Value) -> Vec<Planned> {
    planned(&template.to_string(), "template.json", Some("111122223333")).unwrap()
}

/// One resource of `kind` with `properties`, as a template of its own.
fn one(kind: &str, properties: Value) -> Vec<Planned> {
    read(&json!({"Resources": {"It": {"Type": kind, "Properties": properties}}}))
}

/// The rule ids of the records of `kind` with `properties`, each once.
fn ids(kind: &str, properties: Value) -> Vec<&'static str> {
    let mut out: Vec<&str> = one(kind, properties).iter().flat_map(rules).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The verdict the CLI would give: the rule ids, or why the record could
/// not be judged (with `unknown` not empty, "not judged").
fn verdict(p: &Planned) -> Result<Vec<&'static str>, String> {
    let event = p.event.as_ref().map_err(String::clone)?;
    let report =
        evaluate(event, &Policy::embedded(), crate::model::today()).map_err(|e| e.to_string())?;
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn record(p: &Planned) -> Value {
    let e = p.event.as_ref().unwrap();
    json!({"name": e.name, "request": e.request})
}

// ---- reading -------------------------------------------------------------

const YAML: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  AdminCidr:
    Type: String
    Default: 0.0.0.0/0
  Subnets:
    Type: List<AWS::EC2::Subnet::Id>
    Default: subnet-1,subnet-2
  Image:
    Type: String
Mappings:
  Ports:
    Admin:
      Ssh: 22
Resources:
  # The group of the web service.
  WebSG:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: web
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: !FindInMap [Ports, Admin, Ssh]
          ToPort: !FindInMap [Ports, Admin, Ssh]
          CidrIp: !Ref AdminCidr
        - IpProtocol: tcp
          FromPort: 443
          ToPort: 443
          CidrIp: 10.0.0.0/8
          Description: !Ref AWS::NoValue
  Web:
    Type: AWS::ECS::Service
    Properties:
      ServiceName: !Sub "${AWS::StackName}-web"
      Cluster: !GetAtt Cluster.Arn
      NetworkConfiguration:
        AwsvpcConfiguration:
          AssignPublicIp: ENABLED
          Subnets: !Ref Subnets
          SecurityGroups:
            - !Ref WebSG
            - !GetAtt [WebSG, GroupId]
      PlatformVersion: !Select [0, !Split [",", "LATEST,1.4.0"]]
  Cluster:
    Type: AWS::ECS::Cluster
"#;

const JSON: &str = r#"{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Parameters": {
    "AdminCidr": {"Type": "String", "Default": "0.0.0.0/0"},
    "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>", "Default": "subnet-1,subnet-2"},
    "Image": {"Type": "String"}
  },
  "Mappings": {"Ports": {"Admin": {"Ssh": 22}}},
  "Resources": {
    "WebSG": {
      "Type": "AWS::EC2::SecurityGroup",
      "Properties": {
        "GroupDescription": "web",
        "SecurityGroupIngress": [
          {"IpProtocol": "tcp",
           "FromPort": {"Fn::FindInMap": ["Ports", "Admin", "Ssh"]},
           "ToPort": {"Fn::FindInMap": ["Ports", "Admin", "Ssh"]},
           "CidrIp": {"Ref": "AdminCidr"}},
          {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8",
           "Description": {"Ref": "AWS::NoValue"}}
        ]
      }
    },
    "Web": {
      "Type": "AWS::ECS::Service",
      "Properties": {
        "ServiceName": {"Fn::Sub": "${AWS::StackName}-web"},
        "Cluster": {"Fn::GetAtt": ["Cluster", "Arn"]},
        "NetworkConfiguration": {"AwsvpcConfiguration": {
          "AssignPublicIp": "ENABLED",
          "Subnets": {"Ref": "Subnets"},
          "SecurityGroups": [{"Ref": "WebSG"}, {"Fn::GetAtt": ["WebSG", "GroupId"]}]
        }},
        "PlatformVersion": {"Fn::Select": [0, {"Fn::Split": [",", "LATEST,1.4.0"]}]}
      }
    },
    "Cluster": {"Type": "AWS::ECS::Cluster"}
  }
}"#;

#[test]
fn yaml_short_forms_and_json_long_forms_give_the_same_records() {
    let yaml = planned(YAML, "t.yaml", None).unwrap();
    let json = planned(JSON, "t.json", None).unwrap();
    let records = |p: &[Planned]| p.iter().map(record).collect::<Vec<_>>();
    assert_eq!(records(&yaml), records(&json));
    let addresses: Vec<&str> = yaml.iter().map(|p| p.address.as_str()).collect();
    assert_eq!(addresses, ["WebSG", "Web", "Cluster"]);
    // What each intrinsic resolved to.
    let group = &yaml[0].event.as_ref().unwrap().request;
    assert_eq!(group["groupId"], "WebSG", "a group's id is its logical id");
    let first = &group["ipPermissions"]["items"][0];
    assert_eq!(first["fromPort"], 22, "Fn::FindInMap");
    assert_eq!(
        first["ipRanges"]["items"][0]["cidrIp"], "0.0.0.0/0",
        "a default"
    );
    let service = &yaml[1].event.as_ref().unwrap().request;
    assert_eq!(service["serviceName"], "template-web", "Fn::Sub");
    assert_eq!(
        service["cluster"], "Cluster",
        "Fn::GetAtt is the logical id"
    );
    assert_eq!(
        service["platformVersion"], "LATEST",
        "Fn::Select of Fn::Split"
    );
    let vpc = &service["networkConfiguration"]["awsvpcConfiguration"];
    assert_eq!(
        vpc["subnets"],
        json!(["subnet-1", "subnet-2"]),
        "a list default"
    );
    assert_eq!(
        vpc["securityGroups"],
        json!(["WebSG", "WebSG"]),
        "a group of the template is its logical id"
    );
    assert!(yaml.iter().all(|p| p.unknown.is_empty()), "{yaml:?}");
    assert!(
        rules(&yaml[0]).contains(&"EC2-SG-003"),
        "{:?}",
        rules(&yaml[0])
    );
    assert!(rules(&yaml[1]).contains(&"ECS-SVC-001"));
}

#[test]
fn each_resource_carries_the_line_it_is_declared_on() {
    let yaml = planned(YAML, "t.yaml", None).unwrap();
    let lines: Vec<Option<usize>> = yaml.iter().map(|p| p.line).collect();
    let at = |key: &str, text: &str| text.lines().position(|l| l == key).map(|i| i + 1);
    assert_eq!(lines, [Some(17), Some(31), Some(44)]);
    assert_eq!(
        lines,
        [
            at("  WebSG:", YAML),
            at("  Web:", YAML),
            at("  Cluster:", YAML)
        ]
    );
    let json = planned(JSON, "t.json", None).unwrap();
    let lines: Vec<Option<usize>> = json.iter().map(|p| p.line).collect();
    assert_eq!(
        lines,
        [
            at(r#"    "WebSG": {"#, JSON),
            at(r#"    "Web": {"#, JSON),
            at(r#"    "Cluster": {"Type": "AWS::ECS::Cluster"}"#, JSON)
        ]
    );
    assert_eq!(lines, [Some(10), Some(24), Some(37)]);
    // A key of the same name elsewhere is not the resource's line.
    let text = "Outputs:\n  Web:\n    Value: x\nResources:\n  Web:\n    Type: AWS::ECS::Service\n";
    assert_eq!(planned(text, "t.yaml", None).unwrap()[0].line, Some(5));
    let text = "{\"Outputs\": {\"Web\": {}},\n \"Resources\": {\n  \"Web\": {\"Type\": \"AWS::ECS::Service\"}}}";
    assert_eq!(planned(text, "t.json", None).unwrap()[0].line, Some(3));
}

#[test]
fn a_document_that_is_not_a_template_is_said() {
    for text in ["{\"resource_changes\": []}", "a: 1\n", "[1, 2]"] {
        let err = planned(text, "x", None).unwrap_err();
        assert!(err.contains("not a CloudFormation template"), "{err}");
    }
    let err = planned("Resources: !Bogus x\n", "x", None).unwrap_err();
    assert!(err.contains("unknown tag !Bogus"), "{err}");
    let err = planned("{\"Resources\": ", "x", None).unwrap_err();
    assert!(err.contains("not JSON"), "{err}");
}

// ---- what the template leaves to deployment -------------------------------

#[test]
fn a_value_left_to_deployment_is_unknown_never_a_pass() {
    let template = |cidr: Value| {
        json!({"Parameters": {"Cidr": {"Type": "String"}},
               "Conditions": {"Prod": {"Fn::Equals": ["a", "b"]}},
               "Resources": {"Admin": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
                   "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                             "CidrIp": cidr}]}}}})
    };
    for cidr in [
        json!({"Fn::If": ["Prod", "10.0.0.0/8", "0.0.0.0/0"]}),
        json!({"Ref": "Cidr"}),
        json!({"Fn::ImportValue": "admin-cidr"}),
        json!({"Fn::Sub": "${Cidr}"}),
        json!({"Fn::Join": ["", [{"Ref": "Cidr"}]]}),
    ] {
        let p = &read(&template(cidr.clone()))[0];
        assert_eq!(
            p.unknown,
            ["Properties.SecurityGroupIngress[0].CidrIp"],
            "{cidr}"
        );
        assert!(verdict(p).is_err(), "{cidr}: {:?}", verdict(p));
    }
    // Known, the same rule is judged; a property no record carries (the
    // group's VPC) is not a value a rule needs.
    let mut known = template(json!("0.0.0.0/0"));
    known["Resources"]["Admin"]["Properties"]["VpcId"] = json!({"Fn::ImportValue": "vpc"});
    let p = &read(&known)[0];
    assert!(p.unknown.is_empty(), "{:?}", p.unknown);
    assert!(rules(p).contains(&"EC2-SG-003"));
}

#[test]
fn a_value_left_to_deployment_stands_where_a_rule_needs_one() {
    let p = &read(
        &json!({"Resources": {"Web": {"Type": "AWS::ECS::Service", "Properties": {
        "NetworkConfiguration": {"AwsvpcConfiguration": {
            "Subnets": ["subnet-1"], "SecurityGroups": [{"Fn::ImportValue": "shared-sg"}]}}}}}}),
    )[0];
    assert_eq!(
        p.unknown,
        ["Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups[0]"]
    );
    let request = &p.event.as_ref().unwrap().request;
    assert_eq!(
        request["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"],
        json!([UNKNOWN_UNTIL_APPLY])
    );
    assert!(
        !rules(p).contains(&"ECS-SVC-003"),
        "a group left to deployment is a group"
    );
    // A port left to deployment: the rule cannot be read, said.
    let p = &one(
        "AWS::EC2::SecurityGroupIngress",
        json!({"GroupId": "sg-1", "IpProtocol": "tcp", "CidrIp": "0.0.0.0/0",
               "FromPort": {"Fn::If": ["C", 22, 443]}, "ToPort": 443}),
    )[0];
    assert_eq!(p.unknown, ["Properties.FromPort"]);
    assert!(
        p.event.as_ref().unwrap_err().contains("not judged"),
        "{:?}",
        p.event
    );
    // A privileged flag left to deployment is never read as not privileged.
    let p = &one(
        "AWS::ECS::TaskDefinition",
        json!({"ContainerDefinitions": [{"Name": "app", "Image": "nginx:1.27",
               "Privileged": {"Fn::If": ["C", true, false]}}]}),
    )[0];
    assert_eq!(p.unknown, ["Properties.ContainerDefinitions[0].Privileged"]);
    assert!(verdict(p).is_err(), "{:?}", verdict(p));
}

#[test]
fn parameter_defaults_are_used_and_a_parameter_without_one_is_unknown() {
    let template = json!({
        "Parameters": {
            "Image": {"Type": "String", "Default": "nginx:latest"},
            "Tag": {"Type": "String"},
            "Privileged": {"Type": "String", "Default": "true"},
        },
        "Resources": {"App": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "app",
            "ContainerDefinitions": [{"Name": "app", "Image": {"Ref": "Image"},
                "Privileged": true,
                "DockerLabels": {"team": {"Ref": "Tag"}}}]}}}});
    let p = &read(&template)[0];
    assert_eq!(
        p.unknown,
        ["Properties.ContainerDefinitions[0].DockerLabels.team"]
    );
    let request = &p.event.as_ref().unwrap().request;
    assert_eq!(request["containerDefinitions"][0]["image"], "nginx:latest");
    assert!(
        rules(p).contains(&"ECS-TD-016"),
        "the default image is judged"
    );
    // The account: given, or unknown.
    let image = json!({"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/app:1"});
    let template = json!({"Resources": {"App": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "ContainerDefinitions": [{"Name": "app", "Image": image}]}}}});
    let p = &read(&template)[0];
    assert!(p.unknown.is_empty());
    assert_eq!(
        p.event.as_ref().unwrap().request["containerDefinitions"][0]["image"],
        "111122223333.dkr.ecr.template.amazonaws.com/app:1"
    );
    assert!(
        !rules(p).contains(&"ECS-TD-015"),
        "the account's own registry"
    );
    let p = &planned(&template.to_string(), "t.json", None).unwrap()[0];
    assert_eq!(p.unknown, ["Properties.ContainerDefinitions[0].Image"]);
    // An SSM parameter's default names the parameter, not its value.
    let template = json!({"Parameters": {"Image": {"Type": "AWS::SSM::Parameter::Value<String>",
            "Default": "/app/image"}},
        "Resources": {"App": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "ContainerDefinitions": [{"Name": "app", "Image": {"Ref": "Image"}}]}}}});
    assert_eq!(
        read(&template)[0].unknown,
        ["Properties.ContainerDefinitions[0].Image"]
    );
}

#[test]
fn properties_left_to_deployment_as_a_whole_are_not_judged() {
    let p = &read(
        &json!({"Resources": {"Admin": {"Type": "AWS::EC2::SecurityGroup",
        "Properties": {"Fn::If": ["Prod", {"GroupDescription": "x"}, {"GroupDescription": "y",
            "SecurityGroupIngress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]}]}}}}),
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].unknown, ["Properties"]);
    let err = p[0].event.as_ref().unwrap_err();
    assert!(err.contains("not judged: Properties unknown"), "{err}");
}

#[test]
fn aws_no_value_leaves_the_key_or_the_item_out() {
    let p = &one(
        "AWS::ECS::Service",
        json!({"EnableExecuteCommand": {"Ref": "AWS::NoValue"},
               "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"],
                   "SecurityGroups": ["sg-1", {"Ref": "AWS::NoValue"}]}}}),
    )[0];
    assert!(p.unknown.is_empty());
    let request = &p.event.as_ref().unwrap().request;
    assert_eq!(request.get("enableExecuteCommand"), None, "{request}");
    assert_eq!(
        request["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"],
        json!(["sg-1"])
    );
}

#[test]
fn a_reference_to_nothing_in_the_template_is_unknown() {
    let p = &one(
        "AWS::ECS::Service",
        json!({"Cluster": {"Ref": "Missing"}, "EnableExecuteCommand": true}),
    )[0];
    assert_eq!(p.unknown, ["Properties.Cluster"]);
    let p = &one(
        "AWS::ECS::Service",
        json!({"Cluster": {"Fn::GetAtt": ["Missing", "Arn"]}, "EnableExecuteCommand": true}),
    )[0];
    assert_eq!(p.unknown, ["Properties.Cluster"]);
}

// ---- parity with the sample events ----------------------------------------

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

// ---- each type, insecure and secure -----------------------------------------

const TRUST_ECS_TASKS: &str = r#"{"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;

/// A type, its properties insecure and the rule ids they get, secure and
/// theirs.
type Case = (
    &'static str,
    Value,
    Vec<&'static str>,
    Value,
    Vec<&'static str>,
);

/// Each type written insecure and secure, with the rule ids each gets.
#[test]
fn each_type_is_judged_insecure_and_secure() {
    let trust: Value = serde_json::from_str(TRUST_ECS_TASKS).unwrap();
    let cases: Vec<Case> = vec![
        (
            "AWS::EC2::SecurityGroup",
            json!({"GroupDescription": "x", "SecurityGroupIngress": [
                {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]}),
            vec![
                "EC2-SG-001",
                "EC2-SG-003",
                "EC2-SG-004",
                "EC2-SG-005",
                "EC2-SG-006",
                "EC2-SG-008",
            ],
            json!({"GroupDescription": "x", "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]}),
            vec![],
        ),
        (
            "AWS::EC2::SecurityGroupIngress",
            json!({"GroupId": "sg-1", "IpProtocol": "tcp", "FromPort": "3389", "ToPort": "3389",
                   "CidrIpv6": "::/0"}),
            vec!["EC2-SG-004"],
            json!({"GroupId": "sg-1", "IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389,
                   "SourceSecurityGroupName": "bastion"}),
            vec![],
        ),
        (
            "AWS::ECS::TaskDefinition",
            json!({"NetworkMode": "host", "PidMode": "host", "ContainerDefinitions": [{
                "Name": "app", "Image": "nginx", "Privileged": true,
                "Environment": [{"Name": "AWS_SECRET_ACCESS_KEY", "Value": "q8Zr3LmX/T2vN9pKc7Wd+Hs4Jf6Gb1Ye5Ua0Ri8O"}],
                "LinuxParameters": {"Capabilities": {"Add": ["SYS_ADMIN"]}}}]}),
            vec![
                "ECS-TD-001",
                "ECS-TD-002",
                "ECS-TD-003",
                "ECS-TD-005",
                "ECS-TD-006",
                "ECS-TD-007",
                "ECS-TD-010",
                "ECS-TD-011",
                "ECS-TD-015",
                "ECS-TD-016",
                "ECS-TD-022",
                "ECS-TD-023",
                "ECS-TD-025",
                "ECS-TD-026",
            ],
            json!({"NetworkMode": "awsvpc", "Cpu": "256", "Memory": "512",
                "RequiresCompatibilities": ["FARGATE"],
                "Tags": [{"Key": "owner", "Value": "payments"}],
                "ContainerDefinitions": [{
                "Name": "app", "Image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f",
                "User": "1000", "ReadonlyRootFilesystem": true,
                "LinuxParameters": {"Capabilities": {"Drop": ["ALL"]}},
                "LogConfiguration": {"LogDriver": "awslogs", "Options": {"mode": "non-blocking", "awslogs-group": "app"}}}]}),
            vec![],
        ),
        (
            "AWS::ECS::Service",
            json!({"EnableExecuteCommand": true, "NetworkConfiguration": {"AwsvpcConfiguration": {
                "AssignPublicIp": "ENABLED", "Subnets": ["subnet-1"]}}}),
            vec!["ECS-SVC-001", "ECS-SVC-002", "ECS-SVC-003", "ECS-SVC-011"],
            json!({"Tags": [{"Key": "owner", "Value": "payments"}],
                "NetworkConfiguration": {"AwsvpcConfiguration": {
                "AssignPublicIp": "DISABLED", "Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"]}}}),
            vec![],
        ),
        (
            "AWS::ECS::TaskSet",
            json!({"Cluster": "prod", "Service": "web", "TaskDefinition": "web:1",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"AssignPublicIp": "ENABLED",
                "Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"]}}}),
            vec!["ECS-SVC-008"],
            json!({"Cluster": "prod", "Service": "web", "TaskDefinition": "web:1",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"AssignPublicIp": "DISABLED",
                "Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"]}}}),
            vec![],
        ),
        (
            "AWS::ECS::Cluster",
            json!({"ClusterName": "prod", "ClusterSettings": [{"Name": "containerInsights", "Value": "disabled"}]}),
            vec!["ECS-CL-001", "ECS-CL-002", "ECS-CL-003"],
            json!({"ClusterName": "prod", "ClusterSettings": [{"Name": "containerInsights", "Value": "enhanced"}],
                "Configuration": {"ExecuteCommandConfiguration": {"Logging": "DEFAULT",
                    "KmsKeyId": "arn:aws:kms:eu-west-1:111122223333:key/1"}},
                "Tags": [{"Key": "owner", "Value": "payments"}]}),
            vec![],
        ),
        (
            "AWS::ECS::CapacityProvider",
            json!({"AutoScalingGroupProvider": {"AutoScalingGroupArn": "arn:aws:autoscaling:eu-west-1:1:autoScalingGroup:x:autoScalingGroupName/ecs",
                "ManagedTerminationProtection": "DISABLED"}}),
            vec!["ECS-CL-005"],
            json!({"AutoScalingGroupProvider": {"AutoScalingGroupArn": "arn:aws:autoscaling:eu-west-1:1:autoScalingGroup:x:autoScalingGroupName/ecs",
                "ManagedTerminationProtection": "ENABLED"}}),
            vec![],
        ),
        (
            "AWS::EC2::LaunchTemplate",
            json!({"LaunchTemplateData": {"ImageId": "ami-1", "KeyName": "ops",
                "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 2},
                "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": true, "Groups": ["sg-1"]}]}}),
            vec!["EC2-CI-001", "EC2-CI-002"],
            json!({"LaunchTemplateData": {"ImageId": "ami-1",
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
                "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": false, "Groups": ["sg-1"]}]}}),
            vec![],
        ),
        (
            "AWS::EC2::Instance",
            json!({"ImageId": "ami-1", "NetworkInterfaces": [{"DeviceIndex": "0",
                "AssociatePublicIpAddress": true, "SubnetId": "subnet-1", "GroupSet": ["sg-1"]}]}),
            vec!["EC2-CI-001", "EC2-CI-002"],
            json!({"ImageId": "ami-1", "SubnetId": "subnet-1", "SecurityGroupIds": ["sg-1"],
                "MetadataOptions": {"HttpTokens": "required"}}),
            vec![],
        ),
        (
            "AWS::IAM::Role",
            json!({"AssumeRolePolicyDocument": trust,
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"],
                "Policies": [{"PolicyName": "exec", "PolicyDocument": {"Statement": [
                    {"Effect": "Allow", "Action": "ecs:ExecuteCommand", "Resource": "*"}]}}]}),
            // IAM-ECS-001 needs the role's trust, which the CreateRole record
            // carries but the attachment's judgement does not read offline.
            vec!["IAM-ECS-002", "IAM-ECS-003"],
            json!({"AssumeRolePolicyDocument": trust,
                "Policies": [{"PolicyName": "read", "PolicyDocument": {"Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}}]}),
            vec![],
        ),
        (
            "AWS::IAM::Policy",
            json!({"PolicyName": "deploy", "Users": ["ci"], "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": ["iam:PassRole", "ecs:RunTask"], "Resource": "*"}]}}),
            vec!["IAM-ECS-003"],
            json!({"PolicyName": "deploy", "Users": ["ci"], "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": ["ecs:RunTask"], "Resource": "*"}]}}),
            vec![],
        ),
        (
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            json!({"Protocol": "HTTP", "Port": 8080, "VpcId": "vpc-1", "TargetType": "ip"}),
            vec!["ELB-008"],
            json!({"Protocol": "HTTPS", "Port": 8443, "VpcId": "vpc-1", "TargetType": "ip",
                "HealthCheckProtocol": "HTTPS"}),
            vec![],
        ),
        (
            "AWS::EC2::Route",
            json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}),
            vec!["NET-001"],
            json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"}),
            vec![],
        ),
        (
            "AWS::EC2::NetworkAclEntry",
            json!({"NetworkAclId": "acl-1", "RuleNumber": 100, "Protocol": 6, "RuleAction": "allow",
                "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 22, "To": 22}}),
            vec!["NET-002"],
            json!({"NetworkAclId": "acl-1", "RuleNumber": 100, "Protocol": 6, "RuleAction": "allow",
                "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 443, "To": 443}}),
            vec![],
        ),
        (
            "AWS::EC2::Subnet",
            json!({"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24", "MapPublicIpOnLaunch": true}),
            vec!["NET-003"],
            json!({"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24", "MapPublicIpOnLaunch": false}),
            vec![],
        ),
    ];
    let mut wrong = Vec::new();
    for (kind, insecure, expected, secure, clean) in cases {
        for (what, properties, want) in
            [("insecure", insecure, expected), ("secure", secure, clean)]
        {
            let got = ids(kind, properties);
            if got != want {
                wrong.push(format!("{kind} {what}: {got:?}, expected {want:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_load_balancer_s_attributes_are_judged_as_the_template_sets_them() {
    let lb = |attributes: Value| {
        one(
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            json!({"Scheme": "internet-facing", "Type": "network", "Subnets": ["subnet-1"],
                   "LoadBalancerAttributes": attributes}),
        )
    };
    let insecure = lb(json!([{"Key": "deletion_protection.enabled", "Value": "false"}]));
    let names: Vec<&str> = insecure
        .iter()
        .map(|p| p.event.as_ref().unwrap().name.as_str())
        .collect();
    assert_eq!(
        names,
        ["CreateLoadBalancer", "ModifyLoadBalancerAttributes"]
    );
    assert!(
        rules(&insecure[0]).contains(&"ELB-009"),
        "{:?}",
        rules(&insecure[0])
    );
    assert_eq!(rules(&insecure[1]), ["ELB-007"]);
    assert_eq!(
        insecure[1].event.as_ref().unwrap().request["loadBalancerArn"],
        "arn:aws:elasticloadbalancing:template:111122223333:loadbalancer/net/It/template"
    );
    let secure = lb(json!([{"Key": "deletion_protection.enabled", "Value": "true"}]));
    assert_eq!(rules(&secure[1]), Vec::<&str>::new());
    // A listener on a load balancer of the template is judged as on its kind.
    let template = json!({"Resources": {
        "Web": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Scheme": "internet-facing", "Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"]}},
        "Http": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "Web"}, "Protocol": "HTTP", "Port": 80,
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:tg"}]}},
        "Admin": {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {
            "ListenerArn": {"Ref": "Http"}, "Priority": 1,
            "Conditions": [{"Field": "path-pattern", "Values": ["/admin/*"]}],
            "Actions": [{"Type": "forward", "TargetGroupArn": "arn:tg"}]}}}});
    let planned = read(&template);
    let listener = planned.iter().find(|p| p.address == "Http").unwrap();
    assert_eq!(
        listener.event.as_ref().unwrap().request["loadBalancerArn"],
        "arn:aws:elasticloadbalancing:template:111122223333:loadbalancer/app/Web/template"
    );
    // Offline, the load balancer's scheme is not in the listener's record:
    // said, never a pass.
    let report = evaluate(
        listener.event.as_ref().unwrap(),
        &Policy::embedded(),
        crate::model::today(),
    )
    .unwrap();
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("ELB-001") && n.contains("the scheme of app/Web/template")),
        "{:?}",
        report.notes
    );
    let rule = planned.iter().find(|p| p.address == "Admin").unwrap();
    assert_eq!(
        rule.event.as_ref().unwrap().request["listenerArn"],
        "arn:aws:elasticloadbalancing:template:111122223333:listener/app/Web/template/Http"
    );
}

/// A template as `cdk synth` writes it: JSON, `aws:cdk:path` metadata,
/// hashed logical ids, roles by `Fn::GetAtt`, the image as `Fn::Join` and
/// `Fn::Sub` over `AWS::AccountId` and `AWS::URLSuffix`.
const CDK: &str = r#"{
 "Resources": {
  "TaskDefTaskRole1EDB4A67": {
   "Type": "AWS::IAM::Role",
   "Properties": {
    "AssumeRolePolicyDocument": {
     "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
       "Principal": {"Service": "ecs-tasks.amazonaws.com"}}],
     "Version": "2012-10-17"
    }
   },
   "Metadata": {"aws:cdk:path": "App/TaskDef/TaskRole/Resource"}
  },
  "TaskDef54694570": {
   "Type": "AWS::ECS::TaskDefinition",
   "Properties": {
    "ContainerDefinitions": [
     {
      "Essential": true,
      "Image": {"Fn::Join": ["", [{"Ref": "AWS::AccountId"}, ".dkr.ecr.",
        {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"},
        "/cdk-hnb659fds-container-assets-", {"Ref": "AWS::AccountId"}, "-",
        {"Ref": "AWS::Region"}, ":3f3f3f3f3f3f"]]},
      "Name": "web",
      "PortMappings": [{"ContainerPort": 8080, "Protocol": "tcp"}],
      "Privileged": true,
      "LogConfiguration": {"LogDriver": "awslogs", "Options": {
        "awslogs-group": {"Ref": "TaskDefwebLogGroup7C0E4D2B"},
        "awslogs-stream-prefix": "web",
        "awslogs-region": {"Ref": "AWS::Region"}}}
     },
     {
      "Essential": false,
      "Image": {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}:9a9a9a"},
      "Name": "sidecar"
     }
    ],
    "Cpu": "256",
    "Family": "AppTaskDef3C7A5B2E",
    "Memory": "512",
    "NetworkMode": "awsvpc",
    "RequiresCompatibilities": ["FARGATE"],
    "TaskRoleArn": {"Fn::GetAtt": ["TaskDefTaskRole1EDB4A67", "Arn"]}
   },
   "Metadata": {"aws:cdk:path": "App/TaskDef/Resource"}
  },
  "CDKMetadata": {
   "Type": "AWS::CDK::Metadata",
   "Properties": {"Analytics": "v2:deflate64:H4sIAAAAAAAA"},
   "Metadata": {"aws:cdk:path": "App/CDKMetadata/Default"},
   "Condition": "CDKMetadataAvailable"
  },
  "TaskDefwebLogGroup7C0E4D2B": {
   "Type": "AWS::Logs::LogGroup",
   "UpdateReplacePolicy": "Retain",
   "DeletionPolicy": "Retain",
   "Metadata": {"aws:cdk:path": "App/TaskDef/web/LogGroup/Resource"}
  }
 },
 "Conditions": {
  "CDKMetadataAvailable": {"Fn::Or": [{"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}]}
 },
 "Parameters": {
  "BootstrapVersion": {
   "Type": "AWS::SSM::Parameter::Value<String>",
   "Default": "/cdk-bootstrap/hnb659fds/version"
  }
 },
 "Rules": {
  "CheckBootstrapVersion": {"Assertions": [{"Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2"], {"Ref": "BootstrapVersion"}]}]}}]}
 }
}"#;

#[test]
fn a_template_as_cdk_synth_writes_it_is_judged() {
    let planned = planned(CDK, "cdk.out/App.template.json", Some("111122223333")).unwrap();
    let addresses: Vec<(&str, &str, Option<usize>)> = planned
        .iter()
        .map(|p| {
            (
                p.address.as_str(),
                p.event.as_ref().unwrap().name.as_str(),
                p.line,
            )
        })
        .collect();
    assert_eq!(
        addresses,
        [
            ("TaskDefTaskRole1EDB4A67", "CreateRole", Some(3)),
            ("TaskDef54694570", "RegisterTaskDefinition", Some(14))
        ],
        "CDK's metadata resource is not judged"
    );
    let td = &planned[1];
    assert!(td.unknown.is_empty(), "{:?}", td.unknown);
    let request = &td.event.as_ref().unwrap().request;
    let containers = &request["containerDefinitions"];
    assert_eq!(
        containers[0]["image"],
        "111122223333.dkr.ecr.template.amazonaws.com/cdk-hnb659fds-container-assets-111122223333-template:3f3f3f3f3f3f"
    );
    assert_eq!(
        containers[0]["image"],
        containers[1]["image"]
            .as_str()
            .unwrap()
            .replace("9a9a9a", "3f3f3f3f3f3f")
    );
    assert_eq!(request["taskRoleArn"], "TaskDefTaskRole1EDB4A67");
    // The log options are the user's keys, kept as written.
    assert_eq!(
        containers[0]["logConfiguration"]["options"]["awslogs-stream-prefix"],
        "web"
    );
    let ids = rules(td);
    assert!(ids.contains(&"ECS-TD-001"), "{ids:?}");
    assert!(
        !ids.contains(&"ECS-TD-015"),
        "the account's own registry: {ids:?}"
    );
    // Without the account, the images are unknown, never trusted.
    let planned = super::planned(CDK, "App.template.json", None).unwrap();
    assert_eq!(
        planned[1].unknown,
        [
            "Properties.ContainerDefinitions[0].Image",
            "Properties.ContainerDefinitions[1].Image"
        ]
    );
}

#[test]
fn the_keys_of_the_user_s_own_maps_are_kept_as_written() {
    let p = &one(
        "AWS::ECS::TaskDefinition",
        json!({"Volumes": [{"Name": "data", "DockerVolumeConfiguration": {
                   "Driver": "local", "DriverOpts": {"Type": "nfs", "O": "addr=10.0.0.1"},
                   "Labels": {"Team": "payments"}}},
               {"Name": "efs", "EFSVolumeConfiguration": {"FilesystemId": "fs-1",
                   "TransitEncryption": "DISABLED", "AuthorizationConfig": {"IAM": "ENABLED"}}}],
               "ContainerDefinitions": [{"Name": "app", "Image": "nginx:1.27",
                   "DockerLabels": {"Com.Example": "X"},
                   "Environment": [{"Name": "Mode", "Value": "Prod"}],
                   "Secrets": [{"Name": "DbPassword", "ValueFrom": "arn:aws:ssm:eu-west-1:1:parameter/db"}],
                   "LinuxParameters": {"Capabilities": {"Add": ["NET_ADMIN"]}},
                   "LogConfiguration": {"LogDriver": "awslogs", "Options": {"Mode": "blocking"}}}]}),
    )[0];
    let request = &p.event.as_ref().unwrap().request;
    assert_eq!(
        request["volumes"],
        json!([{"name": "data", "dockerVolumeConfiguration": {"driver": "local",
                   "driverOpts": {"Type": "nfs", "O": "addr=10.0.0.1"}, "labels": {"Team": "payments"}}},
               {"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1",
                   "transitEncryption": "DISABLED", "authorizationConfig": {"iam": "ENABLED"}}}])
    );
    let c = &request["containerDefinitions"][0];
    assert_eq!(c["dockerLabels"], json!({"Com.Example": "X"}));
    assert_eq!(c["environment"], json!([{"name": "Mode", "value": "Prod"}]));
    assert_eq!(
        c["secrets"][0]["valueFrom"],
        "arn:aws:ssm:eu-west-1:1:parameter/db"
    );
    assert_eq!(
        c["linuxParameters"]["capabilities"]["add"],
        json!(["NET_ADMIN"])
    );
    assert_eq!(
        c["logConfiguration"]["options"],
        json!({"Mode": "blocking"})
    );
    let ids = rules(p);
    for id in ["ECS-TD-011", "ECS-TD-018"] {
        assert!(ids.contains(&id), "{id}: {ids:?}");
    }
}

/// The rule ids of each resource of a fixture template of the CLI's tests.
fn fixture(name: &str, account: Option<&str>) -> Vec<(String, Vec<&'static str>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cli/tests/templates")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    planned(&text, name, account)
        .unwrap()
        .iter()
        .map(|p| {
            assert!(p.unknown.is_empty(), "{name}: {p:?}");
            (p.address.clone(), rules(p))
        })
        .collect()
}

#[test]
fn the_seed_template_is_judged_and_its_secure_version_is_clean() {
    let owned = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let seed: Vec<(String, Vec<String>)> = fixture("seed.yaml", Some("111122223333"))
        .into_iter()
        .map(|(a, ids)| (a, owned(&ids)))
        .collect();
    let expected = [
        ("Cluster", vec!["ECS-CL-002", "ECS-CL-003"]),
        ("ServiceGroup", vec!["EC2-SG-003", "EC2-SG-005"]),
        (
            "TaskDefinition",
            vec![
                "ECS-TD-002",
                "ECS-TD-006",
                "ECS-TD-009",
                "ECS-TD-015",
                "ECS-TD-016",
                "ECS-TD-023",
                "ECS-TD-024",
                "ECS-TD-026",
            ],
        ),
        ("Service", vec!["ECS-SVC-001", "ECS-SVC-002", "ECS-SVC-011"]),
    ];
    let expected: Vec<(String, Vec<String>)> = expected
        .iter()
        .map(|(a, ids)| (a.to_string(), owned(ids)))
        .collect();
    assert_eq!(seed, expected);
    let secure = fixture("secure.yaml", Some("111122223333"));
    assert!(secure.iter().all(|(_, ids)| ids.is_empty()), "{secure:?}");
    assert_eq!(secure.len(), 4);
}

/// Any JSON value: intrinsics, lists and maps in any place.
fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[A-Za-z0-9:${}.!/ -]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        let key = prop_oneof![
            Just("Ref".to_string()),
            Just("Fn::Sub".to_string()),
            Just("Fn::Join".to_string()),
            Just("Fn::Select".to_string()),
            Just("Fn::GetAtt".to_string()),
            Just("Fn::FindInMap".to_string()),
            Just("SecurityGroupIngress".to_string()),
            Just("ContainerDefinitions".to_string()),
            "[A-Za-z]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(key, inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    /// Reading never panics, whatever the text or the properties.
    #[test]
    fn reading_never_panics(text in "\\PC{0,200}", properties in any_value(), kind in 0usize..20) {
        let _ = planned(&text, "t", None);
        let kinds = [
            "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress", "AWS::EC2::LaunchTemplate",
            "AWS::EC2::Instance", "AWS::ECS::TaskDefinition", "AWS::ECS::Service", "AWS::ECS::TaskSet",
            "AWS::ECS::Cluster", "AWS::ECS::CapacityProvider",
            "AWS::ECS::ClusterCapacityProviderAssociations", "AWS::IAM::Role", "AWS::IAM::Policy",
            "AWS::IAM::ManagedPolicy", "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::TargetGroup",
            "AWS::ElasticLoadBalancingV2::ListenerRule", "AWS::EC2::Route",
            "AWS::EC2::NetworkAclEntry", "AWS::EC2::Subnet",
        ];
        let template = json!({"Parameters": {"P": {"Type": "String"}},
            "Resources": {"X": {"Type": kinds[kind], "Properties": properties}}});
        let yaml = serde_norway::to_string(&template).unwrap();
        proptest::prop_assert_eq!(
            planned(&yaml, "t.yaml", None).unwrap().len(),
            planned(&template.to_string(), "t.json", None).unwrap().len()
        );
        for p in planned(&template.to_string(), "t", None).unwrap() {
            if let Ok(event) = &p.event {
                let _ = evaluate(event, &Policy::embedded(), crate::model::today());
            }
        }
    }
}
