//! Judging the way in that the sweep read (DESIGN §14) with the event path's
//! rules: each load balancer as its `CreateLoadBalancer` (with its
//! attributes as read) and, when it has groups, its `SetSecurityGroups`;
//! each listener as its `CreateListener` and each of its rules as its
//! `CreateRule`; each target group as its `CreateTargetGroup` and its
//! targets as `RegisterTargets`; each network ACL entry as its
//! `CreateNetworkAclEntry`; each subnet that hands out public addresses as
//! its `ModifySubnetAttribute`; each route sending everything to an
//! internet gateway as its `CreateRoute`, with what runs in the subnets its
//! table serves. What the sweep could not read leaves a rule's verdict
//! unknown (no finding), and the place incomplete (nothing resolved).

use crate::guards::network::elb::{open_ingress, open_on_port};
use crate::guards::network::vpc::served_subnets;
use crate::model::elb::{ElbChange, Listener, LoadBalancer};
use crate::model::net::PortRange;
use crate::model::reach::{Fact, Network, RouteTable};
use crate::model::vpc::{AclEntry, NetChange, RouteDestination};
use crate::policy::Policy;
use crate::ports::estate::{Estate, GroupState, LoadBalancerState, TargetGroupState};
use crate::rules::elb::{ElbContext, ElbFacts, TargetReach};
use crate::rules::net::{NetContext, NetFacts};
use crate::rules::{self};
use crate::state::Seen;

/// The interfaces' read, by its call.
const INTERFACES: &str = "DescribeNetworkInterfaces";

/// The findings of the load balancers, target groups and VPCs of the estate.
pub fn judge_network(account: &str, region: &str, estate: &Estate, policy: &Policy) -> Vec<Seen> {
    let mut seen = Vec::new();
    for lb in &estate.load_balancers {
        judge_load_balancer(account, region, estate, lb, policy, &mut seen);
    }
    for group in &estate.target_groups {
        judge_target_group(account, region, estate, group, policy, &mut seen);
    }
    judge_vpcs(account, region, estate, policy, &mut seen);
    seen
}

/// Judges one change as the network guard's load-balancer half does.
fn elb(
    account: &str,
    region: &str,
    change: &ElbChange,
    facts: &ElbFacts,
    policy: &Policy,
    seen: &mut Vec<Seen>,
) {
    let ctx = ElbContext { policy, facts };
    for f in rules::evaluate_elb(change, &ctx) {
        seen.push(Seen::new(account, region, &change.resource(), f, false));
    }
}

/// Judges one change as the network guard's VPC half does.
fn net(
    account: &str,
    region: &str,
    change: &NetChange,
    facts: &NetFacts,
    policy: &Policy,
    seen: &mut Vec<Seen>,
) {
    for f in rules::evaluate_net(change, &NetContext { policy, facts }) {
        seen.push(Seen::new(account, region, &change.resource(), f, false));
    }
}

/// The group as read, or `None` when it was not (another account's, or the
/// groups' read failed).
fn group<'e>(estate: &'e Estate, id: &str) -> Option<&'e GroupState> {
    estate.groups.iter().find(|g| g.info.group_id == id)
}

