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

#[test]
fn organization_mode_grants_the_member_role_exactly_what_the_functions_call_there() {
    // Centrally: assuming the member role, and nothing else new.
    let central: BTreeSet<String> =
        strings(&local_in("infra/organization.tf", "organization_actions"));
    let code: BTreeSet<String> = access_guard::ports::aws::ORGANIZATION_ACTIONS
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(central, code);
    // The sweep, besides: the organization's accounts.
    let sweep_central: BTreeSet<String> = strings(&local_in(
        "infra/organization.tf",
        "sweep_organization_actions",
    ));
    let sweep_code: BTreeSet<String> = access_guard::lambda::sweep::ORGANIZATION_ACTIONS
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(sweep_central, sweep_code);
    // In members: what the functions call there (all but publishing the alert,
    // the state table, the work queue and Organizations, which are central).
    let member = strings(&local_in("infra/member/main.tf", "member_actions"));
    let called: BTreeSet<String> = every_function()
        .into_iter()
        .flat_map(|(_, actions)| actions.iter().copied())
        .filter(|a| {
            !["sns:", "dynamodb:", "sqs:", "organizations:"]
                .iter()
                .any(|central| a.starts_with(central))
        })
        .map(str::to_string)
        .collect();
    assert_eq!(member, called);
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
        code(access_guard::ports::aws::SECURITY_HUB_ACTIONS)
    );
    assert_eq!(
        strings(&local_in("infra/sinks.tf", "chatbot_actions")),
        code(access_guard::ports::aws::CHATBOT_ACTIONS)
    );
    // No function lists them among its own actions: they are granted only
    // when a sink is on.
    for (function, actions) in every_function() {
        for a in access_guard::ports::aws::SECURITY_HUB_ACTIONS {
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
        assert!(
            for_each.contains(&format!("{switch} ?")) && for_each.contains(list),
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
    // The member role: the same actions as the member module.
    let granted: BTreeSet<String> = resources["MemberRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| s["Action"].as_str().expect("one action").to_string())
        .collect();
    assert_eq!(
        granted,
        strings(&local_in("infra/member/main.tf", "member_actions"))
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
        let rule = unique(function);
        events
            .put_rule()
            .name(&rule)
            .event_bus_name(&bus)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .expect("PutRule");
        events
            .put_targets()
            .rule(&rule)
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(&queue_arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("PutTargets");
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
    let mut files: Vec<_> = std::fs::read_dir(repo().join("events"))
        .expect("events/")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for path in files {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let event: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
        let id = event["detail"]["eventID"]
            .as_str()
            .expect("eventID")
            .to_string();
        let earlier = expected.insert(id.clone(), (file.clone(), expected_function(&file, &event)));
        assert!(earlier.is_none(), "{file}: eventID {id} is used twice");
        put.put_events()
            .entries(
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .event_bus_name(&put_bus)
                    .source(event["source"].as_str().expect("source"))
                    .detail_type(event["detail-type"].as_str().expect("detail-type"))
                    .detail(matchable(&event["detail"]).to_string())
                    .build(),
            )
            .send()
            .await
            .expect("PutEvents");
    }

    // Read every queue dry and see where each event went.
    let mut arrived: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (function, url) in &queues {
        loop {
            let out = emu
                .sqs
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
                let id = body["detail"]["eventID"]
                    .as_str()
                    .expect("eventID")
                    .to_string();
                arrived.entry(id).or_default().push(function.clone());
                emu.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
    }
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
