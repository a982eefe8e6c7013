//! The parts of the path composed: a public address, a route to an
//! internet gateway, and a network ACL that lets the client in and the
//! replies out.

use std::fmt;

use serde::Serialize;

use super::{
    acl_admits, acl_for, internet_route, route_table_for, AclVerdict, EntryRef, Family, Network,
    RouteVerdict,
};
use crate::model::net::{Protocol, WidePrefixes};

/// Whether a client on the internet can reach a port in a subnet, as far as
/// the address, routes and network ACLs go (security groups are judged
/// elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reach", rename_all = "snake_case")]
pub enum Reachability {
    Reachable {
        /// What was asked: `tcp/22`.
        traffic: String,
        /// The internet gateway.
        via: String,
        route_table: String,
        /// The route's destination (`0.0.0.0/0`).
        destination: String,
        acl: String,
        /// The ACL entries that decided, inbound then outbound.
        acl_entries: Vec<EntryRef>,
        /// Reachable from part of the internet, or answered on part of the
        /// reply ports only: what is kept out.
        partly: Option<String>,
    },
    /// A part of the path is closed: why, naming the facts.
    NotReachable { why: String },
    /// No part is closed and one could not be decided: why.
    Unknown { why: String },
}

impl Reachability {
    /// The alert's line about the path.
    pub fn line(&self) -> String {
        match self {
            Reachability::Reachable {
                traffic,
                via,
                route_table,
                destination,
                acl,
                acl_entries,
                partly,
            } => {
                let entries = acl_entries
                    .iter()
                    .map(EntryRef::label)
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut line = format!(
                    "reachable from the internet on {traffic} via {via} (route {route_table} {destination}, acl {acl} {entries})"
                );
                if let Some(partly) = partly {
                    line.push_str(&format!(", partly: {partly}"));
                }
                line
            }
            Reachability::NotReachable { why } => format!("not reachable now: {why}"),
            Reachability::Unknown { why } => format!("unknown: {why}"),
        }
    }
}

impl fmt::Display for Reachability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line())
    }
}

