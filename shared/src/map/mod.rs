//! The access map (DESIGN §15), computed from what was read of one place
//! (the whole place by the sweep and the scan, or what a guard read for its
//! event), with no further call: for every ECS service and container
//! instance, each way in as a path of hops with the ids that prove it, and
//! what an intruder holds at the end. A path's severity is its worst end. A
//! hop that could not be read makes the path possible, never absent; a hop
//! that keeps the traffic out makes it closed, saying why.
//!
//! - `network`: the internet straight to a task's address, and through a
//!   load balancer's listener and target group to the container port;
//! - `host`: SSH, RDP and other open ports of a container instance, and
//!   the host ports of services in bridge or host network mode;
//! - `exec`: who may open a shell through ECS Exec;
//! - `peers`: the Service Connect services of a namespace that can call
//!   each other;
//! - here: the place's facts and what each target holds.
//!
//! Layer: guards, beside the guards and the sweep (both draw it). May
//! import the ports' types, the report, the rules and the model.

mod exec;
mod host;
mod network;
mod peers;

use std::collections::BTreeMap;

use crate::finding::{Finding, Severity};
use crate::model::net::{PortRange, Protocol, Source};
use crate::model::reach::Family;
use crate::model::td::TaskDefinition;
use crate::policy::Policy;
use crate::ports::estate::{Estate, ServiceState, TaskState};
use crate::report::links::{page, Page};
use crate::report::map::{Hold, HoldKind, Hop, HopKind, MapDocument, MapTarget, TargetKind};
use crate::rules;

/// The access map of a place: one document per service, then one per
/// standalone task with a public IP, then one per container instance.
pub fn access_map(
    account: &str,
    region: &str,
    estate: &Estate,
    policy: &Policy,
) -> Vec<MapDocument> {
    let place = Place::new(account, region, estate, policy);
    let mut docs: Vec<MapDocument> = estate.services.iter().map(|s| place.service(s)).collect();
    // Standalone tasks with a public IP (a service's tasks are its own).
    docs.extend(estate.tasks.iter().filter_map(|t| place.standalone(t)));
    // Service Connect peers, once every service's own ways in are known.
    peers::add_peers(&place, &mut docs);
    docs.extend(
        estate
            .instances
            .iter()
            .filter(|i| i.container_instance.is_some())
            .map(|i| place.instance(i)),
    );
    docs
}

/// A security-group rule that admits the internet: its group and the
/// finding that says so (with its protocol, ports, source and `sgr-…`).
struct OpenRule<'p> {
    group: &'p str,
    finding: &'p Finding,
    /// Every rule of the catalog the security-group rule breaks.
    rules: Vec<&'static str>,
}

impl OpenRule<'_> {
    /// `sg-1 tcp 8080 from 0.0.0.0/0`.
    fn label(&self) -> String {
        let f = &self.finding.fields;
        let range = PortRange::from_bounds(f.from_port, f.to_port);
        format!(
            "{} {} {} from {}",
            self.group,
            f.protocol.as_deref().unwrap_or("?"),
            range,
            f.source.as_deref().unwrap_or("?")
        )
    }

    fn id(&self) -> String {
        self.finding
            .fields
            .sg_rule_id
            .clone()
            .unwrap_or_else(|| self.group.to_string())
    }

    /// The family of the internet it admits: a prefix list may hold either
    /// (taken as IPv4, where a public address is known).
    fn family(&self) -> Family {
        match self.finding.fields.source.as_deref().map(Source::cidr) {
            Some(Source::Cidr(net)) => Family::of(&net),
            _ => Family::Ipv4,
        }
    }
}

/// Whether an EC2-SG finding's rule lets `protocol`/`port` in.
fn admits(f: &Finding, protocol: Protocol, port: u16) -> bool {
    let raw = f.fields.protocol.as_deref().unwrap_or_default();
    match Protocol::parse(raw) {
        Some(Protocol::All) => true,
        Some(p @ (Protocol::Tcp | Protocol::Udp)) => {
            p == protocol
                && PortRange::from_bounds(f.fields.from_port, f.fields.to_port).contains(port)
        }
        _ => false,
    }
}

/// What the place's reads say, for every target.
pub(super) struct Place<'e> {
    account: &'e str,
    region: &'e str,
    estate: &'e Estate,
    policy: &'e Policy,
    /// Each group read and its rules that admit the internet, on any port
    /// (EC2-SG findings judged without authorized ports: split CIDRs, IPv6
    /// and prefix lists included).
    open: BTreeMap<&'e str, Vec<Finding>>,
}

