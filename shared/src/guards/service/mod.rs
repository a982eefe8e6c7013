//! The service guard: services (`CreateService`/`UpdateService`), task sets
//! (`CreateTaskSet`/`UpdateTaskSet`) and standalone tasks
//! (`RunTask`/`StartTask`) ▶ the ECS-SVC rules, joined with what they deploy
//! (`DescribeTaskDefinition`), the groups in front of them
//! (`DescribeSecurityGroupRules`) and, when the call turns ECS Exec on, the
//! cluster's Exec configuration (`DescribeClusters`) ▶ one alert. Notify only.

use tracing::{info, warn};

use crate::finding::{Action, Finding};
use crate::guards::paths::{self, Address, Exposed, Placement, Traffic};
use crate::guards::task_definition as task_guard;
use crate::guards::{failed_call, notify_if_due, preflight, GuardError, GuardSettings};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::model::net::Protocol;
use crate::model::reach::Family;
use crate::model::sg::{PrefixListEntries, SgChange};
use crate::model::svc::{ServiceChange, Subject};
use crate::model::td::TaskDefinition;
use crate::policy::Policy;
use crate::ports::{AwsError, Clusters, Notifier, SecurityGroups, TaskDefinitions, Vpcs};
use crate::report::Report;
use crate::rules;
use crate::rules::ecs_svc::{Enrichment, SvcContext};
use crate::rules::ecs_td::is_root_user;
use crate::rules::elb::load_balancer_bypassed as bypassed;
use crate::rules::elb::Verdict;

/// What the offline verdict cannot judge.
pub const NEEDS_AWS: &str = "ECS-SVC-004 (the groups' live rules) and ECS-SVC-005 (the deployed task definition) need AWS: the Lambda checks them";

/// What the offline verdict cannot judge when the call turns ECS Exec on.
pub const NEEDS_AWS_EXEC: &str =
    "ECS-SVC-012 (the cluster's exec session logging and encryption) needs AWS: the Lambda reads the cluster";

/// True when the call turns ECS Exec on: the cluster's Exec configuration
/// decides ECS-SVC-012.
fn turns_exec_on(change: &ServiceChange) -> bool {
    change.set_by_call().enable_execute_command == Some(true)
}

/// Who started standalone tasks, when it is not a person's call: the AWS
/// service that invoked RunTask (EventBridge, Step Functions, Batch) and the
/// `startedBy` it gave.
fn started_by(event: &Event, change: &ServiceChange) -> Option<String> {
    if change.subject != Subject::Task {
        return None;
    }
    let invoked = event.actor.invoked_by.as_deref().map(|by| {
        let who = match by {
            "events.amazonaws.com" => "EventBridge (events.amazonaws.com)".to_string(),
            "states.amazonaws.com" => "Step Functions (states.amazonaws.com)".to_string(),
            "batch.amazonaws.com" => "AWS Batch (batch.amazonaws.com)".to_string(),
            "scheduler.amazonaws.com" => {
                "EventBridge Scheduler (scheduler.amazonaws.com)".to_string()
            }
            other => other.to_string(),
        };
        format!("invoked by {who}")
    });
    let tag = change
        .started_by
        .as_deref()
        .map(|s| format!("startedBy {s}"));
    match (invoked, tag) {
        (None, None) => None,
        (a, b) => Some(format!(
            "{} {}",
            event.name,
            [a, b].into_iter().flatten().collect::<Vec<_>>().join(", ")
        )),
    }
}

fn report_for(
    event: &Event,
    change: &ServiceChange,
    policy: &Policy,
    enrichment: Option<&Enrichment>,
) -> Report {
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    report.location.cluster = Some(change.cluster.clone()).filter(|c| !c.is_empty());
    report.findings = rules::evaluate_svc(change, &SvcContext { policy, enrichment });
    report
}

/// The offline verdict (CLI): only what the event shows.
pub fn evaluate_offline(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    if let Some(reason) = failed_call(event, &[]) {
        return Ok(Report::skipped(event, reason));
    }
    let Some(change) = ServiceChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let mut report = report_for(event, &change, policy, None);
    report.reachability = Some(reachability(&change, None, None));
    report.notes.extend(started_by(event, &change));
    if change.changes_exposure() {
        report.notes.push(NEEDS_AWS.to_string());
    }
    report
        .notes
        .extend(bypass_unknown(&change, policy, None, "needs AWS"));
    if turns_exec_on(&change) {
        report.notes.push(NEEDS_AWS_EXEC.to_string());
    }
    Ok(report)
}

