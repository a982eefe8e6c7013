//! End to end: the ingress-guard handler against moto server. Each test
//! creates a group, opens tcp 22 and 443 to 0.0.0.0/0 in one call, runs the
//! handler on that call's CloudTrail event, then reads the group and the
//! alert back from the emulator.

use access_guard::aws::{Ec2Remediator, Ec2SecurityGroups};
use access_guard::config::FunctionConfig;
use access_guard::lambda::ingress_guard::{handle, Deps};
use access_guard::lambda::OnFirstUse;
use access_guard_e2e::{
    authorize_event, failing_ec2_endpoint, modify_event, older_authorize_event, sdk_config,
    AlertSink, Emulator,
};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The function's configuration: `policy` inline, else one that revokes
/// (the embedded policy is dry-run).
fn config(topic_arn: &str, policy: Option<&str>) -> FunctionConfig {
    config_with_table(topic_arn, policy, None)
}

/// [`config`] with the state table `table`.
fn config_with_table(topic_arn: &str, policy: Option<&str>, table: Option<&str>) -> FunctionConfig {
    let topic_arn = topic_arn.to_string();
    let policy = Some(policy.unwrap_or("dry_run = false").to_string());
    let table = table.map(str::to_string);
    FunctionConfig::from_lookup(move |name| match name {
        "ACCESS_GUARD_TOPIC_ARN" => Some(topic_arn.clone()),
        "ACCESS_GUARD_POLICY" => policy.clone(),
        "ACCESS_GUARD_STATE_TABLE" => table.clone(),
        _ => None,
    })
    .expect("config")
}

/// `event` as if its call was made `days_ago` days before now.
fn made_days_ago(mut event: Value, days_ago: i64) -> Value {
    let at = time::OffsetDateTime::now_utc() - time::Duration::days(days_ago);
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    event["time"] = at.clone().into();
    event["detail"]["eventTime"] = at.into();
    event
}

fn made_today(event: Value) -> Value {
    made_days_ago(event, 0)
}

async fn invoke(deps: &Deps, event: &Value) -> Result<Value, Diagnostic> {
    handle(
        LambdaEvent::new(event.clone(), access_guard_e2e::context()),
        deps,
    )
    .await
    .map_err(Diagnostic::from)
}

fn ports(rules: &[(u16, String)]) -> Vec<u16> {
    let mut p: Vec<u16> = rules.iter().map(|(port, _)| *port).collect();
    p.sort_unstable();
    p
}

