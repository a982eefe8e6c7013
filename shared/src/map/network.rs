//! Network paths (DESIGN §14): the internet straight to a task's public
//! address, and through an internet-facing load balancer's listener, its
//! rules and target group, to the container port of the services whose
//! `loadBalancers` name that target group.

use super::{internet, served, Place};
use crate::model::elb::{LbType, Scheme};
use crate::model::net::{Protocol, Source};
use crate::model::reach::{reach, EntryRef, Family, Reachability};
use crate::model::td::TaskDefinition;
use crate::ports::estate::{ListenerState, LoadBalancerState, ServiceState, TargetGroupState};
use crate::report::links::Page;
use crate::report::map::{path, Hop, HopKind, MapDocument, PathKind};

/// The network part of a path: the hop that lets the internet into the
/// subnet (its internet gateway, with the route and the network ACL
/// entries), or the subnet that keeps it out (closed, why) or could not be
/// judged (unknown).
pub(super) struct NetPart {
    pub hop: Hop,
    pub closed: Option<String>,
}

impl Place<'_> {
    pub(super) fn net_part(
        &self,
        subnet: &str,
        public: Option<bool>,
        protocol: Protocol,
        port: u16,
        family: Family,
    ) -> NetPart {
        let network = &self.estate.network;
        // Only IPv4 addresses are told (assignPublicIp, a public IP): an
        // IPv6 address is not known.
        let public = if family == Family::Ipv6 { None } else { public };
        match reach(
            network,
            subnet,
            public,
            protocol,
            port,
            family,
            self.policy.wide,
        ) {
            Reachability::Reachable {
                via,
                route_table,
                destination,
                acl,
                acl_entries,
                partly,
                ..
            } => {
                let entries: Vec<String> = acl_entries.iter().map(EntryRef::label).collect();
                let mut hop = Hop::new(HopKind::InternetGateway, via.clone(), via.clone())
                    .evidence(format!(
                        "route {route_table} {destination} → {via} ({subnet})"
                    ))
                    .evidence(format!("acl {acl} {}", entries.join(", ")))
                    .console(self.console(Page::InternetGateway, &via));
                if let Some(partly) = partly {
                    hop = hop.evidence(format!("partly: {partly}"));
                }
                NetPart { hop, closed: None }
            }
            Reachability::NotReachable { why } => NetPart {
                hop: Hop::new(HopKind::Subnet, subnet, subnet)
                    .evidence(format!("not reachable now: {why}"))
                    .console(self.console(Page::Subnet, subnet)),
                closed: Some(format!("not reachable now: {why}")),
            },
            Reachability::Unknown { why } => NetPart {
                hop: Hop::new(HopKind::Subnet, subnet, subnet)
                    .console(self.console(Page::Subnet, subnet))
                    .unknown(Some(why)),
                closed: None,
            },
        }
    }

    /// The internet straight to the service's tasks: per port the task
    /// serves and per subnet, the address, the route and ACL, and the rules
    /// of its groups that admit the internet. A path is listed when a group
    /// admits the internet, or the tasks have public addresses (then a
    /// closed group says so).
    pub(super) fn service_network(
        &self,
        doc: &mut MapDocument,
        service: &ServiceState,
        id: &str,
        td: Option<&TaskDefinition>,
    ) {
        let Some(awsvpc) = &service.settings.awsvpc else {
            return;
        };
        let groups = awsvpc.security_groups.clone().unwrap_or_default();
        let public = awsvpc.assign_public_ip;
        let subnets = awsvpc.subnets.clone().unwrap_or_default();
        let end = doc.holds.first().cloned();
        let severity = doc.worst_end();
        let mut ports = served(td);
        if ports.is_empty() && td.is_none() {
            // The task definition was not read: the single ports the
            // groups open to the internet are what may be served.
            for g in &groups {
                for f in self.open.get(g.as_str()).into_iter().flatten() {
                    let range = crate::model::net::PortRange::from_bounds(
                        f.fields.from_port,
                        f.fields.to_port,
                    );
                    let protocol = f.fields.protocol.as_deref().and_then(Protocol::parse);
                    if let (Some(p @ (Protocol::Tcp | Protocol::Udp)), true) =
                        (protocol, range.from == range.to)
                    {
                        if !ports.iter().any(|(q, n, _)| *q == p && *n == range.from) {
                            ports.push((p, range.from, "?".to_string()));
                        }
                    }
                }
            }
        }
        for (protocol, port, container) in ports {
            let (open, unknown) = self.open_rules(&groups, protocol, port);
            if open.is_empty() && unknown.is_empty() && public != Some(true) {
                continue;
            }
            // The IPv4 internet where any rule admits it (a public IPv4
            // address is what the tasks are told to get).
            let family = if open.is_empty() || open.iter().any(|r| r.family() == Family::Ipv4) {
                Family::Ipv4
            } else {
                Family::Ipv6
            };
            let rules_hop = self.rules_hop(&open, &unknown, &groups);
            let address = match public {
                Some(true) => Hop::new(
                    HopKind::PublicAddress,
                    "assignPublicIp",
                    "public IP of each task",
                )
                .evidence("assignPublicIp ENABLED"),
                Some(false) => Hop::new(HopKind::PublicAddress, "assignPublicIp", "no public IP")
                    .evidence("assignPublicIp DISABLED"),
                None => Hop::new(HopKind::PublicAddress, "assignPublicIp", "public IP?").unknown(
                    Some("whether the tasks get a public IP is not known".into()),
                ),
            };
            let target = Hop::new(
                HopKind::Service,
                id,
                format!("service {id} container {container}:{port}"),
            )
            .console(doc.target.console.clone());
            let subnets: Vec<Option<&str>> = if subnets.is_empty() {
                vec![None]
            } else {
                subnets.iter().map(|s| Some(s.as_str())).collect()
            };
            for subnet in subnets {
                let net = match subnet {
                    Some(subnet) => self.net_part(subnet, public, protocol, port, family),
                    None => NetPart {
                        hop: Hop::new(HopKind::Subnet, "subnet?", "subnet?")
                            .unknown(Some("the service names no subnet".into())),
                        closed: None,
                    },
                };
                let closed = net.closed.clone().or_else(|| {
                    (open.is_empty() && unknown.is_empty()).then(|| {
                        format!(
                            "no group of the service ({}) admits the internet on {protocol}/{port}",
                            groups.join(", ")
                        )
                    })
                });
                // A task without a public address and a group that keeps
                // the internet out: nothing to show.
                if open.is_empty() && unknown.is_empty() && net.closed.is_some() {
                    continue;
                }
                let hops = vec![
                    internet(),
                    net.hop,
                    address.clone(),
                    rules_hop.clone(),
                    target.clone(),
                ];
                doc.push(path(
                    PathKind::Network,
                    hops,
                    closed,
                    end.as_ref(),
                    severity,
                ));
            }
        }
    }

    /// Through the load balancers: each `loadBalancers` entry's target
    /// group, each listener (default action or rule) that forwards to it.
    pub(super) fn service_load_balancers(
        &self,
        doc: &mut MapDocument,
        service: &ServiceState,
        id: &str,
    ) {
        let end = doc.holds.first().cloned();
        let severity = doc.worst_end();
        let task_groups = service
            .settings
            .awsvpc
            .as_ref()
            .and_then(|a| a.security_groups.clone());
        for entry in service.settings.load_balancers.iter().flatten() {
            let container = entry.container_name.clone().unwrap_or_default();
            let port = entry.container_port.and_then(|p| u16::try_from(p).ok());
            let target = Hop::new(
                HopKind::Service,
                id,
                format!(
                    "service {id} container {container}:{}",
                    port.map_or("?".to_string(), |p| p.to_string())
                ),
            )
            .console(doc.target.console.clone());
            let Some(tg_arn) = &entry.target_group_arn else {
                let name = entry.load_balancer_name.clone().unwrap_or_default();
                let hop = Hop::new(HopKind::LoadBalancer, &name, format!("classic {name}"))
                    .unknown(Some(format!(
                        "classic load balancer {name} is not read: its listeners and groups are unknown"
                    )));
                doc.push(path(
                    PathKind::LoadBalancer,
                    vec![internet(), hop, target],
                    None,
                    end.as_ref(),
                    severity,
                ));
                continue;
            };
            let tg = self
                .estate
                .target_groups
                .iter()
                .find(|t| t.group.arn.as_deref() == Some(tg_arn.as_str()));
            let tg_hop = tg_hop(self, tg_arn, tg, id, &container, port);
            let fronts = self.fronts(tg_arn);
            if fronts.is_empty() {
                let unread = self.estate.unread.iter().find(|u| {
                    u.what.starts_with("Describe") && u.what.contains("Listener")
                        || u.what.starts_with("DescribeLoadBalancers")
                        || u.what.starts_with("DescribeRules")
                });
                let (hop, closed) = match unread {
                    Some(u) => (
                        Hop::new(HopKind::LoadBalancer, "?", "load balancer?").unknown(Some(
                            format!(
                                "which listener forwards to it is not known ({})",
                                u.phrase()
                            ),
                        )),
                        None,
                    ),
                    None => (
                        Hop::new(HopKind::LoadBalancer, "none", "no listener"),
                        Some(format!(
                            "no listener of any load balancer forwards to {}",
                            short(tg_arn)
                        )),
                    ),
                };
                doc.push(path(
                    PathKind::LoadBalancer,
                    vec![internet(), hop, tg_hop, target],
                    closed,
                    end.as_ref(),
                    severity,
                ));
                continue;
            }
            for front in fronts {
                let (mut hops, closed) = self.front_hops(&front);
                hops.push(tg_hop.clone());
                let (task_hop, task_closed) =
                    self.admits_load_balancer(front.lb, task_groups.as_deref(), port);
                hops.push(task_hop);
                hops.push(target.clone());
                doc.push(path(
                    PathKind::LoadBalancer,
                    hops,
                    closed.or(task_closed),
                    end.as_ref(),
                    severity,
                ));
            }
        }
    }

    /// Each listener that forwards to the target group: by its default
    /// action, or by one of its rules (named). A listener whose rules were
    /// not read is listed with them unknown.
    fn fronts(&self, tg_arn: &str) -> Vec<Front<'_>> {
        let mut out = Vec::new();
        for lb in &self.estate.load_balancers {
            for listener in lb.listeners.iter().flatten() {
                let forwards = |actions: Option<&Vec<crate::model::elb::Action>>| {
                    actions
                        .into_iter()
                        .flatten()
                        .any(|a| a.target_groups.iter().any(|t| t == tg_arn))
                };
                if forwards(listener.listener.default_actions.as_ref()) {
                    out.push(Front {
                        lb,
                        listener,
                        via: Via::Default,
                    });
                }
                match &listener.rules {
                    Some(rules) => out.extend(
                        rules
                            .iter()
                            .filter(|r| forwards(r.actions.as_ref()))
                            .map(|r| Front {
                                lb,
                                listener,
                                via: Via::Rule(r.arn.clone().unwrap_or_else(|| r.label())),
                            }),
                    ),
                    None if listener.listener.has_rules()
                        && !forwards(listener.listener.default_actions.as_ref()) =>
                    {
                        out.push(Front {
                            lb,
                            listener,
                            via: Via::Unread,
                        })
                    }
                    None => {}
                }
            }
        }
        out
    }

    /// internet → (gateway) → load balancer (its groups) → listener
    /// (→ rule), and what closes them.
    fn front_hops(&self, front: &Front<'_>) -> (Vec<Hop>, Option<String>) {
        let lb = &front.lb.load_balancer;
        let lb_id = lb.arn.clone().unwrap_or_else(|| lb.name.clone());
        let listener = &front.listener.listener;
        let protocol = match listener.protocol.as_deref() {
            Some(p) if p.eq_ignore_ascii_case("UDP") => Protocol::Udp,
            _ => Protocol::Tcp,
        };
        let lport = listener.port.and_then(|p| u16::try_from(p).ok());
        let scheme = match lb.scheme {
            Scheme::InternetFacing => "internet-facing",
            Scheme::Internal => "internal",
        };
        let mut closed = None;
        if lb.scheme == Scheme::Internal {
            closed = Some(format!("{} is internal: only its VPC reaches it", lb.name));
        }
        // The load balancer's nodes: the first subnet the internet reaches.
        let net = match (lport, lb.subnets.is_empty()) {
            (Some(p), false) => {
                let parts: Vec<NetPart> = lb
                    .subnets
                    .iter()
                    .map(|s| self.net_part(s, Some(true), protocol, p, Family::Ipv4))
                    .collect();
                match parts
                    .iter()
                    .position(|n| n.closed.is_none() && n.hop.unknown.is_none())
                {
                    Some(i) => parts.into_iter().nth(i),
                    None => match parts.iter().position(|n| n.hop.unknown.is_some()) {
                        Some(i) => parts.into_iter().nth(i),
                        None => parts.into_iter().next(),
                    },
                }
            }
            _ => None,
        }
        .unwrap_or_else(|| NetPart {
            hop: Hop::new(HopKind::Subnet, "subnet?", "subnets?").unknown(Some(format!(
                "the subnets of {} or its listener's port were not read",
                lb.name
            ))),
            closed: None,
        });
        if lb.scheme == Scheme::InternetFacing {
            closed = closed.or(net.closed.clone());
        }
        // Its groups: none on a network load balancer admits every client.
        let mut lb_hop = Hop::new(
            HopKind::LoadBalancer,
            lb_id.clone(),
            format!("{} ({scheme})", short(&lb_id)),
        )
        .console(self.console(Page::LoadBalancer, &lb_id));
        if lb.security_groups.is_empty() {
            if lb.lb_type == LbType::Network {
                lb_hop = lb_hop.evidence("no security groups: every client reaches every listener");
            } else {
                lb_hop = lb_hop.unknown(Some("its security groups were not read".into()));
            }
        } else if let Some(p) = lport {
            let (open, unknown) = self.open_rules(&lb.security_groups, protocol, p);
            for rule in &open {
                lb_hop = lb_hop.evidence(format!("{} ({})", rule.label(), rule.id()));
            }
            if open.is_empty() {
                if unknown.is_empty() {
                    closed = closed.or(Some(format!(
                        "no group of {} ({}) admits the internet on {protocol}/{p}",
                        lb.name,
                        lb.security_groups.join(", ")
                    )));
                } else {
                    lb_hop = lb_hop.unknown(Some(unknown.join("; ")));
                }
            }
        }
        let listener_id = listener.arn.clone().unwrap_or_default();
        let mut listener_hop = Hop::new(
            HopKind::Listener,
            listener_id.clone(),
            format!(
                "{}:{}",
                listener.protocol.as_deref().unwrap_or("?"),
                lport.map_or("?".to_string(), |p| p.to_string())
            ),
        )
        .console(self.console(Page::LoadBalancer, &lb_id));
        let mut hops = vec![internet(), net.hop];
        match &front.via {
            Via::Default => {
                listener_hop =
                    listener_hop.evidence("its default action forwards to the target group");
                hops.push(lb_hop);
                hops.push(listener_hop);
            }
            Via::Rule(rule) => {
                hops.push(lb_hop);
                hops.push(listener_hop);
                hops.push(
                    Hop::new(
                        HopKind::ListenerRule,
                        rule.clone(),
                        format!("rule {}", short(rule)),
                    )
                    .evidence("forwards to the target group")
                    .console(self.console(Page::LoadBalancer, &lb_id)),
                );
            }
            Via::Unread => {
                hops.push(lb_hop);
                hops.push(listener_hop.unknown(Some(format!(
                    "the rules of listener {} were not read",
                    short(&listener_id)
                ))));
            }
        }
        (hops, closed)
    }

    /// Whether the service's groups let the load balancer in on the
    /// container port: a rule naming one of its groups, or one admitting
    /// the internet (for a network load balancer without groups, which
    /// passes the client's address, only that). Another CIDR may hold the
    /// load balancer's addresses: possible.
    fn admits_load_balancer(
        &self,
        front: &LoadBalancerState,
        task_groups: Option<&[String]>,
        port: Option<u16>,
    ) -> (Hop, Option<String>) {
        let lb = &front.load_balancer;
        let Some(groups) = task_groups.filter(|g| !g.is_empty()) else {
            return (
                Hop::new(HopKind::SecurityGroupRule, "?", "the tasks' groups?").unknown(Some(
                    "the service names no security groups (not awsvpc, or not said)".into(),
                )),
                None,
            );
        };
        let Some(port) = port else {
            return (
                Hop::new(
                    HopKind::SecurityGroupRule,
                    groups.join(","),
                    groups.join(", "),
                )
                .unknown(Some("the container port is not known".into())),
                None,
            );
        };
        let mut by_group = Vec::new();
        let mut other = Vec::new();
        let mut unknown = Vec::new();
        for g in groups {
            let Some(state) = self.estate.groups.iter().find(|s| &s.info.group_id == g) else {
                unknown.push(self.group_unknown(g));
                continue;
            };
            for rule in &state.rules {
                let carries = rule.protocol.is_all_traffic()
                    || (rule.protocol == Protocol::Tcp && rule.ports().contains(port));
                if rule.direction == crate::model::sg::Direction::Egress || !carries {
                    continue;
                }
                let id = rule.rule_id.clone().unwrap_or_else(|| g.clone());
                match &rule.source {
                    Source::Group {
                        group_id: Some(from),
                        ..
                    } if lb.security_groups.contains(from) => {
                        by_group.push((id, format!("{g} tcp {port} from {from}")));
                    }
                    source if source.is_internet_wide(self.policy.wide) => {
                        by_group.push((id, format!("{g} tcp {port} from {source} (the internet)")));
                    }
                    Source::Cidr(_) | Source::PrefixList(_) => {
                        other.push(format!("{g} admits {} on tcp/{port}", rule.source));
                    }
                    _ => {}
                }
            }
        }
        if let Some((id, label)) = by_group.first() {
            let mut hop = Hop::new(HopKind::SecurityGroupRule, id.clone(), label.clone())
                .console(self.console(Page::SecurityGroup, &groups[0]));
            for (id, label) in &by_group {
                hop = hop.evidence(format!("{label} ({id})"));
            }
            return (hop, None);
        }
        let hop = Hop::new(
            HopKind::SecurityGroupRule,
            groups.join(","),
            format!("{} tcp {port}", groups.join(", ")),
        )
        .console(self.console(Page::SecurityGroup, &groups[0]));
        if !unknown.is_empty() {
            return (hop.unknown(Some(unknown.join("; "))), None);
        }
        if !other.is_empty() {
            return (
                hop.unknown(Some(format!(
                    "{}: whether that holds the load balancer's addresses was not read",
                    other.join("; ")
                ))),
                None,
            );
        }
        let from = if lb.security_groups.is_empty() {
            "the internet (the load balancer passes the client's address)".to_string()
        } else {
            format!("{} or the internet", lb.security_groups.join(", "))
        };
        (
            hop,
            Some(format!(
                "the service's groups ({}) admit neither {from} on tcp/{port}",
                groups.join(", ")
            )),
        )
    }
}

