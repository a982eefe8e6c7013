//! The estate judged as the event path judges each resource: groups,
//! services, task definitions, clusters, capacity providers, instances and
//! templates, exemptions, and what could not be read.

use super::*;

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
        ports: vec!["api".to_string()],
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
