//! End to end: the task-definition-guard handler against moto server. The
//! definition is registered in moto, the handler runs on the matching
//! CloudTrail event, and the alert is read back from an SQS subscriber.

use access_guard::config::FunctionConfig;
use access_guard::lambda::task_definition_guard::{handle, Deps};
use access_guard_e2e::{envelope, register_privileged_task, AlertSink, Emulator, ACCOUNT};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{json, Value};

/// Assembled at run time so that no secret-shaped literal sits in the source.
fn secret_value() -> String {
    format!(
        "postgres://orders:{}@orders-db.internal:5432/orders",
        "Tr0ub4dor-and-3"
    )
}

fn request(family: &str) -> Value {
    json!({"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "essential": true, "memory": 512, "privileged": true,
            "user": "1000", "readonlyRootFilesystem": true,
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/app"}},
            "environment": [{"name": "DATABASE_URL", "value": secret_value()}]}]})
}

async fn register(emu: &Emulator, family: &str) -> String {
    register_privileged_task(emu, family, &secret_value()).await
}

fn deps(emu: &Emulator, sink: &AlertSink) -> Deps {
    let topic = sink.topic_arn.clone();
    let config = FunctionConfig::from_lookup(move |name| {
        (name == "ACCESS_GUARD_TOPIC_ARN").then(|| topic.clone())
    })
    .expect("config");
    Deps::new(&emu.sdk, config)
}

async fn invoke(deps: &Deps, event: &Value) -> Result<Value, Diagnostic> {
    handle(
        LambdaEvent::new(event.clone(), access_guard_e2e::context()),
        deps,
    )
    .await
    .map_err(Diagnostic::from)
}

fn rules_of(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["rule"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_privileged_definition_alerts_without_repeating_its_secret() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let family = access_guard_e2e::unique("orders");
    let arn = register(&emu, &family).await;
    let event = envelope(
        "ecs",
        "RegisterTaskDefinition",
        request(&family),
        json!({"taskDefinition": {"taskDefinitionArn": arn, "family": family, "revision": 1, "status": "ACTIVE"}}),
    );

    invoke(&deps(&emu, &sink), &event).await.expect("handler");

    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    let rules = rules_of(&alerts[0].doc);
    assert_eq!(rules.first().map(String::as_str), Some("ECS-TD-001"));
    assert!(rules.contains(&"ECS-TD-008".to_string()), "{rules:?}");
    assert!(
        alerts[0]
            .subject
            .starts_with("[ALERT] [CRITICAL] Privileged container"),
        "{}",
        alerts[0].subject
    );
    assert!(
        alerts[0]
            .subject
            .contains(&format!("{family}:1 ({ACCOUNT} us-east-1)")),
        "{}",
        alerts[0].subject
    );
    assert_eq!(alerts[0].attribute("severity").as_deref(), Some("critical"));
    let text = sink.texts().concat();
    assert!(text.contains("ECS-TD-001") && text.contains("DATABASE_URL"));
    let secret = secret_value();
    assert!(
        !alerts[0].doc.to_string().contains(&secret) && !text.contains(&secret),
        "secret leaked"
    );
    assert!(!text.contains("Tr0ub4dor"), "password leaked");
}

#[tokio::test]
async fn an_omitted_definition_is_read_from_ecs_and_still_reported() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let family = access_guard_e2e::unique("huge");
    let arn = register(&emu, &family).await;
    // CloudTrail dropped the oversized request; the response keeps the ARN only.
    let event = envelope(
        "ecs",
        "RegisterTaskDefinition",
        json!({"omitted": true, "originalSize": 312345}),
        json!({"taskDefinition": {"taskDefinitionArn": arn}}),
    );

    invoke(&deps(&emu, &sink), &event).await.expect("handler");

    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert!(rules_of(&alerts[0].doc).contains(&"ECS-TD-001".to_string()));
    assert_eq!(alerts[0].doc["resource"], format!("{family}:1"));
}

/// ECS-TD-021: a task role whose inline policy allows `*` on `*`, created in
/// moto. The handler reads the role's policies from moto (GetRole,
/// ListRolePolicies, GetRolePolicy) and reports it; a narrow role is not.
#[tokio::test]
async fn a_task_role_with_star_on_star_is_read_from_iam_and_reported() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let iam = aws_sdk_iam::Client::new(&emu.sdk);
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let role_with = |document: Value| {
        let iam = iam.clone();
        let trust = trust.to_string();
        async move {
            let name = access_guard_e2e::unique("task-role");
            let role = iam
                .create_role()
                .role_name(&name)
                .assume_role_policy_document(trust)
                .send()
                .await
                .expect("CreateRole");
            iam.put_role_policy()
                .role_name(&name)
                .policy_name("app")
                .policy_document(document.to_string())
                .send()
                .await
                .expect("PutRolePolicy");
            role.role().map(|r| r.arn().to_string()).expect("role arn")
        }
    };
    let admin = role_with(json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    .await;
    let narrow = role_with(json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::orders/*"}]}))
    .await;
    let deps = deps(&emu, &sink);
    let event_with = |role: &str| {
        let mut request = request(&access_guard_e2e::unique("orders"));
        request["taskRoleArn"] = json!(role);
        envelope("ecs", "RegisterTaskDefinition", request, Value::Null)
    };

    let verdict = invoke(&deps, &event_with(&admin)).await.expect("handler");
    let finding = verdict["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "ECS-TD-021")
        .unwrap_or_else(|| panic!("ECS-TD-021 missing: {verdict}"));
    let detail = finding["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with(&format!("task role {admin}: inline policy app")),
        "{detail}"
    );
    let alerts = sink.alerts(&emu).await;
    assert!(alerts
        .iter()
        .any(|a| rules_of(&a.doc).contains(&"ECS-TD-021".to_string())));

    let verdict = invoke(&deps, &event_with(&narrow)).await.expect("handler");
    assert!(
        !rules_of(&verdict).contains(&"ECS-TD-021".to_string()),
        "{verdict}"
    );
}
