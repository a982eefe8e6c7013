//! Plan: the findings and the plan of revocations for a change, from the
//! event and the policy alone, and the offline verdict built on them (the
//! CLI's `check`), saying what only AWS can tell.

use time::Date;

use super::read::{is_prefix_list_call, skip_reason};
use super::report::{exemption_tag_report, prefix_list_report};
use crate::finding::{Action, Finding};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::model::sg::{ChangeKind, SgChange};
use crate::model::tags::ExemptionTagChange;
use crate::policy::Policy;
use crate::report::plan::Plan;
use crate::report::Report;
use crate::rules;
use crate::rules::ec2_sg::default_group::DEFAULT_GROUP;

/// Findings and plan for a change, from the event and the policy alone.
pub fn assess(change: &SgChange, policy: &Policy) -> (Vec<Finding>, Option<Plan>) {
    let findings = rules::evaluate_sg(change, policy);
    let plan = Plan::for_change(change, &findings, policy);
    (findings, plan)
}

/// How the note begins that says the record does not name the group.
pub const GROUP_NOT_NAMED: &str = "the record does not name the group";

/// What offline cannot say about a change, in the report: the group's name
/// when the record lacks it (EC2-SG-010), and what the prefix lists its rules
/// reference hold (they are not read).
fn offline_unverified(change: &SgChange, policy: &Policy, report: &mut Report) {
    let judged = |rule: &rules::Rule| rule.setting(policy).action != Action::Off;
    if change.group_name.is_none() && judged(&DEFAULT_GROUP) && !change.rules.is_empty() {
        report.notes.push(format!(
            "{GROUP_NOT_NAMED}: whether {} is a VPC default group (EC2-SG-010) is unverified; the Lambda reads its name with DescribeSecurityGroups",
            change.resource()
        ));
    }
    for list in change.prefix_list_ids() {
        report.notes.push(format!(
            "prefix list {list} is not read offline: whether it holds the internet is unverified; the Lambda reads it with GetManagedPrefixListEntries"
        ));
    }
}

