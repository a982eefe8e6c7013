//! The verdict on one event: the JSON document of DESIGN §8, also the CLI's
//! `--format json` line.
//!
//! Layer: report (with `state`): what a guard did or would do, its
//! plan of revocations and console links. May import the rules, the policy
//! and the model.

use serde::Serialize;

use crate::finding::{Finding, Severity};
use crate::model::event::Event;
use crate::model::tags::ExemptionTagChange;
use crate::policy::ExemptionMatch;
use crate::report::plan::PlanStep;

pub mod links;
pub mod map;
pub mod plan;

/// The `event_name` of what the sweep reports: it came from no event.
pub const SWEEP: &str = "Sweep";

/// How a report says no guard evaluates its event.
const NOT_HANDLED: &str = "not handled: ";

/// What happened to one rule the plan called to revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Revoked,
    AlreadyAbsent,
    Exempt,
    DryRun,
    /// Beyond `max_revocations_per_event`.
    HeldBack,
    /// Read back right before revoking, the rule no longer breaks a `revoke`
    /// rule (narrowed, or no longer ingress): left alone.
    ChangedSince,
    Failed,
}

impl OutcomeKind {
    /// How the text message says it.
    pub fn phrase(self) -> &'static str {
        match self {
            OutcomeKind::Revoked => "revoked",
            OutcomeKind::AlreadyAbsent => "already absent (nothing to revoke)",
            OutcomeKind::Exempt => "not revoked: the group is exempt",
            OutcomeKind::DryRun => "would revoke (dry run)",
            OutcomeKind::HeldBack => "not revoked: over max_revocations_per_event",
            OutcomeKind::ChangedSince => "not revoked: changed since the event, no longer offends",
            OutcomeKind::Failed => "revoke FAILED",
        }
    }
}

/// One outcome, per rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// For a revoked rule, the AWS CLI command that puts it back exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore: Option<String>,
    /// The security-group rule id, or the exact permission on older records.
    pub rule_id: String,
    pub result: OutcomeKind,
    /// The AWS error code of a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// A retry of the event found the rule gone because an earlier attempt
    /// of the same event revoked it (the state table says so, DESIGN §7.10).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub earlier_attempt: bool,
}

impl Outcome {
    /// How the text message says it.
    pub fn phrase(&self) -> &'static str {
        if self.earlier_attempt && self.result == OutcomeKind::Revoked {
            "revoked (earlier attempt)"
        } else {
            self.result.phrase()
        }
    }
}

/// A finding the sweep no longer sees (DESIGN §12), listed once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub rule: String,
    pub severity: String,
    pub resource: String,
    pub detail: String,
    /// When it was first seen (RFC 3339).
    pub first_seen: String,
}

/// Who made the call, beyond the ARN.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Caller {
    /// `userIdentity.type`: `IAMUser`, `AssumedRole`, `Root`, `AWSService`, …
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub identity_type: Option<String>,
    /// The role (or user) behind an assumed-role session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_issuer: Option<String>,
    /// The access key that signed the call (an identifier, not a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Whether the session was authenticated with MFA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa: Option<bool>,
    /// The AWS service that called on the caller's behalf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
}

impl Caller {
    pub fn is_empty(&self) -> bool {
        *self == Caller::default()
    }
}

/// Where the resource is, beyond account and region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    /// What the policy calls the account (`[account_names]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// The security group's name and VPC, as EC2 showed them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// The service's (or task's) cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

impl Location {
    pub fn is_empty(&self) -> bool {
        *self == Location::default()
    }
}

/// A console page to look at (the resource, the event in CloudTrail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// The verdict on one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub event_id: String,
    pub event_name: String,
    pub event_time: String,
    pub account: String,
    pub region: String,
    pub actor: Option<String>,
    #[serde(skip_serializing_if = "Caller::is_empty")]
    pub caller: Caller,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Location::is_empty")]
    pub location: Location,
    pub findings: Vec<Finding>,
    pub plan: Vec<PlanStep>,
    pub outcomes: Vec<Outcome>,
    pub skipped: Option<String>,
    /// The exemption that applies to the resource, active or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption: Option<ExemptionMatch>,
    /// How the resource can be reached (services): public IP, open groups, exec, users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reachability: Option<String>,
    /// Whose credentials the guard acted with: the member role it assumed in
    /// the event's account, or the function's own role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acted_as: Option<String>,
    /// The exemption tag set on, or removed from, groups by this call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption_tag: Option<ExemptionTagChange>,
    /// Why the record could not be evaluated (the field at fault): the alert
    /// says so, and any findings are from what the Lambda read instead.
    #[serde(rename = "could_not_evaluate", skip_serializing_if = "Option::is_none")]
    pub unevaluated: Option<String>,
    /// Findings of earlier sweeps that are gone now (sweep only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<Resolved>,
    /// What could not be checked, and other facts for the reader.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Console pages: the resource, the event in CloudTrail.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// How to exempt the resource from remediation (the tag command, with
    /// an expiry within the policy's limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempt_with: Option<String>,
    /// When each finding was first seen, by fingerprint (the sweep's state
    /// table): the findings store's `CreatedAt`. Not part of the alert.
    #[serde(skip)]
    pub first_seen: std::collections::BTreeMap<String, String>,
}

