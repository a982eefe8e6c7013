//! ECS clusters, their capacity providers and the account's defaults in a
//! plan, as the CreateCluster, PutClusterCapacityProviders,
//! CreateCapacityProvider and PutAccountSettingDefault each would make.

use serde_json::{json, Map, Value};

use super::{known, text, Resource};
use crate::iac::record::{copy, record, strings, tag_list};

const ECS: &str = "ecs.amazonaws.com";

/// The first (only) block of a nested block list (`configuration`).
fn first<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).and_then(Value::as_array).and_then(|a| a.first())
}

pub(super) fn cluster(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    // Container Insights and how exec sessions are logged and encrypted.
    known(r, &["setting", "configuration"])?;
    let mut request = Map::new();
    request.insert(
        "clusterName".into(),
        json!(text(after, "name").unwrap_or(r.address)),
    );
    if let Some(settings) = after.get("setting").and_then(Value::as_array) {
        let settings: Vec<Value> = settings
            .iter()
            .map(|s| json!({"name": s.get("name"), "value": s.get("value")}))
            .collect();
        request.insert("settings".into(), Value::Array(settings));
    }
    if let Some(exec) =
        first(after, "configuration").and_then(|c| first(c, "execute_command_configuration"))
    {
        let mut e = Map::new();
        if let Some(key) = text(exec, "kms_key_id") {
            e.insert("kmsKeyId".into(), json!(key));
        }
        if let Some(logging) = text(exec, "logging") {
            e.insert("logging".into(), json!(logging));
        }
        if let Some(logs) = first(exec, "log_configuration") {
            let mut l = Map::new();
            for (tf, aws) in [
                ("cloud_watch_log_group_name", "cloudWatchLogGroupName"),
                ("s3_bucket_name", "s3BucketName"),
                ("s3_key_prefix", "s3KeyPrefix"),
            ] {
                if let Some(v) = text(logs, tf) {
                    l.insert(aws.into(), json!(v));
                }
            }
            for (tf, aws) in [
                (
                    "cloud_watch_encryption_enabled",
                    "cloudWatchEncryptionEnabled",
                ),
                ("s3_bucket_encryption_enabled", "s3EncryptionEnabled"),
            ] {
                if let Some(v) = logs.get(tf).and_then(Value::as_bool) {
                    l.insert(aws.into(), json!(v));
                }
            }
            e.insert("logConfiguration".into(), Value::Object(l));
        }
        request.insert(
            "configuration".into(),
            json!({"executeCommandConfiguration": e}),
        );
    }
    if let Some(tags) = tag_list(after) {
        request.insert("tags".into(), tags);
    }
    Ok(vec![record(
        r.address,
        r.account,
        ECS,
        "CreateCluster",
        Value::Object(request),
        Value::Null,
    )])
}

pub(super) fn cluster_capacity_providers(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    let strategy: Vec<Value> = after
        .get("default_capacity_provider_strategy")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| {
            json!({"capacityProvider": s.get("capacity_provider"), "weight": s.get("weight"),
                   "base": s.get("base")})
        })
        .collect();
    let request = json!({
        "cluster": text(after, "cluster_name").unwrap_or(r.address),
        "capacityProviders": strings(after.get("capacity_providers")),
        "defaultCapacityProviderStrategy": strategy,
    });
    Ok(vec![record(
        r.address,
        r.account,
        ECS,
        "PutClusterCapacityProviders",
        request,
        Value::Null,
    )])
}