/// The service guard with its ports.
pub struct ServiceGuard<'a> {
    pub task_definitions: &'a dyn TaskDefinitions,
    pub groups: &'a dyn SecurityGroups,
    pub clusters: &'a dyn Clusters,
    /// The network path of what is exposed (subnets, routes, network ACLs).
    pub vpcs: &'a dyn Vpcs,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl ServiceGuard<'_> {
    pub async fn handle(&self, event: &Event) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(skipped) = preflight(event, self.settings, &[]) {
            return Ok(skipped);
        }
        let change = match ServiceChange::from_event(event).map_err(GuardError::parse(event))? {
            Some(change) => change,
            None => return Ok(Report::not_handled(event)),
        };
        let notes: Vec<String> = started_by(event, &change).into_iter().collect();
        // Checks that could not run: said in the alert, which goes out.
        let mut unread: Vec<String> = Vec::new();
        let mut task_definition = None;
        let mut enrichment = if change.changes_exposure() {
            let (enrichment, td) = self
                .enrich(event, &change, &mut unread)
                .await
                .map_err(aws)?;
            task_definition = td;
            Some(enrichment)
        } else {
            None
        };
        if turns_exec_on(&change) {
            let exec = self
                .cluster_exec(event, &change.cluster, &mut unread)
                .await
                .map_err(aws)?;
            let joined = enrichment.get_or_insert_with(Enrichment::default);
            if exec.is_none() {
                joined.cluster_exec_unknown = Some(change.cluster.clone());
            }
            joined.cluster_exec = exec;
        }
        let mut report = report_for(event, &change, self.policy, enrichment.as_ref());
        report.notes = notes;
        report.notes.extend(bypass_unknown(
            &change,
            self.policy,
            enrichment.as_ref(),
            "not judged",
        ));
        if !unread.is_empty() {
            report.unevaluated = Some(format!("could not check {}", unread.join("; ")));
        }
        report.reachability = Some(reachability(
            &change,
            enrichment.as_ref(),
            task_definition.as_ref(),
        ));
        let exposed = exposed(
            &report.findings,
            enrichment.as_ref(),
            task_definition.as_ref(),
        );
        paths::add_paths(
            self.vpcs,
            &mut report.findings,
            exposed,
            &placement(&change),
            self.policy.wide,
            &event.id,
        )
        .await
        .map_err(aws)?;
        for f in &report.findings {
            info!(event_id = %event.id, rule = f.rule, severity = %f.severity, detail = %f.detail, "finding");
        }
        notify_if_due(&mut report, self.policy, self.settings, self.notifier)
            .await
            .map_err(aws)?;
        Ok(report)
    }

    /// The cluster's Exec configuration; `None` (`unread` says why) when
    /// it cannot be read: unknown, never "protected".
    async fn cluster_exec(
        &self,
        event: &Event,
        cluster: &str,
        unread: &mut Vec<String>,
    ) -> Result<Option<(String, crate::model::cl::ExecConfiguration)>, AwsError> {
        match self.clusters.describe(cluster).await {
            Ok(Some(settings)) => {
                if settings.exec.is_none() {
                    unread.push(format!(
                        "cluster {cluster}'s exec configuration: DescribeClusters does not say"
                    ));
                }
                Ok(settings.exec.map(|exec| (cluster.to_string(), exec)))
            }
            Ok(None) => {
                unread.push(format!("cluster {cluster}'s exec configuration: not found"));
                Ok(None)
            }
            Err(e) if e.retryable => Err(e),
            Err(e) => {
                warn!(event_id = %event.id, cluster = %cluster, error = %e, "could not check");
                unread.push(format!(
                    "cluster {cluster}'s exec configuration: {}",
                    e.code_or_kind()
                ));
                Ok(None)
            }
        }
    }

    /// Reads the deployed task definition and the attached groups. What cannot
    /// be read is said in `unread` (`task definition …: code`), which the
    /// alert reports as not evaluated; throttling and outages fail the
    /// invocation so that Lambda retries it.
    async fn enrich(
        &self,
        event: &Event,
        change: &ServiceChange,
        unread: &mut Vec<String>,
    ) -> Result<(Enrichment, Option<TaskDefinition>), AwsError> {
        let mut enrichment = Enrichment::default();
        let mut deployed = None;
        match change.task_definition() {
            None => unread.push("the task definition: the event does not name it".to_string()),
            Some(name) => match self.task_definitions.describe(name).await {
                Ok(Some(td)) => {
                    let findings = task_guard::assess(&td, &event.account, self.policy);
                    enrichment.task_definition = Some((td.label(), findings));
                    deployed = Some(td);
                }
                Ok(None) => unread.push(format!("task definition {name}: not found")),
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    warn!(event_id = %event.id, task_definition = %name, error = %e, "could not check");
                    unread.push(format!("task definition {name}: {}", e.code_or_kind()));
                }
            },
        }
        for group_id in change.security_groups() {
            // DescribeSecurityGroupRules answers an empty list alike for a
            // group without ingress and for one this account cannot see (a
            // shared VPC's group of another account, one deleted): the
            // group itself is read first, and one not seen is unknown.
            match self.groups.group(group_id).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    let why = not_visible(&event.account);
                    warn!(event_id = %event.id, group_id = %group_id, "could not check: {why}");
                    unread.push(format!(
                        "security group {group_id}: could not be read ({why})"
                    ));
                    enrichment
                        .unchecked_groups
                        .push((group_id.clone(), format!("could not be read: {why}")));
                    continue;
                }
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    warn!(event_id = %event.id, group_id = %group_id, error = %e, "could not check");
                    unread.push(format!("security group {group_id}: {}", e.code_or_kind()));
                    enrichment
                        .unchecked_groups
                        .push((group_id.clone(), e.code_or_kind()));
                    continue;
                }
            }
            match self.groups.rules_of_group(group_id).await {
                Ok(stored) => {
                    let mut ingress =
                        SgChange::current_ingress(group_id, stored).with_account(&event.account);
                    // A prefix list holding an internet-wide entry is the
                    // internet; one that cannot be read is unknown (said).
                    for list in ingress.prefix_list_ids() {
                        let entries = match self.groups.prefix_list(&list).await {
                            Ok(entries) => entries,
                            Err(e) if e.retryable => return Err(e),
                            Err(e) => {
                                unread.push(format!(
                                    "prefix list {list} of {group_id} ({}): whether it opens the group to the internet is unknown",
                                    e.code_or_kind()
                                ));
                                // The reach line says "unknown", never "none".
                                enrichment.unchecked_groups.push((
                                    group_id.clone(),
                                    format!("prefix list {list}: {}", e.code_or_kind()),
                                ));
                                PrefixListEntries::Unknown(e.code_or_kind())
                            }
                        };
                        ingress.prefix_lists.insert(list, entries);
                    }
                    let exposure =
                        rules::ec2_sg::internet_exposure(rules::evaluate_sg(&ingress, self.policy));
                    enrichment.groups.push((group_id.clone(), exposure));
                }
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    warn!(event_id = %event.id, group_id = %group_id, error = %e, "could not check");
                    unread.push(format!("security group {group_id}: {}", e.code_or_kind()));
                    enrichment
                        .unchecked_groups
                        .push((group_id.clone(), e.code_or_kind()));
                }
            }
        }
        Ok((enrichment, deployed))
    }
}

