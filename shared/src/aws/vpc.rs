//! The VPC reads of the network guard (DESIGN §14): a VPC's subnets, route
//! tables, network ACLs and internet gateways, translated into the network
//! model, and the ECS tasks and instances in subnets. One call per page.

use async_trait::async_trait;
use aws_sdk_ec2::types::Filter;

use super::classify;
use crate::model::net::{PortRange, Protocol, Source};
use crate::model::reach::{
    AclEntry, Fact, InternetGateway, Network, NetworkAcl, Route, RouteTable, Subnet,
};
use crate::ports::{AwsError, GroupInterface, Interface, Vpcs, Workload};

/// EC2 pages of these calls hold at most 1,000 items (DescribeSubnets and
/// DescribeNetworkInterfaces take the same bound).
const PAGE: i32 = 1000;
/// A filter takes at most 200 values.
const FILTER_VALUES: usize = 200;
/// DescribeRouteTables and DescribeNetworkAcls return at most 100 a page.
const VPC_PAGE: i32 = 100;

/// The route targets EC2 names, in the order it lists them.
fn route_target(r: &aws_sdk_ec2::types::Route) -> String {
    [
        r.gateway_id(),
        r.egress_only_internet_gateway_id(),
        r.nat_gateway_id(),
        r.instance_id(),
        r.network_interface_id(),
        r.vpc_peering_connection_id(),
        r.transit_gateway_id(),
        r.local_gateway_id(),
        r.carrier_gateway_id(),
        r.core_network_arn(),
    ]
    .into_iter()
    .flatten()
    .next()
    .unwrap_or("unknown")
    .to_string()
}

fn route_of(r: &aws_sdk_ec2::types::Route) -> Option<Route> {
    let destination = match (
        r.destination_cidr_block(),
        r.destination_ipv6_cidr_block(),
        r.destination_prefix_list_id(),
    ) {
        (Some(cidr), _, _) | (None, Some(cidr), _) => Source::cidr(cidr),
        (None, None, Some(list)) => Source::PrefixList(list.to_string()),
        (None, None, None) => return None,
    };
    Some(Route {
        destination,
        target: route_target(r),
        active: r.state() != Some(&aws_sdk_ec2::types::RouteState::Blackhole),
    })
}

pub(crate) fn route_table_of(t: &aws_sdk_ec2::types::RouteTable) -> RouteTable {
    RouteTable {
        id: t.route_table_id().unwrap_or_default().to_string(),
        vpc_id: t.vpc_id().unwrap_or_default().to_string(),
        main: t.associations().iter().any(|a| a.main() == Some(true)),
        subnets: t
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id().map(str::to_string))
            .collect(),
        routes: t.routes().iter().filter_map(route_of).collect(),
    }
}

/// An entry EC2 describes; `Err` names what does not parse.
fn acl_entry_of(acl: &str, e: &aws_sdk_ec2::types::NetworkAclEntry) -> Result<AclEntry, String> {
    let raw = e.protocol().unwrap_or_default();
    let protocol =
        Protocol::parse(raw).ok_or_else(|| format!("{acl}: protocol {raw:?} does not parse"))?;
    let cidr = match (e.cidr_block(), e.ipv6_cidr_block()) {
        (Some(cidr), _) | (None, Some(cidr)) => Source::cidr(cidr),
        (None, None) => return Err(format!("{acl}: an entry without a CIDR block")),
    };
    let rule_number = e.rule_number().unwrap_or_default();
    Ok(AclEntry {
        rule_number: u16::try_from(rule_number)
            .map_err(|_| format!("{acl}: rule number {rule_number}"))?,
        egress: e.egress().unwrap_or(false),
        protocol,
        ports: match (protocol, e.port_range()) {
            (Protocol::Tcp | Protocol::Udp, Some(range)) => Some(PortRange::from_bounds(
                range.from().map(i64::from),
                range.to().map(i64::from),
            )),
            _ => None,
        },
        cidr,
        allow: e.rule_action() == Some(&aws_sdk_ec2::types::RuleAction::Allow),
    })
}

/// A subnet EC2 describes.
pub(crate) fn subnet_of(s: &aws_sdk_ec2::types::Subnet) -> Subnet {
    Subnet {
        id: s.subnet_id().unwrap_or_default().to_string(),
        vpc_id: s.vpc_id().unwrap_or_default().to_string(),
        map_public_ip_on_launch: s.map_public_ip_on_launch(),
    }
}

/// A network ACL EC2 describes; an entry that does not parse is an error
/// (the ACL cannot be judged without it).
pub(crate) fn network_acl_of(a: &aws_sdk_ec2::types::NetworkAcl) -> Result<NetworkAcl, AwsError> {
    let id = a.network_acl_id().unwrap_or_default().to_string();
    let entries = a
        .entries()
        .iter()
        .map(|e| acl_entry_of(&id, e))
        .collect::<Result<Vec<_>, String>>()
        .map_err(|problem| AwsError {
            operation: "DescribeNetworkAcls",
            code: Some("Unparsed".to_string()),
            message: problem,
            retryable: false,
        })?;
    Ok(NetworkAcl {
        vpc_id: a.vpc_id().unwrap_or_default().to_string(),
        default: a.is_default().unwrap_or(false),
        subnets: a
            .associations()
            .iter()
            .filter_map(|s| s.subnet_id().map(str::to_string))
            .collect(),
        entries,
        id,
    })
}