pub(super) fn capacity_provider(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    known(
        r,
        &["auto_scaling_group_provider[0].managed_termination_protection"],
    )?;
    let mut request = Map::new();
    request.insert(
        "name".into(),
        json!(text(after, "name").unwrap_or(r.address)),
    );
    if let Some(asg) = first(after, "auto_scaling_group_provider") {
        let mut p = Map::new();
        // An Auto Scaling group created in the same plan has no ARN yet.
        p.insert(
            "autoScalingGroupArn".into(),
            json!(text(asg, "auto_scaling_group_arn").unwrap_or(super::UNKNOWN_UNTIL_APPLY)),
        );
        for (tf, aws) in [
            (
                "managed_termination_protection",
                "managedTerminationProtection",
            ),
            ("managed_draining", "managedDraining"),
        ] {
            if let Some(v) = text(asg, tf) {
                p.insert(aws.into(), json!(v));
            }
        }
        if let Some(scaling) = first(asg, "managed_scaling") {
            let mut s = Map::new();
            copy(
                scaling,
                &[
                    ("status", "status"),
                    ("target_capacity", "targetCapacity"),
                    ("minimum_scaling_step_size", "minimumScalingStepSize"),
                    ("maximum_scaling_step_size", "maximumScalingStepSize"),
                    ("instance_warmup_period", "instanceWarmupPeriod"),
                ],
                &mut s,
            );
            p.insert("managedScaling".into(), Value::Object(s));
        }
        request.insert("autoScalingGroupProvider".into(), Value::Object(p));
    }
    if let Some(tags) = tag_list(after) {
        request.insert("tags".into(), tags);
    }
    Ok(vec![record(
        r.address,
        r.account,
        ECS,
        "CreateCapacityProvider",
        Value::Object(request),
        Value::Null,
    )])
}