/// What ELB-011 could not judge about the service's own load balancers
/// (`ELB-011 needs AWS: …` offline); nothing when the policy turns it off.
fn bypass_unknown(
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

/// Where the tasks sit: the subnets of their `awsvpcConfiguration`, and
/// whether they get a public IP (`assignPublicIp`).
fn placement(change: &ServiceChange) -> Placement {
    let awsvpc = change.after().awsvpc.as_ref();
    Placement {
        subnets: match awsvpc.and_then(|vpc| vpc.subnets.clone()) {
            Some(subnets) if !subnets.is_empty() => Ok(subnets),
            _ => Err("the event does not name the tasks' subnets".to_string()),
        },
        address: match awsvpc.and_then(|vpc| vpc.assign_public_ip) {
            Some(has) => Address::Has(has),
            None => Address::Unknown,
        },
    }
}

/// The ports the task's containers listen on (`containerPort`, the port on
/// the task's interface in awsvpc mode); tcp unless the mapping says udp.
fn served(td: Option<&TaskDefinition>) -> Vec<(Protocol, u16)> {
    let mapped = td
        .into_iter()
        .flat_map(|td| td.containers.iter())
        .flat_map(|c| c.port_mappings.iter())
        .filter_map(|m| {
            let port = u16::try_from(m.container_port?).ok()?;
            let protocol = match m.protocol.as_deref() {
                Some(p) if p.eq_ignore_ascii_case("udp") => Protocol::Udp,
                _ => Protocol::Tcp,
            };
            Some((protocol, port))
        });
    let mut ports: Vec<(Protocol, u16)> = Vec::new();
    for port in mapped {
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    ports
}

/// The findings about exposure and what each exposes: a public IP
/// (ECS-SVC-001/008/009) the ports the task serves; an open group
/// (ECS-SVC-004) what its open rules let in.
fn exposed(
    findings: &[Finding],
    enrichment: Option<&Enrichment>,
    td: Option<&TaskDefinition>,
) -> Vec<Exposed> {
    let public_ip = [
        rules::ecs_svc::public_ip::PUBLIC_IP.id,
        rules::ecs_svc::task_set_public_ip::TASK_SET_PUBLIC_IP.id,
        rules::ecs_svc::task_public_ip::TASK_PUBLIC_IP.id,
    ];
    let served = served(td);
    findings
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let traffic = if public_ip.contains(&f.rule) {
                if served.is_empty() {
                    let why = match td {
                        None => "the task definition was not read",
                        Some(_) => "the task definition maps no container port",
                    };
                    vec![Traffic::Unnamed {
                        family: Family::Ipv4,
                        why: why.to_string(),
                    }]
                } else {
                    served
                        .iter()
                        .map(|(protocol, port)| Traffic::Port {
                            protocol: *protocol,
                            port: *port,
                            family: Family::Ipv4,
                        })
                        .collect()
                }
            } else if f.rule == rules::ecs_svc::open_security_group::OPEN_SECURITY_GROUP.id {
                let group = paths::group_of(f)?;
                let (_, open) = enrichment?.groups.iter().find(|(g, _)| g == group)?;
                paths::open_traffic(open, &served)
            } else if f.rule == bypassed::LOAD_BALANCER_BYPASSED.id {
                // Around the load balancer: whatever the service's open groups let in.
                let open: Vec<Finding> = enrichment?
                    .groups
                    .iter()
                    .flat_map(|(_, open)| open.iter().cloned())
                    .collect();
                paths::open_traffic(&open, &served)
            } else {
                return None;
            };
            Some(Exposed {
                finding: i,
                traffic,
            })
        })
        .collect()
}

