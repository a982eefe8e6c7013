//! The sweep end to end (DESIGN §12), against moto server: the function runs
//! in 123456789012 / us-east-1 and sweeps member accounts through the member
//! role (moto keeps each account's resources apart, so each test owns its
//! accounts). The work queue is a real SQS queue in the emulator; the test
//! plays Lambda's event source mapping (moto runs no mappings): it receives
//! the coordinator's work items and hands them to the handler as an SQS batch.
//! Alerts are read from an SQS subscription of the topic, the state from the
//! DynamoDB table.

use std::sync::atomic::{AtomicU32, Ordering};

use access_guard::config::FunctionConfig;
use access_guard_e2e::faults::{Fault, FaultProxy, FaultRule};
use access_guard_e2e::{endpoint, sdk_config, state_items, state_table, AlertSink, Emulator};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{json, Value};
use sweep::handler::{handle, Deps};

/// A 12-digit account id no other test (or run) uses.
fn account() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!(
        "3{:05}{:06}",
        std::process::id() % 100_000,
        (nanos / 1000 + n) % 1_000_000
    )
}

struct Setup {
    emu: Emulator,
    sink: AlertSink,
    table: String,
    queue_url: String,
}

impl Setup {
    async fn new() -> Setup {
        let emu = Emulator::connect().await;
        let sink = AlertSink::new(&emu).await;
        let table = state_table(&emu).await;
        let (queue_url, _) = emu.queue("sweep-work").await;
        Setup {
            emu,
            sink,
            table,
            queue_url,
        }
    }

    /// The sweep's configuration for `accounts` × `regions`.
    fn config(&self, accounts: &[&str], regions: &[&str]) -> FunctionConfig {
        let policy = format!(
            "[organization]\naccounts = {}\nregions = {}\n",
            serde_json::to_string(accounts).expect("accounts"),
            serde_json::to_string(regions).expect("regions"),
        );
        let (topic, table, queue) = (
            self.sink.topic_arn.clone(),
            self.table.clone(),
            self.queue_url.clone(),
        );
        FunctionConfig::from_lookup(move |name| match name {
            "ACCESS_GUARD_TOPIC_ARN" => Some(topic.clone()),
            "ACCESS_GUARD_POLICY" => Some(policy.clone()),
            "ACCESS_GUARD_STATE_TABLE" => Some(table.clone()),
            "ACCESS_GUARD_SWEEP_QUEUE_URL" => Some(queue.clone()),
            _ => None,
        })
        .expect("config")
    }

    /// The coordinator's work items, taken off the queue in the order given.
    async fn work_items(&self) -> Vec<Value> {
        let mut items = Vec::new();
        loop {
            let out = self
                .emu
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("ReceiveMessage");
            if out.messages().is_empty() {
                return items;
            }
            for m in out.messages() {
                items.push(json!({
                    "messageId": m.message_id().unwrap_or_default(),
                    "receiptHandle": m.receipt_handle().unwrap_or_default(),
                    "body": m.body().unwrap_or_default(),
                    "eventSource": "aws:sqs",
                    "awsRegion": "us-east-1",
                }));
                self.emu
                    .sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
    }

    /// One scheduled run: the coordinator enqueues, then the queue's items
    /// are handed to the worker in one batch. Returns the worker's answer.
    async fn sweep(&self, deps: &Deps) -> Value {
        let run = invoke(deps, json!({"sweep": "run"})).await.expect("run");
        let items = self.work_items().await;
        assert_eq!(run["enqueued"], items.len(), "{run}");
        invoke(deps, json!({"Records": items}))
            .await
            .expect("the worker answers with the items that failed")
    }
}

async fn invoke(deps: &Deps, payload: Value) -> Result<Value, Diagnostic> {
    handle(LambdaEvent::new(payload, access_guard_e2e::context()), deps)
        .await
        .map_err(Diagnostic::from)
}

fn findings_on<'a>(doc: &'a Value, resource: &str) -> Vec<&'a str> {
    doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["resource"] == resource)
        .filter_map(|f| f["rule"].as_str())
        .collect()
}

