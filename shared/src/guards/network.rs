//! The network guard's load-balancer half (DESIGN §14): the ELBv2 calls ▶
//! the ELB rules ▶ one report. Notify only. Most records name the load
//! balancer only by ARN: what a rule needs beyond the record (the scheme,
//! the listener, the groups' rules) is a fact the Lambda reads; offline,
//! every rule that could not be judged is named in the report's notes.

use crate::guards::failed_call;
use crate::model::elb::{self, ElbChange};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::policy::Policy;
use crate::report::Report;
use crate::rules::{self, elb::ElbContext, elb::ElbFacts};

/// (service, event name) of every call this guard judges.
pub const CALLS: &[(&str, &str)] = &[
    (elb::SERVICE, elb::CREATE_LOAD_BALANCER),
    (elb::SERVICE, elb::SET_SECURITY_GROUPS),
    (elb::SERVICE, elb::CREATE_LISTENER),
    (elb::SERVICE, elb::MODIFY_LISTENER),
    (elb::SERVICE, elb::CREATE_RULE),
    (elb::SERVICE, elb::MODIFY_RULE),
    (elb::SERVICE, elb::MODIFY_LOAD_BALANCER_ATTRIBUTES),
    (elb::SERVICE, elb::CREATE_TARGET_GROUP),
    (elb::SERVICE, elb::MODIFY_TARGET_GROUP),
    (elb::SERVICE, elb::REGISTER_TARGETS),
];

/// The report on one change judged with `facts`: its findings, and a note
/// per rule that could not be judged for want of a fact.
pub fn report_for(event: &Event, change: &ElbChange, policy: &Policy, facts: &ElbFacts) -> Report {
    let ctx = ElbContext { policy, facts };
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    report.findings = rules::evaluate_elb(change, &ctx);
    report.notes.extend(rules::elb::needs_aws(change, &ctx));
    report
}

