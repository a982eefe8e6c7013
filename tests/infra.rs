//! The Terraform module, proved offline:
//! - the EventBridge patterns in `infra/main.tf`, installed in moto server
//!   (PutRule + PutTargets to one SQS queue per function), route every sample
//!   event in `events/` to exactly the queue of its own function, and failed
//!   calls and unhandled events to none;
//! - the IAM actions the module grants each function equal the list the
//!   function's code declares (`access_guard::lambda::<function>::IAM_ACTIONS`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use access_guard_e2e::{unique, Emulator};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// An attribute of the module's `locals` block in `infra/main.tf`, as JSON.
fn local(name: &str) -> Value {
    local_in("infra/main.tf", name)
}

/// An attribute of a `locals` block of `file` (under the repository), as JSON.
fn local_in(file: &str, name: &str) -> Value {
    let path = repo().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let body: hcl::Body = hcl::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let expr = body
        .blocks()
        .filter(|b| b.identifier() == "locals")
        .flat_map(|b| b.body().attributes())
        .find(|a| a.key() == name)
        .unwrap_or_else(|| panic!("locals.{name} missing from {file}"))
        .expr()
        .clone();
    serde_json::to_value(hcl::Value::from(expr)).expect("a literal value")
}

/// An attribute of a `locals` block of `file`, as the expression written.
fn local_expr_in(file: &str, name: &str) -> hcl::Expression {
    let body = parsed(file);
    body.blocks()
        .filter(|b| b.identifier() == "locals")
        .flat_map(|b| b.body().attributes())
        .find(|a| a.key() == name)
        .unwrap_or_else(|| panic!("locals.{name} missing from {file}"))
        .expr()
        .clone()
}

