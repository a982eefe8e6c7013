//! Fault injection: the guards behind a proxy that throttles, fails, drops or
//! stalls chosen calls on their way to moto server. Each scenario reads the
//! outcome back from the emulator.

use std::time::{Duration, Instant};

use access_guard::config::FunctionConfig;
use access_guard_e2e::faults::{Fault, FaultProxy, FaultRule};
use access_guard_e2e::{
    authorize_event, endpoint, register_privileged_task, sdk_config, state_items, state_table,
    unique, AlertSink, Emulator, ACCOUNT, REGION,
};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{json, Value};

fn config(topic_arn: &str) -> FunctionConfig {
    config_with_table(topic_arn, None)
}

fn config_with_table(topic_arn: &str, table: Option<String>) -> FunctionConfig {
    let topic = topic_arn.to_string();
    FunctionConfig::from_lookup(move |name| {
        match name {
            "ACCESS_GUARD_TOPIC_ARN" => Some(topic.clone()),
            "ACCESS_GUARD_STATE_TABLE" => table.clone(),
            // The embedded policy is dry-run; these scenarios revoke.
            "ACCESS_GUARD_DRY_RUN" => Some("false".to_string()),
            _ => None,
        }
    })
    .expect("config")
}

async fn ingress(
    deps: &access_guard::lambda::ingress_guard::Deps,
    event: &Value,
) -> Result<Value, Diagnostic> {
    access_guard::lambda::ingress_guard::handle(
        LambdaEvent::new(event.clone(), access_guard_e2e::context()),
        deps,
    )
    .await
    .map_err(Diagnostic::from)
}

fn ports(rules: &[(u16, String)]) -> Vec<u16> {
    let mut p: Vec<u16> = rules.iter().map(|(port, _)| *port).collect();
    p.sort_unstable();
    p
}

fn results(doc: &Value) -> Vec<String> {
    doc["outcomes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| o["result"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_revoke_throttled_then_reset_then_accepted_is_revoked_once_and_alerted_once() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22, 443]).await;
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![
            FaultRule {
                operation: "RevokeSecurityGroupIngress",
                calls: 1..=1,
                fault: Fault::Error {
                    code: "RequestLimitExceeded",
                    status: 503,
                },
            },
            FaultRule {
                operation: "RevokeSecurityGroupIngress",
                calls: 2..=2,
                fault: Fault::Reset,
            },
        ],
    );
    let deps = access_guard::lambda::ingress_guard::Deps::new(
        &sdk_config(&proxy.url, 3).await,
        config(&sink.topic_arn),
    );

    ingress(&deps, &authorize_event(&group, &rules))
        .await
        .expect("the third attempt succeeds");

    assert_eq!(proxy.calls("RevokeSecurityGroupIngress"), 3);
    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![443]);
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(results(&alerts[0].doc), ["revoked"]);
}

