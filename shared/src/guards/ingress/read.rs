//! Read: what the event says (whether it is evaluated at all, the day of
//! the call, a prefix-list call), and what EC2 and the state table hold
//! around it: the group's name, what the prefix lists its rules reference
//! hold, the day the exemption tag was set. A record that cannot be read
//! is judged by the group's current rules instead.

use std::collections::btree_map::Entry;

use time::{Date, OffsetDateTime};
use tracing::warn;

use super::IngressGuard;
use crate::finding::Action;
use crate::guards::{failed_call, notify_if_due};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::model::sg::{PrefixListEntries, SgChange, MODIFY_PREFIX_LIST};
use crate::ports::{AwsError, GroupInfo};
use crate::report::Report;
use crate::rules;
use crate::rules::ec2_sg::default_group::DEFAULT_GROUP;

/// Error codes after which the call changed nothing but the rule exists anyway.
pub(super) const DUPLICATE_CODES: [&str; 2] = [
    "Client.InvalidPermission.Duplicate",
    "InvalidPermission.Duplicate",
];

/// Why an event is not evaluated, or `None` when it is.
pub fn skip_reason(event: &Event) -> Option<String> {
    failed_call(event, &DUPLICATE_CODES)
}

/// The day of the call (its `eventTime`), when it can be read.
pub fn event_date(event: &Event) -> Option<Date> {
    event_time(event).map(OffsetDateTime::date)
}

pub(super) fn event_time(event: &Event) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(&event.time, &time::format_description::well_known::Rfc3339).ok()
}

/// True for a `ModifyManagedPrefixList` call of EC2.
pub(super) fn is_prefix_list_call(event: &Event) -> bool {
    event.name == MODIFY_PREFIX_LIST && event.is_from("ec2")
}

