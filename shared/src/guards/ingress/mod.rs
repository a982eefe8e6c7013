//! The ingress guard: parse ▶ evaluate ▶ plan ▶ act ▶ report for
//! security-group ingress events. [`assess`] is the pure part the CLI runs
//! offline; [`IngressGuard::handle`] adds what only AWS can tell and does.
//!
//! The steps, one file each:
//! - `read`: what the event says, and what EC2 and the state table hold
//!   around it (the group's name, prefix lists, the exemption tag as set);
//! - `complete`: what the record leaves out, from the group's stored rules,
//!   and what is not visible yet right after the call;
//! - `plan`: findings and the plan of revocations, and the offline verdict;
//! - `recheck`: a planned rule judged again as it is right before revoking;
//! - `revoke`: exemptions, the read-back and the revoke calls, with the
//!   attempts kept for retries;
//! - `restore`: the command that puts a revoked rule back;
//! - `report`: the calls that only alert (a prefix list that now holds the
//!   internet, the exemption tag set or removed);
//! - `path`: after the revocations, the network path of each finding that
//!   opens the group to the internet, where the group is in use.

mod complete;
mod path;
pub use path::SERVICE_CALLS;
#[cfg(test)]
mod overlap_tests;
mod plan;
mod read;
mod recheck;
mod report;
mod restore;
mod revoke;
#[cfg(test)]
mod test_support;

use std::time::{Duration, Instant};

use time::Date;
use tracing::info;

use crate::guards::{notify_if_due, preflight, GuardError, GuardSettings};
use crate::model::event::Event;
use crate::model::sg::SgChange;
use crate::model::tags::ExemptionTagChange;
use crate::policy::Policy;
use crate::ports::once::GroupsReadOnce;
use crate::ports::{
    GroupServices, Iam, IngressRemediator, Notifier, OrganizationUnits, RevocationLog,
    SecurityGroups, Vpcs,
};
use crate::report::Report;

pub use complete::Visibility;
pub use plan::{assess, evaluate_offline, GROUP_NOT_NAMED};
pub use read::{event_date, skip_reason};
pub use report::{exemption_tag_report, prefix_list_finding, prefix_list_report};
pub use restore::restore_command;

use complete::needs_stored_rules;
use read::{is_prefix_list_call, DUPLICATE_CODES};

/// The ingress guard with its ports.
pub struct IngressGuard<'a> {
    pub groups: &'a dyn SecurityGroups,
    /// Where the event's account sits, for exemptions by OU (read only when
    /// the policy has one).
    pub organizations: Option<&'a dyn OrganizationUnits>,
    pub remediator: &'a dyn IngressRemediator,
    /// What earlier attempts of an event revoked (the state table): a retry
    /// reports `revoked (earlier attempt)`, not `already absent`.
    pub revocations: Option<&'a dyn RevocationLog>,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
    /// When the invocation must have answered (Lambda's deadline): revoking
    /// rule by rule stops in time and leaves the rest to Lambda's retry.
    pub deadline: Option<Instant>,
    /// How long a missing rule or group is taken for not visible yet, right
    /// after the call (DESIGN §7.15). `None`: absence is proof at once (the
    /// sweep judges state it has just read, not a call just made).
    pub visibility: Option<Visibility<'a>>,
    /// Where the group is in use and the network path to it, for the
    /// alert's lines (read after the revocations). `None`: no lines (the
    /// sweep revokes through this guard and alerts on its own).
    pub vpcs: Option<&'a dyn Vpcs>,
    /// Which ECS services use the group, for the ways in the alert names
    /// (read after the revocations, within a bound of calls). `None`: not
    /// named.
    pub services: Option<&'a dyn GroupServices>,
    /// What those services' task roles may do (the end of each way in);
    /// `None`: said as not read.
    pub iam: Option<&'a dyn Iam>,
}

/// What one more revoke call may take (the SDK's operation timeout and a
/// margin), then the optional sinks after the alert.
const ONE_CALL: Duration = Duration::from_secs(13).saturating_add(super::sinks::SINKS_BUDGET);