#[tokio::test]
async fn sns_down_after_a_revoke_fails_the_invocation_and_the_retry_alerts_once() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22, 443]).await;
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![FaultRule {
            operation: "Publish",
            calls: 1..=3,
            fault: Fault::Error {
                code: "InternalError",
                status: 500,
            },
        }],
    );
    let table = state_table(&emu).await;
    let deps = access_guard::lambda::ingress_guard::Deps::new(
        &sdk_config(&proxy.url, 3).await,
        config_with_table(&sink.topic_arn, Some(table.clone())),
    );
    let event = authorize_event(&group, &rules);

    let err = ingress(&deps, &event)
        .await
        .expect_err("no alert sent: Lambda must retry");
    assert_eq!(err.error_type, "AccessGuard.AwsRetryable");
    assert_eq!(
        ports(&emu.ingress_rules(&group).await),
        vec![443],
        "the revoke itself went through"
    );
    assert!(sink.alerts(&emu).await.is_empty());

    // The first attempt recorded its revocation in the state table.
    let ssh_rule = &rules[0].1;
    let event_id = event["detail"]["eventID"].as_str().expect("event id");
    let items = state_items(&emu, &table, &format!("{ACCOUNT}/{REGION}")).await;
    assert!(
        items.iter().any(
            |i| i["fingerprint"] == format!("revoked#{event_id}#{ssh_rule}")
                && i["group_id"] == group.as_str()
        ),
        "{items:?}"
    );

    // Lambda's retry: it reads the rule back, finds it gone, revokes nothing,
    // and reports what the first attempt did (DESIGN §7.10), in one alert.
    ingress(&deps, &event).await.expect("the retry succeeds");
    assert_eq!(proxy.calls("RevokeSecurityGroupIngress"), 1);
    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![443]);
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(results(&alerts[0].doc), ["revoked"]);
    assert_eq!(alerts[0].doc["outcomes"][0]["earlier_attempt"], true);
    assert!(
        sink.texts()
            .iter()
            .any(|t| t.contains("revoked (earlier attempt)")),
        "{:?}",
        sink.texts()
    );

    // Without the table (a deployment that has none), the same retry can
    // only say the rule is gone.
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22]).await;
    let untracked = access_guard::lambda::ingress_guard::Deps::new(
        &sdk_config(&proxy.url, 3).await,
        config(&sink.topic_arn),
    );
    let event = authorize_event(&group, &rules);
    ingress(&untracked, &event).await.expect("first attempt");
    ingress(&untracked, &event).await.expect("retry");
    let alerts = sink.alerts(&emu).await;
    let mut last: Vec<String> = alerts.iter().flat_map(|a| results(&a.doc)).collect();
    last.sort_unstable();
    assert_eq!(last, ["already_absent", "revoked"]);
}

#[tokio::test]
async fn a_revoke_whose_success_was_never_recorded_is_reported_revoked_with_its_undo_on_the_retry()
{
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22, 443]).await;
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![
            // The intent goes in (PutItem 1); the record of success does not.
            FaultRule {
                operation: "PutItem",
                calls: 2..=2,
                fault: Fault::Error {
                    code: "AccessDeniedException",
                    status: 400,
                },
            },
            // And the invocation fails after the revoke: no alert.
            FaultRule {
                operation: "Publish",
                calls: 1..=3,
                fault: Fault::Error {
                    code: "InternalError",
                    status: 500,
                },
            },
        ],
    );
    let table = state_table(&emu).await;
    let deps = access_guard::lambda::ingress_guard::Deps::new(
        &sdk_config(&proxy.url, 3).await,
        config_with_table(&sink.topic_arn, Some(table.clone())),
    );
    let event = authorize_event(&group, &rules);

    ingress(&deps, &event)
        .await
        .expect_err("no alert sent: Lambda must retry");
    assert_eq!(
        ports(&emu.ingress_rules(&group).await),
        vec![443],
        "revoked"
    );
    // The table holds the intent, written before the call, with the undo.
    let ssh_rule = &rules[0].1;
    let event_id = event["detail"]["eventID"].as_str().expect("event id");
    let items = state_items(&emu, &table, &format!("{ACCOUNT}/{REGION}")).await;
    let attempt = items
        .iter()
        .find(|i| i["fingerprint"] == format!("revoked#{event_id}#{ssh_rule}"))
        .unwrap_or_else(|| panic!("no attempt recorded: {items:?}"));
    assert_eq!(attempt["state"], "intended", "{attempt}");
    let undo = attempt["restore"].as_str().expect("the undo command");
    assert!(undo.contains(&format!("--group-id {group}")), "{undo}");

    // Lambda's retry: the rule is gone, and the intent says it was this event's doing.
    ingress(&deps, &event).await.expect("the retry succeeds");
    assert_eq!(proxy.calls("RevokeSecurityGroupIngress"), 1);
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(results(&alerts[0].doc), ["revoked"]);
    assert_eq!(alerts[0].doc["outcomes"][0]["earlier_attempt"], true);
    assert_eq!(alerts[0].doc["outcomes"][0]["restore"], undo);
}

