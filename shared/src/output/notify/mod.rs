//! The SNS message (DESIGN §8): a subject with severity and resource, a
//! plain-text body for people, the JSON document for machines, and message
//! attributes for subscription filter policies.

use std::fmt::Write as _;

use crate::model::tags::TagAction;
use crate::report::{OutcomeKind, Report};

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

/// What was done, for the subject: `FAILED` when any revoke failed, else
/// `PARTIAL` (some revoked, some held back), `REVOKED`, `WOULD REVOKE` (dry run), `RESOLVED` (a sweep's resolved
/// findings alone, no rule held back or exempt), else `ALERT`.
pub fn outcome_tag(report: &Report) -> &'static str {
    let has = |kind: OutcomeKind| report.outcomes.iter().any(|o| o.result == kind);
    if has(OutcomeKind::Failed) {
        "FAILED"
    } else if has(OutcomeKind::Revoked) && has(OutcomeKind::HeldBack) {
        // Some rules were left open (over max_revocations_per_event).
        "PARTIAL"
    } else if has(OutcomeKind::Revoked) {
        "REVOKED"
    } else if has(OutcomeKind::DryRun) {
        "WOULD REVOKE"
    } else if report.findings.is_empty()
        && report.unevaluated.is_none()
        && !report.resolved.is_empty()
        // A rule held back or exempt is still open.
        && !has(OutcomeKind::HeldBack)
        && !has(OutcomeKind::Exempt)
    {
        "RESOLVED"
    } else {
        "ALERT"
    }
}

/// The account as people know it: `payments-prod 123456789012`, or the id.
fn account(report: &Report) -> String {
    match &report.location.account_name {
        Some(name) => format!("{name} {}", report.account),
        None => report.account.clone(),
    }
}

/// `[REVOKED] [CRITICAL] SSH (22) open to the internet on sg-0abc (123456789012 us-east-1)`,
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
    let ascii = |raw: String| -> String {
        raw.replace('≥', ">=")
            .replace('…', "...")
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .collect()
    };
    let head = ascii(format!("[{}] [{severity}] ", outcome_tag(report)));
    let what = ascii(what);
    let on = ascii(format!(" on {}", resource(report)));
    // The account and region always stay; the account's name only if it fits.
    let mut place = ascii(format!(" ({} {})", account(report), report.region));
    if head.len() + place.len() > SUBJECT_MAX * 2 / 3 {
        place = ascii(format!(" ({} {})", report.account, report.region));
    }
    let room = SUBJECT_MAX.saturating_sub(head.len() + place.len());
    if what.len() + on.len() <= room {
        return format!("{head}{what}{on}{place}");
    }
    // The title gives way first, down to its first words; then the resource.
    let least = what.len().min(16);
    if room.saturating_sub(on.len()) >= least {
        let what = cut(&what, room - on.len());
        return format!("{head}{what}{on}{place}");
    }
    let what = cut(&what, least);
    let on = cut(&on, room.saturating_sub(what.len()));
    format!("{head}{what}{on}{place}")
}

/// `text` (ASCII) in at most `max` bytes, `...` marking a cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        text.to_string()
    } else if max <= 3 {
        String::new()
    } else {
        format!("{}...", &text[..max - 3])
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
    let caller = &report.caller;
    let mut how: Vec<String> = Vec::new();
    if let Some(kind) = &caller.identity_type {
        how.push(kind.clone());
    }
    if let Some(issuer) = &caller.session_issuer {
        how.push(format!("session of {issuer}"));
    }
    if let Some(key) = &caller.access_key_id {
        how.push(format!("access key {key}"));
    }
    match caller.mfa {
        Some(true) => how.push("with MFA".to_string()),
        Some(false) => how.push("without MFA".to_string()),
        None => {}
    }
    if !how.is_empty() {
        let _ = writeln!(out, "       {}", how.join(", "));
    }
    if let Some(service) = &caller.invoked_by {
        let _ = writeln!(out, "       through {service}");
    }
    if let Some(ip) = &report.source_ip {
        let _ = writeln!(out, "       from {ip}");
    }
    if let Some(agent) = &report.user_agent {
        let _ = writeln!(out, "       using {agent}");
    }
    let named = report
        .location
        .account_name
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "Where: account {}{named} in {}",
        report.account, report.region
    );
    if let Some(group) = &report.location.group_name {
        let vpc = report
            .location
            .vpc_id
            .as_deref()
            .map(|v| format!(" in {v}"))
            .unwrap_or_default();
        let _ = writeln!(out, "       security group {group}{vpc}");
    }
    if let Some(cluster) = &report.location.cluster {
        let _ = writeln!(out, "       cluster {cluster}");
    }
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
            if let Some(restore) = &o.restore {
                let _ = writeln!(out, "    Undo: {restore}");
            }
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
    if let Some(command) = &report.exempt_with {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "To exempt it (revocation stops while the tag is honoured; give the reason and keep the expiry within the policy's limit):\n    {command}"
        );
    }
    for note in &report.notes {
        let _ = writeln!(out, "Note: {note}");
    }
    if !report.links.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Look:");
        for link in &report.links {
            let _ = writeln!(out, "- {}: {}", link.label, link.url);
        }
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

