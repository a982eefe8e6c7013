//! Roles and policies in a plan, as the IAM calls each would make: a role
//! is CreateRole (its trust policy) with a PutRolePolicy per inline policy
//! and an AttachRolePolicy per managed policy ARN; `aws_iam_role_policy`
//! is PutRolePolicy, `aws_iam_policy` CreatePolicy,
//! `aws_iam_role_policy_attachment` AttachRolePolicy.
//!
//! A policy document known only after apply is not judged; a role or a
//! policy ARN made in the same plan stands as unknown until apply.

use serde_json::{json, Map, Value};

use super::{text, Resource, UNKNOWN_UNTIL_APPLY};
use crate::iac::record::{record, tag_list};

const IAM: &str = "iam.amazonaws.com";

/// The policy document at `key`, JSON text as Terraform holds it.
fn document<'a>(r: &Resource, v: &'a Value, key: &str, path: &str) -> Result<&'a str, String> {
    match text(v, key) {
        Some(doc) if !(r.unknown_at)(path) => Ok(doc),
        _ => Err(format!("{}: {path} is not known until apply", r.address)),
    }
}

fn call(r: &Resource, name: &str, request: Value) -> Value {
    record(r.address, r.account, IAM, name, request, Value::Null)
}

/// The role a policy or attachment is for: as the plan gives it, else the
/// name of the role of the same plan it refers to.
fn role_name(r: &Resource) -> String {
    text(r.after, "role")
        .map(str::to_string)
        .or_else(|| {
            r.referred("role").map(|(address, after)| {
                text(&after, "name").map_or(address.clone(), str::to_string)
            })
        })
        .unwrap_or_else(|| UNKNOWN_UNTIL_APPLY.to_string())
}

pub(super) fn role(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    let name = text(after, "name").unwrap_or(r.address);
    let trust = document(r, after, "assume_role_policy", "assume_role_policy")?;
    let mut request = Map::new();
    request.insert("roleName".into(), json!(name));
    request.insert("assumeRolePolicyDocument".into(), json!(trust));
    for (tf, aws) in [
        ("path", "path"),
        ("description", "description"),
        ("permissions_boundary", "permissionsBoundary"),
    ] {
        if let Some(v) = text(after, tf) {
            request.insert(aws.into(), json!(v));
        }
    }
    if let Some(tags) = tag_list(after) {
        request.insert("tags".into(), tags);
    }
    let mut out = vec![call(r, "CreateRole", Value::Object(request))];
    let inline = after.get("inline_policy").and_then(Value::as_array);
    for (i, p) in inline.into_iter().flatten().enumerate() {
        // An empty block is how the provider says "no inline policies".
        if text(p, "name").is_none()
            && text(p, "policy").is_none()
            && !(r.unknown_at)(&format!("inline_policy[{i}]"))
        {
            continue;
        }
        let doc = document(r, p, "policy", &format!("inline_policy[{i}].policy"))?;
        let policy_name = text(p, "name").unwrap_or(UNKNOWN_UNTIL_APPLY);
        out.push(call(
            r,
            "PutRolePolicy",
            json!({"roleName": name, "policyName": policy_name, "policyDocument": doc}),
        ));
    }
    // Left out, the provider computes the list from what other resources
    // attach (each judged as its own attachment); an ARN in it known only
    // after apply (a policy made in the same plan) stands as unknown.
    let arns = after.get("managed_policy_arns").and_then(Value::as_array);
    for (i, arn) in arns.into_iter().flatten().enumerate() {
        let arn = match arn.as_str() {
            Some(arn) if !(r.unknown_at)(&format!("managed_policy_arns[{i}]")) => arn,
            _ => UNKNOWN_UNTIL_APPLY,
        };
        out.push(call(
            r,
            "AttachRolePolicy",
            json!({"roleName": name, "policyArn": arn}),
        ));
    }
    Ok(out)
}

pub(super) fn role_policy(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    let doc = document(r, after, "policy", "policy")?;
    Ok(vec![call(
        r,
        "PutRolePolicy",
        json!({"roleName": role_name(r),
               "policyName": text(after, "name").unwrap_or(r.address),
               "policyDocument": doc}),
    )])
}

pub(super) fn policy(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    let doc = document(r, after, "policy", "policy")?;
    let mut request = Map::new();
    request.insert(
        "policyName".into(),
        json!(text(after, "name").unwrap_or(r.address)),
    );
    request.insert("policyDocument".into(), json!(doc));
    for (tf, aws) in [("path", "path"), ("description", "description")] {
        if let Some(v) = text(after, tf) {
            request.insert(aws.into(), json!(v));
        }
    }
    if let Some(tags) = tag_list(after) {
        request.insert("tags".into(), tags);
    }
    Ok(vec![call(r, "CreatePolicy", Value::Object(request))])
}

