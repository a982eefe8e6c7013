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

mod parity;
mod types;

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
