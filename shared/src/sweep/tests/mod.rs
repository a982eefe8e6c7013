use serde_json::json;
use time::macros::date;

use super::*;
use crate::finding::Severity;
use crate::model::json::Node;
use crate::model::net::{Protocol, Source};
use crate::model::sg::Direction;
use crate::model::sg::SgRule;
use crate::model::svc::AwsvpcConfiguration;
use crate::model::svc::ServiceSettings;
use crate::model::td::TaskDefinition;
use crate::ports::estate::{GroupState, ServiceState};
use crate::ports::fakes::{
    MemoryEstate, MemoryGroups, MemoryIam, MemoryInstances, MemoryNotifier, MemoryState,
};
use crate::ports::AccountLister;
use crate::ports::{AwsError, GroupInfo};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";
const TODAY: Date = date!(2026 - 12 - 01);

fn rule(id: &str, port: i64, cidr: &str) -> SgRule {
    SgRule {
        rule_id: Some(id.to_string()),
        direction: Direction::Ingress,
        ip_protocol: "tcp".to_string(),
        protocol: Protocol::Tcp,
        from_port: Some(port),
        to_port: Some(port),
        source: Source::cidr(cidr),
        description: None,
    }
}

fn group(id: &str, rules: Vec<SgRule>, tags: &[(&str, &str)]) -> GroupState {
    GroupState {
        info: GroupInfo {
            group_id: id.to_string(),
            name: format!("{id}-name"),
            vpc_id: Some("vpc-1".to_string()),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
        rules,
        prefix_lists: Default::default(),
    }
}

fn privileged_td() -> TaskDefinition {
    let value = json!({"family": "web", "revision": 3, "networkMode": "awsvpc", "memory": "512",
        "tags": [{"key": "team", "value": "web"}],
        "containerDefinitions": [{"name": "app", "image": "nginx@sha256:abc", "privileged": true,
            "readonlyRootFilesystem": true, "user": "1000",
            "linuxParameters": {"capabilities": {"drop": ["ALL"]}},
            "logConfiguration": {"logDriver": "awslogs", "options": {"mode": "non-blocking"}}}]});
    TaskDefinition::from_json(&Node::root(&value, "td")).unwrap()
}

const TD_ARN: &str = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:3";

fn public_service(groups: &[&str]) -> ServiceState {
    ServiceState {
        cluster: "prod".to_string(),
        name: "web".to_string(),
        settings: ServiceSettings {
            task_definition: Some(TD_ARN.to_string()),
            awsvpc: Some(AwsvpcConfiguration {
                security_groups: Some(groups.iter().map(|g| g.to_string()).collect()),
                subnets: Some(vec!["subnet-1".to_string()]),
                assign_public_ip: Some(true),
            }),
            network_configured: true,
            enable_execute_command: Some(false),
            launch_type: Some("FARGATE".to_string()),
            platform_version: Some("LATEST".to_string()),
            ..ServiceSettings::default()
        },
        task_sets: Vec::new(),
    }
}

fn estate() -> Estate {
    Estate {
        groups: vec![
            group("sg-open", vec![rule("sgr-ssh", 22, "0.0.0.0/0")], &[]),
            group("sg-safe", vec![rule("sgr-https", 443, "10.0.0.0/8")], &[]),
        ],
        services: vec![public_service(&["sg-open"])],
        task_definitions: [(TD_ARN.to_string(), privileged_td())].into(),
        unread: Vec::new(),
        api_calls: 6,
        ..Estate::default()
    }
}

fn rules_on(seen: &[Seen], resource: &str) -> Vec<&'static str> {
    let mut ids: Vec<&str> = seen
        .iter()
        .filter(|s| s.resource() == resource)
        .map(|s| s.finding.rule)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[test]
fn the_estate_is_judged_by_the_event_paths_rules() {
    let seen = judge(ACCOUNT, REGION, &estate(), &Policy::embedded(), &[], TODAY);
    assert_eq!(rules_on(&seen, "sg-open"), ["EC2-SG-003"]);
    assert!(rules_on(&seen, "sg-safe").is_empty());
    assert_eq!(
        rules_on(&seen, "web:3"),
        ["ECS-TD-001", "ECS-TD-015", "ECS-TD-016"]
    );
    // The service joins its group's and its task definition's findings.
    assert_eq!(
        rules_on(&seen, "prod/web"),
        ["ECS-SVC-001", "ECS-SVC-004", "ECS-SVC-005"]
    );
}

#[test]
fn clusters_capacity_providers_the_account_default_and_task_sets_are_judged_as_their_events() {
    use crate::model::cl::{ClusterSettings, ExecConfiguration};
    use crate::ports::estate::{CapacityProviderState, ClusterState};
    let mut e = estate();
    e.clusters.push(ClusterState {
        name: "prod".to_string(),
        settings: ClusterSettings {
            container_insights: Some("disabled".to_string()),
            exec: Some(ExecConfiguration {
                logging: Some("NONE".to_string()),
                ..ExecConfiguration::default()
            }),
            tags: Some(vec!["team".to_string()]),
        },
    });
    e.capacity_providers.push(CapacityProviderState {
        name: "prod-ec2".to_string(),
        termination_protection: Some(false),
        auto_scaling_group: None,
    });
    e.account_insights = Some("disabled".to_string());
    e.services[0].settings.enable_execute_command = Some(true);
    // As the reader builds a task set: no Exec setting of its own, no tags.
    let settings = ServiceSettings {
        enable_execute_command: None,
        tags: None,
        ..e.services[0].settings.clone()
    };
    e.services[0]
        .task_sets
        .push(("ecs-svc/1".to_string(), settings));
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    assert_eq!(rules_on(&seen, "prod"), ["ECS-CL-001", "ECS-CL-002"]);
    assert_eq!(
        rules_on(&seen, "capacity provider prod-ec2"),
        ["ECS-CL-005"]
    );
    assert_eq!(
        rules_on(&seen, "account setting containerInsights"),
        ["ECS-CL-004"]
    );
    assert!(seen.iter().any(|s| s
        .finding
        .detail
        .contains("the sweep's own role (the account default")));
    // The service with Exec on, in a cluster that does not log sessions.
    assert!(rules_on(&seen, "prod/web").contains(&"ECS-SVC-012"));
    // Its task set: the same join, under the task set's rule.
    assert_eq!(
        rules_on(&seen, "prod/web/ecs-svc/1"),
        ["ECS-SVC-004", "ECS-SVC-005", "ECS-SVC-008"]
    );
    // Service Connect without TLS, an old platform version and no tags:
    // read from DescribeServices, judged as the creation would be.
    let mut connected = estate();
    let settings = &mut connected.services[0].settings;
    settings.service_connect = Some(crate::model::svc::ServiceConnect {
        enabled: true,
        namespace: Some("shared-dev".to_string()),
        without_tls: vec!["api".to_string()],
    });
    settings.platform_version = Some("1.3.0".to_string());
    settings.tags = Some(Vec::new());
    let seen = judge(ACCOUNT, REGION, &connected, &Policy::embedded(), &[], TODAY);
    let on_service = rules_on(&seen, "prod/web");
    for rule in ["ECS-SVC-006", "ECS-SVC-007", "ECS-SVC-011"] {
        assert!(on_service.contains(&rule), "{rule}: {on_service:?}");
    }
    // Fargate's own providers (no Auto Scaling group) are not judged.
    let mut fargate = estate();
    fargate.capacity_providers.push(CapacityProviderState {
        name: "FARGATE".to_string(),
        termination_protection: None,
        auto_scaling_group: None,
    });
    let seen = judge(ACCOUNT, REGION, &fargate, &Policy::embedded(), &[], TODAY);
    assert!(rules_on(&seen, "capacity provider FARGATE").is_empty());
}

#[test]
fn an_instance_a_capacity_providers_group_launched_is_a_container_instance() {
    use crate::model::ci::{InstanceSettings, Said};
    use crate::ports::estate::{CapacityProviderState, InstanceState};
    let mut e = estate();
    e.capacity_providers.push(CapacityProviderState {
        name: "prod-ec2".to_string(),
        termination_protection: Some(true),
        auto_scaling_group: Some(
            "arn:aws:autoscaling:eu-west-1:111122223333:autoScalingGroup:0a1b:autoScalingGroupName/prod-asg"
                .to_string(),
        ),
    });
    let settings = InstanceSettings {
        http_tokens: Said::Set("required".to_string()),
        hop_limit: Said::Set(1),
        public_ip: Said::Set(false),
        key_name: Said::Set("ops".to_string()),
        security_groups: Said::Set(Vec::new()),
        ..InstanceSettings::default()
    }
    .whole();
    for (id, group) in [
        ("i-asg", Some("prod-asg")),
        ("i-other", Some("batch")),
        ("i-none", None),
    ] {
        e.instances.push(InstanceState {
            id: id.to_string(),
            settings: settings.clone(),
            container_instance: None,
            auto_scaling_group: group.map(str::to_string),
        });
    }
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    let on = |id: &str| -> Vec<String> {
        seen.iter()
            .filter(|s| s.resource() == id)
            .map(|s| format!("{} {}", s.finding.rule, s.finding.detail))
            .collect()
    };
    assert_eq!(
        on("i-asg"),
        ["EC2-CI-003 key pair ops on a container instance (launched by Auto Scaling group prod-asg of capacity provider prod-ec2)"]
    );
    assert!(on("i-other").is_empty(), "{:?}", on("i-other"));
    assert!(on("i-none").is_empty());
}

#[test]
fn instances_and_task_roles_are_judged_as_their_events() {
    use crate::model::ci::{InstanceSettings, Said};
    use crate::ports::estate::InstanceState;
    use crate::rules::ec2_ci::Evidence;
    use crate::rules::ecs_td::TaskRoleAccess;
    let mut e = estate();
    let settings = InstanceSettings {
        http_tokens: Said::Set("optional".to_string()),
        hop_limit: Said::Set(2),
        public_ip: Said::Set(true),
        public_address: Some("203.0.113.7".to_string()),
        key_name: Said::Set("ops".to_string()),
        security_groups: Said::Set(vec!["sg-open".to_string()]),
        ..InstanceSettings::default()
    }
    .whole();
    e.instances.push(InstanceState {
        id: "i-1".to_string(),
        settings,
        container_instance: Some(Evidence(
            "instance profile ecs's role ecs carries AmazonEC2ContainerServiceforEC2Role"
                .to_string(),
        )),
        auto_scaling_group: None,
    });
    let mut td = privileged_td();
    td.task_role_arn = Some("arn:aws:iam::111122223333:role/app".to_string());
    e.task_definitions.insert(TD_ARN.to_string(), td);
    e.task_roles.insert(
        "arn:aws:iam::111122223333:role/app".to_string(),
        TaskRoleAccess {
            role: "arn:aws:iam::111122223333:role/app".to_string(),
            findings: Ok(vec![
                "arn:aws:iam::aws:policy/AdministratorAccess attached".to_string()
            ]),
        },
    );
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    let on_instance: Vec<&str> = seen
        .iter()
        .filter(|s| s.resource().contains("i-1"))
        .map(|s| s.finding.rule)
        .collect();
    for rule in [
        "EC2-CI-001",
        "EC2-CI-002",
        "EC2-CI-003",
        "EC2-CI-004",
        "EC2-CI-005",
    ] {
        assert!(on_instance.contains(&rule), "{rule}: {on_instance:?}");
    }
    assert!(rules_on(&seen, "web:3").contains(&"ECS-TD-021"));
}

#[test]
fn a_capacity_providers_launch_template_is_judged_as_a_container_instance_template() {
    use crate::model::ci::{InstanceSettings, Said, TemplateRef};
    use crate::ports::estate::TemplateState;
    let mut e = estate();
    e.launch_templates.push(TemplateState {
        template: TemplateRef {
            id: Some("lt-1".to_string()),
            name: None,
            version: "4".to_string(),
        },
        used_by: "capacity provider prod-ec2 (Auto Scaling group prod)".to_string(),
        settings: InstanceSettings {
            key_name: Said::Set("ops".to_string()),
            ..InstanceSettings::default()
        }
        .whole(),
        metadata_defaults: None,
    });
    // A second provider's template from an AMI with ImdsSupport v2.0:
    // IMDSv2 required, but a hop limit of 2 reaches the containers.
    use crate::rules::ec2_ci::Sourced;
    e.launch_templates.push(TemplateState {
        template: TemplateRef {
            id: Some("lt-2".to_string()),
            name: None,
            version: "1".to_string(),
        },
        used_by: "capacity provider al2023 (Auto Scaling group al2023)".to_string(),
        settings: InstanceSettings {
            image: Some("ami-2".to_string()),
            ..InstanceSettings::default()
        }
        .whole(),
        metadata_defaults: Some(crate::rules::ec2_ci::MetadataDefaults {
            ami_unknown: Default::default(),
            http_tokens: Some(Sourced::new(
                "required".to_string(),
                "AMI ami-2 (ImdsSupport v2.0)",
            )),
            hop_limit: Some(Sourced::new(2, "AMI ami-2 (ImdsSupport v2.0)")),
            consulted: "the account's metadata defaults or AMI ami-2's ImdsSupport".to_string(),
        }),
    });
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    let on_v2: Vec<(&str, &str)> = seen
        .iter()
        .filter(|s| s.resource().contains("lt-2"))
        .map(|s| (s.finding.rule, s.finding.detail.as_str()))
        .collect();
    assert_eq!(
        on_v2,
        [(
            "EC2-CI-004",
            "httpPutResponseHopLimit not set: 2 by AMI ami-2 (ImdsSupport v2.0), on a container instance (launch template lt-2 version 1 is used by capacity provider al2023 (Auto Scaling group al2023))"
        )]
    );
    let on_template: Vec<(&str, &str)> = seen
        .iter()
        .filter(|s| s.resource().contains("lt-1"))
        .map(|s| (s.finding.rule, s.finding.detail.as_str()))
        .collect();
    let rules: Vec<&str> = on_template.iter().map(|(r, _)| *r).collect();
    // No metadata options: IMDSv1 allowed (EC2's default); a key pair on a
    // container instance template, the capacity provider named as evidence.
    assert!(rules.contains(&"EC2-CI-001"), "{on_template:?}");
    assert!(
        on_template
            .iter()
            .any(|(r, d)| *r == "EC2-CI-003" && d.contains("capacity provider prod-ec2")),
        "{on_template:?}"
    );
}

#[test]
fn a_service_with_exec_enabled_is_judged_as_its_creation_would_be() {
    let mut e = estate();
    e.services[0].settings.enable_execute_command = Some(true);
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    assert!(rules_on(&seen, "prod/web").contains(&"ECS-SVC-002"));
}

#[test]
fn a_group_the_service_names_that_could_not_be_read_is_unknown_not_clean() {
    let mut e = estate();
    e.groups.clear();
    e.unread.push(Unread {
        what: "DescribeSecurityGroupRules".to_string(),
        error: AwsError {
            operation: "DescribeSecurityGroupRules",
            code: Some("AccessDenied".to_string()),
            message: "denied".to_string(),
            retryable: false,
        },
    });
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    assert!(!rules_on(&seen, "prod/web").contains(&"ECS-SVC-004"));
}

#[test]
fn an_exempt_group_gives_exempt_findings() {
    let mut e = estate();
    e.groups[0] = group(
        "sg-open",
        vec![rule("sgr-ssh", 22, "0.0.0.0/0")],
        &[("access-guard:exempt", "bastion;expires=2026-12-20")],
    );
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    let ssh = seen.iter().find(|s| s.resource() == "sg-open").unwrap();
    assert!(ssh.exempt);
}

struct Harness {
    estate: MemoryEstate,
    iam: MemoryIam,
    instances: MemoryInstances,
    state: MemoryState,
    notifier: MemoryNotifier,
    groups: MemoryGroups,
}

impl Harness {
    fn new(e: Estate) -> Harness {
        Harness {
            estate: MemoryEstate {
                estate: std::sync::Mutex::new(e),
            },
            iam: MemoryIam::default(),
            instances: MemoryInstances::default(),
            state: MemoryState::default(),
            notifier: MemoryNotifier::default(),
            groups: MemoryGroups::default(),
        }
    }

    async fn sweep(&self, policy: &Policy, now: &str, revoke: bool) -> PlaceResult {
        let settings = GuardSettings::default();
        PlaceSweep {
            account: ACCOUNT,
            region: REGION,
            run: now,
            estate: &self.estate,
            iam: &self.iam,
            instances: &self.instances,
            state: Some(&self.state),
            notifier: Some(&self.notifier),
            organizations: None,
            remediation: revoke.then_some(Remediation {
                groups: &self.groups,
                remediator: &self.groups,
            }),
            policy,
            settings: &settings,
            now,
            today: TODAY,
        }
        .run()
        .await
        .unwrap()
    }

    fn sent(&self) -> Vec<Notification> {
        self.notifier.sent.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn alerts_once_stays_quiet_then_lists_what_resolved() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    let first = h.sweep(&policy, "2026-12-01T00:00:00Z", false).await;
    assert_eq!(h.sent().len(), 1);
    let message: serde_json::Value = serde_json::from_str(&h.sent()[0].message).unwrap();
    let doc: serde_json::Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(doc["event_name"], "Sweep");
    assert!(first.report.findings.iter().any(|f| f.rule == "EC2-SG-003"));
    assert!(
        h.sent()[0].subject.starts_with("[ALERT] [CRITICAL]"),
        "{}",
        h.sent()[0].subject
    );

    h.sweep(&policy, "2026-12-01T06:00:00Z", false).await;
    assert_eq!(h.sent().len(), 1, "nothing unchanged is re-alerted");

    h.estate.estate.lock().unwrap().groups[0].rules.clear();
    let third = h.sweep(&policy, "2026-12-01T12:00:00Z", false).await;
    assert_eq!(h.sent().len(), 2);
    let resolved: Vec<&str> = third
        .report
        .resolved
        .iter()
        .map(|r| r.rule.as_str())
        .collect();
    assert!(resolved.contains(&"EC2-SG-003"), "{resolved:?}");
    assert_eq!(third.report.resolved[0].first_seen, "2026-12-01T00:00:00Z");
    let text = serde_json::from_str::<serde_json::Value>(&h.sent()[1].message).unwrap()["default"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("Resolved since the last sweep"), "{text}");
}

#[tokio::test]
async fn a_denied_read_resolves_nothing_and_is_in_the_summary() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    h.sweep(&policy, "2026-12-01T01:00:00Z", false).await;
    {
        let mut e = h.estate.estate.lock().unwrap();
        e.groups.clear();
        e.unread.push(Unread {
            what: "DescribeSecurityGroupRules".to_string(),
            error: AwsError {
                operation: "DescribeSecurityGroupRules",
                code: Some("UnauthorizedOperation".to_string()),
                message: "denied".to_string(),
                retryable: false,
            },
        });
    }
    let partial = h.sweep(&policy, "2026-12-01T02:00:00Z", false).await;
    assert!(partial.report.resolved.is_empty());
    let (records, statuses) = crate::ports::StateStore::everything(&h.state)
        .await
        .unwrap();
    assert!(records.iter().all(|r| r.status == Status::Open));
    let summary = Summary::of(&records, statuses, "t3");
    assert_eq!(summary.incomplete.len(), 1);
    assert!(summary
        .text()
        .contains("DescribeSecurityGroupRules: UnauthorizedOperation"));
    assert_eq!(summary.by_severity.get("critical"), Some(&3));
    assert!(summary.subject().contains("1 places not fully read"));
}

#[tokio::test]
async fn the_sweep_revokes_only_when_allowed_and_at_most_the_cap() {
    let open = |n: usize| -> Vec<SgRule> {
        (0..n)
            .map(|i| rule(&format!("sgr-{i}"), 22, "0.0.0.0/0"))
            .map(|mut r| {
                r.from_port = Some(22);
                r
            })
            .collect()
    };
    let mut e = estate();
    e.groups = vec![group("sg-open", open(3), &[])];
    let mut policy = Policy::from_toml(
        "dry_run = false\n[sweep]\nrevoke = true\nmax_revocations_per_run = 2\n",
        "t",
    )
    .unwrap();
    let h = Harness::new(e.clone());
    *h.groups.rules.lock().unwrap() = open(3);
    let h = Harness {
        groups: MemoryGroups {
            info: Some(e.groups[0].info.clone()),
            rules: std::sync::Mutex::new(open(3)),
            ..MemoryGroups::default()
        },
        ..h
    };
    // Not allowed: nothing revoked.
    policy.sweep.revoke = false;
    h.sweep(&policy, "2026-12-01T01:00:00Z", true).await;
    assert!(h.groups.revoke_calls.lock().unwrap().is_empty());
    // Allowed: two of three, the third held back.
    policy.sweep.revoke = true;
    let r = h.sweep(&policy, "2026-12-01T02:00:00Z", true).await;
    assert_eq!(
        *h.groups.revoke_calls.lock().unwrap(),
        ["sg-open/sgr-0,sgr-1"]
    );
    let kinds: Vec<crate::report::OutcomeKind> =
        r.report.outcomes.iter().map(|o| o.result).collect();
    use crate::report::OutcomeKind::{HeldBack, Revoked};
    assert_eq!(kinds, [Revoked, Revoked, HeldBack]);
    assert_eq!(h.groups.rules.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_dry_run_revoke_is_said_once_with_its_finding_not_every_sweep() {
    let mut e = estate();
    e.groups.truncate(1);
    let policy = Policy::from_toml("dry_run = true\n[sweep]\nrevoke = true\n", "t").unwrap();
    let h = Harness {
        groups: MemoryGroups {
            info: Some(e.groups[0].info.clone()),
            rules: std::sync::Mutex::new(vec![rule("sgr-ssh", 22, "0.0.0.0/0")]),
            ..MemoryGroups::default()
        },
        ..Harness::new(e)
    };
    let first = h.sweep(&policy, "2026-12-01T01:00:00Z", true).await;
    assert_eq!(
        first.report.outcomes[0].result,
        crate::report::OutcomeKind::DryRun
    );
    assert_eq!(h.sent().len(), 1);
    let second = h.sweep(&policy, "2026-12-01T02:00:00Z", true).await;
    assert_eq!(
        second.report.outcomes[0].result,
        crate::report::OutcomeKind::DryRun
    );
    assert_eq!(h.sent().len(), 1, "unchanged: not alerted again");
}

#[tokio::test]
async fn the_sweep_honours_dry_run_and_exemptions_when_revoking() {
    let mut e = estate();
    e.groups.truncate(1);
    let exempt_tags = [("access-guard:exempt", "bastion;expires=2026-12-20")];
    for (policy, tags, expected) in [
        (
            "dry_run = true\n[sweep]\nrevoke = true\n",
            &[][..],
            crate::report::OutcomeKind::DryRun,
        ),
        (
            "dry_run = false\n[sweep]\nrevoke = true\n",
            &exempt_tags[..],
            crate::report::OutcomeKind::Exempt,
        ),
    ] {
        let policy = Policy::from_toml(policy, "t").unwrap();
        let mut e = e.clone();
        e.groups[0] = group("sg-open", vec![rule("sgr-ssh", 22, "0.0.0.0/0")], tags);
        let info = e.groups[0].info.clone();
        let h = Harness {
            groups: MemoryGroups {
                info: Some(info),
                rules: std::sync::Mutex::new(vec![rule("sgr-ssh", 22, "0.0.0.0/0")]),
                ..MemoryGroups::default()
            },
            ..Harness::new(e)
        };
        let r = h.sweep(&policy, "2026-12-01T01:00:00Z", true).await;
        assert!(h.groups.revoke_calls.lock().unwrap().is_empty());
        let kinds: Vec<_> = r.report.outcomes.iter().map(|o| o.result).collect();
        // An exempt group is not even planned by the sweep.
        if expected == crate::report::OutcomeKind::DryRun {
            assert_eq!(kinds, [expected]);
        } else {
            assert!(kinds.is_empty(), "{kinds:?}");
        }
    }
}

#[test]
fn the_summary_counts_and_lists_the_oldest() {
    let mk = |rule: &str, sev: Severity, acct: &str, first: &str, status: Status| Record {
        fingerprint: format!("{rule}{acct}{first}"),
        account: acct.to_string(),
        region: REGION.to_string(),
        resource: "sg-1".to_string(),
        rule: rule.to_string(),
        severity: sev,
        title: "t".to_string(),
        detail: "d".to_string(),
        status,
        first_seen: first.to_string(),
        last_seen: first.to_string(),
        last_alert: None,
        resolved_at: None,
        read_at: 0,
    };
    let records = vec![
        mk(
            "EC2-SG-003",
            Severity::Critical,
            "111111111111",
            "2026-01-02",
            Status::Open,
        ),
        mk(
            "EC2-SG-003",
            Severity::Critical,
            "222222222222",
            "2026-01-01",
            Status::Open,
        ),
        mk(
            "ECS-TD-001",
            Severity::High,
            "111111111111",
            "2026-03-01",
            Status::Open,
        ),
        mk(
            "EC2-SG-004",
            Severity::Critical,
            "111111111111",
            "2025-01-01",
            Status::Resolved,
        ),
        mk(
            "EC2-SG-004",
            Severity::Critical,
            "111111111111",
            "2025-01-01",
            Status::Exempt,
        ),
    ];
    let s = Summary::of(&records, Vec::new(), "now");
    assert_eq!((s.open, s.exempt), (3, 1));
    assert_eq!(s.by_rule["EC2-SG-003"], 2);
    assert_eq!(s.by_account["111111111111"], 2);
    assert_eq!(s.oldest[0].account, "222222222222");
    assert!(s
        .subject()
        .starts_with("[CRITICAL] Daily summary: 3 open findings in 2 accounts"));
}

#[tokio::test]
async fn places_are_the_home_or_the_organizations_accounts_and_regions() {
    struct Two;
    #[async_trait::async_trait]
    impl AccountLister for Two {
        async fn accounts(&self) -> Result<Vec<String>, AwsError> {
            Ok(vec!["111111111111".to_string(), "222222222222".to_string()])
        }
    }
    let alone = places(&Policy::embedded(), ACCOUNT, REGION, &Two)
        .await
        .unwrap();
    assert_eq!(alone, [(ACCOUNT.to_string(), REGION.to_string())]);
    let org = Policy::from_toml(
        "[organization]\naccounts = \"*\"\norganization_id = \"o-a1b2c3d4e5\"\nregions = [\"eu-west-1\", \"us-east-1\"]\n",
        "t",
    )
    .unwrap();
    assert_eq!(places(&org, ACCOUNT, REGION, &Two).await.unwrap().len(), 4);
}

fn through_list(id: &str, port: i64, list: &str) -> SgRule {
    SgRule {
        source: Source::PrefixList(list.to_string()),
        ..rule(id, port, "0.0.0.0/0")
    }
}

fn lists(entries: &[(&str, crate::model::sg::PrefixListEntries)]) -> crate::model::sg::PrefixLists {
    entries
        .iter()
        .map(|(id, e)| (id.to_string(), e.clone()))
        .collect()
}

#[test]
fn default_groups_prefix_lists_and_other_accounts_are_judged_as_the_event_path_judges_them() {
    use crate::model::sg::PrefixListEntries;
    let mut default = group("sg-default", vec![rule("sgr-int", 443, "10.0.0.0/8")], &[]);
    default.info.name = "default".to_string();
    let mut listed = group(
        "sg-listed",
        vec![
            through_list("sgr-world", 22, "pl-world"),
            through_list("sgr-denied", 22, "pl-denied"),
        ],
        &[],
    );
    listed.prefix_lists = lists(&[
        (
            "pl-world",
            PrefixListEntries::Read(vec![Source::cidr("0.0.0.0/0")]),
        ),
        (
            "pl-denied",
            PrefixListEntries::Unknown("AccessDenied".to_string()),
        ),
    ]);
    let peer = |owner: &str| SgRule {
        source: Source::Group {
            group_id: Some("sg-9".to_string()),
            user_id: Some(owner.to_string()),
        },
        ..rule("sgr-peer", 5432, "0.0.0.0/0")
    };
    let mut e = estate();
    e.groups = vec![
        default,
        listed,
        group("sg-peered", vec![peer("444455556666")], &[]),
        group("sg-own", vec![peer(ACCOUNT)], &[]),
        group(
            "sg-dns",
            vec![SgRule {
                ip_protocol: "udp".into(),
                protocol: Protocol::Udp,
                ..rule("sgr-dns", 53, "0.0.0.0/0")
            }],
            &[],
        ),
    ];
    e.services = vec![public_service(&["sg-default"])];
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    assert_eq!(rules_on(&seen, "sg-default"), ["EC2-SG-010"]);
    assert_eq!(rules_on(&seen, "sg-listed"), ["EC2-SG-003", "EC2-SG-011"]);
    let denied = seen
        .iter()
        .find(|s| s.finding.detail.contains("pl-denied"))
        .unwrap();
    assert_eq!(
        denied.finding.severity,
        Severity::High,
        "unknown is never clean"
    );
    assert_eq!(rules_on(&seen, "sg-peered"), ["EC2-SG-011"]);
    assert!(rules_on(&seen, "sg-own").is_empty());
    assert_eq!(rules_on(&seen, "sg-dns"), ["EC2-SG-008"]);
    // A service in the default group is not "open to the internet" for it.
    assert!(!rules_on(&seen, "prod/web").contains(&"ECS-SVC-004"));
}

#[tokio::test]
async fn the_sweep_revokes_through_a_prefix_list_only_when_read_again() {
    use crate::model::sg::PrefixListEntries;
    let world = || PrefixListEntries::Read(vec![Source::cidr("0.0.0.0/0")]);
    let mut listed = group(
        "sg-listed",
        vec![through_list("sgr-world", 22, "pl-world")],
        &[],
    );
    listed.prefix_lists = lists(&[("pl-world", world())]);
    let mut e = estate();
    e.groups = vec![listed.clone()];
    let policy = Policy::from_toml("dry_run = false\n[sweep]\nrevoke = true\n", "t").unwrap();
    for (read_again, revoked) in [
        (Ok(world()), true),
        (
            Err(AwsError {
                operation: "GetManagedPrefixListEntries",
                code: Some("AccessDenied".to_string()),
                message: "denied".to_string(),
                retryable: false,
            }),
            false,
        ),
    ] {
        let h = Harness {
            groups: MemoryGroups {
                info: Some(listed.info.clone()),
                rules: std::sync::Mutex::new(listed.rules.clone()),
                prefix_lists: vec![("pl-world".to_string(), read_again)],
                ..MemoryGroups::default()
            },
            ..Harness::new(e.clone())
        };
        let r = h.sweep(&policy, "2026-12-01T01:00:00Z", true).await;
        let calls = h.groups.revoke_calls.lock().unwrap().clone();
        if revoked {
            assert_eq!(calls, ["sg-listed/sgr-world"]);
        } else {
            assert!(
                calls.is_empty(),
                "unknown right before revoking: not revoked"
            );
            assert_eq!(
                r.report.outcomes[0].result,
                crate::report::OutcomeKind::Failed
            );
            assert_eq!(
                r.report.outcomes[0].error_code.as_deref(),
                Some("AccessDenied")
            );
        }
    }
}

#[tokio::test]
async fn the_sinks_get_every_finding_present_and_everything_resolved_and_chat_the_alert() {
    use crate::guards::sinks::{SecurityHubSink, Sinks, WithSinks};
    use crate::ports::fakes::{MemoryChat, MemoryHub};
    use std::sync::Arc;
    let hub = Arc::new(MemoryHub::default());
    let chat = Arc::new(MemoryChat::default());
    let notifier = WithSinks {
        notifier: MemoryNotifier::default(),
        sinks: Sinks {
            security_hub: Some(SecurityHubSink {
                hub: hub.clone(),
                product: crate::output::asff::Product::default_of("aws", REGION, ACCOUNT),
            }),
            chat: Some(chat.clone()),
        },
        budget: crate::guards::sinks::SWEEP_SINKS_BUDGET,
    };
    let h = Harness::new(estate());
    // Only critical findings alert: Security Hub still gets the others.
    let policy = Policy::from_toml("notify_min_severity = \"critical\"", "test").unwrap();
    let settings = GuardSettings::default();
    let sweep = |now: &'static str| PlaceSweep {
        account: ACCOUNT,
        region: REGION,
        run: now,
        estate: &h.estate,
        iam: &h.iam,
        instances: &h.instances,
        state: Some(&h.state),
        notifier: Some(&notifier),
        organizations: None,
        remediation: None,
        policy: &policy,
        settings: &settings,
        now,
        today: TODAY,
    };
    let first = sweep("2026-12-01T00:00:00Z").run().await.unwrap();
    let present: std::collections::BTreeSet<&str> =
        first.seen.iter().map(|s| s.fingerprint.as_str()).collect();
    let held = hub.findings.lock().unwrap().clone();
    assert_eq!(held.len(), present.len(), "every finding present, once");
    assert!(held
        .iter()
        .all(|f| present.iter().any(|p| f.id.ends_with(p))));
    assert!(
        held.iter().any(|f| f.severity.label == "MEDIUM"),
        "below the threshold too"
    );
    assert!(
        first.report.findings.len() < held.len(),
        "the alert lists fewer"
    );
    assert_eq!(chat.posted.lock().unwrap().len(), 1, "the alert, in chat");

    // Unchanged: nothing alerted or posted, the findings refreshed, still
    // created when first seen.
    sweep("2026-12-01T06:00:00Z").run().await.unwrap();
    assert_eq!(chat.posted.lock().unwrap().len(), 1);
    let held = hub.findings.lock().unwrap().clone();
    assert_eq!(held.len(), present.len());
    assert!(held
        .iter()
        .all(|f| f.created_at == "2026-12-01T00:00:00Z"
            && f.first_observed_at == "2026-12-01T00:00:00Z"));
    assert!(hub.resolves.lock().unwrap().is_empty());

    // The group's rule is gone: its finding is resolved in Security Hub.
    h.estate.estate.lock().unwrap().groups[0].rules.clear();
    sweep("2026-12-01T12:00:00Z").run().await.unwrap();
    let held = hub.findings.lock().unwrap().clone();
    let ssh = held
        .iter()
        .find(|f| f.generator_id == "EC2-SG-003")
        .unwrap();
    assert_eq!(
        (ssh.compliance_status, ssh.record_state),
        ("PASSED", "ARCHIVED")
    );
    assert_eq!(ssh.created_at, "2026-12-01T00:00:00Z", "first seen");
    let resolves = hub.resolves.lock().unwrap().clone();
    assert_eq!(resolves.len(), 1);
    assert!(resolves[0].1.contains(&ssh.id), "{resolves:?}");
    // The service behind the group is no longer exposed either (ECS-SVC-004).
    for id in &resolves[0].1 {
        let f = held.iter().find(|f| &f.id == id).unwrap();
        assert_eq!(f.record_state, "ARCHIVED", "{id}");
    }
    assert_eq!(held.len(), present.len(), "updated, not duplicated");
}

/// Holds a sweep between two of its steps until `open` is set: the
/// estate's read (`estate`), or the table's read (`state`), so that another
/// sweep of the place runs in between.
#[derive(Default)]
struct Gate {
    open: std::sync::atomic::AtomicBool,
    reached: std::sync::atomic::AtomicBool,
}

impl Gate {
    async fn pass(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.reached.store(true, SeqCst);
        while !self.open.load(SeqCst) {
            tokio::task::yield_now().await;
        }
    }

    fn open(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// An estate read that waits at the gate after reading.
struct GatedEstate<'a> {
    estate: Estate,
    gate: &'a Gate,
}

#[async_trait::async_trait]
impl crate::ports::EstateReader for GatedEstate<'_> {
    async fn read(&self) -> Estate {
        let read = self.estate.clone();
        self.gate.pass().await;
        read
    }
}

/// The table, with a gate after the read of the place's findings.
struct GatedState<'a> {
    state: &'a MemoryState,
    gate: &'a Gate,
}

#[async_trait::async_trait]
impl StateStore for GatedState<'_> {
    async fn findings(&self, account: &str, region: &str) -> Result<Vec<Record>, AwsError> {
        let read = self.state.findings(account, region).await;
        self.gate.pass().await;
        read
    }
    async fn save(&self, records: &[Record]) -> Result<Vec<String>, AwsError> {
        self.state.save(records).await
    }
    async fn save_status(&self, status: &PlaceStatus) -> Result<bool, AwsError> {
        self.state.save_status(status).await
    }
    async fn take_lease(
        &self,
        account: &str,
        region: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, AwsError> {
        self.state
            .take_lease(account, region, holder, now, until)
            .await
    }
    async fn release_lease(
        &self,
        account: &str,
        region: &str,
        holder: &str,
    ) -> Result<bool, AwsError> {
        self.state.release_lease(account, region, holder).await
    }
    async fn everything(&self) -> Result<(Vec<Record>, Vec<PlaceStatus>), AwsError> {
        self.state.everything().await
    }
}

fn place_sweep<'a>(
    estate: &'a dyn EstateReader,
    state: &'a dyn StateStore,
    notifier: &'a dyn Notifier,
    policy: &'a Policy,
    settings: &'a GuardSettings,
    now: &'a str,
) -> PlaceSweep<'a> {
    PlaceSweep {
        account: ACCOUNT,
        region: REGION,
        run: now,
        estate,
        // Nothing in these estates asks IAM or EC2 anything more.
        iam: Box::leak(Box::new(MemoryIam::default())),
        instances: Box::leak(Box::new(MemoryInstances::default())),
        state: Some(state),
        notifier: Some(notifier),
        organizations: None,
        remediation: None,
        policy,
        settings,
        now,
        today: TODAY,
    }
}