/// An internet gateway EC2 describes, with the VPCs it is attached to.
pub(crate) fn internet_gateway_of(g: &aws_sdk_ec2::types::InternetGateway) -> InternetGateway {
    InternetGateway {
        id: g.internet_gateway_id().unwrap_or_default().to_string(),
        attached_vpcs: g
            .attachments()
            .iter()
            .filter(|a| {
                matches!(
                    a.state().map(|s| s.as_str()),
                    Some("available" | "attached")
                )
            })
            .filter_map(|a| a.vpc_id().map(str::to_string))
            .collect(),
    }
}

/// EC2 reads of the VPC path.
#[derive(Debug, Clone)]
pub struct Ec2Vpcs {
    client: aws_sdk_ec2::Client,
}

impl Ec2Vpcs {
    pub fn new(client: aws_sdk_ec2::Client) -> Ec2Vpcs {
        Ec2Vpcs { client }
    }

    fn vpc_filter(name: &str, vpc: &str) -> Filter {
        Filter::builder().name(name).values(vpc).build()
    }
}

/// The readers of the VPC's kinds, shared by the network guard (one VPC:
/// `filter`) and the sweep (the whole place: `None`). Every page is one call,
/// counted by `on_call`.
pub(crate) async fn read_subnets(
    client: &aws_sdk_ec2::Client,
    filter: Option<Filter>,
    on_call: &(dyn Fn() + Send + Sync),
) -> Result<Vec<Subnet>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        on_call();
        let page = client
            .describe_subnets()
            .set_filters(filter.clone().map(|f| vec![f]))
            .max_results(PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify("DescribeSubnets", &e))?;
        out.extend(page.subnets().iter().map(subnet_of));
        token = next_page(page.next_token());
        if token.is_none() {
            return Ok(out);
        }
    }
}

pub(crate) async fn read_route_tables(
    client: &aws_sdk_ec2::Client,
    filter: Option<Filter>,
    on_call: &(dyn Fn() + Send + Sync),
) -> Result<Vec<RouteTable>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        on_call();
        let page = client
            .describe_route_tables()
            .set_filters(filter.clone().map(|f| vec![f]))
            .max_results(VPC_PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify("DescribeRouteTables", &e))?;
        out.extend(page.route_tables().iter().map(route_table_of));
        token = next_page(page.next_token());
        if token.is_none() {
            return Ok(out);
        }
    }
}

pub(crate) async fn read_network_acls(
    client: &aws_sdk_ec2::Client,
    filter: Option<Filter>,
    on_call: &(dyn Fn() + Send + Sync),
) -> Result<Vec<NetworkAcl>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        on_call();
        let page = client
            .describe_network_acls()
            .set_filters(filter.clone().map(|f| vec![f]))
            .max_results(VPC_PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify("DescribeNetworkAcls", &e))?;
        for a in page.network_acls() {
            out.push(network_acl_of(a)?);
        }
        token = next_page(page.next_token());
        if token.is_none() {
            return Ok(out);
        }
    }
}

pub(crate) async fn read_internet_gateways(
    client: &aws_sdk_ec2::Client,
    filter: Option<Filter>,
    on_call: &(dyn Fn() + Send + Sync),
) -> Result<Vec<InternetGateway>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        on_call();
        let page = client
            .describe_internet_gateways()
            .set_filters(filter.clone().map(|f| vec![f]))
            .max_results(PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify("DescribeInternetGateways", &e))?;
        out.extend(page.internet_gateways().iter().map(internet_gateway_of));
        token = next_page(page.next_token());
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// The token of the next page; `None` on the last.
fn next_page(token: Option<&str>) -> Option<String> {
    token.filter(|t| !t.is_empty()).map(str::to_string)
}

/// Keeps what was read; a failure that may pass on a retry is an error, any
/// other leaves the kind unread with its code.
fn kept<T>(
    network: &mut Network,
    fact: Fact,
    read: Result<Vec<T>, AwsError>,
) -> Result<Vec<T>, AwsError> {
    match read {
        Ok(items) => Ok(items),
        Err(e) if e.retryable => Err(e),
        Err(e) => {
            network.unread.insert(fact, e.code_or_kind());
            Ok(Vec::new())
        }
    }
}

#[async_trait]
impl Vpcs for Ec2Vpcs {
    async fn route_table_vpc(&self, route_table: &str) -> Result<Option<String>, AwsError> {
        let filter = Filter::builder()
            .name("route-table-id")
            .values(route_table)
            .build();
        Ok(read_route_tables(&self.client, Some(filter), &|| {})
            .await?
            .into_iter()
            .next()
            .map(|t| t.vpc_id))
    }