/// Twenty high-risk ports (EC2-SG-005, action revoke) opened in one call.
const TWENTY: [u16; 20] = [
    20, 21, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 4333, 5000, 5432, 5500, 5601, 8080,
    8088, 8888,
];

#[tokio::test]
async fn twenty_rules_go_in_one_revoke_and_one_by_one_when_ec2_rejects_it_within_the_timeout() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    for (fault, expected_calls) in [
        // Throttled twice, then accepted: one call's worth of work.
        (
            Fault::Error {
                code: "RequestLimitExceeded",
                status: 503,
            },
            3,
        ),
        // Rejected (not retryable): one call per rule.
        (
            Fault::Error {
                code: "InvalidParameterValue",
                status: 400,
            },
            21,
        ),
    ] {
        let group = emu.group(&[]).await;
        let rules = emu.open_to_world(&group, &TWENTY).await;
        let calls = if expected_calls == 3 { 1..=2 } else { 1..=1 };
        let proxy = FaultProxy::start(
            &endpoint(),
            vec![FaultRule {
                operation: "RevokeSecurityGroupIngress",
                calls,
                fault,
            }],
        );
        let deps = access_guard::lambda::ingress_guard::Deps::new(
            &sdk_config(&proxy.url, 3).await,
            config(&sink.topic_arn),
        );

        let started = Instant::now();
        ingress(&deps, &authorize_event(&group, &rules))
            .await
            .expect("handler");
        let took = started.elapsed();
        eprintln!("twenty rules, {expected_calls} revoke calls: {took:?}");

        assert!(
            took < Duration::from_secs(30),
            "{took:?}: past the function timeout"
        );
        assert_eq!(proxy.calls("RevokeSecurityGroupIngress"), expected_calls);
        assert!(
            emu.ingress_rules(&group).await.is_empty(),
            "all twenty revoked"
        );
        let alerts = sink.alerts(&emu).await;
        assert_eq!(alerts.len(), 1);
        assert_eq!(results(&alerts[0].doc), vec!["revoked"; 20]);
    }
}

#[tokio::test]
async fn a_rejected_batch_whose_single_revokes_are_throttled_fails_fast_and_the_retry_finishes() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &TWENTY).await;
    let event = authorize_event(&group, &rules);
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![
            FaultRule {
                operation: "RevokeSecurityGroupIngress",
                calls: 1..=1,
                fault: Fault::Error {
                    code: "InvalidParameterValue",
                    status: 400,
                },
            },
            FaultRule {
                operation: "RevokeSecurityGroupIngress",
                calls: 2..=99,
                fault: Fault::Error {
                    code: "RequestLimitExceeded",
                    status: 503,
                },
            },
        ],
    );
    let deps = access_guard::lambda::ingress_guard::Deps::new(
        &sdk_config(&proxy.url, 3).await,
        config(&sink.topic_arn),
    );

    let started = Instant::now();
    let err = ingress(&deps, &event).await.expect_err("Lambda must retry");
    let took = started.elapsed();
    eprintln!("rejected batch, throttled singles: failed after {took:?}");

    assert!(took < Duration::from_secs(30), "{took:?}");
    assert_eq!(err.error_type, "AccessGuard.AwsRetryable");
    assert_eq!(
        proxy.calls("RevokeSecurityGroupIngress"),
        4,
        "the batch, then the first single call's three attempts"
    );
    assert_eq!(
        emu.ingress_rules(&group).await.len(),
        20,
        "nothing half done"
    );
    assert!(sink.alerts(&emu).await.is_empty());

    // Lambda's retry, with EC2 answering again: all twenty, in one call.
    let deps = access_guard::lambda::ingress_guard::Deps::new(&emu.sdk, config(&sink.topic_arn));
    ingress(&deps, &event).await.expect("the retry");
    assert!(emu.ingress_rules(&group).await.is_empty());
    let alerts = sink.alerts(&emu).await;
    assert_eq!(results(&alerts[0].doc), vec!["revoked"; 20]);
}

