//! Hostile input: malformed, truncated, huge, deeply nested, wrong-typed,
//! non-UTF-8 and half-omitted events. Never a panic; a clear error naming the
//! input and the field; bounded time; nothing planned on a guess.

use std::time::{Duration, Instant};

use access_guard::model::stream::read_document;
use access_guard::output::notify::{Notification, SNS_MESSAGE_LIMIT};
use access_guard::policy::Policy;
use serde_json::{json, Value};
use time::macros::date;

fn record(request: Value, response: Value) -> Value {
    json!({"eventID": "hostile-1", "eventName": "AuthorizeSecurityGroupIngress", "recipientAccountId": "111122223333",
           "awsRegion": "eu-west-1", "requestParameters": request, "responseElements": response})
}

/// Every verdict or error for a document; panics only if the code under test does.
fn run(bytes: &[u8], name: &str) -> Vec<Result<access_guard::report::Report, String>> {
    read_document(bytes, name)
        .into_iter()
        .map(|event| {
            let event = event.map_err(|e| e.to_string())?;
            access_guard::guards::offline::evaluate(
                &event,
                &Policy::embedded(),
                date!(2026 - 01 - 01),
            )
            .map_err(|e| e.to_string())
        })
        .collect()
}

fn single_error(bytes: &[u8], name: &str) -> String {
    let out = run(bytes, name);
    assert_eq!(out.len(), 1, "{name}");
    out.into_iter().next().unwrap().expect_err(name)
}

#[test]
fn malformed_documents_are_errors_naming_the_input() {
    let good = record(json!({"groupId": "sg-1"}), json!({})).to_string();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated.json", good.as_bytes()[..good.len() / 2].to_vec()),
        ("empty.json", Vec::new()),
        ("not-utf8.json", vec![0xff, 0xfe, b'{', 0x80, b'}']),
        (
            "nested.json",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ),
        ("scalar.json", b"42".to_vec()),
        (
            "gzip-garbage.json.gz",
            vec![0x1f, 0x8b, 0x08, 0x00, 1, 2, 3],
        ),
    ];
    for (name, bytes) in cases {
        let err = single_error(&bytes, name);
        assert!(err.starts_with(name), "{name}: {err}");
    }
}

#[test]
fn wrong_types_and_omitted_fields_name_the_field_and_plan_nothing() {
    let cases = [
        (
            json!({"groupId": "sg-1", "ipPermissions": 5}),
            json!({}),
            "requestParameters.ipPermissions",
        ),
        (
            json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": {}, "toPort": 22}]}}),
            json!({}),
            "requestParameters.ipPermissions.items[0].fromPort",
        ),
        (
            json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": ["tcp"], "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
            json!({}),
            "requestParameters.ipPermissions.items[0].ipProtocol",
        ),
        (
            json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": 0}]}}]}}),
            json!({}),
            "requestParameters.ipPermissions.items[0].ipRanges.items[0].cidrIp",
        ),
        (
            json!({"omitted": true}),
            json!({"_return": true}),
            "requestParameters",
        ),
        (
            json!({"groupId": "sg-1", "ipPermissions": {"omitted": true}}),
            json!({}),
            "requestParameters.ipPermissions",
        ),
        (
            json!({"groupId": "sg-1"}),
            json!({"securityGroupRuleSet": {"items": [{"securityGroupRuleId": "sgr-1", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22}]}}),
            "responseElements.securityGroupRuleSet.items[0]",
        ),
    ];
    for (request, response, path) in cases {
        let doc = record(request, response).to_string();
        let err = single_error(doc.as_bytes(), "wrong.json");
        assert!(
            err.contains("event hostile-1") && err.contains(path),
            "want {path} in: {err}"
        );
    }
}

#[test]
fn a_ten_megabyte_event_is_read_in_bounded_time() {
    let blob = "x".repeat(10 * 1024 * 1024);
    let doc = record(
        json!({"groupId": "sg-1", "padding": blob, "ipPermissions": {"items": [{"ipProtocol": "tcp",
            "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
        json!({}),
    )
    .to_string();
    let started = Instant::now();
    let out = run(doc.as_bytes(), "huge.json");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let report = out
        .into_iter()
        .next()
        .unwrap()
        .expect("a valid, if large, event");
    assert!(report.findings.is_empty());
    assert!(
        !report.to_json().contains("xxxxxxxx"),
        "unknown fields are not copied into the verdict"
    );
}

#[test]
fn thousands_of_permissions_stay_bounded_in_time_plan_and_message_size() {
    let items: Vec<Value> = (0..5000u32)
        .map(|i| {
            json!({"groupId": "sg-1", "securityGroupRuleId": format!("sgr-{i:017}"), "isEgress": false, "ipProtocol": "tcp",
                   "fromPort": i % 65535, "toPort": i % 65535, "cidrIpv4": "0.0.0.0/0"})
        })
        .collect();
    let doc = record(
        json!({"groupId": "sg-1"}),
        json!({"securityGroupRuleSet": {"items": items}}),
    )
    .to_string();
    assert!(doc.len() > 256 * 1024, "larger than EventBridge delivers");
    let started = Instant::now();
    let report = run(doc.as_bytes(), "many.json")
        .into_iter()
        .next()
        .unwrap()
        .expect("evaluated");
    let notification = Notification::render(&report);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        report.plan[0].rule_ids.len(),
        20,
        "max_revocations_per_event"
    );
    assert!(!report.plan[0].held_back.is_empty());
    assert!(notification.message.len() <= SNS_MESSAGE_LIMIT);
    let message: Value = serde_json::from_str(&notification.message).expect("valid JSON");
    assert!(message["email"]
        .as_str()
        .unwrap_or_default()
        .contains("more findings"));
}
