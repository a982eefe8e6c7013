//! The SNS message (DESIGN §8): a subject with severity and resource, a
//! plain-text body for people, the JSON document for machines, and message
//! attributes for subscription filter policies.

use std::fmt::Write as _;

use crate::model::tags::TagAction;
use crate::output::report::{OutcomeKind, Report};

/// SNS subjects are at most 100 characters.
pub const SUBJECT_MAX: usize = 100;

/// One message attribute (`String` or `String.Array`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: &'static str,
    pub data_type: &'static str,
    pub value: String,
}

/// What SNS accepts in one message: body, subject and attributes together.
pub const SNS_MESSAGE_LIMIT: usize = 262_144;

/// A rendered message, ready for `Publish` with `MessageStructure=json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub subject: String,
    /// The JSON object with `default`, `email`, `sqs`, `lambda`, `https` keys.
    pub message: String,
    pub attributes: Vec<Attribute>,
    /// False only when the JSON verdict alone exceeds what SNS accepts: the
    /// message then carries the text and says so (the verdict is never cut).
    pub verdict_included: bool,
}

impl Notification {
    /// Renders the report within SNS's size limit. The text body is shortened
    /// first (listing fewer findings, with the count of the rest); the JSON
    /// verdict is never truncated: when even one copy of it does not fit, it
    /// is left out whole and the text says so.
    pub fn render(report: &Report) -> Notification {
        let subject = subject(report);
        let attributes = attributes(report);
        let overhead = subject.len()
            + attributes
                .iter()
                .map(|a| a.name.len() + a.data_type.len() + a.value.len())
                .sum::<usize>();
        let budget = SNS_MESSAGE_LIMIT.saturating_sub(overhead + 1024);
        // Each body as a JSON string literal, escaped once.
        let literal = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string());
        let json = literal(&report.to_json());
        // Protocol keys: every machine protocol gets the JSON while it fits; then
        // fewer copies (a protocol without a key gets `default`).
        let layouts: [&[(&str, bool)]; 3] = [
            &[
                ("default", false),
                ("email", false),
                ("sqs", true),
                ("lambda", true),
                ("https", true),
            ],
            &[
                ("default", false),
                ("email", false),
                ("sqs", true),
                ("lambda", true),
            ],
            &[("default", true), ("email", false)],
        ];
        let mut shown = report.findings.len();
        while json.len() < budget {
            let text = literal(&text_body(report, shown));
            for layout in layouts {
                let size: usize = layout
                    .iter()
                    .map(|(key, is_json)| {
                        key.len() + 4 + if *is_json { json.len() } else { text.len() }
                    })
                    .sum();
                if size + 2 <= budget {
                    let fields: Vec<String> = layout
                        .iter()
                        .map(|(key, is_json)| {
                            format!("\"{key}\":{}", if *is_json { &json } else { &text })
                        })
                        .collect();
                    return Notification {
                        subject,
                        message: format!("{{{}}}", fields.join(",")),
                        attributes,
                        verdict_included: true,
                    };
                }
            }
            if shown == 0 {
                break;
            }
            shown /= 2;
        }
        let mut text = text_body(report, 0);
        let _ = writeln!(
            text,
            "The JSON verdict ({} bytes) is larger than an SNS message: the function's log has it.",
            json.len()
        );
        Notification {
            subject,
            message: serde_json::json!({"default": text, "email": text}).to_string(),
            attributes,
            verdict_included: false,
        }
    }
}

/// The resource named in the subject and body.
fn resource(report: &Report) -> &str {
    report.resource.as_deref().unwrap_or("unknown resource")
}

/// `[CRITICAL] SSH (22) open to the internet on sg-0abc (123456789012 us-east-1)`,
/// ASCII only (SNS rejects other subjects), at most 100 characters.
pub fn subject(report: &Report) -> String {
    let severity = report
        .alert_severity()
        .map_or("INFO".to_string(), |s| s.as_str().to_ascii_uppercase());
    let what = match report.findings.first() {
        _ if report.unevaluated.is_some() => format!("Could not evaluate {}", report.event_name),
        _ if report.exemption_tag.is_some() => {
            match report.exemption_tag.as_ref().map(|t| t.action) {
                Some(TagAction::Set) => "Exemption tag set".to_string(),
                _ => "Exemption tag removed".to_string(),
            }
        }
        Some(f) if report.findings.len() > 1 => {
            format!("{} (+{} more)", f.title, report.findings.len() - 1)
        }
        Some(f) => f.title.to_string(),
        None if !report.resolved.is_empty() => match report.resolved.len() {
            1 => "1 finding resolved".to_string(),
            n => format!("{n} findings resolved"),
        },
        None => format!("{} handled", report.event_name),
    };
    let raw = format!(
        "[{severity}] {what} on {} ({} {})",
        resource(report),
        report.account,
        report.region
    );
    let ascii: String = raw
        .replace('≥', ">=")
        .replace('…', "...")
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .collect();
    if ascii.len() <= SUBJECT_MAX {
        ascii
    } else {
        format!("{}...", &ascii[..SUBJECT_MAX - 3])
    }
}

