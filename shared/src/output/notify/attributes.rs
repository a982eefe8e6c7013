//! Attributes: what subscription filter policies select on — the
//! severity, the rule ids, what was done in one word, the account and the
//! region.

use crate::model::tags::TagAction;
use crate::report::{OutcomeKind, Report};

/// One message attribute (`String` or `String.Array`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: &'static str,
    pub data_type: &'static str,
    pub value: String,
}

/// What was done, in one word, for filter policies.
fn action_attribute(report: &Report) -> &'static str {
    let has = |kind: OutcomeKind| report.outcomes.iter().any(|o| o.result == kind);
    if let Some(change) = &report.exemption_tag {
        return match change.action {
            TagAction::Set => "exemption_set",
            TagAction::Removed => "exemption_removed",
        };
    }
    if has(OutcomeKind::Failed) {
        "failed"
    } else if has(OutcomeKind::Revoked) {
        "revoked"
    } else if has(OutcomeKind::DryRun) {
        "would_revoke"
    } else if has(OutcomeKind::Exempt) {
        "exempt"
    } else if has(OutcomeKind::AlreadyAbsent) {
        "already_absent"
    } else if has(OutcomeKind::ChangedSince) {
        "changed_since"
    } else {
        "notify"
    }
}

pub(super) fn attributes(report: &Report) -> Vec<Attribute> {
    let mut rule_ids: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let severity = report.alert_severity().map_or("info", |s| s.as_str());
    let mut attrs = vec![
        Attribute {
            name: "severity",
            data_type: "String",
            value: severity.to_string(),
        },
        Attribute {
            name: "rule_ids",
            data_type: "String.Array",
            value: serde_json::to_string(&rule_ids).unwrap_or_else(|_| "[]".to_string()),
        },
        Attribute {
            name: "action",
            data_type: "String",
            value: action_attribute(report).to_string(),
        },
    ];
    // SNS rejects empty attribute values.
    for (name, value) in [("account", &report.account), ("region", &report.region)] {
        if !value.is_empty() {
            attrs.push(Attribute {
                name,
                data_type: "String",
                value: value.clone(),
            });
        }
    }
    attrs
}