fn results(alert_doc: &Value) -> Vec<(String, String)> {
    alert_doc["outcomes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["rule_id"].as_str().unwrap_or_default().to_string(),
                o["result"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn revokes_ssh_keeps_https_and_alerts_then_is_idempotent() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    // A description with a quote: the restore command carries it, quoted.
    let description = "vendor's office, until Friday";
    let rules = emu
        .open_to_world_described(&group, &[22, 443], Some(description))
        .await;
    let ssh_id = rules[0].1.clone();
    let event = authorize_event(&group, &rules);
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));

    invoke(&deps, &event).await.expect("handler");

    assert_eq!(
        ports(&emu.ingress_rules(&group).await),
        vec![443],
        "22 revoked, 443 kept"
    );
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1, "one message per event");
    let alert = &alerts[0];
    assert_eq!(
        alert.subject,
        format!(
            "[REVOKED] [CRITICAL] SSH (22) open to the internet on {group} (123456789012 us-east-1)"
        )
    );
    assert_eq!(alert.attribute("severity").as_deref(), Some("critical"));
    assert_eq!(alert.attribute("action").as_deref(), Some("revoked"));
    // Where, as EC2 showed it; how to look; how to exempt.
    assert!(
        alert.doc["location"]["vpc_id"]
            .as_str()
            .is_some_and(|v| v.starts_with("vpc-")),
        "{}",
        alert.doc
    );
    assert!(
        alert.doc["location"]["group_name"].as_str().is_some(),
        "{}",
        alert.doc
    );
    assert!(alert.doc["links"][0]["url"]
        .as_str()
        .is_some_and(|u| u.ends_with(&format!("#SecurityGroup:groupId={group}"))));
    assert!(alert.doc["exempt_with"]
        .as_str()
        .is_some_and(|c| c.contains(&format!(
            r#"--resources {group} --tags '[{{"Key":"access-guard:exempt","Value":"<reason>;expires="#
        ))));
    let restore = alert.doc["outcomes"][0]["restore"]
        .as_str()
        .expect("a revoked rule says how to restore it")
        .to_string();
    assert_eq!(
        alert.attribute("rule_ids").as_deref(),
        Some("[\"EC2-SG-003\"]")
    );
    assert_eq!(
        results(&alert.doc),
        vec![(ssh_id.clone(), "revoked".to_string())]
    );
    assert_eq!(
        alert.doc["plan"][0]["rule_ids"],
        serde_json::json!([ssh_id])
    );
    let texts = sink.texts();
    assert_eq!(texts.len(), 1);
    for needle in [
        "EC2-SG-003",
        "arn:aws:sts::123456789012:assumed-role/Dev/jane",
        "198.51.100.23",
        &format!("{ssh_id}: revoked"),
    ] {
        assert!(
            texts[0].contains(needle),
            "{needle} not in the text body:\n{}",
            texts[0]
        );
    }

    // The same event again (a Lambda retry, a replay): nothing new, reported as already absent.
    invoke(&deps, &event).await.expect("handler, second time");
    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![443]);
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        results(&alerts[0].doc),
        vec![(ssh_id, "already_absent".to_string())]
    );

    // The restore command, run as written (its --ip-permissions JSON through
    // the SDK), puts exactly the revoked rule back.
    assert!(restore.starts_with(&format!(
        "aws ec2 authorize-security-group-ingress --region us-east-1 --group-id {group} --ip-permissions '"
    )));
    let json = restore
        .split_once(" --ip-permissions '")
        .and_then(|(_, rest)| rest.strip_suffix('\''))
        .expect("quoted permissions")
        // What the shell makes of the quote inside single quotes.
        .replace("'\\''", "'");
    let permissions: serde_json::Value = serde_json::from_str(&json).expect("JSON permissions");
    let p = &permissions[0];
    let permission = aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol(p["IpProtocol"].as_str().unwrap())
        .from_port(p["FromPort"].as_i64().unwrap() as i32)
        .to_port(p["ToPort"].as_i64().unwrap() as i32)
        .ip_ranges(
            aws_sdk_ec2::types::IpRange::builder()
                .cidr_ip(p["IpRanges"][0]["CidrIp"].as_str().unwrap())
                .set_description(p["IpRanges"][0]["Description"].as_str().map(str::to_string))
                .build(),
        )
        .build();
    assert_eq!(
        p.as_object().map(|o| o.len()),
        Some(4),
        "protocol, ports and one range: {p}"
    );
    emu.ec2
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(permission)
        .send()
        .await
        .expect("the restore command's permissions");
    assert_eq!(
        (
            p["IpProtocol"].as_str(),
            p["FromPort"].as_i64(),
            p["ToPort"].as_i64(),
            p["IpRanges"][0]["CidrIp"].as_str(),
            p["IpRanges"][0]["Description"].as_str(),
        ),
        (
            Some("tcp"),
            Some(22),
            Some(22),
            Some("0.0.0.0/0"),
            Some(description)
        ),
        "what open_to_world_described created"
    );
    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![22, 443]);
    let restored = emu
        .ec2
        .describe_security_group_rules()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(&group)
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroupRules");
    let ssh = restored
        .security_group_rules()
        .iter()
        .find(|r| r.is_egress() == Some(false) && r.from_port() == Some(22))
        .expect("22 is back");
    assert_eq!(ssh.description(), Some(description), "with its description");
}

#[tokio::test]
async fn dry_run_revokes_nothing_and_says_would_revoke() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22, 443]).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, Some("dry_run = true")));

    invoke(&deps, &authorize_event(&group, &rules))
        .await
        .expect("handler");

    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![22, 443]);
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].attribute("action").as_deref(),
        Some("would_revoke")
    );
    assert_eq!(results(&alerts[0].doc)[0].1, "dry_run");
    assert!(sink.texts()[0].contains("would revoke"));
}

#[tokio::test]
async fn a_group_exempt_by_tag_is_left_alone_and_the_exemption_named() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu
        .group(&[(
            "access-guard:exempt",
            &format!("public SFTP for partners, SEC-1234;expires={}", in_days(30)),
        )])
        .await;
    let rules = emu.open_to_world(&group, &[22, 443]).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));

    invoke(&deps, &authorize_event(&group, &rules))
        .await
        .expect("handler");

    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![22, 443]);
    let alerts = sink.alerts(&emu).await;
    assert_eq!(results(&alerts[0].doc)[0].1, "exempt");
    assert_eq!(
        alerts[0].doc["exemption"]["reason"],
        "public SFTP for partners, SEC-1234"
    );
    assert!(sink.texts()[0].contains("public SFTP for partners, SEC-1234"));
}

/// The date `days` from today, as a tag's `expires=` writes it.
fn in_days(days: i64) -> String {
    (access_guard::model::today() + time::Duration::days(days)).to_string()
}

