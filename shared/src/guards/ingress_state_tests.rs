//! ingress-guard across invocations: what it keeps in the state table
//! (attempts, rules as seen, exemption tags as set) and what it does while
//! EC2's reads may not show a change yet (DESIGN §7.10, §7.12, §7.15).
//! With fakes and a clock that moves only when slept on: nothing here
//! waits for real.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

use crate::guards::ingress::{IngressGuard, Visibility};
use crate::guards::{GuardError, GuardSettings};
use crate::model::event::Event;
use crate::model::net::{Protocol, Source};
use crate::model::sg::{self, Direction, SgRule};
use crate::policy::{ExemptionStatus, Policy};
use crate::ports::fakes::{FakeClock, MemoryGroups, MemoryNotifier, MemoryState};
use crate::ports::{AttemptState, AwsError, GroupInfo, IngressRemediator, Notifier, Revoked};
use crate::report::{OutcomeKind, Report};

/// When the calls of these tests were made.
const CALLED: OffsetDateTime = datetime!(2026-06-01 10:00:00 UTC);
const TODAY: Date = date!(2026 - 06 - 01);

fn revoking() -> Policy {
    let mut policy = Policy::embedded();
    policy.dry_run = false;
    policy
}

fn rule(id: &str, port: i64, cidr: &str) -> SgRule {
    SgRule {
        rule_id: Some(id.to_string()),
        direction: Direction::Ingress,
        ip_protocol: "tcp".to_string(),
        protocol: Protocol::Tcp,
        from_port: Some(port),
        to_port: Some(port),
        source: Source::cidr(cidr),
        description: None,
    }
}

fn group(tags: &[(&str, &str)], rules: Vec<SgRule>) -> MemoryGroups {
    MemoryGroups {
        info: Some(GroupInfo {
            group_id: "sg-1".to_string(),
            name: "web".to_string(),
            vpc_id: Some("vpc-1".to_string()),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }),
        rules: Mutex::new(rules),
        ..MemoryGroups::default()
    }
}

