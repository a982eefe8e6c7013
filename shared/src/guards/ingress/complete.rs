//! Complete: what the record leaves out, filled in from the group's stored
//! rules (the direction of modified rules, rule ids, the stored source), and
//! what may not be visible yet right after the call (DESIGN §7.15).

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tracing::warn;

use super::read::event_time;
use super::{IngressGuard, ONE_CALL};
use crate::model::event::Event;
use crate::model::net::Source;
use crate::model::sg::{Direction, SgChange, SgRule};
use crate::ports::{AwsError, Clock, GroupInfo};
use crate::report::plan::Plan;
use crate::report::Report;

/// EC2 reads are eventually consistent: a group or rule missing right after
/// the successful call that created or modified it may not be visible yet
/// (DESIGN §7.15). Until the call is `settle` old, absence is no proof: the
/// guard reads again every `poll` for at most `wait`, and what is still
/// missing then makes the invocation fail (retryable, `NotYetVisible`) so
/// that Lambda retries it — never `already_absent`.
#[derive(Clone, Copy)]
pub struct Visibility<'a> {
    /// Absence is proof only once the call (its `eventTime`) is this old.
    pub settle: Duration,
    /// How long one invocation reads again before it leaves the rest to Lambda's retry.
    pub wait: Duration,
    /// Between two reads.
    pub poll: Duration,
    pub clock: &'a dyn Clock,
}

impl Visibility<'_> {
    /// EC2 makes a change visible to its reads within seconds; CloudTrail
    /// delivers most events later than this, so most absences are proof at once.
    pub const SETTLE: Duration = Duration::from_secs(30);
    pub const WAIT: Duration = Duration::from_secs(5);
    pub const POLL: Duration = Duration::from_secs(1);

    /// When absence becomes proof: `settle` after the call; `None` when the
    /// record's time cannot be read (then it never does: fail closed).
    fn proof_at(&self, event: &Event) -> Option<OffsetDateTime> {
        event_time(event).and_then(|at| at.checked_add(self.settle.try_into().ok()?))
    }
}

/// The error that makes Lambda retry an invocation that found something
/// missing too soon after the call to call it gone.
pub(super) fn not_yet_visible(operation: &'static str, what: &str) -> AwsError {
    AwsError {
        operation,
        code: Some("NotYetVisible".to_string()),
        message: format!(
            "{what} not found right after the call that created or modified it: not yet visible (EC2 reads are eventually consistent); read again on the retry"
        ),
        retryable: true,
    }
}

/// True when only the stored rules can settle the verdict: a source that did
/// not parse, a modified rule (its direction, for every finding), or a
/// revocation that lacks a rule id.
pub(super) fn needs_stored_rules(change: &SgChange, plan: Option<&Plan>) -> bool {
    change.rules.iter().any(|r| {
        r.direction == Direction::Unverified
            || (r.rule_id.is_some() && matches!(r.source, Source::Unparsed(_)))
    }) || plan.is_some_and(|p| p.revocations.iter().any(|r| r.rule.rule_id.is_none()))
}

impl IngressGuard<'_> {
    /// Fills in what the record cannot say, from the group's stored rules: the
    /// direction of modified rules, the stored source behind an unparseable
    /// CIDR, and the rule ids of older records and duplicate calls. A rule
    /// whose direction cannot be verified stays unverified: it is still
    /// judged and alerted, and never revoked.
    pub(super) async fn complete(
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
        let stored = match self.groups.rules_of_group(&group_id).await {
            Ok(stored) => stored,
            Err(e) if e.retryable => return Err(e),
            Err(e) => {
                warn!(event_id = %event.id, group_id = %group_id, error = %e, "cannot read the group's rules");
                report.notes.push(format!(
                    "could not read {group_id}'s rules ({}): what only EC2 can say (direction, rule ids) is unverified; a rule is revoked only if it reads back as offending ingress right before the revoke",
                    e.code_or_kind()
                ));
                return Ok(change);
            }
        };
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
                    .find(|s| s.direction == Direction::Ingress && s.same_permission(rule)),
            };
            match found {
                Some(s) => {
                    rule.rule_id = s.rule_id.clone();
                    rule.direction = s.direction;
                    if matches!(rule.source, Source::Unparsed(_)) {
                        rule.source = s.source.clone();
                    }
                    // ModifySecurityGroupRules names a referenced group without its owner.
                    if let (
                        Source::Group {
                            group_id,
                            user_id: None,
                        },
                        Source::Group {
                            group_id: stored_group,
                            user_id: Some(_),
                        },
                    ) = (&rule.source, &s.source)
                    {
                        if group_id == stored_group {
                            rule.source = s.source.clone();
                        }
                    }
                }
                None if rule.direction == Direction::Unverified => {
                    report.notes.push(format!(
                        "{rule} no longer exists: its direction cannot be verified (judged as ingress, not revoked)"
                    ));
                }
                None => {}
            }
        }
        change.rules.retain(|r| r.direction != Direction::Egress);
        Ok(change)
    }

    pub(super) fn now(&self) -> OffsetDateTime {
        self.visibility
            .as_ref()
            .map_or_else(OffsetDateTime::now_utc, |v| v.clock.now())
    }

    /// Whether something missing now is gone for good: always without
    /// [`Visibility`]; else once the call is `settle` old.
    pub(super) fn absence_proven(&self, event: &Event) -> bool {
        let Some(v) = &self.visibility else {
            return true;
        };
        v.proof_at(event).is_some_and(|at| v.clock.now() >= at)
    }

    /// Waits one `poll` before the next read, when this invocation may still
    /// wait (at most `wait` from `started`, never past the time absence
    /// becomes proof, and with time kept for the calls after it before
    /// Lambda's deadline): false when it may not.
    pub(super) async fn wait_to_read_again(&self, event: &Event, started: OffsetDateTime) -> bool {
        let Some(v) = &self.visibility else {
            return false;
        };
        let until = match v.proof_at(event) {
            Some(at) => at.min(started + v.wait),
            None => started + v.wait,
        };
        let now = v.clock.now();
        if now >= until
            || self
                .deadline
                .is_some_and(|d| Instant::now() + ONE_CALL + v.poll > d)
        {
            return false;
        }
        let left = Duration::try_from(until - now).unwrap_or_default();
        v.clock.sleep(v.poll.min(left)).await;
        true
    }

    /// The group, read again while it may not be visible yet: `None` only
    /// once its absence is proof; before, a retryable `NotYetVisible`.
    pub(super) async fn group_until_visible(
        &self,
        event: &Event,
        group_id: &str,
    ) -> Result<Option<GroupInfo>, AwsError> {
        let mut group = self.groups.group(group_id).await?;
        let started = self.now();
        while group.is_none()
            && !self.absence_proven(event)
            && self.wait_to_read_again(event, started).await
        {
            group = self.groups.group(group_id).await?;
        }
        if group.is_none() && !self.absence_proven(event) {
            warn!(event_id = %event.id, group_id = %group_id, "group not visible yet");
            return Err(not_yet_visible("DescribeSecurityGroups", group_id));
        }
        Ok(group)
    }
}

