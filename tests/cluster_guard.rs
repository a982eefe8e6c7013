//! End to end: the cluster-guard handler against moto server. The alert is
//! read back from an SQS queue subscribed to the topic.
//! - A cluster created without saying whether Container Insights is on takes
//!   the account default: the guard reads the cluster back from moto
//!   (`DescribeClusters`), finds it off and alerts ECS-CL-001; a cluster
//!   created with it on sends nothing.
//! - `PutAccountSettingDefault` is not implemented in moto (HTTP 500): the
//!   event alone is judged (the guard makes no call for it), ECS-CL-004.
//! - A capacity provider created in moto without managed termination
//!   protection: ECS-CL-005.

use access_guard::config::FunctionConfig;
use access_guard::lambda::cluster_guard::{handle, Deps};
use access_guard_e2e::{envelope, findings, unique, AlertSink, Emulator};
use aws_sdk_ecs::types::{AutoScalingGroupProvider, ClusterSetting, ClusterSettingName};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

/// Medium findings alert: the ECS-CL rules are medium and low.
fn deps(emu: &Emulator, sink: &AlertSink) -> Deps {
    let topic = sink.topic_arn.clone();
    let config = FunctionConfig::from_lookup(move |name| match name {
        "ACCESS_GUARD_TOPIC_ARN" => Some(topic.clone()),
        "ACCESS_GUARD_NOTIFY_MIN_SEVERITY" => Some("medium".to_string()),
        _ => None,
    })
    .expect("config");
    Deps::new(&emu.sdk, config)
}

async fn create_cluster(emu: &Emulator, name: &str, insights: &str) {
    emu.ecs
        .create_cluster()
        .cluster_name(name)
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value(insights)
                .build(),
        )
        .send()
        .await
        .expect("CreateCluster");
}

/// The CreateCluster record of a call that named no setting.
fn unsaid(cluster: &str) -> Value {
    envelope(
        "ecs",
        "CreateCluster",
        json!({"clusterName": cluster, "tags": [{"key": "team", "value": "green"}]}),
        json!({"cluster": {"clusterName": cluster, "status": "ACTIVE",
               "tags": [{"key": "team", "value": "green"}]}}),
    )
}

#[tokio::test]
async fn a_cluster_created_without_the_setting_is_read_back_and_judged() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let deps = deps(&emu, &sink);
    let off = unique("batch");
    create_cluster(&emu, &off, "disabled").await;

    let verdict = handle(
        LambdaEvent::new(unsaid(&off), access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");

    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1, "{verdict}");
    assert_eq!(alerts[0].doc["event_name"], "CreateCluster");
    assert_eq!(alerts[0].doc["resource"], off.as_str());
    let found = findings(&alerts[0].doc);
    assert!(
        found.contains(&(
            "ECS-CL-001".to_string(),
            format!("cluster {off}: containerInsights disabled")
        )),
        "{found:?}"
    );
    assert!(
        found.iter().any(|(rule, _)| rule == "ECS-CL-002"),
        "no KMS key for exec sessions: {found:?}"
    );

    // Turned on in AWS: ECS-CL-001 is not raised on a guess.
    let on = unique("batch");
    create_cluster(&emu, &on, "enhanced").await;
    let verdict = handle(
        LambdaEvent::new(unsaid(&on), access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");
    let rules: Vec<&str> = verdict["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(!rules.contains(&"ECS-CL-001"), "{verdict}");

    // Gone by the time the event arrives: said, not assumed either way.
    let gone = unique("batch");
    let verdict = handle(
        LambdaEvent::new(unsaid(&gone), access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");
    assert_eq!(
        verdict["could_not_evaluate"],
        format!("could not check Container Insights on cluster {gone}: not found")
    );
}

#[tokio::test]
async fn account_defaults_and_capacity_providers_are_alerted() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let deps = deps(&emu, &sink);
    let default_off = envelope(
        "ecs",
        "PutAccountSettingDefault",
        json!({"name": "containerInsights", "value": "disabled"}),
        json!({"setting": {"name": "containerInsights", "value": "disabled",
               "principalArn": "arn:aws:iam::123456789012:root"}}),
    );
    handle(
        LambdaEvent::new(default_off, access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        findings(&alerts[0].doc),
        [(
            "ECS-CL-004".to_string(),
            "containerInsights disabled for every principal of the account (default)".to_string()
        )]
    );
    assert_eq!(
        alerts[0].attribute("rule_ids").as_deref(),
        Some("[\"ECS-CL-004\"]")
    );

    let name = unique("cp");
    let asg = format!(
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:0a1b2c3d:autoScalingGroupName/{name}"
    );
    let created = emu
        .ecs
        .create_capacity_provider()
        .name(&name)
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(&asg)
                .build()
                .expect("provider"),
        )
        .send()
        .await
        .expect("CreateCapacityProvider");
    let provider = created.capacity_provider().expect("capacity provider");
    let response = json!({"capacityProvider": {
        "capacityProviderArn": provider.capacity_provider_arn(), "name": name, "status": "ACTIVE",
        "autoScalingGroupProvider": {"autoScalingGroupArn": asg,
            "managedTerminationProtection": provider.auto_scaling_group_provider()
                .and_then(|p| p.managed_termination_protection()).map(|m| m.as_str().to_string())}}});
    let event = envelope(
        "ecs",
        "CreateCapacityProvider",
        json!({"name": name, "autoScalingGroupProvider": {"autoScalingGroupArn": asg}}),
        response,
    );
    handle(LambdaEvent::new(event, access_guard_e2e::context()), &deps)
        .await
        .expect("handler");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert!(
        findings(&alerts[0].doc).contains(&(
            "ECS-CL-005".to_string(),
            format!("capacity provider {name}: managedTerminationProtection DISABLED")
        )),
        "{:?}",
        alerts[0].doc
    );
}
