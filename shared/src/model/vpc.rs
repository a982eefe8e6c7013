//! The VPC changes that open or close the way in (DESIGN §14): a route to an
//! internet gateway, a route table associated with a subnet, a network ACL
//! entry, a subnet that hands out public addresses, an internet gateway
//! attached to a VPC. Read from the CloudTrail record as EC2 writes it.

use super::event::Event;
use super::json::{FieldError, Node};
use super::net::{PortRange, Protocol, Source};

pub const CREATE_ROUTE: &str = "CreateRoute";
pub const REPLACE_ROUTE: &str = "ReplaceRoute";
pub const ASSOCIATE_ROUTE_TABLE: &str = "AssociateRouteTable";
pub const REPLACE_ROUTE_TABLE_ASSOCIATION: &str = "ReplaceRouteTableAssociation";
pub const CREATE_NETWORK_ACL_ENTRY: &str = "CreateNetworkAclEntry";
pub const REPLACE_NETWORK_ACL_ENTRY: &str = "ReplaceNetworkAclEntry";
pub const MODIFY_SUBNET_ATTRIBUTE: &str = "ModifySubnetAttribute";
pub const ATTACH_INTERNET_GATEWAY: &str = "AttachInternetGateway";

/// The EC2 calls this module reads.
pub const EVENT_NAMES: [&str; 8] = [
    CREATE_ROUTE,
    REPLACE_ROUTE,
    ASSOCIATE_ROUTE_TABLE,
    REPLACE_ROUTE_TABLE_ASSOCIATION,
    CREATE_NETWORK_ACL_ENTRY,
    REPLACE_NETWORK_ACL_ENTRY,
    MODIFY_SUBNET_ATTRIBUTE,
    ATTACH_INTERNET_GATEWAY,
];

/// The route targets a `CreateRoute`/`ReplaceRoute` names, one of which it
/// carries: the gateway is an internet gateway (`igw-`), a virtual private
/// gateway (`vgw-`) or, for `local`, the VPC itself.
const TARGETS: [&str; 9] = [
    "gatewayId",
    "egressOnlyInternetGatewayId",
    "natGatewayId",
    "instanceId",
    "networkInterfaceId",
    "vpcPeeringConnectionId",
    "transitGatewayId",
    "localGatewayId",
    "carrierGatewayId",
];

/// What a route sends traffic to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteDestination {
    /// An IPv4 or IPv6 network, host bits cleared.
    Cidr(Source),
    /// A managed prefix list (its entries are not in the record).
    PrefixList(String),
}

impl RouteDestination {
    /// True for `0.0.0.0/0` and `::/0` (whatever the host bits).
    pub fn is_everything(&self) -> bool {
        matches!(self, RouteDestination::Cidr(Source::Cidr(net)) if net.prefix_len() == 0)
    }
}

impl std::fmt::Display for RouteDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteDestination::Cidr(source) => write!(f, "{source}"),
            RouteDestination::PrefixList(id) => write!(f, "{id}"),
        }
    }
}

/// One network ACL entry as the call writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    pub acl: String,
    pub rule_number: i64,
    pub egress: bool,
    pub protocol: Protocol,
    /// The ports of a tcp or udp entry; every port for the others.
    pub ports: PortRange,
    pub source: Source,
    pub allow: bool,
}

impl AclEntry {
    /// True when the entry covers `port` over tcp (the way SSH and RDP
    /// clients come in): a tcp entry whose range holds it, or an entry for
    /// every protocol. UDP and ICMP entries never do.
    pub fn covers_tcp_port(&self, port: u16) -> bool {
        match self.protocol {
            Protocol::Tcp => self.ports.contains(port),
            p => p.is_all_traffic(),
        }
    }
}

impl std::fmt::Display for AclEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ports = if matches!(self.protocol, Protocol::Tcp | Protocol::Udp) {
            format!(" {}", self.ports)
        } else {
            String::new()
        };
        write!(
            f,
            "{} #{} {} {}{ports} {} {}",
            self.acl,
            self.rule_number,
            if self.egress { "outbound" } else { "inbound" },
            self.protocol,
            if self.egress { "to" } else { "from" },
            self.source,
        )?;
        write!(f, " {}", if self.allow { "allow" } else { "deny" })
    }
}