#[tokio::test]
async fn an_open_port_without_an_event_is_alerted_once_and_its_end_is_listed() {
    let s = Setup::new().await;
    let member = account();
    let m = s.emu.member(&member, "us-east-1").await;
    let group = m.group(&[]).await;
    let rules = m.open_to_world(&group, &[22]).await;
    let deps = Deps::new(&s.emu.sdk, s.config(&[&member], &["us-east-1"])).expect("deps");

    // First sweep: one alert, from the sweep, naming the group.
    let answer = s.sweep(&deps).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let alerts = s.sink.alerts(&s.emu).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let doc = &alerts[0].doc;
    assert_eq!(doc["event_name"], "Sweep");
    assert_eq!(doc["account"], member.as_str());
    assert_eq!(findings_on(doc, &group), ["EC2-SG-003"]);
    assert!(
        alerts[0].subject.starts_with("[CRITICAL] SSH"),
        "{}",
        alerts[0].subject
    );
    let place = format!("{member}/us-east-1");
    let open: Vec<Value> = state_items(&s.emu, &s.table, &place)
        .await
        .into_iter()
        .filter(|i| i["resource"] == group.as_str())
        .collect();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["rule"], "EC2-SG-003");
    assert_eq!(open[0]["status"], "open");
    let first_seen = open[0]["first_seen"].clone();

    // Second sweep: nothing new, nothing sent.
    s.sweep(&deps).await;
    assert!(
        s.sink.alerts(&s.emu).await.is_empty(),
        "unchanged: not re-alerted"
    );

    // The rule goes (no event either): the next message lists it as resolved.
    m.ec2
        .revoke_security_group_ingress()
        .group_id(&group)
        .security_group_rule_ids(&rules[0].1)
        .send()
        .await
        .expect("RevokeSecurityGroupIngress");
    s.sweep(&deps).await;
    let alerts = s.sink.alerts(&s.emu).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let resolved = &alerts[0].doc["resolved"];
    assert_eq!(resolved[0]["rule"], "EC2-SG-003", "{resolved}");
    assert_eq!(resolved[0]["resource"], group.as_str());
    assert_eq!(resolved[0]["first_seen"], first_seen);
    assert!(
        s.sink
            .texts()
            .iter()
            .any(|t| t.contains("Resolved since the last sweep (1)")),
        "{:?}",
        s.sink.texts()
    );
    let item = state_items(&s.emu, &s.table, &place)
        .await
        .into_iter()
        .find(|i| i["resource"] == group.as_str())
        .expect("kept");
    assert_eq!(item["status"], "resolved");

    // And once only.
    s.sweep(&deps).await;
    assert!(s.sink.alerts(&s.emu).await.is_empty());
}