#[tokio::test]
async fn a_tag_exemption_without_a_near_expiry_is_not_honoured_and_named() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    for value in [
        "partners forever".to_string(),
        format!("partners;expires={}", in_days(91)),
    ] {
        let group = emu.group(&[("access-guard:exempt", &value)]).await;
        let rules = emu.open_to_world(&group, &[22]).await;
        let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));

        invoke(&deps, &authorize_event(&group, &rules))
            .await
            .expect("handler");

        assert!(
            emu.ingress_rules(&group).await.is_empty(),
            "{value}: revoked"
        );
        let alerts = sink.alerts(&emu).await;
        assert_eq!(alerts[0].doc["exemption"]["status"], "unbounded", "{value}");
        assert_eq!(results(&alerts[0].doc)[0].1, "revoked");
    }
    assert!(sink
        .texts()
        .iter()
        .all(|t| t.contains("NOT HONOURED: a tag exemption needs expires= within")));
}

#[tokio::test]
async fn an_expired_exemption_is_reported_and_not_honoured() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu
        .group(&[("access-guard:exempt", "migration window;expires=2020-01-31")])
        .await;
    let rules = emu.open_to_world(&group, &[22, 443]).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));

    invoke(&deps, &authorize_event(&group, &rules))
        .await
        .expect("handler");

    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![443]);
    let alerts = sink.alerts(&emu).await;
    assert_eq!(results(&alerts[0].doc)[0].1, "revoked");
    assert_eq!(alerts[0].doc["exemption"]["status"], "expired");
    assert!(sink.texts()[0].contains("EXPIRED"));
}

/// An adapter built at its first call, counting how many were built.
fn counted<T: 'static>(
    built: &Arc<AtomicUsize>,
    sdk: &aws_config::SdkConfig,
    build: fn(&aws_config::SdkConfig) -> T,
) -> OnFirstUse<T> {
    let (built, sdk) = (built.clone(), sdk.clone());
    OnFirstUse::new(move || {
        built.fetch_add(1, Ordering::SeqCst);
        build(&sdk)
    })
}

#[tokio::test]
async fn the_usual_event_builds_no_ecs_iam_or_organizations_client() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22]).await;
    let built = Arc::new(AtomicUsize::new(0));
    let mut deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));
    deps.services = counted(&built, &emu.sdk, |sdk| {
        access_guard::aws::estate::EcsGroupServices::new(aws_sdk_ecs::Client::new(sdk))
    });
    deps.iam = counted(&built, &emu.sdk, |sdk| {
        access_guard::aws::iam::IamClient::new(aws_sdk_iam::Client::new(sdk))
    });
    deps.organizations = counted(&built, &emu.sdk, |sdk| {
        access_guard::aws::OrganizationsOus::new(aws_sdk_organizations::Client::new(sdk))
    });

    // A group of the function's own account that no interface uses, and a
    // policy without exemptions by OU: revoked and alerted with EC2 and SNS.
    invoke(&deps, &authorize_event(&group, &rules))
        .await
        .expect("handled");

    assert!(emu.ingress_rules(&group).await.is_empty(), "SSH still open");
    assert_eq!(sink.alerts(&emu).await.len(), 1);
    assert_eq!(
        built.load(Ordering::SeqCst),
        0,
        "an ECS, IAM or Organizations client was built for an event that calls none"
    );
}

#[tokio::test]
async fn a_throttled_revoke_fails_the_invocation_and_changes_nothing() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22, 443]).await;
    // Reads go to moto; the revoke goes to an endpoint that always throttles.
    let throttling = sdk_config(&failing_ec2_endpoint("RequestLimitExceeded", 503), 2).await;
    let config = config(&sink.topic_arn, None);
    let deps = Deps {
        groups: Ec2SecurityGroups::new(aws_sdk_ec2::Client::new(&emu.sdk)),
        remediator: Ec2Remediator::new(aws_sdk_ec2::Client::new(&throttling)),
        vpcs: access_guard::aws::vpc::Ec2Vpcs::new(aws_sdk_ec2::Client::new(&emu.sdk)),
        services: OnFirstUse::client(
            &emu.sdk,
            aws_sdk_ecs::Client::new,
            access_guard::aws::estate::EcsGroupServices::new,
        ),
        iam: OnFirstUse::client(
            &emu.sdk,
            aws_sdk_iam::Client::new,
            access_guard::aws::iam::IamClient::new,
        ),
        organizations: OnFirstUse::client(
            &emu.sdk,
            aws_sdk_organizations::Client::new,
            access_guard::aws::OrganizationsOus::new,
        ),
        state: None,
        common: access_guard::lambda::Common::new(&emu.sdk, config),
    };

    let err = invoke(&deps, &authorize_event(&group, &rules))
        .await
        .expect_err("must fail so Lambda retries");

    assert_eq!(err.error_type, "AccessGuard.AwsRetryable");
    assert!(
        err.error_message.contains("RequestLimitExceeded"),
        "{}",
        err.error_message
    );
    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![22, 443]);
    assert!(
        sink.alerts(&emu).await.is_empty(),
        "the retried invocation alerts, not this one"
    );
}

