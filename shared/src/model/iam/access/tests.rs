//! The tests of `access`.

use super::*;
use serde_json::{json, Value};

const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "111122223333";
const CLUSTER: &str = "web";
const ONE_TASK: &str =
    "arn:aws:ecs:eu-west-1:111122223333:task/web/0123456789abcdef0123456789abcdef";

fn doc(name: &str, statements: Value) -> PolicyDocument {
    PolicyDocument::from_value(&json!({"Statement": statements}), "p")
        .unwrap()
        .named(name)
}

fn principal(kind: PrincipalKind, name: &str, documents: Vec<PolicyDocument>) -> PrincipalPolicies {
    PrincipalPolicies {
        kind,
        name: name.to_string(),
        arn: format!("arn:aws:iam::111122223333:{}/{name}", kind.word()),
        documents,
        groups: Vec::new(),
        boundary: Boundary::None,
    }
}

fn role(name: &str, statements: Value) -> PrincipalPolicies {
    principal(
        PrincipalKind::Role,
        name,
        vec![doc(&format!("inline policy {name}"), statements)],
    )
}

fn user_in(name: &str, groups: &[&str], statements: Value) -> PrincipalPolicies {
    let mut p = principal(
        PrincipalKind::User,
        name,
        vec![doc(&format!("inline policy {name}"), statements)],
    );
    p.groups = groups.iter().map(|g| g.to_string()).collect();
    p
}

fn group(name: &str, statements: Value) -> PrincipalPolicies {
    principal(
        PrincipalKind::Group,
        name,
        vec![doc(&format!("inline policy {name}"), statements)],
    )
}

fn exec(principals: &[PrincipalPolicies]) -> Vec<Allowance> {
    who_may_exec(REGION, ACCOUNT, CLUSTER, principals)
}

fn allow_exec() -> Value {
    json!([{"Effect": "Allow", "Action": "ecs:ExecuteCommand", "Resource": "*"}])
}

#[test]
fn allows_that_reach_the_cluster_or_any_of_its_tasks() {
    let cluster = "arn:aws:ecs:eu-west-1:111122223333:cluster/web";
    for (statement, resource) in [
        (json!({"Action": "*", "Resource": "*"}), Some("*")),
        (json!({"Action": "ecs:*", "Resource": "*"}), Some("*")),
        (
            json!({"Action": "ecs:Execute*", "Resource": "*"}),
            Some("*"),
        ),
        (
            json!({"Action": "ECS:executecommand", "Resource": "*"}),
            Some("*"),
        ),
        (
            json!({"NotAction": ["iam:*", "s3:*"], "Resource": "*"}),
            Some("*"),
        ),
        (json!({"NotAction": "ecs:*", "Resource": "*"}), None),
        (
            json!({"Action": ["ecs:Describe*", "ecs:RunTask"], "Resource": "*"}),
            None,
        ),
        (
            json!({"Action": "ecs:ExecuteCommand"}),
            Some("* (no Resource)"),
        ),
        (
            json!({"Action": "ecs:ExecuteCommand", "Resource": cluster}),
            Some(cluster),
        ),
        (
            json!({"Action": "ecs:ExecuteCommand", "Resource": "arn:aws:ecs:eu-west-1:111122223333:task/web/*"}),
            Some("arn:aws:ecs:eu-west-1:111122223333:task/web/*"),
        ),
        (
            json!({"Action": "ecs:ExecuteCommand", "Resource": "arn:aws:ecs:*:111122223333:task/*"}),
            Some("arn:aws:ecs:*:111122223333:task/*"),
        ),
        (
            json!({"Action": "ecs:ExecuteCommand", "Resource": ONE_TASK}),
            Some(ONE_TASK),
        ),
        // The widest pattern is the one shown.
        (
            json!({"Action": "ecs:ExecuteCommand", "Resource": [ONE_TASK, "arn:aws:ecs:*:*:task/web/*", "*"]}),
            Some("arn:aws:ecs:*:*:task/web/*"),
        ),
        // Another cluster, region, account or partition: no allowance.
        (
            json!({"Action": "ecs:ExecuteCommand", "Resource": ["arn:aws:ecs:eu-west-1:111122223333:cluster/staging",
                "arn:aws:ecs:eu-west-1:111122223333:task/staging/*"]}),
            None,
        ),
        (
            json!({"Action": "ecs:ExecuteCommand", "Resource": "arn:aws:ecs:eu-west-1:111122223333:task/web2/*"}),
            None,
        ),
        (
            json!({"Action": "ecs:ExecuteCommand", "Resource": "arn:aws:ecs:us-east-1:111122223333:task/web/*"}),
            None,
        ),
        (
            json!({"Action": "ecs:ExecuteCommand", "Resource": "arn:aws:ecs:eu-west-1:444455556666:cluster/web"}),
            None,
        ),
        (
            json!({"Action": "ecs:ExecuteCommand", "Resource": "arn:aws-cn:ecs:*:*:task/*"}),
            None,
        ),
        (
            json!({"Action": "ecs:ExecuteCommand", "NotResource": "arn:aws:ecs:*:*:cluster/staging"}),
            Some("NotResource [arn:aws:ecs:*:*:cluster/staging]"),
        ),
        (
            json!({"Action": "ecs:ExecuteCommand", "NotResource": [cluster, "arn:aws:ecs:*:*:task/web/*"]}),
            None,
        ),
    ] {
        let mut statement = statement;
        statement["Effect"] = json!("Allow");
        let got = exec(&[role("ops", json!([statement.clone()]))]);
        let shown: Vec<&str> = got.iter().map(|a| a.resource.as_str()).collect();
        assert_eq!(
            shown,
            resource.into_iter().collect::<Vec<_>>(),
            "{statement}"
        );
        for a in &got {
            assert_eq!(
                (a.principal.as_str(), a.arn.as_str(), a.statement.as_str()),
                (
                    "role ops",
                    "arn:aws:iam::111122223333:role/ops",
                    "inline policy ops, Statement[0]"
                )
            );
            assert!(a.notes.is_empty(), "{a:?}");
        }
    }
}