impl<'e> Place<'e> {
    fn new(account: &'e str, region: &'e str, estate: &'e Estate, policy: &'e Policy) -> Self {
        // Facts, not verdicts: what admits the internet, on every port (the
        // ports the policy authorizes too, a rule the policy turns off too).
        let mut facts = policy.clone();
        facts.authorized_tcp.clear();
        facts.authorized_udp.clear();
        facts.rules.retain(|id, _| !id.starts_with("EC2-SG-"));
        let open = estate
            .groups
            .iter()
            .map(|g| {
                let findings = rules::evaluate_sg(&g.change(account), &facts);
                (
                    g.info.group_id.as_str(),
                    rules::ec2_sg::internet_exposure(findings),
                )
            })
            .collect();
        Place {
            account,
            region,
            estate,
            policy,
            open,
        }
    }

    fn console(&self, what: Page, id: &str) -> Option<String> {
        page(self.region, what, id)
    }

    /// Why a group's rules are not known: its read failed, or it was not
    /// among the account's groups (another account's, or deleted).
    fn group_unknown(&self, group: &str) -> String {
        match self
            .estate
            .unread
            .iter()
            .find(|u| u.what.starts_with("DescribeSecurityGroup"))
        {
            Some(u) => format!("the rules of {group} could not be read ({})", u.phrase()),
            None => format!("{group} was not among the account's groups read"),
        }
    }