impl IngressGuard<'_> {
    /// A successful record the guard could not read (fail closed): the alert
    /// says "could not evaluate" and names the field, with the group's current
    /// ingress rules judged instead (DescribeSecurityGroupRules). Nothing is
    /// revoked: the record does not say which rules the call created.
    pub(super) async fn could_not_evaluate(
        &self,
        event: &Event,
        field: FieldError,
    ) -> Result<Report, AwsError> {
        warn!(event_id = %event.id, field = %field.path, problem = %field.problem, "could not evaluate");
        let mut report = Report::for_event(event);
        report.unevaluated = Some(field.to_string());
        let group_id = crate::model::sg::group_named(event);
        report.resource = group_id.clone();
        match group_id {
            None => report
                .notes
                .push("the record names no group: nothing could be read instead".to_string()),
            Some(group_id) => match self.groups.rules_of_group(&group_id).await {
                Ok(stored) => {
                    let current =
                        SgChange::current_ingress(&group_id, stored).with_account(&event.account);
                    let current = self.enrich(event, current, true, &mut report).await?;
                    report.findings = rules::evaluate_sg(&current, self.policy);
                    report.notes.push(format!(
                        "judged {group_id}'s current ingress rules instead (DescribeSecurityGroupRules); nothing revoked: the record does not say which rules the call created"
                    ));
                }
                Err(e) if e.retryable => return Err(e),
                Err(e) => report.notes.push(format!(
                    "could not read {group_id}'s rules either: {}",
                    e.code_or_kind()
                )),
            },
        }
        notify_if_due(&mut report, self.policy, self.settings, self.notifier).await?;
        Ok(report)
    }

    /// Whether [`Self::enrich`] reads the group (its name, for EC2-SG-010):
    /// the record names the group by id only and the rule is on.
    pub(super) fn reads_group_name(&self, change: &SgChange) -> bool {
        DEFAULT_GROUP.setting(self.policy).action != Action::Off
            && change.group_name.is_none()
            && change.group_id.is_some()
    }

    /// Adds what only EC2 can say about the change's context: the group's
    /// name when the record lacks it and `read_name` (EC2-SG-010,
    /// DescribeSecurityGroups), and what the prefix lists its rules reference
    /// hold (a list that cannot be read is unknown, and said). A list already
    /// read is not read again.
    pub(super) async fn enrich(
        &self,
        event: &Event,
        mut change: SgChange,
        read_name: bool,
        report: &mut Report,
    ) -> Result<SgChange, AwsError> {
        if let (true, Some(group_id)) = (
            read_name && self.reads_group_name(&change),
            change.group_id.clone(),
        ) {
            match self.groups.group(&group_id).await {
                Ok(Some(group)) => change = change.with_group_name(&group.name),
                Ok(None) => report.notes.push(format!(
                    "{group_id} no longer exists: whether it was a VPC default group (EC2-SG-010) is unknown"
                )),
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    change.group_name_unread = true;
                    warn!(event_id = %event.id, group_id = %group_id, error = %e, "cannot read the group's name");
                    report.notes.push(format!(
                        "could not read {group_id}'s name ({}): whether it is a VPC default group (EC2-SG-010) is unknown",
                        e.code_or_kind()
                    ));
                }
            }
        }
        for list in change.prefix_list_ids() {
            if let Entry::Vacant(slot) = change.prefix_lists.entry(list) {
                let read = self.read_prefix_list(event, slot.key(), report).await?;
                slot.insert(read);
            }
        }
        Ok(change)
    }

    /// What a prefix list holds. One that cannot be read is unknown (said
    /// in the report), never clean: a rule through it is never revoked.
    pub(super) async fn read_prefix_list(
        &self,
        event: &Event,
        list_id: &str,
        report: &mut Report,
    ) -> Result<PrefixListEntries, AwsError> {
        match self.groups.prefix_list(list_id).await {
            Ok(entries) => Ok(entries),
            Err(e) if e.retryable => Err(e),
            Err(e) => {
                warn!(event_id = %event.id, prefix_list = %list_id, error = %e, "cannot read the prefix list");
                report.notes.push(format!(
                    "could not read prefix list {list_id} ({}): what it holds is unknown; a rule through it is not judged open to the internet and is never revoked",
                    e.code_or_kind()
                ));
                Ok(PrefixListEntries::Unknown(e.code_or_kind()))
            }
        }
    }

    /// Judges an active tag exemption from the day the tag was set, when the
    /// state table saw it set to the value the group carries now: a tag
    /// whose expiry lay beyond the window then is invalid for good (DESIGN
    /// §7.12).
    pub(super) async fn judge_tag_from_when_set(
        &self,
        event: &Event,
        group: &GroupInfo,
        report: &mut Report,
        today: Date,
    ) -> Result<(), AwsError> {
        let by_tag = format!("tag {}", self.policy.exemption_tag_key);
        let active_tag = report
            .exemption
            .as_ref()
            .is_some_and(|m| m.is_active() && m.source == by_tag);
        let (true, Some(log)) = (active_tag, self.revocations) else {
            return Ok(());
        };
        let Some((_, value)) = group
            .tags
            .iter()
            .find(|(k, _)| k == &self.policy.exemption_tag_key)
        else {
            return Ok(());
        };
        if let Some((seen, set_on)) = log
            .exemption_tag_set(&event.account, &event.region, &group.group_id)
            .await?
        {
            if &seen == value {
                report.exemption = Some(self.policy.tag_exemption_set_on(value, set_on, today));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::guards::ingress::test_support::*;
    use crate::guards::{GuardError, GuardSettings};
    use crate::model::sg;
    use crate::ports::AwsError;
    use crate::report::OutcomeKind;
    use serde_json::json;

    #[tokio::test]
    async fn a_record_with_no_rule_to_judge_alerts_could_not_evaluate_and_judges_the_group() {
        let g = groups(&[]);
        let policy = revoking();
        let hollow = event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1", "ipPermissions": {}}),
            json!({"_return": true}),
            None,
        );
        let (report, sent) = run(&g, &policy, &GuardSettings::default(), &hollow).await;
        let report = report.unwrap();
        assert!(report
            .unevaluated
            .as_deref()
            .unwrap()
            .starts_with("requestParameters.ipPermissions: no rule to judge"));
        assert_eq!(
            report.findings[0].rule, "EC2-SG-003",
            "the group's current rules, judged"
        );
        assert!(report.plan.is_empty() && g.revoke_calls.lock().unwrap().is_empty());
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].subject.starts_with(
                "[ALERT] [CRITICAL] Could not evaluate AuthorizeSecurityGroupIngress on sg-1"
            ),
            "{}",
            sent[0].subject
        );
        assert!(sent[0].message.contains("COULD NOT EVALUATE"));
    }

    #[tokio::test]
    async fn ssh_through_a_prefix_list_holding_the_internet_is_revoked_like_a_cidr_rule() {
        let mut g = groups(&[]);
        g.rules
            .lock()
            .unwrap()
            .push(listed("sgr-pl", 22, "pl-world"));
        g.prefix_lists = vec![(
            "pl-world".to_string(),
            holding(&["198.51.100.0/24", "0.0.0.0/0"]),
        )];
        let (report, sent) = run(
            &g,
            &revoking(),
            &GuardSettings::default(),
            &through("pl-world"),
        )
        .await;
        let report = report.unwrap();
        assert_eq!(rule_ids(&report), ["EC2-SG-003", "EC2-SG-011"]);
        assert_eq!(
            report.findings[0].detail,
            "tcp 22 from prefix list pl-world (sgr-pl), which holds 0.0.0.0/0"
        );
        assert_eq!(
            results(&report),
            vec![("sgr-pl".to_string(), OutcomeKind::Revoked)]
        );
        assert!(!ids(&g).contains(&"sgr-pl".to_string()));
        assert_eq!(
            *g.prefix_list_reads.lock().unwrap(),
            ["pl-world", "pl-world"],
            "read to judge, and again right before revoking"
        );
        assert!(
            sent[0]
                .subject
                .starts_with("[REVOKED] [CRITICAL] SSH (22) open to the internet"),
            "{}",
            sent[0].subject
        );

        // An office list is not the internet: reported as a prefix-list source only.
        let mut g = groups(&[]);
        g.rules
            .lock()
            .unwrap()
            .push(listed("sgr-pl", 22, "pl-office"));
        g.prefix_lists = vec![("pl-office".to_string(), holding(&["198.51.100.0/24"]))];
        let (report, _) = run(
            &g,
            &revoking(),
            &GuardSettings::default(),
            &through("pl-office"),
        )
        .await;
        let report = report.unwrap();
        assert_eq!(rule_ids(&report), ["EC2-SG-011"]);
        assert!(report.plan.is_empty() && g.revoke_calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_unreadable_prefix_list_is_unknown_never_clean_and_nothing_is_revoked() {
        let mut g = groups(&[]);
        g.rules
            .lock()
            .unwrap()
            .push(listed("sgr-pl", 22, "pl-denied"));
        g.prefix_lists = vec![(
            "pl-denied".to_string(),
            Err(denied("GetManagedPrefixListEntries")),
        )];
        let (report, sent) = run(
            &g,
            &revoking(),
            &GuardSettings::default(),
            &through("pl-denied"),
        )
        .await;
        let report = report.unwrap();
        assert_eq!(rule_ids(&report), ["EC2-SG-011"]);
        assert_eq!(report.findings[0].severity, crate::finding::Severity::High);
        assert!(report.findings[0]
            .detail
            .ends_with("entries unknown, the list could not be read"));
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.contains("UnauthorizedOperation")),
            "the code is said in the notes: {:?}",
            report.notes
        );
        assert!(report.plan.is_empty() && g.revoke_calls.lock().unwrap().is_empty());
        assert_eq!(sent.len(), 1, "unknown alerts");
        assert!(sent[0]
            .message
            .contains("could not read prefix list pl-denied (UnauthorizedOperation)"));

        // Throttled: the invocation fails and Lambda retries it.
        g.prefix_lists[0].1 = Err(AwsError {
            retryable: true,
            code: Some("RequestLimitExceeded".to_string()),
            ..denied("GetManagedPrefixListEntries")
        });
        let (result, sent) = run(
            &g,
            &revoking(),
            &GuardSettings::default(),
            &through("pl-denied"),
        )
        .await;
        assert!(matches!(result, Err(GuardError::Aws { .. })));
        assert!(sent.is_empty());
    }

    #[tokio::test]
    async fn the_default_group_is_named_by_the_record_or_by_ec2() {
        let policy = revoking();
        let settings = GuardSettings::default();
        // Named by the record.
        let g = groups(&[]);
        let (report, sent) = run(
            &g,
            &policy,
            &settings,
            &private_https(json!({"groupId": "sg-1", "groupName": "default"})),
        )
        .await;
        let report = report.unwrap();
        assert_eq!(rule_ids(&report), ["EC2-SG-010"]);
        assert_eq!(
            report.findings[0].detail,
            "tcp 443 from 10.0.0.0/8 (sgr-int) in the default group"
        );
        assert!(report.plan.is_empty() && g.revoke_calls.lock().unwrap().is_empty());
        assert_eq!(sent.len(), 1);

        // Not named by the record: EC2 says it.
        let mut g = groups(&[]);
        g.info.as_mut().unwrap().name = "default".to_string();
        let (report, _) = run(
            &g,
            &policy,
            &settings,
            &private_https(json!({"groupId": "sg-1"})),
        )
        .await;
        assert_eq!(rule_ids(&report.unwrap()), ["EC2-SG-010"]);
        let g = groups(&[]);
        let (report, _) = run(
            &g,
            &policy,
            &settings,
            &private_https(json!({"groupId": "sg-1"})),
        )
        .await;
        let report = report.unwrap();
        assert!(report.findings.is_empty(), "named web");
        assert!(report.notes.is_empty(), "{:?}", report.notes);

        // EC2 does not say: unknown, and the report says so.
        let mut g = groups(&[]);
        g.group_error = Some(denied("DescribeSecurityGroups"));
        let (report, _) = run(
            &g,
            &policy,
            &settings,
            &private_https(json!({"groupId": "sg-1"})),
        )
        .await;
        let report = report.unwrap();
        // Unknown is reported under the rule (high: alerted), never "not default".
        let rules: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["EC2-SG-010"]);
        assert!(
            report.findings[0].detail.ends_with(
                "whether the group is a VPC default group is unknown (its name could not be read)"
            ),
            "{}",
            report.findings[0].detail
        );
        assert!(report.plan.is_empty(), "nothing to revoke on an unknown");
        assert_eq!(
            report.notes,
            ["could not read sg-1's name (UnauthorizedOperation): whether it is a VPC default group (EC2-SG-010) is unknown"]
        );
        g.group_error = Some(AwsError {
            retryable: true,
            ..denied("DescribeSecurityGroups")
        });
        let (result, _) = run(
            &g,
            &policy,
            &settings,
            &private_https(json!({"groupId": "sg-1"})),
        )
        .await;
        assert!(result.is_err(), "retryable: Lambda retries");
    }
}