#[tokio::test]
async fn an_older_record_without_rule_ids_revokes_the_stored_rule_it_created() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22, 443]).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));

    invoke(&deps, &older_authorize_event(&group, &rules))
        .await
        .expect("handler");

    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![443]);
    let alerts = sink.alerts(&emu).await;
    assert_eq!(
        results(&alerts[0].doc),
        vec![(rules[0].1.clone(), "revoked".to_string())]
    );
}

#[tokio::test]
async fn modified_rules_are_revoked_only_when_ec2_says_they_are_ingress() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[443]).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));

    // An ingress rule changed to RDP from anywhere: revoked.
    let https_id = rules[0].1.clone();
    emu.modify_rule(&group, &https_id, 3389, "0.0.0.0/0").await;
    invoke(&deps, &modify_event(&group, &https_id, 3389, "0.0.0.0/0"))
        .await
        .expect("handler");
    assert!(emu.ingress_rules(&group).await.is_empty());
    let alerts = sink.alerts(&emu).await;
    assert_eq!(
        alerts[0].attribute("rule_ids").as_deref(),
        Some("[\"EC2-SG-004\"]")
    );
    assert_eq!(
        results(&alerts[0].doc),
        vec![(https_id, "revoked".to_string())]
    );

    // The egress rule changed to the same shape: never touched, no alert.
    let egress = emu.egress_rules(&group).await;
    let (_, egress_id) = egress.first().expect("default egress rule").clone();
    emu.modify_rule(&group, &egress_id, 3389, "0.0.0.0/0").await;
    invoke(&deps, &modify_event(&group, &egress_id, 3389, "0.0.0.0/0"))
        .await
        .expect("handler");
    assert_eq!(emu.egress_rules(&group).await, vec![(3389, egress_id)]);
    assert!(sink.alerts(&emu).await.is_empty());
}

#[tokio::test]
async fn replays_and_concurrent_deliveries_end_in_the_same_state_without_error() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22, 3389, 443]).await;
    let event = authorize_event(&group, &rules);
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));

    // Two deliveries at once (EventBridge at-least-once), then a third later.
    let (a, b) = tokio::join!(invoke(&deps, &event), invoke(&deps, &event));
    a.expect("first delivery");
    b.expect("concurrent delivery");
    invoke(&deps, &event).await.expect("replay");

    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![443]);
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 3, "one message per delivery");
    // Between them, each offending rule was revoked exactly once.
    for id in [&rules[0].1, &rules[1].1] {
        let revoked = alerts
            .iter()
            .flat_map(|a| results(&a.doc))
            .filter(|(rule, result)| rule == id && result == "revoked")
            .count();
        assert_eq!(revoked, 1, "{id}");
    }
}

#[tokio::test]
async fn the_guard_never_acts_on_its_own_role_but_a_look_alike_session_name_is_no_pass() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22]).await;
    let own_role = format!("arn:aws:iam::{}:role/Dev", access_guard_e2e::ACCOUNT);
    let topic = sink.topic_arn.clone();
    let role = own_role.clone();
    let config = FunctionConfig::from_lookup(move |name| match name {
        "ACCESS_GUARD_TOPIC_ARN" => Some(topic.clone()),
        "ACCESS_GUARD_ROLE_ARN" => Some(role.clone()),
        "ACCESS_GUARD_DRY_RUN" => Some("false".to_string()),
        _ => None,
    })
    .expect("config");
    let deps = Deps::new(&emu.sdk, config);

    // The event's session was issued by the guard's own role: ignored.
    let own = authorize_event(&group, &rules);
    assert_eq!(
        own["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"],
        own_role.as_str()
    );
    let verdict = invoke(&deps, &own).await.expect("handler");
    assert_eq!(verdict["skipped"], "own call: made by the guard's role");
    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![22]);
    assert!(sink.alerts(&emu).await.is_empty());

    // Another role whose session is named like the guard: judged and revoked.
    let mut other = own.clone();
    let identity = &mut other["detail"]["userIdentity"];
    identity["arn"] = format!(
        "arn:aws:sts::{}:assumed-role/Intruder/ecs-access-guard-ingress-guard",
        access_guard_e2e::ACCOUNT
    )
    .into();
    identity["sessionContext"]["sessionIssuer"]["arn"] =
        format!("arn:aws:iam::{}:role/Intruder", access_guard_e2e::ACCOUNT).into();
    invoke(&deps, &other).await.expect("handler");
    assert!(emu.ingress_rules(&group).await.is_empty());
    assert_eq!(sink.alerts(&emu).await.len(), 1);
}

