//! Laws of the parser and planner, over arbitrary input.

use access_guard::event::read_document;
use access_guard::finding::Action;
use access_guard::policy::Policy;
use access_guard::sg::{Direction, SgChange};
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

proptest! {
    #[test]
    fn parsing_and_evaluating_never_panics(request in any_json(), response in any_json(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = read_document(&bytes, "fuzz");
        for name in ["AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules"] {
            let record = json!({"eventID": "e", "eventName": name, "requestParameters": request.clone(), "responseElements": response.clone()});
            for event in read_document(record.to_string().as_bytes(), "prop").into_iter().flatten() {
                let _ = access_guard::offline::evaluate(&event, &Policy::embedded(), time::macros::date!(2026 - 01 - 01));
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
        let event = access_guard::event::Event::from_value(&record, "prop").unwrap();
        let change = SgChange::from_event(&event).unwrap().unwrap();
        let mut policy = Policy::embedded();
        policy.max_revocations_per_event = cap;
        let (findings, plan) = access_guard::ingress::assess(&change, &policy);
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
