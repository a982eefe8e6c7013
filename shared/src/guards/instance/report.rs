//! The instance guard's verdict: the findings on a change with what the
//! Lambda learned, and the offline verdict with what it cannot judge.

use crate::guards::failed_call;
use crate::model::ci::{CiCall, InstanceChange, Said, TemplateRef};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::policy::Policy;
use crate::report::Report;
use crate::rules::{self, ec2_ci::CiContext, ec2_ci::CiFacts};

/// What the offline verdict cannot judge about a launch or a launch template.
pub const NEEDS_AWS: &str = "EC2-CI-003 and EC2-CI-004 (whether these are container instances: the instance profile's role, the capacity providers) and EC2-CI-005 (the groups' live rules) need AWS: the Lambda checks them";

/// What the offline verdict cannot judge about a metadata update that sets the hop limit.
pub const NEEDS_AWS_UPDATE: &str =
    "EC2-CI-004 (whether this is a container instance: its instance profile's role) needs AWS: the Lambda checks it";

/// What the offline verdict cannot judge when a launch does not say whether
/// it wants a public IP.
pub const NEEDS_AWS_SUBNET: &str = "EC2-CI-002 needs AWS: the launch does not say whether the instances get a public IP, so the subnet's MapPublicIpOnLaunch decides; the Lambda reads the subnet";

/// What the offline verdict cannot judge when the record does not carry the
/// launch template version that decides the settings.
pub fn needs_template(template: &TemplateRef, unknown: &[&str]) -> String {
    format!(
        "EC2-CI-001…005 need AWS for what the record does not carry ({}): it comes from {template}, which the Lambda reads",
        unknown.join(", ")
    )
}

/// The verdict on `change` with what the Lambda learned (`facts`; empty offline).
pub(super) fn report_for(
    event: &Event,
    change: &InstanceChange,
    policy: &Policy,
    facts: &CiFacts,
) -> Report {
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    report.findings = rules::evaluate_ci(change, &CiContext { policy, facts });
    report
}

/// What the offline verdict could not judge about `change`.
fn offline_notes(change: &InstanceChange) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(template) = &change.needs_template {
        notes.push(needs_template(template, &change.effective.unknown()));
    }
    match change.call {
        CiCall::ModifyMetadataOptions => {
            if !change.effective.hop_limit.is_unknown() {
                notes.push(NEEDS_AWS_UPDATE.to_string());
            }
        }
        call => {
            if call == CiCall::RunInstances && change.effective.public_ip == Said::Default {
                notes.push(NEEDS_AWS_SUBNET.to_string());
            }
            notes.push(NEEDS_AWS.to_string());
        }
    }
    notes
}

/// The offline verdict (CLI): only what the event shows.
pub fn evaluate_offline(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    // Dry runs (`Client.DryRunOperation`) and denied calls launched nothing.
    if let Some(reason) = failed_call(event, &[]) {
        return Ok(Report::skipped(event, reason));
    }
    let Some(change) = InstanceChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let mut report = report_for(event, &change, policy, &CiFacts::default());
    report.notes = offline_notes(&change);
    Ok(report)
}

/// The verdict before deployment (DESIGN §16): what the record shows, with
/// what the same plan or template shows of it in `facts` (why these are
/// container instances); the checks it does not settle still say they
/// need AWS.
pub fn evaluate_planned(
    event: &Event,
    policy: &Policy,
    facts: &CiFacts,
) -> Result<Report, FieldError> {
    let Some(change) = InstanceChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let mut report = report_for(event, &change, policy, facts);
    report.notes = offline_notes(&change);
    if facts.container_instance.is_some() {
        for note in &mut report.notes {
            if note == NEEDS_AWS {
                *note = NEEDS_AWS_GROUPS.to_string();
            }
        }
    }
    Ok(report)
}

