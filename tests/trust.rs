//! What the operator configured, and only AWS's events, end to end against
//! moto server: a policy too large for Lambda's environment read from S3
//! and honoured, a hand-made event never acted on, OUs read again after
//! their cache time, and the failure queue that never receives a secret.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use access_guard::aws::OrganizationsOus;
use access_guard::config::{policy_location, FunctionConfig, POLICY_VAR};
use access_guard::lambda::ingress_guard::{handle, Deps};
use access_guard_e2e::faults::{Fault, FaultProxy, FaultRule};
use access_guard_e2e::{
    authorize_event, endpoint, envelope, sdk_config, unique, AlertSink, Emulator, ACCOUNT,
};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{json, Value};

async fn invoke(deps: &Deps, event: &Value) -> Result<Value, Diagnostic> {
    handle(
        LambdaEvent::new(event.clone(), access_guard_e2e::context()),
        deps,
    )
    .await
    .map_err(Diagnostic::from)
}

/// The event as account `account` would forward it from us-east-1.
fn from(mut event: Value, account: &str) -> Value {
    event["account"] = account.into();
    event["detail"]["recipientAccountId"] = account.into();
    event
}

fn ports(rules: &[(u16, String)]) -> Vec<u16> {
    rules.iter().map(|(port, _)| *port).collect()
}

fn lookup(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

/// Lambda's limit on a function's environment, all variables together.
const LAMBDA_ENVIRONMENT_LIMIT: usize = 4 * 1024;

#[tokio::test]
async fn a_policy_too_large_for_the_environment_is_read_from_s3_and_honoured() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    // A listed scope of 2,000 accounts; the last one is a real member.
    let member = "200000001999";
    let accounts: Vec<String> = (0..2000)
        .map(|i| format!("{:012}", 200_000_000_000u64 + i))
        .collect();
    assert_eq!(accounts.last().map(String::as_str), Some(member));
    let policy = format!(
        "dry_run = false\nnotify_min_severity = \"medium\"\n[organization]\naccounts = {}\nregions = [\"us-east-1\"]\n",
        serde_json::to_string(&accounts).expect("accounts")
    );
    assert!(
        policy.len() > 6 * LAMBDA_ENVIRONMENT_LIMIT,
        "{} bytes",
        policy.len()
    );

    // What the module writes: a versioned bucket, the policy object.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&emu.sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = unique("policy").to_lowercase();
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("PutBucketVersioning");
    let put = s3
        .put_object()
        .bucket(&bucket)
        .key("policy.toml")
        .body(policy.clone().into_bytes().into())
        .send()
        .await
        .expect("PutObject");
    let version = put.version_id().expect("a version").to_string();
    // A later version the functions were not configured with.
    s3.put_object()
        .bucket(&bucket)
        .key("policy.toml")
        .body(b"dry_run = true\n".to_vec().into())
        .send()
        .await
        .expect("PutObject");

    let env = vec![
        ("ACCESS_GUARD_TOPIC_ARN", sink.topic_arn.clone()),
        (
            POLICY_VAR,
            format!("s3://{bucket}/policy.toml?versionId={version}"),
        ),
    ];
    let environment: usize = env.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(environment < LAMBDA_ENVIRONMENT_LIMIT, "{environment}");
    let get = lookup(env);
    let location = policy_location(&get)
        .expect("location")
        .expect("an s3 location");
    let text = access_guard::aws::policy_object::read(&s3, &location)
        .await
        .expect("GetObject");
    // Without the object's text the start fails, naming the variable.
    let err = FunctionConfig::from_lookup(&get)
        .expect_err("unread")
        .to_string();
    assert!(err.starts_with(POLICY_VAR), "{err}");
    let config = FunctionConfig::from_lookup_with(&get, Some(text)).expect("config");
    assert!(!config.policy.dry_run, "the pinned version, not the latest");
    let setting = |key: &str| {
        config
            .policy
            .settings
            .iter()
            .find(|s| s.key == key)
            .map(|s| (s.value.clone(), s.source.to_string()))
    };
    let origin = format!("file s3://{bucket}/policy.toml?versionId={version}");
    assert_eq!(
        setting("notify_min_severity"),
        Some(("\"medium\"".to_string(), origin.clone()))
    );
    assert_eq!(
        setting("organization.accounts"),
        Some(("2000 items".to_string(), origin))
    );
    let deps = Deps::new(&emu.sdk, config);

    // The 2,000th account is in scope: acted on there.
    let b = emu.member(member, "us-east-1").await;
    let group = b.group(&[]).await;
    let rules = b.open_to_world(&group, &[22]).await;
    invoke(&deps, &from(authorize_event(&group, &rules), member))
        .await
        .expect("handler");
    assert!(
        b.ingress_rules(&group).await.is_empty(),
        "revoked in the member"
    );

    // One account more is not: nothing done there.
    let outside = "200000002000";
    let o = emu.member(outside, "us-east-1").await;
    let group = o.group(&[]).await;
    let rules = o.open_to_world(&group, &[22]).await;
    let verdict = invoke(&deps, &from(authorize_event(&group, &rules), outside))
        .await
        .expect("handler");
    assert!(
        verdict["could_not_evaluate"]
            .as_str()
            .is_some_and(|r| r.contains(&format!(
                "account {outside} is not in the organization scope"
            ))),
        "{verdict}"
    );
    assert_eq!(ports(&o.ingress_rules(&group).await), [22]);
}