/// Whether a client on the family's internet can reach `protocol`/`port` on
/// an interface in the subnet: it has a public address (`None`: not read),
/// the subnet's route table sends the internet to an attached internet
/// gateway, and the subnet's network ACL lets the client in and the replies
/// out. Every part must be open for `Reachable`; one closed part makes the
/// path `NotReachable` (naming what else was unknown); otherwise a part not
/// read makes it `Unknown`.
pub fn reach(
    network: &Network,
    subnet_id: &str,
    has_public_address: Option<bool>,
    protocol: Protocol,
    port: u16,
    family: Family,
    wide: WidePrefixes,
) -> Reachability {
    let mut closed = Vec::new();
    let mut unknown = Vec::new();
    match has_public_address {
        Some(true) => {}
        Some(false) => closed.push(format!(
            "the interface in {subnet_id} has no public address"
        )),
        None => unknown.push(format!(
            "whether the interface in {subnet_id} has a public address was not read"
        )),
    }
    let route = match route_table_for(network, subnet_id) {
        Ok(table) => match internet_route(network, table, family, wide) {
            RouteVerdict::Internet(route) => Some(route),
            RouteVerdict::NoRoute { route_table, near } => {
                let near = if near.is_empty() {
                    String::new()
                } else {
                    format!(": {}", near.join("; "))
                };
                closed.push(format!(
                    "{subnet_id} has no route to an internet gateway (route table {route_table}{near})"
                ));
                None
            }
            RouteVerdict::Unknown(why) => {
                unknown.push(why.why);
                None
            }
        },
        Err(why) => {
            unknown.push(why.why);
            None
        }
    };
    let acl = match acl_for(network, subnet_id) {
        Ok(acl) => match acl_admits(acl, protocol, port, family, wide) {
            AclVerdict::Admits { acl, entries } => Some((acl, entries, None)),
            AclVerdict::Partly { acl, entries, why } => Some((acl, entries, Some(why))),
            AclVerdict::Denies { why, .. } => {
                closed.push(why);
                None
            }
            AclVerdict::Unknown { why, .. } => {
                unknown.push(why);
                None
            }
        },
        Err(why) => {
            unknown.push(why.why);
            None
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    unknown.retain(|why| seen.insert(why.clone()));
    if !closed.is_empty() {
        let mut why = closed.join("; ");
        if !unknown.is_empty() {
            why.push_str(&format!("; also unknown: {}", unknown.join("; ")));
        }
        return Reachability::NotReachable { why };
    }
    match (route, acl) {
        (Some(route), Some((acl, acl_entries, partly))) if unknown.is_empty() => {
            Reachability::Reachable {
                traffic: format!("{protocol}/{port}"),
                via: route.gateway,
                route_table: route.route_table,
                destination: route.destination,
                acl,
                acl_entries,
                partly,
            }
        }
        _ => Reachability::Unknown {
            why: unknown.join("; "),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{acl, entry, public_network, route, subnet, table};
    use super::super::{Fact, Network};
    use super::*;

    const WIDE: WidePrefixes = WidePrefixes { ipv4: 8, ipv6: 16 };

    fn ssh(network: &Network, subnet_id: &str, public: Option<bool>) -> Reachability {
        reach(
            network,
            subnet_id,
            public,
            Protocol::Tcp,
            22,
            Family::Ipv4,
            WIDE,
        )
    }

    #[test]
    fn an_open_path_is_reachable_and_its_line_names_every_part() {
        let reach = ssh(&public_network(), "subnet-1", Some(true));
        assert_eq!(
            reach.line(),
            "reachable from the internet on tcp/22 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)"
        );
        let v6 = super::reach(
            &public_network(),
            "subnet-1",
            Some(true),
            Protocol::Udp,
            443,
            Family::Ipv6,
            WIDE,
        );
        assert_eq!(
            v6.line(),
            "reachable from the internet on udp/443 via igw-0ab (route rtb-1 ::/0, acl acl-1 #101 in, #101 out)"
        );
    }

    #[test]
    fn no_route_to_an_internet_gateway_is_not_reachable() {
        let mut network = public_network();
        network.route_tables[0].subnets.clear();
        network.route_tables.push(table(
            "rtb-2",
            "vpc-1",
            true,
            &[],
            vec![route("10.0.0.0/16", "local"), route("0.0.0.0/0", "nat-1")],
        ));
        assert_eq!(
            ssh(&network, "subnet-1", Some(true)).line(),
            "not reachable now: subnet-1 has no route to an internet gateway (route table rtb-2)"
        );
    }

    #[test]
    fn a_missing_route_table_is_unknown() {
        let mut network = public_network();
        network.subnets.push(subnet("subnet-9", "vpc-9"));
        network.network_acls.push(acl(
            "acl-9",
            "vpc-9",
            true,
            &[],
            super::super::test_support::open_entries(),
        ));
        assert_eq!(
            ssh(&network, "subnet-9", Some(true)).line(),
            "unknown: the route table of subnet-9 was not read"
        );
    }

    #[test]
    fn an_address_not_read_is_unknown_and_no_address_is_not_reachable() {
        assert_eq!(
            ssh(&public_network(), "subnet-1", None),
            Reachability::Unknown {
                why: "whether the interface in subnet-1 has a public address was not read"
                    .to_string()
            }
        );
        assert_eq!(
            ssh(&public_network(), "subnet-1", Some(false)).line(),
            "not reachable now: the interface in subnet-1 has no public address"
        );
    }

    #[test]
    fn an_acl_that_denies_closes_the_path_naming_its_rule() {
        let mut network = public_network();
        network.network_acls[0].entries.push(entry(
            90,
            false,
            "6",
            Some((22, 22)),
            "0.0.0.0/0",
            false,
        ));
        assert_eq!(
            ssh(&network, "subnet-1", Some(true)).line(),
            "not reachable now: network ACL acl-1 denies tcp/22 from the IPv4 internet (rule #90)"
        );
    }

    #[test]
    fn replies_that_cannot_leave_close_the_path() {
        let mut network = public_network();
        network.network_acls[0]
            .entries
            .push(entry(90, true, "-1", None, "0.0.0.0/0", false));
        assert_eq!(
            ssh(&network, "subnet-1", Some(true)).line(),
            "not reachable now: network ACL acl-1 lets no reply out: tcp to ports 1024-65535 on the IPv4 internet is denied (rule #90)"
        );
    }

    #[test]
    fn a_partly_open_acl_is_reachable_saying_what_is_kept_out() {
        let mut network = public_network();
        network.network_acls[0].entries.push(entry(
            90,
            true,
            "6",
            Some((1024, 32767)),
            "0.0.0.0/0",
            false,
        ));
        assert_eq!(
            ssh(&network, "subnet-1", Some(true)).line(),
            "reachable from the internet on tcp/22 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out), partly: replies leave only to ports 32768-65535 (rule #100 out)"
        );
    }

    #[test]
    fn a_closed_part_decides_even_when_another_is_unknown() {
        let mut network = public_network();
        network.route_tables.clear();
        network
            .unread
            .insert(Fact::RouteTables, "UnauthorizedOperation".to_string());
        assert_eq!(
            ssh(&network, "subnet-1", Some(true)).line(),
            "unknown: the route table of subnet-1 was not read (DescribeRouteTables: UnauthorizedOperation)"
        );
        network.network_acls[0]
            .entries
            .push(entry(90, false, "-1", None, "0.0.0.0/0", false));
        assert_eq!(
            ssh(&network, "subnet-1", Some(true)).line(),
            "not reachable now: network ACL acl-1 denies tcp/22 from the IPv4 internet (rule #90); also unknown: the route table of subnet-1 was not read (DescribeRouteTables: UnauthorizedOperation)"
        );
    }

    #[test]
    fn missing_facts_are_never_reachable() {
        let full = public_network();
        let cases: Vec<(&str, Network)> = vec![
            (
                "subnets",
                Network {
                    subnets: vec![],
                    ..full.clone()
                },
            ),
            (
                "acls",
                Network {
                    network_acls: vec![],
                    ..full.clone()
                },
            ),
            (
                "gateways",
                Network {
                    internet_gateways: vec![],
                    ..full.clone()
                },
            ),
            (
                "tables",
                Network {
                    route_tables: vec![],
                    ..full.clone()
                },
            ),
        ];
        for (what, network) in cases {
            let got = ssh(&network, "subnet-1", Some(true));
            assert!(
                matches!(got, Reachability::Unknown { .. }),
                "{what} missing: {got:?}"
            );
        }
        let got = ssh(&full, "subnet-404", Some(true));
        assert_eq!(got.line(), "unknown: subnet subnet-404 was not read");
    }
}