/// The offline verdict (CLI): what the Lambda would find and plan, with no AWS call.
pub fn evaluate_offline(event: &Event, policy: &Policy, today: Date) -> Result<Report, FieldError> {
    if let Some(reason) = skip_reason(event) {
        return Ok(Report::skipped(event, reason));
    }
    if ExemptionTagChange::is_tag_call(event) {
        return exemption_tag_report(event, policy, today);
    }
    if is_prefix_list_call(event) {
        return prefix_list_report(event, policy);
    }
    let Some(change) = SgChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    let (findings, plan) = assess(&change, policy);
    report.findings = findings;
    if let Some(plan) = plan {
        report.plan = plan.steps();
    }
    report.exemption =
        policy.exemption_for(change.group_id.as_deref(), &event.account, &[], &[], today);
    if event.error_code.is_some() {
        report.notes.push(
            "the rule already existed (duplicate): the Lambda re-reads the group's rules"
                .to_string(),
        );
    }
    if change.kind == ChangeKind::Modify && !report.findings.is_empty() {
        report.notes.push(
            "ModifySecurityGroupRules does not say ingress or egress: the Lambda verifies it with DescribeSecurityGroupRules"
                .to_string(),
        );
    }
    offline_unverified(&change, policy, &mut report);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guards::ingress::test_support::*;
    use crate::guards::GuardSettings;
    use crate::model::sg;
    use serde_json::{json, Value};

    #[tokio::test]
    async fn udp_amplification_is_alerted_and_never_revoked() {
        let g = groups(&[]);
        let item = json!({"groupId": "sg-1", "securityGroupRuleId": "sgr-dns", "isEgress": false, "ipProtocol": "udp",
               "fromPort": 53, "toPort": 53, "cidrIpv4": "0.0.0.0/0"});
        let dns = event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1"}),
            json!({"securityGroupRuleSet": {"items": [item]}}),
            None,
        );
        let (report, sent) = run(&g, &revoking(), &GuardSettings::default(), &dns).await;
        let report = report.unwrap();
        assert_eq!(rule_ids(&report), ["EC2-SG-008"]);
        assert!(report.plan.is_empty() && report.outcomes.is_empty());
        assert!(g.revoke_calls.lock().unwrap().is_empty());
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0]
                .subject
                .starts_with("[ALERT] [HIGH] UDP amplification port open"),
            "{}",
            sent[0].subject
        );
    }

    #[test]
    fn offline_says_what_only_aws_can_tell() {
        let policy = Policy::embedded();
        // A prefix list change: the finding, and the groups are not read.
        let report =
            evaluate_offline(&add_to_list(json!({"cidr": "0.0.0.0/0"})), &policy, TODAY).unwrap();
        assert_eq!(rule_ids(&report), ["EC2-SG-011"]);
        assert_eq!(report.findings[0].severity, crate::finding::Severity::High);
        assert_eq!(
            report.notes,
            ["which security groups reference pl-1 needs AWS (GetManagedPrefixListAssociations): not read offline"]
        );
        // The group's name and the prefix lists are unverified, not clean.
        let report = evaluate_offline(&through("pl-1"), &policy, TODAY).unwrap();
        assert_eq!(rule_ids(&report), ["EC2-SG-011"]);
        assert_eq!(
            report.findings[0].detail,
            "tcp 22 from prefix list pl-1 (sgr-pl): entries not read"
        );
        assert_eq!(
            report.notes,
            [
                "the record does not name the group: whether sg-1 is a VPC default group (EC2-SG-010) is unverified; the Lambda reads its name with DescribeSecurityGroups",
                "prefix list pl-1 is not read offline: whether it holds the internet is unverified; the Lambda reads it with GetManagedPrefixListEntries",
            ]
        );
        // Named in the record: judged offline too.
        let report = evaluate_offline(
            &private_https(json!({"groupId": "sg-1", "groupName": "default"})),
            &policy,
            TODAY,
        )
        .unwrap();
        assert_eq!(rule_ids(&report), ["EC2-SG-010"]);
        assert!(report.notes.is_empty());
    }

    #[test]
    fn the_sample_events_give_the_catalog_rules_offline() {
        let policy = Policy::embedded();
        let cases: [(&str, &str, &[&str]); 6] = [
            (
                "sg-udp-dns-open.json",
                include_str!("../../../../events/sg-udp-dns-open.json"),
                &["EC2-SG-008"],
            ),
            (
                "sg-wide-public-cidr.json",
                include_str!("../../../../events/sg-wide-public-cidr.json"),
                &["EC2-SG-009"],
            ),
            (
                "sg-default-group-rule.json",
                include_str!("../../../../events/sg-default-group-rule.json"),
                &["EC2-SG-010"],
            ),
            (
                "sg-prefix-list-source.json",
                include_str!("../../../../events/sg-prefix-list-source.json"),
                &["EC2-SG-011"],
            ),
            (
                "sg-cross-account-group.json",
                include_str!("../../../../events/sg-cross-account-group.json"),
                &["EC2-SG-011"],
            ),
            (
                "sg-modify-prefix-list-adds-world.json",
                include_str!("../../../../events/sg-modify-prefix-list-adds-world.json"),
                &["EC2-SG-011"],
            ),
        ];
        for (name, text, want) in cases {
            let value: Value = serde_json::from_str(text).unwrap();
            let event = Event::from_value(&value, name).unwrap();
            let guard = crate::guards::REGISTRY.iter().find(|g| g.handles(&event));
            assert_eq!(guard.map(|g| g.function), Some("ingress-guard"), "{name}");
            let report = evaluate_offline(&event, &policy, TODAY).unwrap();
            assert_eq!(rule_ids(&report), want, "{name}: {:?}", report.findings);
            assert!(report.plan.is_empty(), "{name}: notify only");
        }
    }
}