#[tokio::test]
async fn an_event_not_put_by_aws_is_alerted_and_never_acted_on() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let topic = sink.topic_arn.clone();
    let config = FunctionConfig::from_lookup(lookup(vec![
        ("ACCESS_GUARD_TOPIC_ARN", topic),
        ("ACCESS_GUARD_DRY_RUN", "false".to_string()),
    ]))
    .expect("config");
    let deps = Deps::new(&emu.sdk, config);
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22]).await;

    for source in ["custom.tool", "aws.ecs", "aws.ec2.forged"] {
        let mut event = authorize_event(&group, &rules);
        event["source"] = source.into();
        let verdict = invoke(&deps, &event).await.expect("alerted, not retried");
        assert!(
            verdict["could_not_evaluate"]
                .as_str()
                .is_some_and(|r| r.contains(&format!(
                    "not acted on: the event's source is {source:?}, not \"aws.ec2\""
                ))),
            "{verdict}"
        );
        assert_eq!(ports(&emu.ingress_rules(&group).await), [22], "{source}");
    }
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 3, "one alert each");

    // The same event as AWS puts it is acted on.
    invoke(&deps, &authorize_event(&group, &rules))
        .await
        .expect("handler");
    assert!(emu.ingress_rules(&group).await.is_empty());
}

#[tokio::test]
async fn an_account_moved_to_another_ou_is_judged_by_it_once_the_cache_time_has_passed() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let (orgs, root, ou) = access_guard_e2e::organization_with_new_ou(&emu, "sandboxes").await;
    let account = access_guard_e2e::new_account(&orgs, "moved").await;
    let move_to = |from: String, to: String| {
        let (orgs, account) = (orgs.clone(), account.clone());
        async move {
            orgs.move_account()
                .account_id(&account)
                .source_parent_id(&from)
                .destination_parent_id(&to)
                .send()
                .await
                .expect("MoveAccount");
        }
    };
    move_to(root.clone(), ou.clone()).await;

    let policy = format!(
        "dry_run = false\n[[exemptions]]\nou = \"{ou}\"\nreason = \"sandboxes, SEC-77\"\n\
         [organization]\naccounts = [\"{ACCOUNT}\", \"{account}\"]\nregions = [\"us-east-1\"]\nou_cache_seconds = 120\n"
    );
    let config = FunctionConfig::from_lookup(lookup(vec![
        ("ACCESS_GUARD_TOPIC_ARN", sink.topic_arn.clone()),
        (POLICY_VAR, policy),
    ]))
    .expect("config");
    let ttl = access_guard::lambda::ou_cache(&config.policy);
    assert_eq!(ttl, Duration::from_secs(120));
    let mut deps = Deps::new(&emu.sdk, config);
    // The cache ages by a clock the test moves on.
    let start = Instant::now();
    let elapsed = Arc::new(AtomicU64::new(0));
    let clock = {
        let elapsed = elapsed.clone();
        Arc::new(move || start + Duration::from_secs(elapsed.load(Ordering::SeqCst)))
    };
    let organizations = OrganizationsOus::new(aws_sdk_organizations::Client::new(&emu.sdk))
        .with_ttl(ttl)
        .with_clock(clock);
    deps.organizations = access_guard::lambda::OnFirstUse::new(move || organizations);

    let member = emu.member(&account, "us-east-1").await;
    let attempt = || async {
        let group = member.group(&[]).await;
        let rules = member.open_to_world(&group, &[22]).await;
        invoke(&deps, &from(authorize_event(&group, &rules), &account))
            .await
            .expect("handler");
        ports(&member.ingress_rules(&group).await)
    };

    // In the OU: exempt.
    assert_eq!(attempt().await, [22]);
    // Moved out; within the cache time the OU read before still holds.
    move_to(ou.clone(), root.clone()).await;
    elapsed.store(119, Ordering::SeqCst);
    assert_eq!(attempt().await, [22], "cached for 120 s");
    // Past it, the account is judged where it sits now: revoked.
    elapsed.store(121, Ordering::SeqCst);
    assert_eq!(
        attempt().await,
        Vec::<u16>::new(),
        "read again: no exemption"
    );
    // And moved back, read again after the cache time: exempt again.
    move_to(root, ou).await;
    elapsed.store(242, Ordering::SeqCst);
    assert_eq!(attempt().await, [22]);
}

#[test]
fn the_ou_cache_time_is_at_most_five_minutes() {
    let base = format!("[organization]\naccounts = [\"{ACCOUNT}\"]\nregions = [\"us-east-1\"]\n");
    let policy = access_guard::policy::Policy::from_toml(&base, "p").expect("policy");
    assert_eq!(
        access_guard::lambda::ou_cache(&policy),
        Duration::from_secs(300)
    );
    for bad in ["0", "301", "86400"] {
        let err = access_guard::policy::Policy::from_toml(
            &format!("{base}ou_cache_seconds = {bad}\n"),
            "p",
        )
        .expect_err(bad)
        .to_string();
        assert!(err.contains("organization.ou_cache_seconds"), "{err}");
    }
}

