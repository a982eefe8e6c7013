//! The tests of `document`.

use super::*;
use serde_json::json;

fn doc(statements: Value) -> PolicyDocument {
    PolicyDocument::from_value(
        &json!({"Version": "2012-10-17", "Statement": statements}),
        "p",
    )
    .unwrap()
}

fn kinds(d: &PolicyDocument) -> Vec<GrantKind> {
    d.grants().iter().map(|g| g.kind).collect()
}

fn described(d: &PolicyDocument, kind: GrantKind) -> Vec<String> {
    d.grants()
        .iter()
        .filter(|g| g.kind == kind)
        .map(Grant::describe)
        .collect()
}

#[test]
fn wildcards_match_as_iam_does() {
    assert!(wildcard_match("*", "ecs:RunTask"));
    assert!(wildcard_match("ECS:run*", "ecs:RunTask"));
    assert!(wildcard_match("ecs:Execute*", "ecs:ExecuteCommand"));
    assert!(wildcard_match("ecs:?xecuteCommand", "ecs:ExecuteCommand"));
    assert!(wildcard_match("e*:*Command", "ecs:ExecuteCommand"));
    assert!(wildcard_match("*:*", "iam:PassRole"));
    assert!(!wildcard_match("ecs:Run", "ecs:RunTask"));
    assert!(!wildcard_match("ecs:?", "ecs:RunTask"));
    assert!(!wildcard_match("s3:*", "ecs:RunTask"));
    assert!(!wildcard_match("", "ecs:RunTask"));
    assert!(wildcard_match("a*b*c", "aXXbYYc"));
    assert!(!wildcard_match("a*b*c", "aXXbYY"));
}

#[test]
fn resource_patterns_reach_one_arn_or_every_arn_under_a_prefix() {
    let tasks = "arn:aws:ecs:eu-west-1:111122223333:task/web/*";
    let cluster = "arn:aws:ecs:eu-west-1:111122223333:cluster/web";
    for (pattern, arn, fold_case, reach) in [
        ("*", cluster, false, Reach::All),
        ("*", tasks, false, Reach::All),
        (cluster, cluster, false, Reach::All),
        ("arn:aws:ecs:*:*:cluster/w?b", cluster, false, Reach::All),
        (
            "arn:aws:ecs:eu-west-1:111122223333:cluster/web2",
            cluster,
            false,
            Reach::Nothing,
        ),
        (
            "arn:aws:ecs:eu-west-1:111122223333:cluster/WEB",
            cluster,
            false,
            Reach::Nothing,
        ),
        (
            "arn:aws:ecs:eu-west-1:111122223333:cluster/WEB",
            cluster,
            true,
            Reach::All,
        ),
        (
            "arn:aws:ecs:eu-west-1:111122223333:task/web/*",
            tasks,
            false,
            Reach::All,
        ),
        (
            "arn:aws:ecs:eu-west-1:111122223333:task/*",
            tasks,
            false,
            Reach::All,
        ),
        (
            "arn:aws:ecs:*:111122223333:task/we*",
            tasks,
            false,
            Reach::All,
        ),
        (
            "arn:aws:ecs:eu-west-1:111122223333:task/web/0123456789abcdef0123456789abcdef",
            tasks,
            false,
            Reach::Part,
        ),
        (
            "arn:aws:ecs:eu-west-1:111122223333:task/web/a*",
            tasks,
            false,
            Reach::Part,
        ),
        // A task id has no `/` or `:`.
        (
            "arn:aws:ecs:eu-west-1:111122223333:task/web/*/x",
            tasks,
            false,
            Reach::Nothing,
        ),
        ("arn:aws:ecs:*:*:cluster/web", tasks, false, Reach::Nothing),
        (
            "arn:aws:ecs:*:*:task/staging/*",
            tasks,
            false,
            Reach::Nothing,
        ),
        ("arn:aws:ecs:*:*:task/web/?*", tasks, false, Reach::Part),
        ("arn:aws:ecs:*:*:task/web/", tasks, false, Reach::Nothing),
        (
            "arn:aws:ecs:eu-west-1:111122223333:task/web",
            tasks,
            false,
            Reach::Nothing,
        ),
        (
            "arn:aws:ecs:eu-west-1:111122223333:task/web2/*",
            tasks,
            false,
            Reach::Nothing,
        ),
        (
            "arn:aws:ecs:eu-west-1:111122223333:task/staging/*",
            tasks,
            false,
            Reach::Nothing,
        ),
        (cluster, tasks, false, Reach::Nothing),
    ] {
        assert_eq!(
            resource_reach(pattern, arn, fold_case),
            reach,
            "{pattern} on {arn}"
        );
    }
}