impl Report {
    /// An empty verdict about this event.
    pub fn for_event(event: &Event) -> Report {
        Report {
            event_id: event.id.clone(),
            event_name: event.name.clone(),
            event_time: event.time.clone(),
            account: event.account.clone(),
            region: event.region.clone(),
            actor: event.actor.arn.clone(),
            caller: Caller {
                identity_type: event.actor.identity_type.clone(),
                session_issuer: event.actor.issuer_arn.clone(),
                access_key_id: event.actor.access_key_id.clone(),
                mfa: event.actor.mfa_authenticated,
                invoked_by: event.actor.invoked_by.clone(),
            },
            source_ip: event.source_ip.clone(),
            user_agent: event.user_agent.clone(),
            resource: None,
            location: Location::default(),
            findings: Vec::new(),
            plan: Vec::new(),
            outcomes: Vec::new(),
            skipped: None,
            exemption: None,
            reachability: None,
            acted_as: None,
            exemption_tag: None,
            unevaluated: None,
            resolved: Vec::new(),
            notes: Vec::new(),
            links: Vec::new(),
            exempt_with: None,
            first_seen: Default::default(),
        }
    }

    /// Adds what a reader acts on, once the verdict is whole: the account's
    /// name, the console links, and for a revocable finding on a security
    /// group the command that exempts it (expiring within the policy's limit
    /// from `today`).
    pub fn finish(&mut self, policy: &crate::policy::Policy, today: time::Date) {
        self.location.account_name = policy.account_names.get(&self.account).cloned();
        self.links = crate::report::links::for_report(self);
        let group = self.resource.as_deref().filter(|r| r.starts_with("sg-"));
        let revocable = self
            .findings
            .iter()
            .any(|f| f.action == crate::finding::Action::Revoke);
        self.exempt_with = match group {
            Some(group)
                if revocable
                    && self.skipped.is_none()
                    && is_plain_word(group)
                    && is_plain_word(&self.region) =>
            {
                let expires =
                    today + time::Duration::days(i64::from(policy.max_tag_exemption_days));
                let tags = serde_json::json!([{
                    "Key": policy.exemption_tag_key,
                    "Value": format!("<reason>;expires={expires}"),
                }]);
                Some(format!(
                    "aws ec2 create-tags --region {} --resources {group} --tags '{}'",
                    self.region,
                    shell_quoted_inner(&tags.to_string())
                ))
            }
            _ => None,
        };
    }

    pub fn skipped(event: &Event, reason: impl Into<String>) -> Report {
        Report {
            skipped: Some(reason.into()),
            ..Report::for_event(event)
        }
    }

    /// The verdict on an event no guard evaluates: `not handled: <eventName>`.
    pub fn not_handled(event: &Event) -> Report {
        Report::skipped(event, format!("{NOT_HANDLED}{}", event.name))
    }

    /// True for [`Report::not_handled`], as opposed to an event skipped for a
    /// reason (a failed call, the guard's own call, an incomplete record).
    pub fn is_not_handled(&self) -> bool {
        self.skipped
            .as_deref()
            .is_some_and(|reason| reason.starts_with(NOT_HANDLED))
    }

    /// The most severe finding's severity.
    pub fn top_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// The severity the alert carries: the top finding's, and at least high
    /// when the record could not be evaluated (what it did is unknown).
    pub fn alert_severity(&self) -> Option<Severity> {
        let floor = self.unevaluated.as_ref().map(|_| Severity::High);
        self.top_severity().max(floor)
    }

    /// True when the event deserves a message: a finding at or above the
    /// threshold, anything done (or not done) about it, or a record that could
    /// not be evaluated, or an exemption tag set or removed.
    pub fn should_notify(&self, min: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= min)
            || !self.outcomes.is_empty()
            || self.unevaluated.is_some()
            || self.exemption_tag.is_some()
            || !self.resolved.is_empty()
    }

    /// The JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(
                "{{\"event_id\":{:?},\"error\":\"cannot serialize report: {e}\"}}",
                self.event_id
            )
        })
    }
}

/// `text` for inside single quotes in a POSIX shell: a `'` becomes `'\''`.
pub(crate) fn shell_quoted_inner(text: &str) -> String {
    text.replace('\'', "'\\''")
}

/// True for a word a command may carry unquoted: a region or a resource id
/// (letters, digits, `-`). The words come from the record; a command is
/// never offered with anything else in them.
pub(crate) fn is_plain_word(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}