fn judge_load_balancer(
    account: &str,
    region: &str,
    estate: &Estate,
    state: &LoadBalancerState,
    policy: &Policy,
    seen: &mut Vec<Seen>,
) {
    let lb: &LoadBalancer = &state.load_balancer;
    let arn = lb.arn.clone().unwrap_or_else(|| lb.name.clone());
    // What the load balancer has now, as read: never AWS's defaults (an
    // attribute not read is unknown).
    let created = ElbChange::LoadBalancer {
        load_balancer: lb.clone(),
        attributes: crate::model::elb::Attributes {
            load_balancer: arn.clone(),
            lb_type: Some(lb.lb_type),
            at_creation: false,
            values: state.attributes.clone().unwrap_or_default(),
        },
    };
    let facts = ElbFacts {
        scheme: Some(lb.scheme),
        lb_type: Some(lb.lb_type),
        ..ElbFacts::default()
    };
    elb(account, region, &created, &facts, policy, seen);
    // Its groups as a `SetSecurityGroups`: the ports they open that no
    // listener serves (ELB-010). Unknown when a group or the listeners
    // were not read.
    if !lb.security_groups.is_empty() {
        let mut open = Some(Vec::new());
        for id in &lb.security_groups {
            match (group(estate, id), open.as_mut()) {
                (Some(g), Some(o)) => o.extend(open_ingress(id, &g.rules, policy)),
                _ => open = None,
            }
        }
        let facts = ElbFacts {
            listeners: state.listeners.as_ref().map(|ls| {
                ls.iter()
                    .filter_map(|l| Some((l.listener.protocol.clone()?, l.listener.port?)))
                    .collect()
            }),
            open_ingress: open,
            ..facts.clone()
        };
        let set = ElbChange::SecurityGroups {
            load_balancer: arn.clone(),
            lb_type: Some(lb.lb_type),
            groups: lb.security_groups.clone(),
        };
        elb(account, region, &set, &facts, policy, seen);
    }
    for listener in state.listeners.iter().flatten() {
        let created = ElbChange::Listener {
            created: true,
            listener: Listener {
                load_balancer: Some(arn.clone()),
                lb_type: Some(lb.lb_type),
                moves: true,
                ..listener.listener.clone()
            },
        };
        elb(account, region, &created, &facts, policy, seen);
        let rule_facts = ElbFacts {
            listener_protocol: listener.listener.protocol.clone(),
            ..facts.clone()
        };
        for rule in listener.rules.iter().flatten() {
            let created = ElbChange::Rule {
                created: true,
                rule: crate::model::elb::ListenerRule {
                    lb_type: Some(lb.lb_type),
                    ..rule.clone()
                },
            };
            elb(account, region, &created, &rule_facts, policy, seen);
        }
    }
}

fn judge_target_group(
    account: &str,
    region: &str,
    estate: &Estate,
    state: &TargetGroupState,
    policy: &Policy,
    seen: &mut Vec<Seen>,
) {
    let facts = ElbFacts::default();
    let created = ElbChange::TargetGroup(crate::model::elb::TargetGroup {
        created: true,
        ..state.group.clone()
    });
    elb(account, region, &created, &facts, policy, seen);
    let (Some(targets), Some(arn)) = (&state.targets, &state.group.arn) else {
        return;
    };
    if targets.is_empty() {
        return;
    }
    let reaches = match (&state.group.vpc_id, estate.unread_call(INTERFACES)) {
        (Some(vpc), None) => Some(
            targets
                .iter()
                .map(|t| target_reach(estate, vpc, t, policy))
                .collect(),
        ),
        (_, Some(u)) => {
            let why = format!("{INTERFACES}: {}", u.error.code_or_kind());
            Some(
                targets
                    .iter()
                    .map(|t| TargetReach {
                        target: t.id.clone(),
                        public_address: Err(why.clone()),
                        open_rules: Err(why.clone()),
                    })
                    .collect(),
            )
        }
        // A Lambda target group has no VPC and no interfaces.
        (None, None) => None,
    };
    let registered = ElbChange::Targets {
        target_group: arn.clone(),
        targets: targets.clone(),
    };
    let facts = ElbFacts {
        targets: reaches,
        ..ElbFacts::default()
    };
    elb(account, region, &registered, &facts, policy, seen);
}

