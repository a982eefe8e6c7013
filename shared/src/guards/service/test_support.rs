//! What the service guard's tests share: a group open to SSH, a privileged
//! task definition, events, and a run of the guard with fakes.

use super::ServiceGuard;
use crate::guards::{GuardError, GuardSettings};
use crate::model::event::Event;
use crate::model::net::{Protocol, Source};
use crate::model::sg::{Direction, SgRule};
use crate::model::td::{Container, TaskDefinition};
use crate::policy::Policy;
use crate::ports::fakes::{
    MemoryClusters, MemoryGroups, MemoryNotifier, MemoryTaskDefinitions, MemoryVpcs,
};
use crate::report::Report;
use serde_json::json;

pub(super) fn ssh_open_group() -> MemoryGroups {
    MemoryGroups {
        info: Some(crate::ports::GroupInfo {
            group_id: "sg-1".into(),
            name: "web".into(),
            vpc_id: Some("vpc-1".into()),
            tags: Default::default(),
        }),
        rules: std::sync::Mutex::new(vec![SgRule {
            rule_id: Some("sgr-ssh".into()),
            direction: Direction::Ingress,
            ip_protocol: "tcp".into(),
            protocol: Protocol::Tcp,
            from_port: Some(22),
            to_port: Some(22),
            source: Source::cidr("0.0.0.0/0"),
            description: None,
        }]),
        ..MemoryGroups::default()
    }
}

pub(super) fn privileged_task() -> MemoryTaskDefinitions {
    MemoryTaskDefinitions {
        by_arn: vec![(
            "web:3".into(),
            TaskDefinition {
                family: "web".into(),
                revision: Some(3),
                containers: vec![Container {
                    name: "app".into(),
                    privileged: true,
                    ..Container::default()
                }],
                ..TaskDefinition::default()
            },
        )],
        ..MemoryTaskDefinitions::default()
    }
}

/// The privileged task, its container serving tcp `port`.
pub(super) fn serving(port: i64) -> MemoryTaskDefinitions {
    let tds = privileged_task();
    let mut by_arn = tds.by_arn;
    by_arn[0].1.containers[0].port_mappings = vec![crate::model::td::PortMapping {
        container_port: Some(port),
        host_port: None,
        container_port_range: None,
        protocol: Some("tcp".into()),
    }];
    MemoryTaskDefinitions {
        by_arn,
        ..MemoryTaskDefinitions::default()
    }
}

pub(super) fn event(name: &str, request: serde_json::Value) -> Event {
    let record = json!({"eventID": "ev-svc", "eventName": name, "recipientAccountId": "111122223333",
        "awsRegion": "eu-west-1", "requestParameters": request});
    Event::from_value(&record, "test").unwrap()
}

pub(super) fn create() -> Event {
    event(
        "CreateService",
        json!({"serviceName": "web", "taskDefinition": "web:3", "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}}}),
    )
}

pub(super) async fn run(
    tds: &MemoryTaskDefinitions,
    groups: &MemoryGroups,
    e: &Event,
) -> (
    Result<Report, GuardError>,
    Vec<crate::output::notify::Notification>,
) {
    run_in(tds, groups, &MemoryClusters::default(), e).await
}

pub(super) async fn run_in(
    tds: &MemoryTaskDefinitions,
    groups: &MemoryGroups,
    clusters: &MemoryClusters,
    e: &Event,
) -> (
    Result<Report, GuardError>,
    Vec<crate::output::notify::Notification>,
) {
    run_with(tds, groups, clusters, &MemoryVpcs::default(), e).await
}

pub(super) async fn run_with(
    tds: &MemoryTaskDefinitions,
    groups: &MemoryGroups,
    clusters: &MemoryClusters,
    vpcs: &MemoryVpcs,
    e: &Event,
) -> (
    Result<Report, GuardError>,
    Vec<crate::output::notify::Notification>,
) {
    let notifier = MemoryNotifier::default();
    let policy = Policy::embedded();
    let settings = GuardSettings::default();
    let guard = ServiceGuard {
        task_definitions: tds,
        groups,
        clusters,
        vpcs,
        state: None,
        iam: None,
        notifier: &notifier,
        policy: &policy,
        settings: &settings,
    };
    let result = guard.handle(e).await;
    let sent = notifier.sent.lock().unwrap().clone();
    (result, sent)
}

pub(super) fn rules_of(report: &Report) -> Vec<&str> {
    report.findings.iter().map(|f| f.rule).collect()
}