    /// The rules of `groups` that admit the internet on `protocol`/`port`,
    /// and why any group's rules are not known.
    fn open_rules(
        &self,
        groups: &[String],
        protocol: Protocol,
        port: u16,
    ) -> (Vec<OpenRule<'_>>, Vec<String>) {
        let mut open = Vec::new();
        let mut unknown = Vec::new();
        for g in groups {
            match self.open.get_key_value(g.as_str()) {
                Some((group, findings)) => {
                    for finding in findings.iter().filter(|f| admits(f, protocol, port)) {
                        let same = |o: &&mut OpenRule<'_>| {
                            o.group == *group && o.finding.fields == finding.fields
                        };
                        match open.iter_mut().find(same) {
                            Some(o) => o.rules.push(finding.rule),
                            None => open.push(OpenRule {
                                group,
                                finding,
                                rules: vec![finding.rule],
                            }),
                        }
                    }
                }
                None => unknown.push(self.group_unknown(g)),
            }
        }
        (open, unknown)
    }

    /// The hop of the rules that let the internet in (the first names it,
    /// each is evidence), or of groups whose rules are not known.
    fn rules_hop(&self, open: &[OpenRule<'_>], unknown: &[String], groups: &[String]) -> Hop {
        match open.first() {
            Some(first) => {
                let more = match open.len() {
                    1 => String::new(),
                    n => format!(" and {} more", n - 1),
                };
                let mut hop = Hop::new(
                    HopKind::SecurityGroupRule,
                    first.id(),
                    format!("{}{more}", first.label()),
                )
                .console(self.console(Page::SecurityGroup, first.group));
                for rule in open {
                    hop = hop.evidence(format!(
                        "{} ({}): {}",
                        rule.label(),
                        rule.id(),
                        rule.rules.join(", ")
                    ));
                }
                hop
            }
            None => Hop::new(
                HopKind::SecurityGroupRule,
                groups.join(","),
                format!("groups {}", groups.join(", ")),
            )
            .console(
                groups
                    .first()
                    .and_then(|g| self.console(Page::SecurityGroup, g)),
            )
            .unknown((!unknown.is_empty()).then(|| unknown.join("; "))),
        }
    }

    /// A service's map: its holds, then its network and load-balancer paths.
    fn service(&self, service: &ServiceState) -> MapDocument {
        let id = format!("{}/{}", service.cluster, service.name);
        let td_name = service.settings.task_definition.as_deref();
        let td = td_name.and_then(|name| self.estate.task_definitions.get(name));
        let target = MapTarget {
            kind: TargetKind::Service,
            arn: Some(format!(
                "arn:aws:ecs:{}:{}:service/{id}",
                self.region, self.account
            )),
            console: self.console(Page::Service, &id),
            id: id.clone(),
        };
        let mut holds = self.task_holds(td_name, td);
        holds.extend(self.imds_holds(service));
        holds.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.kind.cmp(&b.kind)));
        let mut doc = MapDocument::new(self.account, self.region, target, holds);
        self.service_network(&mut doc, service, &id, td);
        self.service_load_balancers(&mut doc, service, &id);
        self.service_host_ports(&mut doc, service, &id, td);
        self.service_exec(&mut doc, service, &id);
        doc
    }

    /// A standalone task with a public IP: its interface's subnet and
    /// groups, its task definition when the sweep read it (a service's).
    fn standalone(&self, task: &TaskState) -> Option<MapDocument> {
        if task.service().is_some() {
            return None;
        }
        let interface = self
            .estate
            .interfaces
            .iter()
            .find(|i| Some(&i.id) == task.interface.as_ref())?;
        interface.public_ip.as_ref()?;
        let id = task.id();
        let state = ServiceState {
            cluster: task.cluster.clone(),
            name: id
                .split_once('/')
                .map_or(id.clone(), |(_, t)| t.to_string()),
            settings: crate::model::svc::ServiceSettings {
                task_definition: task.task_definition.clone(),
                awsvpc: Some(crate::model::svc::AwsvpcConfiguration {
                    security_groups: Some(interface.groups.clone()),
                    subnets: Some(vec![interface.subnet_id.clone()]),
                    assign_public_ip: Some(true),
                }),
                ..Default::default()
            },
            task_sets: Vec::new(),
        };
        let td = task
            .task_definition
            .as_deref()
            .and_then(|name| self.estate.task_definitions.get(name));
        let target = MapTarget {
            kind: TargetKind::Task,
            id: id.clone(),
            arn: Some(task.arn.clone()),
            console: None,
        };
        let holds = self.task_holds(task.task_definition.as_deref(), td);
        let mut doc = MapDocument::new(self.account, self.region, target, holds);
        self.service_network(&mut doc, &state, &id, td);
        Some(doc)
    }

    /// The instance role, where the service's tasks run on instances whose
    /// metadata service they reach: IMDSv1 on, or a hop limit of 2 or more.
    fn imds_holds(&self, service: &ServiceState) -> Vec<Hold> {
        let mut hosts: Vec<&str> = self
            .estate
            .tasks
            .iter()
            .filter(|t| t.cluster == service.cluster && t.service() == Some(service.name.as_str()))
            .filter_map(|t| t.instance.as_deref())
            .collect();
        hosts.sort_unstable();
        hosts.dedup();
        let mut holds = Vec::new();
        for host in hosts {
            let Some(instance) = self.estate.instances.iter().find(|i| i.id == host) else {
                continue;
            };
            let s = &instance.settings;
            let off = matches!(&s.http_endpoint, crate::model::ci::Said::Set(e) if e == "disabled");
            let v1 = !matches!(&s.http_tokens, crate::model::ci::Said::Set(t) if t == "required");
            let hops = match s.hop_limit {
                crate::model::ci::Said::Set(h) => h,
                _ => 1,
            };
            if off || (!v1 && hops < 2) {
                continue;
            }
            let mut evidence = Vec::new();
            if v1 {
                evidence.push("IMDSv1 is not turned off (httpTokens not required)".to_string());
            }
            if hops >= 2 {
                evidence.push(format!("hop limit {hops}: a container reaches it"));
            }
            let profile = match &s.instance_profile {
                crate::model::ci::Said::Set(p) => p.rsplit('/').next().unwrap_or(p).to_string(),
                _ => "its instance profile".to_string(),
            };
            holds.push(Hold {
                kind: HoldKind::InstanceRole,
                id: host.to_string(),
                label: format!("instance role of {host} ({profile}) through IMDS"),
                severity: Severity::High,
                evidence,
            });
        }
        holds
    }

    /// What an intruder in the service's task holds: the task role's
    /// power, the secrets its containers are given, the container.
    fn task_holds(&self, name: Option<&str>, td: Option<&TaskDefinition>) -> Vec<Hold> {
        let Some(td) = td else {
            let why = match name {
                Some(name) => format!("task definition {name} was not read"),
                None => "the service names no task definition".to_string(),
            };
            return vec![Hold {
                kind: HoldKind::TaskRole,
                id: name.unwrap_or_default().to_string(),
                label: format!("unknown: {why}; its task role is taken as high until read"),
                severity: Severity::High,
                evidence: Vec::new(),
            }];
        };
        let mut holds = Vec::new();
        if let Some(role) = &td.task_role_arn {
            let name = role.rsplit('/').next().unwrap_or(role);
            holds.push(
                match self.estate.task_roles.get(role).map(|a| &a.findings) {
                    Some(Ok(lines)) if !lines.is_empty() => Hold {
                        kind: HoldKind::TaskRole,
                        id: role.clone(),
                        label: format!("task role {name}: admin-level or wildcard"),
                        severity: Severity::Critical,
                        evidence: lines.clone(),
                    },
                    Some(Ok(_)) => Hold {
                        kind: HoldKind::TaskRole,
                        id: role.clone(),
                        label: format!("task role {name}: no admin-level or wildcard grant"),
                        severity: Severity::Medium,
                        evidence: Vec::new(),
                    },
                    Some(Err(why)) => Hold {
                        kind: HoldKind::TaskRole,
                        id: role.clone(),
                        label: format!(
                            "task role {name}: could not be read ({why}); taken as high until read"
                        ),
                        severity: Severity::High,
                        evidence: Vec::new(),
                    },
                    None => Hold {
                        kind: HoldKind::TaskRole,
                        id: role.clone(),
                        label: format!("task role {name}: not read; taken as high until read"),
                        severity: Severity::High,
                        evidence: Vec::new(),
                    },
                },
            );
        }
        for c in &td.containers {
            for s in &c.secrets {
                holds.push(Hold {
                    kind: HoldKind::Secret,
                    id: s.value_from.clone(),
                    label: format!("secret {} of container {}", s.name, c.name),
                    severity: Severity::High,
                    evidence: vec![format!("valueFrom {}", s.value_from)],
                });
            }
        }
        let names: Vec<&str> = td.containers.iter().map(|c| c.name.as_str()).collect();
        holds.push(Hold {
            kind: HoldKind::Container,
            id: td.label(),
            label: format!("container {}: its code, data and network", names.join(", ")),
            severity: Severity::Low,
            evidence: Vec::new(),
        });
        holds.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.kind.cmp(&b.kind)));
        holds
    }
}