/// The offline verdict (CLI): only what the event shows.
pub fn evaluate_offline(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    if let Some(reason) = failed_call(event, &[]) {
        return Ok(Report::skipped(event, reason));
    }
    let Some(change) = ElbChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    Ok(report_for(event, &change, policy, &ElbFacts::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::Scheme;
    use crate::model::stream::read_document;

    fn events_dir() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
    }

    fn sample(name: &str) -> Event {
        let bytes = std::fs::read(events_dir().join(name)).unwrap();
        let mut events = read_document(&bytes, name);
        assert_eq!(events.len(), 1, "{name}");
        events.remove(0).unwrap()
    }

    fn rules_of(report: &Report) -> Vec<&str> {
        let mut rules: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }

    /// The notes' rule ids (`ELB-001 needs AWS: …` → `ELB-001`).
    fn needs(report: &Report) -> Vec<&str> {
        report
            .notes
            .iter()
            .filter_map(|n| n.split_once(" needs AWS: ").map(|(id, _)| id))
            .collect()
    }

    #[test]
    fn every_sample_gives_exactly_its_rules() {
        let policy = Policy::embedded();
        // (file, findings offline, rules that need AWS offline)
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "elb-create-alb-defaults.json",
                &["ELB-004", "ELB-006", "ELB-007"],
                &[],
            ),
            (
                "elb-create-nlb-internet-facing-no-security-groups.json",
                &["ELB-007", "ELB-009"],
                &[],
            ),
            (
                "elb-create-nlb-with-security-groups.json",
                &["ELB-007"],
                &[],
            ),
            ("elb-create-listener-http-forward.json", &[], &["ELB-001"]),
            ("elb-create-listener-http-redirect-to-https.json", &[], &[]),
            (
                "elb-create-listener-https-default-policy.json",
                &["ELB-003"],
                &[],
            ),
            (
                "elb-create-listener-https-recommended-policy.json",
                &[],
                &[],
            ),
            ("elb-create-listener-nlb-tcp.json", &[], &["ELB-002"]),
            ("elb-modify-listener-old-tls-policy.json", &["ELB-003"], &[]),
            ("elb-create-rule-forward.json", &[], &["ELB-001"]),
            (
                "elb-modify-attributes-insecure.json",
                &["ELB-004", "ELB-005", "ELB-006", "ELB-007"],
                &[],
            ),
            ("elb-modify-attributes-secure.json", &[], &[]),
            ("elb-create-target-group-http.json", &["ELB-008"], &[]),
            ("elb-create-target-group-https.json", &[], &[]),
            (
                "elb-modify-target-group-http-health-check.json",
                &["ELB-008"],
                &[],
            ),
            ("elb-set-security-groups-alb.json", &[], &["ELB-010"]),
            ("elb-register-targets.json", &[], &["ELB-011"]),
        ];
        for (name, expected, unknown) in cases {
            let report = evaluate_offline(&sample(name), &policy).unwrap();
            assert!(!report.is_not_handled(), "{name}");
            assert_eq!(rules_of(&report), *expected, "{name}: {report:?}");
            assert_eq!(needs(&report), *unknown, "{name}: {:?}", report.notes);
        }
    }

    #[test]
    fn every_elb_sample_is_listed_above() {
        let source = include_str!("network.rs");
        for entry in std::fs::read_dir(events_dir()).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.starts_with("elb-") {
                assert!(
                    source.contains(&format!("\"{name}\"")),
                    "{name} has no expectation"
                );
            }
        }
    }

    #[test]
    fn facts_turn_unknowns_into_verdicts() {
        let policy = Policy::embedded();
        let event = sample("elb-create-listener-http-forward.json");
        let change = ElbChange::from_event(&event).unwrap().unwrap();
        let facing = ElbFacts {
            scheme: Some(Scheme::InternetFacing),
            ..ElbFacts::default()
        };
        let report = report_for(&event, &change, &policy, &facing);
        assert_eq!(rules_of(&report), ["ELB-001"]);
        assert!(report.notes.is_empty(), "{:?}", report.notes);
        let internal = ElbFacts {
            scheme: Some(Scheme::Internal),
            ..ElbFacts::default()
        };
        let report = report_for(&event, &change, &policy, &internal);
        assert!(report.findings.is_empty() && report.notes.is_empty());
    }

    #[test]
    fn failed_calls_other_services_and_other_names() {
        let policy = Policy::embedded();
        let mut failed = sample("elb-create-nlb-internet-facing-no-security-groups.json");
        failed.error_code = Some("AccessDenied".into());
        assert_eq!(
            evaluate_offline(&failed, &policy)
                .unwrap()
                .skipped
                .as_deref(),
            Some("failed call: AccessDenied")
        );
        let mut other = sample("elb-create-nlb-internet-facing-no-security-groups.json");
        other.source = "lightsail.amazonaws.com".into();
        assert!(evaluate_offline(&other, &policy).unwrap().is_not_handled());
        let mut delete = sample("elb-create-nlb-internet-facing-no-security-groups.json");
        delete.name = "DeleteLoadBalancer".into();
        assert!(evaluate_offline(&delete, &policy).unwrap().is_not_handled());
    }

    #[test]
    fn a_malformed_record_is_an_error_naming_the_field() {
        let mut event = sample("elb-create-listener-http-forward.json");
        event.request["protocol"] = serde_json::json!(80);
        event.response = serde_json::Value::Null;
        let err = evaluate_offline(&event, &Policy::embedded()).unwrap_err();
        assert_eq!(err.path, "requestParameters.protocol");
    }

    #[test]
    fn calls_cover_every_event_name() {
        let names: Vec<&str> = CALLS.iter().map(|(_, n)| *n).collect();
        assert_eq!(names, elb::EVENT_NAMES);
        assert!(CALLS.iter().all(|(s, _)| *s == "elasticloadbalancing"));
    }
}