#[tokio::test]
async fn two_accounts_two_regions_one_item_each_and_a_denied_one_fails_alone_and_is_reported() {
    let s = Setup::new().await;
    let (a, b) = (account(), account());
    let regions = ["us-east-1", "eu-west-1"];
    let mut groups = Vec::new();
    for acct in [&a, &b] {
        for region in regions {
            let m = s.emu.member(acct, region).await;
            let group = m.group(&[]).await;
            m.open_to_world(&group, &[3389]).await;
            groups.push((acct.clone(), region, group));
        }
    }
    // The first AssumeRole (the first item: a / us-east-1) is denied.
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![FaultRule {
            operation: "AssumeRole",
            calls: 1..=1,
            fault: Fault::Error {
                code: "AccessDenied",
                status: 403,
            },
        }],
    );
    let deps = Deps::new(
        &sdk_config(&proxy.url, 1).await,
        s.config(&[&a, &b], &regions),
    )
    .expect("deps");

    let run = invoke(&deps, json!({"sweep": "run"})).await.expect("run");
    assert_eq!(run["enqueued"], 4, "one work item per (account, region)");
    let items = s.work_items().await;
    let bodies: Vec<Value> = items
        .iter()
        .map(|i| serde_json::from_str(i["body"].as_str().expect("body")).expect("item"))
        .collect();
    let places: Vec<(String, String)> = bodies
        .iter()
        .map(|b| {
            (
                b["account"].as_str().unwrap_or_default().to_string(),
                b["region"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (acct, region, _) in &groups {
        assert!(
            places.contains(&(acct.clone(), region.to_string())),
            "{places:?}"
        );
    }
    // Hand them over with a / us-east-1 first, as one batch.
    let mut ordered = items.clone();
    ordered.sort_by_key(|i| {
        let body: Value =
            serde_json::from_str(i["body"].as_str().unwrap_or_default()).unwrap_or_default();
        !(body["account"] == a.as_str() && body["region"] == "us-east-1")
    });
    let answer = invoke(&deps, json!({"Records": ordered}))
        .await
        .expect("worker");
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": ordered[0]["messageId"]}]),
        "{answer}"
    );

    // The three others were swept and alerted, each in its own place.
    let alerts = s.sink.alerts(&s.emu).await;
    let mut alerted: Vec<(String, String)> = alerts
        .iter()
        .map(|al| {
            (
                al.doc["account"].as_str().unwrap_or_default().to_string(),
                al.doc["region"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    alerted.sort();
    let mut expected: Vec<(String, String)> = groups
        .iter()
        .filter(|(acct, region, _)| !(acct == &a && *region == "us-east-1"))
        .map(|(acct, region, _)| (acct.clone(), region.to_string()))
        .collect();
    expected.sort();
    assert_eq!(alerted, expected);
    for al in &alerts {
        let (_, _, group) = groups
            .iter()
            .find(|(acct, region, _)| {
                al.doc["account"] == acct.as_str() && al.doc["region"] == *region
            })
            .expect("a place of the test");
        assert_eq!(findings_on(&al.doc, group), ["EC2-SG-004"]);
    }

    // The denied place is in the table and in the daily summary.
    let status = state_items(&s.emu, &s.table, &format!("{a}/us-east-1"))
        .await
        .into_iter()
        .find(|i| i["fingerprint"] == "sweep#status")
        .expect("status of the denied place");
    assert_eq!(status["complete"], false);
    assert_eq!(status["problems"], json!(["AssumeRole: AccessDenied"]));
    let summary = invoke(&deps, json!({"sweep": "summary"}))
        .await
        .expect("summary");
    assert_eq!(summary["open"], 3, "{summary}");
    assert_eq!(summary["incomplete"][0]["account"], a.as_str());
    let alerts = s.sink.alerts(&s.emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].doc["kind"], "sweep_summary");
    assert!(
        alerts[0].subject.contains("1 places not fully read"),
        "{}",
        alerts[0].subject
    );
    assert!(
        s.sink.texts().iter().any(
            |t| t.contains(&format!("{a} us-east-1")) && t.contains("AssumeRole: AccessDenied")
        ),
        "{:?}",
        s.sink.texts()
    );

    // The retry of the failed item (SQS makes it visible again) succeeds.
    let retry = invoke(&deps, json!({"Records": [ordered[0].clone()]}))
        .await
        .expect("retry");
    assert_eq!(retry["batchItemFailures"], json!([]), "{retry}");
    let alerts = s.sink.alerts(&s.emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].doc["account"], a.as_str());
}

#[tokio::test]
async fn a_denied_read_is_reported_and_resolves_nothing() {
    let s = Setup::new().await;
    let member = account();
    let m = s.emu.member(&member, "us-east-1").await;
    let group = m.group(&[]).await;
    m.open_to_world(&group, &[22]).await;
    let deps = Deps::new(&s.emu.sdk, s.config(&[&member], &["us-east-1"])).expect("deps");
    s.sweep(&deps).await;
    assert_eq!(s.sink.alerts(&s.emu).await.len(), 1);

    // The rules can no longer be read: the open finding stays open.
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![FaultRule {
            operation: "DescribeSecurityGroupRules",
            calls: 1..=99,
            fault: Fault::Error {
                code: "UnauthorizedOperation",
                status: 403,
            },
        }],
    );
    let denied = Deps::new(
        &sdk_config(&proxy.url, 1).await,
        s.config(&[&member], &["us-east-1"]),
    )
    .expect("deps");
    let answer = s.sweep(&denied).await;
    assert_eq!(
        answer["batchItemFailures"],
        json!([]),
        "not retryable: reported, not retried"
    );
    assert_eq!(
        answer["swept"][0]["unread"],
        json!(["DescribeSecurityGroupRules: UnauthorizedOperation"])
    );
    assert!(
        s.sink.alerts(&s.emu).await.is_empty(),
        "nothing new, nothing resolved"
    );
    let items = state_items(&s.emu, &s.table, &format!("{member}/us-east-1")).await;
    let finding = items
        .iter()
        .find(|i| i["resource"] == group.as_str())
        .expect("finding");
    assert_eq!(finding["status"], "open");
    let status = items
        .iter()
        .find(|i| i["fingerprint"] == "sweep#status")
        .expect("status");
    assert_eq!(status["complete"], false);
}