/// `file` (under the repository), parsed.
fn parsed(file: &str) -> hcl::Body {
    let path = repo().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    hcl::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// An expression as HCL text, on one line.
fn hcl_text(expr: &hcl::Expression) -> String {
    hcl::format::to_string(expr)
        .expect("HCL")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The keys of an object expression.
fn object_keys(expr: &hcl::Expression) -> Vec<String> {
    match expr {
        hcl::Expression::Object(object) => object
            .keys()
            .map(|k| match k {
                hcl::ObjectKey::Identifier(id) => id.to_string(),
                hcl::ObjectKey::Expression(e) => hcl_text(e).trim_matches('"').to_string(),
                other => format!("{other:?}"),
            })
            .collect(),
        other => panic!("expected an object, found {}", hcl_text(other)),
    }
}

/// A variable's default in `file`, as written.
fn variable_default(file: &str, name: &str) -> Option<hcl::Expression> {
    parsed(file)
        .blocks()
        .find(|b| {
            b.identifier() == "variable" && b.labels().first().map(|l| l.as_str()) == Some(name)
        })
        .unwrap_or_else(|| panic!("variable {name} missing from {file}"))
        .body()
        .attributes()
        .find(|a| a.key() == "default")
        .map(|a| a.expr().clone())
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

/// Every function with the actions its code declares; each is a crate
/// under `functions/`.
fn every_function() -> Vec<(&'static str, &'static [&'static str])> {
    let functions = access_guard::lambda::FUNCTIONS.to_vec();
    let crates: std::collections::BTreeSet<String> = std::fs::read_dir(repo().join("functions"))
        .expect("functions/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let named: std::collections::BTreeSet<String> =
        functions.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(crates, named, "a crate under functions/ per function");
    functions
}

#[test]
fn each_pattern_names_exactly_the_calls_its_guard_registers() {
    let patterns = local("event_patterns");
    let in_module: BTreeSet<&str> = patterns
        .as_object()
        .expect("a map")
        .keys()
        .map(String::as_str)
        .collect();
    let registered: BTreeSet<&str> = access_guard::guards::REGISTRY
        .iter()
        .map(|g| g.function)
        .collect();
    assert_eq!(in_module, registered);
    for guard in access_guard::guards::REGISTRY {
        let mut branches = Vec::new();
        branches_of(&patterns[guard.function], None, &mut branches);
        assert!(!branches.is_empty(), "{}", guard.function);
        // Every (service, call) a branch names is registered, and every
        // registered call is named by some branch.
        let mut named = BTreeSet::new();
        for (source, detail) in &branches {
            let event_sources = strings(&detail["eventSource"]);
            assert_eq!(
                event_sources.len(),
                1,
                "{}: one service per branch",
                guard.function
            );
            let event_source = event_sources.iter().next().expect("one");
            let service = event_source.trim_end_matches(".amazonaws.com");
            // Only AWS's events, from the service's own source (DESIGN §7.14).
            let expected = match service {
                "tagging" => "aws.tag".to_string(),
                other => format!("aws.{other}"),
            };
            assert_eq!(
                source.as_ref().map(strings),
                Some(BTreeSet::from([expected])),
                "{}: {event_source}",
                guard.function
            );
            for name in strings(&detail["eventName"]) {
                named.insert((service.to_string(), name));
            }
        }
        let code: BTreeSet<(String, String)> = guard
            .calls
            .iter()
            .map(|(s, n)| (s.to_string(), n.to_string()))
            .collect();
        assert_eq!(named, code, "{}", guard.function);
    }
}

/// The branches of a pattern: each object with a `detail`, with the
/// `source` it carries or inherits (through `$or`).
fn branches_of<'a>(
    pattern: &'a Value,
    source: Option<&'a Value>,
    out: &mut Vec<(Option<Value>, &'a Value)>,
) {
    let source = pattern.get("source").or(source);
    if let Some(detail) = pattern.get("detail") {
        out.push((source.cloned(), detail));
    }
    for branch in pattern
        .get("$or")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        branches_of(branch, source, out);
    }
}

#[test]
fn the_module_grants_each_function_exactly_the_actions_its_code_calls() {
    let granted = local("function_actions");
    let declared: BTreeMap<&str, &[&str]> = every_function().into_iter().collect();
    let functions: BTreeSet<&str> = granted
        .as_object()
        .expect("a map")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(functions, declared.keys().copied().collect());
    for (function, actions) in declared {
        let code: BTreeSet<String> = actions.iter().map(|a| a.to_string()).collect();
        assert_eq!(strings(&granted[function]), code, "{function}");
    }
}

/// Names and lists of a `(name, actions)` table of the code.
fn table(rows: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    rows.iter()
        .map(|(f, actions)| {
            (
                f.to_string(),
                actions.iter().map(|a| a.to_string()).collect(),
            )
        })
        .collect()
}

fn code_set(actions: &[&str]) -> BTreeSet<String> {
    actions.iter().map(|a| a.to_string()).collect()
}

#[test]
fn organization_mode_grants_the_member_roles_exactly_what_the_functions_call_there() {
    // Centrally, every function: assuming the member roles, nothing else new.
    let central = strings(&local_in("infra/organization.tf", "organization_actions"));
    assert_eq!(central, code_set(access_guard::aws::ORGANIZATION_ACTIONS));
    // Organizations, only for the functions that read it (exemptions by OU,
    // the sweep's accounts).
    let reads = local_in("infra/organization.tf", "organization_reads");
    let module: BTreeMap<String, BTreeSet<String>> = reads
        .as_object()
        .expect("a map")
        .iter()
        .map(|(f, actions)| (f.clone(), strings(actions)))
        .collect();
    assert_eq!(module, table(access_guard::lambda::ORGANIZATION_READS));
    let policy = normalized(&block_text(
        "infra/iam.tf",
        &["aws_iam_policy_document", "function"],
    ));
    assert!(
        holds(
            &policy,
            "for_each = local.organization ? lookup(local.organization_reads, each.key, []) : []"
        ),
        "{policy}"
    );
    assert_eq!(
        policy.matches("organizations:").count(),
        1,
        "Organizations is granted from local.organization_reads alone: {policy}"
    );
    assert_eq!(policy.matches("local.organization_reads").count(), 1);

    // In members, the read-only role: every function's calls but those on
    // central resources (publishing the alert, the state table, the work
    // queue, Organizations) and the revoke; none of the retro scan's, which
    // reads the trail bucket centrally and nothing in member accounts
    // (local.member_functions).
    let revoking = table(access_guard::lambda::REVOKING);
    let revokes: BTreeSet<String> = revoking.values().flatten().cloned().collect();
    let member = strings(&local_in("infra/member/main.tf", "member_actions"));
    let called: BTreeSet<String> = every_function()
        .into_iter()
        .filter(|(f, _)| *f != "retro-scan")
        .flat_map(|(_, actions)| actions.iter().copied())
        .filter(|a| {
            !["sns:", "dynamodb:", "sqs:", "organizations:"]
                .iter()
                .any(|central| a.starts_with(central))
        })
        .map(str::to_string)
        .filter(|a| !revokes.contains(a))
        .collect();
    assert_eq!(member, called);
    // The revoke role: exactly what the revoking functions call to revoke.
    assert_eq!(
        strings(&local_in("infra/member/main.tf", "revoke_actions")),
        revokes
    );
    assert_eq!(revokes, code_set(&["ec2:RevokeSecurityGroupIngress"]));
    // Scoped to the account's security groups in the regions in scope.
    let revoke = normalized(&block_text(
        "infra/member/main.tf",
        &["aws_iam_policy_document", "revoke"],
    ));
    for part in [
        "for_each = [for a in local.revoke_actions : a if a == \"ec2:RevokeSecurityGroupIngress\"]",
        "resources = [\"arn:${local.partition}:ec2:*:${local.account}:security-group/*\"]",
        "test = \"StringEquals\" variable = \"aws:RequestedRegion\" values = var.regions",
    ] {
        assert!(holds(&revoke, part), "{part} missing from {revoke}");
    }
    assert_eq!(
        revoke.matches("dynamic\"statement\"").count(),
        1,
        "{revoke}"
    );
    assert_eq!(revoke.matches("statement{").count(), 0, "{revoke}");
}

/// Text without whitespace: HCL compared whatever its layout.
fn normalized(text: &str) -> String {
    text.split_whitespace().collect()
}

/// Whether `text` holds `part`, whatever the layout of either.
fn holds(text: &str, part: &str) -> bool {
    normalized(text).contains(&normalized(part))
}

/// An attribute of `block` (type and labels) in `file`, as one-line HCL text.
fn attribute_text(file: &str, labels: &[&str], path: &[&str]) -> String {
    let body = parsed(file);
    let mut body = body
        .blocks()
        .find(|b| {
            b.labels()
                .iter()
                .map(|l| l.as_str())
                .eq(labels.iter().copied())
        })
        .unwrap_or_else(|| panic!("{labels:?} missing from {file}"))
        .body()
        .clone();
    let (last, blocks) = path.split_last().expect("a path");
    for name in blocks {
        body = body
            .blocks()
            .find(|b| b.identifier() == *name)
            .unwrap_or_else(|| panic!("{name} missing from {labels:?} in {file}"))
            .body()
            .clone();
    }
    let expr = body
        .attributes()
        .find(|a| a.key() == *last)
        .unwrap_or_else(|| panic!("{path:?} missing from {labels:?} in {file}"))
        .expr()
        .clone();
    hcl_text(&expr)
}

/// Least power per function (DESIGN §7.13): only the revoking functions'
/// roles (ingress-guard; the sweep with `sweep_revoke`) hold
/// `ec2:RevokeSecurityGroupIngress`, here and through the member accounts'
/// revoke role, which trusts them and nobody else, in the Terraform module
/// and in the StackSet's template alike.
#[test]
fn only_the_revoking_functions_may_revoke_here_and_in_member_accounts() {
    let revoking = table(access_guard::lambda::REVOKING);
    // The code: ingress-guard lists the revoke; the sweep keeps it apart.
    let functions = table(access_guard::lambda::FUNCTIONS);
    for (function, actions) in &functions {
        let holds = actions.contains("ec2:RevokeSecurityGroupIngress");
        assert_eq!(holds, function == "ingress-guard", "{function}");
    }
    assert!(revoking["ingress-guard"].is_subset(&functions["ingress-guard"]));
    assert_eq!(
        strings(&local("sweep_revoke_actions")),
        code_set(access_guard::lambda::sweep::REVOKE_ACTIONS)
    );
    // The module: who revokes, by sweep_revoke.
    let who = local_expr_in("infra/main.tf", "revoking_functions");
    let hcl::Expression::Conditional(who) = who else {
        panic!("revoking_functions = var.sweep_revoke ? [...] : [...]");
    };
    assert_eq!(hcl_text(&who.cond_expr), "var.sweep_revoke");
    let names = |e: &hcl::Expression| -> BTreeSet<String> {
        strings(&serde_json::to_value(hcl::Value::from(e.clone())).expect("a list"))
    };
    let all: BTreeSet<String> = revoking.keys().cloned().collect();
    assert_eq!(names(&who.true_expr), all);
    let without_sweep: BTreeSet<String> = all.iter().filter(|f| *f != "sweep").cloned().collect();
    assert_eq!(names(&who.false_expr), without_sweep);
    assert_eq!(
        normalized(&hcl_text(&local_expr_in("infra/main.tf", "granted_actions"))),
        normalized("{ for f, actions in local.function_actions : f => f == \"sweep\" && var.sweep_revoke ? concat(actions, local.sweep_revoke_actions) : actions }")
    );
    let policy = normalized(&block_text(
        "infra/iam.tf",
        &["aws_iam_policy_document", "function"],
    ));
    assert!(holds(
        &policy,
        "for_each = [for a in local.granted_actions[each.key] : a if a == \"ec2:RevokeSecurityGroupIngress\"]"
    ), "{policy}");
    assert_eq!(policy.matches("RevokeSecurityGroupIngress").count(), 1);
    // Centrally, the revoke role is assumable by the revoking functions only.
    assert!(holds(
        &policy,
        "contains(local.revoking_functions, each.key) ? [\"arn:${local.partition}:iam::*:role/${local.revoke_role_name}\"] : []"
    ), "{policy}");

    // The revoke role trusts the revoking functions' roles and nobody else:
    // the module passes them, the member module and the template trust them.
    let revoking_arns = "[for f in local.revoking_functions : aws_iam_role.function[f].arn]";
    let parameters = attribute_text(
        "infra/organization.tf",
        &["aws_cloudformation_stack_set", "member"],
        &["parameters"],
    );
    assert!(
        holds(
            &parameters,
            &format!("RevokingRoleArns = join(\",\", {revoking_arns})")
        ),
        "{parameters}"
    );
    let outputs =
        normalized(&std::fs::read_to_string(repo().join("infra/outputs.tf")).expect("outputs"));
    assert!(
        holds(&outputs, &format!("revoking_role_arns = {revoking_arns}")),
        "{outputs}"
    );
    let trust = normalized(&block_text(
        "infra/member/main.tf",
        &["aws_iam_policy_document", "revoke_trust"],
    ));
    assert!(
        holds(
            &trust,
            "type = \"AWS\" identifiers = var.revoking_role_arns }"
        ),
        "{trust}"
    );
    assert_eq!(trust.matches("identifiers").count(), 1, "{trust}");
    assert_eq!(
        attribute_text(
            "infra/member/main.tf",
            &["aws_iam_role", "revoke"],
            &["assume_role_policy"]
        ),
        "data.aws_iam_policy_document.revoke_trust.json"
    );
    let template = member_template();
    let role = &template["Resources"]["RevokeRole"]["Properties"];
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"],
        serde_json::json!([{
            "Effect": "Allow",
            "Principal": { "AWS": { "Ref": "RevokingRoleArns" } },
            "Action": "sts:AssumeRole"
        }])
    );
    // The member role trusts every central function and grants no revoke.
    assert_eq!(
        template["Resources"]["MemberRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            [0]["Principal"]["AWS"],
        serde_json::json!({ "Ref": "CentralRoleArns" })
    );
}

fn member_template() -> Value {
    let path = repo().join("infra/member/member.cfn.json");
    serde_json::from_slice(&std::fs::read(&path).expect("member.cfn.json")).expect("JSON")
}

/// A block of `file` (under the repository) by its labels, as HCL text.
fn block_text(file: &str, labels: &[&str]) -> String {
    let path = repo().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let body: hcl::Body = hcl::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let block = body
        .blocks()
        .find(|b| {
            let found: Vec<&str> = b.labels().iter().map(|l| l.as_str()).collect();
            found == labels
        })
        .unwrap_or_else(|| panic!("{labels:?} missing from {file}"));
    hcl::to_string(block).expect("HCL")
}

#[test]
fn the_optional_sinks_are_granted_exactly_what_their_code_calls_and_only_when_on() {
    // The lists the grants are generated from equal the code's.
    let code =
        |actions: &[&str]| -> BTreeSet<String> { actions.iter().map(|a| a.to_string()).collect() };
    assert_eq!(
        strings(&local_in("infra/sinks.tf", "security_hub_actions")),
        code(access_guard::aws::SECURITY_HUB_ACTIONS)
    );
    assert_eq!(
        strings(&local_in("infra/sinks.tf", "chatbot_actions")),
        code(access_guard::aws::CHATBOT_ACTIONS)
    );
    // No function lists them among its own actions: they are granted only
    // when a sink is on.
    for (function, actions) in every_function() {
        for a in access_guard::aws::SECURITY_HUB_ACTIONS {
            assert!(!actions.contains(a), "{function} lists {a}");
        }
    }
    // Each grant: only when its variable is on, on its own resource.
    let policy = block_text("infra/iam.tf", &["aws_iam_policy_document", "function"]);
    let statements: Vec<&str> = policy.split("dynamic \"statement\"").skip(1).collect();
    let grant = |sid: &str| -> &str {
        statements
            .iter()
            .find(|s| s.contains(&format!("sid = \"{sid}\"")))
            .unwrap_or_else(|| panic!("statement {sid} missing from iam.tf"))
    };
    for (sid, switch, list, resource) in [
        (
            "ImportFindings",
            "var.security_hub_findings",
            "local.security_hub_actions",
            "local.security_hub_product_arn",
        ),
        (
            "ResolveFindings",
            "var.security_hub_findings",
            "local.security_hub_actions",
            "local.security_hub_hub_arn",
        ),
        (
            "PublishChatbot",
            "var.chatbot_topic",
            "local.chatbot_actions",
            "aws_sns_topic.chatbot[0].arn",
        ),
    ] {
        let statement = grant(sid);
        let for_each = statement
            .lines()
            .find(|l| l.trim_start().starts_with("for_each"))
            .unwrap_or_default();
        // Not the retro scan's: it has no sink.
        assert!(
            for_each.contains(&format!("{switch} && each.key != \"retro-scan\" ?"))
                && for_each.contains(list),
            "{sid}: {for_each}"
        );
        assert!(statement.contains(resource), "{sid}: {statement}");
    }
    assert!(grant("ImportFindings").contains("securityhub:TargetAccount"));
    // Every other mention of a sink action in the policy is one of these.
    assert_eq!(policy.matches("local.security_hub_actions").count(), 2);
    assert_eq!(policy.matches("local.chatbot_actions").count(), 1);

    // The functions learn the sinks from their environment, under the
    // names the code reads, and the product ARN granted is the one the
    // code imports into (the account's default product).
    let sinks = std::fs::read_to_string(repo().join("infra/sinks.tf")).expect("sinks.tf");
    for var in [
        access_guard::config::SECURITY_HUB_VAR,
        access_guard::config::CHATBOT_TOPIC_VAR,
    ] {
        assert!(
            sinks.contains(&format!("{{ {var} = ")),
            "{var} not set in sinks.tf"
        );
    }
    let template = local_in("infra/sinks.tf", "security_hub_product_arn");
    let arn = template
        .as_str()
        .expect("a template")
        .replace("${local.partition}", "aws")
        .replace("${local.region}", "eu-west-1")
        .replace("${local.account}", "111122223333");
    assert_eq!(
        access_guard::output::asff::Product::parse(&arn),
        Ok(access_guard::output::asff::Product::default_of(
            "aws",
            "eu-west-1",
            "111122223333"
        ))
    );
    let lambda = block_text("infra/lambda.tf", &["aws_lambda_function", "guard"]);
    assert!(lambda.contains("local.sinks_environment"), "{lambda}");
}

#[test]
fn the_member_template_forwards_and_grants_what_the_member_module_does() {
    let path = repo().join("infra/member/member.cfn.json");
    let template: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("member.cfn.json")).expect("JSON");
    let resources = &template["Resources"];
    // The same patterns as the central rules (and the member module, which is given them).
    let patterns = local("event_patterns");
    let functions: Vec<&String> = patterns.as_object().expect("a map").keys().collect();
    for function in &functions {
        // ingress-guard → ForwardIngressGuard
        let logical: String = std::iter::once("Forward".to_string())
            .chain(function.split('-').map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            }))
            .collect();
        let logical = logical.as_str();
        assert_eq!(
            resources[logical]["Properties"]["EventPattern"], patterns[function],
            "{logical}"
        );
    }
    let rules = resources
        .as_object()
        .expect("resources")
        .values()
        .filter(|r| r["Type"] == "AWS::Events::Rule")
        .count();
    assert_eq!(rules, functions.len(), "exactly the guarded events");
    // Each role: the same actions as the member module.
    let granted = |role: &str| -> BTreeSet<String> {
        resources[role]["Properties"]["Policies"]
            .as_array()
            .expect("policies")
            .iter()
            .flat_map(|p| {
                p["PolicyDocument"]["Statement"]
                    .as_array()
                    .expect("statements")
            })
            .map(|s| s["Action"].as_str().expect("one action").to_string())
            .collect()
    };
    assert_eq!(
        granted("MemberRole"),
        strings(&local_in("infra/member/main.tf", "member_actions"))
    );
    assert_eq!(
        granted("RevokeRole"),
        strings(&local_in("infra/member/main.tf", "revoke_actions"))
    );
    // The revoke: this account's security groups, the regions in scope.
    let revoke =
        &resources["RevokeRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        revoke["Resource"],
        serde_json::json!({ "Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:security-group/*" })
    );
    assert_eq!(
        revoke["Condition"],
        serde_json::json!({ "StringEquals": { "aws:RequestedRegion": { "Ref": "Regions" } } })
    );
    let roles: BTreeSet<&str> = resources
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::Role")
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        roles,
        BTreeSet::from(["ForwarderRole", "MemberRole", "RevokeRole"])
    );
    // The StackSet passes exactly the template's parameters.
    let text =
        std::fs::read_to_string(repo().join("infra/organization.tf")).expect("organization.tf");
    let body: hcl::Body = hcl::from_str(&text).expect("organization.tf parses as HCL");
    let stack_set = body
        .blocks()
        .find(|b| {
            b.identifier() == "resource"
                && b.labels().first().map(|l| l.as_str()) == Some("aws_cloudformation_stack_set")
        })
        .expect("the StackSet");
    let passed: BTreeSet<String> = stack_set
        .body()
        .attributes()
        .find(|a| a.key() == "parameters")
        .and_then(|a| match a.expr() {
            hcl::Expression::Object(object) => Some(object.keys().map(|k| k.to_string()).collect()),
            _ => None,
        })
        .expect("parameters = { ... }");
    let declared: BTreeSet<String> = template["Parameters"]
        .as_object()
        .expect("Parameters")
        .keys()
        .cloned()
        .collect();
    assert_eq!(passed, declared);
}