/// A RegisterTaskDefinition whose environment carries a password and a
/// GitHub token.
fn task_definition_event(password: &str, token: &str) -> Value {
    let containers = json!([{
        "name": "app", "image": "nginx:1.27", "privileged": true,
        "environment": [{"name": "DB_PASSWORD", "value": password}, {"name": "GITHUB_TOKEN", "value": token}],
        "command": ["sh", "-c", format!("app --password={password}")]
    }]);
    envelope(
        "ecs",
        "RegisterTaskDefinition",
        json!({"family": "web", "containerDefinitions": containers.clone()}),
        json!({"taskDefinition": {"taskDefinitionArn": format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:7"),
            "family": "web", "revision": 7, "containerDefinitions": containers}}),
    )
}

#[tokio::test]
async fn an_event_the_task_definition_guard_cannot_handle_reaches_the_failure_queue_redacted() {
    use access_guard::lambda::task_definition_guard::{handle, Deps};
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let (queue_url, _) = emu.queue("failures").await;
    // SNS refuses every publish, for good (403) or for now (500): the guard
    // cannot alert, the invocation fails.
    let refusing = |code: &'static str, status: u16| {
        FaultProxy::start(
            &endpoint(),
            vec![FaultRule {
                operation: "Publish",
                calls: 1..=99,
                fault: Fault::Error { code, status },
            }],
        )
    };
    let for_good = refusing("AuthorizationError", 403);
    let sdk = sdk_config(&for_good.url, 1).await;
    let password = "correct-horse-battery";
    let token = access_guard::secrets::formats::well_formed(
        access_guard::secrets::formats::FORMATS
            .iter()
            .find(|f| f.prefix == "ghp_")
            .expect("GitHub's format"),
        11,
    );
    let event = task_definition_event(password, &token);
    let config = |queue: Option<String>| {
        let mut env = vec![("ACCESS_GUARD_TOPIC_ARN", sink.topic_arn.clone())];
        env.extend(queue.map(|q| ("ACCESS_GUARD_FAILURE_QUEUE_URL", q)));
        FunctionConfig::from_lookup(lookup(env)).expect("config")
    };

    // Configured with the failure queue: a redacted copy there, no failure
    // for Lambda to hand on.
    let deps = Deps::new(&sdk, config(Some(queue_url.clone())));
    let context = access_guard_e2e::context();
    let verdict = handle(LambdaEvent::new(event.clone(), context.clone()), &deps)
        .await
        .map_err(Diagnostic::from)
        .expect("handled: the failure is in the queue");
    assert_eq!(verdict["failed"], "AccessGuard.AwsFailure", "{verdict}");
    let messages = emu
        .sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("ReceiveMessage");
    let bodies: Vec<&str> = messages
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    assert_eq!(bodies.len(), 1);
    let body = bodies[0];
    assert!(
        !body.contains(password) && !body.contains("horse"),
        "{body}"
    );
    assert!(!body.contains(&token), "{body}");
    let record: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(record["requestContext"]["condition"], "Error");
    assert_eq!(
        record["requestContext"]["requestId"],
        context.request_id.as_str()
    );
    assert_eq!(record["requestPayloadRedacted"], true);
    assert_eq!(
        record["responsePayload"]["errorType"],
        "AccessGuard.AwsFailure"
    );
    let payload = &record["requestPayload"];
    assert_eq!(payload["detail"]["eventID"], event["detail"]["eventID"]);
    let env = &payload["detail"]["requestParameters"]["containerDefinitions"][0]["environment"];
    assert_eq!(env[0]["name"], "DB_PASSWORD");
    assert_eq!(env[0]["value"], "…(21 chars)");
    assert_eq!(env[1]["value"], "ghp_…(40 chars)");

    // Without it (a deployment that gives the function no failure queue),
    // the invocation fails as before.
    let deps = Deps::new(&sdk, config(None));
    let err = handle(
        LambdaEvent::new(event.clone(), access_guard_e2e::context()),
        &deps,
    )
    .await
    .map_err(Diagnostic::from)
    .expect_err("fails");
    assert_eq!(err.error_type, "AccessGuard.AwsFailure");
    assert!(!err.error_message.contains(password));

    // What may pass on a retry fails the invocation, for Lambda to retry,
    // and sends nothing to the queue.
    let for_now = refusing("InternalError", 500);
    let deps = Deps::new(
        &sdk_config(&for_now.url, 1).await,
        config(Some(queue_url.clone())),
    );
    let err = handle(LambdaEvent::new(event, access_guard_e2e::context()), &deps)
        .await
        .map_err(Diagnostic::from)
        .expect_err("retried");
    assert_eq!(err.error_type, "AccessGuard.AwsRetryable");
    let more = emu
        .sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("ReceiveMessage");
    assert!(more.messages().is_empty(), "no second copy");
}
