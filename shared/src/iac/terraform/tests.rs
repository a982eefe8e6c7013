//! The tests of `terraform`: each resource kind, unknown values, and the
//! parity of plans with the sample events.

use super::*;
use crate::guards::offline::evaluate;
use crate::model::event::Event;
use crate::policy::Policy;
use serde_json::{json, Map};

fn plan(changes: Value) -> Value {
    json!({"format_version": "1.2", "resource_changes": changes})
}

fn rules(p: &Planned) -> Vec<&'static str> {
    let event = p.event.as_ref().unwrap();
    let report = evaluate(event, &Policy::embedded(), crate::model::today()).unwrap();
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Every sample event: its file and its value.
fn samples() -> Vec<(std::path::PathBuf, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut out: Vec<(std::path::PathBuf, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            (path, value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The rule ids of a record's offline verdict, each once.
fn judged_ids(value: &Value) -> Vec<&'static str> {
    let event = Event::from_value(value, "sample").unwrap();
    let report = evaluate(&event, &Policy::embedded(), crate::model::today()).unwrap();
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The rule ids of one resource of `kind` with `after`, judged from a plan.
fn plan_ids(kind: &str, after: Value, account: Option<&str>) -> Vec<&'static str> {
    let p = plan(json!([{"address": format!("{kind}.x"), "type": kind,
        "change": {"actions": ["create"], "after": after}}]));
    rules(&planned(&p, "plan.json", account).unwrap()[0])
}

#[test]
fn each_resource_is_judged_as_the_record_of_its_call() {
    let p = plan(json!([
        {"address": "aws_security_group.web", "type": "aws_security_group",
         "change": {"actions": ["create"], "after": {"name": "web", "ingress": [
             {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"],
              "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": false}]},
          "after_unknown": {"id": true, "arn": true}}},
        {"address": "aws_vpc_security_group_ingress_rule.rdp", "type": "aws_vpc_security_group_ingress_rule",
         "change": {"actions": ["create"], "after": {"ip_protocol": "tcp", "from_port": 3389, "to_port": 3389,
             "cidr_ipv4": "0.0.0.0/1"}, "after_unknown": {"security_group_id": true}}},
        {"address": "aws_security_group_rule.egress", "type": "aws_security_group_rule",
         "change": {"actions": ["create"], "after": {"type": "egress", "protocol": "-1",
             "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}}},
        {"address": "aws_security_group.gone", "type": "aws_security_group",
         "change": {"actions": ["delete"], "after": null}},
        {"address": "module.app.aws_ecs_task_definition.app", "type": "aws_ecs_task_definition",
         "change": {"actions": ["create"], "after": {"family": "app", "network_mode": "awsvpc",
             "container_definitions": "[{\"name\":\"app\",\"image\":\"nginx:latest\",\"privileged\":true}]"},
          "after_unknown": {"arn": true, "revision": true}}},
        {"address": "module.app.aws_ecs_service.web", "type": "aws_ecs_service",
         "change": {"actions": ["create"], "after": {"name": "web", "launch_type": "FARGATE",
             "network_configuration": [{"subnets": ["subnet-1"], "security_groups": ["sg-1"], "assign_public_ip": true}]},
          "after_unknown": {"cluster": true, "task_definition": true, "id": true}}}
    ]));
    let planned = planned(&p, "plan.json", None).unwrap();
    let addresses: Vec<&str> = planned.iter().map(|p| p.address.as_str()).collect();
    assert_eq!(
        addresses,
        [
            "aws_security_group.web",
            "aws_vpc_security_group_ingress_rule.rdp",
            "module.app.aws_ecs_task_definition.app",
            "module.app.aws_ecs_service.web"
        ],
        "egress rules and deletions are not judged"
    );
    assert!(
        rules(&planned[0]).contains(&"EC2-SG-003"),
        "{:?}",
        rules(&planned[0])
    );
    assert!(
        rules(&planned[1]).contains(&"EC2-SG-004"),
        "half the internet: {:?}",
        rules(&planned[1])
    );
    assert!(
        rules(&planned[2]).contains(&"ECS-TD-001"),
        "{:?}",
        rules(&planned[2])
    );
    assert!(
        rules(&planned[3]).contains(&"ECS-SVC-001"),
        "{:?}",
        rules(&planned[3])
    );
    // What AWS decides at creation is not a value the rules judge.
    assert!(planned.iter().all(|p| p.unknown.is_empty()), "{planned:?}");
    assert_eq!(
        planned[0].event.as_ref().unwrap().id,
        "aws_security_group.web",
        "the record's id is the address"
    );
}

#[test]
fn a_value_known_only_after_apply_is_unknown_never_a_pass() {
    let p = plan(json!([
        {"address": "aws_security_group_rule.app", "type": "aws_security_group_rule",
         "change": {"actions": ["create"], "after": {"type": "ingress", "protocol": "tcp",
             "from_port": 8080, "to_port": 8080, "security_group_id": "sg-1"},
          "after_unknown": {"cidr_blocks": true}}}
    ]));
    let planned = planned(&p, "plan.json", None).unwrap();
    assert_eq!(planned[0].unknown, ["cidr_blocks"]);
    // Not a plan at all: said.
    let err = super::planned(&json!({"Resources": {}}), "template.json", None).unwrap_err();
    assert!(err.contains("not a Terraform plan"), "{err}");
}

/// A RegisterTaskDefinition record's request as Terraform writes the
/// resource (the inverse of [`task_definition`]).
fn as_resource(request: &Value) -> Value {
    let mut after = Map::new();
    after.insert(
        "container_definitions".into(),
        json!(request["containerDefinitions"].to_string()),
    );
    for (aws, tf) in [
        ("family", "family"),
        ("networkMode", "network_mode"),
        ("taskRoleArn", "task_role_arn"),
        ("executionRoleArn", "execution_role_arn"),
        ("cpu", "cpu"),
        ("memory", "memory"),
        ("pidMode", "pid_mode"),
        ("ipcMode", "ipc_mode"),
        ("requiresCompatibilities", "requires_compatibilities"),
    ] {
        if let Some(v) = request.get(aws) {
            after.insert(tf.into(), v.clone());
        }
    }
    if let Some(p) = request.get("runtimePlatform") {
        after.insert(
            "runtime_platform".into(),
            json!([{"operating_system_family": p.get("operatingSystemFamily"),
                    "cpu_architecture": p.get("cpuArchitecture")}]),
        );
    }
    if let Some(volumes) = request.get("volumes").and_then(Value::as_array) {
        let blocks: Vec<Value> = volumes
            .iter()
            .map(|v| {
                let mut b = Map::new();
                b.insert("name".into(), v["name"].clone());
                if let Some(path) = v.pointer("/host/sourcePath") {
                    b.insert("host_path".into(), path.clone());
                }
                if let Some(d) = v.get("dockerVolumeConfiguration") {
                    b.insert(
                        "docker_volume_configuration".into(),
                        json!([{"scope": d.get("scope"), "autoprovision": d.get("autoprovision"),
                                "driver": d.get("driver"), "driver_opts": d.get("driverOpts"),
                                "labels": d.get("labels")}]),
                    );
                }
                if let Some(e) = v.get("efsVolumeConfiguration") {
                    let mut c = json!({"file_system_id": e.get("fileSystemId"),
                        "root_directory": e.get("rootDirectory"),
                        "transit_encryption": e.get("transitEncryption")});
                    if let Some(a) = e.get("authorizationConfig") {
                        c["authorization_config"] =
                            json!([{"iam": a.get("iam"), "access_point_id": a.get("accessPointId")}]);
                    }
                    b.insert("efs_volume_configuration".into(), json!([c]));
                }
                Value::Object(b)
            })
            .collect();
        after.insert("volume".into(), Value::Array(blocks));
    }
    if let Some(tags) = request.get("tags").and_then(Value::as_array) {
        let map: Map<String, Value> = tags
            .iter()
            .filter_map(|t| Some((t["key"].as_str()?.to_string(), t["value"].clone())))
            .collect();
        after.insert("tags".into(), Value::Object(map));
    }
    Value::Object(after)
}

#[test]
fn a_task_definition_from_a_plan_gets_the_rule_ids_of_its_registration() {
    let mut compared = 0;
    for (path, value) in samples() {
        let record = value.get("detail").unwrap_or(&value);
        if record["eventName"] != "RegisterTaskDefinition"
            || record["errorCode"].is_string()
            || !record["requestParameters"]["containerDefinitions"].is_array()
        {
            continue;
        }
        let from_plan = plan_ids(
            "aws_ecs_task_definition",
            as_resource(&record["requestParameters"]),
            record["recipientAccountId"].as_str(),
        );
        assert_eq!(from_plan, judged_ids(&value), "{}", path.display());
        compared += 1;
    }
    assert!(
        compared >= 20,
        "only {compared} sample registrations compared"
    );
}

#[test]
fn a_group_from_a_plan_gets_the_rule_ids_of_its_authorization() {
    let mut compared = 0;
    let list = |v: &Value, key: &str, field: &str| -> Vec<Value> {
        v.pointer(&format!("/{key}/items"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|i| i.get(field).cloned()).collect())
            .unwrap_or_default()
    };
    for (path, value) in samples() {
        let record = value.get("detail").unwrap_or(&value);
        let request = &record["requestParameters"];
        let Some(perms) = request
            .pointer("/ipPermissions/items")
            .and_then(Value::as_array)
        else {
            continue;
        };
        if record["eventName"] != "AuthorizeSecurityGroupIngress" || record["errorCode"].is_string()
        {
            continue;
        }
        let ingress: Vec<Value> = perms
            .iter()
            .map(|p| {
                json!({"protocol": p["ipProtocol"], "from_port": p.get("fromPort"),
                       "to_port": p.get("toPort"),
                       "cidr_blocks": list(p, "ipRanges", "cidrIp"),
                       "ipv6_cidr_blocks": list(p, "ipv6Ranges", "cidrIpv6"),
                       "prefix_list_ids": list(p, "prefixListIds", "prefixListId"),
                       "security_groups": p.pointer("/groups/items").and_then(Value::as_array)
                           .map(|a| a.iter().map(|g| match (g.get("userId"), g.get("groupId")) {
                               (Some(Value::String(u)), Some(Value::String(id))) => json!(format!("{u}/{id}")),
                               (_, Some(id)) => id.clone(),
                               _ => Value::Null,
                           }).collect::<Vec<_>>()).unwrap_or_default(),
                       "self": false})
            })
            .collect();
        let mut after = json!({"ingress": ingress, "name": request.get("groupName").cloned().unwrap_or(json!(""))});
        if let Some(id) = request.get("groupId") {
            after["id"] = id.clone();
        }
        let from_plan = plan_ids(
            "aws_security_group",
            after,
            record["recipientAccountId"].as_str(),
        );
        assert_eq!(from_plan, judged_ids(&value), "{}", path.display());
        compared += 1;
    }
    assert!(
        compared >= 15,
        "only {compared} sample authorizations compared"
    );
}

#[test]
fn a_service_from_a_plan_gets_the_rule_ids_of_its_creation() {
    let mut compared = 0;
    for (path, value) in samples() {
        let record = value.get("detail").unwrap_or(&value);
        let r = &record["requestParameters"];
        if record["eventName"] != "CreateService"
            || record["eventSource"] != "ecs.amazonaws.com"
            || record["errorCode"].is_string()
        {
            continue;
        }
        let mut after = json!({"name": r["serviceName"], "cluster": r.get("cluster"),
            "task_definition": r.get("taskDefinition"), "launch_type": r.get("launchType"),
            "platform_version": r.get("platformVersion"),
            "enable_execute_command": r.get("enableExecuteCommand"),
            "desired_count": r.get("desiredCount")});
        if let Some(a) = r.pointer("/networkConfiguration/awsvpcConfiguration") {
            after["network_configuration"] = json!([{"subnets": a.get("subnets"),
                "security_groups": a.get("securityGroups").cloned().unwrap_or(json!([])),
                "assign_public_ip": a.get("assignPublicIp") == Some(&json!("ENABLED"))}]);
        }
        if let Some(tags) = r.get("tags").and_then(Value::as_array) {
            let map: Map<String, Value> = tags
                .iter()
                .filter_map(|t| Some((t["key"].as_str()?.to_string(), t["value"].clone())))
                .collect();
            after["tags"] = Value::Object(map);
        }
        if let Some(lbs) = r.get("loadBalancers").and_then(Value::as_array) {
            after["load_balancer"] = Value::Array(lbs.iter().map(|lb| json!({
                "target_group_arn": lb.get("targetGroupArn"), "elb_name": lb.get("loadBalancerName"),
                "container_name": lb.get("containerName"), "container_port": lb.get("containerPort")})).collect());
        }
        if let Some(sc) = r.get("serviceConnectConfiguration") {
            let services: Vec<Value> = sc
                .get("services")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|s| {
                    let mut b = json!({"port_name": s.get("portName")});
                    if let Some(tls) = s.get("tls") {
                        b["tls"] =
                            json!([{"kms_key": tls.get("kmsKey"), "role_arn": tls.get("roleArn")}]);
                    }
                    b
                })
                .collect();
            after["service_connect_configuration"] = json!([{"enabled": sc.get("enabled"),
                "namespace": sc.get("namespace"), "service": services}]);
        }
        // What the record's response adds (the effective settings AWS
        // answered) a plan cannot know: judged from the request alone.
        let mut request_only = value.clone();
        if request_only.get("detail").is_some() {
            request_only["detail"]["responseElements"] = Value::Null;
        } else {
            request_only["responseElements"] = Value::Null;
        }
        let from_plan = plan_ids(
            "aws_ecs_service",
            after,
            record["recipientAccountId"].as_str(),
        );
        assert_eq!(from_plan, judged_ids(&request_only), "{}", path.display());
        compared += 1;
    }
    assert!(compared >= 6, "only {compared} sample creations compared");
}

#[test]
fn a_groups_ingress_left_out_of_the_configuration_is_empty_only_beside_rule_resources() {
    // No inline ingress in the configuration: the provider computes it, or
    // a dynamic block (which the configuration does not show) sets it.
    let group = json!({"address": "aws_security_group.web", "type": "aws_security_group",
        "change": {"actions": ["create"], "after": {"name": "web", "description": "web"},
         "after_unknown": {"id": true, "arn": true, "ingress": true, "egress": true}}});
    let config = |with_rule: bool| {
        let mut resources = vec![
            json!({"address": "aws_security_group.web", "mode": "managed",
            "expressions": {"name": {"constant_value": "web"}}}),
        ];
        if with_rule {
            resources.push(json!({"address": "aws_vpc_security_group_ingress_rule.https", "mode": "managed",
                "expressions": {"security_group_id": {"references": ["aws_security_group.web.id", "aws_security_group.web"]},
                    "cidr_ipv4": {"constant_value": "10.0.0.0/8"}}}));
        }
        json!({"root_module": {"resources": resources}})
    };
    let rule = json!({"address": "aws_vpc_security_group_ingress_rule.https",
        "type": "aws_vpc_security_group_ingress_rule",
        "change": {"actions": ["create"], "after": {"ip_protocol": "tcp", "from_port": 443,
            "to_port": 443, "cidr_ipv4": "10.0.0.0/8"},
         "after_unknown": {"id": true, "arn": true, "security_group_id": true}}});
    let alone = json!({"format_version": "1.2", "resource_changes": [group.clone()],
        "configuration": config(false)});
    let planned_alone = planned(&alone, "plan.json", None).unwrap();
    assert_eq!(planned_alone[0].unknown, ["ingress"]);
    assert!(
        planned_alone[0].event.is_err(),
        "never a group without rules"
    );
    let managed = json!({"format_version": "1.2", "resource_changes": [group, rule],
        "configuration": config(true)});
    let planned_managed = planned(&managed, "plan.json", None).unwrap();
    assert!(
        planned_managed[0].unknown.is_empty(),
        "{:?}",
        planned_managed[0].unknown
    );
    assert_eq!(
        planned_managed[0].event.as_ref().unwrap().name,
        "CreateSecurityGroup"
    );
}
