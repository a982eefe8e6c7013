//! The ingress guard: parse ▶ evaluate ▶ plan ▶ act ▶ report for
//! security-group ingress events. [`assess`] is the pure part the CLI runs
//! offline; [`IngressGuard::handle`] adds what only AWS can tell and does.

use time::Date;
use tracing::{info, warn};

use crate::event::Event;
use crate::finding::Finding;
use crate::guard::{failed_call, notify_if_due, preflight, GuardError, GuardSettings};
use crate::json::FieldError;
use crate::net::Source;
use crate::plan::Plan;
use crate::policy::Policy;
use crate::ports::{AwsError, IngressRemediator, Notifier, RevokeTarget, Revoked, SecurityGroups};
use crate::report::{Outcome, OutcomeKind, Report};
use crate::rules;
use crate::sg::{ChangeKind, Direction, SgChange, SgRule};

/// Error codes after which the call changed nothing but the rule exists anyway.
const DUPLICATE_CODES: [&str; 2] = [
    "Client.InvalidPermission.Duplicate",
    "InvalidPermission.Duplicate",
];

/// Why an event is not evaluated, or `None` when it is.
pub fn skip_reason(event: &Event) -> Option<String> {
    failed_call(event, &DUPLICATE_CODES)
}

/// Findings and plan for a change, from the event and the policy alone.
pub fn assess(change: &SgChange, policy: &Policy) -> (Vec<Finding>, Option<Plan>) {
    let findings = rules::evaluate_sg(change, policy);
    let plan = Plan::for_change(change, &findings, policy);
    (findings, plan)
}