#[test]
fn the_partition_follows_the_region() {
    let p = [role(
        "ops",
        json!([{"Effect": "Allow", "Action": "ecs:ExecuteCommand",
            "Resource": "arn:aws-cn:ecs:cn-north-1:111122223333:task/web/*"}]),
    )];
    assert_eq!(who_may_exec("cn-north-1", ACCOUNT, CLUSTER, &p).len(), 1);
    assert!(who_may_exec("us-gov-west-1", ACCOUNT, CLUSTER, &p).is_empty());
}

#[test]
fn a_user_holds_its_groups_policies_and_a_group_never_acts() {
    let admins = group(
        "admins",
        json!([{"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}]),
    );
    // A group alone: no one to act.
    assert!(exec(std::slice::from_ref(&admins)).is_empty());
    let alice = user_in(
        "alice",
        &["admins"],
        json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
    );
    let got = exec(&[admins.clone(), alice]);
    assert_eq!(
        got,
        [Allowance {
            principal: "user alice".to_string(),
            arn: "arn:aws:iam::111122223333:user/alice".to_string(),
            statement: "inline policy admins, Sid All".to_string(),
            via_group: Some("admins".to_string()),
            resource: "*".to_string(),
            conditions: Vec::new(),
            notes: Vec::new(),
        }]
    );
    // A role naming the group does not hold it.
    let mut r = role(
        "app",
        json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
    );
    r.groups = vec!["admins".to_string()];
    assert!(exec(&[admins, r]).is_empty());
}

#[test]
fn a_group_not_read_is_an_allowance_not_judged() {
    let bob = user_in(
        "bob",
        &["ops"],
        json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
    );
    let got = exec(&[bob]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].statement, "group ops, not read");
    assert_eq!(got[0].via_group.as_deref(), Some("ops"));
    assert_eq!(got[0].resource, "unknown");
    assert_eq!(
        got[0].notes,
        ["the policies of group ops were not read: they may allow this"]
    );
}

#[test]
fn a_deny_without_conditions_removes_what_it_covers() {
    let allow = json!({"Effect": "Allow", "Action": "ecs:*", "Resource": "*"});
    for deny in [
        json!({"Effect": "Deny", "Action": "*", "Resource": "*"}),
        json!({"Effect": "Deny", "Action": "ecs:ExecuteCommand"}),
        json!({"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}),
        json!({"Effect": "Deny", "Action": "ecs:Exec*", "Resource": [
            "arn:aws:ecs:eu-west-1:111122223333:cluster/web", "arn:aws:ecs:eu-west-1:111122223333:task/web/*"]}),
        json!({"Effect": "Deny", "Action": "ecs:ExecuteCommand", "NotResource": "arn:aws:ecs:*:*:cluster/staging"}),
    ] {
        assert!(
            exec(&[role("ops", json!([allow, deny]))]).is_empty(),
            "{deny}"
        );
    }
    // From a group, on the user's own allow.
    let deny_all = group(
        "locked",
        json!([{"Effect": "Deny", "Action": "ecs:*", "Resource": "*"}]),
    );
    let carol = user_in("carol", &["locked"], json!([allow]));
    assert!(exec(&[deny_all, carol]).is_empty());
    // A Deny of another action, or another cluster: no effect, no note.
    for deny in [
        json!({"Effect": "Deny", "Action": "ecs:RunTask", "Resource": "*"}),
        json!({"Effect": "Deny", "Action": "*", "Resource": "arn:aws:ecs:*:*:task/staging/*"}),
    ] {
        let got = exec(&[role("ops", json!([allow, deny]))]);
        assert_eq!(got.len(), 1, "{deny}");
        assert!(got[0].notes.is_empty(), "{deny}");
    }
    // A Deny that covers only the tasks leaves an allow on the cluster only.
    let got = exec(&[role(
        "ops",
        json!([
            {"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:eu-west-1:111122223333:cluster/web"},
            {"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:eu-west-1:111122223333:task/web/*"},
            {"Effect": "Deny", "Action": "*", "Resource": "arn:aws:ecs:*:*:task/*"},
        ]),
    )]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].statement, "inline policy ops, Statement[0]");
}

#[test]
fn a_deny_that_may_not_apply_is_a_note() {
    let allow = json!({"Effect": "Allow", "Action": "*", "Resource": "*"});
    for (deny, note) in [
        (
            json!({"Sid": "Env", "Effect": "Deny", "Action": "ecs:ExecuteCommand", "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}}),
            "may be denied by inline policy ops, Sid Env when StringEquals aws:ResourceTag/env",
        ),
        // One task of the cluster only.
        (
            json!({"Effect": "Deny", "Action": "*", "Resource": ONE_TASK}),
            "may be denied by inline policy ops, Statement[1] on part of these resources",
        ),
        // Another case: IAM compares ARNs as written.
        (
            json!({"Effect": "Deny", "Action": "*", "Resource": ["arn:aws:ecs:*:*:cluster/WEB", "arn:aws:ecs:*:*:task/WEB/*"]}),
            "may be denied by inline policy ops, Statement[1] on part of these resources",
        ),
        // A policy variable: not known here.
        (
            json!({"Effect": "Deny", "Action": "*", "Resource": "arn:aws:ecs:*:*:${aws:PrincipalTag/cluster}"}),
            "may be denied by inline policy ops, Statement[1] on part of these resources",
        ),
    ] {
        let got = exec(&[role("ops", json!([allow, deny]))]);
        assert_eq!(got.len(), 1, "{deny}");
        assert_eq!(got[0].notes, [note], "{deny}");
    }
}

#[test]
fn a_policy_variable_in_an_allow_is_taken_as_any_value() {
    let got = exec(&[role(
        "ops",
        json!([{"Effect": "Allow", "Action": "ecs:ExecuteCommand",
            "Resource": "arn:aws:ecs:*:*:task/${aws:PrincipalTag/cluster}/*"}]),
    )]);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].notes,
        ["its Resource has a policy variable, taken as any value"]
    );
}

#[test]
fn conditions_are_reported_by_operator_and_key_never_value() {
    let mut ops = role(
        "ops",
        json!([
            {"Effect": "Allow", "Action": "ecs:ExecuteCommand", "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"},
                           "Bool": {"aws:MultiFactorAuthPresent": "true"}}},
            {"Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "prod"}}},
        ]),
    );
    ops.boundary = Boundary::Document(doc(
        "arn:aws:iam::111122223333:policy/fence (default version)",
        json!([{"Effect": "Allow", "Action": "ecs:*", "Resource": "*",
            "Condition": {"StringLike": {"ecs:cluster": "*prod*"}}}]),
    ));
    let got = exec(&[ops]);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].conditions,
        [
            "Bool aws:MultiFactorAuthPresent",
            "StringEquals aws:ResourceTag/env"
        ]
    );
    assert_eq!(
        got[0].notes,
        [
            "may be denied by inline policy ops, Statement[1] when StringNotEquals aws:PrincipalTag/team",
            "permission boundary arn:aws:iam::111122223333:policy/fence (default version) allows it only when StringLike ecs:cluster (Statement[0])",
        ]
    );
    assert!(!format!("{got:?}").contains("prod"), "{got:?}");
}

