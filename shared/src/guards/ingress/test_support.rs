//! What the ingress guard's tests share: a group with rules, events, a run
//! of the guard with fakes, and readers of what it did.

use serde_json::{json, Value};
use time::macros::date;
use time::Date;

use super::IngressGuard;
use crate::guards::{GuardError, GuardSettings};
use crate::model::event::Event;
use crate::model::net::Source;
use crate::model::sg::{self, Direction, PrefixListEntries, SgRule};
use crate::output::notify::Notification;
use crate::policy::Policy;
use crate::ports::fakes::{MemoryGroups, MemoryNotifier};
use crate::ports::{AwsError, GroupInfo};
use crate::report::{OutcomeKind, Report};

pub(super) const TODAY: Date = date!(2026 - 06 - 01);

/// The embedded policy with revocation on (it is dry-run by default).
pub(super) fn revoking() -> Policy {
    let mut policy = Policy::embedded();
    policy.dry_run = false;
    policy
}

pub(super) fn stored(id: &str, port: i64, cidr: &str, direction: Direction) -> SgRule {
    SgRule {
        rule_id: Some(id.to_string()),
        direction,
        ip_protocol: "tcp".to_string(),
        protocol: crate::model::net::Protocol::Tcp,
        from_port: Some(port),
        to_port: Some(port),
        source: Source::cidr(cidr),
        description: None,
    }
}

pub(super) fn groups(tags: &[(&str, &str)]) -> MemoryGroups {
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
        rules: std::sync::Mutex::new(vec![
            stored("sgr-ssh", 22, "0.0.0.0/0", Direction::Ingress),
            stored("sgr-https", 443, "0.0.0.0/0", Direction::Ingress),
            stored("sgr-out", 22, "0.0.0.0/0", Direction::Egress),
        ]),
        ..MemoryGroups::default()
    }
}

pub(super) fn item(id: &str, port: i64) -> Value {
    json!({"groupId": "sg-1", "securityGroupRuleId": id, "isEgress": false, "ipProtocol": "tcp",
           "fromPort": port, "toPort": port, "cidrIpv4": "0.0.0.0/0"})
}

pub(super) fn event(name: &str, request: Value, response: Value, error: Option<&str>) -> Event {
    let mut record = json!({"eventID": "ev-1", "eventName": name, "recipientAccountId": "111122223333",
        "awsRegion": "eu-west-1", "requestParameters": request, "responseElements": response,
        "userIdentity": {"arn": "arn:aws:sts::111122223333:assumed-role/Dev/jane",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::111122223333:role/Dev"}}}});
    if let Some(code) = error {
        record["errorCode"] = json!(code);
    }
    Event::from_value(&record, "test").unwrap()
}

pub(super) fn mixed() -> Event {
    event(
        sg::AUTHORIZE_INGRESS,
        json!({"groupId": "sg-1"}),
        json!({"securityGroupRuleSet": {"items": [item("sgr-ssh", 22), item("sgr-https", 443)]}}),
        None,
    )
}

pub(super) async fn run(
    groups: &MemoryGroups,
    policy: &Policy,
    settings: &GuardSettings,
    event: &Event,
) -> (Result<Report, GuardError>, Vec<Notification>) {
    run_with(groups, policy, settings, event, None).await
}

/// As [`run`], with the VPC reads of the alert's path lines.
/// The guard over `groups` (read) and `remediator` (revoke), with no
/// optional reads.
pub(super) fn guard<'a>(
    groups: &'a dyn crate::ports::SecurityGroups,
    remediator: &'a MemoryGroups,
    notifier: &'a MemoryNotifier,
    policy: &'a Policy,
    settings: &'a GuardSettings,
) -> IngressGuard<'a> {
    IngressGuard {
        groups,
        organizations: None,
        remediator,
        revocations: None,
        notifier,
        policy,
        settings,
        deadline: None,
        visibility: None,
        vpcs: None,
        services: None,
        iam: None,
    }
}

pub(super) async fn run_with(
    groups: &MemoryGroups,
    policy: &Policy,
    settings: &GuardSettings,
    event: &Event,
    vpcs: Option<&dyn crate::ports::Vpcs>,
) -> (Result<Report, GuardError>, Vec<Notification>) {
    let notifier = MemoryNotifier::default();
    let mut guard = guard(groups, groups, &notifier, policy, settings);
    guard.vpcs = vpcs;
    let result = guard.handle(event, TODAY).await;
    let sent = notifier.sent.lock().unwrap().clone();
    (result, sent)
}

pub(super) fn ids(groups: &MemoryGroups) -> Vec<String> {
    groups
        .rules
        .lock()
        .unwrap()
        .iter()
        .filter_map(|r| r.rule_id.clone())
        .collect()
}

pub(super) fn results(report: &Report) -> Vec<(String, OutcomeKind)> {
    report
        .outcomes
        .iter()
        .map(|o| (o.rule_id.clone(), o.result))
        .collect()
}

pub(super) fn denied(operation: &'static str) -> AwsError {
    AwsError {
        operation,
        code: Some("UnauthorizedOperation".to_string()),
        message: "denied".to_string(),
        retryable: false,
    }
}

pub(super) fn listed(id: &str, port: i64, list: &str) -> SgRule {
    SgRule {
        source: Source::PrefixList(list.to_string()),
        ..stored(id, port, "0.0.0.0/0", Direction::Ingress)
    }
}

pub(super) fn list_item(id: &str, port: i64, list: &str) -> Value {
    json!({"groupId": "sg-1", "securityGroupRuleId": id, "isEgress": false, "ipProtocol": "tcp",
           "fromPort": port, "toPort": port, "prefixListId": list})
}

pub(super) fn through(list: &str) -> Event {
    event(
        sg::AUTHORIZE_INGRESS,
        json!({"groupId": "sg-1"}),
        json!({"securityGroupRuleSet": {"items": [list_item("sgr-pl", 22, list)]}}),
        None,
    )
}

pub(super) fn holding(cidrs: &[&str]) -> Result<PrefixListEntries, AwsError> {
    Ok(PrefixListEntries::Read(
        cidrs.iter().map(|c| Source::cidr(c)).collect(),
    ))
}

pub(super) fn rule_ids(report: &Report) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.rule).collect()
}

pub(super) fn private_https(request: Value) -> Event {
    let item = json!({"groupId": "sg-1", "securityGroupRuleId": "sgr-int", "isEgress": false, "ipProtocol": "tcp",
           "fromPort": 443, "toPort": 443, "cidrIpv4": "10.0.0.0/8"});
    event(
        sg::AUTHORIZE_INGRESS,
        request,
        json!({"securityGroupRuleSet": {"items": [item]}}),
        None,
    )
}

pub(super) fn add_to_list(add: Value) -> Event {
    event(
        sg::MODIFY_PREFIX_LIST,
        json!({"ModifyManagedPrefixListRequest": {"PrefixListId": "pl-1", "CurrentVersion": 3, "AddEntry": add}}),
        json!({"ModifyManagedPrefixListResponse": {"prefixList": {"prefixListId": "pl-1", "prefixListName": "partners"}}}),
        None,
    )
}