/// Why a group named by a service is not seen in `account`.
pub fn not_visible(account: &str) -> String {
    format!(
        "not found in account {account}: another account's group, as in a shared VPC, or one deleted"
    )
}

/// The internet-open groups in front of the service; "unknown" (with why)
/// wherever a check did not run, never "none".
fn open_groups(change: &ServiceChange, enrichment: Option<&Enrichment>) -> String {
    let Some(e) = enrichment else {
        return "unknown (not checked)".to_string();
    };
    let mut parts: Vec<String> = e
        .groups
        .iter()
        .filter(|(_, f)| !f.is_empty())
        .map(|(g, f)| {
            let mut rules: Vec<&str> = f.iter().map(|x| x.rule).collect();
            rules.dedup();
            format!("{g} ({})", rules.join(", "))
        })
        .collect();
    parts.extend(
        e.unchecked_groups
            .iter()
            .map(|(g, code)| format!("unknown for {g} ({code})")),
    );
    if !parts.is_empty() {
        return parts.join(", ");
    }
    match &change.after().awsvpc {
        Some(_) if !change.security_groups().is_empty() => "none".to_string(),
        Some(_) => "unknown (none named: the VPC default group applies)".to_string(),
        None => "unknown (not awsvpc: the container instances' groups apply)".to_string(),
    }
}