/// What the verdict before deployment cannot judge about a launch or a
/// launch template known to be for container instances.
pub const NEEDS_AWS_GROUPS: &str =
    "EC2-CI-005 (the groups' live rules) needs AWS: the Lambda checks them";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;
    use crate::guards::instance::test_support::*;
    use crate::rules::ec2_ci::{Evidence, GroupExposure, MetadataDefaults};
    use serde_json::json;

    #[test]
    fn offline_judges_what_the_record_shows_and_says_what_needs_aws() {
        let report = evaluate_offline(&imdsv1_public_launch(), &Policy::embedded()).unwrap();
        assert_eq!(rules_of(&report), ["EC2-CI-001", "EC2-CI-002"]);
        assert_eq!(report.resource.as_deref(), Some("i-1"));
        assert_eq!(report.notes, [NEEDS_AWS]);
        // A launch that does not say about public IPs: the subnet decides.
        let bare = event(
            "RunInstances",
            json!({"instancesSet": {"items": [{"imageId": "ami-1"}]}, "metadataOptions": {"httpTokens": "required"}}),
            json!(null),
        );
        let report = evaluate_offline(&bare, &Policy::embedded()).unwrap();
        assert!(report.findings.is_empty());
        assert_eq!(report.notes, [NEEDS_AWS_SUBNET, NEEDS_AWS]);
        // A metadata update that sets the hop limit: whether it matters needs AWS.
        let update = event(
            "ModifyInstanceMetadataOptions",
            json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-1", "HttpPutResponseHopLimit": 3}}),
            json!(null),
        );
        let report = evaluate_offline(&update, &Policy::embedded()).unwrap();
        assert!(report.findings.is_empty());
        assert_eq!(report.notes, [NEEDS_AWS_UPDATE]);
    }

    #[test]
    fn a_launch_template_the_record_does_not_carry_is_never_judged_clean() {
        let launch = event(
            "RunInstances",
            json!({"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
                   "launchTemplate": {"launchTemplateId": "lt-1", "version": "4"}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1",
                   "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}}]}}),
        );
        let report = evaluate_offline(&launch, &Policy::embedded()).unwrap();
        assert!(report.findings.is_empty());
        assert_eq!(
            report.notes[0],
            "EC2-CI-001…005 need AWS for what the record does not carry (associatePublicIpAddress, keyName, iamInstanceProfile, securityGroups): it comes from launch template lt-1 version 4, which the Lambda reads"
        );
        // The Lambda could not read it: unknown, reported, alerting.
        let change = InstanceChange::from_event(&launch).unwrap().unwrap();
        let facts = CiFacts {
            template_unread: Some("UnauthorizedOperation".into()),
            ..CiFacts::default()
        };
        let report = report_for(&launch, &change, &Policy::embedded(), &facts);
        assert_eq!(rules_of(&report), ["EC2-CI-002"]);
        assert!(report.findings[0].detail.contains("is unknown"));
        assert!(report.should_notify(Policy::embedded().notify_min_severity));
        // It read it: judged on the template's settings.
        let read = crate::model::ci::InstanceSettings {
            public_ip: Said::Set(true),
            key_name: Said::Set("ops".into()),
            ..Default::default()
        };
        let filled = change.with_template(&read);
        let facts = CiFacts {
            container_instance: Some(Evidence(
                "launch template lt-1 used by capacity provider cp".into(),
            )),
            metadata_defaults: None,
            ..CiFacts::default()
        };
        let report = report_for(&launch, &filled, &Policy::embedded(), &facts);
        assert_eq!(rules_of(&report), ["EC2-CI-002", "EC2-CI-003"]);
    }

    #[test]
    fn with_everything_read_every_rule_can_fire() {
        let change = InstanceChange::from_event(&imdsv1_public_launch())
            .unwrap()
            .unwrap();
        let open = Finding {
            fields: Default::default(),
            resource: None,
            rule: "EC2-SG-003",
            severity: crate::finding::Severity::Critical,
            title: "SSH",
            detail: "tcp 22 from 0.0.0.0/0 (sgr-1)".into(),
            remediation: "",
            action: crate::finding::Action::Revoke,
            target: None,
        };
        let facts = CiFacts {
            container_instance: Some(Evidence(
                "instance profile role ecsInstanceRole carries AmazonEC2ContainerServiceforEC2Role"
                    .into(),
            )),
            metadata_defaults: Some(MetadataDefaults {
                http_tokens: None,
                hop_limit: None,
                consulted: "the account's metadata defaults".into(),
                ami_unknown: None,
            }),
            subnet_public_ip: Some(false),
            groups: Some(GroupExposure {
                groups: vec![("sg-1".into(), vec![open])],
                unchecked: vec![],
            }),
            template_unread: None,
        };
        let report = report_for(
            &imdsv1_public_launch(),
            &change,
            &Policy::embedded(),
            &facts,
        );
        assert_eq!(
            rules_of(&report),
            [
                "EC2-CI-001",
                "EC2-CI-002",
                "EC2-CI-005",
                "EC2-CI-003",
                "EC2-CI-004"
            ]
        );
    }

    #[test]
    fn dry_runs_denied_calls_and_other_services_are_not_judged() {
        let mut dry = imdsv1_public_launch();
        dry.error_code = Some("Client.DryRunOperation".into());
        assert_eq!(
            evaluate_offline(&dry, &Policy::embedded())
                .unwrap()
                .skipped
                .as_deref(),
            Some("failed call: Client.DryRunOperation")
        );
        let mut other = imdsv1_public_launch();
        other.source = "ecs.amazonaws.com".into();
        assert!(evaluate_offline(&other, &Policy::embedded())
            .unwrap()
            .is_not_handled());
        let omitted = event("RunInstances", json!({"omitted": true}), json!(null));
        assert_eq!(
            evaluate_offline(&omitted, &Policy::embedded())
                .unwrap_err()
                .path,
            "requestParameters"
        );
    }
}