/// A change to the way in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetChange {
    /// `CreateRoute`/`ReplaceRoute`.
    Route {
        replaced: bool,
        route_table: String,
        destination: RouteDestination,
        /// The target's id (`igw-…`, `nat-…`, `local`, …).
        target: String,
    },
    /// `AssociateRouteTable` (a subnet, or a gateway for edge routing) or
    /// `ReplaceRouteTableAssociation` (the association's id: the subnet is
    /// not in the record).
    Association {
        route_table: String,
        subnet: Option<String>,
        association: Option<String>,
    },
    /// `CreateNetworkAclEntry`/`ReplaceNetworkAclEntry`.
    AclEntry { replaced: bool, entry: AclEntry },
    /// `ModifySubnetAttribute` with `mapPublicIpOnLaunch` (other attributes
    /// change nothing of the way in and are not handled).
    SubnetPublicIp { subnet: String, on: bool },
    /// `AttachInternetGateway`.
    AttachGateway { gateway: String, vpc: String },
}

impl NetChange {
    /// Reads a VPC change; `Ok(None)` for other events and for subnet
    /// attributes other than `mapPublicIpOnLaunch`. A field the judgement
    /// needs that is missing or malformed is an error naming its path.
    pub fn from_event(event: &Event) -> Result<Option<NetChange>, FieldError> {
        if !EVENT_NAMES.contains(&event.name.as_str()) || !event.is_from("ec2") {
            return Ok(None);
        }
        let request = event.request();
        if request.is_omitted() || request.object()?.is_none() {
            return Err(request.error("missing or omitted by CloudTrail"));
        }
        Ok(Some(match event.name.as_str() {
            CREATE_ROUTE | REPLACE_ROUTE => NetChange::Route {
                replaced: event.name == REPLACE_ROUTE,
                route_table: request.get("routeTableId").required_str()?.to_string(),
                destination: destination(&request)?,
                target: target(&request)?,
            },
            ASSOCIATE_ROUTE_TABLE | REPLACE_ROUTE_TABLE_ASSOCIATION => NetChange::Association {
                route_table: request.get("routeTableId").required_str()?.to_string(),
                subnet: request.get("subnetId").str()?.map(str::to_string),
                association: request.get("associationId").str()?.map(str::to_string),
            },
            CREATE_NETWORK_ACL_ENTRY | REPLACE_NETWORK_ACL_ENTRY => NetChange::AclEntry {
                replaced: event.name == REPLACE_NETWORK_ACL_ENTRY,
                entry: acl_entry(&request)?,
            },
            MODIFY_SUBNET_ATTRIBUTE => {
                let flag = request.get("mapPublicIpOnLaunch");
                if !flag.is_present() {
                    return Ok(None);
                }
                let on = flag
                    .get("value")
                    .bool()?
                    .ok_or_else(|| flag.get("value").error("missing"))?;
                NetChange::SubnetPublicIp {
                    subnet: request.get("subnetId").required_str()?.to_string(),
                    on,
                }
            }
            _ => NetChange::AttachGateway {
                gateway: request.get("internetGatewayId").required_str()?.to_string(),
                vpc: request.get("vpcId").required_str()?.to_string(),
            },
        }))
    }

    /// The resource the change is about, as alerts name it.
    pub fn resource(&self) -> String {
        match self {
            NetChange::Route { route_table, .. } => route_table.clone(),
            NetChange::Association {
                route_table,
                subnet,
                ..
            } => match subnet {
                Some(subnet) => format!("{subnet} ({route_table})"),
                None => route_table.clone(),
            },
            NetChange::AclEntry { entry, .. } => entry.acl.clone(),
            NetChange::SubnetPublicIp { subnet, .. } => subnet.clone(),
            NetChange::AttachGateway { gateway, vpc } => format!("{gateway} ({vpc})"),
        }
    }
}