pub use crate::secrets::redact;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Action, Finding, Severity};
    use crate::report::Outcome;

    fn report() -> Report {
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
    fn the_text_says_who_where_how_to_look_and_how_to_undo() {
        let value = serde_json::json!({"eventID": "ev-1", "eventName": "AuthorizeSecurityGroupIngress",
            "recipientAccountId": "123456789012", "awsRegion": "us-east-1", "eventTime": "2026-01-01T00:00:00Z",
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/Dev/jane",
                "accessKeyId": "ASIAEXAMPLEKEY000001", "invokedBy": "cloudformation.amazonaws.com",
                "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::123456789012:role/Dev"},
                    "attributes": {"mfaAuthenticated": "false"}}}});
        let event = crate::model::event::Event::from_value(&value, "t").unwrap();
        let mut r = report();
        r.caller = Report::for_event(&event).caller;
        r.outcomes[0].restore = Some("aws ec2 authorize-security-group-ingress --region us-east-1 --group-id sg-0abc --ip-permissions '[]'".into());
        r.location.group_name = Some("web".into());
        r.location.vpc_id = Some("vpc-1".into());
        let mut policy = crate::policy::Policy::embedded();
        policy
            .account_names
            .insert("123456789012".into(), "payments-prod".into());
        r.finish(&policy, time::macros::date!(2026 - 12 - 01));
        let n = Notification::render(&r);
        assert_eq!(
            n.subject,
            "[REVOKED] [CRITICAL] SSH (22) open to the internet on sg-0abc (payments-prod 123456789012 us-east-1)"
        );
        let message: serde_json::Value = serde_json::from_str(&n.message).unwrap();
        let text = message["email"].as_str().unwrap();
        for needle in [
            "AssumedRole, session of arn:aws:iam::123456789012:role/Dev, access key ASIAEXAMPLEKEY000001, without MFA",
            "through cloudformation.amazonaws.com",
            "Where: account 123456789012 (payments-prod) in us-east-1",
            "security group web in vpc-1",
            "    Undo: aws ec2 authorize-security-group-ingress --region us-east-1 --group-id sg-0abc",
            r#"aws ec2 create-tags --region us-east-1 --resources sg-0abc --tags '[{"Key":"access-guard:exempt","Value":"<reason>;expires=2027-03-01"}]'"#,
            "- security group sg-0abc: https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#SecurityGroup:groupId=sg-0abc",
            "- event ev-1 in CloudTrail: https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/ev-1",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
        let doc: serde_json::Value =
            serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
        assert_eq!(
            doc["caller"]["session_issuer"],
            "arn:aws:iam::123456789012:role/Dev"
        );
        assert_eq!(doc["caller"]["mfa"], false);
        assert_eq!(doc["location"]["account_name"], "payments-prod");
        assert_eq!(doc["location"]["vpc_id"], "vpc-1");
        assert!(doc["outcomes"][0]["restore"]
            .as_str()
            .unwrap()
            .starts_with("aws ec2 authorize"));
        assert_eq!(doc["links"].as_array().unwrap().len(), 2);
        assert!(doc["exempt_with"].as_str().unwrap().contains("expires="));
    }

    #[test]
    fn no_exempt_command_is_offered_with_a_word_that_is_not_plain() {
        let policy = crate::policy::Policy::embedded();
        let today = time::macros::date!(2026 - 12 - 01);
        let mut r = report();
        r.finish(&policy, today);
        assert!(r.exempt_with.is_some());
        for (region, group) in [("us-east-1`id`", "sg-0abc"), ("us-east-1", "sg-0abc;id")] {
            let mut r = report();
            r.region = region.into();
            r.resource = Some(group.into());
            r.finish(&policy, today);
            assert_eq!(r.exempt_with, None, "{region:?} {group:?}");
        }
    }

    #[test]
    fn the_outcome_leads_the_subject() {
        let mut r = report();
        r.outcomes[0].result = OutcomeKind::DryRun;
        assert!(subject(&r).starts_with("[WOULD REVOKE] [CRITICAL]"));
        r.outcomes[0].result = OutcomeKind::Revoked;
        r.outcomes.push(Outcome {
            result: OutcomeKind::HeldBack,
            ..r.outcomes[0].clone()
        });
        assert!(subject(&r).starts_with("[PARTIAL] [CRITICAL]"));
        r.outcomes.truncate(1);
        r.outcomes[0].result = OutcomeKind::DryRun;
        r.outcomes.push(Outcome {
            result: OutcomeKind::Failed,
            ..r.outcomes[0].clone()
        });
        assert!(subject(&r).starts_with("[FAILED] [CRITICAL]"));
        r.outcomes.clear();
        assert!(subject(&r).starts_with("[ALERT] [CRITICAL]"));

        // A sweep that found only fixed problems; but not while a rule it
        // held back is still open.
        let held = Outcome {
            result: OutcomeKind::HeldBack,
            ..report().outcomes[0].clone()
        };
        r.findings.clear();
        r.resolved.push(crate::report::Resolved {
            rule: "EC2-SG-003".into(),
            severity: "critical".into(),
            resource: "sg-0abc".into(),
            detail: "tcp 22 from 0.0.0.0/0 (sgr-1)".into(),
            first_seen: "2026-11-01T00:00:00Z".into(),
        });
        assert_eq!(outcome_tag(&r), "RESOLVED");
        r.outcomes.push(held);
        assert_eq!(outcome_tag(&r), "ALERT");
        r.outcomes[0].result = OutcomeKind::Exempt;
        assert_eq!(outcome_tag(&r), "ALERT");
    }

    #[test]
    fn a_long_title_gives_way_before_where_it_happened() {
        let mut r = report();
        r.findings.push(r.findings[0].clone());
        r.findings[0].title =
            "Whole or wide port range (≥ 1000 ports) open to the internet and to everything else";
        r.resource = Some("report-export-nightly-batch:117".into());
        let s = subject(&r);
        assert!(s.len() <= SUBJECT_MAX, "{s}");
        assert!(
            s.ends_with("... on report-export-nightly-batch:117 (123456789012 us-east-1)"),
            "the resource stays whole while the title keeps its first words: {s}"
        );
        assert!(s.starts_with("[REVOKED] [CRITICAL] Whole or w"), "{s}");
    }

    #[test]
    fn a_long_resource_or_account_name_never_pushes_out_the_account_and_region() {
        let mut r = report();
        r.resource = Some(format!(
            "launch template {} (lt-0a1b2c3d4e5f60104) version 1",
            "n".repeat(90)
        ));
        let s = subject(&r);
        assert!(s.len() <= SUBJECT_MAX, "{s}");
        assert!(s.ends_with("... (123456789012 us-east-1)"), "{s}");
        assert!(s.starts_with("[REVOKED] [CRITICAL] SSH (22) open"), "{s}");
        r.resource = Some("sg-0abc".into());
        r.location.account_name = Some("a".repeat(64));
        let s = subject(&r);
        assert!(s.len() <= SUBJECT_MAX, "{s}");
        assert!(s.ends_with(" on sg-0abc (123456789012 us-east-1)"), "{s}");
    }

    #[test]
    fn long_subjects_are_cut_and_ascii() {
        let mut r = report();
        r.findings[0].title = "Whole or wide port range (≥ 1000 ports) open to the internet";
        r.resource = Some("sg-0abc".to_string());
        let s = subject(&r);
        assert!(
            s.len() <= SUBJECT_MAX && s.is_ascii() && s.contains(">= 1000"),
            "{s}"
        );
        r.resource = Some("sg-".to_string() + &"0".repeat(80));
        let s = subject(&r);
        assert!(s.len() <= SUBJECT_MAX && s.is_ascii(), "{s}");
        assert!(s.ends_with("... (123456789012 us-east-1)"), "{s}");
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