/// The function whose queue an event must reach, or `None`.
fn expected_function(file: &str, event: &Value) -> Option<&'static str> {
    let failed = event["detail"]["errorCode"].as_str();
    let duplicate = matches!(
        failed,
        Some("Client.InvalidPermission.Duplicate" | "InvalidPermission.Duplicate")
    );
    if failed.is_some() && !duplicate {
        return None;
    }
    let source = event["detail"]["eventSource"].as_str().unwrap_or_default();
    let name = event["detail"]["eventName"].as_str().unwrap_or_default();
    // The guard the code registers for the call (the registry the CLI reads).
    let guard = access_guard::guards::REGISTRY.iter().find(|g| {
        g.calls
            .iter()
            .any(|(s, n)| *n == name && source == format!("{s}.amazonaws.com"))
    });
    if guard.is_none() {
        assert!(
            file.contains("not-handled"),
            "{file}: no function handles it; name the file so"
        );
    }
    // Tag calls reach ingress-guard only when they name a security group
    // (DESIGN §7.12): tag floods on other resources stay out of its way.
    let request = &event["detail"]["requestParameters"];
    let names_a_group = match name {
        "CreateTags" | "DeleteTags" => request["resourcesSet"]["items"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| {
                r["resourceId"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("sg-"))
            }),
        "TagResources" => request["resourceARNList"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|arn| {
                arn.as_str()
                    .and_then(access_guard::model::tags::group_of_arn)
                    .is_some()
            }),
        _ => true,
    };
    assert_eq!(
        !names_a_group,
        file.contains("not-routed"),
        "{file}: a tag call on no security group is named not-routed, and only it"
    );
    guard.filter(|_| names_a_group).map(|g| g.function)
}

