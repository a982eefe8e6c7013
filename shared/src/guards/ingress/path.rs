//! Path: after the plan and its revocations, the network path of each
//! finding that opens the group to the internet (DESIGN §4, §14). The
//! group's network interfaces (DescribeNetworkInterfaces) say where it is in
//! use; the network of each of their subnets says whether the internet
//! reaches them, one line per subnet and port. The lines are for the alert
//! only: they come after the revocation decision and never change it, and a
//! read that fails (even one a retry might pass) makes them "unknown" rather
//! than failing the invocation.

use std::collections::BTreeMap;
use std::time::Instant;

use tracing::warn;

use super::{IngressGuard, ONE_CALL};
use crate::guards::paths::{self, Networks};
use crate::model::event::Event;
use crate::model::reach::Reachability;
use crate::model::sg::SgChange;
use crate::model::sg::{Direction, SgRule};
use crate::ports::estate::{Estate, GroupState};
use crate::ports::{AwsError, GroupInfo, GroupInterface, GroupServices, Vpcs};
use crate::report::map::PathKind;
use crate::report::OutcomeKind;
use crate::report::Report;
use crate::rules::ec2_sg;

/// At most this many interfaces (and ways in) are named in the notes.
const NAMED: usize = 5;

/// The calls the services using a group may take on the event path.
pub const SERVICE_CALLS: usize = 12;

/// At most this many task roles are read for the ways in the alert names.
const TASK_ROLES: usize = 3;

/// Where the group is in use: each subnet once, public when any of its
/// interfaces there has a public address.
fn subnets_of(interfaces: &[GroupInterface]) -> BTreeMap<String, bool> {
    let mut subnets: BTreeMap<String, bool> = BTreeMap::new();
    for i in interfaces {
        *subnets.entry(i.subnet_id.clone()).or_default() |= i.public_ip.is_some();
    }
    subnets
}

/// `eni-1 in subnet-1, public IP 203.0.113.7 (ELB app/web/…)`.
fn named(i: &GroupInterface) -> String {
    let public = i
        .public_ip
        .as_deref()
        .map_or_else(String::new, |ip| format!(", public IP {ip}"));
    let what = if i.description.is_empty() {
        String::new()
    } else {
        format!(" ({})", i.description)
    };
    format!("{} in {}{public}{what}", i.id, i.subnet_id)
}

/// The note on where the group is in use.
fn in_use_note(group: &str, interfaces: &[GroupInterface]) -> String {
    let mut names: Vec<String> = interfaces.iter().take(NAMED).map(named).collect();
    if interfaces.len() > NAMED {
        names.push(format!("and {} more", interfaces.len() - NAMED));
    }
    format!(
        "{group} is in use by {} network interface{}: {}",
        interfaces.len(),
        if interfaces.len() == 1 { "" } else { "s" },
        names.join(", ")
    )
}

