//! The network path of an exposure (DESIGN §4, §14): when a guard finds a
//! public address or an internet-open group, it reads the networks of the
//! subnets involved and adds to the finding whether the internet reaches it,
//! one line per subnet and port. A finding the internet reaches rises one
//! level; one it does not reach keeps the rule's own severity (the path may
//! open tomorrow). A network that could not be read makes the line
//! "unknown" with the call and its code; the finding stays.

use std::collections::BTreeMap;

use tracing::warn;

use crate::finding::{Finding, PathLine};
use crate::model::net::WidePrefixes;
use crate::model::reach::{
    internet_route, reach, route_table_for, Family, Network, Reachability, RouteVerdict,
};
use crate::ports::{AwsError, Vpcs};
pub use crate::rules::ec2_sg::traffic::{dedup, open_traffic, Traffic};

/// Whether the interfaces get a public IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    Has(bool),
    /// The subnet's `MapPublicIpOnLaunch` decides.
    SubnetDefault,
    Unknown,
}

/// Where the exposed interfaces sit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Their subnets, or why they are not known.
    pub subnets: Result<Vec<String>, String>,
    pub address: Address,
}

/// A finding about exposure (its index in the report) and what it exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposed {
    pub finding: usize,
    pub traffic: Vec<Traffic>,
}

/// The networks of some subnets, each VPC read once; a subnet whose network
/// could not be read holds why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks {
    of_subnet: BTreeMap<String, Result<usize, String>>,
    read: Vec<Network>,
    /// The first network read is a whole place's (the sweep's): a subnet
    /// not listed is looked up in it.
    whole: bool,
}

impl Networks {
    /// Every network read as one place's (a VPC read twice is kept once;
    /// what could not be read stays unread).
    pub fn merged(&self) -> Network {
        let mut out = Network::default();
        for n in &self.read {
            out.subnets.extend(n.subnets.iter().cloned());
            out.route_tables.extend(n.route_tables.iter().cloned());
            out.network_acls.extend(n.network_acls.iter().cloned());
            out.internet_gateways
                .extend(n.internet_gateways.iter().cloned());
            for (fact, why) in &n.unread {
                out.unread.entry(*fact).or_insert_with(|| why.clone());
            }
        }
        out
    }

    /// The network of a whole place, as the sweep reads it (every VPC of
    /// an account and region at once): a subnet it does not hold is
    /// unknown, with why (not read, or not found).
    pub fn whole(network: Network) -> Networks {
        Networks {
            of_subnet: BTreeMap::new(),
            read: vec![network],
            whole: true,
        }
    }

    fn of(&self, subnet: &str) -> Result<&Network, String> {
        match self.of_subnet.get(subnet) {
            Some(Ok(i)) => self
                .read
                .get(*i)
                .ok_or_else(|| format!("the network of {subnet} was not read")),
            Some(Err(why)) => Err(why.clone()),
            None => match self.read.first() {
                Some(place) if self.whole => place
                    .subnet(subnet)
                    .map(|_| place)
                    .map_err(|unknown| unknown.why),
                _ => Err(format!("the network of {subnet} was not read")),
            },
        }
    }
}

/// Reads the VPC of each subnet and each VPC's network. A failure that may
/// pass on a retry is an error; any other is kept as why the subnet's path
/// is unknown (`DescribeSubnets: UnauthorizedOperation`).
pub async fn read_networks(
    vpcs: &dyn Vpcs,
    subnets: &[String],
    event_id: &str,
) -> Result<Networks, AwsError> {
    let mut networks = Networks::default();
    let mut of_vpc: BTreeMap<String, Result<usize, String>> = BTreeMap::new();
    for subnet in subnets {
        if networks.of_subnet.contains_key(subnet) {
            continue;
        }
        let vpc = match vpcs.subnet_vpc(subnet).await {
            Ok(Some(vpc)) => vpc,
            Ok(None) => {
                networks.of_subnet.insert(
                    subnet.clone(),
                    Err(format!("subnet {subnet} was not found")),
                );
                continue;
            }
            Err(e) if e.retryable => return Err(e),
            Err(e) => {
                warn!(event_id = %event_id, subnet = %subnet, error = %e, "could not read the subnet's VPC");
                networks.of_subnet.insert(
                    subnet.clone(),
                    Err(format!(
                        "the VPC of {subnet} could not be read ({}: {})",
                        e.operation,
                        e.code_or_kind()
                    )),
                );
                continue;
            }
        };
        if !of_vpc.contains_key(&vpc) {
            let read = match vpcs.network(&vpc).await {
                Ok(network) => {
                    networks.read.push(network);
                    Ok(networks.read.len() - 1)
                }
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    warn!(event_id = %event_id, vpc = %vpc, error = %e, "could not read the network");
                    Err(format!(
                        "the network of {vpc} could not be read ({}: {})",
                        e.operation,
                        e.code_or_kind()
                    ))
                }
            };
            of_vpc.insert(vpc.clone(), read);
        }
        let read = of_vpc
            .get(&vpc)
            .cloned()
            .unwrap_or_else(|| Err(format!("the network of {vpc} was not read")));
        networks.of_subnet.insert(subnet.clone(), read);
    }
    Ok(networks)
}

