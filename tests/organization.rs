//! Organization mode end to end (DESIGN §11), against moto server, whose STS
//! AssumeRole switches account and keeps each account's resources apart: the
//! function runs in account 123456789012 / us-east-1 and acts in the event's
//! own account and region, through the member role elsewhere.

use access_guard::config::FunctionConfig;
use access_guard::lambda::ingress_guard::{handle, Deps};
use access_guard_e2e::faults::{Fault, FaultProxy, FaultRule};
use access_guard_e2e::{authorize_event, endpoint, sdk_config, AlertSink, Emulator, ACCOUNT};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

const MEMBER_B: &str = "222233334444";
const OUTSIDER: &str = "999988887777";

fn config(topic_arn: &str) -> FunctionConfig {
    config_with(topic_arn, &[], "")
}

/// The organization policy with `more` accounts in scope and `extra` TOML.
fn config_with(topic_arn: &str, more: &[&str], extra: &str) -> FunctionConfig {
    let topic_arn = topic_arn.to_string();
    let mut accounts = vec![ACCOUNT, MEMBER_B];
    accounts.extend(more);
    let accounts = serde_json::to_string(&accounts).expect("accounts");
    let policy = format!(
        "dry_run = false\n{extra}\n[organization]\naccounts = {accounts}\nregions = [\"us-east-1\", \"eu-west-1\"]\n"
    );
    FunctionConfig::from_lookup(move |name| match name {
        "ACCESS_GUARD_TOPIC_ARN" => Some(topic_arn.clone()),
        "ACCESS_GUARD_POLICY" => Some(policy.clone()),
        _ => None,
    })
    .expect("config")
}

async fn invoke(deps: &Deps, event: &Value) -> Result<Value, Diagnostic> {
    handle(
        LambdaEvent::new(event.clone(), access_guard_e2e::context()),
        deps,
    )
    .await
    .map_err(Diagnostic::from)
}

/// The event as account `account` in `region` would forward it.
fn from(mut event: Value, account: &str, region: &str) -> Value {
    event["account"] = account.into();
    event["region"] = region.into();
    event["detail"]["recipientAccountId"] = account.into();
    event["detail"]["awsRegion"] = region.into();
    event
}

fn ports(rules: &[(u16, String)]) -> Vec<u16> {
    rules.iter().map(|(port, _)| *port).collect()
}

#[tokio::test]
async fn an_event_from_a_member_is_acted_on_in_that_member_only_and_says_as_whom() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let b = emu.member(MEMBER_B, "us-east-1").await;
    let group_b = b.group(&[]).await;
    let rules_b = b.open_to_world(&group_b, &[22]).await;
    // The central account has a group open the same way: never touched.
    let group_a = emu.group(&[]).await;
    emu.open_to_world(&group_a, &[22]).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn));

    invoke(
        &deps,
        &from(authorize_event(&group_b, &rules_b), MEMBER_B, "us-east-1"),
    )
    .await
    .expect("handler");

    assert!(b.ingress_rules(&group_b).await.is_empty(), "revoked in B");
    assert_eq!(
        ports(&emu.ingress_rules(&group_a).await),
        [22],
        "A untouched"
    );
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].attribute("account").as_deref(), Some(MEMBER_B));
    let both = format!(
        "arn:aws:iam::{MEMBER_B}:role/access-guard-member (reads), arn:aws:iam::{MEMBER_B}:role/access-guard-member-revoke (revokes)"
    );
    assert_eq!(alerts[0].doc["acted_as"], both.as_str());
    assert_eq!(alerts[0].doc["outcomes"][0]["result"], "revoked");
    assert!(sink.texts()[0].contains(&format!("As:    {both}")));
}

#[tokio::test]
async fn an_event_from_another_region_is_acted_on_in_that_region() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let eu = emu.in_region("eu-west-1");
    let group = eu.group(&[]).await;
    let rules = eu.open_to_world(&group, &[22, 443]).await;
    let deps = Deps::new(&emu.sdk, config(&sink.topic_arn));

    invoke(
        &deps,
        &from(authorize_event(&group, &rules), ACCOUNT, "eu-west-1"),
    )
    .await
    .expect("handler");

    assert_eq!(
        ports(&eu.ingress_rules(&group).await),
        [443],
        "22 revoked in eu-west-1"
    );
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts[0].attribute("region").as_deref(), Some("eu-west-1"));
    assert_eq!(alerts[0].doc["acted_as"], "the function's own role");
}

