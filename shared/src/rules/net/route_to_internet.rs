use super::NetContext;
use crate::finding::{Action, Severity};
use crate::model::vpc::NetChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a change that gives subnets a route to the internet: a route
    /// for all addresses (`0.0.0.0/0` or `::/0`) to an internet gateway
    /// (`igw-`), a route table that has one associated with a subnet, or an
    /// internet gateway attached to a VPC whose route tables already send
    /// everything to it — when ECS tasks or container instances sit in those
    /// subnets, or when which do could not be read.
    ///
    /// ## Why is this bad?
    /// A task with a public IP or an instance with a public address is only
    /// reachable from the internet when its subnet routes to an internet
    /// gateway. Such a route turns a private subnet, where public IPs and
    /// world-open groups were harmless, into one where every one of them is
    /// a way in. An egress-only gateway (`eigw-`) admits nothing inbound and
    /// is not flagged.
    ///
    /// ## Example
    /// `CreateRoute {"routeTableId": "rtb-1", "destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}` on the table of a subnet where a Fargate service runs.
    ///
    /// ## Fix
    /// Route the subnet's outbound traffic through a NAT gateway instead, and
    /// put only load balancers in public subnets.
    ///
    /// ## References
    /// AWS, "Subnets for your VPC" (public and private subnets); Prowler
    /// `ec2_instance_public_ip` (which ignores routes).
    pub static ROUTE_TO_INTERNET = {
        id: "NET-001",
        title: "Route to an internet gateway makes a subnet with ECS tasks or container instances public",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond (public-IP checks elsewhere ignore routes)"],
        remediation: "Keep ECS tasks and container instances in private subnets (outbound through a NAT gateway); only load balancers belong in public subnets.",
        check: crate::rules::Check::Network(evaluate),
    }
}

/// The ECS workloads a public route now reaches, as the detail's end; no
/// hit when the subnets were read and hold none.
fn reached(ctx: &NetContext) -> Option<String> {
    match &ctx.facts.workloads {
        None => Some(
            "which ECS tasks and container instances sit in its subnets was not read".to_string(),
        ),
        Some(w) if w.is_empty() => None,
        Some(w) => Some(format!("reaches {}", w.join(", "))),
    }
}

/// Pure check over the change and what was read about it.
pub fn evaluate(change: &NetChange, ctx: &NetContext) -> Vec<Hit> {
    let detail = match change {
        NetChange::Route {
            route_table,
            destination,
            target,
            ..
        } if destination.is_everything() && target.starts_with("igw-") => {
            format!("{route_table} routes {destination} to {target}")
        }
        NetChange::Association {
            route_table,
            subnet,
            association,
        } => match &ctx.facts.internet_route {
            Some(Some(gateway)) => {
                let what = subnet
                    .as_deref()
                    .or(association.as_deref())
                    .unwrap_or("a gateway");
                format!("{what} now uses {route_table}, which routes everything to {gateway}")
            }
            _ => return Vec::new(),
        },
        NetChange::AttachGateway { gateway, vpc } => match &ctx.facts.internet_route {
            Some(Some(_)) => {
                format!("{gateway} attached to {vpc}, whose route tables send everything to it")
            }
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    match reached(ctx) {
        Some(end) => vec![Hit::new(format!("{detail}: {end}"))],
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::vpc::{ASSOCIATE_ROUTE_TABLE, CREATE_ROUTE, REPLACE_ROUTE};
    use crate::rules::net::test_support::{change, run};
    use crate::rules::net::NetFacts;
    use serde_json::json;

    fn route(destination: &str, target: (&str, &str)) -> NetChange {
        let mut request = json!({"routeTableId": "rtb-1", "destinationCidrBlock": destination});
        request[target.0] = json!(target.1);
        change(CREATE_ROUTE, request)
    }

    #[test]
    fn a_default_route_to_an_internet_gateway_is_flagged_with_what_it_reaches() {
        let unread = NetFacts::default();
        assert_eq!(
            run(evaluate, &route("0.0.0.0/0", ("gatewayId", "igw-1")), &unread),
            ["rtb-1 routes 0.0.0.0/0 to igw-1: which ECS tasks and container instances sit in its subnets was not read"]
        );
        let read = NetFacts {
            workloads: Some(vec!["service web (cluster prod)".to_string()]),
            ..NetFacts::default()
        };
        assert_eq!(
            run(evaluate, &route("8.8.8.8/0", ("gatewayId", "igw-1")), &read),
            ["rtb-1 routes 0.0.0.0/0 to igw-1: reaches service web (cluster prod)"]
        );
        let empty = NetFacts {
            workloads: Some(Vec::new()),
            ..NetFacts::default()
        };
        assert!(run(
            evaluate,
            &route("0.0.0.0/0", ("gatewayId", "igw-1")),
            &empty
        )
        .is_empty());
    }

    #[test]
    fn narrower_routes_nat_and_egress_only_gateways_are_not_the_way_in() {
        let unread = NetFacts::default();
        for c in [
            route("10.0.0.0/8", ("gatewayId", "igw-1")),
            route("0.0.0.0/0", ("natGatewayId", "nat-1")),
            route("0.0.0.0/0", ("gatewayId", "vgw-1")),
            change(
                REPLACE_ROUTE,
                json!({"routeTableId": "rtb-1", "destinationIpv6CidrBlock": "::/0",
                    "egressOnlyInternetGatewayId": "eigw-1"}),
            ),
        ] {
            assert!(run(evaluate, &c, &unread).is_empty(), "{c:?}");
        }
        let v6 = change(
            CREATE_ROUTE,
            json!({"routeTableId": "rtb-1", "destinationIpv6CidrBlock": "::/0", "gatewayId": "igw-1"}),
        );
        assert_eq!(run(evaluate, &v6, &unread).len(), 1, "IPv6 counts");
    }

    #[test]
    fn an_association_is_flagged_only_when_the_table_is_known_to_be_public() {
        let c = change(
            ASSOCIATE_ROUTE_TABLE,
            json!({"routeTableId": "rtb-1", "subnetId": "subnet-1"}),
        );
        let public = NetFacts {
            internet_route: Some(Some("igw-1".to_string())),
            workloads: Some(vec!["container instance i-1".to_string()]),
        };
        assert_eq!(
            run(evaluate, &c, &public),
            ["subnet-1 now uses rtb-1, which routes everything to igw-1: reaches container instance i-1"]
        );
        let private = NetFacts {
            internet_route: Some(None),
            ..NetFacts::default()
        };
        assert!(run(evaluate, &c, &private).is_empty());
    }
}
