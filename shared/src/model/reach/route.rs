//! The subnet's route table and its route to an internet gateway.

use serde::Serialize;

use super::{span, Fact, Family, Network, RouteTable, Span, Unknown};
use crate::model::net::{Source, WidePrefixes};

/// The route a subnet's replies take to the internet, through an internet
/// gateway attached to the table's VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InternetRoute {
    pub route_table: String,
    /// The route's destination, masked (`0.0.0.0/0`, `::/0`).
    pub destination: String,
    /// The internet gateway (`igw-…`).
    pub gateway: String,
}

/// Whether a route table sends a family's internet to an internet gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RouteVerdict {
    Internet(InternetRoute),
    /// No route to an internet gateway: the table, and the routes that
    /// come near without being one (a blackhole, an egress-only gateway, a
    /// gateway not attached to the VPC), to say why.
    NoRoute {
        route_table: String,
        near: Vec<String>,
    },
    Unknown(Unknown),
}

/// The route table of a subnet: the table explicitly associated with it,
/// else the main table of the subnet's own VPC (never another VPC's).
pub fn route_table_for<'n>(
    network: &'n Network,
    subnet_id: &str,
) -> Result<&'n RouteTable, Unknown> {
    let not_read = || {
        network.not_read(
            Fact::RouteTables,
            format!("the route table of {subnet_id} was not read"),
        )
    };
    let explicit: Vec<&RouteTable> = network
        .route_tables
        .iter()
        .filter(|t| t.subnets.iter().any(|s| s == subnet_id))
        .collect();
    let subnet = network.subnet(subnet_id);
    match explicit.as_slice() {
        [table] => match subnet {
            Ok(subnet) if subnet.vpc_id != table.vpc_id => Err(Unknown::new(format!(
                "route table {} of {subnet_id} belongs to {}, the subnet to {}",
                table.id, table.vpc_id, subnet.vpc_id
            ))),
            _ => Ok(table),
        },
        [] => {
            let subnet = subnet?;
            let main: Vec<&RouteTable> = network
                .route_tables
                .iter()
                .filter(|t| t.main && t.vpc_id == subnet.vpc_id)
                .collect();
            match main.as_slice() {
                [table] => Ok(table),
                [] => Err(not_read()),
                several => Err(Unknown::new(format!(
                    "{} has more than one main route table ({})",
                    subnet.vpc_id,
                    ids(several.iter().map(|t| t.id.as_str()))
                ))),
            }
        }
        several => Err(Unknown::new(format!(
            "{subnet_id} is associated with more than one route table ({})",
            ids(several.iter().map(|t| t.id.as_str()))
        ))),
    }
}

/// Whether the table sends the family's internet to an internet gateway
/// attached to its VPC: an active route whose destination is the internet
/// (a `/0`, whatever its host bits, or internet-wide as a security group's
/// source would be) to an `igw-`. An egress-only gateway (`eigw-`) admits
/// nothing inbound; NAT gateways, peering, transit gateways and the like are
/// not the internet coming in; a blackhole is no route. A route to an
/// internet gateway through a prefix list, whose entries are not read, is
/// unknown, as is a gateway that was not read.
pub fn internet_route(
    network: &Network,
    table: &RouteTable,
    family: Family,
    wide: WidePrefixes,
) -> RouteVerdict {
    let mut near = Vec::new();
    let mut unknown = Vec::new();
    for route in &table.routes {
        let to_igw = route.target.starts_with("igw-");
        let to_eigw = route.target.starts_with("eigw-");
        if !to_igw && !to_eigw {
            continue;
        }
        let destination = &route.destination;
        match span(destination, family, wide) {
            Span::Outside => continue,
            Span::Unreadable if to_igw && route.active => {
                unknown.push(match destination {
                    Source::PrefixList(id) => format!(
                        "route table {} sends prefix list {id} to {} (its entries were not read)",
                        table.id, route.target
                    ),
                    other => format!("route table {} sends {other} to {}", table.id, route.target),
                });
                continue;
            }
            Span::Unreadable => continue,
            Span::Whole | Span::Wide => {}
        }
        let what = format!("{destination} to {}", route.target);
        if !route.active {
            near.push(format!("{what} is a blackhole"));
        } else if to_eigw {
            near.push(format!(
                "{what} is an egress-only gateway, which admits nothing inbound"
            ));
        } else {
            match network.internet_gateway(&route.target) {
                Ok(gateway) if gateway.attached_vpcs.contains(&table.vpc_id) => {
                    return RouteVerdict::Internet(InternetRoute {
                        route_table: table.id.clone(),
                        destination: destination.to_string(),
                        gateway: gateway.id.clone(),
                    });
                }
                Ok(_) => near.push(format!(
                    "{what}: the gateway is not attached to {}",
                    table.vpc_id
                )),
                Err(why) => unknown.push(why.why),
            }
        }
    }
    if unknown.is_empty() {
        RouteVerdict::NoRoute {
            route_table: table.id.clone(),
            near,
        }
    } else {
        RouteVerdict::Unknown(Unknown::new(unknown.join("; ")))
    }
}