/// The offline verdict (CLI): what the Lambda would find and plan, with no AWS call.
pub fn evaluate_offline(event: &Event, policy: &Policy, today: Date) -> Result<Report, FieldError> {
    if let Some(reason) = skip_reason(event) {
        return Ok(Report::skipped(event, reason));
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
    report.exemption = policy.exemption_for(change.group_id.as_deref(), &event.account, &[], today);
    if event.error_code.is_some() {
        report.notes.push(
            "the rule already existed (duplicate): the Lambda re-reads the group's rules"
                .to_string(),
        );
    }
    if change.kind == ChangeKind::Modify && !report.plan.is_empty() {
        report.notes.push(
            "ModifySecurityGroupRules does not say ingress or egress: the Lambda verifies it with DescribeSecurityGroupRules"
                .to_string(),
        );
    }
    Ok(report)
}

/// The ingress guard with its ports.
pub struct IngressGuard<'a> {
    pub groups: &'a dyn SecurityGroups,
    pub remediator: &'a dyn IngressRemediator,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl IngressGuard<'_> {
    /// Handles one event end to end and returns the report that was published (if any).
    pub async fn handle(&self, event: &Event, today: Date) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(skipped) = preflight(event, self.settings, &DUPLICATE_CODES) {
            return Ok(skipped);
        }
        let change = match SgChange::from_event(event) {
            Ok(Some(change)) => change,
            Ok(None) => return Ok(Report::not_handled(event)),
            Err(field) => return Err(GuardError::parse(event)(field)),
        };
        let mut report = Report::for_event(event);
        report.resource = Some(change.resource());
        let (mut findings, mut plan) = assess(&change, self.policy);
        if needs_stored_rules(&change, plan.as_ref()) {
            let change = self
                .complete(event, change, &mut report)
                .await
                .map_err(aws)?;
            (findings, plan) = assess(&change, self.policy);
        }
        report.findings = findings;
        for f in &report.findings {
            info!(event_id = %event.id, rule = f.rule, severity = %f.severity, detail = %f.detail, "finding");
        }
        if let Some(plan) = plan {
            report.plan = plan.steps();
            self.act(event, &plan, &mut report, today)
                .await
                .map_err(aws)?;
        }
        notify_if_due(&report, self.policy, self.notifier)
            .await
            .map_err(aws)?;
        Ok(report)
    }

    /// Fills in what the record cannot say, from the group's stored rules: the
    /// direction of modified rules, the stored source behind an unparseable
    /// CIDR, and the rule ids of older records and duplicate calls.
    async fn complete(
        &self,
        event: &Event,
        mut change: SgChange,
        report: &mut Report,
    ) -> Result<SgChange, AwsError> {
        let Some(group_id) = change.group_id.clone() else {
            report
                .notes
                .push("the event names no group id: nothing can be revoked".to_string());
            return Ok(change);
        };
        let needs_lookup = |r: &SgRule| {
            r.rule_id.is_none()
                || r.direction == Direction::Unverified
                || matches!(r.source, Source::Unparsed(_))
        };
        let stored = self.groups.rules_of_group(&group_id).await?;
        if event.error_code.is_some() {
            report.notes.push(
                "the rule already existed (duplicate call): judged the stored rule".to_string(),
            );
        }
        for rule in change.rules.iter_mut().filter(|r| needs_lookup(r)) {
            let found = match &rule.rule_id {
                Some(id) => stored
                    .iter()
                    .find(|s| s.rule_id.as_deref() == Some(id.as_str())),
                None => stored
                    .iter()
                    .find(|s| s.direction == Direction::Ingress && same_permission(s, rule)),
            };
            match found {
                Some(s) => {
                    rule.rule_id = s.rule_id.clone();
                    rule.direction = s.direction;
                    if matches!(rule.source, Source::Unparsed(_)) {
                        rule.source = s.source.clone();
                    }
                }
                None if rule.direction == Direction::Unverified => {
                    // Gone already; without its direction it is never revoked.
                    report.notes.push(format!("{rule} no longer exists"));
                    rule.direction = Direction::Egress;
                }
                None => {}
            }
        }
        change.rules.retain(|r| r.direction != Direction::Egress);
        Ok(change)
    }

    /// Carries out the plan, reporting one outcome per rule.
    async fn act(
        &self,
        event: &Event,
        plan: &Plan,
        report: &mut Report,
        today: Date,
    ) -> Result<(), AwsError> {
        let group = match self.groups.group(&plan.group_id).await {
            Ok(group) => group,
            Err(e) if e.retryable => return Err(e),
            Err(e) => {
                // Without the tags we cannot know the group is not exempt: revoke nothing.
                warn!(event_id = %event.id, group_id = %plan.group_id, error = %e, "cannot read the group");
                report.notes.push(format!(
                    "could not read the group's tags: {}",
                    e.code_or_kind()
                ));
                for r in &plan.revocations {
                    report.outcomes.push(outcome(
                        r.label(),
                        OutcomeKind::Failed,
                        Some(e.code_or_kind()),
                    ));
                }
                return Ok(());
            }
        };
        let Some(group) = group else {
            for r in &plan.revocations {
                report
                    .outcomes
                    .push(outcome(r.label(), OutcomeKind::AlreadyAbsent, None));
            }
            report
                .notes
                .push(format!("{} no longer exists", plan.group_id));
            return Ok(());
        };
        report.exemption =
            self.policy
                .exemption_for(Some(&group.group_id), &event.account, &group.tags, today);
        let exempt = report.exemption.as_ref().is_some_and(|e| e.is_active());

        for r in &plan.revocations {
            let label = r.label();
            let kind = if exempt {
                OutcomeKind::Exempt
            } else if self.policy.dry_run {
                OutcomeKind::DryRun
            } else {
                let target = match &r.rule.rule_id {
                    Some(id) => RevokeTarget::RuleId(id),
                    None => RevokeTarget::Permission(&r.rule),
                };
                match self.remediator.revoke_ingress(&plan.group_id, target).await {
                    Ok(Revoked::Revoked) => OutcomeKind::Revoked,
                    Ok(Revoked::AlreadyAbsent) => OutcomeKind::AlreadyAbsent,
                    Err(e) if e.retryable => return Err(e),
                    Err(e) => {
                        warn!(event_id = %event.id, group_id = %plan.group_id, rule_id = %label, error = %e, "revoke failed");
                        report.outcomes.push(outcome(
                            label,
                            OutcomeKind::Failed,
                            Some(e.code_or_kind()),
                        ));
                        continue;
                    }
                }
            };
            info!(event_id = %event.id, group_id = %plan.group_id, rule_id = %label, outcome = ?kind, "outcome");
            report.outcomes.push(outcome(label, kind, None));
        }
        for r in &plan.held_back {
            report
                .outcomes
                .push(outcome(r.label(), OutcomeKind::HeldBack, None));
        }
        Ok(())
    }
}

fn outcome(rule_id: String, result: OutcomeKind, error_code: Option<String>) -> Outcome {
    Outcome {
        rule_id,
        result,
        error_code,
    }
}

/// True when only the stored rules can settle the verdict: a source that did
/// not parse, or a revocation that lacks a rule id or a verified direction.
fn needs_stored_rules(change: &SgChange, plan: Option<&Plan>) -> bool {
    change
        .rules
        .iter()
        .any(|r| r.rule_id.is_some() && matches!(r.source, Source::Unparsed(_)))
        || plan.is_some_and(|p| {
            p.revocations
                .iter()
                .any(|r| r.rule.rule_id.is_none() || r.rule.direction == Direction::Unverified)
        })
}

