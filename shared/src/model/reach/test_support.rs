//! Builders of the facts for the tests of the path's steps.

use super::{
    AclEntry, InternetGateway, Network, NetworkAcl, Route, RouteTable, Subnet, DEFAULT_RULE,
};
use crate::model::net::{PortRange, Protocol, Source};

pub fn subnet(id: &str, vpc_id: &str) -> Subnet {
    Subnet {
        id: id.to_string(),
        vpc_id: vpc_id.to_string(),
        map_public_ip_on_launch: Some(true),
    }
}

pub fn route(destination: &str, target: &str) -> Route {
    let destination = if destination.starts_with("pl-") {
        Source::PrefixList(destination.to_string())
    } else {
        Source::cidr(destination)
    };
    Route {
        destination,
        target: target.to_string(),
        active: true,
    }
}

pub fn table(
    id: &str,
    vpc_id: &str,
    main: bool,
    subnets: &[&str],
    routes: Vec<Route>,
) -> RouteTable {
    RouteTable {
        id: id.to_string(),
        vpc_id: vpc_id.to_string(),
        main,
        subnets: subnets.iter().map(|s| s.to_string()).collect(),
        routes,
    }
}

pub fn igw(id: &str, vpcs: &[&str]) -> InternetGateway {
    InternetGateway {
        id: id.to_string(),
        attached_vpcs: vpcs.iter().map(|s| s.to_string()).collect(),
    }
}

/// An entry: `ports` `None` for every port.
pub fn entry(
    rule_number: u16,
    egress: bool,
    protocol: &str,
    ports: Option<(u16, u16)>,
    cidr: &str,
    allow: bool,
) -> AclEntry {
    AclEntry {
        rule_number,
        egress,
        protocol: Protocol::parse(protocol).unwrap_or(Protocol::All),
        ports: ports.map(|(from, to)| PortRange { from, to }),
        cidr: Source::cidr(cidr),
        allow,
    }
}

/// The default `*` entries of both directions and families.
pub fn defaults() -> Vec<AclEntry> {
    let mut all = Vec::new();
    for egress in [false, true] {
        for cidr in ["0.0.0.0/0", "::/0"] {
            all.push(entry(DEFAULT_RULE, egress, "-1", None, cidr, false));
        }
    }
    all
}

/// An ACL holding `entries` and the default `*` entries.
pub fn acl(
    id: &str,
    vpc_id: &str,
    default: bool,
    subnets: &[&str],
    entries: Vec<AclEntry>,
) -> NetworkAcl {
    let mut all = entries;
    all.extend(defaults());
    NetworkAcl {
        id: id.to_string(),
        vpc_id: vpc_id.to_string(),
        default,
        subnets: subnets.iter().map(|s| s.to_string()).collect(),
        entries: all,
    }
}

/// Allows everything in and out, both families (a VPC's default ACL).
pub fn open_entries() -> Vec<AclEntry> {
    vec![
        entry(100, false, "-1", None, "0.0.0.0/0", true),
        entry(101, false, "-1", None, "::/0", true),
        entry(100, true, "-1", None, "0.0.0.0/0", true),
        entry(101, true, "-1", None, "::/0", true),
    ]
}

/// One VPC `vpc-1` with a public subnet `subnet-1` (route table `rtb-1`,
/// `0.0.0.0/0` and `::/0` to `igw-0ab`) and an open default ACL `acl-1`.
pub fn public_network() -> Network {
    Network {
        subnets: vec![subnet("subnet-1", "vpc-1")],
        route_tables: vec![table(
            "rtb-1",
            "vpc-1",
            false,
            &["subnet-1"],
            vec![
                route("10.0.0.0/16", "local"),
                route("0.0.0.0/0", "igw-0ab"),
                route("::/0", "igw-0ab"),
            ],
        )],
        network_acls: vec![acl("acl-1", "vpc-1", true, &[], open_entries())],
        internet_gateways: vec![igw("igw-0ab", &["vpc-1"])],
        unread: Default::default(),
    }
}