/// What AWS matches a pattern against, in the shape moto can match: moto
/// flattens objects but not arrays of objects, which AWS matches element
/// by element (a field path matches when any element's value does). An
/// array of objects becomes an object of arrays, one per field, which AWS
/// matches the same way and moto can.
fn matchable(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), matchable(v))).collect())
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            let mut fields: serde_json::Map<String, Value> = serde_json::Map::new();
            for item in items {
                for (k, v) in item.as_object().expect("an object") {
                    let slot = fields
                        .entry(k.clone())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(values) = slot {
                        match matchable(v) {
                            Value::Array(more) => values.extend(more),
                            one => values.push(one),
                        }
                    }
                }
            }
            Value::Object(fields)
        }
        other => other.clone(),
    }
}

/// Every sample event in `events/`, by file name, in file order.
fn sample_events() -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("events"))
        .expect("events/")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let event: Value =
                serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
            (file, event)
        })
        .collect()
}

fn event_id(event: &Value) -> String {
    event["detail"]["eventID"]
        .as_str()
        .expect("eventID")
        .to_string()
}

/// A rule on `bus` with `pattern`, its one target the queue `queue_arn`.
async fn rule_to_queue(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
    function: &str,
    pattern: &Value,
    queue_arn: &str,
) {
    let rule = unique(function);
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("PutRule");
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("PutTargets");
}