/// Whether the interface in `subnet` has a public address of `family`.
/// Only IPv4 addresses are told (`assignPublicIp`, `associatePublicIpAddress`,
/// `MapPublicIpOnLaunch`): an IPv6 address is unknown.
fn public_address(
    network: &Network,
    subnet: &str,
    address: Address,
    family: Family,
) -> Option<bool> {
    if family == Family::Ipv6 {
        return None;
    }
    match address {
        Address::Has(has) => Some(has),
        Address::SubnetDefault => network
            .subnet(subnet)
            .ok()
            .and_then(|s| s.map_public_ip_on_launch),
        Address::Unknown => None,
    }
}

/// The path when no port is known: closed by a missing address or route,
/// else unknown — the network ACL decides per port.
fn without_port(
    network: &Network,
    subnet: &str,
    address: Option<bool>,
    family: Family,
    wide: WidePrefixes,
    why: &str,
) -> Reachability {
    if address == Some(false) {
        return Reachability::NotReachable {
            why: format!("the interface in {subnet} has no public address"),
        };
    }
    let table = match route_table_for(network, subnet) {
        Ok(table) => table,
        Err(unknown) => return Reachability::Unknown { why: unknown.why },
    };
    match internet_route(network, table, family, wide) {
        RouteVerdict::NoRoute { route_table, near } => {
            let near = if near.is_empty() {
                String::new()
            } else {
                format!(": {}", near.join("; "))
            };
            Reachability::NotReachable {
                why: format!(
                    "{subnet} has no route to an internet gateway (route table {route_table}{near})"
                ),
            }
        }
        RouteVerdict::Unknown(unknown) => Reachability::Unknown { why: unknown.why },
        RouteVerdict::Internet(route) => {
            let address = match address {
                Some(_) => "the interface has a public address",
                None => "whether the interface has a public address was not read",
            };
            Reachability::Unknown {
                why: format!(
                    "{subnet} routes the {family} internet to {} (route {} {}) and {address}; the network ACL decides per port and {why}",
                    route.gateway, route.route_table, route.destination
                ),
            }
        }
    }
}

/// The lines of one finding: each subnet with each kind of traffic.
pub fn lines(
    networks: &Networks,
    placement: &Placement,
    traffic: &[Traffic],
    wide: WidePrefixes,
) -> Vec<PathLine> {
    let subnets = match &placement.subnets {
        Ok(subnets) => subnets,
        Err(why) => {
            return traffic
                .iter()
                .map(|t| {
                    PathLine::new(None, port_of(t), Reachability::Unknown { why: why.clone() })
                })
                .collect();
        }
    };
    let mut out = Vec::new();
    for subnet in subnets {
        for t in traffic {
            let reach = match networks.of(subnet) {
                Err(why) => Reachability::Unknown { why },
                Ok(network) => match t {
                    Traffic::Port {
                        protocol,
                        port,
                        family,
                    } => reach(
                        network,
                        subnet,
                        public_address(network, subnet, placement.address, *family),
                        *protocol,
                        *port,
                        *family,
                        wide,
                    ),
                    Traffic::Unnamed { family, why } => without_port(
                        network,
                        subnet,
                        public_address(network, subnet, placement.address, *family),
                        *family,
                        wide,
                        why,
                    ),
                },
            };
            out.push(PathLine::new(Some(subnet), port_of(t), reach));
        }
    }
    out
}

/// Adds the lines to the finding; one the internet reaches rises one
/// level. Nothing here lowers a severity.
pub fn apply(finding: &mut Finding, lines: Vec<PathLine>) {
    if lines.iter().any(PathLine::is_reachable) {
        finding.severity = finding.severity.raised();
    }
    finding.fields.reachability.extend(lines);
}

/// Adds each exposed finding its lines on `networks`; the findings are then
/// sorted again, most severe first.
pub fn add_lines(
    findings: &mut [Finding],
    exposed: Vec<Exposed>,
    placement: &Placement,
    networks: &Networks,
    wide: WidePrefixes,
) {
    for e in exposed {
        if let Some(finding) = findings.get_mut(e.finding) {
            apply(finding, lines(networks, placement, &e.traffic, wide));
        }
    }
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(b.rule)));
}

