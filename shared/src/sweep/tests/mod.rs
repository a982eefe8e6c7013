//! The sweep's tests and what they share: an estate with an open group, a
//! public service and a privileged task definition, and a harness that
//! sweeps it with fakes.
//!
//! The tests, by what they exercise, one file each:
//! - `judge`: the estate judged as the event path judges each resource;
//! - `paths`: the network path on the exposure verdicts;
//! - `map`: the access map computed from the estate;
//! - `network`: the load balancers, target groups and VPCs read, judged
//!   as their events are;
//! - `run`: a place's sweep end to end: alerts, what resolves, revocations,
//!   the sinks;
//! - `races`: sweeps of one place that overlap or are retried: the lease,
//!   an older sweep finishing last, a failed alert.
//!
//! The summary's and the places' tests sit with their code (`summary.rs`,
//! `work.rs`).

mod judge;
mod map;
mod network;
mod paths;
mod races;
mod run;

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
use crate::ports::{AwsError, GroupInfo};

pub(super) const ACCOUNT: &str = "111122223333";
pub(super) const REGION: &str = "eu-west-1";
pub(super) const TODAY: Date = date!(2026 - 12 - 01);

pub(super) fn rule(id: &str, port: i64, cidr: &str) -> SgRule {
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

pub(super) fn group(id: &str, rules: Vec<SgRule>, tags: &[(&str, &str)]) -> GroupState {
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

pub(super) fn privileged_td() -> TaskDefinition {
    let value = json!({"family": "web", "revision": 3, "networkMode": "awsvpc", "memory": "512",
        "tags": [{"key": "team", "value": "web"}],
        "containerDefinitions": [{"name": "app", "image": "nginx@sha256:abc", "privileged": true,
            "readonlyRootFilesystem": true, "user": "1000",
            "linuxParameters": {"capabilities": {"drop": ["ALL"]}},
            "logConfiguration": {"logDriver": "awslogs", "options": {"mode": "non-blocking"}}}]});
    TaskDefinition::from_json(&Node::root(&value, "td")).unwrap()
}

pub(super) const TD_ARN: &str = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:3";

pub(super) fn public_service(groups: &[&str]) -> ServiceState {
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

pub(super) fn estate() -> Estate {
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

pub(super) fn rules_on(seen: &[Seen], resource: &str) -> Vec<&'static str> {
    let mut ids: Vec<&str> = seen
        .iter()
        .filter(|s| s.resource() == resource)
        .map(|s| s.finding.rule)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

pub(super) fn through_list(id: &str, port: i64, list: &str) -> SgRule {
    SgRule {
        source: Source::PrefixList(list.to_string()),
        ..rule(id, port, "0.0.0.0/0")
    }
}

pub(super) fn lists(
    entries: &[(&str, crate::model::sg::PrefixListEntries)],
) -> crate::model::sg::PrefixLists {
    entries
        .iter()
        .map(|(id, e)| (id.to_string(), e.clone()))
        .collect()
}

pub(super) struct Harness {
    pub(super) estate: MemoryEstate,
    pub(super) iam: MemoryIam,
    pub(super) instances: MemoryInstances,
    pub(super) state: MemoryState,
    pub(super) notifier: MemoryNotifier,
    pub(super) groups: MemoryGroups,
}

impl Harness {
    pub(super) fn new(e: Estate) -> Harness {
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

    pub(super) async fn sweep(&self, policy: &Policy, now: &str, revoke: bool) -> PlaceResult {
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

    pub(super) fn sent(&self) -> Vec<Notification> {
        self.notifier.sent.lock().unwrap().clone()
    }
}