/// Puts `event` on `bus` as CloudTrail would (in the shape moto matches).
async fn put_event(events: &aws_sdk_eventbridge::Client, bus: &str, event: &Value) {
    events
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name(bus)
                .source(event["source"].as_str().expect("source"))
                .detail_type(event["detail-type"].as_str().expect("detail-type"))
                .detail(matchable(&event["detail"]).to_string())
                .build(),
        )
        .send()
        .await
        .expect("PutEvents");
}

/// Reads every queue (function → URL) dry: the functions each event id reached.
async fn drain(
    sqs: &aws_sdk_sqs::Client,
    queues: impl IntoIterator<Item = (&String, &String)>,
) -> BTreeMap<String, Vec<String>> {
    let mut arrived: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (function, url) in queues {
        loop {
            let out = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("ReceiveMessage");
            if out.messages().is_empty() {
                break;
            }
            for m in out.messages() {
                let body: Value =
                    serde_json::from_str(m.body().unwrap_or_default()).expect("event JSON");
                arrived
                    .entry(event_id(&body))
                    .or_default()
                    .push(function.clone());
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
    }
    arrived
}

#[tokio::test]
async fn the_event_patterns_route_every_sample_event_to_its_own_function() {
    route_every_sample_event(false).await;
}

/// Organization mode: the events are put on a member account's bus, whose
/// forwarding rules (the same patterns, module `member/`) send them to the
/// central bus, whose rules reach the functions. moto delivers to an
/// event-bus target across accounts; it does not evaluate the central bus
/// policy's `aws:PrincipalOrgID` condition nor the forwarder role, and it
/// rewrites the forwarded envelope's `account` (AWS keeps the sender's).
#[tokio::test]
async fn member_accounts_forward_exactly_the_guarded_events_to_the_central_bus() {
    route_every_sample_event(true).await;
}

async fn route_every_sample_event(through_a_member: bool) {
    let emu = Emulator::connect().await;
    let events = aws_sdk_eventbridge::Client::new(&emu.sdk);
    let patterns = local("event_patterns");
    let bus = unique("guard-bus");
    events
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("CreateEventBus");

    let mut queues = BTreeMap::new();
    for (function, pattern) in patterns.as_object().expect("a map") {
        let (url, queue_arn) = emu.queue(function).await;
        rule_to_queue(&events, &bus, function, pattern, &queue_arn).await;
        queues.insert(function.clone(), url);
    }

    // In organization mode the events start in a member account.
    let (put, put_bus) = if through_a_member {
        let member = emu.member("222233334444", access_guard_e2e::REGION).await;
        let member_events = aws_sdk_eventbridge::Client::new(&member.sdk);
        let member_bus = unique("member-bus");
        member_events
            .create_event_bus()
            .name(&member_bus)
            .send()
            .await
            .expect("CreateEventBus in the member");
        let central_arn = format!(
            "arn:aws:events:{}:{}:event-bus/{bus}",
            access_guard_e2e::REGION,
            access_guard_e2e::ACCOUNT
        );
        for (function, pattern) in patterns.as_object().expect("a map") {
            let rule = unique(&format!("forward-{function}"));
            member_events
                .put_rule()
                .name(&rule)
                .event_bus_name(&member_bus)
                .event_pattern(pattern.to_string())
                .send()
                .await
                .expect("PutRule in the member");
            member_events
                .put_targets()
                .rule(&rule)
                .event_bus_name(&member_bus)
                .targets(
                    aws_sdk_eventbridge::types::Target::builder()
                        .id("central-bus")
                        .arn(&central_arn)
                        .role_arn("arn:aws:iam::222233334444:role/ecs-access-guard-forwarder")
                        .build()
                        .expect("target"),
                )
                .send()
                .await
                .expect("PutTargets in the member");
        }
        (member_events, member_bus)
    } else {
        (events.clone(), bus.clone())
    };

    // Put every sample event on the bus, remembering where each must go.
    let mut expected: BTreeMap<String, (String, Option<&str>)> = BTreeMap::new();
    for (file, event) in sample_events() {
        let id = event_id(&event);
        let earlier = expected.insert(id.clone(), (file.clone(), expected_function(&file, &event)));
        assert!(earlier.is_none(), "{file}: eventID {id} is used twice");
        put_event(&put, &put_bus, &event).await;
    }

    // Read every queue dry and see where each event went.
    let arrived = drain(&emu.sqs, &queues).await;
    let mut wrong = Vec::new();
    for (id, (file, want)) in &expected {
        let got = arrived.get(id).cloned().unwrap_or_default();
        let want: Vec<String> = want.iter().map(|f| f.to_string()).collect();
        if got != want {
            wrong.push(format!("{file}: reached {got:?}, want {want:?}"));
        }
    }
    assert!(
        expected.len() >= 40,
        "only {} sample events",
        expected.len()
    );
    assert!(wrong.is_empty(), "misrouted:\n{}", wrong.join("\n"));
}

/// Every `.tf` file of the module (not the member module), as text.
fn module_text() -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("infra"))
        .expect("infra/")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tf"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("a .tf file"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_policy_reaches_the_functions_as_an_s3_object_never_in_their_environment() {
    // The environment names the object's version; the text is the object's.
    let text = module_text();
    let set: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("ACCESS_GUARD_POLICY ="))
        .collect();
    assert_eq!(
        set,
        ["local.policy_location != null ? { ACCESS_GUARD_POLICY = local.policy_location } : {},"]
    );
    let location = std::fs::read_to_string(repo().join("infra/policy.tf")).expect("policy.tf");
    assert!(
        location.contains("s3://${aws_s3_bucket.policy[0].id}/${local.policy_key}?versionId=${aws_s3_object.policy[0].version_id}"),
        "{location}"
    );
    let object = block_text("infra/policy.tf", &["aws_s3_object", "policy"]);
    assert!(object.contains("content = local.policy"), "{object}");
    assert!(
        object.contains("kms_key_id = aws_kms_key.guard.arn"),
        "{object}"
    );
    // What reading it takes, granted on the object alone.
    let granted = strings(&local_in("infra/policy.tf", "policy_actions"));
    let code: BTreeSet<String> = access_guard::config::POLICY_ACTIONS
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(granted, code);
    let grant = block_text("infra/iam.tf", &["aws_iam_policy_document", "function"]);
    let read_policy = grant
        .split("dynamic \"statement\"")
        .find(|s| s.contains("sid = \"ReadPolicy\""))
        .unwrap_or_else(|| panic!("no ReadPolicy statement in {grant}"));
    let squeezed: String = read_policy.split_whitespace().collect();
    assert!(
        squeezed.contains("for_each=local.policy!=\"\"?[local.policy_actions]:[]")
            && squeezed.contains("actions=statement.value")
            && squeezed
                .contains("resources=[\"${aws_s3_bucket.policy[0].arn}/${local.policy_key}\"]"),
        "{read_policy}"
    );
}

