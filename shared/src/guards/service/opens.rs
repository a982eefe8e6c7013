//! The ways in a change opens (DESIGN §15), named in the alert: the access
//! map drawn from what the guard read for the event — the service's groups
//! and their rules, its task definition, the networks of its subnets — and
//! nothing more. What the event path does not read (the load balancers'
//! listeners, the task role's policies) is said: a path through it is
//! "may open", naming the hop not read, never left out. What it closes is
//! read against the ways in the last sweep recorded (the state table).

use crate::guards::paths::Networks;
use crate::model::event::Event;
use crate::model::svc::ServiceChange;
use crate::model::td::TaskDefinition;
use crate::policy::Policy;
use tracing::warn;

use crate::guards::iam::task_role;
use crate::ports::estate::{Estate, GroupState, ServiceState};
use crate::ports::{AwsError, Iam, StateStore};
use crate::report::map::{records_route, MapDocument, PathKind, PathStatus, PATH_RULE};
use crate::state::Status;

/// At most this many paths are named; the rest are counted.
const NAMED: usize = 5;

/// The service's map drawn from what was read for the event, and its task
/// role read (one role: what it may do is the end of every path). A
/// retryable failure fails the invocation; any other leaves the role said
/// as not read.
#[allow(clippy::too_many_arguments)]
pub(super) async fn drawn(
    event: &Event,
    change: &ServiceChange,
    td: Option<&TaskDefinition>,
    groups: Vec<GroupState>,
    networks: &Networks,
    policy: &Policy,
    iam: Option<&dyn Iam>,
) -> Result<Option<MapDocument>, AwsError> {
    let mut estate = Estate {
        groups,
        network: networks.merged(),
        ..Estate::default()
    };
    let name = change
        .resource()
        .split_once('/')
        .map_or_else(|| change.service.clone(), |(_, rest)| rest.to_string());
    estate.services.push(ServiceState {
        cluster: change.cluster.clone(),
        name,
        settings: change.after().clone(),
        task_sets: Vec::new(),
    });
    if let (Some(td), Some(label)) = (td, change.task_definition()) {
        estate
            .task_definitions
            .insert(label.to_string(), td.clone());
    }
    if let (Some(role), Some(iam)) = (td.and_then(|td| td.task_role_arn.as_ref()), iam) {
        let access = task_role(iam, role, &event.id).await?;
        estate.task_roles.insert(role.clone(), access);
    }
    if change
        .after()
        .load_balancers
        .as_ref()
        .is_some_and(|l| !l.is_empty())
    {
        estate
            .unread
            .extend(crate::map::not_read_on_the_event_path());
    }
    Ok(
        crate::map::access_map(&event.account, &event.region, &estate, policy)
            .into_iter()
            .next(),
    )
}

/// The notes: `Opens: internet → …` for each open way in, `May open: … (not
/// read: …)` for each possible one.
pub(super) fn opened(doc: Option<&MapDocument>) -> Vec<String> {
    let Some(doc) = doc else {
        return Vec::new();
    };
    let ways: Vec<String> = doc
        .paths
        .iter()
        .filter(|p| matches!(p.kind, PathKind::Network | PathKind::LoadBalancer))
        .filter_map(crate::map::opens_line)
        .collect();
    named(ways)
}

/// The ways in the last sweep recorded open for this service that the
/// change closes: `Closes: network: internet → …`. Only the paths the event
/// path draws whole (straight to the tasks' addresses) are compared; a read
/// of the table that fails is said, never taken as nothing closed.
pub(super) async fn closed(
    state: &dyn StateStore,
    event: &Event,
    doc: &MapDocument,
) -> Vec<String> {
    let records = match state.findings(&event.account, &event.region).await {
        Ok(records) => records,
        Err(e) => {
            warn!(event_id = %event.id, error = %e, "could not read the recorded ways in");
            return vec![format!(
                "Closes: not known (the ways in recorded by the sweep could not be read: {}: {})",
                e.operation,
                e.code_or_kind()
            )];
        }
    };
    let now: Vec<&str> = doc
        .paths
        .iter()
        .filter(|p| p.kind == PathKind::Network && p.status != PathStatus::Closed)
        .map(|p| p.route.as_str())
        .collect();
    let ways: Vec<String> = records
        .iter()
        .filter(|r| r.rule == PATH_RULE && r.resource == doc.target.id && r.status == Status::Open)
        .filter(|r| r.detail.starts_with("network: "))
        .filter(|r| {
            !now.iter()
                .any(|route| records_route(&r.detail, PathKind::Network, route))
        })
        .map(|r| format!("Closes: {} (open since {})", r.detail, r.first_seen))
        .collect();
    named(ways)
}