/// The message for people: what happened, who, where, when, the first
/// `shown` findings with their fixes (and how many more there are), what was
/// done, and the event id.
pub fn text_body(report: &Report, shown: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", subject(report));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "What happened: {} on {}",
        report.event_name,
        resource(report)
    );
    let _ = writeln!(
        out,
        "Who:   {}",
        report.actor.as_deref().unwrap_or("unknown principal")
    );
    if let Some(ip) = &report.source_ip {
        let _ = writeln!(out, "       from {ip}");
    }
    if let Some(agent) = &report.user_agent {
        let _ = writeln!(out, "       using {agent}");
    }
    let _ = writeln!(
        out,
        "Where: account {} in {}",
        report.account, report.region
    );
    if let Some(role) = &report.acted_as {
        let _ = writeln!(out, "As:    {role}");
    }
    let _ = writeln!(out, "When:  {}", report.event_time);
    if let Some(reach) = &report.reachability {
        let _ = writeln!(out, "Reach: {reach}");
    }
    if let Some(change) = &report.exemption_tag {
        let _ = writeln!(out);
        let _ = match change.action {
            TagAction::Set => writeln!(
                out,
                "EXEMPTION TAG SET on {}: while it is honoured (below), ingress-guard revokes nothing there.",
                change.resource()
            ),
            TagAction::Removed => writeln!(
                out,
                "EXEMPTION TAG REMOVED from {}: remediation applies there again.",
                change.resource()
            ),
        };
    }
    if let Some(problem) = &report.unevaluated {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "COULD NOT EVALUATE the record ({problem}): what the call changed is unknown."
        );
    }
    let _ = writeln!(out);
    if report.findings.is_empty() {
        let _ = writeln!(out, "Findings: none");
    } else {
        let _ = writeln!(out, "Findings ({}):", report.findings.len());
        for f in report.findings.iter().take(shown) {
            let on = f
                .resource
                .as_deref()
                .map(|r| format!("{r}: "))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- [{}] {} {}\n    {on}{}\n    Fix: {}",
                f.severity.as_str().to_ascii_uppercase(),
                f.rule,
                f.title,
                f.detail,
                f.remediation
            );
        }
        if shown < report.findings.len() {
            let _ = writeln!(
                out,
                "- … and {} more findings (all are in the JSON document)",
                report.findings.len() - shown
            );
        }
    }
    if !report.resolved.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Resolved since the last sweep ({}):",
            report.resolved.len()
        );
        for r in report.resolved.iter().take(shown.max(10)) {
            let _ = writeln!(
                out,
                "- {} on {}: {} (open since {})",
                r.rule, r.resource, r.detail, r.first_seen
            );
        }
        if report.resolved.len() > shown.max(10) {
            let _ = writeln!(
                out,
                "- … and {} more (all are in the JSON document)",
                report.resolved.len() - shown.max(10)
            );
        }
    }
    if !report.outcomes.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "What was done:");
        for o in &report.outcomes {
            let code = o
                .error_code
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let _ = writeln!(out, "- {}: {}{code}", o.rule_id, o.phrase());
        }
    } else if !report.plan.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "What would be done: revoke the offending ingress rules listed above."
        );
    }
    if let Some(ex) = &report.exemption {
        let _ = writeln!(out);
        let expires = ex
            .expires
            .as_deref()
            .map(|e| format!(", expires {e}"))
            .unwrap_or_default();
        let status = ex.status.phrase();
        let _ = writeln!(
            out,
            "Exemption ({status}): {} — {}{expires}",
            ex.source, ex.reason
        );
    }
    for note in &report.notes {
        let _ = writeln!(out, "Note: {note}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Event id: {}", report.event_id);
    out
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

fn attributes(report: &Report) -> Vec<Attribute> {
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

/// Keeps the name of a secret's holder and at most the first 4 characters of
/// its value: `AKIA…(20 chars)`.
pub fn redact(value: &str) -> String {
    let shown: String = value.chars().take(4).collect();
    format!("{shown}…({} chars)", value.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Action, Finding, Severity};
    use crate::output::report::Outcome;

    fn report() -> Report {
        let value = serde_json::json!({"eventID": "ev-1", "eventName": "AuthorizeSecurityGroupIngress",
            "recipientAccountId": "123456789012", "awsRegion": "us-east-1", "eventTime": "2026-01-01T00:00:00Z",
            "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2",
            "userIdentity": {"arn": "arn:aws:iam::123456789012:user/alice"}});
        let event = crate::model::event::Event::from_value(&value, "t").unwrap();
        let mut r = Report::for_event(&event);
        r.resource = Some("sg-0abc".into());
        r.findings.push(Finding {
            resource: None,
            rule: "EC2-SG-003",
            severity: Severity::Critical,
            title: "SSH (22) open to the internet",
            detail: "tcp 22 from 0.0.0.0/0 (sgr-1)".into(),
            remediation: "Remove the rule.",
            action: Action::Revoke,
            target: Some(0),
        });
        r.outcomes.push(Outcome {
            rule_id: "sgr-1".into(),
            result: OutcomeKind::Revoked,
            error_code: None,
            earlier_attempt: false,
        });
        r
    }

    #[test]
    fn subject_body_and_attributes() {
        let n = Notification::render(&report());
        assert_eq!(
            n.subject,
            "[CRITICAL] SSH (22) open to the internet on sg-0abc (123456789012 us-east-1)"
        );
        let message: serde_json::Value = serde_json::from_str(&n.message).unwrap();
        let text = message["email"].as_str().unwrap();
        for needle in [
            "arn:aws:iam::123456789012:user/alice",
            "203.0.113.9",
            "aws-cli/2",
            "EC2-SG-003",
            "sgr-1: revoked",
            "Event id: ev-1",
            "Fix: Remove the rule.",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
        let doc: serde_json::Value =
            serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
        assert_eq!(doc["outcomes"][0]["result"], "revoked");
        let attr = |name: &str| {
            n.attributes
                .iter()
                .find(|a| a.name == name)
                .unwrap()
                .value
                .clone()
        };
        assert_eq!(attr("severity"), "critical");
        assert_eq!(attr("rule_ids"), "[\"EC2-SG-003\"]");
        assert_eq!(attr("action"), "revoked");
    }

    #[test]
    fn long_subjects_are_cut_and_ascii() {
        let mut r = report();
        r.findings[0].title = "Whole or wide port range (≥ 1000 ports) open to the internet";
        r.resource = Some("sg-".to_string() + &"0".repeat(80));
        let s = subject(&r);
        assert!(
            s.len() <= SUBJECT_MAX && s.is_ascii() && s.contains(">= 1000"),
            "{s}"
        );
    }

    #[test]
    fn large_reports_fit_in_one_sns_message_and_the_verdict_is_never_cut() {
        for (count, whole_verdict) in [(40, true), (700, true), (6000, false)] {
            let mut r = report();
            let one = r.findings[0].clone();
            r.findings = (0..count)
                .map(|i| Finding {
                    resource: None,
                    detail: format!("tcp {i} from 0.0.0.0/0 (sgr-{i:017})"),
                    ..one.clone()
                })
                .collect();
            let n = Notification::render(&r);
            assert!(
                n.message.len() + n.subject.len() <= SNS_MESSAGE_LIMIT,
                "{count}: {} bytes",
                n.message.len()
            );
            assert_eq!(n.verdict_included, whole_verdict, "{count}");
            let message: serde_json::Value = serde_json::from_str(&n.message).unwrap();
            let text = message["email"].as_str().unwrap();
            assert!(text.contains(&format!("Findings ({count}):")));
            if whole_verdict {
                let json = message
                    .get("sqs")
                    .or(message.get("default"))
                    .unwrap()
                    .as_str()
                    .unwrap();
                let doc: serde_json::Value = serde_json::from_str(json).unwrap();
                assert_eq!(
                    doc["findings"].as_array().unwrap().len(),
                    count,
                    "the JSON verdict is whole"
                );
            } else {
                assert!(
                    text.contains("more findings") && text.contains("larger than an SNS message")
                );
            }
        }
    }

    #[test]
    fn redaction_keeps_four_characters() {
        assert_eq!(redact("AKIAIOSFODNN7EXAMPLE"), "AKIA…(20 chars)");
        assert_eq!(redact("ab"), "ab…(2 chars)");
    }
}