#[tokio::test]
async fn a_rule_narrowed_since_the_event_is_left_alone_and_the_alert_says_why() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22]).await;
    let ssh_id = rules[0].1.clone();
    // Someone narrows the rule before the (late) event arrives.
    emu.modify_rule(&group, &ssh_id, 22, "10.0.0.0/8").await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));

    invoke(&deps, &authorize_event(&group, &rules))
        .await
        .expect("handler");

    assert_eq!(
        emu.ingress_rules(&group).await,
        vec![(22, ssh_id.clone())],
        "nothing revoked on stale evidence"
    );
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        results(&alerts[0].doc),
        vec![(ssh_id, "changed_since".to_string())]
    );
    assert_eq!(
        alerts[0].attribute("action").as_deref(),
        Some("changed_since")
    );
    assert!(
        sink.texts()[0].contains("10.0.0.0/8")
            && sink.texts()[0].contains("no longer breaks a revoke rule"),
        "{}",
        sink.texts()[0]
    );
}

#[tokio::test]
async fn an_event_from_another_account_is_alerted_fails_and_is_never_acted_on() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22]).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));
    let mut event = authorize_event(&group, &rules);
    event["account"] = "999988887777".into();
    event["detail"]["recipientAccountId"] = "999988887777".into();

    let err = invoke(&deps, &event)
        .await
        .expect_err("fails: shows in the error alarm");

    assert_eq!(err.error_type, "AccessGuard.NotHere");
    assert_eq!(
        ports(&emu.ingress_rules(&group).await),
        vec![22],
        "nothing done"
    );
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    let reason = alerts[0].doc["could_not_evaluate"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason
            .starts_with("not evaluated here: event from account 999988887777 / region us-east-1"),
        "{reason}"
    );
    assert!(alerts[0].doc["outcomes"]
        .as_array()
        .is_some_and(Vec::is_empty));

    // Another region of the same account: the same.
    let mut event = authorize_event(&group, &rules);
    event["region"] = "eu-central-1".into();
    event["detail"]["awsRegion"] = "eu-central-1".into();
    let err = invoke(&deps, &event).await.expect_err("another region");
    assert_eq!(err.error_type, "AccessGuard.NotHere");
    assert_eq!(ports(&emu.ingress_rules(&group).await), vec![22]);
    assert_eq!(sink.alerts(&emu).await.len(), 1);
}

#[tokio::test]
async fn a_record_with_nothing_to_judge_alerts_could_not_evaluate_with_the_groups_rules() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    emu.open_to_world(&group, &[22]).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));
    // Trimmed by a log pipeline: the permissions and the created rules are gone.
    let hollow = access_guard_e2e::envelope(
        "ec2",
        "AuthorizeSecurityGroupIngress",
        serde_json::json!({"groupId": group, "ipPermissions": {}}),
        serde_json::json!({"requestId": "r-1", "_return": true}),
    );

    invoke(&deps, &hollow).await.expect("handler");

    assert_eq!(
        ports(&emu.ingress_rules(&group).await),
        vec![22],
        "nothing revoked on a guess"
    );
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0]
            .subject
            .starts_with("[ALERT] [CRITICAL] Could not evaluate Authorize"),
        "{}",
        alerts[0].subject
    );
    assert!(
        alerts[0]
            .subject
            .ends_with(&format!(" on {group} (123456789012 us-east-1)")),
        "where it happened stays whole: {}",
        alerts[0].subject
    );
    assert_eq!(
        alerts[0].doc["could_not_evaluate"],
        "requestParameters.ipPermissions: no rule to judge: the request lists no permission and the response no securityGroupRuleSet"
    );
    assert_eq!(
        alerts[0].doc["findings"][0]["rule"], "EC2-SG-003",
        "the group's current rules, read from EC2"
    );
}