#[tokio::test]
async fn an_event_outside_the_scope_is_alerted_once_and_no_call_reaches_its_account() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let proxy = FaultProxy::start(&endpoint(), vec![]);
    let deps = Deps::new(&sdk_config(&proxy.url, 3).await, config(&sink.topic_arn));
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22]).await;

    for (account, region) in [(OUTSIDER, "us-east-1"), (MEMBER_B, "ap-south-1")] {
        let verdict = invoke(
            &deps,
            &from(authorize_event(&group, &rules), account, region),
        )
        .await
        .expect("no error: no retry loop");
        assert!(
            verdict["could_not_evaluate"]
                .as_str()
                .is_some_and(|r| r.starts_with("outside scope, nothing done")),
            "{verdict}"
        );
    }

    assert_eq!(proxy.calls("AssumeRole"), 0);
    assert_eq!(proxy.calls("DescribeSecurityGroups"), 0);
    assert_eq!(proxy.calls("RevokeSecurityGroupIngress"), 0);
    assert_eq!(sink.alerts(&emu).await.len(), 2, "one alert each");
    assert_eq!(ports(&emu.ingress_rules(&group).await), [22]);
}

#[tokio::test]
async fn a_denied_assume_role_is_alerted_with_the_account_and_the_code_and_fails() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let b = emu.member(MEMBER_B, "us-east-1").await;
    let group = b.group(&[]).await;
    let rules = b.open_to_world(&group, &[22]).await;
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![FaultRule {
            operation: "AssumeRole",
            calls: 1..=99,
            fault: Fault::Error {
                code: "AccessDenied",
                status: 403,
            },
        }],
    );
    let deps = Deps::new(&sdk_config(&proxy.url, 3).await, config(&sink.topic_arn));

    let err = invoke(
        &deps,
        &from(authorize_event(&group, &rules), MEMBER_B, "us-east-1"),
    )
    .await
    .expect_err("Lambda must retry");

    assert_eq!(err.error_type, "AccessGuard.AwsFailure");
    assert!(
        err.error_message.contains("AccessDenied"),
        "{}",
        err.error_message
    );
    assert_eq!(ports(&b.ingress_rules(&group).await), [22], "nothing done");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].doc["could_not_evaluate"],
        format!("could not act in account {MEMBER_B} / region us-east-1: AssumeRole failed: AccessDenied")
    );
}

#[tokio::test]
async fn an_exemption_by_ou_covers_the_accounts_of_that_ou_and_no_other() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    // The central account manages the organization.
    let (orgs, root, ou) = access_guard_e2e::organization_with_new_ou(&emu, "sandboxes").await;
    let sandbox = access_guard_e2e::new_account(&orgs, "sandbox").await;
    orgs.move_account()
        .account_id(&sandbox)
        .source_parent_id(&root)
        .destination_parent_id(&ou)
        .send()
        .await
        .expect("MoveAccount");
    // A second account, left at the root.
    let outside = access_guard_e2e::new_account(&orgs, "other").await;
    let exemption =
        format!("[[exemptions]]\nou = \"{ou}\"\nreason = \"sandbox accounts, SEC-77\"\n");
    let deps = Deps::new(
        &emu.sdk,
        config_with(
            &sink.topic_arn,
            &[sandbox.as_str(), outside.as_str()],
            &exemption,
        ),
    );

    // In the OU: exempt, left alone, the OU named.
    let inside = emu.member(&sandbox, "us-east-1").await;
    let group = inside.group(&[]).await;
    let rules = inside.open_to_world(&group, &[22]).await;
    invoke(
        &deps,
        &from(authorize_event(&group, &rules), &sandbox, "us-east-1"),
    )
    .await
    .expect("handler");
    assert_eq!(ports(&inside.ingress_rules(&group).await), [22]);
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts[0].doc["outcomes"][0]["result"], "exempt");
    assert_eq!(
        alerts[0].doc["exemption"]["source"],
        format!("policy OU {ou} (account {sandbox})")
    );

    // In the organization, not in the OU: revoked.
    let other = emu.member(&outside, "us-east-1").await;
    let group = other.group(&[]).await;
    let rules = other.open_to_world(&group, &[22]).await;
    invoke(
        &deps,
        &from(authorize_event(&group, &rules), &outside, "us-east-1"),
    )
    .await
    .expect("handler");
    assert!(other.ingress_rules(&group).await.is_empty());
    assert_eq!(
        sink.alerts(&emu).await[0].doc["outcomes"][0]["result"],
        "revoked"
    );

    // An account Organizations does not know: its OUs cannot be read, so an
    // exemption cannot be ruled out: nothing revoked, and the alert says why.
    let b = emu.member(MEMBER_B, "us-east-1").await;
    let group = b.group(&[]).await;
    let rules = b.open_to_world(&group, &[22]).await;
    invoke(
        &deps,
        &from(authorize_event(&group, &rules), MEMBER_B, "us-east-1"),
    )
    .await
    .expect("handler");
    assert_eq!(ports(&b.ingress_rules(&group).await), [22]);
    let alert = &sink.alerts(&emu).await[0];
    assert_eq!(alert.doc["outcomes"][0]["result"], "failed");
    assert!(alert.doc["notes"]
        .to_string()
        .contains(&format!("could not read the OUs of account {MEMBER_B}")));
}