pub(super) fn account_setting_default(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    known(r, &["name", "value"])?;
    let request = json!({"name": after.get("name"), "value": after.get("value")});
    Ok(vec![record(
        r.address,
        r.account,
        ECS,
        "PutAccountSettingDefault",
        request,
        Value::Null,
    )])
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::tests_kinds::{from_plan, ids, judge, judged, samples, tag_map};
    use crate::guards::cluster::NEEDS_AWS;

    #[test]
    fn a_cluster_is_judged_as_its_creation() {
        let insecure = json!({"name": "payments",
            "setting": [{"name": "containerInsights", "value": "disabled"}],
            "configuration": [{"execute_command_configuration": [{"kms_key_id": "", "logging": "NONE",
                "log_configuration": []}], "managed_storage_configuration": []}],
            "tags": null});
        assert_eq!(
            ids("aws_ecs_cluster", insecure),
            ["ECS-CL-001", "ECS-CL-002", "ECS-CL-003"]
        );
        let secure = json!({"name": "payments",
            "setting": [{"name": "containerInsights", "value": "enhanced"}],
            "configuration": [{"execute_command_configuration": [{"kms_key_id": "arn:aws:kms:eu-west-1:111122223333:key/k",
                "logging": "OVERRIDE", "log_configuration": [{"cloud_watch_log_group_name": "/ecs/exec",
                "cloud_watch_encryption_enabled": true, "s3_bucket_name": "", "s3_key_prefix": ""}]}]}],
            "tags": {"team": "green"}});
        assert_eq!(ids("aws_ecs_cluster", secure), Vec::<&str>::new());
        // Without a setting the account default applies: the plan says so
        // as the record does.
        let v = judge("aws_ecs_cluster", json!({"name": "batch"}), json!({}));
        let v = v[0].as_ref().unwrap();
        assert!(v.notes.contains(&NEEDS_AWS.to_string()), "{v:?}");
    }

    #[test]
    fn a_capacity_provider_and_the_account_default_are_judged() {
        let asg = |protection: &str| {
            json!({"name": "ec2", "auto_scaling_group_provider": [{"auto_scaling_group_arn": "arn:aws:autoscaling:x",
                "managed_termination_protection": protection, "managed_draining": "ENABLED",
                "managed_scaling": [{"status": "ENABLED", "target_capacity": 90}]}],
                "tags": {"team": "green"}})
        };
        assert_eq!(
            ids("aws_ecs_capacity_provider", asg("DISABLED")),
            ["ECS-CL-005"]
        );
        assert_eq!(
            ids("aws_ecs_capacity_provider", asg("ENABLED")),
            Vec::<&str>::new()
        );
        let setting = |value: &str| json!({"name": "containerInsights", "value": value});
        assert_eq!(
            ids("aws_ecs_account_setting_default", setting("disabled")),
            ["ECS-CL-004"]
        );
        assert_eq!(
            ids("aws_ecs_account_setting_default", setting("enhanced")),
            Vec::<&str>::new()
        );
        // No guard judges which providers a cluster uses: said, not passed.
        let v = judge(
            "aws_ecs_cluster_capacity_providers",
            json!({"cluster_name": "payments", "capacity_providers": ["FARGATE"],
                   "default_capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 1, "base": 0}]}),
            json!({}),
        );
        let v = v[0].as_ref().unwrap();
        assert_eq!(
            v.skipped.as_deref(),
            Some("not handled: PutClusterCapacityProviders")
        );
    }

    #[test]
    fn what_the_cluster_rules_need_unknown_until_apply_is_not_judged() {
        for (kind, after, unknown, path) in [
            (
                "aws_ecs_cluster",
                json!({"name": "p", "setting": [{"name": "containerInsights", "value": null}]}),
                json!({"setting": [{"value": true}]}),
                "setting",
            ),
            (
                "aws_ecs_cluster",
                json!({"name": "p", "configuration": [{"execute_command_configuration": [{"logging": "DEFAULT"}]}]}),
                json!({"configuration": [{"execute_command_configuration": [{"kms_key_id": true}]}]}),
                "configuration",
            ),
            (
                "aws_ecs_capacity_provider",
                json!({"name": "ec2", "auto_scaling_group_provider": [{"auto_scaling_group_arn": "arn:x"}]}),
                json!({"auto_scaling_group_provider": [{"managed_termination_protection": true}]}),
                "auto_scaling_group_provider[0].managed_termination_protection",
            ),
            (
                "aws_ecs_account_setting_default",
                json!({"name": "containerInsights"}),
                json!({"value": true}),
                "value",
            ),
        ] {
            let v = judge(kind, after, unknown);
            let err = v[0].as_ref().unwrap_err();
            assert!(
                err.contains("not judged") && err.contains(path.split('[').next().unwrap()),
                "{kind}: {err}"
            );
        }
    }

    /// A cluster call's request as Terraform writes the resource.
    fn as_resource(name: &str, r: &Value) -> (&'static str, Value) {
        let tags = || tag_map(r.get("tags"));
        match name {
            "CreateCluster" => {
                let mut after = json!({"name": r["clusterName"], "tags": tags()});
                if let Some(s) = r.get("settings") {
                    after["setting"] = s.clone();
                }
                if let Some(e) = r.pointer("/configuration/executeCommandConfiguration") {
                    let l = &e["logConfiguration"];
                    after["configuration"] = json!([{"execute_command_configuration": [{
                        "kms_key_id": e.get("kmsKeyId").cloned().unwrap_or(json!("")),
                        "logging": e.get("logging"),
                        "log_configuration": if l.is_object() { json!([{
                            "cloud_watch_log_group_name": l.get("cloudWatchLogGroupName"),
                            "cloud_watch_encryption_enabled": l.get("cloudWatchEncryptionEnabled"),
                            "s3_bucket_name": l.get("s3BucketName")}]) } else { json!([]) }}]}]);
                }
                ("aws_ecs_cluster", after)
            }
            "CreateCapacityProvider" => {
                let a = &r["autoScalingGroupProvider"];
                let s = &a["managedScaling"];
                (
                    "aws_ecs_capacity_provider",
                    json!({"name": r["name"], "tags": tags(),
                        "auto_scaling_group_provider": [{"auto_scaling_group_arn": a["autoScalingGroupArn"],
                            "managed_termination_protection": a.get("managedTerminationProtection"),
                            "managed_draining": a.get("managedDraining"),
                            "managed_scaling": [{"status": s.get("status"), "target_capacity": s.get("targetCapacity")}]}]}),
                )
            }
            _ => (
                "aws_ecs_account_setting_default",
                json!({"name": r["name"], "value": r["value"]}),
            ),
        }
    }

    #[test]
    fn a_cluster_resource_from_a_plan_gets_the_verdict_of_its_call() {
        let mut compared = 0;
        for (file, record) in samples(
            "ecs",
            &[
                "CreateCluster",
                "CreateCapacityProvider",
                "PutAccountSettingDefault",
            ],
        ) {
            let name = record["eventName"].as_str().unwrap();
            let (kind, after) = as_resource(name, &record["requestParameters"]);
            assert_eq!(from_plan(kind, after), judged(&record), "{file}");
            compared += 1;
        }
        assert!(compared >= 5, "only {compared} sample calls compared");
    }
}