    async fn subnet_vpc(&self, subnet: &str) -> Result<Option<String>, AwsError> {
        // A filter, not `SubnetIds`: a subnet that does not exist is an
        // empty answer, not an error.
        let page = self
            .client
            .describe_subnets()
            .filters(Self::vpc_filter("subnet-id", subnet))
            .send()
            .await
            .map_err(|e| classify("DescribeSubnets", &e))?;
        Ok(page
            .subnets()
            .iter()
            .find(|s| s.subnet_id() == Some(subnet))
            .and_then(|s| s.vpc_id())
            .map(str::to_string))
    }

    async fn network(&self, vpc: &str) -> Result<Network, AwsError> {
        let uncounted = || {};
        let (subnets, tables, acls, gateways) = tokio::join!(
            read_subnets(
                &self.client,
                Some(Self::vpc_filter("vpc-id", vpc)),
                &uncounted
            ),
            read_route_tables(
                &self.client,
                Some(Self::vpc_filter("vpc-id", vpc)),
                &uncounted
            ),
            read_network_acls(
                &self.client,
                Some(Self::vpc_filter("vpc-id", vpc)),
                &uncounted
            ),
            read_internet_gateways(
                &self.client,
                Some(Self::vpc_filter("attachment.vpc-id", vpc)),
                &uncounted
            ),
        );
        let mut network = Network::default();
        network.subnets = kept(&mut network, Fact::Subnets, subnets)?;
        network.route_tables = kept(&mut network, Fact::RouteTables, tables)?;
        network.network_acls = kept(&mut network, Fact::NetworkAcls, acls)?;
        network.internet_gateways = kept(&mut network, Fact::InternetGateways, gateways)?;
        Ok(network)
    }

    async fn workloads(&self, subnets: &[String]) -> Result<Vec<Workload>, AwsError> {
        let mut out = Vec::new();
        for chunk in subnets.chunks(FILTER_VALUES) {
            let filter = Filter::builder()
                .name("subnet-id")
                .set_values(Some(chunk.to_vec()))
                .build();
            let mut token = None;
            loop {
                let page = self
                    .client
                    .describe_network_interfaces()
                    .filters(filter.clone())
                    .max_results(PAGE)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| classify("DescribeNetworkInterfaces", &e))?;
                for eni in page.network_interfaces() {
                    let id = eni.network_interface_id().unwrap_or_default();
                    let description = eni.description().unwrap_or_default();
                    let what =
                        if let Some(instance) = eni.attachment().and_then(|a| a.instance_id()) {
                            format!("instance {instance}")
                        } else if description.starts_with("arn:") && description.contains(":ecs:") {
                            // An awsvpc task's interface: ECS names its attachment.
                            format!("task interface {id} ({description})")
                        } else {
                            continue;
                        };
                    out.push(Workload {
                        what,
                        groups: eni
                            .groups()
                            .iter()
                            .filter_map(|g| g.group_id().map(str::to_string))
                            .collect(),
                    });
                }
                token = page
                    .next_token()
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
        }
        out.sort_by(|a, b| a.what.cmp(&b.what));
        out.dedup_by(|a, b| a.what == b.what);
        Ok(out)
    }

    async fn target_interfaces(&self, vpc: &str, target: &str) -> Result<Vec<Interface>, AwsError> {
        // An instance target is named by its id; an ip target by its
        // private address, matched within the target group's VPC.
        let by = if target.starts_with("i-") {
            "attachment.instance-id"
        } else {
            "addresses.private-ip-address"
        };
        let page = self
            .client
            .describe_network_interfaces()
            .filters(Self::vpc_filter("vpc-id", vpc))
            .filters(Filter::builder().name(by).values(target).build())
            .send()
            .await
            .map_err(|e| classify("DescribeNetworkInterfaces", &e))?;
        Ok(page
            .network_interfaces()
            .iter()
            .map(|eni| Interface {
                id: eni.network_interface_id().unwrap_or_default().to_string(),
                public_ip: eni
                    .association()
                    .and_then(|a| a.public_ip())
                    .map(str::to_string),
                groups: eni
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_string))
                    .collect(),
            })
            .collect())
    }

    async fn group_interfaces(&self, group_id: &str) -> Result<Vec<GroupInterface>, AwsError> {
        let filter = Filter::builder().name("group-id").values(group_id).build();
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .describe_network_interfaces()
                .filters(filter.clone())
                .max_results(PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("DescribeNetworkInterfaces", &e))?;
            out.extend(page.network_interfaces().iter().map(|eni| {
                GroupInterface {
                    id: eni.network_interface_id().unwrap_or_default().to_string(),
                    subnet_id: eni.subnet_id().unwrap_or_default().to_string(),
                    public_ip: eni
                        .association()
                        .and_then(|a| a.public_ip())
                        .map(str::to_string),
                    description: eni.description().unwrap_or_default().to_string(),
                }
            }));
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }
}