#[tokio::test]
async fn setting_or_removing_the_exemption_tag_is_alerted_with_who_and_until_when() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));
    let until = in_days(14);
    let tags = |name: &str, value: Option<&str>| {
        let mut tag = serde_json::json!({"key": "access-guard:exempt"});
        if let Some(value) = value {
            tag["value"] = value.into();
        }
        // Made today: a tag's expiry window runs from the day it was set.
        made_today(access_guard_e2e::envelope(
            "ec2",
            name,
            serde_json::json!({"resourcesSet": {"items": [{"resourceId": group}]}, "tagSet": {"items": [tag]}}),
            serde_json::json!({"_return": true}),
        ))
    };

    invoke(
        &deps,
        &tags("CreateTags", Some(&format!("partner SFTP;expires={until}"))),
    )
    .await
    .expect("handler");
    invoke(&deps, &tags("DeleteTags", None))
        .await
        .expect("handler");

    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 2);
    let set = alerts
        .iter()
        .find(|a| a.attribute("action").as_deref() == Some("exemption_set"))
        .expect("set");
    assert_eq!(
        set.subject,
        format!("[ALERT] [INFO] Exemption tag set on {group} (123456789012 us-east-1)")
    );
    assert_eq!(set.doc["exemption"]["reason"], "partner SFTP");
    assert_eq!(set.doc["exemption"]["expires"], until.as_str());
    assert_eq!(
        set.doc["actor"],
        "arn:aws:sts::123456789012:assumed-role/Dev/jane"
    );
    let removed = alerts
        .iter()
        .find(|a| a.attribute("action").as_deref() == Some("exemption_removed"))
        .expect("removed");
    assert_eq!(removed.doc["exemption_tag"]["groups"][0], group.as_str());
    assert!(sink
        .texts()
        .iter()
        .any(|t| t.contains("EXEMPTION TAG REMOVED")));
}

#[tokio::test]
async fn a_payload_that_is_not_a_cloudtrail_eventbridge_event_is_an_invalid_event() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));
    let event = authorize_event("sg-0123456789abcdef0", &[(22, "sgr-1".to_string())]);

    // A bare CloudTrail record, without its envelope.
    let err = invoke(&deps, &event["detail"])
        .await
        .expect_err("no envelope");
    assert_eq!(err.error_type, "AccessGuard.InvalidEvent");
    assert!(
        err.error_message.contains("not an EventBridge event"),
        "{}",
        err.error_message
    );

    // Another kind of EventBridge event.
    let mut other = event.clone();
    other["detail-type"] = "EC2 Instance State-change Notification".into();
    let err = invoke(&deps, &other)
        .await
        .expect_err("not a CloudTrail call");
    assert_eq!(err.error_type, "AccessGuard.InvalidEvent");
    assert!(
        err.error_message
            .contains("not \"AWS API Call via CloudTrail\""),
        "{}",
        err.error_message
    );
    assert!(sink.alerts(&emu).await.is_empty());
}

/// A customer-managed prefix list (moto holds it) with `entry`, and a group
/// whose tcp 22 is open to that list: (group, rule id, list id).
async fn ssh_through_a_prefix_list(emu: &Emulator, entry: &str) -> (String, String, String) {
    use aws_sdk_ec2::types::{AddPrefixListEntry, IpPermission, PrefixListId};
    let list = emu
        .ec2
        .create_managed_prefix_list()
        .prefix_list_name(access_guard_e2e::unique("partners"))
        .address_family("IPv4")
        .max_entries(5)
        .entries(AddPrefixListEntry::builder().cidr(entry).build())
        .send()
        .await
        .expect("CreateManagedPrefixList");
    let list_id = list
        .prefix_list()
        .and_then(|l| l.prefix_list_id())
        .expect("prefix list id")
        .to_string();
    let group = emu.group(&[]).await;
    emu.ec2
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .prefix_list_ids(PrefixListId::builder().prefix_list_id(&list_id).build())
                .build(),
        )
        .send()
        .await
        .expect("AuthorizeSecurityGroupIngress");
    let rule_id = emu
        .ec2
        .describe_security_group_rules()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(&group)
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroupRules")
        .security_group_rules()
        .iter()
        .find(|r| r.is_egress() == Some(false))
        .and_then(|r| r.security_group_rule_id())
        .expect("the ingress rule")
        .to_string();
    (group, rule_id, list_id)
}