/// A registered target's own way in, as the network guard reads it: the
/// interfaces in the target group's VPC with its address (an `ip` target)
/// or attached to it (an `instance` target), their public address, and
/// their groups' rules that admit the internet on the port it serves.
fn target_reach(
    estate: &Estate,
    vpc: &str,
    target: &crate::model::elb::Target,
    policy: &Policy,
) -> TargetReach {
    let interfaces: Vec<_> = estate
        .interfaces
        .iter()
        .filter(|i| i.vpc_id == vpc)
        .filter(|i| {
            if target.id.starts_with("i-") {
                i.instance_id.as_deref() == Some(target.id.as_str())
            } else {
                i.private_ips.contains(&target.id)
            }
        })
        .collect();
    let public_address = Ok(interfaces.iter().find_map(|i| i.public_ip.clone()));
    let mut groups: Vec<&String> = interfaces.iter().flat_map(|i| i.groups.iter()).collect();
    groups.sort();
    groups.dedup();
    let mut open_rules = Ok(Vec::new());
    for id in groups {
        match (group(estate, id), &mut open_rules) {
            (Some(g), Ok(open)) => open.extend(open_on_port(id, &g.rules, target.port, policy)),
            (Some(_), Err(_)) => {}
            (None, _) => open_rules = Err(format!("the rules of {id}: not read")),
        }
    }
    TargetReach {
        target: target.id.clone(),
        public_address,
        open_rules,
    }
}

fn judge_vpcs(account: &str, region: &str, estate: &Estate, policy: &Policy, seen: &mut Vec<Seen>) {
    let network = &estate.network;
    let none = NetFacts::default();
    for acl in &network.network_acls {
        for entry in acl.entries.iter().filter(|e| !e.egress) {
            let change = NetChange::AclEntry {
                replaced: false,
                entry: AclEntry {
                    acl: acl.id.clone(),
                    rule_number: i64::from(entry.rule_number),
                    egress: entry.egress,
                    protocol: entry.protocol,
                    ports: entry.ports.unwrap_or(PortRange::ALL),
                    source: entry.cidr.clone(),
                    allow: entry.allow,
                },
            };
            net(account, region, &change, &none, policy, seen);
        }
    }
    for subnet in &network.subnets {
        if subnet.map_public_ip_on_launch == Some(true) {
            let change = NetChange::SubnetPublicIp {
                subnet: subnet.id.clone(),
                on: true,
            };
            net(account, region, &change, &none, policy, seen);
        }
    }
    for table in &network.route_tables {
        for route in &table.routes {
            let everything = matches!(&route.destination,
                crate::model::net::Source::Cidr(n) if n.prefix_len() == 0);
            if !route.active || !everything || !route.target.starts_with("igw-") {
                continue;
            }
            // A gateway read and not attached to the table's VPC lets
            // nothing in; one not read is judged as the route's event is.
            let detached = network
                .internet_gateway(&route.target)
                .is_ok_and(|g| !g.attached_vpcs.contains(&table.vpc_id));
            if detached {
                continue;
            }
            let change = NetChange::Route {
                replaced: false,
                route_table: table.id.clone(),
                destination: RouteDestination::Cidr(route.destination.clone()),
                target: route.target.clone(),
            };
            let facts = NetFacts {
                internet_route: None,
                workloads: workloads(estate, network, table),
            };
            net(account, region, &change, &facts, policy, seen);
        }
    }
}

/// The ECS tasks and container instances in the subnets a table serves;
/// `None` when that is not known (the interfaces, or the subnets a main
/// table serves, were not read).
fn workloads(estate: &Estate, network: &Network, table: &RouteTable) -> Option<Vec<String>> {
    let subnets_unread = network.unread.contains_key(&Fact::Subnets)
        || estate.unread_call("DescribeSubnets").is_some();
    if estate.unread_call(INTERFACES).is_some() || (table.main && subnets_unread) {
        return None;
    }
    let served = served_subnets(network, table);
    let mut found: Vec<String> = estate
        .interfaces
        .iter()
        .filter(|i| served.contains(&i.subnet_id))
        .filter_map(|i| i.workload())
        .collect();
    found.sort();
    found.dedup();
    Some(found)
}