#[test]
fn a_permission_boundary_removes_notes_or_is_reported_unread() {
    let with = |boundary: Boundary| {
        let mut ops = role("ops", allow_exec());
        ops.boundary = boundary;
        exec(&[ops])
    };
    let bounded = |statements: Value| with(Boundary::Document(doc("fence", statements)));
    // Allows it: kept, nothing to say.
    let got = bounded(json!([{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]));
    assert_eq!(got.len(), 1);
    assert!(got[0].notes.is_empty());
    // Does not allow it: removed.
    for statements in [
        json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
        json!([{"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:*:*:task/staging/*"}]),
        json!([{"Effect": "Allow", "Action": "*", "Resource": "*"},
               {"Effect": "Deny", "Action": "ecs:ExecuteCommand", "Resource": "*"}]),
    ] {
        assert!(bounded(statements.clone()).is_empty(), "{statements}");
    }
    // Allows part of it.
    let got = bounded(
        json!([{"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:*:*:task/web/*"}]),
    );
    assert_eq!(
        got[0].notes,
        ["permission boundary fence allows it on part of these resources only"]
    );
    // Not read.
    let got = with(Boundary::Unread(
        "AccessDenied on GetPolicyVersion".to_string(),
    ));
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].notes,
        ["permission boundary not read (AccessDenied on GetPolicyVersion): it may deny this"]
    );
}