/// At most [`NAMED`] lines, the rest counted.
fn named(ways: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = ways.iter().take(NAMED).cloned().collect();
    if ways.len() > NAMED {
        out.push(format!(
            "… and {} more (the sweep's access map lists them)",
            ways.len() - NAMED
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::guards::service::test_support::*;
    use crate::model::reach::test_support::{public_network, route, table};
    use crate::ports::fakes::{MemoryClusters, MemoryVpcs};
    use serde_json::json;

    fn vpcs(network: crate::model::reach::Network) -> MemoryVpcs {
        MemoryVpcs {
            networks: vec![("vpc-1".into(), network)],
            ..MemoryVpcs::default()
        }
    }

    fn opens(report: &crate::report::Report) -> Vec<&str> {
        report
            .notes
            .iter()
            .filter(|n| n.starts_with("Opens: ") || n.starts_with("May open: "))
            .map(String::as_str)
            .collect()
    }

    #[tokio::test]
    async fn the_alert_names_the_way_in_the_change_opens() {
        let (report, sent) = run_with(
            &serving(22),
            &ssh_open_group(),
            &MemoryClusters::default(),
            &vpcs(public_network()),
            &create(),
        )
        .await;
        let report = report.unwrap();
        assert_eq!(
            opens(&report),
            ["Opens: internet → igw-0ab → public IP of each task → sg-1 tcp 22 from 0.0.0.0/0 → service default/web container app:22 (container app: its code, data and network)"]
        );
        assert!(
            sent[0].message.contains("Opens: internet → igw-0ab"),
            "{}",
            sent[0].message
        );

        // The same in a subnet with no route to the internet opens nothing.
        let mut private = public_network();
        private.route_tables = vec![table(
            "rtb-1",
            "vpc-1",
            false,
            &["subnet-1"],
            vec![route("10.0.0.0/16", "local")],
        )];
        let (report, _) = run_with(
            &serving(22),
            &ssh_open_group(),
            &MemoryClusters::default(),
            &vpcs(private),
            &create(),
        )
        .await;
        assert!(opens(&report.unwrap()).is_empty());
    }

    #[tokio::test]
    async fn a_load_balancer_the_event_path_does_not_read_is_named_as_not_read() {
        let behind = event(
            "CreateService",
            json!({"serviceName": "web", "taskDefinition": "web:3",
                "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/web/73e2", "containerName": "app", "containerPort": 22}],
                "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}}}),
        );
        let (report, _) = run_with(
            &serving(22),
            &ssh_open_group(),
            &MemoryClusters::default(),
            &vpcs(public_network()),
            &behind,
        )
        .await;
        let report = report.unwrap();
        let notes = opens(&report);
        assert_eq!(notes.len(), 1, "{:?}", report.notes);
        assert!(
            notes[0].starts_with("May open: internet → load balancer?")
                && notes[0].contains("(not read: which listener forwards to it is not known (DescribeLoadBalancers (not read on the event path): NotRead); the target groups could not be read (DescribeTargetGroups (not read on the event path): NotRead))"),
            "{}",
            notes[0]
        );
    }
}

#[cfg(test)]
mod closes {
    use super::*;
    use crate::guards::service::test_support::*;
    use crate::guards::GuardSettings;
    use crate::model::reach::test_support::public_network;
    use crate::ports::fakes::{MemoryClusters, MemoryNotifier, MemoryState, MemoryVpcs};
    use crate::state::Record;
    use serde_json::json;

    fn recorded(detail: &str) -> Record {
        Record {
            fingerprint: format!("fp-{}", detail.len()),
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            resource: "default/web".into(),
            rule: PATH_RULE.into(),
            severity: crate::finding::Severity::High,
            title: "NEW PATH".into(),
            detail: detail.into(),
            status: Status::Open,
            first_seen: "2026-12-01T00:00:00Z".into(),
            last_seen: "2026-12-01T00:00:00Z".into(),
            last_alert: None,
            resolved_at: None,
            read_at: 0,
        }
    }

    async fn handled(state: &MemoryState, e: &Event) -> Vec<String> {
        let notifier = MemoryNotifier::default();
        let policy = Policy::embedded();
        let settings = GuardSettings::default();
        let vpcs = MemoryVpcs {
            networks: vec![("vpc-1".into(), public_network())],
            ..MemoryVpcs::default()
        };
        let report = crate::guards::service::ServiceGuard {
            task_definitions: &serving(22),
            groups: &ssh_open_group(),
            clusters: &MemoryClusters::default(),
            vpcs: &vpcs,
            state: Some(state),
            iam: None,
            notifier: &notifier,
            policy: &policy,
            settings: &settings,
        }
        .handle(e)
        .await
        .unwrap();
        report
            .notes
            .into_iter()
            .filter(|n| n.starts_with("Closes: ") || n.starts_with("Opens: "))
            .collect()
    }

    const OPEN_22: &str = "internet → igw-0ab → public IP of each task → sg-1 tcp 22 from 0.0.0.0/0 → service default/web container app:22";

    #[tokio::test]
    async fn a_change_that_takes_the_public_ip_away_closes_the_way_in_the_sweep_recorded() {
        let state = MemoryState::default();
        let detail = format!("network: {OPEN_22} (task role app: admin-level or wildcard)");
        state
            .records
            .lock()
            .unwrap()
            .insert("fp".into(), recorded(&detail));
        let private = event(
            "UpdateService",
            json!({"service": "web", "taskDefinition": "web:3", "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}}}),
        );
        assert_eq!(
            handled(&state, &private).await,
            [format!(
                "Closes: {detail} (open since 2026-12-01T00:00:00Z)"
            )]
        );
        // The same way in still open (its end read otherwise): nothing closes.
        let public = event(
            "UpdateService",
            json!({"service": "web", "taskDefinition": "web:3", "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}}}),
        );
        let notes = handled(&state, &public).await;
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with(&format!("Opens: {OPEN_22} (")),
            "{notes:?}"
        );
    }

    #[tokio::test]
    async fn a_table_that_cannot_be_read_is_said_never_taken_as_nothing_closed() {
        let state = MemoryState {
            read_error: Some(AwsError {
                operation: "Query",
                code: Some("AccessDeniedException".into()),
                message: "no".into(),
                retryable: false,
            }),
            ..MemoryState::default()
        };
        let e = event(
            "UpdateService",
            json!({"service": "web", "taskDefinition": "web:3", "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}}}),
        );
        assert_eq!(
            handled(&state, &e).await,
            ["Closes: not known (the ways in recorded by the sweep could not be read: Query: AccessDeniedException)"]
        );
    }
}

#[cfg(test)]
mod ends {
    use crate::guards::service::test_support::*;
    use crate::guards::GuardSettings;
    use crate::model::reach::test_support::public_network;
    use crate::policy::Policy;
    use crate::ports::fakes::{MemoryClusters, MemoryIam, MemoryNotifier, MemoryVpcs};
    use crate::ports::RolePolicies;

    #[tokio::test]
    async fn the_way_in_ends_at_what_the_task_role_may_do() {
        let mut tds = serving(22);
        tds.by_arn[0].1.task_role_arn = Some("arn:aws:iam::111122223333:role/payments".into());
        let iam = MemoryIam {
            roles: vec![RolePolicies {
                role: "payments".into(),
                managed: vec![("arn:aws:iam::aws:policy/AdministratorAccess".into(), None)],
                ..RolePolicies::default()
            }],
            ..MemoryIam::default()
        };
        let vpcs = MemoryVpcs {
            networks: vec![("vpc-1".into(), public_network())],
            ..MemoryVpcs::default()
        };
        let notifier = MemoryNotifier::default();
        let policy = Policy::embedded();
        let settings = GuardSettings::default();
        let report = crate::guards::service::ServiceGuard {
            task_definitions: &tds,
            groups: &ssh_open_group(),
            clusters: &MemoryClusters::default(),
            vpcs: &vpcs,
            state: None,
            iam: Some(&iam),
            notifier: &notifier,
            policy: &policy,
            settings: &settings,
        }
        .handle(&create())
        .await
        .unwrap();
        let opens: Vec<&String> = report
            .notes
            .iter()
            .filter(|n| n.starts_with("Opens: "))
            .collect();
        assert_eq!(
            opens,
            ["Opens: internet → igw-0ab → public IP of each task → sg-1 tcp 22 from 0.0.0.0/0 → service default/web container app:22 (task role payments: admin-level or wildcard)"]
        );
        assert_eq!(
            *iam.calls.lock().unwrap(),
            ["role arn:aws:iam::111122223333:role/payments"]
        );
    }
}
