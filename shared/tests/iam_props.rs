//! Laws of the IAM policy analyser, over arbitrary documents.
//!
//! Soundness: the analyser never calls a statement narrower than it is. A
//! statement `Allow`, `Action: "*"`, `Resource: "*"` without a condition is
//! admin-level whatever else the document holds; what may be said next to it
//! is only a `Deny` statement of the same document that removes it (never a
//! condition it does not have, never silence).

use access_guard::model::event::Event;
use access_guard::model::iam::{GrantKind, IamChange, PolicyDocument, EVENT_NAMES};
use access_guard::model::stream::read_document;
use access_guard::policy::Policy;
use proptest::prelude::*;
use serde_json::{json, Value};

fn actions() -> impl Strategy<Value = Value> {
    let one = prop::sample::select(vec![
        "*",
        "*:*",
        "ecs:*",
        "iam:*",
        "iam:PassRole",
        "ecs:RunTask",
        "ecs:ExecuteCommand",
        "ecs:Execute*",
        "s3:GetObject",
        "sts:AssumeRole",
        "?cs:*",
        "",
    ])
    .prop_map(Value::from);
    prop_oneof![
        one.clone(),
        prop::collection::vec(one, 0..4).prop_map(Value::from)
    ]
}

fn resources() -> impl Strategy<Value = Value> {
    let one = prop::sample::select(vec![
        "*",
        "arn:aws:s3:::bucket/*",
        "arn:aws:ecs:*:*:task/*",
        "arn:aws:iam::111122223333:role/*",
        "arn:*",
        "",
    ])
    .prop_map(Value::from);
    prop_oneof![
        one.clone(),
        prop::collection::vec(one, 0..3).prop_map(Value::from)
    ]
}

/// Any statement: Allow or Deny, Action or NotAction, Resource, NotResource
/// or neither, with or without conditions, sometimes with a Sid.
fn statement() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<bool>(),
        actions(),
        0..3u8,
        resources(),
        prop::option::of(prop::sample::select(vec![
            json!({"StringEquals": {"aws:SourceVpc": "vpc-1"}}),
            json!({"Bool": {"aws:MultiFactorAuthPresent": "false"}}),
            json!({"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
        ])),
        prop::option::of("[A-Za-z0-9]{1,6}"),
    )
        .prop_map(
            |(allow, not_action, actions, resource_kind, resources, condition, sid)| {
                let mut s = serde_json::Map::new();
                s.insert("Effect".into(), json!(if allow { "Allow" } else { "Deny" }));
                s.insert(
                    if not_action { "NotAction" } else { "Action" }.into(),
                    actions,
                );
                match resource_kind {
                    0 => {
                        s.insert("Resource".into(), resources);
                    }
                    1 => {
                        s.insert("NotResource".into(), resources);
                    }
                    _ => {}
                }
                if let Some(c) = condition {
                    s.insert("Condition".into(), c);
                }
                if let Some(sid) = sid {
                    s.insert("Sid".into(), json!(sid));
                }
                Value::Object(s)
            },
        )
}

/// RFC 3986 encoding of every byte but the unreserved ones.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Arbitrary JSON, a few levels deep, with policy-shaped keys.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "*",
            "Allow",
            "Deny",
            "ecs:*",
            "%7B",
            "{\"Statement\":"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "Statement",
                    "Effect",
                    "Action",
                    "NotAction",
                    "Resource",
                    "NotResource",
                    "Principal",
                    "NotPrincipal",
                    "Condition",
                    "Service",
                    "AWS",
                    "Sid",
                    "omitted",
                    "policyDocument",
                    "roleName",
                    "userName",
                    "groupName",
                    "policyArn",
                    "policyName",
                ])
                .prop_map(String::from),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn allow_everything_on_everything_is_always_admin_level(
        others in prop::collection::vec(statement(), 0..6),
        at in any::<prop::sample::Index>(),
        as_list in any::<bool>(),
        encoded in any::<bool>(),
    ) {
        let mut statements = others.clone();
        let position = at.index(statements.len() + 1);
        statements.insert(position, json!({"Effect": "Allow", "Action": "*", "Resource": "*"}));
        let document = json!({"Version": "2012-10-17", "Statement": if as_list || statements.len() > 1 { Value::from(statements.clone()) } else { statements[0].clone() }});
        let text = document.to_string();
        let text = if encoded { url_encode(&text) } else { text };
        let parsed = match PolicyDocument::parse_text(&text, "policyDocument") {
            Ok(parsed) => parsed,
            // Only a generated statement can be malformed (an empty action list
            // is not: the admin statement is always well formed).
            Err(e) => {
                prop_assert!(e.path.starts_with("policyDocument.Statement["), "{}", e);
                prop_assert!(!e.path.starts_with(&format!("policyDocument.Statement[{position}]")), "{}", e);
                return Ok(());
            }
        };
        let label = format!("Statement[{position}]");
        let grants = parsed.grants();
        let admin = grants.iter().find(|g| g.kind == GrantKind::Admin && g.statement == label);
        prop_assert!(admin.is_some(), "{label} not admin-level in {text}: {grants:?}");
        let admin = admin.unwrap();
        prop_assert!(admin.what.starts_with("Action * on *"), "{:?}", admin);
        // What is said next to it: only Deny statements of this document.
        let denies: Vec<String> = parsed
            .statements
            .iter()
            .filter(|s| s.effect == access_guard::model::iam::document::Effect::Deny)
            .map(|s| s.label.clone())
            .collect();
        for note in &admin.narrowed_by {
            prop_assert!(note.starts_with("removed by a Deny ("), "{note}");
            prop_assert!(denies.iter().any(|d| note.starts_with(&format!("removed by a Deny ({d})"))), "{note} {denies:?}");
        }
        if denies.is_empty() {
            prop_assert!(admin.narrowed_by.is_empty());
        }
        // The same statement also grants ECS Exec and, with PassRole, launch.
        prop_assert!(grants.iter().any(|g| g.kind == GrantKind::ExecuteCommand && g.statement == label));
        prop_assert!(grants.iter().any(|g| g.kind == GrantKind::PassRoleWithLaunch));
    }

    #[test]
    fn parsing_and_judging_arbitrary_input_never_panics(
        value in any_json(),
        text in "[ -~]{0,40}",
        escaped in "(%[0-9A-Fa-f]{0,2}|[ -~]){0,30}",
    ) {
        let _ = PolicyDocument::from_value(&value, "p").map(|d| (d.grants(), d.trusts_ecs_tasks()));
        for t in [&text, &escaped, &value.to_string(), &url_encode(&value.to_string())] {
            let _ = PolicyDocument::parse_text(t, "p").map(|d| (d.grants(), d.trusts_ecs_tasks()));
        }
        for name in EVENT_NAMES {
            for request in [value.clone(), json!({"roleName": "r", "userName": "u", "groupName": "g",
                "policyName": "p", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess", "policyDocument": value.clone()})] {
                let record = json!({"eventID": "e", "eventName": name, "eventSource": "iam.amazonaws.com",
                    "requestParameters": request, "responseElements": value.clone()});
                for event in read_document(record.to_string().as_bytes(), "prop").into_iter().flatten() {
                    let _ = IamChange::from_event(&event);
                    let _ = access_guard::guards::offline::evaluate(&event, &Policy::embedded(), time::macros::date!(2026 - 01 - 01));
                }
            }
        }
        let _ = Event::from_value(&value, "prop");
    }
}
