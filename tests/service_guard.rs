//! End to end: the service-guard handler against moto server. In moto: a
//! task definition with a privileged container, a group with tcp 22 open to
//! 0.0.0.0/0, a cluster and a service using both. The alert for the
//! CreateService event must carry ECS-SVC-001, ECS-SVC-004 (the group and the
//! port) and ECS-SVC-005 (ECS-TD-001); a scale-only UpdateService sends nothing.

use access_guard::config::FunctionConfig;
use access_guard::lambda::service_guard::{handle, Deps};
use access_guard_e2e::{envelope, register_privileged_task, unique, AlertSink, Emulator};
use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, LaunchType, NetworkConfiguration};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

fn deps(emu: &Emulator, sink: &AlertSink) -> Deps {
    let topic = sink.topic_arn.clone();
    let config = FunctionConfig::from_lookup(move |name| {
        (name == "ACCESS_GUARD_TOPIC_ARN").then(|| topic.clone())
    })
    .expect("config");
    Deps::new(&emu.sdk, config)
}

async fn a_default_subnet(emu: &Emulator) -> String {
    let out = emu
        .ec2
        .describe_subnets()
        .send()
        .await
        .expect("DescribeSubnets");
    out.subnets()
        .first()
        .and_then(|s| s.subnet_id())
        .expect("a default subnet")
        .to_string()
}

#[tokio::test]
async fn a_new_service_is_judged_with_what_it_runs_and_the_groups_in_front_of_it() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let family = unique("web");
    let td_arn = register_privileged_task(&emu, &family, "postgres://localhost/app").await;
    let group = emu.group(&[]).await;
    emu.open_to_world(&group, &[22]).await;
    let cluster = unique("prod");
    emu.ecs
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .expect("CreateCluster");
    let subnet = a_default_subnet(&emu).await;
    let service = unique("web-svc");
    let created = emu
        .ecs
        .create_service()
        .cluster(&cluster)
        .service_name(&service)
        .task_definition(&td_arn)
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets(&subnet)
                        .security_groups(&group)
                        .assign_public_ip(AssignPublicIp::Enabled)
                        .build()
                        .expect("awsvpc configuration"),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreateService");
    let service_arn = created
        .service()
        .and_then(|s| s.service_arn())
        .expect("service arn")
        .to_string();
    let network = json!({"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "ENABLED"}});
    let event = envelope(
        "ecs",
        "CreateService",
        json!({"cluster": cluster, "serviceName": service, "taskDefinition": td_arn, "desiredCount": 1,
               "launchType": "FARGATE", "networkConfiguration": network}),
        json!({"service": {"serviceArn": service_arn, "serviceName": service, "taskDefinition": td_arn,
               "networkConfiguration": network, "enableExecuteCommand": false, "desiredCount": 1}}),
    );
    let deps = deps(&emu, &sink);

    handle(LambdaEvent::new(event, access_guard_e2e::context()), &deps)
        .await
        .expect("handler");

    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    let findings: Vec<(String, String)> = alerts[0].doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let detail = |rule: &str| {
        findings
            .iter()
            .find(|(r, _)| r == rule)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("{rule} missing from {findings:?}"))
    };
    assert!(detail("ECS-SVC-001").contains("ENABLED"));
    let open = detail("ECS-SVC-004");
    assert!(
        open.starts_with(&format!("{group}: tcp 22 from 0.0.0.0/0")),
        "{open}"
    );
    assert!(detail("ECS-SVC-005").contains("ECS-TD-001"));
    assert_eq!(alerts[0].attribute("severity").as_deref(), Some("critical"));
    let reach = alerts[0].doc["reachability"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        reach.starts_with("public IP: yes; internet-open groups: "),
        "{reach}"
    );
    assert!(reach.contains("app=1000, privileged"), "{reach}");
    assert!(sink.texts().concat().contains("Reach: public IP: yes"));

    // Scaling the same service out re-alerts on nothing.
    let scale = envelope(
        "ecs",
        "UpdateService",
        json!({"cluster": cluster, "service": service, "desiredCount": 3}),
        json!({"service": {"serviceArn": service_arn, "serviceName": service, "taskDefinition": td_arn,
               "networkConfiguration": network, "enableExecuteCommand": false, "desiredCount": 3}}),
    );
    let verdict: Value = handle(LambdaEvent::new(scale, access_guard_e2e::context()), &deps)
        .await
        .expect("handler");
    assert_eq!(verdict["findings"], json!([]));
    assert!(
        sink.alerts(&emu).await.is_empty(),
        "a scale-out sends nothing"
    );
}
