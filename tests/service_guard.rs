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

/// The findings of an alert as (rule, detail).
fn findings_of(doc: &Value) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn public(subnet: &str, group: &str) -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets(subnet)
                .security_groups(group)
                .assign_public_ip(AssignPublicIp::Enabled)
                .build()
                .expect("awsvpc configuration"),
        )
        .build()
}

/// A task set (the EXTERNAL deployment controller's way to deploy) with a
/// public IP in front of a group open to the world: the same live join as a
/// service, under ECS-SVC-008 (Security Hub ECS.16).
#[tokio::test]
async fn a_task_set_with_a_public_ip_is_joined_with_its_groups_and_task_definition() {
    use aws_sdk_ecs::types::{DeploymentController, DeploymentControllerType};
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let td_arn = register_privileged_task(&emu, &unique("blue"), "postgres://localhost/app").await;
    let group = emu.group(&[]).await;
    emu.open_to_world(&group, &[22]).await;
    let cluster = unique("prod");
    emu.ecs
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .expect("CreateCluster");
    let service = unique("web-ext");
    emu.ecs
        .create_service()
        .cluster(&cluster)
        .service_name(&service)
        .desired_count(1)
        .deployment_controller(
            DeploymentController::builder()
                .r#type(DeploymentControllerType::External)
                .build()
                .expect("controller"),
        )
        .send()
        .await
        .expect("CreateService");
    let subnet = a_default_subnet(&emu).await;
    let created = emu
        .ecs
        .create_task_set()
        .cluster(&cluster)
        .service(&service)
        .task_definition(&td_arn)
        .launch_type(LaunchType::Fargate)
        .network_configuration(public(&subnet, &group))
        .send()
        .await
        .expect("CreateTaskSet");
    let set = created.task_set().expect("task set");
    let network = json!({"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "ENABLED"}});
    let event = envelope(
        "ecs",
        "CreateTaskSet",
        json!({"cluster": cluster, "service": service, "taskDefinition": td_arn,
               "launchType": "FARGATE", "networkConfiguration": network}),
        json!({"taskSet": {"id": set.id(), "taskSetArn": set.task_set_arn(), "taskDefinition": td_arn,
               "networkConfiguration": network, "status": set.status()}}),
    );
    let deps = deps(&emu, &sink);

    handle(LambdaEvent::new(event, access_guard_e2e::context()), &deps)
        .await
        .expect("handler");

    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    let found = findings_of(&alerts[0].doc);
    let rules: Vec<&str> = found.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        rules,
        ["ECS-SVC-005", "ECS-SVC-004", "ECS-SVC-008"],
        "{found:?}"
    );
    assert!(found[1]
        .1
        .starts_with(&format!("{group}: tcp 22 from 0.0.0.0/0")));
    assert!(found[0].1.contains("ECS-TD-001"));
    let resource = alerts[0].doc["resource"].as_str().unwrap_or_default();
    assert_eq!(
        resource,
        format!("{cluster}/{service}/{}", set.id().unwrap_or_default())
    );
}

/// RunTask started by an EventBridge rule, with a public IP in front of a
/// group open to the world: judged as a person's call would be (ECS-SVC-009
/// and the live join), and the alert says who started it.
#[tokio::test]
async fn a_standalone_task_started_by_eventbridge_is_judged_and_says_who_started_it() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let td_arn = register_privileged_task(&emu, &unique("job"), "postgres://localhost/app").await;
    let group = emu.group(&[]).await;
    emu.open_to_world(&group, &[3389]).await;
    let cluster = unique("jobs");
    emu.ecs
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .expect("CreateCluster");
    let subnet = a_default_subnet(&emu).await;
    // moto runs the task; an awsvpcConfiguration without securityGroups would
    // fail inside moto (HTTP 500), so the group is named as a real caller would.
    let ran = emu
        .ecs
        .run_task()
        .cluster(&cluster)
        .task_definition(&td_arn)
        .launch_type(LaunchType::Fargate)
        .network_configuration(public(&subnet, &group))
        .started_by("events-rule/nightly")
        .send()
        .await
        .expect("RunTask");
    let task_arn = ran
        .tasks()
        .first()
        .and_then(|t| t.task_arn())
        .expect("a task")
        .to_string();
    let network = json!({"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "ENABLED"}});
    let mut event = envelope(
        "ecs",
        "RunTask",
        json!({"cluster": cluster, "taskDefinition": td_arn, "launchType": "FARGATE",
               "networkConfiguration": network, "startedBy": "events-rule/nightly"}),
        json!({"tasks": [{"taskArn": task_arn, "taskDefinitionArn": td_arn, "lastStatus": "PROVISIONING"}],
               "failures": []}),
    );
    event["detail"]["userIdentity"]["invokedBy"] = json!("events.amazonaws.com");
    let deps = deps(&emu, &sink);

    handle(LambdaEvent::new(event, access_guard_e2e::context()), &deps)
        .await
        .expect("handler");

    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    let found = findings_of(&alerts[0].doc);
    let rules: Vec<&str> = found.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        rules,
        ["ECS-SVC-005", "ECS-SVC-004", "ECS-SVC-009"],
        "{found:?}"
    );
    assert!(found[1].1.contains("tcp 3389 from 0.0.0.0/0"), "{found:?}");
    assert_eq!(
        alerts[0].doc["notes"][0],
        "RunTask invoked by EventBridge (events.amazonaws.com), startedBy events-rule/nightly"
    );
    assert!(
        sink.texts().concat().contains("invoked by EventBridge"),
        "the text for people says who started it"
    );
}

/// DescribeSecurityGroupRules with a group-id filter answers an empty list
/// both for a group without ingress and for one the account cannot see (a
/// shared VPC's group of another account, one deleted): the guard reads the
/// group itself, and one it cannot see is unknown, named, never "none".
#[tokio::test]
async fn a_group_the_account_cannot_see_is_unknown_and_one_without_ingress_is_none() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let deps = deps(&emu, &sink);
    let td_arn = register_privileged_task(&emu, &unique("web"), "postgres://localhost/app").await;
    let subnet = a_default_subnet(&emu).await;
    let closed = emu.group(&[]).await;
    let event_with = |group: &str| {
        let network = json!({"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}});
        envelope(
            "ecs",
            "CreateService",
            json!({"cluster": "prod", "serviceName": "web", "taskDefinition": td_arn, "desiredCount": 1,
                   "launchType": "FARGATE", "networkConfiguration": network}),
            json!({"service": {"serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
                   "serviceName": "web", "taskDefinition": td_arn, "networkConfiguration": network,
                   "enableExecuteCommand": false, "desiredCount": 1}}),
        )
    };

    // Not in this account: the rule list is empty, the group is unknown.
    let unseen = "sg-0a1b2c3d4e5f60718";
    let rules = emu
        .ec2
        .describe_security_group_rules()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(unseen)
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroupRules");
    assert!(
        rules.security_group_rules().is_empty(),
        "the emulator answers as AWS does: an empty list"
    );
    handle(
        LambdaEvent::new(event_with(unseen), access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1, "alerted");
    let doc = &alerts[0].doc;
    let unknown = doc["could_not_evaluate"].as_str().unwrap_or_default();
    assert!(
        unknown.contains(&format!(
            "security group {unseen}: could not be read (not found in account"
        )),
        "{doc}"
    );
    let reach = doc["reachability"].as_str().unwrap_or_default();
    assert!(
        reach.contains(&format!(
            "internet-open groups: unknown for {unseen} (could not be read"
        )),
        "{reach}"
    );
    assert!(sink.texts().concat().contains(unseen));

    // A group of the account without ingress: read, and none.
    handle(
        LambdaEvent::new(event_with(&closed), access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1, "the privileged task definition alerts");
    let doc = &alerts[0].doc;
    assert!(doc.get("could_not_evaluate").is_none(), "{doc}");
    let reach = doc["reachability"].as_str().unwrap_or_default();
    assert!(reach.contains("internet-open groups: none;"), "{reach}");
}
