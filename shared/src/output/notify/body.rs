//! Body: the plain-text message for people, one function a section — the
//! subject again, what happened, who, where, when, the exemption tag
//! changed, a record that could not be read, the findings, the findings
//! resolved, what was done, the exemption, how to exempt, the notes, where
//! to look, and the event id.

use std::fmt::Write as _;

use super::subject::{resource, subject};
use crate::model::tags::TagAction;
use crate::report::{Caller, Report};

/// The message for people: what happened, who, where, when, the first
/// `shown` findings with their fixes (and how many more there are), what was
/// done, and the event id.
pub fn text_body(report: &Report, shown: usize) -> String {
    let mut out = String::new();
    write_header(&mut out, report);
    write_what(&mut out, report);
    write_who(&mut out, report);
    write_where(&mut out, report);
    write_when(&mut out, report);
    write_exemption_tag(&mut out, report);
    write_unevaluated(&mut out, report);
    write_findings(&mut out, report, shown);
    write_resolved(&mut out, report, shown);
    write_done(&mut out, report);
    write_exemption(&mut out, report);
    write_exempt_with(&mut out, report);
    write_notes(&mut out, report);
    write_links(&mut out, report);
    write_event_id(&mut out, report);
    out
}

/// The subject again, and a blank line.
fn write_header(out: &mut String, report: &Report) {
    let _ = writeln!(out, "{}", subject(report));
    let _ = writeln!(out);
}

/// `What happened:` the call, on the resource.
fn write_what(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "What happened: {} on {}",
        report.event_name,
        resource(report)
    );
}

/// `Who:` the principal, how it called (identity, session, key, MFA), and
/// through which service, from which address, with which client.
fn write_who(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "Who:   {}",
        report.actor.as_deref().unwrap_or("unknown principal")
    );
    let how = how_called(&report.caller);
    if !how.is_empty() {
        let _ = writeln!(out, "       {}", how.join(", "));
    }
    if let Some(service) = &report.caller.invoked_by {
        let _ = writeln!(out, "       through {service}");
    }
    if let Some(ip) = &report.source_ip {
        let _ = writeln!(out, "       from {ip}");
    }
    if let Some(agent) = &report.user_agent {
        let _ = writeln!(out, "       using {agent}");
    }
}

/// The identity type, the session's issuer, the access key and MFA, as
/// far as the record says them.
fn how_called(caller: &Caller) -> Vec<String> {
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
    how
}

/// `Where:` the account (and its name) and region, the security group and
/// its VPC, the cluster; `As:` the role the guard acted with.
fn write_where(out: &mut String, report: &Report) {
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
}

/// `When:` the call's time; `Reach:` what can reach the resource.
fn write_when(out: &mut String, report: &Report) {
    let _ = writeln!(out, "When:  {}", report.event_time);
    if let Some(reach) = &report.reachability {
        let _ = writeln!(out, "Reach: {reach}");
    }
}

/// The exemption tag set on or removed from groups, and what it means.
fn write_exemption_tag(out: &mut String, report: &Report) {
    let Some(change) = &report.exemption_tag else {
        return;
    };
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

/// A record that could not be read: what the call changed is unknown.
fn write_unevaluated(out: &mut String, report: &Report) {
    if let Some(problem) = &report.unevaluated {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "COULD NOT EVALUATE the record ({problem}): what the call changed is unknown."
        );
    }
}

/// The first `shown` findings with the network path to what they expose
/// (one `Path:` line each subnet and port) and their fixes, and how many
/// more there are.
fn write_findings(out: &mut String, report: &Report, shown: usize) {
    let _ = writeln!(out);
    if report.findings.is_empty() {
        let _ = writeln!(out, "Findings: none");
        return;
    }
    let _ = writeln!(out, "Findings ({}):", report.findings.len());
    for f in report.findings.iter().take(shown) {
        let on = f
            .resource
            .as_deref()
            .map(|r| format!("{r}: "))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- [{}] {} {}\n    {on}{}",
            f.severity.as_str().to_ascii_uppercase(),
            f.rule,
            f.title,
            f.detail,
        );
        for path in &f.fields.reachability {
            let _ = writeln!(out, "    Path: {}", path.line);
        }
        let _ = writeln!(out, "    Fix: {}", f.remediation);
    }
    if shown < report.findings.len() {
        let _ = writeln!(
            out,
            "- … and {} more findings (all are in the JSON document)",
            report.findings.len() - shown
        );
    }
}

/// What the sweep found fixed since its last run: at least ten listed.
fn write_resolved(out: &mut String, report: &Report, shown: usize) {
    if report.resolved.is_empty() {
        return;
    }
    let listed = shown.max(10);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Resolved since the last sweep ({}):",
        report.resolved.len()
    );
    for r in report.resolved.iter().take(listed) {
        if r.rule == crate::report::map::PATH_RULE {
            let _ = writeln!(
                out,
                "- PATH CLOSED on {}: {} (open since {})",
                r.resource, r.detail, r.first_seen
            );
            continue;
        }
        let _ = writeln!(
            out,
            "- {} on {}: {} (open since {})",
            r.rule, r.resource, r.detail, r.first_seen
        );
    }
    if report.resolved.len() > listed {
        let _ = writeln!(
            out,
            "- … and {} more (all are in the JSON document)",
            report.resolved.len() - listed
        );
    }
}

/// What was done to each rule (and how to undo it), or, with a plan and no
/// outcome, what would be done.
fn write_done(out: &mut String, report: &Report) {
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
}

/// The exemption that matched, whether it is honoured, and its expiry.
fn write_exemption(out: &mut String, report: &Report) {
    let Some(ex) = &report.exemption else {
        return;
    };
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

/// The command that exempts the resource, when one is offered.
fn write_exempt_with(out: &mut String, report: &Report) {
    if let Some(command) = &report.exempt_with {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "To exempt it (revocation stops while the tag is honoured; give the reason and keep the expiry within the policy's limit):\n    {command}"
        );
    }
}

/// One `Note:` line each.
fn write_notes(out: &mut String, report: &Report) {
    for note in &report.notes {
        let _ = writeln!(out, "Note: {note}");
    }
}

/// `Look:` the console links.
fn write_links(out: &mut String, report: &Report) {
    if report.links.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Look:");
    for link in &report.links {
        let _ = writeln!(out, "- {}: {}", link.label, link.url);
    }
}

/// A blank line and the event id, last.
fn write_event_id(out: &mut String, report: &Report) {
    let _ = writeln!(out);
    let _ = writeln!(out, "Event id: {}", report.event_id);
}

#[cfg(test)]
mod tests {
    use crate::output::notify::test_support::report;
    use crate::output::notify::Notification;
    use crate::report::Report;

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
}