#[tokio::test]
async fn denied_describe_calls_are_named_in_the_alert() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![
            FaultRule {
                operation: "DescribeTaskDefinition",
                calls: 1..=9,
                fault: Fault::Error {
                    code: "AccessDeniedException",
                    status: 400,
                },
            },
            FaultRule {
                operation: "DescribeSecurityGroups",
                calls: 1..=9,
                fault: Fault::Error {
                    code: "UnauthorizedOperation",
                    status: 403,
                },
            },
        ],
    );
    let sdk = sdk_config(&proxy.url, 3).await;

    // The service guard cannot read the task definition: it says so and still alerts.
    let family = unique("web");
    let td_arn = register_privileged_task(&emu, &family, "postgres://localhost/app").await;
    let network = json!({"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": [], "assignPublicIp": "ENABLED"}});
    let create = access_guard_e2e::envelope(
        "ecs",
        "CreateService",
        json!({"serviceName": unique("svc"), "taskDefinition": td_arn, "networkConfiguration": network}),
        json!(null),
    );
    let svc = access_guard::lambda::service_guard::Deps::new(&sdk, config(&sink.topic_arn));
    access_guard::lambda::service_guard::handle(
        LambdaEvent::new(create, access_guard_e2e::context()),
        &svc,
    )
    .await
    .expect("handler");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    let unread = alerts[0].doc["could_not_evaluate"].to_string();
    assert!(
        unread.contains(&format!(
            "could not check task definition {td_arn}: AccessDeniedException"
        )),
        "{unread}"
    );
    assert!(sink.texts().concat().contains("AccessDeniedException"));

    // The ingress guard cannot read the group's tags: it revokes nothing (it cannot rule out an exemption) and says why.
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22]).await;
    let deps = access_guard::lambda::ingress_guard::Deps::new(&sdk, config(&sink.topic_arn));
    ingress(&deps, &authorize_event(&group, &rules))
        .await
        .expect("handler");
    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![22]);
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts[0].doc["outcomes"][0]["result"], "failed");
    assert_eq!(
        alerts[0].doc["outcomes"][0]["error_code"],
        "UnauthorizedOperation"
    );
    assert!(alerts[0].doc["notes"]
        .to_string()
        .contains("could not read the group's tags: UnauthorizedOperation"));
}

#[tokio::test]
async fn an_unreachable_or_silent_endpoint_fails_fast_with_a_clear_error() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22]).await;
    let event = authorize_event(&group, &rules);

    // Nothing listens: connection refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    // Accepts and never answers: only the guard's timeouts end it.
    let silent = FaultProxy::start(
        &endpoint(),
        vec![FaultRule {
            operation: "DescribeSecurityGroupRules",
            calls: 1..=99,
            fault: Fault::Hang,
        }],
    );
    let older = access_guard_e2e::older_authorize_event(&group, &rules);
    for (endpoint, event) in [(closed, &event), (silent.url.clone(), &older)] {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new(access_guard_e2e::REGION))
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .timeout_config(access_guard::aws::guard_timeouts())
            .load()
            .await;
        let deps = access_guard::lambda::ingress_guard::Deps::new(&sdk, config(&sink.topic_arn));
        let started = Instant::now();
        let err = ingress(&deps, event).await.expect_err("no AWS, no success");
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(30),
            "{endpoint}: {took:?} is past the function timeout"
        );
        assert_eq!(
            err.error_type, "AccessGuard.AwsRetryable",
            "{}",
            err.error_message
        );
        assert!(
            err.error_message.contains("failed"),
            "{}",
            err.error_message
        );
    }
    assert_eq!(
        ports(&emu.ingress_rules(&group).await),
        vec![22],
        "nothing revoked on a guess"
    );
}
