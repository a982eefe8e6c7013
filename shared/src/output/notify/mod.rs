//! The SNS message (DESIGN §8): a subject with severity and resource, a
//! plain-text body for people, the JSON document for machines, and message
//! attributes for subscription filter policies.
//!
//! One file a part: `subject` (the subject line and its parts), `body` (the
//! text for people, section by section), `attributes` (the message
//! attributes); here, the message that puts them together within SNS's
//! size limit.

mod attributes;
mod body;
mod subject;

use std::fmt::Write as _;

use crate::report::Report;

pub use crate::secrets::redact;
pub use attributes::Attribute;
pub use body::text_body;
pub use subject::{cut, outcome_tag, subject, SUBJECT_MAX};

use attributes::attributes;

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
    /// A summary's message (the sweep's daily one, a retro scan's): `text`
    /// for people (`default`, `email`), `json` for machines (`sqs`,
    /// `lambda`, `https`), with the `severity` of the worst finding
    /// (`info` when none) and `action` as attributes.
    pub fn summary(
        subject: String,
        text: &str,
        json: &str,
        top: Option<crate::finding::Severity>,
        action: &str,
    ) -> Notification {
        let message = serde_json::json!({
            "default": text, "email": text, "sqs": json, "lambda": json, "https": json,
        })
        .to_string();
        Notification {
            subject,
            message,
            attributes: vec![
                Attribute {
                    name: "severity",
                    data_type: "String",
                    value: top
                        .map_or("info", crate::finding::Severity::as_str)
                        .to_string(),
                },
                Attribute {
                    name: "action",
                    data_type: "String",
                    value: action.to_string(),
                },
            ],
            verdict_included: true,
        }
    }

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

#[cfg(test)]
mod test_support {
    use crate::finding::{Action, Finding, Severity};
    use crate::report::{Outcome, OutcomeKind, Report};

    pub(super) fn report() -> Report {
        let value = serde_json::json!({"eventID": "ev-1", "eventName": "AuthorizeSecurityGroupIngress",
            "recipientAccountId": "123456789012", "awsRegion": "us-east-1", "eventTime": "2026-01-01T00:00:00Z",
            "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2",
            "userIdentity": {"arn": "arn:aws:iam::123456789012:user/alice"}});
        let event = crate::model::event::Event::from_value(&value, "t").unwrap();
        let mut r = Report::for_event(&event);
        r.resource = Some("sg-0abc".into());
        r.findings.push(Finding {
            fields: Default::default(),
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
            restore: Default::default(),
            rule_id: "sgr-1".into(),
            result: OutcomeKind::Revoked,
            error_code: None,
            earlier_attempt: false,
        });
        r
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::report;
    use super::*;
    use crate::finding::Finding;

    #[test]
    fn subject_body_and_attributes() {
        let n = Notification::render(&report());
        assert_eq!(
            n.subject,
            "[REVOKED] [CRITICAL] SSH (22) open to the internet on sg-0abc (123456789012 us-east-1)"
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
}