#[test]
fn the_guards_whose_events_may_carry_secrets_have_no_on_failure_destination() {
    let module = strings(&local("redacting_functions"));
    let code: BTreeSet<String> = access_guard::lambda::REDACTING_FUNCTIONS
        .iter()
        .map(|f| f.to_string())
        .collect();
    assert_eq!(module, code);
    // They send the redacted copy themselves: the call is theirs.
    let declared: BTreeMap<&str, &[&str]> = every_function().into_iter().collect();
    for function in access_guard::lambda::REDACTING_FUNCTIONS {
        assert!(
            declared[function].contains(&"sqs:SendMessage"),
            "{function}"
        );
    }
    let invoke = block_text(
        "infra/lambda.tf",
        &["aws_lambda_function_event_invoke_config", "guard"],
    );
    assert!(
        invoke.contains("for_each = contains(local.redacting_functions, each.key) ? [] : [aws_sqs_queue.failures.arn]"),
        "{invoke}"
    );
    assert!(!invoke.contains("\n  destination_config {"), "{invoke}");
    let function = block_text("infra/lambda.tf", &["aws_lambda_function", "guard"]);
    assert!(
        function.contains("contains(local.redacting_functions, each.key) ? { ACCESS_GUARD_FAILURE_QUEUE_URL = aws_sqs_queue.failures.url } : {}"),
        "{function}"
    );
}

/// Operator settings win (DESIGN §7.17): each environment override of a
/// policy setting is passed only when its module variable is set, and each
/// such variable defaults to null, so that a `policy_toml` saying
/// `notify_min_severity = "medium"` is what the functions use.
#[test]
fn the_module_passes_a_policy_override_only_when_its_variable_is_set() {
    use access_guard::config::{DRY_RUN_VAR, EXEMPTION_TAG_KEY_VAR, NOTIFY_MIN_SEVERITY_VAR};
    let overrides = [
        (DRY_RUN_VAR, "dry_run"),
        (NOTIFY_MIN_SEVERITY_VAR, "notify_min_severity"),
        (EXEMPTION_TAG_KEY_VAR, "exemption_tag_key"),
        // Not a policy setting, but the same rule: unset, the code decides.
        (access_guard::aws::tls::TLS_ROOTS_VAR, "tls_roots"),
    ];
    let env = local_expr_in("infra/main.tf", "common_environment");
    let hcl::Expression::FuncCall(merge) = &env else {
        panic!("common_environment is merge(...): {}", hcl_text(&env));
    };
    assert_eq!(merge.name.to_string(), "merge");
    let mut guarded: BTreeMap<String, String> = BTreeMap::new();
    for arg in &merge.args {
        match arg {
            hcl::Expression::Object(_) => {
                for key in object_keys(arg) {
                    assert!(
                        !overrides.iter().any(|(var, _)| *var == key),
                        "{key} is set unconditionally"
                    );
                }
            }
            hcl::Expression::Conditional(c) => {
                assert!(object_keys(&c.false_expr).is_empty(), "{}", hcl_text(arg));
                for key in object_keys(&c.true_expr) {
                    guarded.insert(key, hcl_text(&c.cond_expr));
                }
            }
            other => panic!("unexpected argument of merge: {}", hcl_text(other)),
        }
    }
    for (var, variable) in overrides {
        assert_eq!(
            guarded.get(var).map(String::as_str),
            Some(format!("var.{variable} != null").as_str()),
            "{var}"
        );
        assert_eq!(
            variable_default("infra/variables.tf", variable),
            Some(hcl::Expression::Null),
            "variable {variable} must default to null"
        );
        // Nowhere else does the module set it.
        for file in ["infra/lambda.tf", "infra/sinks.tf", "infra/sweep.tf"] {
            let text = std::fs::read_to_string(repo().join(file)).expect(file);
            assert!(!text.contains(var), "{file} sets {var}");
        }
    }
}

/// The conditions of the statements of policy document `name` in `file`
/// (with `sid`, or every statement): (test, variable, values as HCL).
fn conditions(file: &str, name: &str, sid: Option<&str>) -> Vec<(String, String, String)> {
    let body = parsed(file);
    let document = body
        .blocks()
        .find(|b| {
            b.identifier() == "data"
                && b.labels()
                    .iter()
                    .map(|l| l.as_str())
                    .eq(["aws_iam_policy_document", name])
        })
        .unwrap_or_else(|| panic!("policy document {name} missing from {file}"));
    let attribute = |body: &hcl::Body, key: &str| -> Option<String> {
        body.attributes()
            .find(|a| a.key() == key)
            .map(|a| hcl_text(a.expr()))
    };
    let statements: Vec<&hcl::Block> = document
        .body()
        .blocks()
        .filter(|b| b.identifier() == "statement")
        .filter(|b| {
            sid.is_none_or(|sid| {
                attribute(b.body(), "sid").as_deref() == Some(&format!("\"{sid}\""))
            })
        })
        .collect();
    assert!(!statements.is_empty(), "{name} {sid:?} missing from {file}");
    statements
        .iter()
        .flat_map(|s| s.body().blocks().filter(|b| b.identifier() == "condition"))
        .map(|c| {
            let get = |k: &str| attribute(c.body(), k).unwrap_or_default();
            (
                get("test").trim_matches('"').to_string(),
                get("variable").trim_matches('"').to_string(),
                normalized(&get("values")),
            )
        })
        .collect()
}

fn condition(test: &str, variable: &str, values: &str) -> (String, String, String) {
    (test.to_string(), variable.to_string(), normalized(values))
}

/// A string attribute (or template) of a resource, as written.
fn resource_string(file: &str, labels: &[&str], key: &str) -> String {
    attribute_text(file, labels, &[key])
        .trim_matches('"')
        .to_string()
}

