//! The sweep's reads of the way in through the VPC: every subnet, route
//! table, network ACL, internet gateway and network interface of the place.

use super::*;
use crate::aws::vpc::{read_internet_gateways, read_network_acls, read_route_tables, read_subnets};

impl SdkEstate {
    /// Every VPC of the place (subnets, route tables, network ACLs,
    /// internet gateways) and every network interface: one paginated call
    /// per kind, no VPC filter, read at once.
    pub(super) async fn vpcs(&self) -> (Network, Vec<InterfaceState>, Part) {
        let mut part = Part::default();
        let count = || part.call();
        let (subnets, tables, acls, gateways, interfaces) = tokio::join!(
            read_subnets(&self.ec2, None, &count),
            read_route_tables(&self.ec2, None, &count),
            read_network_acls(&self.ec2, None, &count),
            read_internet_gateways(&self.ec2, None, &count),
            self.interfaces(&part)
        );
        let mut network = Network::default();
        network.subnets = network_kind(&mut network, &mut part, Fact::Subnets, subnets);
        network.route_tables = network_kind(&mut network, &mut part, Fact::RouteTables, tables);
        network.network_acls = network_kind(&mut network, &mut part, Fact::NetworkAcls, acls);
        network.internet_gateways =
            network_kind(&mut network, &mut part, Fact::InternetGateways, gateways);
        let interfaces = match interfaces {
            Ok(found) => found,
            Err(e) => {
                part.failed("DescribeNetworkInterfaces", e);
                Vec::new()
            }
        };
        (network, interfaces, part)
    }

    pub(super) async fn interfaces(&self, part: &Part) -> Result<Vec<InterfaceState>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            let page = self
                .ec2
                .describe_network_interfaces()
                .max_results(EC2_PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("DescribeNetworkInterfaces", &e))?;
            out.extend(page.network_interfaces().iter().map(interface_of));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }
}

/// Keeps a kind of the network that was read; one that was not is in the
/// network's unread and the estate's (by its call), and its list is empty
/// but unknown.
pub(super) fn network_kind<T>(
    network: &mut Network,
    part: &mut Part,
    fact: Fact,
    read: Result<Vec<T>, AwsError>,
) -> Vec<T> {
    match read {
        Ok(items) => items,
        Err(e) => {
            network.unread.insert(fact, e.code_or_kind());
            part.failed(fact.call(), e);
            Vec::new()
        }
    }
}

/// A network interface EC2 describes.
pub(super) fn interface_of(eni: &aws_sdk_ec2::types::NetworkInterface) -> InterfaceState {
    let mut private_ips: Vec<String> = eni
        .private_ip_addresses()
        .iter()
        .filter_map(|a| a.private_ip_address().map(str::to_string))
        .collect();
    if let Some(primary) = eni.private_ip_address() {
        if !private_ips.iter().any(|ip| ip == primary) {
            private_ips.push(primary.to_string());
        }
    }
    InterfaceState {
        id: eni.network_interface_id().unwrap_or_default().to_string(),
        vpc_id: eni.vpc_id().unwrap_or_default().to_string(),
        subnet_id: eni.subnet_id().unwrap_or_default().to_string(),
        private_ips,
        instance_id: eni
            .attachment()
            .and_then(|a| a.instance_id())
            .map(str::to_string),
        description: eni.description().unwrap_or_default().to_string(),
        public_ip: eni
            .association()
            .and_then(|a| a.public_ip())
            .map(str::to_string),
        groups: eni
            .groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
    }
}