/// Every finding (by index) gets `reach` as its path, one line per port it
/// opens: where the same is true of every subnet (the group is used
/// nowhere, or where could not be read).
pub fn same_for_all(findings: &mut [Finding], exposed: &[usize], reach: &Reachability) {
    for &i in exposed {
        if let Some(f) = findings.get_mut(i) {
            let lines: Vec<PathLine> = open_traffic(std::slice::from_ref(f), &[])
                .iter()
                .map(|t| PathLine::new(None, port_of(t), reach.clone()))
                .collect();
            apply(f, lines);
        }
    }
}

/// The lines of a finding that opens a group where the group is in use:
/// each subnet its interfaces sit in (public when one of them there has a
/// public address) and each port the finding opens; every line unknown
/// (why) when the networks could not be read.
pub fn group_lines(
    networks: Result<&Networks, &str>,
    subnets: &BTreeMap<String, bool>,
    finding: &Finding,
    wide: WidePrefixes,
) -> Vec<PathLine> {
    let traffic = open_traffic(std::slice::from_ref(finding), &[]);
    let mut out = Vec::new();
    for (subnet, public) in subnets {
        let subnets = match networks {
            Err(why) => Err(why.to_string()),
            Ok(_) if subnet.is_empty() => {
                Err("an interface using the group names no subnet".to_string())
            }
            Ok(_) => Ok(vec![subnet.clone()]),
        };
        let placement = Placement {
            subnets,
            address: Address::Has(*public),
        };
        let none = Networks::default();
        out.extend(lines(networks.unwrap_or(&none), &placement, &traffic, wide));
    }
    out
}

/// `tcp/22`, or `None` when no port is named.
pub fn port_of(t: &Traffic) -> Option<String> {
    match t {
        Traffic::Port { protocol, port, .. } => Some(format!("{protocol}/{port}")),
        Traffic::Unnamed { .. } => None,
    }
}

/// Reads the networks of `placement`'s subnets (once, when a finding is
/// about exposure) and adds each exposed finding its lines; the findings
/// are then sorted again, most severe first.
pub async fn add_paths(
    vpcs: &dyn Vpcs,
    findings: &mut [Finding],
    exposed: Vec<Exposed>,
    placement: &Placement,
    wide: WidePrefixes,
    event_id: &str,
) -> Result<(), AwsError> {
    if exposed.iter().all(|e| e.traffic.is_empty()) {
        return Ok(());
    }
    let networks = match &placement.subnets {
        Ok(subnets) => read_networks(vpcs, subnets, event_id).await?,
        Err(_) => Networks::default(),
    };
    add_lines(findings, exposed, placement, &networks, wide);
    Ok(())
}

