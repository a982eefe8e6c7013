//! Report: the verdicts on the calls that only alert — entries added to a
//! prefix list that open whatever references it to the internet, and the
//! exemption tag set on or removed from security groups (with the day it
//! was set, kept in the state table).

use time::Date;
use tracing::{info, warn};

use super::read::event_date;
use super::IngressGuard;
use crate::finding::{Action, Finding, Severity};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::model::sg::{PrefixListChange, PrefixListEntries};
use crate::model::tags::{ExemptionTagChange, TagAction};
use crate::policy::Policy;
use crate::ports::AwsError;
use crate::report::Report;
use crate::rules::ec2_sg::external_source::EXTERNAL_SOURCE;

/// The verdict on a `CreateTags`/`DeleteTags` call: an alert when it sets or
/// removes the exemption tag on security groups (who, which groups, the
/// reason and expiry, whether it is honoured); otherwise not handled.
pub fn exemption_tag_report(
    event: &Event,
    policy: &Policy,
    today: Date,
) -> Result<Report, FieldError> {
    let Some(change) = ExemptionTagChange::from_event(event, &policy.exemption_tag_key)? else {
        return Ok(Report::not_handled(event));
    };
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    if let (TagAction::Set, Some(value)) = (change.action, &change.value) {
        let set_on = event_date(event).unwrap_or(today);
        report.exemption = Some(policy.tag_exemption_set_on(value, set_on, today));
    }
    report.exemption_tag = Some(change);
    Ok(report)
}

/// How an alert about a prefix list that now holds the internet says to fix it.
const PREFIX_LIST_FIX: &str =
    "Remove the entry from the prefix list, or stop referencing the list from security groups.";

/// The finding about entries added to a prefix list that open whatever
/// references it to the internet (EC2-SG-011, notify only: nothing is
/// revoked on this event). `referencing`: the security groups that reference
/// the list, when read (`None`: unknown — alerted as if some did).
pub fn prefix_list_finding(
    change: &PrefixListChange,
    policy: &Policy,
    referencing: Option<&[String]>,
) -> Option<Finding> {
    let rule = &EXTERNAL_SOURCE;
    let setting = rule.setting(policy);
    let opened = change.internet_entries(policy.wide);
    if setting.action == Action::Off || opened.is_empty() {
        return None;
    }
    let alerting = setting.severity.max(Severity::High);
    let (who, severity) = match referencing {
        None => (
            "every security-group rule that references it is open to the internet".to_string(),
            alerting,
        ),
        Some([]) => (
            "no security group references it (yet)".to_string(),
            setting.severity,
        ),
        Some(groups) => (
            format!(
                "open to the internet through it: {} (every rule that references the list)",
                groups.join(", ")
            ),
            alerting,
        ),
    };
    let opened: Vec<String> = opened.iter().map(ToString::to_string).collect();
    Some(Finding {
        fields: Default::default(),
        resource: None,
        rule: rule.id,
        severity,
        title: rule.title,
        detail: format!(
            "{} now holds {}: {who}",
            change.resource(),
            opened.join(", ")
        ),
        remediation: PREFIX_LIST_FIX,
        action: Action::Notify,
        target: None,
    })
}

/// The offline verdict on a `ModifyManagedPrefixList` call: the entries the
/// record says were added; which groups reference the list needs AWS.
pub fn prefix_list_report(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    let Some(change) = PrefixListChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    report
        .findings
        .extend(prefix_list_finding(&change, policy, None));
    if !report.findings.is_empty() {
        report.notes.push(format!(
            "which security groups reference {} needs AWS (GetManagedPrefixListAssociations): not read offline",
            change.list_id
        ));
    }
    Ok(report)
}

