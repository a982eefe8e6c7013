//! Laws of the parser and planner, over arbitrary input.

use access_guard::finding::Action;
use access_guard::model::event::{Event, Want};
use access_guard::model::sg::{Direction, SgChange};
use access_guard::model::stream::{read_document, read_document_with};
use access_guard::policy::Policy;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("0.0.0.0/0"),
            Just("::/0"),
            Just("tcp"),
            Just("-1"),
            Just("22"),
            Just("sgr-1")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("items".to_string()),
                    Just("ipProtocol".to_string()),
                    Just("fromPort".to_string()),
                    Just("toPort".to_string()),
                    Just("cidrIp".to_string()),
                    Just("ipRanges".to_string()),
                    Just("ipPermissions".to_string()),
                    Just("securityGroupRuleSet".to_string()),
                    "[a-z]{1,6}".prop_map(String::from),
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A CloudTrail record whose head fields are sometimes of the wrong type,
/// null, missing, duplicated or wrapped in an envelope.
fn any_record() -> impl Strategy<Value = String> {
    let text = |options: &'static [&'static str]| {
        prop_oneof![
            16 => prop::sample::select(options).prop_map(|s| json!(s)),
            1 => Just(Value::Null),
            1 => any::<i64>().prop_map(Value::from),
            1 => any_json(),
        ]
    };
    let identity = (
        text(&["arn:aws:iam::111122223333:user/a"]),
        text(&["IAMUser", "AssumedRole"]),
        text(&["111122223333"]),
        text(&["arn:aws:iam::111122223333:role/r"]),
        text(&["true", "FALSE", "yes"]),
        any::<bool>(),
    )
        .prop_map(|(arn, kind, account, issuer, mfa, as_bool)| {
            let mfa = if as_bool { json!(true) } else { mfa };
            json!({"arn": arn, "type": kind, "accountId": account,
                   "sessionContext": {"sessionIssuer": {"arn": issuer}, "attributes": {"mfaAuthenticated": mfa}}})
        });
    (
        (
            text(&["e1", "e\\u00e9"]),
            text(&[
                "AuthorizeSecurityGroupIngress",
                "DescribeInstances",
                "CreateService",
            ]),
            text(&["2026-11-02T10:00:00Z"]),
            text(&["us-east-1"]),
            text(&["111122223333"]),
            text(&["Client.UnauthorizedOperation"]),
        ),
        prop_oneof![3 => identity, 1 => any_json()],
        any_json(),
        prop::collection::vec(prop::bool::weighted(0.85), 8),
        prop_oneof![6 => Just(None), 1 => Just(Some("detail")), 1 => Just(Some("eventName"))],
    )
        .prop_map(
            |((id, name, time, region, account, code), identity, request, present, extra)| {
                let keys = [
                    "eventID",
                    "eventName",
                    "eventTime",
                    "awsRegion",
                    "recipientAccountId",
                    "errorCode",
                    "userIdentity",
                    "requestParameters",
                ]
                .into_iter()
                .zip(present)
                .filter_map(|(key, present)| present.then_some(key));
                let value = |key: &str| match key {
                    "eventID" => id.clone(),
                    "eventName" => name.clone(),
                    "eventTime" => time.clone(),
                    "awsRegion" => region.clone(),
                    "recipientAccountId" => account.clone(),
                    "errorCode" => code.clone(),
                    "userIdentity" => identity.clone(),
                    _ => request.clone(),
                };
                let mut members: Vec<String> =
                    keys.map(|k| format!("{:?}:{}", k, value(k))).collect();
                if let Some(key) = extra {
                    members.push(format!("{key:?}:{}", value("requestParameters")));
                }
                format!("{{{}}}", members.join(","))
            },
        )
}

proptest! {
    #[test]
    fn log_files_read_record_by_record_as_the_whole_document_would(record in any_record()) {
        let log = format!("{{\"Records\":[{record}]}}");
        // The general way: the record as a tree (a key named twice is an
        // error, never the last of the two), then read as an event.
        let general = match access_guard::model::json::parse_strict(&record) {
            Ok(value) => Event::from_owned(value, "log.json: Records[0]").map(|e| format!("{e:?}")).map_err(|e| e.to_string()),
            Err(e) if e.to_string().starts_with("duplicate key") => {
                Err(format!("log.json: Records[0]: not valid JSON: {e}"))
            }
            Err(_) => return Ok(()),
        };
        let fast = read_document_with(log.as_bytes(), "log.json", |_| Want::Everything);
        prop_assert_eq!(fast.len(), 1);
        let fast = fast[0].as_ref().map(|e| format!("{:?}", e.as_ref().unwrap())).map_err(|e| e.to_string());
        prop_assert_eq!(&fast, &general);
        for want in [Want::Head, Want::Nothing] {
            let read = read_document_with(log.as_bytes(), "log.json", |_| want);
            prop_assert_eq!(read[0].is_ok(), general.is_ok(), "{:?}", want);
        }
    }

    #[test]
    fn parsing_and_evaluating_never_panics(request in any_json(), response in any_json(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = read_document(&bytes, "fuzz");
        for name in ["AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules"] {
            let record = json!({"eventID": "e", "eventName": name, "requestParameters": request.clone(), "responseElements": response.clone()});
            for event in read_document(record.to_string().as_bytes(), "prop").into_iter().flatten() {
                let _ = access_guard::guards::offline::evaluate(&event, &Policy::embedded(), time::macros::date!(2026 - 01 - 01));
            }
        }
    }

    #[test]
    fn revocations_are_a_subset_of_offending_ingress_rules(
        rules in prop::collection::vec((prop_oneof![Just("tcp"), Just("udp"), Just("-1"), Just("icmp"), Just("47")], 0u16..4000, 0u16..200,
            prop_oneof![Just("0.0.0.0/0"), Just("::/0"), Just("10.0.0.0/8"), Just("128.0.0.0/1"), Just("203.0.113.0/24"), Just("bad")], any::<bool>()), 0..30),
        cap in 1usize..25,
    ) {
        let items: Vec<Value> = rules.iter().enumerate().map(|(i, (p, from, span, cidr, egress))| {
            let key = if cidr.contains(':') { "cidrIpv6" } else { "cidrIpv4" };
            json!({"groupId": "sg-1", "securityGroupRuleId": format!("sgr-{i}"), "isEgress": egress, "ipProtocol": p,
                   "fromPort": from, "toPort": from.saturating_add(*span), key: cidr})
        }).collect();
        let record = json!({"eventID": "e", "eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"groupId": "sg-1"},
            "responseElements": {"securityGroupRuleSet": {"items": items}}});
        let event = access_guard::model::event::Event::from_value(&record, "prop").unwrap();
        let change = match SgChange::from_event(&event) {
            Ok(change) => change.unwrap(),
            // Nothing to judge is an error, never an empty change.
            Err(e) => {
                prop_assert!(rules.is_empty(), "{}", e);
                return Ok(());
            }
        };
        let mut policy = Policy::embedded();
        policy.max_revocations_per_event = cap;
        let (findings, plan) = access_guard::guards::ingress::assess(&change, &policy);
        if let Some(plan) = plan {
            prop_assert_eq!(plan.group_id.as_str(), "sg-1");
            prop_assert!(plan.revocations.len() <= cap);
            for r in &plan.revocations {
                prop_assert_ne!(r.rule.direction, Direction::Egress);
                prop_assert!(findings.iter().any(|f| f.target == Some(r.target) && f.action == Action::Revoke));
                prop_assert!(r.rule.source.is_internet_wide(policy.wide));
            }
        }
    }
}