fn ssh_record(state: &MemoryState) -> Record {
    state
        .records
        .lock()
        .unwrap()
        .values()
        .find(|r| r.rule == "EC2-SG-003")
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn a_sweep_that_cannot_take_the_places_lease_ends_quietly() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    let settings = GuardSettings::default();
    let gate = Gate::default();
    let held = GatedEstate {
        estate: estate(),
        gate: &gate,
    };
    let first = place_sweep(
        &held,
        &h.state,
        &h.notifier,
        &policy,
        &settings,
        "2026-12-01T00:00:00Z",
    );
    // Ten minutes later, the first still reading: the second cannot sweep.
    let second = place_sweep(
        &h.estate,
        &h.state,
        &h.notifier,
        &policy,
        &settings,
        "2026-12-01T00:10:00Z",
    );
    let (first, second) = tokio::join!(first.run(), async {
        let r = second.run().await;
        gate.open();
        r
    });
    let second = second.unwrap();
    assert!(second.skipped.as_deref().unwrap().contains("lease"));
    assert!(second.seen.is_empty());
    assert!(first.unwrap().skipped.is_none());
    assert_eq!(h.sent().len(), 1, "the first sweep's alert alone");
    let statuses = h.state.statuses.lock().unwrap().clone();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].swept_at, "2026-12-01T00:00:00Z");
    assert!(
        h.state.leases.lock().unwrap().is_empty(),
        "released at the end"
    );
    // Released: the next sweep runs at once.
    let next = h.sweep(&policy, "2026-12-01T00:11:00Z", false).await;
    assert!(next.skipped.is_none());
}