#[test]
fn admin_level_statements() {
    for action in [json!("*"), json!("*:*"), json!(["s3:GetObject", "*"])] {
        let d = doc(json!([{"Effect": "Allow", "Action": action, "Resource": "*"}]));
        assert!(kinds(&d).contains(&GrantKind::Admin), "{action}");
    }
    // NotAction: everything not listed.
    let d =
        doc(json!({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}));
    assert_eq!(
        described(&d, GrantKind::Admin),
        ["NotAction [iam:*, organizations:*] on *"]
    );
    // It keeps ecs:ExecuteCommand, not iam:PassRole.
    assert_eq!(
        described(&d, GrantKind::ExecuteCommand),
        ["ecs:ExecuteCommand on * (through NotAction [iam:*, organizations:*])"]
    );
    assert!(!kinds(&d).contains(&GrantKind::PassRoleWithLaunch));
    // NotAction * leaves nothing.
    let d = doc(json!({"Effect": "Allow", "NotAction": "*", "Resource": "*"}));
    assert!(d.grants().is_empty());
    // Not admin: a narrower resource, a Deny, or one service.
    for st in [
        json!({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::bucket/*"}),
        json!({"Effect": "Deny", "Action": "*", "Resource": "*"}),
        json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
        json!({"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}),
    ] {
        assert!(
            !kinds(&doc(json!([st]))).contains(&GrantKind::Admin),
            "{st}"
        );
    }
}

#[test]
fn service_wide_wildcards() {
    let d =
        doc(json!([{"Effect": "Allow", "Action": ["ecs:*", "iam:*", "s3:*"], "Resource": "*"}]));
    assert_eq!(
        kinds(&d)[..2],
        [GrantKind::ServiceWide("ecs"), GrantKind::ServiceWide("iam")]
    );
    let d = doc(
        json!([{"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:*:111122223333:*"}]),
    );
    assert_eq!(
        described(&d, GrantKind::ServiceWide("ecs")),
        ["ecs:* on arn:aws:ecs:*:111122223333:*"]
    );
    // Part of a service, or one cluster, is not service-wide.
    for st in [
        json!({"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"}),
        json!({"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:eu-west-1:111122223333:cluster/prod"}),
    ] {
        assert!(!kinds(&doc(json!([st])))
            .iter()
            .any(|k| matches!(k, GrantKind::ServiceWide(_))));
    }
}

#[test]
fn execute_command_on_all_tasks() {
    for (action, through) in [
        ("ecs:ExecuteCommand", ""),
        ("ECS:executecommand", ""),
        ("ecs:Execute*", " (through ecs:Execute*)"),
        ("ecs:*", " (through ecs:*)"),
        ("*", " (through *)"),
    ] {
        let d = doc(json!([{"Effect": "Allow", "Action": action, "Resource": "*"}]));
        assert_eq!(
            described(&d, GrantKind::ExecuteCommand),
            [format!("ecs:ExecuteCommand on *{through}")]
        );
    }
    let d = doc(json!([{"Effect": "Allow", "Action": "ecs:ExecuteCommand",
        "Resource": "arn:aws:ecs:*:111122223333:task/*"}]));
    assert_eq!(kinds(&d), [GrantKind::ExecuteCommand]);
    for st in [
        json!({"Effect": "Allow", "Action": "ecs:ExecuteCommand", "Resource": "arn:aws:ecs:eu-west-1:111122223333:task/prod/*"}),
        json!({"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"}),
        json!({"Effect": "Allow", "NotAction": "ecs:*", "Resource": "arn:aws:s3:::b"}),
    ] {
        assert!(
            !kinds(&doc(json!([st]))).contains(&GrantKind::ExecuteCommand),
            "{st}"
        );
    }
}

#[test]
fn conditions_and_denies_are_reported_never_dropped() {
    let d = doc(
        json!([{"Sid": "Exec", "Effect": "Allow", "Action": "ecs:ExecuteCommand", "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-secret", "aws:PrincipalTag/team": "ops"}}}]),
    );
    let exec = described(&d, GrantKind::ExecuteCommand);
    assert_eq!(
        exec,
        ["ecs:ExecuteCommand on *, with conditions on aws:PrincipalTag/team (StringEquals), aws:SourceVpc (StringEquals)"]
    );
    assert!(!exec[0].contains("vpc-secret"), "values are never repeated");
    let d = doc(json!([
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}},
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
    ]));
    assert_eq!(
        described(&d, GrantKind::Admin),
        ["Action * on *, removed by a Deny (Statement[1]) with a condition on aws:MultiFactorAuthPresent (Bool)"]
    );
}

#[test]
fn pass_role_with_launch() {
    let d = doc(json!([
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
        {"Effect": "Allow", "Action": ["ecs:RunTask", "ecs:RegisterTaskDefinition"], "Resource": "arn:aws:ecs:*:*:task-definition/job:*"},
    ]));
    assert_eq!(
        described(&d, GrantKind::PassRoleWithLaunch),
        ["iam:PassRole on * with ecs:RunTask, ecs:RegisterTaskDefinition"]
    );
    assert_eq!(d.grants()[0].statement, "Statement[0] + Statement[1]");
    let d = doc(
        json!([{"Effect": "Allow", "Action": ["iam:PassRole", "ecs:RunTask"],
        "Resource": "arn:aws:iam::111122223333:role/*",
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}]),
    );
    assert_eq!(
        described(&d, GrantKind::PassRoleWithLaunch),
        ["iam:PassRole on arn:aws:iam::111122223333:role/* with ecs:RunTask, with a condition on iam:PassedToService (StringEquals)"]
    );
    for statements in [
        json!([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]),
        json!([{"Effect": "Allow", "Action": ["iam:PassRole", "ecs:RunTask"], "Resource": "arn:aws:iam::111122223333:role/app-task"}]),
        json!([{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]),
    ] {
        assert!(
            !kinds(&doc(statements.clone())).contains(&GrantKind::PassRoleWithLaunch),
            "{statements}"
        );
    }
}

#[test]
fn trust_policies() {
    let trust = |principal: Value| {
        doc(json!([{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]))
    };
    assert!(trust(json!({"Service": "ecs-tasks.amazonaws.com"})).trusts_ecs_tasks());
    assert!(
        trust(json!({"Service": ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com"]}))
            .trusts_ecs_tasks()
    );
    assert!(trust(json!({"Service": "ecs-tasks.amazonaws.com.cn"})).trusts_ecs_tasks());
    assert!(trust(json!("*")).trusts_ecs_tasks());
    assert!(!trust(json!({"Service": "ec2.amazonaws.com"})).trusts_ecs_tasks());
    assert!(!trust(json!({"AWS": "arn:aws:iam::111122223333:root"})).trusts_ecs_tasks());
    let denied = doc(json!([
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:*"},
    ]));
    assert!(!denied.trusts_ecs_tasks());
    let other_action = doc(
        json!([{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:TagSession"}]),
    );
    assert!(!other_action.trusts_ecs_tasks());
}

#[test]
fn three_shapes_of_the_same_document() {
    let text =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%7D";
    let record =
        json!({"a": text, "b": encoded, "c": serde_json::from_str::<Value>(text).unwrap()});
    let root = Node::root(&record, "requestParameters");
    let read: Vec<PolicyDocument> = ["a", "b", "c"]
        .iter()
        .map(|k| PolicyDocument::from_node(&root.get(k)).unwrap())
        .collect();
    assert_eq!(read[0], read[1]);
    assert_eq!(read[0], read[2]);
    assert_eq!(kinds(&read[0])[0], GrantKind::Admin);
    // Form encoding (`+` for a space) is read too.
    let form = "%7B%22Statement%22%3A+%5B%7B%22Effect%22%3A+%22Allow%22%2C+%22Action%22%3A+%22*%22%2C+%22Resource%22%3A+%22*%22%7D%5D%7D";
    assert_eq!(
        kinds(&PolicyDocument::parse_text(form, "p").unwrap())[0],
        GrantKind::Admin
    );
    // Two `Statement`s: which one IAM reads is not ours to guess.
    let twice = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"},"Statement":[]}"#;
    let e = PolicyDocument::parse_text(twice, "p")
        .unwrap_err()
        .to_string();
    assert!(e.contains("duplicate key \"Statement\""), "{e}");
}

#[test]
fn unreadable_documents_fail_closed_naming_the_field() {
    let record = json!({
        "omitted": {"omitted": true, "originalSize": 4096},
        "omitted_text": "{\"omitted\": true}",
        "garbage": "not json",
        "bad_escape": "%7B%2",
        "number": 7,
        "no_statement": "{\"Version\":\"2012-10-17\"}",
        "bad_effect": {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]},
        "no_action": {"Statement": [{"Effect": "Allow", "Resource": "*"}]},
        "both": {"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}]},
        "action_number": {"Statement": [{"Effect": "Allow", "Action": ["ecs:*", 7], "Resource": "*"}]},
        "condition_list": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": ["x"]}}]},
        "statement_string": {"Statement": ["Allow"]},
    });
    let root = Node::root(&record, "requestParameters");
    let expect = [
        ("omitted", "requestParameters.omitted"),
        ("omitted_text", "requestParameters.omitted_text"),
        ("garbage", "requestParameters.garbage"),
        ("bad_escape", "requestParameters.bad_escape"),
        ("number", "requestParameters.number"),
        ("missing", "requestParameters.missing"),
        ("no_statement", "requestParameters.no_statement.Statement"),
        (
            "bad_effect",
            "requestParameters.bad_effect.Statement[0].Effect",
        ),
        ("no_action", "requestParameters.no_action.Statement[0]"),
        ("both", "requestParameters.both.Statement[0]"),
        (
            "action_number",
            "requestParameters.action_number.Statement[0].Action[1]",
        ),
        (
            "condition_list",
            "requestParameters.condition_list.Statement[0].Condition.Bool",
        ),
        (
            "statement_string",
            "requestParameters.statement_string.Statement[0]",
        ),
    ];
    for (key, path) in expect {
        let err = PolicyDocument::from_node(&root.get(key)).unwrap_err();
        assert_eq!(err.path, path, "{key}: {err}");
    }
}