#[cfg(test)]
mod tests {
    use crate::guards::ingress::test_support::*;
    use crate::guards::GuardSettings;
    use crate::model::event::Event;
    use crate::model::net::Source;
    use crate::model::sg::{self, Direction, SgRule};
    use crate::report::OutcomeKind;
    use serde_json::json;

    #[tokio::test]
    async fn modify_is_verified_and_older_records_resolve_rule_ids() {
        let policy = revoking();
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

    fn modify(rule_id: &str, port: i64) -> Event {
        event(
            sg::MODIFY_RULES,
            json!({"ModifySecurityGroupRulesRequest": {"GroupId": "sg-1", "SecurityGroupRule": {
                "SecurityGroupRuleId": rule_id, "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIpv4": "0.0.0.0/0"}}}}),
            json!({}),
            None,
        )
    }

    #[tokio::test]
    async fn every_modified_rule_is_verified_and_an_unverifiable_one_still_alerts() {
        let policy = revoking();
        let settings = GuardSettings::default();
        // An egress rule modified to a notify-only port: verified, not judged as ingress.
        let g = groups(&[]);
        g.rules.lock().unwrap()[2] = stored("sgr-out", 8443, "0.0.0.0/0", Direction::Egress);
        let (report, sent) = run(&g, &policy, &settings, &modify("sgr-out", 8443)).await;
        assert!(
            report.unwrap().findings.is_empty(),
            "egress is never an ingress finding"
        );
        assert!(sent.is_empty());

        // The direction cannot be read: judged as ingress, alerted, said, nothing revoked.
        let mut g = groups(&[]);
        g.rules_error = Some(denied("DescribeSecurityGroupRules"));
        let (report, sent) = run(&g, &policy, &settings, &modify("sgr-ssh", 22)).await;
        let report = report.unwrap();
        assert_eq!(report.findings[0].rule, "EC2-SG-003");
        assert!(g.revoke_calls.lock().unwrap().is_empty());
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].message.contains("unverified")
                && sent[0].message.contains("UnauthorizedOperation"),
            "{}",
            sent[0].message
        );

        // The modified rule is gone: still alerted, said, not revoked.
        let g = groups(&[]);
        let (report, sent) = run(&g, &policy, &settings, &modify("sgr-gone", 3389)).await;
        let report = report.unwrap();
        assert_eq!(report.findings[0].rule, "EC2-SG-004");
        assert!(sent[0]
            .message
            .contains("no longer exists: its direction cannot be verified"));
        assert!(g.revoke_calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_trimmed_response_hides_no_rule_the_request_opened() {
        let g = groups(&[]);
        let policy = revoking();
        // The request opened 22 and 443; the response lists only 443.
        let trimmed = event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1", "ipPermissions": {"items": [
                {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}},
                {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
            json!({"securityGroupRuleSet": {"items": [item("sgr-https", 443)]}}),
            None,
        );
        let (report, _) = run(&g, &policy, &GuardSettings::default(), &trimmed).await;
        assert_eq!(
            results(&report.unwrap()),
            vec![("sgr-ssh".to_string(), OutcomeKind::Revoked)]
        );
        assert_eq!(ids(&g), vec!["sgr-https", "sgr-out"]);
    }

    #[tokio::test]
    async fn a_group_of_another_account_is_found_through_the_stored_rule() {
        let g = groups(&[]);
        g.rules.lock().unwrap().push(SgRule {
            source: Source::Group {
                group_id: Some("sg-9".to_string()),
                user_id: Some("444455556666".to_string()),
            },
            ..stored("sgr-peer", 5432, "0.0.0.0/0", Direction::Ingress)
        });
        let modify = event(
            sg::MODIFY_RULES,
            json!({"ModifySecurityGroupRulesRequest": {"GroupId": "sg-1", "SecurityGroupRule": {
                "SecurityGroupRuleId": "sgr-peer", "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "ReferencedGroupId": "sg-9"}}}}),
            json!({}),
            None,
        );
        let (report, _) = run(&g, &revoking(), &GuardSettings::default(), &modify).await;
        let report = report.unwrap();
        assert_eq!(rule_ids(&report), ["EC2-SG-011"]);
        assert!(report.findings[0]
            .detail
            .ends_with("another account's group"));
    }
}
