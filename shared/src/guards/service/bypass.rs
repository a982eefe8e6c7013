//! What ELB-011 could not judge about the service's own load balancers: the
//! notes said beside the verdict (`needs AWS` offline, `not judged` live).

use crate::finding::Action;
use crate::model::svc::ServiceChange;
use crate::policy::Policy;
use crate::rules::ecs_svc::Enrichment;
use crate::rules::elb::load_balancer_bypassed as bypassed;
use crate::rules::elb::Verdict;

/// What ELB-011 could not judge about the service's own load balancers
/// (`ELB-011 needs AWS: …` offline); nothing when the policy turns it off.
pub(super) fn bypass_unknown(
    change: &ServiceChange,
    policy: &Policy,
    enrichment: Option<&Enrichment>,
    said: &str,
) -> Vec<String> {
    let rule = &bypassed::LOAD_BALANCER_BYPASSED;
    if rule.setting(policy).action == Action::Off {
        return Vec::new();
    }
    bypassed::judge_service(change, enrichment)
        .into_iter()
        .filter_map(|v| match v {
            Verdict::Unknown(why) => Some(format!("{} {said}: {why}", rule.id)),
            Verdict::Broken(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Severity};
    use crate::guards::service::test_support::*;
    use crate::guards::service::{evaluate_offline, ServiceGuard};
    use crate::guards::GuardSettings;
    use crate::model::event::Event;
    use crate::model::reach::test_support::public_network;
    use crate::model::td::TaskDefinition;
    use crate::ports::fakes::{MemoryClusters, MemoryNotifier, MemoryTaskDefinitions, MemoryVpcs};
    use crate::ports::AwsError;
    use serde_json::json;

    const TG: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/web/73e2d6bc24d8a067";

    fn behind(public_ip: &str, lbs: serde_json::Value) -> Event {
        event(
            "CreateService",
            json!({"serviceName": "web", "taskDefinition": "web:3", "loadBalancers": lbs,
                "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": public_ip}}}),
        )
    }

    fn behind_tg(public_ip: &str) -> Event {
        behind(
            public_ip,
            json!([{"targetGroupArn": TG, "containerName": "app", "containerPort": 8080}]),
        )
    }

    #[tokio::test]
    async fn behind_a_target_group_with_an_open_group_and_a_public_ip_the_load_balancer_is_bypassed(
    ) {
        let vpcs = MemoryVpcs {
            networks: vec![("vpc-1".into(), public_network())],
            ..MemoryVpcs::default()
        };
        let (report, sent) = run_with(
            &privileged_task(),
            &ssh_open_group(),
            &MemoryClusters::default(),
            &vpcs,
            &behind_tg("ENABLED"),
        )
        .await;
        let report = report.unwrap();
        let bypass: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.rule == "ELB-011")
            .collect();
        assert_eq!(bypass.len(), 1, "{:?}", rules_of(&report));
        assert_eq!(
            bypass[0].detail,
            "service default/web behind target group web/73e2d6bc24d8a067 (container app:8080): public address assigned at launch (assignPublicIp: ENABLED) and sg-1: tcp 22 from 0.0.0.0/0 (sgr-ssh) (EC2-SG-003) admit the internet directly, bypassing the load balancer"
        );
        // The way around the load balancer is an exposure: its path is said.
        assert_eq!(
            bypass[0]
                .fields
                .reachability
                .iter()
                .map(|p| p.line.as_str())
                .collect::<Vec<_>>(),
            ["subnet-1 tcp/22: reachable from the internet on tcp/22 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)"]
        );
        assert_eq!(bypass[0].severity, Severity::Critical, "high, reachable");
        assert!(
            report.notes.iter().all(|n| !n.contains("ELB-011")),
            "{:?}",
            report.notes
        );
        assert!(sent[0].message.contains("ELB-011"), "{}", sent[0].message);
    }

    #[tokio::test]
    async fn the_sample_event_with_a_group_open_on_the_container_port_is_bypassed() {
        let name = "svc-create-behind-alb-open-group.json";
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let sample = Event::from_value(&value, name).unwrap();
        let mut group = ssh_open_group();
        if let Some(info) = group.info.as_mut() {
            info.group_id = "sg-0d4e5f6a7b8c90123".into();
        }
        {
            let mut rules = group.rules.lock().unwrap();
            rules[0].from_port = Some(8080);
            rules[0].to_port = Some(8080);
        }
        let tds = MemoryTaskDefinitions {
            by_arn: vec![(
                "arn:aws:ecs:eu-west-1:111122223333:task-definition/checkout-web:42".into(),
                TaskDefinition {
                    family: "checkout-web".into(),
                    revision: Some(42),
                    ..TaskDefinition::default()
                },
            )],
            ..MemoryTaskDefinitions::default()
        };
        let (report, _) = run(&tds, &group, &sample).await;
        let report = report.unwrap();
        let bypass = report
            .findings
            .iter()
            .find(|f| f.rule == "ELB-011")
            .unwrap_or_else(|| panic!("{:?}", rules_of(&report)));
        assert!(
            bypass.detail.starts_with("service prod/checkout-web behind target group checkout-web/4f1e2d3c5b6a7980 (container web:8080): public address assigned at launch (assignPublicIp: ENABLED) and sg-0d4e5f6a7b8c90123: tcp 8080 from 0.0.0.0/0"),
            "{}",
            bypass.detail
        );
    }

    #[tokio::test]
    async fn without_a_public_ip_or_a_target_group_there_is_no_bypass() {
        for e in [
            behind_tg("DISABLED"),
            behind("ENABLED", json!([])),
            create(),
        ] {
            let (report, _) = run(&privileged_task(), &ssh_open_group(), &e).await;
            let report = report.unwrap();
            assert!(
                !rules_of(&report).contains(&"ELB-011"),
                "{:?}",
                rules_of(&report)
            );
            assert!(rules_of(&report).contains(&"ECS-SVC-004"));
            assert!(report.notes.iter().all(|n| !n.contains("ELB-011")));
        }
    }

    #[tokio::test]
    async fn a_group_that_cannot_be_read_leaves_the_bypass_unknown_and_said() {
        let mut denied = ssh_open_group();
        denied.rules_error = Some(AwsError {
            operation: "DescribeSecurityGroupRules",
            code: Some("UnauthorizedOperation".into()),
            message: "no".into(),
            retryable: false,
        });
        let (report, _) = run(&privileged_task(), &denied, &behind_tg("ENABLED")).await;
        let report = report.unwrap();
        assert!(!rules_of(&report).contains(&"ELB-011"));
        let elb: Vec<&String> = report
            .notes
            .iter()
            .filter(|n| n.starts_with("ELB-011"))
            .collect();
        assert_eq!(
            elb,
            ["ELB-011 not judged: service default/web behind target group web/73e2d6bc24d8a067 (container app:8080): its security groups could not be read: sg-1 (UnauthorizedOperation)"]
        );
    }

    #[test]
    fn offline_the_bypass_needs_aws_and_a_policy_can_turn_it_off() {
        let report = evaluate_offline(&behind_tg("ENABLED"), &Policy::embedded()).unwrap();
        assert!(!rules_of(&report).contains(&"ELB-011"));
        assert!(
            report.notes.contains(&"ELB-011 needs AWS: service default/web behind target group web/73e2d6bc24d8a067 (container app:8080): whether its security groups admit the internet is not in the record (the Lambda reads them)".to_string()),
            "{:?}",
            report.notes
        );
        let off = Policy::from_toml("[rules.\"ELB-011\"]\nenabled = false\n", "t").unwrap();
        let report = evaluate_offline(&behind_tg("ENABLED"), &off).unwrap();
        assert!(report.notes.iter().all(|n| !n.contains("ELB-011")));
    }

    #[tokio::test]
    async fn a_policy_that_turns_the_rule_off_gets_no_bypass_finding() {
        let notifier = MemoryNotifier::default();
        let policy = Policy::from_toml("[rules.\"ELB-011\"]\nenabled = false\n", "t").unwrap();
        let settings = GuardSettings::default();
        let guard = ServiceGuard {
            task_definitions: &privileged_task(),
            groups: &ssh_open_group(),
            clusters: &MemoryClusters::default(),
            vpcs: &MemoryVpcs::default(),
            state: None,
            iam: None,
            notifier: &notifier,
            policy: &policy,
            settings: &settings,
        };
        let report = guard.handle(&behind_tg("ENABLED")).await.unwrap();
        assert!(!rules_of(&report).contains(&"ELB-011"));
        assert!(rules_of(&report).contains(&"ECS-SVC-004"));
    }
}