#[tokio::test]
async fn a_lease_left_by_a_crashed_sweep_expires() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    let start = crate::state::epoch_seconds("2026-12-01T00:00:00Z").unwrap();
    h.state
        .take_lease(ACCOUNT, REGION, "crashed", start, start + LEASE_SECONDS)
        .await
        .unwrap();
    let during = h.sweep(&policy, "2026-12-01T00:15:00Z", false).await;
    assert!(during.skipped.is_some());
    assert!(h.sent().is_empty());
    let after = h.sweep(&policy, "2026-12-01T00:17:00Z", false).await;
    assert!(after.skipped.is_none());
    assert_eq!(h.sent().len(), 1);
}

/// The rule is gone when the older sweep reads, back when the newer one
/// reads; the older one's lease expired (it overran), so the newer one runs
/// while the older one waits at `gate_in`, and the older one finishes last.
async fn older_saw_it_gone_newer_saw_it_open(gate_in_state: bool) {
    use crate::guards::sinks::{SecurityHubSink, Sinks, WithSinks};
    use crate::ports::fakes::MemoryHub;
    use std::sync::Arc;
    let hub = Arc::new(MemoryHub::default());
    let notifier = WithSinks {
        notifier: MemoryNotifier::default(),
        sinks: Sinks {
            security_hub: Some(SecurityHubSink {
                hub: hub.clone(),
                product: crate::output::asff::Product::default_of("aws", REGION, ACCOUNT),
            }),
            chat: None,
        },
        budget: crate::guards::sinks::SWEEP_SINKS_BUDGET,
    };
    let policy = Policy::embedded();
    let settings = GuardSettings::default();
    let state = MemoryState::default();
    let open = MemoryEstate {
        estate: std::sync::Mutex::new(estate()),
    };
    place_sweep(
        &open,
        &state,
        &notifier,
        &policy,
        &settings,
        "2026-12-01T00:00:00Z",
    )
    .run()
    .await
    .unwrap();
    assert_eq!(notifier.notifier.sent.lock().unwrap().len(), 1);

    let gate = Gate::default();
    let mut closed = estate();
    closed.groups[0].rules.clear();
    let gated_estate = GatedEstate {
        estate: closed.clone(),
        gate: &gate,
    };
    let plain_estate = MemoryEstate {
        estate: std::sync::Mutex::new(closed),
    };
    let gated_state = GatedState {
        state: &state,
        gate: &gate,
    };
    let (older_estate, older_state): (&dyn EstateReader, &dyn StateStore) = if gate_in_state {
        (&plain_estate, &gated_state)
    } else {
        (&gated_estate, &state)
    };
    let older = place_sweep(
        older_estate,
        older_state,
        &notifier,
        &policy,
        &settings,
        "2026-12-01T06:00:00Z",
    );
    let newer = place_sweep(
        &open,
        &state,
        &notifier,
        &policy,
        &settings,
        "2026-12-01T06:20:00Z",
    );
    let (older, newer) = tokio::join!(older.run(), async {
        while !gate.reached.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        let r = newer.run().await;
        gate.open();
        r
    });
    let (older, newer) = (older.unwrap(), newer.unwrap());
    assert!(older.skipped.is_none() && newer.skipped.is_none());
    assert!(newer.report.resolved.is_empty() && newer.report.findings.is_empty());
    assert!(
        older.report.resolved.is_empty(),
        "the older sweep does not resolve what the newer one saw open: {:?}",
        older.report.resolved
    );
    assert_eq!(
        notifier.notifier.sent.lock().unwrap().len(),
        1,
        "no all-clear"
    );
    let ssh = ssh_record(&state);
    assert_eq!(ssh.status, Status::Open);
    assert_eq!(ssh.last_seen, "2026-12-01T06:20:00Z");
    assert_eq!(
        ssh.read_at,
        crate::state::epoch_seconds("2026-12-01T06:20:00Z").unwrap()
    );
    assert!(
        hub.resolves.lock().unwrap().is_empty(),
        "Security Hub keeps it open"
    );
    let statuses = state.statuses.lock().unwrap().clone();
    assert_eq!(
        statuses[0].swept_at, "2026-12-01T06:20:00Z",
        "the newer status is kept"
    );
}

