//! Rules about the way in through the VPC (NET-*): a route to an internet
//! gateway, a network ACL entry, a subnet that hands out public addresses
//! (DESIGN §14), judged at `CreateRoute`, `ReplaceRoute`,
//! `AssociateRouteTable`, `ReplaceRouteTableAssociation`,
//! `Create/ReplaceNetworkAclEntry`, `ModifySubnetAttribute` and
//! `AttachInternetGateway`.

pub mod acl_admin_ports;
pub mod public_ip_on_launch;
pub mod route_to_internet;

use crate::policy::Policy;

/// What a Lambda read about the change; `None` where nothing was read (the
/// CLI, or a read that failed): the guard then says what could not be
/// judged, never that nothing was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetFacts {
    /// For an association or an attached gateway: the internet gateway the
    /// route table routes everything to (`Some(None)`: it routes nowhere
    /// public).
    pub internet_route: Option<Option<String>>,
    /// The ECS tasks and container instances in the subnets the change
    /// concerns, by id.
    pub workloads: Option<Vec<String>>,
}

/// What a network rule sees besides the change.
pub struct NetContext<'a> {
    pub policy: &'a Policy,
    pub facts: &'a NetFacts,
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::{NetContext, NetFacts};
    use crate::model::event::Event;
    use crate::model::vpc::NetChange;
    use crate::policy::Policy;
    use crate::rules::ecs_td::Hit;

    pub fn change(name: &str, request: serde_json::Value) -> NetChange {
        let record = serde_json::json!({"eventID": "e", "eventName": name,
            "eventSource": "ec2.amazonaws.com", "requestParameters": request});
        NetChange::from_event(&Event::from_value(&record, "t").unwrap())
            .unwrap()
            .unwrap()
    }

    pub fn run(
        check: fn(&NetChange, &NetContext) -> Vec<Hit>,
        change: &NetChange,
        facts: &NetFacts,
    ) -> Vec<String> {
        let policy = Policy::embedded();
        check(
            change,
            &NetContext {
                policy: &policy,
                facts,
            },
        )
        .into_iter()
        .map(|h| h.detail)
        .collect()
    }
}
