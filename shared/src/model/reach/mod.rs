//! The network path from the internet to a subnet (DESIGN §4, last
//! paragraph, and §14): the facts EC2 holds about a place's VPCs (subnets,
//! route tables, network ACLs, internet gateways) and the pure decisions over
//! them. Each decision carries the ids of the facts it rests on, and a fact
//! that was not read makes it "unknown" with why, never open or closed.
//!
//! Security groups are judged elsewhere; this is the part of the path
//! before them. This file holds the facts and what the steps share; the
//! steps, one file each:
//! - `route`: the subnet's route table and its route to an internet gateway;
//! - `acl`: the subnet's network ACL and whether it lets a client on the
//!   internet in and the replies out;
//! - `path`: the three parts composed into one [`Reachability`].

mod acl;
mod path;
mod route;

use std::collections::BTreeMap;
use std::fmt;

use ipnet::IpNet;
use serde::Serialize;

use crate::model::net::{PortRange, Protocol, Source, WidePrefixes};

pub use acl::{acl_admits, acl_for, AclVerdict, EPHEMERAL_PORTS};
pub use path::{reach, Reachability};
pub use route::{internet_route, route_table_for, InternetRoute, RouteVerdict};

/// The rule number EC2 gives the default `*` entry of a network ACL (one per
/// direction and address family; it denies what no other entry matched).
pub const DEFAULT_RULE: u16 = 32767;

/// An address family: the internet of IPv4 or that of IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    /// The family of a network.
    pub fn of(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::Ipv4,
            IpNet::V6(_) => Family::Ipv6,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}

/// A subnet as `DescribeSubnets` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    /// Whether instances launched in it get a public IPv4 address; `None`:
    /// not read.
    pub map_public_ip_on_launch: Option<bool>,
}

/// A route table as `DescribeRouteTables` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    /// The main table of its VPC: the table of every subnet of the VPC that
    /// has no explicit association.
    pub main: bool,
    /// The subnets explicitly associated with it.
    pub subnets: Vec<String>,
    pub routes: Vec<Route>,
}

/// One route of a route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// An IPv4 or IPv6 CIDR (masked, as [`Source::cidr`] reads it), a prefix
    /// list ([`Source::PrefixList`]), or a CIDR that did not parse.
    pub destination: Source,
    /// Where the route sends traffic, as EC2 names it: `igw-…`, `eigw-…`,
    /// `nat-…`, `local`, `i-…`, `eni-…`, `pcx-…`, `tgw-…`, `vgw-…`.
    pub target: String,
    /// State `active`; `false` for a blackhole (its target is gone).
    pub active: bool,
}

/// A network ACL as `DescribeNetworkAcls` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAcl {
    pub id: String,
    pub vpc_id: String,
    /// The default ACL of its VPC: the ACL of every subnet of the VPC that
    /// has no explicit association.
    pub default: bool,
    /// The subnets associated with it.
    pub subnets: Vec<String>,
    pub entries: Vec<AclEntry>,
}

/// One entry (rule) of a network ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    /// Its number: entries are evaluated from the lowest; [`DEFAULT_RULE`]
    /// is the `*` entry.
    pub rule_number: u16,
    /// An outbound entry (traffic leaving the subnet); `false`: inbound.
    pub egress: bool,
    /// The protocol (EC2 gives its number, or `-1` for all).
    pub protocol: Protocol,
    /// The ports, for tcp and udp; `None`: every port.
    pub ports: Option<PortRange>,
    /// The IPv4 or IPv6 block the entry matches (source inbound,
    /// destination outbound), masked as [`Source::cidr`] reads it.
    pub cidr: Source,
    /// `allow`; `false`: `deny`.
    pub allow: bool,
}

/// An internet gateway as `DescribeInternetGateways` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternetGateway {
    pub id: String,
    /// The VPCs it is attached to (attachment state `available`).
    pub attached_vpcs: Vec<String>,
}

/// A kind of fact, read with one EC2 call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fact {
    Subnets,
    RouteTables,
    NetworkAcls,
    InternetGateways,
}