fn prefix_list_event(group: &str, rule_id: &str, list_id: &str) -> Value {
    access_guard_e2e::envelope(
        "ec2",
        "AuthorizeSecurityGroupIngress",
        serde_json::json!({"groupId": group, "ipPermissions": {"items": [{"ipProtocol": "tcp",
            "fromPort": 22, "toPort": 22, "groups": {}, "ipRanges": {}, "ipv6Ranges": {},
            "prefixListIds": {"items": [{"prefixListId": list_id}]}}]}}),
        serde_json::json!({"_return": true, "securityGroupRuleSet": {"items": [{
            "groupId": group, "securityGroupRuleId": rule_id, "isEgress": false,
            "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "prefixListId": list_id}]}}),
    )
}

/// SSH open to a customer-managed prefix list that holds 0.0.0.0/0 is SSH
/// open to the internet: the list is read from moto (GetManagedPrefixListEntries)
/// and the rule is revoked like a CIDR rule; a list of one partner network
/// is only EC2-SG-011 and nothing is revoked.
#[tokio::test]
async fn ssh_through_a_prefix_list_holding_the_internet_is_revoked_and_a_partner_list_is_not() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));

    let (group, rule_id, list_id) = ssh_through_a_prefix_list(&emu, "0.0.0.0/0").await;
    invoke(&deps, &prefix_list_event(&group, &rule_id, &list_id))
        .await
        .expect("handler");
    assert!(
        emu.ingress_rules(&group).await.is_empty(),
        "the rule through the list is revoked (read back from moto)"
    );
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        results(&alerts[0].doc),
        vec![(rule_id.clone(), "revoked".to_string())]
    );
    let ssh = alerts[0].doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "EC2-SG-003")
        .expect("EC2-SG-003");
    assert_eq!(
        ssh["detail"],
        format!("tcp 22 from prefix list {list_id} ({rule_id}), which holds 0.0.0.0/0")
    );

    let (group, rule_id, list_id) = ssh_through_a_prefix_list(&emu, "198.51.100.0/24").await;
    let verdict = invoke(&deps, &prefix_list_event(&group, &rule_id, &list_id))
        .await
        .expect("handler");
    let rules: Vec<&str> = verdict["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, ["EC2-SG-011"], "{verdict}");
    assert_eq!(emu.ingress_rules(&group).await.len(), 1, "nothing revoked");
}

/// The CreateSecurityGroup record of `group`, created with `tags`.
fn created_with_tags(group: &str, tags: &[(&str, &str)]) -> Value {
    let tags: Vec<Value> = tags
        .iter()
        .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
        .collect();
    access_guard_e2e::envelope(
        "ec2",
        "CreateSecurityGroup",
        serde_json::json!({"groupName": "partner-sftp", "groupDescription": "SFTP",
            "tagSpecificationSet": {"items": [{"resourceType": "security-group", "tags": tags}]}}),
        serde_json::json!({"requestId": "r-1", "_return": true, "groupId": group}),
    )
}

/// The Resource Groups Tagging API's TagResources record (source `aws.tag`)
/// that set the exemption tag to `value` on `group`.
fn tagged_through_the_tagging_api(group: &str, value: &str) -> Value {
    let mut event = access_guard_e2e::envelope(
        "tagging",
        "TagResources",
        serde_json::json!({
            "resourceARNList": [format!("arn:aws:ec2:{}:{}:security-group/{group}", access_guard_e2e::REGION, access_guard_e2e::ACCOUNT)],
            "tags": {"access-guard:exempt": value}}),
        serde_json::json!({"failedResourcesMap": {}}),
    );
    event["source"] = "aws.tag".into();
    event
}

#[tokio::test]
async fn an_exemption_tag_set_at_creation_or_through_the_tagging_api_is_alerted() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn, None));
    let until = in_days(20);
    let value = format!("partner SFTP;expires={until}");
    // Created with the tag (moto keeps the group's tags as AWS does).
    let group = emu.group(&[("access-guard:exempt", &value)]).await;

    invoke(
        &deps,
        &made_today(created_with_tags(
            &group,
            &[("team", "web"), ("access-guard:exempt", &value)],
        )),
    )
    .await
    .expect("handler");
    invoke(
        &deps,
        &made_today(tagged_through_the_tagging_api(&group, &value)),
    )
    .await
    .expect("handler");

    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 2, "each is alerted");
    for alert in &alerts {
        assert_eq!(alert.attribute("action").as_deref(), Some("exemption_set"));
        assert_eq!(
            alert.subject,
            format!("[ALERT] [INFO] Exemption tag set on {group} (123456789012 us-east-1)")
        );
        assert_eq!(alert.doc["exemption_tag"]["groups"][0], group.as_str());
        assert_eq!(alert.doc["exemption"]["reason"], "partner SFTP");
        assert_eq!(alert.doc["exemption"]["expires"], until.as_str());
        assert_eq!(
            alert.doc["actor"],
            "arn:aws:sts::123456789012:assumed-role/Dev/jane"
        );
    }
    let names: Vec<&str> = alerts
        .iter()
        .filter_map(|a| a.doc["event_name"].as_str())
        .collect();
    assert!(
        names.contains(&"CreateSecurityGroup") && names.contains(&"TagResources"),
        "{names:?}"
    );
}