/// How a listener reaches the target group.
enum Via {
    Default,
    /// A rule (its ARN).
    Rule(String),
    /// The listener's rules were not read.
    Unread,
}

struct Front<'e> {
    lb: &'e LoadBalancerState,
    listener: &'e ListenerState,
    via: Via,
}

/// The target group's hop: its protocol and port, and the container the
/// service registers with it.
fn tg_hop(
    place: &Place<'_>,
    arn: &str,
    tg: Option<&TargetGroupState>,
    service: &str,
    container: &str,
    port: Option<u16>,
) -> Hop {
    let port = port.map_or("?".to_string(), |p| p.to_string());
    let evidence = format!("service {service} registers container {container}:{port}");
    match tg {
        Some(tg) => Hop::new(
            HopKind::TargetGroup,
            arn,
            format!(
                "{} ({}:{})",
                tg.group.name,
                tg.group.protocol.as_deref().unwrap_or("?"),
                tg.group.port.map_or("?".to_string(), |p| p.to_string())
            ),
        )
        .evidence(evidence)
        .console(place.console(Page::TargetGroup, arn)),
        None => Hop::new(HopKind::TargetGroup, arn, short(arn))
            .evidence(evidence)
            .console(place.console(Page::TargetGroup, arn))
            .unknown(Some(
                match place
                    .estate
                    .unread
                    .iter()
                    .find(|u| u.what.starts_with("DescribeTargetGroups"))
                {
                    Some(u) => format!("the target groups could not be read ({})", u.phrase()),
                    None => format!("{} was not among the target groups read", short(arn)),
                },
            )),
    }
}

/// `app/web/50dc…` of a load balancer's ARN, `web-tg/73e2…` of a target
/// group's; anything else as it is.
fn short(arn: &str) -> String {
    for marker in [
        ":loadbalancer/",
        ":targetgroup/",
        ":listener-rule/",
        ":listener/",
    ] {
        if let Some((_, rest)) = arn.split_once(marker) {
            return rest.to_string();
        }
    }
    arn.to_string()
}