impl Fact {
    /// The EC2 call that reads it.
    pub fn call(self) -> &'static str {
        match self {
            Fact::Subnets => "DescribeSubnets",
            Fact::RouteTables => "DescribeRouteTables",
            Fact::NetworkAcls => "DescribeNetworkAcls",
            Fact::InternetGateways => "DescribeInternetGateways",
        }
    }
}

/// The read facts of one place's VPCs (an account and region).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    pub subnets: Vec<Subnet>,
    pub route_tables: Vec<RouteTable>,
    pub network_acls: Vec<NetworkAcl>,
    pub internet_gateways: Vec<InternetGateway>,
    /// The kinds of fact that could not be read, and why (the AWS error
    /// code). What is missing from the lists is then unknown, not absent.
    pub unread: BTreeMap<Fact, String>,
}

impl Network {
    /// The subnet, or why it is unknown.
    pub fn subnet(&self, subnet_id: &str) -> Result<&Subnet, Unknown> {
        self.subnets
            .iter()
            .find(|s| s.id == subnet_id)
            .ok_or_else(|| self.not_read(Fact::Subnets, format!("subnet {subnet_id} was not read")))
    }

    /// The internet gateway, or why it is unknown.
    pub fn internet_gateway(&self, id: &str) -> Result<&InternetGateway, Unknown> {
        self.internet_gateways
            .iter()
            .find(|g| g.id == id)
            .ok_or_else(|| {
                self.not_read(
                    Fact::InternetGateways,
                    format!("internet gateway {id} was not read"),
                )
            })
    }

    /// "Unknown: `what`", with the reason when the whole kind was not read.
    fn not_read(&self, fact: Fact, what: String) -> Unknown {
        match self.unread.get(&fact) {
            Some(reason) => Unknown::new(format!("{what} ({}: {reason})", fact.call())),
            None => Unknown::new(what),
        }
    }
}

/// A part of the path that could not be decided, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unknown {
    pub why: String,
}

impl Unknown {
    pub fn new(why: impl Into<String>) -> Unknown {
        Unknown { why: why.into() }
    }
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.why)
    }
}

/// One entry of a network ACL named as evidence: `acl-1 #100 in`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EntryRef {
    pub acl: String,
    pub rule_number: u16,
    pub egress: bool,
}

impl EntryRef {
    pub fn of(acl: &NetworkAcl, entry: &AclEntry) -> EntryRef {
        EntryRef {
            acl: acl.id.clone(),
            rule_number: entry.rule_number,
            egress: entry.egress,
        }
    }

    /// The rule as the console shows it: `#100`, or `*` for the default entry.
    pub fn rule(&self) -> String {
        rule_label(self.rule_number)
    }

    /// The rule and its direction, without the ACL: `#100 in`.
    pub fn label(&self) -> String {
        let direction = if self.egress { "out" } else { "in" };
        format!("{} {direction}", self.rule())
    }
}

impl fmt::Display for EntryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.acl, self.label())
    }
}

fn rule_label(rule_number: u16) -> String {
    if rule_number == DEFAULT_RULE {
        "*".to_string()
    } else {
        format!("#{rule_number}")
    }
}

/// How much of a family's internet a network (a route's destination, an ACL
/// entry's block) stands for, with the security-group notion of an internet
/// source (DESIGN §4, [`Source::is_internet_wide`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    /// The whole family: a `/0`, whatever its host bits.
    Whole,
    /// Internet-wide but not all of it (`0.0.0.0/1`, a public `/8`): the
    /// internet for an allow, a part of it for a deny.
    Wide,
    /// Another family, a private range or a narrower public one: not the
    /// internet.
    Outside,
    /// A CIDR that did not parse, or not a CIDR at all: cannot be placed.
    Unreadable,
}

fn span(network: &Source, family: Family, wide: WidePrefixes) -> Span {
    match network {
        Source::Cidr(net) if Family::of(net) != family => Span::Outside,
        Source::Cidr(net) if net.prefix_len() == 0 => Span::Whole,
        Source::Cidr(_) if network.is_internet_wide(wide) => Span::Wide,
        Source::Cidr(_) => Span::Outside,
        _ => Span::Unreadable,
    }
}

#[cfg(test)]
pub(crate) mod test_support;
