//! Subject: the one line that leads the message — what was done, the
//! severity, what was found, on which resource, in which account and
//! region — ASCII only, within SNS's 100 characters.

use crate::model::tags::TagAction;
use crate::report::{OutcomeKind, Report};

/// SNS subjects are at most 100 characters.
pub const SUBJECT_MAX: usize = 100;

/// The resource named in the subject and body.
pub(super) fn resource(report: &Report) -> &str {
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
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        text.to_string()
    } else if max <= 3 {
        String::new()
    } else {
        format!("{}...", &text[..max - 3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::notify::test_support::report;
    use crate::report::Outcome;

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
}