fn destination(request: &Node) -> Result<RouteDestination, FieldError> {
    for key in ["destinationCidrBlock", "destinationIpv6CidrBlock"] {
        if let Some(cidr) = request.get(key).str()? {
            return Ok(RouteDestination::Cidr(Source::cidr(cidr)));
        }
    }
    match request.get("destinationPrefixListId").str()? {
        Some(list) => Ok(RouteDestination::PrefixList(list.to_string())),
        None => Err(request
            .error("no destinationCidrBlock, destinationIpv6CidrBlock or destinationPrefixListId")),
    }
}

fn target(request: &Node) -> Result<String, FieldError> {
    for key in TARGETS {
        if let Some(id) = request.get(key).str()? {
            return Ok(id.to_string());
        }
    }
    Err(request.error(format!("names no target (one of {})", TARGETS.join(", "))))
}

fn acl_entry(request: &Node) -> Result<AclEntry, FieldError> {
    let protocol_node = request.get("aclProtocol");
    let raw = match protocol_node.str()? {
        Some(text) => text.to_string(),
        None => protocol_node
            .int()?
            .ok_or_else(|| protocol_node.error("missing"))?
            .to_string(),
    };
    let protocol = Protocol::parse(&raw)
        .ok_or_else(|| protocol_node.error(format!("{raw:?} is not a protocol")))?;
    let action = request.get("ruleAction");
    let allow = match action.required_str()? {
        "allow" => true,
        "deny" => false,
        other => return Err(action.error(format!("{other:?} is neither allow nor deny"))),
    };
    let source = match (
        request.get("cidrBlock").str()?,
        request.get("ipv6CidrBlock").str()?,
    ) {
        (Some(cidr), _) | (None, Some(cidr)) => Source::cidr(cidr),
        (None, None) => return Err(request.error("no cidrBlock or ipv6CidrBlock")),
    };
    // EC2 applies an entry for every protocol to every port, whatever
    // range the call names.
    let ports = if matches!(protocol, Protocol::Tcp | Protocol::Udp) {
        let range = request.get("portRange");
        PortRange::from_bounds(range.get("from").port()?, range.get("to").port()?)
    } else {
        PortRange::from_bounds(None, None)
    };
    let egress = request.get("egress");
    Ok(AclEntry {
        acl: request.get("networkAclId").required_str()?.to_string(),
        rule_number: request
            .get("ruleNumber")
            .int()?
            .ok_or_else(|| request.get("ruleNumber").error("missing"))?,
        egress: egress.bool()?.ok_or_else(|| egress.error("missing"))?,
        protocol,
        ports,
        source,
        allow,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(name: &str, request: serde_json::Value) -> Result<Option<NetChange>, FieldError> {
        let record = json!({"eventID": "e", "eventName": name,
            "eventSource": "ec2.amazonaws.com", "requestParameters": request});
        NetChange::from_event(&Event::from_value(&record, "t").unwrap())
    }

    #[test]
    fn a_route_names_its_destination_and_target() {
        let c = change(
            CREATE_ROUTE,
            json!({"routeTableId": "rtb-1", "destinationCidrBlock": "1.2.3.4/0", "gatewayId": "igw-1"}),
        )
        .unwrap()
        .unwrap();
        let NetChange::Route {
            destination,
            target,
            ..
        } = &c
        else {
            panic!("{c:?}")
        };
        assert!(destination.is_everything(), "host bits in /0 are /0");
        assert_eq!(target, "igw-1");
        let v6 = change(
            REPLACE_ROUTE,
            json!({"routeTableId": "rtb-1", "destinationIpv6CidrBlock": "::/0",
                "egressOnlyInternetGatewayId": "eigw-1"}),
        )
        .unwrap()
        .unwrap();
        assert!(
            matches!(v6, NetChange::Route { replaced: true, ref target, .. } if target == "eigw-1")
        );
        let err = change(
            CREATE_ROUTE,
            json!({"routeTableId": "rtb-1", "destinationCidrBlock": "0.0.0.0/0"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("names no target"), "{err}");
    }

    #[test]
    fn an_acl_entry_is_read_with_its_protocol_ports_and_source() {
        let c = change(
            CREATE_NETWORK_ACL_ENTRY,
            json!({"networkAclId": "acl-1", "ruleNumber": 100, "egress": false,
                "ruleAction": "allow", "icmpTypeCode": {}, "portRange": {"from": 20, "to": 25},
                "aclProtocol": "6", "cidrBlock": "0.0.0.0/0"}),
        )
        .unwrap()
        .unwrap();
        let NetChange::AclEntry { entry, .. } = c else {
            panic!()
        };
        assert!(entry.covers_tcp_port(22));
        assert!(!entry.covers_tcp_port(3389));
        assert_eq!(
            entry.to_string(),
            "acl-1 #100 inbound tcp 20-25 from 0.0.0.0/0 allow"
        );
        let udp = change(
            REPLACE_NETWORK_ACL_ENTRY,
            json!({"networkAclId": "acl-1", "ruleNumber": 100, "egress": false,
                "ruleAction": "allow", "portRange": {"from": 22, "to": 22},
                "aclProtocol": "17", "ipv6CidrBlock": "::/0"}),
        )
        .unwrap()
        .unwrap();
        let NetChange::AclEntry { entry, .. } = udp else {
            panic!()
        };
        assert!(!entry.covers_tcp_port(22), "udp/22 is not SSH");
        let all = change(
            CREATE_NETWORK_ACL_ENTRY,
            json!({"networkAclId": "acl-1", "ruleNumber": 5, "egress": false,
                "ruleAction": "allow", "portRange": {}, "aclProtocol": "-1",
                "cidrBlock": "0.0.0.0/0"}),
        )
        .unwrap()
        .unwrap();
        let NetChange::AclEntry { entry, .. } = all else {
            panic!()
        };
        assert!(entry.covers_tcp_port(3389));
        for (request, field) in [
            (
                json!({"networkAclId": "acl-1", "ruleNumber": 5, "egress": false,
                    "ruleAction": "maybe", "aclProtocol": "6", "cidrBlock": "0.0.0.0/0"}),
                "ruleAction",
            ),
            (
                json!({"networkAclId": "acl-1", "ruleNumber": 5, "ruleAction": "allow",
                    "aclProtocol": "6", "cidrBlock": "0.0.0.0/0"}),
                "egress",
            ),
            (
                json!({"networkAclId": "acl-1", "ruleNumber": 5, "egress": false,
                    "ruleAction": "allow", "aclProtocol": "6"}),
                "requestParameters",
            ),
        ] {
            let err = change(CREATE_NETWORK_ACL_ENTRY, request).unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
    }

    #[test]
    fn only_the_public_ip_attribute_of_a_subnet_is_handled() {
        let on = change(
            MODIFY_SUBNET_ATTRIBUTE,
            json!({"subnetId": "subnet-1", "mapPublicIpOnLaunch": {"value": true}}),
        )
        .unwrap();
        assert_eq!(
            on,
            Some(NetChange::SubnetPublicIp {
                subnet: "subnet-1".to_string(),
                on: true
            })
        );
        let other = change(
            MODIFY_SUBNET_ATTRIBUTE,
            json!({"subnetId": "subnet-1", "enableDns64": {"value": true}}),
        )
        .unwrap();
        assert_eq!(other, None);
    }

    #[test]
    fn other_services_and_omitted_requests_are_not_read_as_vpc_changes() {
        let record = json!({"eventID": "e", "eventName": CREATE_ROUTE,
            "eventSource": "ec2.amazonaws.com", "requestParameters": null});
        assert!(NetChange::from_event(&Event::from_value(&record, "t").unwrap()).is_err());
        let elsewhere = json!({"eventID": "e", "eventName": CREATE_ROUTE,
            "eventSource": "lightsail.amazonaws.com", "requestParameters": {}});
        assert_eq!(
            NetChange::from_event(&Event::from_value(&elsewhere, "t").unwrap()).unwrap(),
            None
        );
    }
}