/// The group an open-group finding (ECS-SVC-004, EC2-CI-005) names: its
/// detail begins `sg-…: `.
pub fn group_of(finding: &Finding) -> Option<&str> {
    finding.detail.split_once(": ").map(|(group, _)| group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Action, Fields, Severity};
    use crate::model::net::Protocol;
    use crate::model::reach::test_support::public_network;

    const WIDE: WidePrefixes = WidePrefixes { ipv4: 8, ipv6: 16 };

    fn sg(protocol: &str, from: Option<i64>, to: Option<i64>, source: &str) -> Finding {
        Finding {
            rule: "EC2-SG-001",
            severity: Severity::Critical,
            title: "open",
            detail: String::new(),
            remediation: "",
            action: Action::Notify,
            resource: None,
            target: None,
            fields: Fields {
                protocol: Some(protocol.into()),
                from_port: from,
                to_port: to,
                source: Some(source.into()),
                ..Fields::default()
            },
        }
    }

    fn tcp(port: u16, family: Family) -> Traffic {
        Traffic::Port {
            protocol: Protocol::Tcp,
            port,
            family,
        }
    }

    fn networks() -> Networks {
        Networks {
            of_subnet: [("subnet-1".to_string(), Ok(0))].into_iter().collect(),
            read: vec![public_network()],
            whole: false,
        }
    }

    fn public_in(subnet: &str) -> Placement {
        Placement {
            subnets: Ok(vec![subnet.to_string()]),
            address: Address::Has(true),
        }
    }

    #[test]
    fn a_range_is_asked_on_the_ports_served_in_it_and_else_is_unnamed() {
        let range = [sg("tcp", Some(0), Some(65535), "0.0.0.0/0")];
        assert_eq!(
            open_traffic(&range, &[(Protocol::Tcp, 80), (Protocol::Udp, 53)]),
            [tcp(80, Family::Ipv4)]
        );
        assert_eq!(
            open_traffic(&range, &[]),
            [Traffic::Unnamed {
                family: Family::Ipv4,
                why: "tcp 0-65535 is a range and no port served in it is known".into()
            }]
        );
        let all = [sg("-1", None, None, "::/0")];
        assert_eq!(
            open_traffic(&all, &[(Protocol::Udp, 53)]),
            [Traffic::Port {
                protocol: Protocol::Udp,
                port: 53,
                family: Family::Ipv6
            }]
        );
        // A prefix list holds either family; the same port twice is asked once.
        let listed = [
            sg("tcp", Some(22), Some(22), "prefix list pl-1"),
            sg("6", Some(22), Some(22), "0.0.0.0/0"),
        ];
        assert_eq!(
            open_traffic(&listed, &[]),
            [tcp(22, Family::Ipv4), tcp(22, Family::Ipv6)]
        );
        assert!(matches!(
            open_traffic(&[sg("icmp", Some(8), Some(0), "0.0.0.0/0")], &[]).as_slice(),
            [Traffic::Unnamed { why, .. }] if why == "icmp has no ports"
        ));
    }

    #[test]
    fn only_a_reachable_line_raises_and_nothing_lowers() {
        let reachable = lines(
            &networks(),
            &public_in("subnet-1"),
            &[tcp(22, Family::Ipv4)],
            WIDE,
        );
        assert!(reachable[0].is_reachable());
        let closed = lines(
            &networks(),
            &Placement {
                address: Address::Has(false),
                ..public_in("subnet-1")
            },
            &[tcp(22, Family::Ipv4)],
            WIDE,
        );
        let unknown = lines(
            &networks(),
            &public_in("subnet-9"),
            &[tcp(22, Family::Ipv4)],
            WIDE,
        );
        assert_eq!(
            unknown[0].line,
            "subnet-9 tcp/22: unknown: the network of subnet-9 was not read"
        );
        for start in Severity::ALL {
            let mut f = sg("tcp", Some(22), Some(22), "0.0.0.0/0");
            f.severity = start;
            apply(&mut f, reachable.clone());
            assert_eq!(f.severity, start.raised(), "{start}");
            for kept in [&closed, &unknown] {
                let mut f = sg("tcp", Some(22), Some(22), "0.0.0.0/0");
                f.severity = start;
                apply(&mut f, kept.clone());
                assert_eq!(f.severity, start, "{start}: {kept:?}");
                assert_eq!(f.fields.reachability, *kept);
            }
        }
        // Raised once, however many lines reach it.
        let mut f = sg("tcp", Some(22), Some(22), "0.0.0.0/0");
        f.severity = Severity::Medium;
        apply(&mut f, [reachable.clone(), reachable].concat());
        assert_eq!(f.severity, Severity::High);
    }

    #[test]
    fn without_a_port_the_route_is_said_and_the_path_is_never_reachable() {
        let unnamed = [Traffic::Unnamed {
            family: Family::Ipv4,
            why: "no port is known".into(),
        }];
        let got = lines(&networks(), &public_in("subnet-1"), &unnamed, WIDE);
        assert_eq!(
            got[0].line,
            "subnet-1: unknown: subnet-1 routes the IPv4 internet to igw-0ab (route rtb-1 0.0.0.0/0) and the interface has a public address; the network ACL decides per port and no port is known"
        );
        let mut private = networks();
        private.read[0].route_tables[0].routes.truncate(1);
        let got = lines(&private, &public_in("subnet-1"), &unnamed, WIDE);
        assert_eq!(
            got[0].line,
            "subnet-1: not reachable now: subnet-1 has no route to an internet gateway (route table rtb-1)"
        );
    }

    #[test]
    fn an_ipv6_address_is_unknown_and_unnamed_subnets_are_said() {
        let got = lines(
            &networks(),
            &public_in("subnet-1"),
            &[tcp(22, Family::Ipv6)],
            WIDE,
        );
        assert_eq!(
            got[0].line,
            "subnet-1 tcp/22: unknown: whether the interface in subnet-1 has a public address was not read"
        );
        let nowhere = Placement {
            subnets: Err("the record names no subnet".into()),
            address: Address::Has(true),
        };
        let got = lines(&networks(), &nowhere, &[tcp(22, Family::Ipv4)], WIDE);
        assert_eq!(got[0].line, "tcp/22: unknown: the record names no subnet");
        assert_eq!(got[0].subnet, None);
    }
}
