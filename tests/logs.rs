//! Secrets never reach the logs, at any level: the functions' own log setup
//! (`access_guard::lambda::init_tracing_to`, as each `main` calls it) at TRACE,
//! around the real Lambda runtime loop fed by a Runtime API emulator, on an
//! event whose environment holds an access key, a secret key and a password.
//! One test in this binary: it installs the process-wide subscriber.

use std::sync::Arc;
use std::time::Duration;

use access_guard::config::FunctionConfig;
use access_guard_e2e::runtime::RuntimeApi;
use access_guard_e2e::CapturedLogs;
use access_guard_e2e::{envelope, unique, AlertSink, Emulator};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_level_prints_the_secrets_an_event_carries() {
    // The most verbose settings an operator can choose.
    std::env::set_var("AWS_LAMBDA_LOG_LEVEL", "TRACE");
    std::env::set_var("RUST_LOG", "trace");
    std::env::set_var("AWS_LAMBDA_LOG_FORMAT", "JSON");
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    access_guard::lambda::init_tracing_to(move || writer.clone()).expect("the only subscriber");

    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let api = Arc::new(RuntimeApi::start().expect("runtime api"));
    std::env::set_var("AWS_LAMBDA_RUNTIME_API", api.address());
    std::env::set_var("AWS_LAMBDA_FUNCTION_NAME", "task-definition-guard");
    std::env::set_var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128");
    std::env::set_var("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    let topic = sink.topic_arn.clone();
    let config = FunctionConfig::from_lookup(move |name| {
        (name == "ACCESS_GUARD_TOPIC_ARN").then(|| topic.clone())
    })
    .expect("config");
    let deps: &'static _ = Box::leak(Box::new(
        access_guard::lambda::task_definition_guard::Deps::new(&emu.sdk, config),
    ));

    let access_key = format!("AKIA{}", "Q7RZ2M4XWJ3K8PLN");
    let secret_key = "kT9vR2mX7qL4wZ8nB3cF6hJ1pD5sG0aY2eU8iO4r".to_string();
    let password = unique("Hunter2pw").replace('-', "x");
    let marker = unique("body-marker");
    let family = unique("leaky");
    let request = json!({"family": family, "containerDefinitions": [{"name": "app", "image": "nginx:1.27",
        "environment": [
            {"name": "AWS_ACCESS_KEY_ID", "value": access_key},
            {"name": "AWS_SECRET_ACCESS_KEY", "value": secret_key},
            {"name": "DATABASE_URL", "value": format!("postgres://app:{password}@db.internal/app")},
            {"name": "BUILD", "value": marker}]}]});
    let event = envelope(
        "ecs",
        "RegisterTaskDefinition",
        request.clone(),
        json!({"taskDefinition": request}),
    );
    let id = api.push(event.to_string().into_bytes());

    let runtime = lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        access_guard::lambda::task_definition_guard::handle(event, deps)
    }));
    let waiter = api.clone();
    let answer = tokio::select! {
        ended = runtime => panic!("the runtime loop ended: {ended:?}"),
        answer = tokio::task::spawn_blocking(move || waiter.answer(&id, Duration::from_secs(30))) => answer,
    }
    .expect("waiter")
    .expect("the function answered");
    assert!(!answer.error, "{}", String::from_utf8_lossy(&answer.body));

    let text = logs.text();
    assert!(
        text.contains("ECS-TD-007") && text.contains("notified"),
        "the guard's own logs are captured:\n{text}"
    );
    assert_eq!(sink.alerts(&emu).await.len(), 1, "the alert went out");
    for (what, secret) in [
        ("the access key", access_key.as_str()),
        ("the secret key", secret_key.as_str()),
        ("the password", password.as_str()),
        ("the event body", marker.as_str()),
    ] {
        assert!(!text.contains(secret), "{what} reached the logs");
    }
}