/// Same protocol, ports and source: the stored rule a request asked for.
fn same_permission(stored: &SgRule, wanted: &SgRule) -> bool {
    stored.protocol == wanted.protocol
        && stored.source == wanted.source
        && (stored.protocol.is_all_traffic() || stored.ports() == wanted.ports())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{MemoryGroups, MemoryNotifier};
    use crate::notify::Notification;
    use crate::ports::GroupInfo;
    use serde_json::{json, Value};
    use time::macros::date;

    const TODAY: Date = date!(2026 - 06 - 01);

    fn stored(id: &str, port: i64, cidr: &str, direction: Direction) -> SgRule {
        SgRule {
            rule_id: Some(id.to_string()),
            direction,
            ip_protocol: "tcp".to_string(),
            protocol: crate::net::Protocol::Tcp,
            from_port: Some(port),
            to_port: Some(port),
            source: Source::cidr(cidr),
        }
    }

    fn groups(tags: &[(&str, &str)]) -> MemoryGroups {
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

    fn item(id: &str, port: i64) -> Value {
        json!({"groupId": "sg-1", "securityGroupRuleId": id, "isEgress": false, "ipProtocol": "tcp",
               "fromPort": port, "toPort": port, "cidrIpv4": "0.0.0.0/0"})
    }

    fn event(name: &str, request: Value, response: Value, error: Option<&str>) -> Event {
        let mut record = json!({"eventID": "ev-1", "eventName": name, "recipientAccountId": "111122223333",
            "awsRegion": "eu-west-1", "requestParameters": request, "responseElements": response,
            "userIdentity": {"arn": "arn:aws:sts::111122223333:assumed-role/Dev/jane",
                "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::111122223333:role/Dev"}}}});
        if let Some(code) = error {
            record["errorCode"] = json!(code);
        }
        Event::from_value(&record, "test").unwrap()
    }

    fn mixed() -> Event {
        event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1"}),
            json!({"securityGroupRuleSet": {"items": [item("sgr-ssh", 22), item("sgr-https", 443)]}}),
            None,
        )
    }

    async fn run(
        groups: &MemoryGroups,
        policy: &Policy,
        settings: &GuardSettings,
        event: &Event,
    ) -> (Result<Report, GuardError>, Vec<Notification>) {
        let notifier = MemoryNotifier::default();
        let guard = IngressGuard {
            groups,
            remediator: groups,
            notifier: &notifier,
            policy,
            settings,
        };
        let result = guard.handle(event, TODAY).await;
        let sent = notifier.sent.lock().unwrap().clone();
        (result, sent)
    }

    fn ids(groups: &MemoryGroups) -> Vec<String> {
        groups
            .rules
            .lock()
            .unwrap()
            .iter()
            .filter_map(|r| r.rule_id.clone())
            .collect()
    }

    fn results(report: &Report) -> Vec<(String, OutcomeKind)> {
        report
            .outcomes
            .iter()
            .map(|o| (o.rule_id.clone(), o.result))
            .collect()
    }

    use crate::sg;

    #[tokio::test]
    async fn revokes_exactly_the_offending_rule_then_is_idempotent() {
        let g = groups(&[]);
        let policy = Policy::embedded();
        let settings = GuardSettings::default();
        let (report, sent) = run(&g, &policy, &settings, &mixed()).await;
        let report = report.unwrap();
        assert_eq!(
            results(&report),
            vec![("sgr-ssh".to_string(), OutcomeKind::Revoked)]
        );
        assert_eq!(ids(&g), vec!["sgr-https", "sgr-out"]);
        assert_eq!(sent.len(), 1);
        assert!(sent[0]
            .subject
            .starts_with("[CRITICAL] SSH (22) open to the internet on sg-1"));

        let (again, sent) = run(&g, &policy, &settings, &mixed()).await;
        assert_eq!(
            results(&again.unwrap()),
            vec![("sgr-ssh".to_string(), OutcomeKind::AlreadyAbsent)]
        );
        assert_eq!(sent.len(), 1);
    }

    #[tokio::test]
    async fn dry_run_and_exemptions_revoke_nothing() {
        let settings = GuardSettings::default();
        let mut policy = Policy::embedded();
        policy.dry_run = true;
        let g = groups(&[]);
        let (report, sent) = run(&g, &policy, &settings, &mixed()).await;
        assert_eq!(
            results(&report.unwrap()),
            vec![("sgr-ssh".to_string(), OutcomeKind::DryRun)]
        );
        assert!(g.revoke_calls.lock().unwrap().is_empty());
        assert!(sent[0].message.contains("would revoke"));

        let policy = Policy::embedded();
        let g = groups(&[(
            "access-guard:exempt",
            "public bastion SEC-42;expires=2027-01-01",
        )]);
        let (report, sent) = run(&g, &policy, &settings, &mixed()).await;
        let report = report.unwrap();
        assert_eq!(
            results(&report),
            vec![("sgr-ssh".to_string(), OutcomeKind::Exempt)]
        );
        assert!(g.revoke_calls.lock().unwrap().is_empty());
        assert!(sent[0].message.contains("public bastion SEC-42"));

        let g = groups(&[("access-guard:exempt", "old bastion;expires=2026-01-01")]);
        let (report, sent) = run(&g, &policy, &settings, &mixed()).await;
        let report = report.unwrap();
        assert_eq!(
            results(&report),
            vec![("sgr-ssh".to_string(), OutcomeKind::Revoked)]
        );
        assert!(
            sent[0].message.contains("EXPIRED"),
            "an expired exemption is reported"
        );
    }

    #[tokio::test]
    async fn retryable_failures_fail_the_invocation_others_are_reported() {
        let settings = GuardSettings::default();
        let policy = Policy::embedded();
        let mut g = groups(&[]);
        g.revoke_error = Some(AwsError {
            operation: "RevokeSecurityGroupIngress",
            code: Some("RequestLimitExceeded".to_string()),
            message: "slow down".to_string(),
            retryable: true,
        });
        let (result, sent) = run(&g, &policy, &settings, &mixed()).await;
        assert!(matches!(result, Err(GuardError::Aws { .. })));
        assert!(sent.is_empty(), "the retry alerts, not this attempt");

        g.revoke_error = Some(AwsError {
            operation: "RevokeSecurityGroupIngress",
            code: Some("UnauthorizedOperation".to_string()),
            message: "denied".to_string(),
            retryable: false,
        });
        let (result, sent) = run(&g, &policy, &settings, &mixed()).await;
        let report = result.unwrap();
        assert_eq!(report.outcomes[0].result, OutcomeKind::Failed);
        assert_eq!(
            report.outcomes[0].error_code.as_deref(),
            Some("UnauthorizedOperation")
        );
        assert_eq!(sent.len(), 1);
    }

    #[tokio::test]
    async fn own_calls_failed_calls_and_other_events_are_skipped() {
        let policy = Policy::embedded();
        let g = groups(&[]);
        let settings = GuardSettings {
            own_role_arn: Some("arn:aws:iam::111122223333:role/Dev".to_string()),
        };
        let (report, _) = run(&g, &policy, &settings, &mixed()).await;
        assert!(report.unwrap().skipped.unwrap().starts_with("own call"));

        let settings = GuardSettings::default();
        let failed = event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1"}),
            Value::Null,
            Some("Client.UnauthorizedOperation"),
        );
        let (report, sent) = run(&g, &policy, &settings, &failed).await;
        assert_eq!(
            report.unwrap().skipped.as_deref(),
            Some("failed call: Client.UnauthorizedOperation")
        );
        assert!(sent.is_empty());
        assert_eq!(ids(&g).len(), 3);
    }

    #[tokio::test]
    async fn modify_is_verified_and_older_records_resolve_rule_ids() {
        let policy = Policy::embedded();
        let settings = GuardSettings::default();
        let g = groups(&[]);
        // The modified rule is really egress: never revoked.
        let modify = event(
            sg::MODIFY_RULES,
            json!({"ModifySecurityGroupRulesRequest": {"GroupId": "sg-1", "SecurityGroupRule": {
                "SecurityGroupRuleId": "sgr-out", "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "0.0.0.0/0"}}}}),
            json!({}),
            None,
        );
        let (report, sent) = run(&g, &policy, &settings, &modify).await;
        assert!(report.unwrap().findings.is_empty());
        assert!(sent.is_empty());
        assert_eq!(ids(&g).len(), 3);

        // An older record without rule ids: the stored rule is found and revoked by id.
        let older = event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
            json!({"_return": true}),
            None,
        );
        let (report, _) = run(&g, &policy, &settings, &older).await;
        assert_eq!(
            results(&report.unwrap()),
            vec![("sgr-ssh".to_string(), OutcomeKind::Revoked)]
        );
        assert_eq!(ids(&g), vec!["sgr-https", "sgr-out"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        /// For arbitrary groups and events: revocations ⊆ the rules this event
        /// created that break a revoke rule; never egress, never a rule the event
        /// did not create, never another group, never more than the cap; an
        /// exempt group is untouched.
        #[test]
        fn revocations_are_safe(
            stored in proptest::collection::vec((proptest::prop_oneof![
                proptest::strategy::Just(22u16), proptest::strategy::Just(3389), proptest::strategy::Just(3306), proptest::strategy::Just(6379),
                proptest::strategy::Just(443), proptest::strategy::Just(80), proptest::strategy::Just(0), 1u16..4000], proptest::prop_oneof![0u16..3, proptest::strategy::Just(2000)], proptest::prop_oneof![
                proptest::strategy::Just("0.0.0.0/0"), proptest::strategy::Just("::/0"), proptest::strategy::Just("10.0.0.0/8"),
                proptest::strategy::Just("0.0.0.0/1"), proptest::strategy::Just("203.0.113.0/24")], proptest::bool::ANY), 1..40),
            created_mask in proptest::collection::vec(proptest::bool::ANY, 40),
            cap in 1usize..6,
            exempt in proptest::bool::ANY,
            dry_run in proptest::bool::ANY,
        ) {
            let rules: Vec<SgRule> = stored.iter().enumerate().map(|(i, (port, span, cidr, egress))| SgRule {
                rule_id: Some(format!("sgr-{i}")),
                direction: if *egress { Direction::Egress } else { Direction::Ingress },
                ip_protocol: "tcp".into(),
                protocol: crate::net::Protocol::Tcp,
                from_port: Some(i64::from(*port)),
                to_port: Some(i64::from(*port + span)),
                source: Source::cidr(cidr),
            }).collect();
            // The event created some of the group's ingress rules; the others existed before.
            let created: Vec<&SgRule> = rules.iter().enumerate()
                .filter(|(i, r)| created_mask[*i] && r.direction == Direction::Ingress).map(|(_, r)| r).collect();
            let items: Vec<Value> = created.iter().map(|r| json!({"groupId": "sg-1", "securityGroupRuleId": r.rule_id,
                "isEgress": false, "ipProtocol": "tcp", "fromPort": r.from_port, "toPort": r.to_port, "cidrIpv4": r.source.to_string()})).collect();
            let e = event(sg::AUTHORIZE_INGRESS, json!({"groupId": "sg-1"}), json!({"securityGroupRuleSet": {"items": items}}), None);
            let tags: &[(&str, &str)] = if exempt { &[("access-guard:exempt", "proptest")] } else { &[] };
            let g = groups(tags);
            *g.rules.lock().unwrap() = rules.clone();
            let mut policy = Policy::embedded();
            policy.max_revocations_per_event = cap;
            policy.dry_run = dry_run;
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let (report, _) = runtime.block_on(run(&g, &policy, &GuardSettings::default(), &e));
            let report = report.unwrap();
            let calls = g.revoke_calls.lock().unwrap().clone();
            let offending: Vec<String> = report.findings.iter()
                .filter(|f| f.action == crate::finding::Action::Revoke)
                .filter_map(|f| created.get(f.target?).and_then(|r| r.rule_id.clone()))
                .collect();
            proptest::prop_assert!(calls.len() <= cap);
            if exempt || dry_run {
                proptest::prop_assert!(calls.is_empty());
            }
            for call in &calls {
                let (group, id) = call.split_once('/').unwrap();
                proptest::prop_assert_eq!(group, "sg-1");
                proptest::prop_assert!(offending.iter().any(|o| o == id), "{} was not created by the event and offending", id);
                let rule = rules.iter().find(|r| r.rule_id.as_deref() == Some(id)).unwrap();
                proptest::prop_assert_eq!(rule.direction, Direction::Ingress);
            }
        }
    }

    #[tokio::test]
    async fn findings_below_the_threshold_do_not_alert() {
        let mut policy = Policy::embedded();
        policy.notify_min_severity = crate::finding::Severity::Critical;
        let settings = GuardSettings::default();
        let g = groups(&[]);
        let custom = event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1"}),
            json!({"securityGroupRuleSet": {"items": [item("sgr-8443", 8443)]}}),
            None,
        );
        let (report, sent) = run(&g, &policy, &settings, &custom).await;
        assert_eq!(report.unwrap().findings[0].rule, "EC2-SG-007");
        assert!(sent.is_empty());
    }
}