fn record(id: &str, name: &str, time: &str, request: Value, response: Value) -> Event {
    let record = json!({"eventID": id, "eventName": name, "eventSource": "ec2.amazonaws.com",
        "eventTime": time, "recipientAccountId": "111122223333", "awsRegion": "eu-west-1",
        "requestParameters": request, "responseElements": response,
        "userIdentity": {"arn": "arn:aws:sts::111122223333:assumed-role/Dev/jane",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::111122223333:role/Dev"}}}});
    Event::from_value(&record, "test").unwrap()
}

/// tcp 22 from 0.0.0.0/0 opened as sgr-ssh at `time`.
fn ssh_opened(time: &str) -> Event {
    let item = json!({"groupId": "sg-1", "securityGroupRuleId": "sgr-ssh", "isEgress": false,
        "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"});
    record(
        "ev-ssh",
        sg::AUTHORIZE_INGRESS,
        time,
        json!({"groupId": "sg-1"}),
        json!({"securityGroupRuleSet": {"items": [item]}}),
    )
}

const AT_CALL: &str = "2026-06-01T10:00:00Z";

struct Run<'a> {
    groups: &'a MemoryGroups,
    remediator: Option<&'a dyn IngressRemediator>,
    state: Option<&'a MemoryState>,
    clock: Option<&'a FakeClock>,
    policy: Policy,
    today: Date,
}

impl<'a> Run<'a> {
    fn new(groups: &'a MemoryGroups) -> Run<'a> {
        Run {
            groups,
            remediator: None,
            state: None,
            clock: None,
            policy: revoking(),
            today: TODAY,
        }
    }

    async fn handle(&self, event: &Event) -> (Result<Report, GuardError>, usize) {
        let notifier = MemoryNotifier::default();
        let settings = GuardSettings::default();
        let guard = IngressGuard {
            groups: self.groups,
            organizations: None,
            remediator: self.remediator.unwrap_or(self.groups),
            revocations: self.state.map(|s| s as &dyn crate::ports::RevocationLog),
            notifier: &notifier as &dyn Notifier,
            policy: &self.policy,
            settings: &settings,
            deadline: None,
            visibility: self.clock.map(|clock| Visibility {
                settle: Duration::from_secs(30),
                wait: Duration::from_secs(5),
                poll: Duration::from_secs(1),
                clock,
            }),
            vpcs: None,
            services: None,
            iam: None,
        };
        let result = guard.handle(event, self.today).await;
        let sent = notifier.sent.lock().unwrap().len();
        (result, sent)
    }
}

fn results(report: &Report) -> Vec<(String, OutcomeKind)> {
    report
        .outcomes
        .iter()
        .map(|o| (o.rule_id.clone(), o.result))
        .collect()
}

fn not_yet_visible(result: Result<Report, GuardError>) -> bool {
    matches!(result, Err(GuardError::Aws { source, .. })
        if source.code.as_deref() == Some("NotYetVisible") && source.retryable)
}

// Invariant 15: absence needs proof.

#[tokio::test]
async fn a_rule_not_visible_yet_is_read_again_until_it_is_then_revoked() {
    let g = group(&[], vec![rule("sgr-ssh", 22, "0.0.0.0/0")]);
    *g.rules_unseen_for.lock().unwrap() = 3;
    let clock = FakeClock::at(CALLED + Duration::from_secs(2));
    let run = Run {
        clock: Some(&clock),
        ..Run::new(&g)
    };
    let (report, sent) = run.handle(&ssh_opened(AT_CALL)).await;
    let report = report.unwrap();
    assert_eq!(
        results(&report),
        [("sgr-ssh".to_string(), OutcomeKind::Revoked)]
    );
    assert_eq!(*g.revoke_calls.lock().unwrap(), ["sg-1/sgr-ssh"]);
    assert_eq!(clock.slept.lock().unwrap().len(), 3, "one poll per read");
    assert_eq!(sent, 1);
}

#[tokio::test]
async fn a_rule_missing_right_after_the_call_fails_the_invocation_never_already_absent() {
    let g = group(&[], vec![rule("sgr-https", 443, "0.0.0.0/0")]);
    let clock = FakeClock::at(CALLED + Duration::from_secs(2));
    let run = Run {
        clock: Some(&clock),
        ..Run::new(&g)
    };
    let (result, sent) = run.handle(&ssh_opened(AT_CALL)).await;
    assert!(not_yet_visible(result), "Lambda retries it");
    assert_eq!(sent, 0, "no alert, so no finding resolved anywhere");
    // Read again for at most `wait`, never for real.
    let slept: Duration = clock.slept.lock().unwrap().iter().sum();
    assert_eq!(slept, Duration::from_secs(5));

    // Lambda's retry, once the call is older than `settle`: gone for good.
    *clock.now.lock().unwrap() = CALLED + Duration::from_secs(31);
    clock.slept.lock().unwrap().clear();
    let (report, sent) = run.handle(&ssh_opened(AT_CALL)).await;
    assert_eq!(
        results(&report.unwrap()),
        [("sgr-ssh".to_string(), OutcomeKind::AlreadyAbsent)]
    );
    assert!(
        clock.slept.lock().unwrap().is_empty(),
        "old enough: no wait"
    );
    assert_eq!(sent, 1);
    assert!(g.revoke_calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_call_whose_time_cannot_be_read_never_proves_absence() {
    let g = group(&[], vec![]);
    let clock = FakeClock::at(CALLED + Duration::from_secs(86_400));
    let run = Run {
        clock: Some(&clock),
        ..Run::new(&g)
    };
    let (result, _) = run.handle(&ssh_opened("yesterday")).await;
    assert!(not_yet_visible(result));
}

#[tokio::test]
async fn a_group_missing_right_after_the_call_is_not_yet_visible_then_gone_for_good() {
    let g = group(&[], vec![rule("sgr-ssh", 22, "0.0.0.0/0")]);
    *g.group_unseen_for.lock().unwrap() = 1000;
    let clock = FakeClock::at(CALLED + Duration::from_secs(1));
    let run = Run {
        clock: Some(&clock),
        ..Run::new(&g)
    };
    let (result, sent) = run.handle(&ssh_opened(AT_CALL)).await;
    assert!(not_yet_visible(result));
    assert_eq!(sent, 0);
    *clock.now.lock().unwrap() = CALLED + Duration::from_secs(60);
    let (report, _) = run.handle(&ssh_opened(AT_CALL)).await;
    let report = report.unwrap();
    assert_eq!(
        results(&report),
        [("sgr-ssh".to_string(), OutcomeKind::AlreadyAbsent)]
    );
    assert!(report.notes.iter().any(|n| n == "sg-1 no longer exists"));
    // Visible after a few reads: acted on as usual.
    let g = group(&[], vec![rule("sgr-ssh", 22, "0.0.0.0/0")]);
    *g.group_unseen_for.lock().unwrap() = 2;
    *clock.now.lock().unwrap() = CALLED + Duration::from_secs(1);
    let run = Run {
        clock: Some(&clock),
        ..Run::new(&g)
    };
    let (report, _) = run.handle(&ssh_opened(AT_CALL)).await;
    assert_eq!(
        results(&report.unwrap()),
        [("sgr-ssh".to_string(), OutcomeKind::Revoked)]
    );
}

#[tokio::test]
async fn a_revoke_that_finds_nothing_right_after_the_call_is_retried_not_already_absent() {
    let g = MemoryGroups {
        revoke_finds_nothing: true,
        ..group(&[], vec![rule("sgr-ssh", 22, "0.0.0.0/0")])
    };
    let state = MemoryState::default();
    let clock = FakeClock::at(CALLED + Duration::from_secs(2));
    let run = Run {
        clock: Some(&clock),
        state: Some(&state),
        ..Run::new(&g)
    };
    let (result, _) = run.handle(&ssh_opened(AT_CALL)).await;
    assert!(not_yet_visible(result));
    // The attempt changed nothing, and the table says so: a retry that
    // finds the rule gone will not call it revoked.
    let attempts = state.attempts.lock().unwrap().clone();
    assert_eq!(
        attempts.values().map(|a| a.state).collect::<Vec<_>>(),
        [AttemptState::NotRevoked]
    );
}

// Invariant 10/15: the intent is recorded before the call.

/// Revokes through `groups`, and notes whether the state table held the
/// intent for every rule when the call was made.
struct Witness<'a> {
    groups: &'a MemoryGroups,
    state: &'a MemoryState,
    intent_seen: Mutex<Vec<bool>>,
}

#[async_trait]
impl IngressRemediator for Witness<'_> {
    async fn revoke_ingress(&self, group_id: &str, rule_ids: &[&str]) -> Result<Revoked, AwsError> {
        let attempts = self.state.attempts.lock().unwrap().clone();
        let all = rule_ids.iter().all(|id| {
            attempts
                .iter()
                .any(|(k, a)| k.ends_with(&format!("/{id}")) && a.state == AttemptState::Intended)
        });
        self.intent_seen.lock().unwrap().push(all);
        self.groups.revoke_ingress(group_id, rule_ids).await
    }
}

fn denied(operation: &'static str) -> AwsError {
    AwsError {
        operation,
        code: Some("AccessDeniedException".to_string()),
        message: "denied".to_string(),
        retryable: false,
    }
}

#[tokio::test]
async fn the_intent_is_recorded_before_the_call_and_a_retry_after_it_reports_revoked_with_the_undo()
{
    let g = group(&[], vec![rule("sgr-ssh", 22, "0.0.0.0/0")]);
    // The record of success is never written (the table refuses it).
    let state = MemoryState {
        attempt_error: Some((AttemptState::Revoked, denied("PutItem"))),
        ..MemoryState::default()
    };
    let witness = Witness {
        groups: &g,
        state: &state,
        intent_seen: Mutex::new(Vec::new()),
    };
    let run = Run {
        state: Some(&state),
        remediator: Some(&witness),
        ..Run::new(&g)
    };
    let event = ssh_opened(AT_CALL);
    let (first, _) = run.handle(&event).await;
    let first = first.unwrap();
    assert_eq!(*witness.intent_seen.lock().unwrap(), [true]);
    let undo = first.outcomes[0].restore.clone().expect("an undo command");
    assert!(undo.contains(r#""CidrIp":"0.0.0.0/0""#), "{undo}");

    // The retry (the first attempt's invocation failed after the call):
    // the rule is gone, and the intent says whose doing that was.
    let (retry, _) = run.handle(&event).await;
    let retry = retry.unwrap();
    assert_eq!(
        results(&retry),
        [("sgr-ssh".to_string(), OutcomeKind::Revoked)]
    );
    assert!(retry.outcomes[0].earlier_attempt);
    assert_eq!(retry.outcomes[0].restore.as_deref(), Some(undo.as_str()));
    assert_eq!(
        witness.intent_seen.lock().unwrap().len(),
        1,
        "not revoked twice"
    );
}

#[tokio::test]
async fn an_attempt_ec2_refused_is_no_claim_when_the_rule_goes_otherwise() {
    let mut g = group(&[], vec![rule("sgr-ssh", 22, "0.0.0.0/0")]);
    g.revoke_error = Some(denied("RevokeSecurityGroupIngress"));
    let state = MemoryState::default();
    let event = ssh_opened(AT_CALL);
    {
        let run = Run {
            state: Some(&state),
            ..Run::new(&g)
        };
        let (first, _) = run.handle(&event).await;
        assert_eq!(
            results(&first.unwrap()),
            [("sgr-ssh".to_string(), OutcomeKind::Failed)]
        );
    }
    let writes: Vec<AttemptState> = state
        .attempt_writes
        .lock()
        .unwrap()
        .iter()
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(writes, [AttemptState::Intended, AttemptState::NotRevoked]);
    // Someone else removes it; the retry does not claim it.
    g.rules.lock().unwrap().clear();
    let run = Run {
        state: Some(&state),
        ..Run::new(&g)
    };
    let (retry, _) = run.handle(&event).await;
    let retry = retry.unwrap();
    assert_eq!(
        results(&retry),
        [("sgr-ssh".to_string(), OutcomeKind::AlreadyAbsent)]
    );
    assert!(!retry.outcomes[0].earlier_attempt);
}

#[tokio::test]
async fn a_rule_gone_when_the_state_table_cannot_be_read_is_never_already_absent() {
    // The first attempt revoked it, but the retry cannot read that it did.
    let g = group(&[], Vec::new());
    let state = MemoryState {
        read_error: Some(denied("GetItem")),
        ..MemoryState::default()
    };
    let run = Run {
        state: Some(&state),
        ..Run::new(&g)
    };
    let (retry, _) = run.handle(&ssh_opened(AT_CALL)).await;
    let retry = retry.unwrap();
    assert_eq!(
        results(&retry),
        [("sgr-ssh".to_string(), OutcomeKind::Failed)]
    );
    assert_eq!(
        retry.outcomes[0].error_code.as_deref(),
        Some("AccessDeniedException")
    );
    assert!(retry
        .notes
        .iter()
        .any(|n| n.contains("could not read the state table")));
}

// A modified rule is offered back as it was before the modification.

fn modify_to_world(event_id: &str) -> Event {
    record(
        event_id,
        sg::MODIFY_RULES,
        AT_CALL,
        json!({"ModifySecurityGroupRulesRequest": {"GroupId": "sg-1", "SecurityGroupRule": {
            "SecurityGroupRuleId": "sgr-db", "SecurityGroupRule": {
                "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "0.0.0.0/0"}}}}),
        json!({"ModifySecurityGroupRulesResponse": {"return": true}}),
    )
}

#[tokio::test]
async fn a_modified_rule_is_restored_as_it_was_when_the_state_table_saw_it() {
    let state = MemoryState::default();
    // The call that created it, from the office only: left in place and kept.
    let office = json!({"groupId": "sg-1", "securityGroupRuleId": "sgr-db", "isEgress": false,
        "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "198.51.100.0/24"});
    let created = record(
        "ev-created",
        sg::AUTHORIZE_INGRESS,
        AT_CALL,
        json!({"groupId": "sg-1"}),
        json!({"securityGroupRuleSet": {"items": [office]}}),
    );
    let g = group(&[], vec![rule("sgr-db", 22, "198.51.100.0/24")]);
    let run = Run {
        state: Some(&state),
        ..Run::new(&g)
    };
    let (report, _) = run.handle(&created).await;
    assert!(report.unwrap().outcomes.is_empty());

    // Then modified to the whole internet, and revoked.
    *g.rules.lock().unwrap() = vec![rule("sgr-db", 22, "0.0.0.0/0")];
    let (report, _) = run.handle(&modify_to_world("ev-modified")).await;
    let report = report.unwrap();
    assert_eq!(
        results(&report),
        [("sgr-db".to_string(), OutcomeKind::Revoked)]
    );
    let restore = report.outcomes[0].restore.as_deref().expect("restore");
    assert!(
        restore.contains(r#""CidrIp":"198.51.100.0/24""#) && !restore.contains("0.0.0.0/0"),
        "{restore}"
    );

    // Never seen before: no restore command, and the alert says why.
    let g = group(&[], vec![rule("sgr-db", 22, "0.0.0.0/0")]);
    let run = Run {
        state: Some(&MemoryState::default()),
        ..Run::new(&g)
    };
    let (report, _) = run.handle(&modify_to_world("ev-unknown")).await;
    let report = report.unwrap();
    assert_eq!(report.outcomes[0].result, OutcomeKind::Revoked);
    assert_eq!(report.outcomes[0].restore, None);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with(
                "sgr-db: the rule as it was before ModifySecurityGroupRules is not known"
            ) && n.ends_with("the rule revoked was tcp 22 from 0.0.0.0/0 (sgr-db)")),
        "{:?}",
        report.notes
    );
}

// Invariant 12: a tag beyond the window when set is invalid for good.

fn tag_set(value: &str, time: &str) -> Event {
    record(
        "ev-tag",
        crate::model::tags::CREATE_TAGS,
        time,
        json!({"resourcesSet": {"items": [{"resourceId": "sg-1"}]},
               "tagSet": {"items": [{"key": "access-guard:exempt", "value": value}]}}),
        json!({"_return": true}),
    )
}

#[tokio::test]
async fn a_tag_beyond_the_window_when_set_is_never_honoured_even_once_its_date_comes_near() {
    // Set on 1 June to expire on 1 October: 122 days ahead, beyond 90.
    let value = "partner SFTP;expires=2026-10-01";
    let state = MemoryState::default();
    let g = group(
        &[("access-guard:exempt", value)],
        vec![rule("sgr-ssh", 22, "0.0.0.0/0")],
    );
    let run = Run {
        state: Some(&state),
        ..Run::new(&g)
    };
    let (report, sent) = run.handle(&tag_set(value, AT_CALL)).await;
    let report = report.unwrap();
    assert_eq!(
        report.exemption.as_ref().map(|e| e.status),
        Some(ExemptionStatus::Unbounded)
    );
    assert_eq!(sent, 1, "alerted");

    // Three months later the date lies within 90 days of today.
    let later = Run {
        state: Some(&state),
        today: date!(2026 - 09 - 01),
        ..Run::new(&g)
    };
    let (report, _) = later.handle(&ssh_opened("2026-09-01T08:00:00Z")).await;
    let report = report.unwrap();
    assert_eq!(
        report.exemption.as_ref().map(|e| e.status),
        Some(ExemptionStatus::Unbounded),
        "invalid for good"
    );
    assert_eq!(
        results(&report),
        [("sgr-ssh".to_string(), OutcomeKind::Revoked)]
    );

    // Without the record of when it was set, only the date can be judged.
    let g = group(
        &[("access-guard:exempt", value)],
        vec![rule("sgr-ssh", 22, "0.0.0.0/0")],
    );
    let unrecorded = Run {
        state: Some(&MemoryState::default()),
        today: date!(2026 - 09 - 01),
        ..Run::new(&g)
    };
    let (report, _) = unrecorded.handle(&ssh_opened("2026-09-01T08:00:00Z")).await;
    assert_eq!(
        results(&report.unwrap()),
        [("sgr-ssh".to_string(), OutcomeKind::Exempt)]
    );

    // A value set within the window is honoured.
    let near = "partner SFTP;expires=2026-07-01";
    let state = MemoryState::default();
    let g = group(
        &[("access-guard:exempt", near)],
        vec![rule("sgr-ssh", 22, "0.0.0.0/0")],
    );
    let run = Run {
        state: Some(&state),
        ..Run::new(&g)
    };
    run.handle(&tag_set(near, AT_CALL)).await.0.unwrap();
    let (report, _) = run.handle(&ssh_opened(AT_CALL)).await;
    assert_eq!(
        results(&report.unwrap()),
        [("sgr-ssh".to_string(), OutcomeKind::Exempt)]
    );
}

#[tokio::test]
async fn a_state_table_that_cannot_say_when_the_tag_was_set_revokes_nothing() {
    let value = "partner SFTP;expires=2026-07-01";
    let g = group(
        &[("access-guard:exempt", value)],
        vec![rule("sgr-ssh", 22, "0.0.0.0/0")],
    );
    let state = MemoryState {
        read_error: Some(denied("GetItem")),
        ..MemoryState::default()
    };
    let run = Run {
        state: Some(&state),
        ..Run::new(&g)
    };
    let (report, _) = run.handle(&ssh_opened(AT_CALL)).await;
    let report = report.unwrap();
    assert_eq!(
        results(&report),
        [("sgr-ssh".to_string(), OutcomeKind::Failed)]
    );
    assert!(g.revoke_calls.lock().unwrap().is_empty());
}