#[tokio::test]
async fn a_tag_set_beyond_the_window_stays_invalid_once_its_date_comes_near() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let table = access_guard_e2e::state_table(&emu).await;
    let deps = Deps::new(
        &emu.sdk,
        config_with_table(&sink.topic_arn, None, Some(&table)),
    );
    // Set 60 days ago to expire 40 days from now: 100 days after it was
    // set, beyond the 90 allowed; today the date lies within 90 days.
    let value = format!("partners;expires={}", in_days(40));
    let group = emu.group(&[("access-guard:exempt", &value)]).await;
    invoke(
        &deps,
        &made_days_ago(tagged_through_the_tagging_api(&group, &value), 60),
    )
    .await
    .expect("handler");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts[0].doc["exemption"]["status"], "unbounded");
    // The table keeps when it was set.
    let set_on = (access_guard::model::today() - time::Duration::days(60)).to_string();
    let items = access_guard_e2e::state_items(
        &emu,
        &table,
        &format!("{}/{}", access_guard_e2e::ACCOUNT, access_guard_e2e::REGION),
    )
    .await;
    assert!(
        items
            .iter()
            .any(|i| i["fingerprint"] == format!("exemption-tag#{group}")
                && i["set_on"] == set_on.as_str()
                && i["value"] == value.as_str()),
        "{items:?}"
    );

    // Now SSH opens on the group: the tag is not honoured, the rule is revoked.
    let rules = emu.open_to_world(&group, &[22]).await;
    invoke(&deps, &authorize_event(&group, &rules))
        .await
        .expect("handler");
    assert!(emu.ingress_rules(&group).await.is_empty(), "revoked");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts[0].doc["exemption"]["status"], "unbounded");
    assert_eq!(results(&alerts[0].doc)[0].1, "revoked");
}

#[tokio::test]
async fn a_modified_rule_is_restored_as_it_was_before_the_modification() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let table = access_guard_e2e::state_table(&emu).await;
    let deps = Deps::new(
        &emu.sdk,
        config_with_table(&sink.topic_arn, None, Some(&table)),
    );
    let group = emu.group(&[]).await;
    // SSH from the office: judged, left in place, and kept as it is.
    emu.ec2
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("198.51.100.0/24")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("AuthorizeSecurityGroupIngress");
    let rules = emu.ingress_rules(&group).await;
    let rule_id = rules[0].1.clone();
    let office: Value = serde_json::from_str(
        &authorize_event(&group, &rules)
            .to_string()
            .replace("0.0.0.0/0", "198.51.100.0/24"),
    )
    .expect("JSON");
    invoke(&deps, &office).await.expect("handler");
    assert_eq!(emu.ingress_rules(&group).await.len(), 1, "left in place");

    // Then opened to the world by a modification: revoked.
    emu.modify_rule(&group, &rule_id, 22, "0.0.0.0/0").await;
    invoke(
        &deps,
        &access_guard_e2e::modify_event(&group, &rule_id, 22, "0.0.0.0/0"),
    )
    .await
    .expect("handler");
    assert!(emu.ingress_rules(&group).await.is_empty(), "revoked");
    let alerts = sink.alerts(&emu).await;
    let revoked = alerts
        .iter()
        .find(|a| a.doc["event_name"] == "ModifySecurityGroupRules")
        .expect("the modification's alert");
    assert_eq!(
        results(&revoked.doc),
        vec![(rule_id.clone(), "revoked".to_string())]
    );
    let restore = revoked.doc["outcomes"][0]["restore"]
        .as_str()
        .expect("a restore command");
    assert!(
        restore.contains("198.51.100.0/24") && !restore.contains("0.0.0.0/0"),
        "{restore}"
    );

    // Run as written, it puts the office rule back.
    let json = restore
        .split_once(" --ip-permissions '")
        .and_then(|(_, rest)| rest.strip_suffix('\''))
        .expect("quoted permissions");
    let p: Value = serde_json::from_str(json).expect("JSON permissions");
    let p = &p[0];
    emu.ec2
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol(p["IpProtocol"].as_str().unwrap())
                .from_port(p["FromPort"].as_i64().unwrap() as i32)
                .to_port(p["ToPort"].as_i64().unwrap() as i32)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip(p["IpRanges"][0]["CidrIp"].as_str().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("the restore command's permissions");
    let back = emu
        .ec2
        .describe_security_group_rules()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(&group)
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroupRules");
    let cidrs: Vec<&str> = back
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .filter_map(|r| r.cidr_ipv4())
        .collect();
    assert_eq!(cidrs, ["198.51.100.0/24"]);
}