/// What the event path does not read of the way in (the load balancers
/// and their target groups, which the sweep's map reads): unread, so a path
/// through them is possible, never closed.
pub fn not_read_on_the_event_path() -> Vec<crate::ports::estate::Unread> {
    ["DescribeLoadBalancers", "DescribeTargetGroups"]
        .into_iter()
        .map(|call| crate::ports::estate::Unread {
            what: format!("{call} (not read on the event path)"),
            error: crate::ports::AwsError {
                operation: call,
                code: Some("NotRead".to_string()),
                message: "the sweep's map reads the load balancers".to_string(),
                retryable: false,
            },
        })
        .collect()
}

/// An alert's line for a way in a change opens: `Opens: …` when open,
/// `May open: … (not read: …)` when possible, nothing when closed.
pub fn opens_line(p: &crate::report::map::MapPath) -> Option<String> {
    use crate::report::map::PathStatus;
    match p.status {
        PathStatus::Open => Some(format!("Opens: {}", p.summary)),
        PathStatus::Possible => Some(format!(
            "May open: {} (not read: {})",
            p.summary,
            p.why.as_deref().unwrap_or("a hop")
        )),
        PathStatus::Closed => None,
    }
}

/// The ports a task definition's containers serve: (protocol, port,
/// container), tcp unless the mapping says udp.
fn served(td: Option<&TaskDefinition>) -> Vec<(Protocol, u16, String)> {
    let mut out: Vec<(Protocol, u16, String)> = Vec::new();
    for c in td.into_iter().flat_map(|td| td.containers.iter()) {
        for m in &c.port_mappings {
            let Some(port) = m.container_port.and_then(|p| u16::try_from(p).ok()) else {
                continue;
            };
            let protocol = match m.protocol.as_deref() {
                Some(p) if p.eq_ignore_ascii_case("udp") => Protocol::Udp,
                _ => Protocol::Tcp,
            };
            if !out.iter().any(|(p, n, _)| *p == protocol && *n == port) {
                out.push((protocol, port, c.name.clone()));
            }
        }
    }
    out
}

/// The internet, the first hop of every path.
fn internet() -> Hop {
    Hop::new(HopKind::Internet, "internet", "internet")
}