#[tokio::test]
async fn an_older_sweep_finishing_last_resolves_nothing_the_newer_one_saw_open() {
    // The newer sweep wrote before the older one read the table.
    older_saw_it_gone_newer_saw_it_open(false).await;
    // The newer sweep wrote after the older one read the table: its writes
    // are refused by their condition.
    older_saw_it_gone_newer_saw_it_open(true).await;
}

#[tokio::test]
async fn an_older_sweep_finishing_last_does_not_reopen_what_the_newer_one_resolved() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    let settings = GuardSettings::default();
    h.sweep(&policy, "2026-12-01T00:00:00Z", false).await;
    let gate = Gate::default();
    let gated = GatedState {
        state: &h.state,
        gate: &gate,
    };
    // The older sweep sees the rule open; the newer one sees it gone.
    let open = MemoryEstate {
        estate: std::sync::Mutex::new(estate()),
    };
    let older = place_sweep(
        &open,
        &gated,
        &h.notifier,
        &policy,
        &settings,
        "2026-12-01T06:00:00Z",
    );
    h.estate.estate.lock().unwrap().groups[0].rules.clear();
    let newer = place_sweep(
        &h.estate,
        &h.state,
        &h.notifier,
        &policy,
        &settings,
        "2026-12-01T06:20:00Z",
    );
    let (older, newer) = tokio::join!(older.run(), async {
        while !gate.reached.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        let r = newer.run().await;
        gate.open();
        r
    });
    assert!(newer
        .unwrap()
        .report
        .resolved
        .iter()
        .any(|r| r.rule == "EC2-SG-003"));
    assert!(older.unwrap().report.findings.is_empty());
    assert_eq!(h.sent().len(), 2, "the first alert and the all-clear");
    let ssh = ssh_record(&h.state);
    assert_eq!(ssh.status, Status::Resolved, "not reopened");
    assert_eq!(ssh.resolved_at.as_deref(), Some("2026-12-01T06:20:00Z"));
}