/// Whose credentials an access key id carries, as moto's STS says (moto
/// does not check signatures: the key id alone names the session).
async fn whose(emu: &Emulator, access_key_id: &str) -> String {
    let sdk = emu
        .sdk
        .to_builder()
        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
            aws_sdk_ec2::config::Credentials::new(
                access_key_id,
                "unused",
                Some("unused".to_string()),
                None,
                "probe",
            ),
        ))
        .build();
    aws_sdk_sts::Client::new(&sdk)
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity")
        .arn()
        .unwrap_or_default()
        .to_string()
}

/// Least power (DESIGN §7.13): in a member account every read goes through
/// the read-only member role and the revoke, alone, through the revoke
/// role. The fault proxy records the access key that signed each call, and
/// moto's STS names the role session each key belongs to.
#[tokio::test]
async fn a_member_revoke_goes_through_the_revoke_role_and_every_read_through_the_read_only_role() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let b = emu.member(MEMBER_B, "us-east-1").await;
    let group = b.group(&[]).await;
    let rules = b.open_to_world(&group, &[22]).await;
    let proxy = FaultProxy::start(&endpoint(), vec![]);
    let deps = Deps::new(&sdk_config(&proxy.url, 3).await, config(&sink.topic_arn));

    invoke(
        &deps,
        &from(authorize_event(&group, &rules), MEMBER_B, "us-east-1"),
    )
    .await
    .expect("handler");

    assert!(b.ingress_rules(&group).await.is_empty(), "revoked in B");
    let read_role = format!("arn:aws:sts::{MEMBER_B}:assumed-role/access-guard-member/");
    let revoke_role = format!("arn:aws:sts::{MEMBER_B}:assumed-role/access-guard-member-revoke/");
    let revokes = proxy.signers("RevokeSecurityGroupIngress");
    assert!(!revokes.is_empty());
    for key in &revokes {
        let arn = whose(&emu, key).await;
        assert!(
            arn.starts_with(&revoke_role),
            "the revoke was signed by {arn}"
        );
    }
    let mut reads = 0;
    for operation in ["DescribeSecurityGroupRules", "DescribeSecurityGroups"] {
        for key in proxy.signers(operation) {
            let arn = whose(&emu, &key).await;
            assert!(
                arn.starts_with(&read_role),
                "{operation} was signed by {arn}"
            );
            reads += 1;
        }
    }
    assert!(reads > 0, "the rule was read back before the revoke");
    assert_eq!(
        sink.alerts(&emu).await[0].doc["outcomes"][0]["result"],
        "revoked"
    );
}

/// A revoke role that cannot be assumed (missing, or not trusting the
/// function) leaves the rule in place: the reads go on through the read
/// role, the revoke is never tried with the read role's credentials, and
/// the alert says it failed, naming the roles.
#[tokio::test]
async fn a_revoke_role_that_cannot_be_assumed_revokes_nothing_and_is_alerted() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let b = emu.member(MEMBER_B, "us-east-1").await;
    let group = b.group(&[]).await;
    let rules = b.open_to_world(&group, &[22]).await;
    // AssumeRole 1 and 2: the read role (the check, then its credentials
    // at the first read); 3 on: the revoke role, at the revoke.
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![FaultRule {
            operation: "AssumeRole",
            calls: 3..=99,
            fault: Fault::Error {
                code: "AccessDenied",
                status: 403,
            },
        }],
    );
    let deps = Deps::new(&sdk_config(&proxy.url, 3).await, config(&sink.topic_arn));
    let captured = access_guard_e2e::CapturedLogs::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .finish();
    let _logs = tracing::subscriber::set_default(subscriber);

    invoke(
        &deps,
        &from(authorize_event(&group, &rules), MEMBER_B, "us-east-1"),
    )
    .await
    .expect("handler: the failure is the outcome's");

    assert_eq!(
        ports(&b.ingress_rules(&group).await),
        [22],
        "nothing revoked"
    );
    assert_eq!(proxy.calls("RevokeSecurityGroupIngress"), 0);
    assert!(proxy.calls("DescribeSecurityGroupRules") > 0);
    let alert = &sink.alerts(&emu).await[0];
    assert_eq!(alert.doc["outcomes"][0]["result"], "failed");
    assert!(
        alert.doc.to_string().contains("AccessDenied"),
        "{}",
        alert.doc
    );
    assert!(alert.doc["acted_as"]
        .as_str()
        .is_some_and(|a| a.contains("role/access-guard-member-revoke (revokes)")));
    let logs = captured.text();
    assert!(
        logs.contains(&format!(
            "AssumeRole failed: AccessDenied: arn:aws:iam::{MEMBER_B}:role/access-guard-member-revoke"
        )),
        "{logs}"
    );
}