/// One line on how the service can be reached: public IP, internet-open
/// groups, ECS Exec, and what its tasks run as.
pub fn reachability(
    change: &ServiceChange,
    enrichment: Option<&Enrichment>,
    td: Option<&TaskDefinition>,
) -> String {
    let after = change.after();
    let public_ip = match after.awsvpc.as_ref().map(|vpc| vpc.assign_public_ip) {
        Some(Some(true)) => "yes",
        Some(Some(false)) => "no",
        _ => "unknown",
    };
    let groups = open_groups(change, enrichment);
    let exec = match after.enable_execute_command {
        Some(true) => "enabled",
        Some(false) => "disabled",
        None => "unknown",
    };
    let users = match td {
        None => "unknown".to_string(),
        Some(td) => td
            .containers
            .iter()
            .map(|c| {
                let who = if td.is_windows() {
                    c.user.clone().unwrap_or_else(|| "default user".to_string())
                } else if is_root_user(c.user.as_deref()) {
                    "root".to_string()
                } else {
                    c.user.clone().unwrap_or_default()
                };
                let privileged = if c.privileged { ", privileged" } else { "" };
                format!("{}={who}{privileged}", c.name)
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!("public IP: {public_ip}; internet-open groups: {groups}; ECS Exec: {exec}; tasks run as: {users}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;
    use crate::model::net::{Protocol, Source};
    use crate::model::sg::{Direction, SgRule};
    use crate::model::td::Container;
    use crate::ports::fakes::{
        MemoryClusters, MemoryGroups, MemoryNotifier, MemoryTaskDefinitions, MemoryVpcs,
    };
    use serde_json::json;

    fn ssh_open_group() -> MemoryGroups {
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

    fn privileged_task() -> MemoryTaskDefinitions {
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

    fn event(name: &str, request: serde_json::Value) -> Event {
        let record = json!({"eventID": "ev-svc", "eventName": name, "recipientAccountId": "111122223333",
            "awsRegion": "eu-west-1", "requestParameters": request});
        Event::from_value(&record, "test").unwrap()
    }

    fn create() -> Event {
        event(
            "CreateService",
            json!({"serviceName": "web", "taskDefinition": "web:3", "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}}}),
        )
    }

    async fn run(
        tds: &MemoryTaskDefinitions,
        groups: &MemoryGroups,
        e: &Event,
    ) -> (
        Result<Report, GuardError>,
        Vec<crate::output::notify::Notification>,
    ) {
        run_in(tds, groups, &MemoryClusters::default(), e).await
    }

    async fn run_in(
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

    async fn run_with(
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
            notifier: &notifier,
            policy: &policy,
            settings: &settings,
        };
        let result = guard.handle(e).await;
        let sent = notifier.sent.lock().unwrap().clone();
        (result, sent)
    }

    fn rules_of(report: &Report) -> Vec<&str> {
        report.findings.iter().map(|f| f.rule).collect()
    }

    #[tokio::test]
    async fn a_task_set_and_a_standalone_task_get_the_live_join_a_service_gets() {
        let net = json!({"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}});
        let task_set = event(
            "CreateTaskSet",
            json!({"cluster": "prod", "service": "web", "taskDefinition": "web:3", "networkConfiguration": net}),
        );
        let (report, sent) = run(&privileged_task(), &ssh_open_group(), &task_set).await;
        let report = report.unwrap();
        assert_eq!(
            rules_of(&report),
            ["ECS-SVC-005", "ECS-SVC-004", "ECS-SVC-008"]
        );
        assert_eq!(report.resource.as_deref(), Some("prod/web"));
        assert_eq!(sent.len(), 1);
        // RunTask by an EventBridge rule: judged the same, and the alert says who started it.
        let mut run_task = event(
            "RunTask",
            json!({"cluster": "prod", "taskDefinition": "web:3", "networkConfiguration": net,
                   "startedBy": "events-rule/nightly-job"}),
        );
        run_task.actor.invoked_by = Some("events.amazonaws.com".into());
        let (report, sent) = run(&privileged_task(), &ssh_open_group(), &run_task).await;
        let report = report.unwrap();
        assert_eq!(
            rules_of(&report),
            ["ECS-SVC-005", "ECS-SVC-004", "ECS-SVC-009"]
        );
        assert_eq!(report.resource.as_deref(), Some("prod/task web:3"));
        assert!(
            report.notes.iter().any(|n| n
                == "RunTask invoked by EventBridge (events.amazonaws.com), startedBy events-rule/nightly-job"),
            "{:?}",
            report.notes
        );
        assert!(
            sent[0].message.contains("invoked by EventBridge"),
            "{}",
            sent[0].message
        );
    }

    #[tokio::test]
    async fn exec_on_a_cluster_that_does_not_log_sessions_is_read_and_judged() {
        use crate::model::cl::{ClusterSettings, ExecConfiguration};
        let exec_on = event(
            "UpdateService",
            json!({"cluster": "prod", "service": "web", "enableExecuteCommand": true}),
        );
        let unlogged = MemoryClusters {
            by_name: vec![(
                "prod".into(),
                ClusterSettings {
                    exec: Some(ExecConfiguration {
                        logging: Some("NONE".into()),
                        ..ExecConfiguration::default()
                    }),
                    ..ClusterSettings::default()
                },
            )],
            ..MemoryClusters::default()
        };
        let none = MemoryGroups::default();
        let (report, sent) = run_in(
            &MemoryTaskDefinitions::default(),
            &none,
            &unlogged,
            &exec_on,
        )
        .await;
        let report = report.unwrap();
        assert_eq!(rules_of(&report), ["ECS-SVC-012", "ECS-SVC-002"]);
        assert_eq!(*unlogged.calls.lock().unwrap(), ["prod"]);
        assert_eq!(sent.len(), 1, "high: alerted");
        // Unreadable: unknown, said, and no ECS-SVC-012 on a guess.
        let denied = MemoryClusters {
            error: Some(AwsError {
                operation: "DescribeClusters",
                code: Some("AccessDeniedException".into()),
                message: "no".into(),
                retryable: false,
            }),
            ..MemoryClusters::default()
        };
        let (report, sent) =
            run_in(&MemoryTaskDefinitions::default(), &none, &denied, &exec_on).await;
        let report = report.unwrap();
        assert_eq!(rules_of(&report), ["ECS-SVC-012", "ECS-SVC-002"]);
        assert!(report.findings[0].detail.contains("is unknown"));
        assert_eq!(sent.len(), 1, "an unknown at high alerts");
        assert_eq!(
            report.unevaluated.as_deref(),
            Some("could not check cluster prod's exec configuration: AccessDeniedException")
        );
        // Offline the verdict says what it could not judge.
        let offline = evaluate_offline(&exec_on, &Policy::embedded()).unwrap();
        assert!(offline.notes.contains(&NEEDS_AWS_EXEC.to_string()));
    }

    #[tokio::test]
    async fn joins_the_service_with_what_it_runs_and_exposes() {
        let (report, sent) = run(&privileged_task(), &ssh_open_group(), &create()).await;
        let report = report.unwrap();
        let rules: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
        assert_eq!(
            rules,
            ["ECS-SVC-005", "ECS-SVC-001", "ECS-SVC-004", "ECS-SVC-011"]
        );
        assert_eq!(
            report.findings[0].severity,
            Severity::Critical,
            "inherits the privileged container's severity"
        );
        assert!(report.findings[0].detail.contains("ECS-TD-001"));
        assert!(
            report.findings[2]
                .detail
                .starts_with("sg-1: tcp 22 from 0.0.0.0/0 (sgr-ssh)"),
            "{}",
            report.findings[2].detail
        );
        assert_eq!(
            report.reachability.as_deref(),
            Some("public IP: yes; internet-open groups: sg-1 (EC2-SG-003); ECS Exec: disabled; tasks run as: app=root, privileged")
        );
        assert_eq!(sent.len(), 1);
        assert!(sent[0].message.contains("Reach: public IP: yes"));
    }

    #[tokio::test]
    async fn a_scale_out_reads_nothing_and_sends_nothing() {
        let tds = privileged_task();
        let (report, sent) = run(
            &tds,
            &ssh_open_group(),
            &event(
                "UpdateService",
                json!({"service": "web", "desiredCount": 5}),
            ),
        )
        .await;
        let report = report.unwrap();
        assert!(report.findings.is_empty());
        assert!(sent.is_empty());
        assert!(tds.calls.lock().unwrap().is_empty());
        assert!(
            report
                .reachability
                .unwrap()
                .contains("internet-open groups: unknown (not checked)"),
            "a check that did not run is unknown, never none"
        );
    }

    #[tokio::test]
    async fn what_cannot_be_checked_is_said() {
        let mut tds = privileged_task();
        tds.error = Some(AwsError {
            operation: "DescribeTaskDefinition",
            code: Some("AccessDeniedException".into()),
            message: "no".into(),
            retryable: false,
        });
        let (report, sent) = run(&tds, &ssh_open_group(), &create()).await;
        let report = report.unwrap();
        assert_eq!(
            report.unevaluated.as_deref(),
            Some("could not check task definition web:3: AccessDeniedException")
        );
        assert!(sent[0]
            .message
            .contains("could not check task definition web:3: AccessDeniedException"));

        // A group that cannot be read is "unknown" in the reach line, never "none".
        let mut denied = ssh_open_group();
        denied.rules_error = Some(AwsError {
            operation: "DescribeSecurityGroupRules",
            code: Some("UnauthorizedOperation".into()),
            message: "no".into(),
            retryable: false,
        });
        let (report, _) = run(&privileged_task(), &denied, &create()).await;
        let report = report.unwrap();
        assert_eq!(
            report.unevaluated.as_deref(),
            Some("could not check security group sg-1: UnauthorizedOperation")
        );
        let reach = report.reachability.unwrap();
        assert!(
            reach.contains("internet-open groups: unknown for sg-1 (UnauthorizedOperation)"),
            "{reach}"
        );

        tds.error = Some(AwsError {
            operation: "DescribeTaskDefinition",
            code: Some("ThrottlingException".into()),
            message: "slow".into(),
            retryable: true,
        });
        let (result, sent) = run(&tds, &ssh_open_group(), &create()).await;
        assert!(
            result.is_err(),
            "throttling fails the invocation so Lambda retries"
        );
        assert!(sent.is_empty());
    }

    #[tokio::test]
    async fn a_group_this_account_cannot_see_is_unknown_and_a_group_without_ingress_is_none() {
        // The service names sg-1; the account holds no such group (a shared
        // VPC's group of another account): its empty rule list is no evidence.
        let unseen = MemoryGroups {
            info: None,
            ..MemoryGroups::default()
        };
        let (report, sent) = run(&privileged_task(), &unseen, &create()).await;
        let report = report.unwrap();
        let unevaluated = report.unevaluated.clone().unwrap_or_default();
        assert!(
            unevaluated.contains(
                "security group sg-1: could not be read (not found in account 111122223333"
            ),
            "{unevaluated}"
        );
        let reach = report.reachability.clone().unwrap();
        assert!(
            reach.contains("internet-open groups: unknown for sg-1 (could not be read: not found"),
            "{reach}"
        );
        assert!(!rules_of(&report).contains(&"ECS-SVC-004"));
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].message.contains("could_not_evaluate"),
            "{}",
            sent[0].message
        );
        assert!(sent[0].message.contains("sg-1: could not be read"));

        // The group exists and admits nothing: none.
        let closed = ssh_open_group();
        closed.rules.lock().unwrap().clear();
        let (report, _) = run(&privileged_task(), &closed, &create()).await;
        let report = report.unwrap();
        assert_eq!(report.unevaluated, None);
        assert!(
            report
                .reachability
                .unwrap()
                .contains("internet-open groups: none;"),
            "a group read and found closed is none"
        );
    }

    mod paths {
        use super::*;
        use crate::model::reach::test_support::{public_network, route, table};
        use crate::model::reach::{Fact, Network};
        use crate::model::td::PortMapping;

        fn vpcs(network: Network) -> MemoryVpcs {
            MemoryVpcs {
                networks: vec![("vpc-1".into(), network)],
                ..MemoryVpcs::default()
            }
        }

        /// `subnet-1` routes the internet to a NAT gateway only.
        fn private_network() -> Network {
            let mut network = public_network();
            network.route_tables = vec![table(
                "rtb-1",
                "vpc-1",
                false,
                &["subnet-1"],
                vec![route("10.0.0.0/16", "local"), route("0.0.0.0/0", "nat-1")],
            )];
            network
        }

        /// The privileged task, its container serving tcp/80.
        fn serving_80() -> MemoryTaskDefinitions {
            let tds = privileged_task();
            let mut by_arn = tds.by_arn;
            by_arn[0].1.containers[0].port_mappings = vec![PortMapping {
                container_port: Some(80),
                host_port: None,
                container_port_range: None,
                protocol: Some("tcp".into()),
            }];
            MemoryTaskDefinitions {
                by_arn,
                ..MemoryTaskDefinitions::default()
            }
        }

        fn finding<'r>(report: &'r Report, rule: &str) -> &'r Finding {
            report
                .findings
                .iter()
                .find(|f| f.rule == rule)
                .unwrap_or_else(|| panic!("no {rule} in {:?}", rules_of(report)))
        }

        fn lines(f: &Finding) -> Vec<&str> {
            f.fields
                .reachability
                .iter()
                .map(|p| p.line.as_str())
                .collect()
        }

        async fn judged(vpcs: &MemoryVpcs, tds: &MemoryTaskDefinitions) -> (Report, String) {
            let (report, sent) = run_with(
                tds,
                &ssh_open_group(),
                &MemoryClusters::default(),
                vpcs,
                &create(),
            )
            .await;
            let message = sent.first().map(|n| n.message.clone()).unwrap_or_default();
            (report.unwrap(), message)
        }

        #[tokio::test]
        async fn an_open_group_in_a_public_subnet_is_reachable_and_rises_one_level() {
            let vpcs = vpcs(public_network());
            let (report, message) = judged(&vpcs, &privileged_task()).await;
            let open = finding(&report, "ECS-SVC-004");
            assert_eq!(open.severity, Severity::Critical, "high, raised one level");
            assert_eq!(
                rules_of(&report),
                ["ECS-SVC-004", "ECS-SVC-005", "ECS-SVC-001", "ECS-SVC-011"],
                "sorted again, most severe first"
            );
            assert_eq!(
                lines(open),
                ["subnet-1 tcp/22: reachable from the internet on tcp/22 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)"]
            );
            // The public IP without a known port: the route is said, the
            // ACL (per port) is not judged, and nothing rises.
            let public = finding(&report, "ECS-SVC-001");
            assert_eq!(public.severity, Severity::High);
            assert_eq!(
                lines(public),
                ["subnet-1: unknown: subnet-1 routes the IPv4 internet to igw-0ab (route rtb-1 0.0.0.0/0) and the interface has a public address; the network ACL decides per port and the task definition maps no container port"]
            );
            assert!(
                message.contains(r"sg-1: tcp 22 from 0.0.0.0/0 (sgr-ssh) (EC2-SG-003)\n    Path: subnet-1 tcp/22: reachable from the internet on tcp/22 via igw-0ab"),
                "{message}"
            );
            assert!(message.contains("[CRITICAL] ECS-SVC-004"), "{message}");
            let json = report.to_json();
            assert!(
                json.contains(r#""reachability":[{"subnet":"subnet-1","port":"tcp/22","reach":"reachable","traffic":"tcp/22","via":"igw-0ab""#),
                "{json}"
            );
            assert_eq!(
                *vpcs.calls.lock().unwrap(),
                ["subnet subnet-1", "network vpc-1"],
                "one read of the subnet's VPC and one of its network"
            );
        }

        #[tokio::test]
        async fn a_public_ip_is_judged_on_the_ports_the_task_serves() {
            let (report, _) = judged(&vpcs(public_network()), &serving_80()).await;
            let public = finding(&report, "ECS-SVC-001");
            assert_eq!(public.severity, Severity::Critical);
            assert_eq!(
                lines(public),
                ["subnet-1 tcp/80: reachable from the internet on tcp/80 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)"]
            );
            // The open group admits tcp/22 only: its line is about tcp/22.
            assert_eq!(
                lines(finding(&report, "ECS-SVC-004")),
                ["subnet-1 tcp/22: reachable from the internet on tcp/22 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)"]
            );
        }

        #[tokio::test]
        async fn a_private_subnet_is_not_reachable_and_keeps_the_rules_severity() {
            let (report, message) = judged(&vpcs(private_network()), &serving_80()).await;
            let open = finding(&report, "ECS-SVC-004");
            assert_eq!(open.severity, Severity::High, "the rule's own, never lower");
            assert_eq!(
                lines(open),
                ["subnet-1 tcp/22: not reachable now: subnet-1 has no route to an internet gateway (route table rtb-1)"]
            );
            assert_eq!(finding(&report, "ECS-SVC-001").severity, Severity::High);
            assert!(
                message.contains("Path: subnet-1 tcp/22: not reachable now"),
                "{message}"
            );
        }

        #[tokio::test]
        async fn a_network_that_cannot_be_read_is_unknown_and_the_finding_stays() {
            let denied = MemoryVpcs {
                error: Some(AwsError {
                    operation: "DescribeSubnets",
                    code: Some("UnauthorizedOperation".into()),
                    message: "no".into(),
                    retryable: false,
                }),
                ..vpcs(public_network())
            };
            let (report, message) = judged(&denied, &serving_80()).await;
            let open = finding(&report, "ECS-SVC-004");
            assert_eq!(open.severity, Severity::High);
            assert_eq!(
                lines(open),
                ["subnet-1 tcp/22: unknown: the VPC of subnet-1 could not be read (DescribeSubnets: UnauthorizedOperation)"]
            );
            assert!(
                message.contains("Path: subnet-1 tcp/22: unknown: the VPC of subnet-1"),
                "{message}"
            );

            // One kind of fact not read: unknown, saying which and why.
            let mut partial = public_network();
            partial.route_tables.clear();
            partial
                .unread
                .insert(Fact::RouteTables, "UnauthorizedOperation".into());
            let (report, _) = judged(&vpcs(partial), &serving_80()).await;
            let open = finding(&report, "ECS-SVC-004");
            assert_eq!(open.severity, Severity::High);
            assert_eq!(
                lines(open),
                ["subnet-1 tcp/22: unknown: the route table of subnet-1 was not read (DescribeRouteTables: UnauthorizedOperation)"]
            );

            // A subnet EC2 does not know: unknown, never open or closed.
            let (report, _) = judged(&MemoryVpcs::default(), &serving_80()).await;
            assert_eq!(
                lines(finding(&report, "ECS-SVC-004")),
                ["subnet-1 tcp/22: unknown: subnet subnet-1 was not found"]
            );

            // Throttled: the invocation fails so that Lambda retries it.
            let throttled = MemoryVpcs {
                error: Some(AwsError {
                    operation: "DescribeSubnets",
                    code: Some("RequestLimitExceeded".into()),
                    message: "slow".into(),
                    retryable: true,
                }),
                ..MemoryVpcs::default()
            };
            let (result, sent) = run_with(
                &serving_80(),
                &ssh_open_group(),
                &MemoryClusters::default(),
                &throttled,
                &create(),
            )
            .await;
            assert!(result.is_err());
            assert!(sent.is_empty());
        }

        #[tokio::test]
        async fn nothing_exposed_reads_no_network_and_offline_adds_nothing() {
            let vpcs = vpcs(public_network());
            let scale = event(
                "UpdateService",
                json!({"service": "web", "desiredCount": 5}),
            );
            let (report, _) = run_with(
                &privileged_task(),
                &ssh_open_group(),
                &MemoryClusters::default(),
                &vpcs,
                &scale,
            )
            .await;
            assert!(report.unwrap().findings.is_empty());
            assert!(vpcs.calls.lock().unwrap().is_empty());
            let offline = evaluate_offline(&create(), &Policy::embedded()).unwrap();
            assert!(offline
                .findings
                .iter()
                .all(|f| f.fields.reachability.is_empty()));
        }
    }

    mod load_balancers {
        use super::*;
        use crate::model::reach::test_support::public_network;

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
            assert_eq!(
                report.notes,
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
                notifier: &notifier,
                policy: &policy,
                settings: &settings,
            };
            let report = guard.handle(&behind_tg("ENABLED")).await.unwrap();
            assert!(!rules_of(&report).contains(&"ELB-011"));
            assert!(rules_of(&report).contains(&"ECS-SVC-004"));
        }
    }
}
