//! Roles and policies in a template, as CreateRole, PutRolePolicy,
//! AttachRolePolicy, PutUserPolicy, PutGroupPolicy and CreatePolicy. A
//! policy document is the JSON text the API is sent; a role, user or group
//! of the template is named by its name, else its logical id.

use serde_json::{json, Value};

use super::Resource;
use crate::iac::record::record;

fn iam(r: &Resource, name: &str, request: Value) -> Value {
    record(
        r.id,
        r.account,
        "iam.amazonaws.com",
        name,
        request,
        Value::Null,
    )
}

/// A document as the API's text: an object written out, a string as it is.
fn document(v: Option<&Value>, at: &str) -> Result<Value, String> {
    match v {
        Some(Value::String(s)) => Ok(Value::from(s.as_str())),
        Some(doc @ Value::Object(_)) => Ok(Value::from(doc.to_string())),
        _ => Err(format!("{at} is missing")),
    }
}

fn names(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_array).cloned().unwrap_or_default()
}

/// `AWS::IAM::Role`: its creation (with its trust), each inline policy put
/// on it and each managed policy attached to it.
pub(super) fn role(r: &Resource) -> Result<Vec<Value>, String> {
    let role = r.name("RoleName");
    let mut out = vec![iam(
        r,
        "CreateRole",
        json!({"roleName": role,
               "assumeRolePolicyDocument": document(r.get("AssumeRolePolicyDocument"),
                   "Properties.AssumeRolePolicyDocument")?}),
    )];
    for (i, policy) in names(r.get("Policies")).iter().enumerate() {
        out.push(iam(
            r,
            "PutRolePolicy",
            json!({"roleName": role, "policyName": policy.get("PolicyName"),
                   "policyDocument": document(policy.get("PolicyDocument"),
                       &format!("Properties.Policies[{i}].PolicyDocument"))?}),
        ));
    }
    for arn in names(r.get("ManagedPolicyArns")) {
        out.push(iam(
            r,
            "AttachRolePolicy",
            json!({"roleName": role, "policyArn": arn}),
        ));
    }
    Ok(out)
}

/// `AWS::IAM::Policy`: the policy put on each role, user and group it names.
pub(super) fn policy(r: &Resource) -> Result<Vec<Value>, String> {
    let doc = document(r.get("PolicyDocument"), "Properties.PolicyDocument")?;
    let name = r.name("PolicyName");
    let mut out = Vec::new();
    for (key, call, field) in [
        ("Roles", "PutRolePolicy", "roleName"),
        ("Users", "PutUserPolicy", "userName"),
        ("Groups", "PutGroupPolicy", "groupName"),
    ] {
        for who in names(r.get(key)) {
            out.push(iam(
                r,
                call,
                json!({field: who, "policyName": name, "policyDocument": doc}),
            ));
        }
    }
    Ok(out)
}

/// `AWS::IAM::ManagedPolicy` as CreatePolicy.
pub(super) fn managed_policy(r: &Resource) -> Result<Vec<Value>, String> {
    let doc = document(r.get("PolicyDocument"), "Properties.PolicyDocument")?;
    Ok(vec![iam(
        r,
        "CreatePolicy",
        json!({"policyName": r.name("ManagedPolicyName"), "policyDocument": doc}),
    )])
}