#[tokio::test]
async fn a_failed_alert_is_sent_again_by_the_retried_sweep() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    let settings = GuardSettings::default();
    struct Failing;
    #[async_trait::async_trait]
    impl Notifier for Failing {
        async fn publish(&self, _: &Notification) -> Result<(), AwsError> {
            Err(AwsError {
                operation: "Publish",
                code: Some("Throttling".to_string()),
                message: "slow".to_string(),
                retryable: true,
            })
        }
    }
    let failing = Failing;
    let first = place_sweep(
        &h.estate,
        &h.state,
        &failing,
        &policy,
        &settings,
        "2026-12-01T00:00:00Z",
    )
    .run()
    .await;
    assert!(first.is_err());
    assert!(h.state.leases.lock().unwrap().is_empty(), "released");
    let retry = h.sweep(&policy, "2026-12-01T00:05:00Z", false).await;
    assert!(retry.report.findings.iter().any(|f| f.rule == "EC2-SG-003"));
    assert_eq!(h.sent().len(), 1);
}

#[test]
fn a_group_a_service_names_that_the_account_does_not_hold_is_unknown_and_named() {
    let mut e = estate();
    e.services.push(public_service(&["sg-shared"]));
    e.services[1].name = "api".to_string();
    let unseen = unseen_groups(ACCOUNT, &e);
    assert_eq!(unseen.len(), 1, "{unseen:?}");
    let phrase = unseen[0].phrase();
    assert!(
        phrase.contains("sg-shared")
            && phrase.contains("prod/api")
            && phrase.contains("shared VPC"),
        "{phrase}"
    );
    assert!(!phrase.contains("sg-open"), "{phrase}");
    // Judged with it: the service's exposure through it is not judged clean.
    e.unread = unseen;
    assert!(!e.complete(), "nothing is resolved on an unknown");
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    assert!(!rules_on(&seen, "prod/api").contains(&"ECS-SVC-004"));
    // A failed read of the groups is the reason already: no second entry.
    let mut denied = estate();
    denied.groups.clear();
    denied.unread.push(Unread {
        what: "DescribeSecurityGroups".to_string(),
        error: AwsError {
            operation: "DescribeSecurityGroups",
            code: Some("UnauthorizedOperation".to_string()),
            message: "no".to_string(),
            retryable: false,
        },
    });
    assert!(unseen_groups(ACCOUNT, &denied).is_empty());
}

#[tokio::test]
async fn a_sweep_resolves_nothing_about_a_service_whose_group_it_cannot_see() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    let first = h.sweep(&policy, "2026-12-01T00:00:00Z", false).await;
    assert!(first
        .report
        .findings
        .iter()
        .any(|f| f.rule == "ECS-SVC-004"));
    // The group leaves the account's view (another account's now, or deleted).
    h.estate.estate.lock().unwrap().groups.remove(0);
    let second = h.sweep(&policy, "2026-12-01T06:00:00Z", false).await;
    assert!(
        second.report.resolved.is_empty(),
        "unknown is not resolved: {:?}",
        second.report.resolved
    );
    assert!(
        second.unread.iter().any(|u| u.phrase().contains("sg-open")),
        "{:?}",
        second.unread
    );
    let statuses = h.state.statuses.lock().unwrap().clone();
    assert!(!statuses[0].complete);
    assert!(
        statuses[0].problems[0].contains("sg-open"),
        "{:?}",
        statuses[0].problems
    );
}