/// Only AWS's events, from our forwarders (DESIGN §7.14): the central bus
/// takes `PutEvents` only from the forwarder roles of the organization's
/// accounts, not from any principal of the organization; and each service
/// role the module trusts (EventBridge for the forwarder, Scheduler, the
/// CloudWatch alarms publishing to the topic with the key) is bound to our
/// own rules, schedules and alarms by `aws:SourceArn` as well as
/// `aws:SourceAccount`.
#[test]
fn the_central_bus_and_the_service_principals_are_bound_to_our_own_sources() {
    // The bus: the organization's accounts, and in them the forwarder role.
    let bus = conditions("infra/organization.tf", "central_bus", None);
    assert!(
        bus.contains(&condition(
            "StringEquals",
            "aws:PrincipalOrgID",
            "[var.organization_id]"
        )),
        "{bus:?}"
    );
    let forwarder = local_in("infra/member/main.tf", "forwarder_role_name");
    assert_eq!(forwarder, "${var.name_prefix}-forwarder");
    assert!(
        bus.contains(&condition(
            "ArnLike",
            "aws:PrincipalArn",
            "[\"arn:${local.partition}:iam::*:role/${var.name_prefix}-forwarder\"]"
        )),
        "{bus:?}"
    );
    let template = member_template();
    let role = &template["Resources"]["ForwarderRole"]["Properties"];
    assert_eq!(
        role["RoleName"],
        serde_json::json!({ "Fn::Sub": "${NamePrefix}-forwarder" })
    );

    // The forwarder role: EventBridge, for this account's forwarding rules.
    let trust = conditions("infra/member/main.tf", "forwarder_trust", None);
    assert_eq!(
        trust,
        vec![
            condition("StringEquals", "aws:SourceAccount", "[local.account]"),
            condition(
                "ArnLike",
                "aws:SourceArn",
                "[\"arn:${local.partition}:events:*:${local.account}:rule/${var.name_prefix}-forward-*\"]"
            ),
        ]
    );
    let rule = resource_string(
        "infra/member/main.tf",
        &["aws_cloudwatch_event_rule", "forward"],
        "name",
    );
    assert!(rule.starts_with("${var.name_prefix}-forward-"), "{rule}");
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"],
        serde_json::json!({
            "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } },
            "ArnLike": { "aws:SourceArn": { "Fn::Sub": "arn:${AWS::Partition}:events:*:${AWS::AccountId}:rule/${NamePrefix}-forward-*" } }
        })
    );
    for (name, resource) in template["Resources"].as_object().expect("resources") {
        if resource["Type"] == "AWS::Events::Rule" {
            let rule = resource["Properties"]["Name"]["Fn::Sub"]
                .as_str()
                .unwrap_or_default();
            assert!(rule.starts_with("${NamePrefix}-forward-"), "{name}: {rule}");
        }
    }

    // Scheduler: the module's two schedules.
    let scheduler = conditions("infra/sweep.tf", "scheduler_assume", None);
    let schedule = |name: &str| {
        format!(
            "\"arn:${{local.partition}}:scheduler:${{local.region}}:${{local.account}}:schedule/default/{}\"",
            resource_string("infra/sweep.tf", &["aws_scheduler_schedule", name], "name")
        )
    };
    assert_eq!(
        scheduler,
        vec![
            condition("StringEquals", "aws:SourceAccount", "[local.account]"),
            condition(
                "ArnEquals",
                "aws:SourceArn",
                &format!("[{}, {}]", schedule("sweep"), schedule("summary"))
            ),
        ]
    );
    let groups = std::fs::read_to_string(repo().join("infra/sweep.tf")).expect("sweep.tf");
    assert!(
        !groups.contains("group_name"),
        "the schedules are in the default group"
    );

    // CloudWatch alarms: ours, on the topic and the key.
    let alarms = vec![
        condition("StringEquals", "aws:SourceAccount", "[local.account]"),
        condition(
            "ArnLike",
            "aws:SourceArn",
            "[\"arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:${var.name_prefix}-*\"]",
        ),
    ];
    assert_eq!(
        conditions("infra/sns.tf", "topic", Some("AlarmsPublish")),
        alarms
    );
    assert_eq!(
        conditions("infra/kms.tf", "key", Some("AlarmsPublish")),
        alarms
    );
    for alarm in ["function_errors", "failures"] {
        let name = resource_string(
            "infra/failures.tf",
            &["aws_cloudwatch_metric_alarm", alarm],
            "alarm_name",
        );
        assert!(name.starts_with("${var.name_prefix}-"), "{alarm}: {name}");
    }
}

/// The failure queue holds events with their details: only the module's
/// roles may send to it, and only the named break-glass principals may
/// read, delete or purge what it holds (nobody, when none is named).
#[test]
fn the_failure_queue_admits_only_the_module_roles_and_the_break_glass_readers() {
    assert_eq!(
        attribute_text(
            "infra/failures.tf",
            &["aws_sqs_queue_policy", "failures"],
            &["policy"]
        ),
        "data.aws_iam_policy_document.failures.json"
    );
    assert_eq!(
        normalized(&hcl_text(&local_expr_in(
            "infra/failures.tf",
            "function_role_arns"
        ))),
        normalized("[for f in local.functions : aws_iam_role.function[f].arn]")
    );
    let reads = strings(&local_in("infra/failures.tf", "failure_queue_reads"));
    for read in ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue"] {
        assert!(reads.contains(read), "{read}");
    }
    let policy = block_text(
        "infra/failures.tf",
        &["aws_iam_policy_document", "failures"],
    );
    let statements: Vec<String> = policy.split("statement").skip(1).map(normalized).collect();
    let by_sid = |sid: &str| -> &String {
        statements
            .iter()
            .find(|s| s.contains(&format!("sid=\"{sid}\"")))
            .unwrap_or_else(|| panic!("{sid} missing from {policy}"))
    };
    let send = by_sid("GuardFunctionsSend");
    assert!(
        holds(send, "actions = [\"sqs:SendMessage\"]")
            && holds(send, "identifiers = local.function_role_arns"),
        "{send}"
    );
    let others = by_sid("DenySendFromOthers");
    for part in [
        "effect = \"Deny\"",
        "actions = [\"sqs:SendMessage\"]",
        "type = \"*\" identifiers = [\"*\"]",
        "test = \"ArnNotEquals\" variable = \"aws:PrincipalArn\" values = local.function_role_arns",
    ] {
        assert!(holds(others, part), "{part}: {others}");
    }
    let glass = by_sid("BreakGlassReads");
    assert!(
        holds(
            glass,
            "for_each = length(var.failure_queue_readers) > 0 ? [1] : []"
        ),
        "{glass}"
    );
    assert!(
        holds(glass, "identifiers = var.failure_queue_readers"),
        "{glass}"
    );
    let deny_others = by_sid("DenyReadsFromOthers");
    for part in [
        "for_each = length(var.failure_queue_readers) > 0 ? [1] : []",
        "effect = \"Deny\"",
        "actions = local.failure_queue_reads",
        "type = \"*\" identifiers = [\"*\"]",
        "test = \"ArnNotEquals\" variable = \"aws:PrincipalArn\" values = var.failure_queue_readers",
    ] {
        assert!(holds(deny_others, part), "{part}: {deny_others}");
    }
    let deny_all = by_sid("DenyReads");
    for part in [
        "for_each = length(var.failure_queue_readers) > 0 ? [] : [1]",
        "effect = \"Deny\"",
        "actions = local.failure_queue_reads",
    ] {
        assert!(holds(deny_all, part), "{part}: {deny_all}");
    }
    assert!(!deny_all.contains("condition"), "{deny_all}");
    // Every Allow names its principals; only Deny statements name "*".
    for statement in &statements {
        if statement.contains("identifiers=[\"*\"]") {
            assert!(statement.contains("effect=\"Deny\""), "{statement}");
        }
    }
    // The readers decrypt the messages through SQS, and nobody else new.
    let key = normalized(&block_text(
        "infra/kms.tf",
        &["aws_iam_policy_document", "key"],
    ));
    assert!(holds(
        &key,
        "identifiers = var.failure_queue_readers } condition { test = \"StringEquals\" variable = \"kms:ViaService\" values = [\"sqs.${local.region}.amazonaws.com\"] }"
    ), "{key}");
}

