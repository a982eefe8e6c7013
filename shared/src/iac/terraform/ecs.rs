//! Task definitions and services in a plan, as the RegisterTaskDefinition
//! and CreateService each would make.

use serde_json::{json, Map, Value};

use super::{Resource, UNKNOWN_UNTIL_APPLY};
use crate::iac::record::{copy, record, strings, tag_list};

pub(super) fn task_definition(r: &Resource) -> Result<Vec<Value>, String> {
    let (address, after, account) = (r.address, r.after, r.account);
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
    copy(
        after,
        &[
            ("family", "family"),
            ("network_mode", "networkMode"),
            ("task_role_arn", "taskRoleArn"),
            ("execution_role_arn", "executionRoleArn"),
            ("cpu", "cpu"),
            ("memory", "memory"),
            ("pid_mode", "pidMode"),
            ("ipc_mode", "ipcMode"),
        ],
        &mut request,
    );
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
    if let Some(tags) = tag_list(after) {
        request.insert("tags".into(), tags);
    }
    Ok(vec![record(
        address,
        account,
        "ecs.amazonaws.com",
        "RegisterTaskDefinition",
        Value::Object(request),
        Value::Null,
    )])
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
        copy(
            d,
            &[
                ("scope", "scope"),
                ("autoprovision", "autoprovision"),
                ("driver", "driver"),
                ("driver_opts", "driverOpts"),
                ("labels", "labels"),
            ],
            &mut c,
        );
        out.insert("dockerVolumeConfiguration".into(), Value::Object(c));
    }
    if let Some(e) = first("efs_volume_configuration") {
        let mut c = Map::new();
        copy(
            e,
            &[
                ("file_system_id", "fileSystemId"),
                ("root_directory", "rootDirectory"),
                ("transit_encryption", "transitEncryption"),
                ("transit_encryption_port", "transitEncryptionPort"),
            ],
            &mut c,
        );
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

pub(super) fn service(r: &Resource) -> Result<Vec<Value>, String> {
    let (address, after, account, unknown_at) = (r.address, r.after, r.account, r.unknown_at);
    let mut request = Map::new();
    request.insert(
        "serviceName".into(),
        after.get("name").cloned().unwrap_or(json!(address)),
    );
    copy(
        after,
        &[
            ("cluster", "cluster"),
            ("task_definition", "taskDefinition"),
            ("launch_type", "launchType"),
            ("platform_version", "platformVersion"),
            ("enable_execute_command", "enableExecuteCommand"),
            ("desired_count", "desiredCount"),
        ],
        &mut request,
    );
    // A task definition or cluster of the same plan stands for itself by
    // its address.
    for (tf, aws) in [
        ("task_definition", "taskDefinition"),
        ("cluster", "cluster"),
    ] {
        if !request.contains_key(aws) {
            if let Some(found) = (r.refers_to)(tf).into_iter().next() {
                request.insert(aws.into(), json!(found));
            }
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
        if groups.is_empty() {
            // The groups of the same plan it names stand for themselves by
            // their addresses; any other is known after apply.
            groups = (r.refers_to)("network_configuration.security_groups");
            if groups.is_empty() && unknown_at("network_configuration") {
                groups.push(UNKNOWN_UNTIL_APPLY.to_string());
            }
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
    if let Some(tags) = tag_list(after) {
        request.insert("tags".into(), tags);
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
                // A target group of the same plan, by its address.
                if !m.contains_key("targetGroupArn") && !m.contains_key("loadBalancerName") {
                    if let Some(tg) = (r.refers_to)("load_balancer.target_group_arn")
                        .into_iter()
                        .next()
                    {
                        m.insert("targetGroupArn".into(), json!(tg));
                    }
                }
                Value::Object(m)
            })
            .collect();
        request.insert("loadBalancers".into(), Value::Array(lbs));
    }
    Ok(vec![record(
        address,
        account,
        "ecs.amazonaws.com",
        "CreateService",
        Value::Object(request),
        Value::Null,
    )])
}
