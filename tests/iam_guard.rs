//! End to end: the iam-guard handler against moto server (started with
//! `MOTO_IAM_LOAD_MANAGED_POLICIES=true`, so that the AWS-managed policies
//! exist). A role trusted by `ecs-tasks.amazonaws.com` gets
//! `AdministratorAccess` attached in moto: the alert, read back from an SQS
//! queue subscribed to the topic, carries IAM-ECS-001 naming the role and the
//! policy. The same policy on a role only EC2 assumes is no IAM-ECS-001: the
//! trust is read from moto, not guessed.

use access_guard::config::FunctionConfig;
use access_guard::lambda::iam_guard::{handle, Deps};
use access_guard_e2e::{envelope, unique, AlertSink, Emulator};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

fn deps(emu: &Emulator, sink: &AlertSink) -> Deps {
    let topic = sink.topic_arn.clone();
    let config = FunctionConfig::from_lookup(move |name| {
        (name == "ACCESS_GUARD_TOPIC_ARN").then(|| topic.clone())
    })
    .expect("config");
    Deps::new(&emu.sdk, config)
}

fn trusting(service: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})
    .to_string()
}

/// A role assumed by `service`, with AdministratorAccess attached in moto.
async fn admin_role(emu: &Emulator, iam: &aws_sdk_iam::Client, service: &str) -> String {
    let _ = emu;
    let role = unique("app");
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document(trusting(service))
        .send()
        .await
        .expect("CreateRole");
    iam.attach_role_policy()
        .role_name(&role)
        .policy_arn(ADMIN)
        .send()
        .await
        .expect("AttachRolePolicy (moto with MOTO_IAM_LOAD_MANAGED_POLICIES=true)");
    role
}

fn attach_event(role: &str) -> Value {
    envelope(
        "iam",
        "AttachRolePolicy",
        json!({"roleName": role, "policyArn": ADMIN}),
        Value::Null,
    )
}

fn rules(doc: &Value) -> Vec<(String, String)> {
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

#[tokio::test]
async fn administrator_access_on_a_role_ecs_tasks_assume_is_alerted_naming_both() {
    let emu = Emulator::connect().await;
    let iam = aws_sdk_iam::Client::new(&emu.sdk);
    let sink = AlertSink::new(&emu).await;
    let deps = deps(&emu, &sink);
    let role = admin_role(&emu, &iam, "ecs-tasks.amazonaws.com").await;

    handle(
        LambdaEvent::new(attach_event(&role), access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");

    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    let found = rules(&alerts[0].doc);
    let admin = found
        .iter()
        .find(|(rule, _)| rule == "IAM-ECS-001")
        .unwrap_or_else(|| panic!("IAM-ECS-001 missing: {found:?}"));
    assert!(
        admin.1.contains(&role) && admin.1.contains("AdministratorAccess"),
        "{admin:?}"
    );
    assert_eq!(alerts[0].attribute("severity").as_deref(), Some("high"));

    // The same policy on a role only EC2 assumes: the trust read from moto
    // says ECS tasks do not assume it.
    let ec2_role = admin_role(&emu, &iam, "ec2.amazonaws.com").await;
    let verdict = handle(
        LambdaEvent::new(attach_event(&ec2_role), access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");
    let found = rules(&verdict);
    assert!(
        !found.iter().any(|(rule, _)| rule == "IAM-ECS-001"),
        "{found:?}"
    );
    assert!(
        verdict["notes"]
            .as_array()
            .is_none_or(|n| !n.iter().any(|n| n
                .as_str()
                .is_some_and(|n| n.contains("IAM-ECS-001 needs AWS")))),
        "the trust was read: nothing left unknown ({verdict})"
    );
}
