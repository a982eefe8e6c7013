//! Host paths: the internet to a container instance — SSH, RDP, or any
//! port its groups open — which reaches every task on it, and the instance
//! role through the metadata service.

use super::{internet, Place};
use crate::finding::{Finding, Severity};
use crate::model::ci::Said;
use crate::model::net::PortRange;
use crate::model::net::Protocol;
use crate::model::td::TaskDefinition;
use crate::ports::estate::{InstanceState, ServiceState};
use crate::report::links::Page;
use crate::report::map::{
    path, Hold, HoldKind, Hop, HopKind, MapDocument, MapTarget, PathKind, TargetKind,
};
use crate::rules::ec2_sg::traffic::{open_traffic, Traffic};

/// The ports a range or all traffic is asked on: the host's shells.
const SHELLS: [(Protocol, u16); 2] = [(Protocol::Tcp, 22), (Protocol::Tcp, 3389)];

impl Place<'_> {
    /// A container instance's map: every port its groups open to the
    /// internet (a range or all traffic: SSH and RDP), per its subnet.
    pub(super) fn instance(&self, instance: &InstanceState) -> MapDocument {
        let settings = &instance.settings;
        let target = MapTarget {
            kind: TargetKind::ContainerInstance,
            id: instance.id.clone(),
            arn: Some(format!(
                "arn:aws:ec2:{}:{}:instance/{}",
                self.region, self.account, instance.id
            )),
            console: self.console(Page::Instance, &instance.id),
        };
        let mut doc =
            MapDocument::new(self.account, self.region, target, self.host_holds(instance));
        let end = doc.holds.first().cloned();
        let severity = doc.worst_end();
        let groups = settings.groups();
        let open_all: Vec<Finding> = groups
            .iter()
            .filter_map(|g| self.open.get(g.as_str()))
            .flatten()
            .cloned()
            .collect();
        let public = match (&settings.public_address, &settings.public_ip) {
            (Some(_), _) => Some(true),
            (None, Said::Set(has)) => Some(*has),
            _ => None,
        };
        let address = match &settings.public_address {
            Some(ip) => Hop::new(HopKind::PublicAddress, ip, ip.clone()),
            None if public == Some(false) => {
                Hop::new(HopKind::PublicAddress, "none", "no public address")
            }
            None => Hop::new(HopKind::PublicAddress, "?", "public address?").unknown(Some(
                "whether the instance has a public address is not known".into(),
            )),
        };
        let unread: Vec<String> = groups
            .iter()
            .filter(|g| !self.open.contains_key(g.as_str()))
            .map(|g| self.group_unknown(g))
            .collect();
        let mut traffic = open_traffic(&open_all, &SHELLS);
        if traffic.is_empty() && !unread.is_empty() {
            // What the unread groups open is not known: SSH, possibly.
            traffic.push(Traffic::Port {
                protocol: Protocol::Tcp,
                port: 22,
                family: crate::model::reach::Family::Ipv4,
            });
        }
        for t in traffic {
            let (protocol, port, family) = match t {
                Traffic::Port {
                    protocol,
                    port,
                    family,
                } => (protocol, port, family),
                Traffic::Unnamed { why, .. } => {
                    let hops = vec![
                        internet(),
                        Hop::new(HopKind::ContainerPort, "?", "a port?").unknown(Some(why)),
                        self.instance_hop(instance, None),
                    ];
                    doc.push(path(PathKind::Host, hops, None, end.as_ref(), severity));
                    continue;
                }
            };
            let (open, unknown) = self.open_rules(groups, protocol, port);
            if open.is_empty() && unknown.is_empty() {
                continue;
            }
            let net = match &settings.subnet {
                Some(subnet) => self.net_part(subnet, public, protocol, port, family),
                None => super::network::NetPart {
                    hop: Hop::new(HopKind::Subnet, "subnet?", "subnet?")
                        .unknown(Some("the instance's subnet was not read".into())),
                    closed: None,
                },
            };
            let hops = vec![
                internet(),
                net.hop,
                address.clone(),
                self.rules_hop(&open, &unknown, groups),
                self.instance_hop(instance, Some((protocol, port))),
            ];
            doc.push(path(
                PathKind::Host,
                hops,
                net.closed,
                end.as_ref(),
                severity,
            ));
        }
        doc
    }

    fn instance_hop(&self, instance: &InstanceState, port: Option<(Protocol, u16)>) -> Hop {
        let on = port.map_or(String::new(), |(p, n)| format!(" {p}/{n}"));
        let mut hop = Hop::new(
            HopKind::ContainerInstance,
            &instance.id,
            format!("container instance {}{on}", instance.id),
        )
        .console(self.console(Page::Instance, &instance.id));
        if let Said::Set(key) = &instance.settings.key_name {
            hop = hop.evidence(format!("key pair {key}"));
        }
        if let Some(evidence) = &instance.container_instance {
            hop = hop.evidence(evidence.0.clone());
        }
        hop
    }

    /// What an intruder on the host holds: every task on it (their task
    /// roles' credentials through the agent), and the instance role.
    fn host_holds(&self, instance: &InstanceState) -> Vec<Hold> {
        let on: Vec<String> = self
            .estate
            .tasks
            .iter()
            .filter(|t| t.instance.as_deref() == Some(instance.id.as_str()))
            .map(|t| match t.service() {
                Some(service) => format!("task {} of service {}/{service}", t.id(), t.cluster),
                None => format!("task {}", t.id()),
            })
            .collect();
        let mut holds = vec![Hold {
            kind: HoldKind::Host,
            id: instance.id.clone(),
            label: "every task on the instance and its task role".to_string(),
            severity: Severity::High,
            evidence: on,
        }];
        if let Said::Set(profile) = &instance.settings.instance_profile {
            let name = profile.rsplit('/').next().unwrap_or(profile);
            holds.push(Hold {
                kind: HoldKind::InstanceRole,
                id: profile.clone(),
                label: format!("instance profile {name}'s role"),
                severity: Severity::High,
                evidence: vec![format!("instance profile {profile}")],
            });
        }
        holds
    }

    /// A service in `bridge` or `host` network mode listens on its
    /// instances' addresses: each host port (the container's in host mode;
    /// a static `hostPort`, or the dynamic range 32768-65535, in bridge
    /// mode) that the instance's groups open to the internet is a way in.
    pub(super) fn service_host_ports(
        &self,
        doc: &mut MapDocument,
        service: &ServiceState,
        id: &str,
        td: Option<&TaskDefinition>,
    ) {
        let Some(td) = td else {
            return;
        };
        let mode = td.network_mode.as_deref().unwrap_or("bridge");
        if mode != "bridge" && mode != "host" {
            return;
        }
        let mut hosts: Vec<&str> = self
            .estate
            .tasks
            .iter()
            .filter(|t| t.cluster == service.cluster && t.service() == Some(service.name.as_str()))
            .filter_map(|t| t.instance.as_deref())
            .collect();
        hosts.sort_unstable();
        hosts.dedup();
        let end = doc.holds.first().cloned();
        let severity = doc.worst_end();
        for host in hosts {
            let Some(instance) = self.estate.instances.iter().find(|i| i.id == host) else {
                continue;
            };
            let settings = &instance.settings;
            let groups = settings.groups();
            let public = match (&settings.public_address, &settings.public_ip) {
                (Some(_), _) => Some(true),
                (None, Said::Set(has)) => Some(*has),
                _ => None,
            };
            for c in &td.containers {
                for m in &c.port_mappings {
                    let Some(container_port) = m.container_port.and_then(|p| u16::try_from(p).ok())
                    else {
                        continue;
                    };
                    let protocol = match m.protocol.as_deref() {
                        Some(p) if p.eq_ignore_ascii_case("udp") => Protocol::Udp,
                        _ => Protocol::Tcp,
                    };
                    let static_port = match mode {
                        "host" => Some(container_port),
                        _ => m
                            .host_port
                            .and_then(|p| u16::try_from(p).ok())
                            .filter(|p| *p != 0),
                    };
                    // The port asked of the network: the static one, else
                    // the first of the dynamic range an open rule admits.
                    let (port, label) = match static_port {
                        Some(p) => (p, format!("{protocol}/{p}")),
                        None => {
                            let open = groups
                                .iter()
                                .filter_map(|g| self.open.get(g.as_str()))
                                .flatten()
                                .filter_map(|f| {
                                    let r = PortRange::from_bounds(
                                        f.fields.from_port,
                                        f.fields.to_port,
                                    );
                                    (r.to >= DYNAMIC.0 && r.from <= DYNAMIC.1)
                                        .then(|| r.from.max(DYNAMIC.0))
                                })
                                .min();
                            match open {
                                Some(p) => (
                                    p,
                                    format!(
                                        "{protocol}/{p} (dynamic host ports {}-{})",
                                        DYNAMIC.0, DYNAMIC.1
                                    ),
                                ),
                                None => continue,
                            }
                        }
                    };
                    let (open, unknown) = self.open_rules(groups, protocol, port);
                    if open.is_empty() && unknown.is_empty() {
                        continue;
                    }
                    let family = crate::model::reach::Family::Ipv4;
                    let net = match &settings.subnet {
                        Some(subnet) => self.net_part(subnet, public, protocol, port, family),
                        None => super::network::NetPart {
                            hop: Hop::new(HopKind::Subnet, "subnet?", "subnet?")
                                .unknown(Some("the instance's subnet was not read".into())),
                            closed: None,
                        },
                    };
                    let address = match &settings.public_address {
                        Some(ip) => Hop::new(HopKind::PublicAddress, ip, ip.clone()),
                        None => Hop::new(HopKind::PublicAddress, "none", "no public address"),
                    };
                    let hops = vec![
                        internet(),
                        net.hop,
                        address,
                        self.rules_hop(&open, &unknown, groups),
                        Hop::new(
                            HopKind::ContainerInstance,
                            host,
                            format!("container instance {host} {label}"),
                        )
                        .console(self.console(Page::Instance, host))
                        .evidence(format!("network mode {mode}")),
                        Hop::new(
                            HopKind::Service,
                            id,
                            format!("service {id} container {}:{container_port}", c.name),
                        )
                        .console(doc.target.console.clone()),
                    ];
                    doc.push(path(
                        PathKind::Host,
                        hops,
                        net.closed,
                        end.as_ref(),
                        severity,
                    ));
                }
            }
        }
    }
}

/// The host ports ECS gives a bridge-mode container without a static one.
const DYNAMIC: (u16, u16) = (32768, 65535);
