//! The optional sinks end to end (DESIGN §13), against moto server: the
//! guards run with Security Hub and the Chatbot topic switched on, then the
//! findings are read back with `GetFindings` and the chat message from an
//! SQS queue subscribed to the Chatbot topic.
//!
//! moto 5.2.5's Security Hub imports (`BatchImportFindings`, a re-import of
//! an Id updating it in place) and reads (`GetFindings`, filters ignored: the
//! tests pick their own findings), but has no `BatchUpdateFindings` (HTTP
//! 404): that the resolve is attempted is read from the function's log, where
//! the failure is named with the event id; the unit tests of
//! `guards::sinks` check the call itself with a fake, and that a failing
//! sink never stops the SNS alert.

use access_guard::config::{FunctionConfig, CHATBOT_TOPIC_VAR, SECURITY_HUB_VAR};
use access_guard::output::asff::Product;
use access_guard_e2e::{
    authorize_event, envelope, register_privileged_task, AlertSink, CapturedLogs, Emulator,
    ACCOUNT, REGION,
};
use aws_sdk_securityhub::types::AwsSecurityFinding;
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

/// The function's configuration with both sinks on.
fn config(topic_arn: &str, chatbot_topic_arn: &str) -> FunctionConfig {
    let (topic, chat) = (topic_arn.to_string(), chatbot_topic_arn.to_string());
    let product = Product::default_of("aws", REGION, ACCOUNT).arn;
    FunctionConfig::from_lookup(move |name| match name {
        "ACCESS_GUARD_TOPIC_ARN" => Some(topic.clone()),
        "ACCESS_GUARD_POLICY" => Some("dry_run = false".to_string()),
        n if n == SECURITY_HUB_VAR => Some(product.clone()),
        n if n == CHATBOT_TOPIC_VAR => Some(chat.clone()),
        _ => None,
    })
    .expect("config")
}

/// Every finding moto's Security Hub holds for the account (all pages).
/// Read on a thread of its own with 64 MB of stack, with clients of its own:
/// the SDK's deserializer of ASFF resource details (hundreds of optional
/// types in one function) takes more than a test thread's 2 MB in a debug
/// build. (The functions only import and update: their responses are small.)
fn findings() -> Vec<AwsSecurityFinding> {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(read_findings())
        })
        .expect("thread")
        .join()
        .expect("GetFindings")
}

async fn read_findings() -> Vec<AwsSecurityFinding> {
    let sdk = access_guard_e2e::sdk_config(&access_guard_e2e::endpoint(), 2).await;
    let hub = aws_sdk_securityhub::Client::new(&sdk);
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = hub
            .get_findings()
            .set_next_token(token.take())
            .max_results(100)
            .send()
            .await
            .expect("GetFindings");
        all.extend(out.findings().iter().cloned());
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return all,
        }
    }
}

/// The findings about one resource (by its ARN).
fn about<'a>(all: &'a [AwsSecurityFinding], resource_arn: &str) -> Vec<&'a AwsSecurityFinding> {
    all.iter()
        .filter(|f| f.resources().iter().any(|r| r.id() == Some(resource_arn)))
        .collect()
}

