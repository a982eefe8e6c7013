//! Revoke: carries out the plan. Reads the group's tags and the account's
//! OUs (exemptions), reads every planned rule back right before revoking,
//! revokes what still offends in one call (or one call per rule), and keeps
//! each attempt in the state table so that a retry reports what an earlier
//! attempt did.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::time::Instant;

use time::Date;
use tracing::{info, warn};

use super::complete::not_yet_visible;
use super::recheck::{now_of, recheck, Recheck};
use super::restore::restore_command;
use super::{IngressGuard, ONE_CALL};
use crate::model::event::Event;
use crate::model::net::Source;
use crate::model::sg::{SgChange, SgRule};
use crate::ports::{Attempt, AttemptKey, AttemptState, AwsError, GroupInfo, Revoked};
use crate::report::plan::{Plan, Revocation};
use crate::report::{Outcome, OutcomeKind, Report};

impl IngressGuard<'_> {
    /// Carries out the plan, reporting one outcome per rule: reads the
    /// group's tags (exemptions), reads every planned rule back right before
    /// revoking (invariant 8), and revokes what still offends in one call.
    pub(crate) async fn act(
        &self,
        event: &Event,
        plan: &Plan,
        report: &mut Report,
        today: Date,
    ) -> Result<(), AwsError> {
        let fail_all = |report: &mut Report, code: String| {
            for r in &plan.revocations {
                report
                    .outcomes
                    .push(outcome(r.label(), OutcomeKind::Failed, Some(code.clone())));
            }
        };
        let group = match self.group_until_visible(event, &plan.group_id).await {
            Ok(group) => group,
            Err(e) if e.retryable => return Err(e),
            Err(e) => {
                // Without the tags we cannot know the group is not exempt: revoke nothing.
                warn!(event_id = %event.id, group_id = %plan.group_id, error = %e, "cannot read the group");
                report.notes.push(format!(
                    "could not read the group's tags: {}",
                    e.code_or_kind()
                ));
                fail_all(report, e.code_or_kind());
                return Ok(());
            }
        };
        if let Some(group) = &group {
            report.location.group_name = Some(group.name.clone()).filter(|n| !n.is_empty());
            report.location.vpc_id.clone_from(&group.vpc_id);
        }
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
        let ous = if self.policy.has_ou_exemptions() {
            let read = match self.organizations {
                Some(organizations) => organizations.ous_of(&event.account).await,
                None => Err(AwsError {
                    operation: "ListParents",
                    code: Some("NoOrganizationsClient".to_string()),
                    message: "this guard cannot read OUs".to_string(),
                    retryable: false,
                }),
            };
            match read {
                Ok(ous) => ous,
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    // Without them we cannot know the account is not exempt: revoke nothing.
                    warn!(event_id = %event.id, account = %event.account, error = %e, "cannot read the account's OUs");
                    report.notes.push(format!(
                        "could not read the OUs of account {} (exemptions by OU): {}",
                        event.account,
                        e.code_or_kind()
                    ));
                    fail_all(report, e.code_or_kind());
                    return Ok(());
                }
            }
        } else {
            Vec::new()
        };
        report.exemption = self.policy.exemption_for(
            Some(&group.group_id),
            &event.account,
            &ous,
            &group.tags,
            today,
        );
        if let Err(e) = self
            .judge_tag_from_when_set(event, &group, report, today)
            .await
        {
            if e.retryable {
                return Err(e);
            }
            // Without it we cannot know the tag was not invalid when set: revoke nothing.
            warn!(event_id = %event.id, group_id = %group.group_id, error = %e, "cannot read when the exemption tag was set");
            report.notes.push(format!(
                "could not read from the state table when the exemption tag of {} was set: {}",
                group.group_id,
                e.code_or_kind()
            ));
            fail_all(report, e.code_or_kind());
            return Ok(());
        }
        let exempt = report.exemption.as_ref().is_some_and(|e| e.is_active());
        if exempt {
            for r in &plan.revocations {
                report
                    .outcomes
                    .push(outcome(r.label(), OutcomeKind::Exempt, None));
            }
        } else {
            self.recheck_and_revoke(event, plan, &group, report).await?;
        }
        for r in &plan.held_back {
            report
                .outcomes
                .push(outcome(r.label(), OutcomeKind::HeldBack, None));
        }
        Ok(())
    }

    /// Reads the planned rules back and revokes those that still offend
    /// (dry run: says it would), all in one call; when EC2 rejects the batch
    /// (one rule went meanwhile, say), one call per rule. A planned rule
    /// missing from the read-back was revoked by an earlier attempt of this
    /// event (the state table says so), or is gone for good once the call is
    /// old enough; until then it is not visible yet, and the invocation fails
    /// after revoking the rest so that Lambda retries (DESIGN §7.15).
    async fn recheck_and_revoke(
        &self,
        event: &Event,
        plan: &Plan,
        group: &GroupInfo,
        report: &mut Report,
    ) -> Result<(), AwsError> {
        let group_id = plan.group_id.as_str();
        let mut current = match self.groups.rules_of_group(group_id).await {
            Ok(current) => current,
            Err(e) if e.retryable => return Err(e),
            Err(e) => {
                warn!(event_id = %event.id, group_id = %group_id, error = %e, "cannot read the rules back");
                report.notes.push(format!(
                    "could not read the rules back before revoking: {}: nothing revoked",
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
        // Missing: an earlier attempt of this event revoked it (or began to)?
        let mut earlier: BTreeMap<String, Attempt> = BTreeMap::new();
        // Rules whose earlier attempts could not be read, with the code: never
        // `already_absent` (an earlier attempt may have revoked them).
        let mut unread: BTreeMap<String, String> = BTreeMap::new();
        for r in &plan.revocations {
            if now_of(&r.rule, &current).is_none() {
                match self.earlier_attempt(event, &r.label(), report).await {
                    Ok(Some(attempt)) if attempt.state != AttemptState::NotRevoked => {
                        earlier.insert(r.label(), attempt);
                    }
                    Ok(_) => {}
                    Err(code) => {
                        unread.insert(r.label(), code);
                    }
                }
            }
        }
        // Else perhaps not visible yet: read again while the call is recent.
        let unseen = |current: &[SgRule]| {
            plan.revocations
                .iter()
                .any(|r| now_of(&r.rule, current).is_none() && !earlier.contains_key(&r.label()))
        };
        if unseen(&current) {
            let started = self.now();
            while unseen(&current)
                && !self.absence_proven(event)
                && self.wait_to_read_again(event, started).await
            {
                current = self.groups.rules_of_group(group_id).await?;
            }
        }
        let mut not_visible: Vec<String> = Vec::new();
        // The group as it is now: its name, the event's account, and the
        // prefix lists the planned rules reference now, read again.
        let mut context = SgChange::current_ingress(group_id, Vec::new())
            .with_group_name(&group.name)
            .with_account(&event.account);
        for r in &plan.revocations {
            if let Some(Source::PrefixList(list)) = now_of(&r.rule, &current).map(|now| &now.source)
            {
                if let Entry::Vacant(slot) = context.prefix_lists.entry(list.clone()) {
                    let read = self.read_prefix_list(event, list, report).await?;
                    slot.insert(read);
                }
            }
        }
        let mut offending: Vec<(&Revocation, String)> = Vec::new();
        for r in &plan.revocations {
            match recheck(&r.rule, &context, &current, self.policy) {
                Recheck::Offends(id) => offending.push((r, id)),
                Recheck::Gone => match earlier.get(&r.label()) {
                    Some(attempt) => {
                        info!(event_id = %event.id, group_id = %group_id, rule_id = %r.label(), "revoked by an earlier attempt");
                        let restore = attempt.restore.clone().or_else(|| {
                            // Recorded before attempts kept their command.
                            (event.name != crate::model::sg::MODIFY_RULES)
                                .then(|| restore_command(&event.region, group_id, &r.rule))
                                .flatten()
                        });
                        report.outcomes.push(Outcome {
                            earlier_attempt: true,
                            restore,
                            ..outcome(r.label(), OutcomeKind::Revoked, None)
                        });
                    }
                    None if unread.contains_key(&r.label()) => report.outcomes.push(outcome(
                        r.label(),
                        OutcomeKind::Failed,
                        unread.get(&r.label()).cloned(),
                    )),
                    None if self.absence_proven(event) => {
                        report
                            .outcomes
                            .push(outcome(r.label(), OutcomeKind::AlreadyAbsent, None))
                    }
                    None => not_visible.push(r.label()),
                },
                Recheck::ChangedSince(why) => {
                    info!(event_id = %event.id, group_id = %group_id, rule_id = %r.label(), why = %why, "changed since the event");
                    report.notes.push(why);
                    report
                        .outcomes
                        .push(outcome(r.label(), OutcomeKind::ChangedSince, None));
                }
                Recheck::Unknown(why) => {
                    warn!(event_id = %event.id, group_id = %group_id, rule_id = %r.label(), why = %why, "prefix list unreadable before revoking");
                    report.notes.push(format!(
                        "{}: its prefix list could not be read again right before revoking ({why}): not revoked",
                        r.label()
                    ));
                    report
                        .outcomes
                        .push(outcome(r.label(), OutcomeKind::Failed, Some(why)));
                }
            }
        }
        if self.policy.dry_run {
            for (r, _) in &offending {
                report
                    .outcomes
                    .push(outcome(r.label(), OutcomeKind::DryRun, None));
            }
        } else if !offending.is_empty() {
            self.revoke(
                event,
                group_id,
                &offending,
                &current,
                report,
                &mut not_visible,
            )
            .await?;
        }
        if !not_visible.is_empty() {
            warn!(event_id = %event.id, group_id = %group_id, rules = %not_visible.join(", "), "not visible yet");
            return Err(not_yet_visible(
                "DescribeSecurityGroupRules",
                &format!("{group_id}: {}", not_visible.join(", ")),
            ));
        }
        Ok(())
    }

    /// Revokes the rules that still offend: the intent recorded first, then
    /// one call, or one call per rule when EC2 rejects the batch.
    async fn revoke(
        &self,
        event: &Event,
        group_id: &str,
        offending: &[(&Revocation, String)],
        current: &[SgRule],
        report: &mut Report,
        not_visible: &mut Vec<String>,
    ) -> Result<(), AwsError> {
        let mut restores = Vec::new();
        for (r, id) in offending {
            let restore = self.restore_for(event, group_id, r, current, report).await;
            self.log_attempt(
                event,
                group_id,
                id,
                AttemptState::Intended,
                restore.as_deref(),
                report,
            )
            .await;
            restores.push(restore);
        }
        let ids: Vec<&str> = offending.iter().map(|(_, id)| id.as_str()).collect();
        let batch = self.remediator.revoke_ingress(group_id, &ids).await;
        let per_rule = match &batch {
            Ok(Revoked::Revoked) => false,
            Err(e) if e.retryable => return Err(e.clone()),
            _ if ids.len() == 1 => false,
            Ok(Revoked::AlreadyAbsent) | Err(_) => true,
        };
        for (done, ((r, id), restore)) in offending.iter().zip(restores).enumerate() {
            if per_rule && self.deadline.is_some_and(|d| Instant::now() + ONE_CALL > d) {
                // Each rule is read back again on the retry: nothing is lost.
                return Err(AwsError {
                    operation: "RevokeSecurityGroupIngress",
                    code: Some("OutOfTime".to_string()),
                    message: format!(
                        "{} of {} rules left to revoke one by one and too little time before the deadline",
                        offending.len() - done,
                        offending.len()
                    ),
                    retryable: true,
                });
            }
            let result = if per_rule {
                self.remediator
                    .revoke_ingress(group_id, &[id.as_str()])
                    .await
            } else {
                batch.clone()
            };
            let state = match &result {
                Ok(Revoked::Revoked) => AttemptState::Revoked,
                // The call may have gone through: the intent stands.
                Err(e) if e.retryable => return Err(e.clone()),
                Ok(Revoked::AlreadyAbsent) | Err(_) => AttemptState::NotRevoked,
            };
            self.log_attempt(event, group_id, id, state, restore.as_deref(), report)
                .await;
            let o = match result {
                Ok(Revoked::Revoked) => Outcome {
                    restore,
                    ..outcome(r.label(), OutcomeKind::Revoked, None)
                },
                Ok(Revoked::AlreadyAbsent) if !self.absence_proven(event) => {
                    // Read as there a moment ago, unknown to the revoke: retried.
                    not_visible.push(r.label());
                    continue;
                }
                Ok(Revoked::AlreadyAbsent) => outcome(r.label(), OutcomeKind::AlreadyAbsent, None),
                Err(e) => {
                    warn!(event_id = %event.id, group_id = %group_id, rule_id = %id, error = %e, "revoke failed");
                    outcome(r.label(), OutcomeKind::Failed, Some(e.code_or_kind()))
                }
            };
            info!(event_id = %event.id, group_id = %group_id, rule_id = %o.rule_id, outcome = ?o.result, "outcome");
            report.outcomes.push(o);
        }
        Ok(())
    }

    /// What an earlier attempt of this event did to the rule, from the state
    /// table. A table that cannot be read is noted: the rule's absence is
    /// then judged as if no attempt had been made.
    async fn earlier_attempt(
        &self,
        event: &Event,
        rule_id: &str,
        report: &mut Report,
    ) -> Result<Option<Attempt>, String> {
        let Some(log) = self.revocations else {
            return Ok(None);
        };
        match log.earlier_attempt(attempt_key(event, rule_id)).await {
            Ok(attempt) => Ok(attempt),
            Err(e) => {
                warn!(event_id = %event.id, rule_id = %rule_id, error = %e, "cannot read the state table");
                report.notes.push(format!(
                    "{rule_id}: could not read the state table ({}): whether an earlier attempt revoked it is unknown, so it is not reported already absent",
                    e.code_or_kind()
                ));
                Err(e.code_or_kind())
            }
        }
    }

    /// Records an attempt for retries of the event: the intent before the
    /// call, what came of it after. A failure is noted, not fatal: the rule
    /// is revoked whatever the table says, and the alert must still go out.
    async fn log_attempt(
        &self,
        event: &Event,
        group_id: &str,
        rule_id: &str,
        state: AttemptState,
        restore: Option<&str>,
        report: &mut Report,
    ) {
        let Some(log) = self.revocations else {
            return;
        };
        if let Err(e) = log
            .record_attempt(attempt_key(event, rule_id), group_id, state, restore)
            .await
        {
            warn!(event_id = %event.id, rule_id = %rule_id, state = state.as_str(), error = %e, "cannot record the attempt");
            if state == AttemptState::Intended {
                report.notes.push(format!(
                    "{rule_id}: could not record the revoke in the state table before the call ({}): a retry after it would report the rule already absent",
                    e.code_or_kind()
                ));
            }
        }
    }
}

fn attempt_key<'a>(event: &'a Event, rule_id: &'a str) -> AttemptKey<'a> {
    AttemptKey {
        account: &event.account,
        region: &event.region,
        event_id: &event.id,
        rule_id,
    }
}

fn outcome(rule_id: String, result: OutcomeKind, error_code: Option<String>) -> Outcome {
    Outcome {
        restore: Default::default(),
        rule_id,
        result,
        error_code,
        earlier_attempt: false,
    }
}

#[cfg(test)]
mod tests {
    use crate::guards::ingress::test_support::*;
    use crate::guards::ingress::IngressGuard;
    use crate::guards::{GuardError, GuardSettings};
    use crate::model::net::Source;
    use crate::model::sg::{self, Direction, SgRule};
    use crate::ports::fakes::MemoryNotifier;
    use crate::ports::AwsError;
    use crate::report::OutcomeKind;
    use serde_json::{json, Value};
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn revokes_exactly_the_offending_rule_then_is_idempotent() {
        let g = groups(&[]);
        let policy = revoking();
        let settings = GuardSettings::default();
        let (report, sent) = run(&g, &policy, &settings, &mixed()).await;
        let report = report.unwrap();
        assert_eq!(
            results(&report),
            vec![("sgr-ssh".to_string(), OutcomeKind::Revoked)]
        );
        assert_eq!(ids(&g), vec!["sgr-https", "sgr-out"]);
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0]
                .subject
                .starts_with("[REVOKED] [CRITICAL] SSH (22) open to the internet on sg-1"),
            "{}",
            sent[0].subject
        );

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
        let mut policy = revoking();
        policy.dry_run = true;
        let g = groups(&[]);
        let (report, sent) = run(&g, &policy, &settings, &mixed()).await;
        assert_eq!(
            results(&report.unwrap()),
            vec![("sgr-ssh".to_string(), OutcomeKind::DryRun)]
        );
        assert!(g.revoke_calls.lock().unwrap().is_empty());
        assert!(sent[0].message.contains("would revoke"));

        let policy = revoking();
        let g = groups(&[(
            "access-guard:exempt",
            "public bastion SEC-42;expires=2026-08-01",
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
        let policy = revoking();
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
                protocol: crate::model::net::Protocol::Tcp,
                from_port: Some(i64::from(*port)),
                to_port: Some(i64::from(*port + span)),
                source: Source::cidr(cidr),
                description: None,
            }).collect();
            // The event created some of the group's ingress rules; the others existed before.
            let created: Vec<&SgRule> = rules.iter().enumerate()
                .filter(|(i, r)| created_mask[*i] && r.direction == Direction::Ingress).map(|(_, r)| r).collect();
            let items: Vec<Value> = created.iter().map(|r| json!({"groupId": "sg-1", "securityGroupRuleId": r.rule_id,
                "isEgress": false, "ipProtocol": "tcp", "fromPort": r.from_port, "toPort": r.to_port, "cidrIpv4": r.source.to_string()})).collect();
            let e = event(sg::AUTHORIZE_INGRESS, json!({"groupId": "sg-1"}), json!({"securityGroupRuleSet": {"items": items}}), None);
            let tags: &[(&str, &str)] = if exempt { &[("access-guard:exempt", "proptest;expires=2026-07-01")] } else { &[] };
            let g = groups(tags);
            *g.rules.lock().unwrap() = rules.clone();
            let mut policy = revoking();
            policy.max_revocations_per_event = cap;
            policy.dry_run = dry_run;
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let (report, _) = runtime.block_on(run(&g, &policy, &GuardSettings::default(), &e));
            let report = report.unwrap();
            // Every rule id asked for, over all calls (a batch names several).
            let calls: Vec<String> = g.revoke_calls.lock().unwrap().iter()
                .flat_map(|call| {
                    let (group, ids) = call.split_once('/').unwrap();
                    ids.split(',').map(move |id| format!("{group}/{id}"))
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
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
    async fn offending_rules_go_in_one_call_and_one_by_one_when_ec2_rejects_the_batch() {
        let event = event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1"}),
            json!({"securityGroupRuleSet": {"items": [item("sgr-ssh", 22), item("sgr-rdp", 3389), item("sgr-https", 443)]}}),
            None,
        );
        let policy = revoking();
        for reject in [false, true] {
            let mut g = groups(&[]);
            g.rules
                .lock()
                .unwrap()
                .push(stored("sgr-rdp", 3389, "0.0.0.0/0", Direction::Ingress));
            g.reject_batches = reject;
            let (report, _) = run(&g, &policy, &GuardSettings::default(), &event).await;
            let report = report.unwrap();
            assert_eq!(
                results(&report),
                vec![
                    ("sgr-ssh".to_string(), OutcomeKind::Revoked),
                    ("sgr-rdp".to_string(), OutcomeKind::Revoked)
                ],
                "reject batches: {reject}"
            );
            let calls = g.revoke_calls.lock().unwrap().clone();
            let want: &[&str] = if reject {
                &["sg-1/sgr-ssh,sgr-rdp", "sg-1/sgr-ssh", "sg-1/sgr-rdp"]
            } else {
                &["sg-1/sgr-ssh,sgr-rdp"]
            };
            assert_eq!(calls, want);
            assert_eq!(ids(&g), vec!["sgr-https", "sgr-out"]);
        }
    }

    #[tokio::test]
    async fn revoking_one_by_one_stops_before_the_deadline_and_leaves_the_rest_to_the_retry() {
        let mut g = groups(&[]);
        g.rules
            .lock()
            .unwrap()
            .push(stored("sgr-rdp", 3389, "0.0.0.0/0", Direction::Ingress));
        g.reject_batches = true;
        let event = event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1"}),
            json!({"securityGroupRuleSet": {"items": [item("sgr-ssh", 22), item("sgr-rdp", 3389)]}}),
            None,
        );
        let notifier = MemoryNotifier::default();
        let policy = revoking();
        let settings = GuardSettings::default();
        let guard = IngressGuard {
            groups: &g,
            organizations: None,
            remediator: &g,
            revocations: None,
            notifier: &notifier,
            policy: &policy,
            settings: &settings,
            deadline: Some(Instant::now() + Duration::from_secs(5)),
            visibility: None,
            vpcs: None,
            services: None,
            iam: None,
        };
        let err = guard.handle(&event, TODAY).await.unwrap_err();
        assert_eq!(err.error_type(), "AccessGuard.AwsRetryable");
        assert!(err.to_string().contains("2 of 2 rules left"), "{err}");
        assert_eq!(*g.revoke_calls.lock().unwrap(), ["sg-1/sgr-ssh,sgr-rdp"]);
        assert!(notifier.sent.lock().unwrap().is_empty(), "the retry alerts");
    }
}