/// The module's guard rules for a listed scope of `accounts`, as
/// `infra/events.tf` builds them: (function, pattern) per rule, the
/// accounts sorted, deduplicated and split `accounts_per_rule` to a rule.
fn guard_rules(accounts: &[String]) -> Vec<(String, Value)> {
    let events = "infra/events.tf";
    assert_eq!(
        normalized(&hcl_text(&local_expr_in(events, "account_chunks"))),
        normalized("local.organization && length(var.organization_accounts) > 0 ? chunklist(sort(distinct(var.organization_accounts)), local.accounts_per_rule) : [[]]")
    );
    assert!(holds(
        &hcl_text(&local_expr_in(events, "guard_rules")),
        "pattern = jsonencode(merge(pattern, length(accounts) > 0 ? { account = accounts } : {}))"
    ));
    let per_rule = local_in(events, "accounts_per_rule")
        .as_u64()
        .expect("a number") as usize;
    let mut sorted: Vec<String> = accounts.to_vec();
    sorted.sort();
    sorted.dedup();
    let patterns = local("event_patterns");
    let mut rules = Vec::new();
    for (function, pattern) in patterns.as_object().expect("a map") {
        for chunk in sorted.chunks(per_rule) {
            let mut pattern = pattern.clone();
            pattern["account"] = serde_json::json!(chunk);
            rules.push((function.clone(), pattern));
        }
    }
    rules
}

/// 12-digit accounts, `n` of them, none the emulator's.
fn accounts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{:012}", 500_000_000_000u64 + i as u64))
        .collect()
}

/// A listed scope of 2,000 accounts still deploys: no pattern passes
/// EventBridge's 2,048 characters, and the rules fit in the 300 a bus holds.
#[test]
fn a_listed_scope_of_two_thousand_accounts_fits_eventbridge_limits() {
    let rules = guard_rules(&accounts(2000));
    let longest = rules
        .iter()
        .map(|(_, p)| serde_json::to_string(p).expect("JSON").len())
        .max()
        .expect("rules");
    assert!(longest <= 2048, "a pattern of {longest} characters");
    assert!(rules.len() <= 300, "{} rules", rules.len());
    let functions = local("event_patterns").as_object().expect("a map").len();
    assert_eq!(rules.len(), functions * 2000usize.div_ceil(60));
}

/// Organization mode with listed accounts: the central rules route an
/// event by its envelope's account too. Installed in moto (which matches
/// the envelope's `account`, the putting account), split over five rules
/// per function: every sample event put by an account in the scope reaches
/// its function once, and the same events put by an account outside it
/// reach nothing.
#[tokio::test]
async fn the_central_rules_drop_events_from_accounts_outside_a_listed_scope() {
    let emu = Emulator::connect().await;
    let outsider = emu.member("222233334444", access_guard_e2e::REGION).await;
    // The emulator's account among 250: in one of five rules.
    let mut scope = accounts(250);
    scope[120] = access_guard_e2e::ACCOUNT.to_string();
    let rules = guard_rules(&scope);
    assert_eq!(
        rules.len(),
        5 * local("event_patterns").as_object().expect("a map").len()
    );

    let sample = sample_events();
    let expected: BTreeMap<String, Option<&str>> = sample
        .iter()
        .map(|(file, event)| (event_id(event), expected_function(file, event)))
        .collect();

    // The same rules on a bus of each account, to queues of that account
    // (moto delivers a rule's events to the queue of that name in the rule's
    // own account).
    let mut arrived: Vec<BTreeMap<String, Vec<String>>> = Vec::new();
    for at in [&emu, &outsider] {
        let events = aws_sdk_eventbridge::Client::new(&at.sdk);
        let bus = unique("central");
        events
            .create_event_bus()
            .name(&bus)
            .send()
            .await
            .expect("CreateEventBus");
        let mut queues = BTreeMap::new();
        for (function, _) in &rules {
            if !queues.contains_key(function) {
                queues.insert(function.clone(), at.queue(function).await);
            }
        }
        for (function, pattern) in &rules {
            rule_to_queue(&events, &bus, function, pattern, &queues[function].1).await;
        }
        for (_, event) in &sample {
            put_event(&events, &bus, event).await;
        }
        let got = drain(&at.sqs, queues.iter().map(|(f, (url, _))| (f, url))).await;
        arrived.push(got);
    }
    let (inside, outside) = (&arrived[0], &arrived[1]);
    let mut wrong = Vec::new();
    for (id, want) in &expected {
        let got = inside.get(id).cloned().unwrap_or_default();
        let want: Vec<String> = want.iter().map(|f| f.to_string()).collect();
        if got != want {
            wrong.push(format!("{id}: reached {got:?}, want {want:?}"));
        }
    }
    assert!(expected.values().filter(|f| f.is_some()).count() >= 30);
    assert!(
        wrong.is_empty(),
        "in scope, misrouted:\n{}",
        wrong.join("\n")
    );
    assert!(
        outside.is_empty(),
        "outside the scope, delivered: {outside:?}"
    );
}

/// The central bus takes events only from `<name_prefix>-forwarder` roles:
/// the member module must name its forwarder with the central prefix, so
/// the central module hands it on and the example passes it to every member.
#[test]
fn the_members_name_their_forwarder_with_the_central_prefix() {
    let inputs = block_text("infra/outputs.tf", &["member_inputs"]);
    let squeezed: String = inputs.split_whitespace().collect();
    assert!(squeezed.contains("name_prefix=var.name_prefix"), "{inputs}");
    let example = std::fs::read_to_string(repo().join("infra/examples/organization/main.tf"))
        .expect("example");
    let members = example.matches("source    = \"../../member\"").count();
    assert!(members >= 2, "{members} member modules");
    let passed = example
        .lines()
        .filter(|l| {
            l.split_whitespace().collect::<String>()
                == "name_prefix=module.central.member_inputs.name_prefix"
        })
        .count();
    assert_eq!(passed, members);
}

// The retro scan (infra/retro.tf): off by default, its state machine valid
// ASL, its roles granted exactly what its definition and its code call.
#[path = "infra_retro.rs"]
mod retro;