/// Every message on a queue subscribed to the Chatbot topic, unwrapped
/// from its SNS envelope (waits up to a second for the first).
async fn chat_messages(emu: &Emulator, queue_url: &str) -> Vec<String> {
    let mut messages = Vec::new();
    loop {
        let out = emu
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("ReceiveMessage");
        if out.messages().is_empty() {
            return messages;
        }
        for m in out.messages() {
            let body: Value = serde_json::from_str(m.body().unwrap_or_default()).expect("JSON");
            // An SNS envelope (raw delivery off) carries the message as a string.
            let message = match body["Message"].as_str() {
                Some(inner) => inner.to_string(),
                None => body.to_string(),
            };
            messages.push(message);
            if let Some(handle) = m.receipt_handle() {
                let _ = emu
                    .sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
    }
}

/// Checks a message against Chatbot's custom notification schema
/// (`chatbot::schema_problems`: the required fields and the types of the
/// optional ones).
fn assert_chatbot_schema(message: &str) -> Value {
    let doc: Value = serde_json::from_str(message).expect("the message is JSON");
    assert_eq!(
        access_guard::output::chatbot::schema_problems(&doc),
        Vec::<String>::new(),
        "{message}"
    );
    doc
}

#[tokio::test]
async fn a_revoked_ssh_rule_is_one_resolved_finding_and_each_alert_reaches_chat() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let (chat_topic, chat_queue) = emu.topic_to_queue("chatbot").await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22, 443]).await;
    let event = authorize_event(&group, &rules);
    let event_id = event["detail"]["eventID"].as_str().unwrap().to_string();
    let deps = access_guard::lambda::ingress_guard::Deps::new(
        &emu.sdk,
        config(&sink.topic_arn, &chat_topic),
    );
    let captured = CapturedLogs::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .finish();
    let _logs = tracing::subscriber::set_default(subscriber);

    // The event, then the same event again (a Lambda retry).
    for _ in 0..2 {
        access_guard::lambda::ingress_guard::handle(
            LambdaEvent::new(event.clone(), access_guard_e2e::context()),
            &deps,
        )
        .await
        .expect("a sink never fails the invocation");
    }

    assert_eq!(
        emu.ingress_rules(&group).await.len(),
        1,
        "22 revoked, 443 kept"
    );
    assert_eq!(sink.alerts(&emu).await.len(), 2, "the SNS alerts went out");

    let all = findings();
    let group_arn = format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group}");
    let ours = about(&all, &group_arn);
    assert_eq!(
        ours.len(),
        1,
        "one finding per fingerprint, updated by the retry: {ours:#?}"
    );
    let f = ours[0];
    assert_eq!(f.schema_version(), Some("2018-10-08"));
    assert_eq!(f.generator_id(), Some("EC2-SG-003"));
    assert_eq!(
        f.product_arn(),
        Some(format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default").as_str())
    );
    assert_eq!(f.aws_account_id(), Some(ACCOUNT));
    assert!(f.id().is_some_and(
        |id| id.starts_with(&format!("ecs-access-guard/{ACCOUNT}/{REGION}/EC2-SG-003/"))
    ));
    assert_eq!(
        f.severity().and_then(|s| s.label()).map(|l| l.as_str()),
        Some("CRITICAL")
    );
    assert_eq!(
        f.types(),
        ["Software and Configuration Checks/AWS Security Best Practices"]
    );
    assert!(f.title().is_some_and(|t| t.contains("SSH")));
    assert!(f.description().is_some_and(|d| d.contains(&rules[0].1)));
    assert_eq!(f.resources()[0].r#type(), Some("AwsEc2SecurityGroup"));
    // Revoked: passed and archived by the import.
    assert_eq!(
        f.compliance().and_then(|c| c.status()).map(|s| s.as_str()),
        Some("PASSED")
    );
    assert_eq!(f.record_state().map(|s| s.as_str()), Some("ARCHIVED"));
    assert!(
        f.updated_at() >= f.created_at(),
        "{:?} < {:?}",
        f.updated_at(),
        f.created_at()
    );

    // Then resolved with BatchUpdateFindings, which moto does not have: the
    // attempt fails there, and the log names it with the event id.
    let logs = captured.text();
    let attempts: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("sink failed") && l.contains("BatchUpdateFindings"))
        .collect();
    assert_eq!(attempts.len(), 2, "one attempt per invocation:\n{logs}");
    assert!(attempts
        .iter()
        .all(|l| l.contains(&event_id) && l.contains("error_code")));

    let messages = chat_messages(&emu, &chat_queue).await;
    assert_eq!(messages.len(), 2, "one chat message per SNS alert");
    for message in &messages {
        let doc = assert_chatbot_schema(message);
        let description = doc["content"]["description"].as_str().unwrap();
        assert!(description.contains(&group) && description.contains("EC2-SG-003"));
        assert_eq!(doc["id"], event_id.as_str());
    }
    let first = assert_chatbot_schema(&messages[0]);
    assert!(first["content"]["description"]
        .as_str()
        .unwrap()
        .contains(&format!("{}: revoked", rules[0].1)));
}

#[tokio::test]
async fn a_task_definitions_findings_are_recorded_once_each_without_the_secret() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let (chat_topic, chat_queue) = emu.topic_to_queue("chatbot").await;
    let family = access_guard_e2e::unique("orders");
    // Assembled at run time so that no secret-shaped literal sits in the source.
    let secret = format!(
        "postgres://orders:{}@orders-db.internal:5432/orders",
        "Tr0ub4dor-and-3"
    );
    let arn = register_privileged_task(&emu, &family, &secret).await;
    let request = json!({"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "essential": true, "memory": 512, "privileged": true,
            "user": "1000", "readonlyRootFilesystem": true,
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/app"}},
            "environment": [{"name": "DATABASE_URL", "value": secret}]}]});
    let event = envelope(
        "ecs",
        "RegisterTaskDefinition",
        request,
        json!({"taskDefinition": {"taskDefinitionArn": arn, "family": family, "revision": 1, "status": "ACTIVE"}}),
    );
    let deps = access_guard::lambda::task_definition_guard::Deps::new(
        &emu.sdk,
        config(&sink.topic_arn, &chat_topic),
    );

    let mut reported = Vec::new();
    for _ in 0..2 {
        let verdict = access_guard::lambda::task_definition_guard::handle(
            LambdaEvent::new(event.clone(), access_guard_e2e::context()),
            &deps,
        )
        .await
        .expect("handler");
        reported = verdict["findings"].as_array().cloned().unwrap_or_default();
    }
    assert!(reported.len() >= 2, "{reported:#?}");

    let all = findings();
    let ours = about(
        &all,
        &format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:1"),
    );
    let ids: std::collections::BTreeSet<&str> = ours.iter().filter_map(|f| f.id()).collect();
    assert_eq!(ids.len(), ours.len(), "no Id twice");
    assert_eq!(
        ours.len(),
        reported.len(),
        "one Security Hub finding per finding, after two invocations"
    );
    let generators: std::collections::BTreeSet<&str> =
        ours.iter().filter_map(|f| f.generator_id()).collect();
    assert!(generators.contains("ECS-TD-001") && generators.contains("ECS-TD-008"));
    for f in &ours {
        assert_eq!(f.record_state().map(|s| s.as_str()), Some("ACTIVE"));
        assert_eq!(
            f.compliance().and_then(|c| c.status()).map(|s| s.as_str()),
            Some("FAILED")
        );
        assert_eq!(f.resources()[0].r#type(), Some("AwsEcsTaskDefinition"));
    }
    let stored = format!("{ours:?}");
    assert!(
        !stored.contains(&secret) && !stored.contains("Tr0ub4dor"),
        "secret leaked"
    );

    let messages = chat_messages(&emu, &chat_queue).await;
    assert_eq!(messages.len(), 2);
    for message in &messages {
        let doc = assert_chatbot_schema(message);
        assert!(doc["content"]["description"]
            .as_str()
            .unwrap()
            .contains("ECS-TD-001"));
        assert!(!message.contains("Tr0ub4dor"), "secret leaked to chat");
    }
}