fn ids<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    ids.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{igw, public_network, route, subnet, table};
    use super::*;
    use crate::model::reach::Network;

    const WIDE: WidePrefixes = WidePrefixes { ipv4: 8, ipv6: 16 };

    fn verdict(network: &Network, family: Family) -> RouteVerdict {
        match route_table_for(network, "subnet-1") {
            Ok(table) => internet_route(network, table, family, WIDE),
            Err(why) => RouteVerdict::Unknown(why),
        }
    }

    fn with_routes(routes: Vec<crate::model::reach::Route>) -> Network {
        let mut network = public_network();
        network.route_tables[0].routes = routes;
        network
    }

    fn internet(gateway: &str, destination: &str) -> RouteVerdict {
        RouteVerdict::Internet(InternetRoute {
            route_table: "rtb-1".to_string(),
            destination: destination.to_string(),
            gateway: gateway.to_string(),
        })
    }

    /// Two VPCs, each with a main table; subnet-a of vpc-a and subnet-b of
    /// vpc-b have no explicit association. vpc-b's main table is listed first.
    fn two_vpcs() -> Network {
        Network {
            subnets: vec![subnet("subnet-a", "vpc-a"), subnet("subnet-b", "vpc-b")],
            route_tables: vec![
                table(
                    "rtb-main-b",
                    "vpc-b",
                    true,
                    &[],
                    vec![route("0.0.0.0/0", "igw-b")],
                ),
                table(
                    "rtb-main-a",
                    "vpc-a",
                    true,
                    &[],
                    vec![route("10.0.0.0/16", "local")],
                ),
                table("rtb-other", "vpc-a", false, &["subnet-x"], vec![]),
            ],
            internet_gateways: vec![igw("igw-b", &["vpc-b"])],
            ..Network::default()
        }
    }

    #[test]
    fn a_subnet_without_association_uses_its_own_vpcs_main_table() {
        let network = two_vpcs();
        let a = route_table_for(&network, "subnet-a").map(|t| t.id.as_str());
        let b = route_table_for(&network, "subnet-b").map(|t| t.id.as_str());
        assert_eq!(a, Ok("rtb-main-a"));
        assert_eq!(b, Ok("rtb-main-b"));
    }

    #[test]
    fn an_explicit_association_wins_over_the_main_table() {
        let mut network = two_vpcs();
        network
            .route_tables
            .push(table("rtb-a1", "vpc-a", false, &["subnet-a"], vec![]));
        let a = route_table_for(&network, "subnet-a").map(|t| t.id.as_str());
        assert_eq!(a, Ok("rtb-a1"));
    }

    #[test]
    fn a_missing_table_or_subnet_is_unknown_naming_it() {
        let mut network = two_vpcs();
        network.route_tables.retain(|t| t.vpc_id != "vpc-a");
        assert_eq!(
            route_table_for(&network, "subnet-a"),
            Err(Unknown::new("the route table of subnet-a was not read"))
        );
        network
            .unread
            .insert(Fact::RouteTables, "UnauthorizedOperation".to_string());
        assert_eq!(
            route_table_for(&network, "subnet-a"),
            Err(Unknown::new(
                "the route table of subnet-a was not read (DescribeRouteTables: UnauthorizedOperation)"
            ))
        );
        assert_eq!(
            route_table_for(&network, "subnet-9"),
            Err(Unknown::new("subnet subnet-9 was not read"))
        );
    }

    #[test]
    fn contradicting_associations_are_unknown() {
        let mut network = two_vpcs();
        network
            .route_tables
            .push(table("rtb-1", "vpc-a", false, &["subnet-a"], vec![]));
        network
            .route_tables
            .push(table("rtb-2", "vpc-a", false, &["subnet-a"], vec![]));
        assert_eq!(
            route_table_for(&network, "subnet-a"),
            Err(Unknown::new(
                "subnet-a is associated with more than one route table (rtb-1, rtb-2)"
            ))
        );
        let mut network = two_vpcs();
        network
            .route_tables
            .push(table("rtb-b1", "vpc-b", false, &["subnet-a"], vec![]));
        assert!(
            route_table_for(&network, "subnet-a").is_err(),
            "another VPC's table"
        );
    }

    #[test]
    fn a_route_of_the_whole_family_to_an_attached_igw_is_the_internet() {
        let network = public_network();
        assert_eq!(
            verdict(&network, Family::Ipv4),
            internet("igw-0ab", "0.0.0.0/0")
        );
        assert_eq!(verdict(&network, Family::Ipv6), internet("igw-0ab", "::/0"));
    }

    #[test]
    fn host_bits_in_a_zero_prefix_are_the_whole_family() {
        let network = with_routes(vec![
            route("1.2.3.4/0", "igw-0ab"),
            route("2001:db8::1/0", "igw-0ab"),
        ]);
        assert_eq!(
            verdict(&network, Family::Ipv4),
            internet("igw-0ab", "0.0.0.0/0")
        );
        assert_eq!(verdict(&network, Family::Ipv6), internet("igw-0ab", "::/0"));
    }

    #[test]
    fn a_zero_prefix_is_the_whole_family_even_unmasked() {
        let unmasked = |raw: &str| crate::model::reach::Route {
            destination: raw
                .parse()
                .map(Source::Cidr)
                .unwrap_or(Source::Unparsed(raw.to_string())),
            target: "igw-0ab".to_string(),
            active: true,
        };
        let network = with_routes(vec![unmasked("1.2.3.4/0"), unmasked("2001:db8::1/0")]);
        assert_eq!(
            verdict(&network, Family::Ipv4),
            internet("igw-0ab", "1.2.3.4/0")
        );
        assert_eq!(
            verdict(&network, Family::Ipv6),
            internet("igw-0ab", "2001:db8::1/0")
        );
    }

    #[test]
    fn internet_wide_halves_are_the_internet_narrow_routes_are_not() {
        let network = with_routes(vec![route("0.0.0.0/1", "igw-0ab")]);
        assert_eq!(
            verdict(&network, Family::Ipv4),
            internet("igw-0ab", "0.0.0.0/1")
        );
        let network = with_routes(vec![
            route("203.0.113.0/24", "igw-0ab"),
            route("10.0.0.0/8", "igw-0ab"),
        ]);
        assert!(matches!(
            verdict(&network, Family::Ipv4),
            RouteVerdict::NoRoute { .. }
        ));
    }

    #[test]
    fn one_family_does_not_route_the_other() {
        let network = with_routes(vec![route("::/0", "igw-0ab")]);
        assert!(matches!(
            verdict(&network, Family::Ipv4),
            RouteVerdict::NoRoute { .. }
        ));
        let network = with_routes(vec![route("0.0.0.0/0", "igw-0ab")]);
        assert!(matches!(
            verdict(&network, Family::Ipv6),
            RouteVerdict::NoRoute { .. }
        ));
    }

    #[test]
    fn an_egress_only_gateway_admits_nothing() {
        let network = with_routes(vec![route("::/0", "eigw-1")]);
        assert_eq!(
            verdict(&network, Family::Ipv6),
            RouteVerdict::NoRoute {
                route_table: "rtb-1".to_string(),
                near: vec![
                    "::/0 to eigw-1 is an egress-only gateway, which admits nothing inbound"
                        .to_string()
                ],
            }
        );
    }

    #[test]
    fn a_blackhole_route_is_not_a_route() {
        let mut network = with_routes(vec![route("0.0.0.0/0", "igw-0ab")]);
        network.route_tables[0].routes[0].active = false;
        assert_eq!(
            verdict(&network, Family::Ipv4),
            RouteVerdict::NoRoute {
                route_table: "rtb-1".to_string(),
                near: vec!["0.0.0.0/0 to igw-0ab is a blackhole".to_string()],
            }
        );
    }

    #[test]
    fn nat_peering_and_transit_gateways_are_not_the_internet_inbound() {
        let network = with_routes(vec![
            route("0.0.0.0/0", "nat-1"),
            route("0.0.0.0/0", "pcx-1"),
            route("0.0.0.0/0", "tgw-1"),
            route("0.0.0.0/0", "eni-1"),
        ]);
        assert_eq!(
            verdict(&network, Family::Ipv4),
            RouteVerdict::NoRoute {
                route_table: "rtb-1".to_string(),
                near: vec![]
            }
        );
    }

    #[test]
    fn a_gateway_attached_to_another_vpc_is_not_the_way_in() {
        let mut network = public_network();
        network.internet_gateways = vec![igw("igw-0ab", &["vpc-2"])];
        assert_eq!(
            verdict(&network, Family::Ipv4),
            RouteVerdict::NoRoute {
                route_table: "rtb-1".to_string(),
                near: vec!["0.0.0.0/0 to igw-0ab: the gateway is not attached to vpc-1".to_string()],
            }
        );
    }

    #[test]
    fn a_gateway_not_read_is_unknown() {
        let mut network = public_network();
        network.internet_gateways.clear();
        network
            .unread
            .insert(Fact::InternetGateways, "AccessDenied".to_string());
        assert_eq!(
            verdict(&network, Family::Ipv4),
            RouteVerdict::Unknown(Unknown::new(
                "internet gateway igw-0ab was not read (DescribeInternetGateways: AccessDenied)"
            ))
        );
    }

    #[test]
    fn a_prefix_list_route_to_an_igw_is_unknown() {
        let network = with_routes(vec![route("pl-123", "igw-0ab"), route("pl-456", "nat-1")]);
        assert_eq!(
            verdict(&network, Family::Ipv4),
            RouteVerdict::Unknown(Unknown::new(
                "route table rtb-1 sends prefix list pl-123 to igw-0ab (its entries were not read)"
            ))
        );
        let network = with_routes(vec![route("pl-456", "nat-1")]);
        assert!(matches!(
            verdict(&network, Family::Ipv4),
            RouteVerdict::NoRoute { .. }
        ));
    }

    #[test]
    fn a_route_to_the_internet_decides_before_what_is_unknown() {
        let network = with_routes(vec![
            route("pl-123", "igw-0ab"),
            route("0.0.0.0/0", "igw-0ab"),
        ]);
        assert_eq!(
            verdict(&network, Family::Ipv4),
            internet("igw-0ab", "0.0.0.0/0")
        );
    }
}