impl IngressGuard<'_> {
    /// The group whose interfaces the alert's path lines will want: the
    /// event's, when a finding opens it to the internet and there is time
    /// for the read.
    pub(super) fn group_for_paths(&self, change: &SgChange, report: &Report) -> Option<String> {
        self.vpcs?;
        if !report.findings.iter().any(ec2_sg::opens_to_internet) {
            return None;
        }
        if self.deadline.is_some_and(|d| Instant::now() + ONE_CALL > d) {
            return None;
        }
        change.group_id.clone()
    }

    /// The interfaces of `group` ([`Self::group_for_paths`]), read while the
    /// revocations run: one round trip less before the alert, and nothing
    /// the revocations wait for.
    pub(super) async fn interfaces_for_paths(
        &self,
        group: Option<String>,
    ) -> Option<Result<Vec<GroupInterface>, AwsError>> {
        let (vpcs, group) = (self.vpcs?, group?);
        Some(vpcs.group_interfaces(&group).await)
    }

    /// Adds the path lines to the findings that open the group to the
    /// internet, and a note naming the interfaces that use it; the findings
    /// are then sorted again, most severe first. Nothing without a
    /// [`Vpcs`] port (the sweep revokes through this guard without alerting).
    /// `read`: the group's interfaces as [`Self::interfaces_for_paths`] read
    /// them; `None`, they are read here when there is time.
    pub(super) async fn add_paths(
        &self,
        event: &Event,
        change: &SgChange,
        report: &mut Report,
        read: Option<Result<Vec<GroupInterface>, AwsError>>,
    ) {
        let Some(vpcs) = self.vpcs else {
            return;
        };
        let exposed: Vec<usize> = report
            .findings
            .iter()
            .enumerate()
            .filter(|(_, f)| ec2_sg::opens_to_internet(f))
            .map(|(i, _)| i)
            .collect();
        if exposed.is_empty() {
            return;
        }
        let Some(group) = change.group_id.as_deref() else {
            let why = "the record names no group: where it is in use is unknown".to_string();
            paths::same_for_all(
                &mut report.findings,
                &exposed,
                &Reachability::Unknown { why },
            );
            return;
        };
        let read = match read {
            Some(read) => read,
            None if self.deadline.is_some_and(|d| Instant::now() + ONE_CALL > d) => {
                let why = format!(
                    "where {group} is in use was not read (the invocation's time was kept for the alert)"
                );
                paths::same_for_all(
                    &mut report.findings,
                    &exposed,
                    &Reachability::Unknown { why },
                );
                return;
            }
            None => vpcs.group_interfaces(group).await,
        };
        let interfaces = match read {
            Ok(interfaces) => interfaces,
            Err(e) => {
                warn!(event_id = %event.id, group_id = %group, error = %e, "could not read the group's interfaces");
                let why = format!(
                    "the network interfaces using {group} could not be read ({}: {})",
                    e.operation,
                    e.code_or_kind()
                );
                paths::same_for_all(
                    &mut report.findings,
                    &exposed,
                    &Reachability::Unknown { why },
                );
                return;
            }
        };
        if interfaces.is_empty() {
            let why = format!("no network interface uses {group} now");
            paths::same_for_all(
                &mut report.findings,
                &exposed,
                &Reachability::NotReachable { why },
            );
            return;
        }
        report.notes.push(in_use_note(group, &interfaces));
        let subnets = subnets_of(&interfaces);
        if self.deadline.is_some_and(|d| Instant::now() + ONE_CALL > d) {
            let why = format!(
                "the network of {group}'s subnets was not read (the invocation's time was kept for the alert)"
            );
            paths::same_for_all(
                &mut report.findings,
                &exposed,
                &Reachability::Unknown { why },
            );
            return;
        }
        let networks = self.networks(vpcs, event, &subnets).await;
        for &i in &exposed {
            let Some(f) = report.findings.get_mut(i) else {
                continue;
            };
            let lines = paths::group_lines(
                networks.as_ref().map_err(String::as_str),
                &subnets,
                f,
                self.policy.wide,
            );
            paths::apply(f, lines);
        }
        if let (Some(services), Ok(networks)) = (self.services, &networks) {
            let ways = self
                .opened_ways(services, event, change, group, report, networks)
                .await;
            report.notes.extend(ways);
        }
        report.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.rule.cmp(b.rule))
                .then(a.target.cmp(&b.target))
        });
    }

    /// The ways into ECS services the change leaves open (DESIGN §15): the
    /// services that use the group (at most [`SERVICE_CALLS`] calls), drawn
    /// with the event's rules that were not revoked, the task definitions
    /// they run and the networks read for the group's interfaces. What the
    /// bound or a failed read leaves out is said, never taken as no way in.
    async fn opened_ways(
        &self,
        services: &dyn GroupServices,
        event: &Event,
        change: &SgChange,
        group: &str,
        report: &Report,
        networks: &Networks,
    ) -> Vec<String> {
        if self.deadline.is_some_and(|d| Instant::now() + ONE_CALL > d) {
            return vec![format!(
                "Opens: not known (the services using {group} were not read: the invocation's time was kept for the alert)"
            )];
        }
        let users = match services.services_using(group, SERVICE_CALLS).await {
            Ok(users) => users,
            Err(e) => {
                warn!(event_id = %event.id, group_id = %group, error = %e, "could not read the services using the group");
                return vec![format!(
                    "Opens: not known (the services using {group} could not be read: {}: {})",
                    e.operation,
                    e.code_or_kind()
                )];
            }
        };
        // The task roles (a few: what each way in ends at). A failure is
        // said as the role not read: the alert goes out all the same.
        let mut task_roles = std::collections::BTreeMap::new();
        if let Some(iam) = self.iam {
            let roles: std::collections::BTreeSet<&String> = users
                .task_definitions
                .values()
                .filter_map(|td| td.task_role_arn.as_ref())
                .collect();
            for role in roles.into_iter().take(TASK_ROLES) {
                // The alert goes out in time: a role not read is said so.
                if self.deadline.is_some_and(|d| Instant::now() + ONE_CALL > d) {
                    break;
                }
                let access = match crate::guards::iam::task_role(iam, role, &event.id).await {
                    Ok(access) => access,
                    Err(e) => crate::rules::ecs_td::TaskRoleAccess {
                        role: role.clone(),
                        findings: Err(e.code_or_kind()),
                    },
                };
                task_roles.insert(role.clone(), access);
            }
        }
        let revoked: Vec<&str> = report
            .outcomes
            .iter()
            .filter(|o| o.result == OutcomeKind::Revoked)
            .map(|o| o.rule_id.as_str())
            .collect();
        let rules: Vec<SgRule> = change
            .rules
            .iter()
            .filter(|r| r.direction != Direction::Egress)
            .filter(|r| !r.rule_id.as_deref().is_some_and(|id| revoked.contains(&id)))
            .cloned()
            .collect();
        let estate = Estate {
            groups: vec![GroupState {
                info: GroupInfo {
                    group_id: group.to_string(),
                    name: String::new(),
                    vpc_id: None,
                    tags: Vec::new(),
                },
                rules,
                prefix_lists: change.prefix_lists.clone(),
            }],
            services: users.services,
            task_definitions: users.task_definitions,
            task_roles,
            network: networks.merged(),
            unread: crate::map::not_read_on_the_event_path(),
            ..Estate::default()
        };
        let mut out: Vec<String> =
            crate::map::access_map(&event.account, &event.region, &estate, self.policy)
                .iter()
                .flat_map(|doc| doc.paths.iter())
                .filter(|p| p.kind == PathKind::Network)
                .filter_map(crate::map::opens_line)
                .take(NAMED)
                .collect();
        if !users.unread.is_empty() {
            out.push(format!(
                "Services using {group} not read: {}",
                users.unread.join("; ")
            ));
        }
        out
    }

    /// The networks of the subnets; a failure a retry might pass is said as
    /// why every line is unknown (the alert goes out all the same).
    async fn networks(
        &self,
        vpcs: &dyn Vpcs,
        event: &Event,
        subnets: &BTreeMap<String, bool>,
    ) -> Result<Networks, String> {
        let named: Vec<String> = subnets.keys().filter(|s| !s.is_empty()).cloned().collect();
        paths::read_networks(vpcs, &named, &event.id)
            .await
            .map_err(|e| {
                warn!(event_id = %event.id, error = %e, "could not read the networks");
                format!(
                    "the networks of the group's subnets could not be read ({}: {})",
                    e.operation,
                    e.code_or_kind()
                )
            })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::json;

    use crate::finding::{Finding, Severity};
    use crate::guards::ingress::test_support::*;
    use crate::guards::GuardSettings;
    use crate::model::reach::test_support::public_network;
    use crate::model::sg;
    use crate::ports::fakes::{MemoryGroups, MemoryVpcs};
    use crate::ports::{AwsError, GroupInterface};
    use crate::report::{OutcomeKind, Report};

    pub(in crate::guards::ingress) fn interface(
        id: &str,
        subnet: &str,
        public_ip: Option<&str>,
    ) -> GroupInterface {
        GroupInterface {
            id: id.to_string(),
            subnet_id: subnet.to_string(),
            public_ip: public_ip.map(str::to_string),
            description: "arn:aws:ecs:eu-west-1:111122223333:attachment/0a1b".to_string(),
        }
    }

    /// `sg-1` used by these interfaces, `subnet-1` public (route to an
    /// internet gateway, ACL open).
    pub(in crate::guards::ingress) fn in_use(interfaces: Vec<GroupInterface>) -> MemoryVpcs {
        MemoryVpcs {
            networks: vec![("vpc-1".into(), public_network())],
            group_interfaces: vec![("sg-1".into(), interfaces)],
            ..MemoryVpcs::default()
        }
    }

    pub(in crate::guards::ingress) fn lines(f: &Finding) -> Vec<&str> {
        f.fields
            .reachability
            .iter()
            .map(|p| p.line.as_str())
            .collect()
    }

    /// sgr-ssh (revoked by EC2-SG-003) and sgr-8443 (EC2-SG-007, notify).
    pub(in crate::guards::ingress) fn ssh_and_custom() -> (MemoryGroups, crate::model::event::Event)
    {
        let g = groups(&[]);
        g.rules.lock().unwrap().push(stored(
            "sgr-8443",
            8443,
            "0.0.0.0/0",
            sg::Direction::Ingress,
        ));
        let e = event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1"}),
            json!({"securityGroupRuleSet": {"items": [item("sgr-ssh", 22), item("sgr-8443", 8443)]}}),
            None,
        );
        (g, e)
    }

    async fn judged(vpcs: &MemoryVpcs) -> (Report, String, MemoryGroups) {
        let (g, e) = ssh_and_custom();
        let (report, sent) =
            run_with(&g, &revoking(), &GuardSettings::default(), &e, Some(vpcs)).await;
        let message = sent.first().map(|n| n.message.clone()).unwrap_or_default();
        (report.unwrap(), message, g)
    }

    pub(in crate::guards::ingress) fn finding<'r>(report: &'r Report, rule: &str) -> &'r Finding {
        report
            .findings
            .iter()
            .find(|f| f.rule == rule)
            .unwrap_or_else(|| panic!("no {rule} in {:?}", rule_ids(report)))
    }

    #[tokio::test]
    async fn a_group_in_use_in_a_public_subnet_says_the_path_and_the_revocation_stands() {
        let vpcs = in_use(vec![
            interface("eni-1", "subnet-1", Some("203.0.113.7")),
            interface("eni-2", "subnet-1", None),
        ]);
        let (report, message, g) = judged(&vpcs).await;
        assert_eq!(
            lines(finding(&report, "EC2-SG-003")),
            ["subnet-1 tcp/22: reachable from the internet on tcp/22 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)"]
        );
        let custom = finding(&report, "EC2-SG-007");
        assert_eq!(
            custom.severity,
            Severity::Critical,
            "high, raised: reachable"
        );
        assert_eq!(
            lines(custom),
            ["subnet-1 tcp/8443: reachable from the internet on tcp/8443 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)"]
        );
        assert_eq!(
            results(&report),
            [("sgr-ssh".to_string(), OutcomeKind::Revoked)],
            "the revocation as without the lines"
        );
        assert_eq!(*g.revoke_calls.lock().unwrap(), ["sg-1/sgr-ssh"]);
        assert!(report.notes.contains(&"sg-1 is in use by 2 network interfaces: eni-1 in subnet-1, public IP 203.0.113.7 (arn:aws:ecs:eu-west-1:111122223333:attachment/0a1b), eni-2 in subnet-1 (arn:aws:ecs:eu-west-1:111122223333:attachment/0a1b)".to_string()), "{:?}", report.notes);
        assert!(
            message.contains("Path: subnet-1 tcp/22: reachable from the internet"),
            "{message}"
        );
        assert_eq!(
            *vpcs.calls.lock().unwrap(),
            ["group interfaces sg-1", "subnet subnet-1", "network vpc-1"]
        );
    }

    #[tokio::test]
    async fn interfaces_without_a_public_address_are_not_reached_and_keep_the_severity() {
        let vpcs = in_use(vec![interface("eni-2", "subnet-1", None)]);
        let (report, _, _) = judged(&vpcs).await;
        let custom = finding(&report, "EC2-SG-007");
        assert_eq!(custom.severity, Severity::High);
        assert_eq!(
            lines(custom),
            ["subnet-1 tcp/8443: not reachable now: the interface in subnet-1 has no public address"]
        );
    }

    #[tokio::test]
    async fn a_group_no_interface_uses_is_not_reached_now() {
        let (report, _, _) = judged(&in_use(vec![])).await;
        assert_eq!(
            lines(finding(&report, "EC2-SG-007")),
            ["tcp/8443: not reachable now: no network interface uses sg-1 now"]
        );
        assert!(report.notes.iter().all(|n| !n.contains("in use by")));
    }

    #[tokio::test]
    async fn a_read_that_fails_is_unknown_and_changes_nothing_else() {
        for retryable in [false, true] {
            let vpcs = MemoryVpcs {
                error: Some(AwsError {
                    operation: "DescribeNetworkInterfaces",
                    code: Some(
                        if retryable {
                            "RequestLimitExceeded"
                        } else {
                            "UnauthorizedOperation"
                        }
                        .into(),
                    ),
                    message: "no".into(),
                    retryable,
                }),
                ..in_use(vec![interface("eni-1", "subnet-1", Some("203.0.113.7"))])
            };
            let (report, message, _) = judged(&vpcs).await;
            let custom = finding(&report, "EC2-SG-007");
            assert_eq!(custom.severity, Severity::High);
            let code = if retryable {
                "RequestLimitExceeded"
            } else {
                "UnauthorizedOperation"
            };
            assert_eq!(
                lines(custom),
                [format!("tcp/8443: unknown: the network interfaces using sg-1 could not be read (DescribeNetworkInterfaces: {code})")]
            );
            assert_eq!(
                results(&report),
                [("sgr-ssh".to_string(), OutcomeKind::Revoked)]
            );
            assert!(message.contains("Path: tcp/8443: unknown"), "{message}");
        }
        // The interfaces read, their network not: unknown, saying why.
        let vpcs = MemoryVpcs {
            networks: vec![],
            ..in_use(vec![interface("eni-1", "subnet-1", Some("203.0.113.7"))])
        };
        let (report, _, _) = judged(&vpcs).await;
        assert_eq!(
            lines(finding(&report, "EC2-SG-007")),
            ["subnet-1 tcp/8443: unknown: subnet subnet-1 was not found"]
        );
    }

    #[tokio::test]
    async fn nothing_open_reads_nothing_and_without_the_port_nothing_is_added() {
        let vpcs = in_use(vec![interface("eni-1", "subnet-1", Some("203.0.113.7"))]);
        let (report, _) = run_with(
            &groups(&[]),
            &revoking(),
            &GuardSettings::default(),
            &private_https(json!({"groupId": "sg-1"})),
            Some(&vpcs),
        )
        .await;
        assert!(report.unwrap().findings.is_empty());
        assert!(vpcs.calls.lock().unwrap().is_empty());
        let (g, e) = ssh_and_custom();
        let (report, _) = run(&g, &revoking(), &GuardSettings::default(), &e).await;
        assert!(report
            .unwrap()
            .findings
            .iter()
            .all(|f| f.fields.reachability.is_empty()));
    }

    #[tokio::test]
    async fn near_the_deadline_the_path_is_not_read_and_said_unknown() {
        use crate::guards::ingress::IngressGuard;
        use crate::ports::fakes::MemoryNotifier;
        use std::time::{Duration, Instant};
        let g = groups(&[]);
        g.rules.lock().unwrap().push(stored(
            "sgr-8443",
            8443,
            "0.0.0.0/0",
            sg::Direction::Ingress,
        ));
        let custom = event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1"}),
            json!({"securityGroupRuleSet": {"items": [item("sgr-8443", 8443)]}}),
            None,
        );
        let vpcs = in_use(vec![interface("eni-1", "subnet-1", Some("203.0.113.7"))]);
        let notifier = MemoryNotifier::default();
        let policy = revoking();
        let settings = GuardSettings::default();
        let guard = IngressGuard {
            groups: &g,
            organizations: None,
            remediator: &g,
            revocations: None,
            notifier: &notifier,
            policy: &policy,
            settings: &settings,
            deadline: Some(Instant::now() + Duration::from_secs(5)),
            visibility: None,
            vpcs: Some(&vpcs),
            services: None,
            iam: None,
        };
        let report = guard.handle(&custom, TODAY).await.unwrap();
        assert_eq!(
            lines(finding(&report, "EC2-SG-007")),
            ["tcp/8443: unknown: where sg-1 is in use was not read (the invocation's time was kept for the alert)"]
        );
        assert!(vpcs.calls.lock().unwrap().is_empty());
        assert_eq!(notifier.sent.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_finding_raised_by_its_path_is_sorted_again_and_context_findings_get_no_lines() {
        let mut g = groups(&[]);
        if let Some(info) = g.info.as_mut() {
            info.name = "default".into();
        }
        let range = json!({"groupId": "sg-1", "securityGroupRuleId": "sgr-range", "isEgress": false,
            "ipProtocol": "tcp", "fromPort": 8100, "toPort": 8200, "cidrIpv4": "0.0.0.0/0"});
        let e = event(
            sg::AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1"}),
            json!({"securityGroupRuleSet": {"items": [item("sgr-ssh", 22), range]}}),
            None,
        );
        // SSH judged medium: reachable, it rises to high, level with the range.
        let policy = crate::policy::Policy::from_toml(
            "dry_run = false\n[rules.\"EC2-SG-003\"]\nseverity = \"medium\"\n",
            "t",
        )
        .unwrap();
        let vpcs = in_use(vec![interface("eni-1", "subnet-1", Some("203.0.113.7"))]);
        let (report, _) = run_with(&g, &policy, &GuardSettings::default(), &e, Some(&vpcs)).await;
        let report = report.unwrap();
        let order: Vec<(&str, Severity)> = report
            .findings
            .iter()
            .map(|f| (f.rule, f.severity))
            .collect();
        assert_eq!(
            order,
            [
                ("EC2-SG-003", Severity::High),
                ("EC2-SG-007", Severity::High),
                ("EC2-SG-010", Severity::High),
                ("EC2-SG-010", Severity::High),
            ],
            "the raised SSH finding sorted again"
        );
        assert_eq!(
            lines(finding(&report, "EC2-SG-007")),
            ["subnet-1: unknown: subnet-1 routes the IPv4 internet to igw-0ab (route rtb-1 0.0.0.0/0) and the interface has a public address; the network ACL decides per port and tcp 8100-8200 is a range and no port served in it is known"]
        );
        // Where a rule sits says nothing about a path: no lines.
        assert!(report
            .findings
            .iter()
            .filter(|f| f.rule == "EC2-SG-010")
            .all(|f| f.fields.reachability.is_empty()));
    }

    /// A Fargate service on `sg-1` in subnet-1 with public IPs, its `app`
    /// serving tcp/22 and tcp/8443.
    fn users() -> crate::ports::GroupUsers {
        use crate::model::svc::{AwsvpcConfiguration, ServiceSettings};
        use crate::model::td::{Container, PortMapping, TaskDefinition};
        let port = |p: i64| PortMapping {
            container_port: Some(p),
            host_port: None,
            container_port_range: None,
            protocol: Some("tcp".into()),
        };
        crate::ports::GroupUsers {
            services: vec![crate::ports::estate::ServiceState {
                cluster: "prod".into(),
                name: "payments".into(),
                settings: ServiceSettings {
                    task_definition: Some("payments:1".into()),
                    awsvpc: Some(AwsvpcConfiguration {
                        security_groups: Some(vec!["sg-1".into()]),
                        subnets: Some(vec!["subnet-1".into()]),
                        assign_public_ip: Some(true),
                    }),
                    ..ServiceSettings::default()
                },
                task_sets: Vec::new(),
            }],
            task_definitions: [(
                "payments:1".to_string(),
                TaskDefinition {
                    family: "payments".into(),
                    revision: Some(1),
                    containers: vec![Container {
                        name: "app".into(),
                        port_mappings: vec![port(22), port(8443)],
                        ..Container::default()
                    }],
                    ..TaskDefinition::default()
                },
            )]
            .into(),
            unread: vec!["the services of cluster batch (the bound of 12 calls)".into()],
            calls: 12,
        }
    }

    #[tokio::test]
    async fn the_alert_names_the_services_the_rules_left_open_reach() {
        use crate::guards::ingress::IngressGuard;
        use crate::ports::fakes::{MemoryGroupServices, MemoryNotifier};
        let (g, e) = ssh_and_custom();
        let vpcs = in_use(vec![interface("eni-1", "subnet-1", Some("203.0.113.7"))]);
        let services = MemoryGroupServices {
            users: vec![("sg-1".into(), users())],
            ..MemoryGroupServices::default()
        };
        let notifier = MemoryNotifier::default();
        let policy = revoking();
        let settings = GuardSettings::default();
        let report = IngressGuard {
            groups: &g,
            organizations: None,
            remediator: &g,
            revocations: None,
            notifier: &notifier,
            policy: &policy,
            settings: &settings,
            deadline: None,
            visibility: None,
            vpcs: Some(&vpcs),
            services: Some(&services),
            iam: None,
        }
        .handle(&e, TODAY)
        .await
        .unwrap();
        // SSH was revoked: only 8443, left open, is a way in.
        let named: Vec<&String> = report
            .notes
            .iter()
            .filter(|n| n.starts_with("Opens: ") || n.starts_with("Services using"))
            .collect();
        assert_eq!(
            named,
            [
                "Opens: internet → igw-0ab → public IP of each task → sg-1 tcp 8443 from 0.0.0.0/0 → service prod/payments container app:8443 (container app: its code, data and network)",
                "Services using sg-1 not read: the services of cluster batch (the bound of 12 calls)"
            ]
        );
        assert_eq!(*services.calls.lock().unwrap(), [("sg-1".to_string(), 12)]);
        let message = &notifier.sent.lock().unwrap()[0].message;
        assert!(message.contains("Opens: internet → igw-0ab"), "{message}");
    }
}