impl IngressGuard<'_> {
    /// Handles one event end to end and returns the report that was published (if any).
    /// The group is read once for the event: its name while judging and its
    /// tags before acting come from one DescribeSecurityGroups.
    pub async fn handle(&self, event: &Event, today: Date) -> Result<Report, GuardError> {
        let groups = GroupsReadOnce::new(self.groups);
        let guard = IngressGuard {
            groups: &groups,
            ..*self
        };
        guard.handle_event(event, today, &groups).await
    }

    async fn handle_event(
        &self,
        event: &Event,
        today: Date,
        groups: &GroupsReadOnce<'_>,
    ) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(skipped) = preflight(event, self.settings, &DUPLICATE_CODES) {
            return Ok(skipped);
        }
        if ExemptionTagChange::is_tag_call(event) {
            let mut report = exemption_tag_report(event, self.policy, today)
                .map_err(GuardError::parse(event))?;
            if report.exemption_tag.is_some() {
                info!(event_id = %event.id, groups = %report.resource.as_deref().unwrap_or_default(), "exemption tag changed");
                self.record_exemption_tag(event, &mut report, today)
                    .await
                    .map_err(aws)?;
            }
            notify_if_due(&mut report, self.policy, self.settings, self.notifier)
                .await
                .map_err(aws)?;
            return Ok(report);
        }
        if is_prefix_list_call(event) {
            let mut report = self.prefix_list_change(event).await.map_err(aws)?;
            notify_if_due(&mut report, self.policy, self.settings, self.notifier)
                .await
                .map_err(aws)?;
            return Ok(report);
        }
        let change = match SgChange::from_event(event) {
            Ok(Some(change)) => change,
            Ok(None) => return Ok(Report::not_handled(event)),
            Err(field) => return self.could_not_evaluate(event, field).await.map_err(aws),
        };
        let mut report = Report::for_event(event);
        report.resource = Some(change.resource());
        // A record that already asks for a revocation: the rules are read
        // back (right before revoking, DESIGN §7.8) beside the group's read,
        // when there is one (GroupsReadOnce drops them if the group must be
        // waited for, or once they are old).
        let ahead = change
            .group_id
            .clone()
            .filter(|_| self.reads_group_name(&change))
            .filter(|_| assess(&change, self.policy).1.is_some());
        let mut change = match &ahead {
            Some(group) => {
                crate::guards::both_ok(
                    self.enrich(event, change, true, &mut report),
                    groups.read_rules_ahead(group),
                )
                .await
                .map_err(aws)?
                .0
            }
            None => self
                .enrich(event, change, true, &mut report)
                .await
                .map_err(aws)?,
        };
        let (mut findings, mut plan) = assess(&change, self.policy);
        if needs_stored_rules(&change, plan.as_ref()) {
            change = self
                .complete(event, change, &mut report)
                .await
                .map_err(aws)?;
            // A source read back from EC2 may be a prefix list not read yet.
            change = self
                .enrich(event, change, false, &mut report)
                .await
                .map_err(aws)?;
            (findings, plan) = assess(&change, self.policy);
        }
        report.findings = findings;
        for f in &report.findings {
            info!(event_id = %event.id, rule = f.rule, severity = %f.severity, detail = %f.detail, "finding");
        }
        // For the alert only, never failing the revocations: where the
        // group is in use is read while they run, the lines drawn after.
        let group = self.group_for_paths(&change, &report);
        let interfaces = self.interfaces_for_paths(group);
        let interfaces = if let Some(plan) = plan {
            report.plan = plan.steps();
            crate::guards::both_ok(self.act(event, &plan, &mut report, today), interfaces)
                .await
                .map_err(aws)?
                .1
        } else {
            interfaces.await
        };
        self.add_paths(event, &change, &mut report, interfaces)
            .await;
        self.remember_rules(event, &change, &report).await;
        notify_if_due(&mut report, self.policy, self.settings, self.notifier)
            .await
            .map_err(aws)?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guards::ingress::test_support::*;
    use crate::model::sg;
    use serde_json::{json, Value};

    #[tokio::test]
    async fn own_calls_failed_calls_and_other_events_are_skipped() {
        let policy = revoking();
        let g = groups(&[]);
        let settings = GuardSettings {
            own_role_arn: Some("arn:aws:iam::111122223333:role/Dev".to_string()),
            ..GuardSettings::default()
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
    async fn findings_below_the_threshold_do_not_alert() {
        let mut policy = revoking();
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

    /// The group's reads counted, over the fake.
    struct CountedGroups<'a> {
        inner: &'a crate::ports::fakes::MemoryGroups,
        reads: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl SecurityGroups for CountedGroups<'_> {
        async fn group(
            &self,
            group_id: &str,
        ) -> Result<Option<crate::ports::GroupInfo>, crate::ports::AwsError> {
            self.reads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.group(group_id).await
        }
        async fn rules_of_group(
            &self,
            group_id: &str,
        ) -> Result<Vec<crate::model::sg::SgRule>, crate::ports::AwsError> {
            self.inner.rules_of_group(group_id).await
        }
        async fn prefix_list(
            &self,
            list_id: &str,
        ) -> Result<crate::model::sg::PrefixListEntries, crate::ports::AwsError> {
            self.inner.prefix_list(list_id).await
        }
        async fn groups_referencing(
            &self,
            list_id: &str,
        ) -> Result<Vec<String>, crate::ports::AwsError> {
            self.inner.groups_referencing(list_id).await
        }
    }

    #[tokio::test]
    async fn the_group_is_read_once_for_its_name_and_its_tags() {
        let policy = revoking();
        let g = groups(&[]);
        let counted = CountedGroups {
            inner: &g,
            reads: std::sync::atomic::AtomicUsize::new(0),
        };
        let notifier = crate::ports::fakes::MemoryNotifier::default();
        let settings = GuardSettings::default();
        // The record names no group: its name is read (EC2-SG-010), then
        // its tags before the revocation.
        let e = event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp",
                "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
            json!({"_return": true, "securityGroupRuleSet": {"items": [item("sgr-ssh", 22)]}}),
            None,
        );
        let report = guard(&counted, &g, &notifier, &policy, &settings)
            .handle(&e, TODAY)
            .await
            .unwrap();
        assert!(
            report
                .outcomes
                .iter()
                .any(|o| o.result == crate::report::OutcomeKind::Revoked),
            "{report:?}"
        );
        assert_eq!(report.location.group_name.as_deref(), Some("web"));
        assert_eq!(
            counted.reads.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "one DescribeSecurityGroups for the name and the tags"
        );
    }
}