pub(super) fn role_policy_attachment(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    Ok(vec![call(
        r,
        "AttachRolePolicy",
        json!({"roleName": role_name(r),
               "policyArn": text(after, "policy_arn").map_or_else(
                   // A policy of the same plan stands for itself by an ARN
                   // that names its address.
                   || r.referred("policy_arn").map_or_else(
                       || UNKNOWN_UNTIL_APPLY.to_string(),
                       |(address, _)| format!("arn:aws:iam::{}:policy/{address}", r.account)),
                   str::to_string)}),
    )])
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::tests_kinds::{from_plan, ids, judge, judged, samples};

    const ADMIN: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    const READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    const EXEC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:ExecuteCommand","Resource":"*"}]}"#;
    const TASKS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    fn all_ids(kind: &str, after: Value) -> Vec<(Vec<&'static str>, Option<String>)> {
        judge(kind, after, json!({}))
            .into_iter()
            .map(|v| {
                let v = v.unwrap();
                (v.ids, v.skipped)
            })
            .collect()
    }

    #[test]
    fn a_role_is_its_creation_its_inline_policies_and_its_attachments() {
        let role = json!({"name": "app-task", "assume_role_policy": TASKS,
            "inline_policy": [{"name": "exec", "policy": EXEC}],
            "managed_policy_arns": ["arn:aws:iam::aws:policy/AdministratorAccess"]});
        assert_eq!(
            all_ids("aws_iam_role", role),
            [
                (Vec::new(), Some("not handled: CreateRole".to_string())),
                (vec!["IAM-ECS-002"], None),
                // Whether ECS tasks assume the role needs AWS offline (a
                // note), though the trust is the role's own.
                (vec!["IAM-ECS-002", "IAM-ECS-003"], None),
            ]
        );
        // The provider's empty block stands for no inline policy.
        let plain = json!({"name": "app-task", "assume_role_policy": TASKS,
            "inline_policy": [{"name": "", "policy": ""}], "managed_policy_arns": []});
        assert_eq!(all_ids("aws_iam_role", plain).len(), 1);
    }

    #[test]
    fn policies_and_attachments_are_judged_as_their_calls() {
        assert_eq!(
            ids(
                "aws_iam_role_policy",
                json!({"role": "app-task", "name": "exec", "policy": EXEC})
            ),
            ["IAM-ECS-002"]
        );
        assert_eq!(
            ids(
                "aws_iam_role_policy",
                json!({"role": "app-task", "name": "read", "policy": READ})
            ),
            Vec::<&str>::new()
        );
        let attach = |arn: &str| json!({"role": "app-task", "policy_arn": arn});
        assert_eq!(
            ids(
                "aws_iam_role_policy_attachment",
                attach("arn:aws:iam::aws:policy/AdministratorAccess")
            ),
            ["IAM-ECS-002", "IAM-ECS-003"]
        );
        assert_eq!(
            ids(
                "aws_iam_role_policy_attachment",
                attach("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
            ),
            Vec::<&str>::new()
        );
        let v = judge(
            "aws_iam_policy",
            json!({"name": "admin", "policy": ADMIN}),
            json!({}),
        );
        assert_eq!(
            v[0].as_ref().unwrap().skipped.as_deref(),
            Some("not handled: CreatePolicy")
        );
    }

    #[test]
    fn a_policy_known_only_after_apply_is_not_judged() {
        for (kind, after, unknown) in [
            (
                "aws_iam_role_policy",
                json!({"role": "app-task", "name": "p"}),
                json!({"policy": true}),
            ),
            (
                "aws_iam_role",
                json!({"name": "r", "assume_role_policy": TASKS, "inline_policy": [{"name": "p"}]}),
                json!({"inline_policy": [{"policy": true}]}),
            ),
            (
                "aws_iam_role",
                json!({"name": "r"}),
                json!({"assume_role_policy": true}),
            ),
            (
                "aws_iam_policy",
                json!({"name": "p"}),
                json!({"policy": true}),
            ),
        ] {
            let v = judge(kind, after, unknown);
            let err = v[0].as_ref().unwrap_err();
            assert!(err.contains("not judged"), "{kind}: {err}");
        }
    }

    #[test]
    fn a_role_leaving_its_policy_lists_to_other_resources_is_judged() {
        // The provider computes both lists when the role leaves them out.
        let v = judge(
            "aws_iam_role",
            json!({"name": "r", "assume_role_policy": TASKS}),
            json!({"managed_policy_arns": true, "inline_policy": true, "arn": true, "unique_id": true}),
        );
        assert_eq!(v.len(), 1);
        assert!(v[0].is_ok(), "{v:?}");
        // A policy made in the same plan: its ARN is unknown, and so is
        // what it grants; said, never a pass.
        let v = judge(
            "aws_iam_role",
            json!({"name": "r", "assume_role_policy": TASKS, "managed_policy_arns": [null]}),
            json!({"managed_policy_arns": [true]}),
        );
        let attach = v[1].as_ref().unwrap();
        assert!(
            attach
                .notes
                .iter()
                .any(|n| n.contains("(known after apply)")),
            "{attach:?}"
        );
    }

    #[test]
    fn a_role_policy_from_a_plan_gets_the_verdict_of_its_call() {
        let mut compared = 0;
        for (file, record) in samples("iam", &["PutRolePolicy", "AttachRolePolicy"]) {
            let r = &record["requestParameters"];
            let (kind, after) = if record["eventName"] == "PutRolePolicy" {
                // Terraform holds the document as JSON text; CloudTrail
                // may have URL-encoded it.
                let doc = r["policyDocument"].as_str().unwrap();
                let text = if doc.trim_start().starts_with('{') {
                    doc.to_string()
                } else {
                    percent_decode(doc)
                };
                (
                    "aws_iam_role_policy",
                    json!({"role": r["roleName"], "name": r["policyName"], "policy": text}),
                )
            } else {
                (
                    "aws_iam_role_policy_attachment",
                    json!({"role": r["roleName"], "policy_arn": r["policyArn"]}),
                )
            };
            assert_eq!(from_plan(kind, after), judged(&record), "{file}");
            compared += 1;
        }
        assert!(compared >= 3, "only {compared} sample calls compared");
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
}
