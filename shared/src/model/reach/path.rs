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