impl IngressGuard<'_> {
    /// A `ModifyManagedPrefixList` call: the entries it added that open
    /// whatever references the list to the internet, and the security groups
    /// that reference it (GetManagedPrefixListAssociations). Notify only:
    /// nothing is revoked on this event. A record that cannot be read is said
    /// so, and the list as it is now is judged instead.
    pub(super) async fn prefix_list_change(&self, event: &Event) -> Result<Report, AwsError> {
        let mut report = Report::for_event(event);
        let change = match PrefixListChange::from_event(event) {
            Ok(Some(change)) => change,
            Ok(None) => return Ok(Report::not_handled(event)),
            Err(field) => {
                warn!(event_id = %event.id, field = %field.path, problem = %field.problem, "could not evaluate");
                report.unevaluated = Some(field.to_string());
                let Some(list_id) = crate::model::sg::prefix_list_named(event) else {
                    report.notes.push(
                        "the record names no prefix list: nothing could be read instead"
                            .to_string(),
                    );
                    return Ok(report);
                };
                report.resource = Some(format!("prefix list {list_id}"));
                match self.read_prefix_list(event, &list_id, &mut report).await? {
                    PrefixListEntries::Read(entries) => {
                        report.notes.push(format!(
                            "judged {list_id}'s current entries instead (GetManagedPrefixListEntries)"
                        ));
                        PrefixListChange {
                            list_id,
                            list_name: None,
                            added: entries,
                        }
                    }
                    _ => return Ok(report),
                }
            }
        };
        report.resource = Some(change.resource());
        if prefix_list_finding(&change, self.policy, None).is_none() {
            return Ok(report);
        }
        let referencing = match self.groups.groups_referencing(&change.list_id).await {
            Ok(groups) => Some(groups),
            Err(e) if e.retryable => return Err(e),
            Err(e) => {
                warn!(event_id = %event.id, prefix_list = %change.list_id, error = %e, "cannot read the list's associations");
                report.notes.push(format!(
                    "could not read which security groups reference {} ({}): unknown, alerted as if some did",
                    change.list_id,
                    e.code_or_kind()
                ));
                None
            }
        };
        report.findings.extend(prefix_list_finding(
            &change,
            self.policy,
            referencing.as_deref(),
        ));
        for f in &report.findings {
            info!(event_id = %event.id, rule = f.rule, severity = %f.severity, detail = %f.detail, "finding");
        }
        Ok(report)
    }

    /// Keeps, for each group an exemption tag event sets the tag on, the
    /// value and the day it was set. A table that cannot be written is
    /// said in the alert; a throttled one fails the invocation (retried).
    pub(super) async fn record_exemption_tag(
        &self,
        event: &Event,
        report: &mut Report,
        today: Date,
    ) -> Result<(), AwsError> {
        let (Some(log), Some(change)) = (self.revocations, &report.exemption_tag) else {
            return Ok(());
        };
        let (TagAction::Set, Some(value)) = (change.action, &change.value) else {
            return Ok(());
        };
        let set_on = event_date(event).unwrap_or(today).min(today);
        let mut problems = Vec::new();
        for group in &change.groups {
            match log
                .record_exemption_tag(&event.account, &event.region, group, value, set_on)
                .await
            {
                Ok(()) => {}
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    warn!(event_id = %event.id, group_id = %group, error = %e, "cannot record the exemption tag");
                    problems.push(format!(
                        "{group}: could not record in the state table when the exemption tag was set ({}): its expiry window will be judged from the day the group is next judged",
                        e.code_or_kind()
                    ));
                }
            }
        }
        report.notes.extend(problems);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::finding::Action;
    use crate::guards::ingress::test_support::*;
    use crate::guards::GuardSettings;
    use serde_json::json;

    #[tokio::test]
    async fn a_prefix_list_that_now_holds_the_internet_alerts_with_the_groups_it_opens() {
        let policy = revoking();
        let settings = GuardSettings::default();
        let world = add_to_list(json!({"Description": "temp", "cidr": "0.0.0.0/0"}));
        let mut g = groups(&[]);
        g.associations = vec![(
            "pl-1".to_string(),
            vec!["sg-1".to_string(), "sg-2".to_string()],
        )];
        let (report, sent) = run(&g, &policy, &settings, &world).await;
        let report = report.unwrap();
        assert_eq!(
            report.resource.as_deref(),
            Some("prefix list pl-1 (partners)")
        );
        assert_eq!(rule_ids(&report), ["EC2-SG-011"]);
        let f = &report.findings[0];
        assert_eq!(
            (f.severity, f.action),
            (crate::finding::Severity::High, Action::Notify)
        );
        assert_eq!(
            f.detail,
            "prefix list pl-1 (partners) now holds 0.0.0.0/0: open to the internet through it: sg-1, sg-2 (every rule that references the list)"
        );
        assert!(report.plan.is_empty() && report.outcomes.is_empty());
        assert!(g.revoke_calls.lock().unwrap().is_empty(), "notify only");
        assert_eq!(sent.len(), 1);

        // Referenced by no group: reported at the rule's severity (medium: no alert).
        let g = groups(&[]);
        let (report, sent) = run(&g, &policy, &settings, &world).await;
        let report = report.unwrap();
        assert_eq!(
            report.findings[0].severity,
            crate::finding::Severity::Medium
        );
        assert!(report.findings[0]
            .detail
            .ends_with("no security group references it (yet)"));
        assert!(sent.is_empty());

        // The associations cannot be read: alerted as if groups referenced it.
        let mut g = groups(&[]);
        g.associations_error = Some(denied("GetManagedPrefixListAssociations"));
        let (report, sent) = run(&g, &policy, &settings, &world).await;
        let report = report.unwrap();
        assert_eq!(report.findings[0].severity, crate::finding::Severity::High);
        assert!(report.notes[0].starts_with(
            "could not read which security groups reference pl-1 (UnauthorizedOperation)"
        ));
        assert_eq!(sent.len(), 1);

        // A narrow entry opens nothing.
        let g = groups(&[]);
        let (report, sent) = run(
            &g,
            &policy,
            &settings,
            &add_to_list(json!([{"Cidr": "198.51.100.7/32"}])),
        )
        .await;
        assert!(report.unwrap().findings.is_empty());
        assert!(sent.is_empty());
    }

    #[tokio::test]
    async fn a_prefix_list_record_that_cannot_be_read_is_judged_by_the_list_as_it_is() {
        let mut g = groups(&[]);
        g.prefix_lists = vec![("pl-1".to_string(), holding(&["::/0"]))];
        g.associations = vec![("pl-1".to_string(), vec!["sg-1".to_string()])];
        let lost = add_to_list(json!([{"Description": "no cidr"}]));
        let (report, sent) = run(&g, &revoking(), &GuardSettings::default(), &lost).await;
        let report = report.unwrap();
        assert!(report
            .unevaluated
            .as_deref()
            .unwrap()
            .starts_with("requestParameters.ModifyManagedPrefixListRequest.AddEntry[0].Cidr"));
        assert_eq!(rule_ids(&report), ["EC2-SG-011"]);
        assert!(report.findings[0].detail.contains("now holds ::/0"));
        assert!(
            sent[0].subject.contains("Could not evaluate"),
            "{}",
            sent[0].subject
        );
    }
}