#[test]
fn the_order_is_by_principal_then_statement_whatever_the_input_order() {
    let principals = vec![
        role(
            "zeta",
            json!([
                {"Sid": "B", "Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
                {"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"},
            ]),
        ),
        user_in("alice", &["ops"], allow_exec()),
        group("ops", allow_exec()),
        role("beta", allow_exec()),
    ];
    let expected = [
        ("role beta", "inline policy beta, Statement[0]"),
        ("role zeta", "inline policy zeta, Sid A"),
        ("role zeta", "inline policy zeta, Sid B"),
        ("user alice", "inline policy alice, Statement[0]"),
        ("user alice", "inline policy ops, Statement[0]"),
    ];
    let mut reversed = principals.clone();
    reversed.reverse();
    for input in [principals, reversed] {
        let got = exec(&input);
        let order: Vec<(&str, &str)> = got
            .iter()
            .map(|a| (a.principal.as_str(), a.statement.as_str()))
            .collect();
        assert_eq!(order, expected);
    }
}

#[test]
fn who_may_takes_any_action_and_concrete_arns() {
    let p = [role(
        "ci",
        json!([{"Effect": "Allow", "Action": "ecs:UpdateService",
            "Resource": "arn:aws:ecs:eu-west-1:111122223333:service/web/*"}]),
    )];
    let service = "arn:aws:ecs:eu-west-1:111122223333:service/web/api";
    assert_eq!(who_may("ecs:UpdateService", &[service], &p).len(), 1);
    assert!(who_may("ecs:ExecuteCommand", &[service], &p).is_empty());
    assert!(who_may(
        "ecs:UpdateService",
        &["arn:aws:ecs:eu-west-1:111122223333:service/web2/api"],
        &p
    )
    .is_empty());
}
