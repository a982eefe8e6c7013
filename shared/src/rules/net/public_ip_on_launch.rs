use super::NetContext;
use crate::finding::{Action, Severity};
use crate::model::vpc::NetChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a subnet set to give every network interface launched in it a
    /// public IPv4 address (`ModifySubnetAttribute` with
    /// `mapPublicIpOnLaunch: true`).
    ///
    /// ## Why is this bad?
    /// Container instances launched there get public addresses whether their
    /// launch template asks for one or not; in a subnet that routes to an
    /// internet gateway, each of them is then reachable through any group
    /// rule that admits the internet.
    ///
    /// ## Example
    /// `ModifySubnetAttribute {"subnetId": "subnet-1", "mapPublicIpOnLaunch": {"value": true}}`
    ///
    /// ## Fix
    /// Set `mapPublicIpOnLaunch` to false and give addresses only to what must
    /// be public (load balancers, NAT gateways).
    ///
    /// ## References
    /// Security Hub EC2.15.
    pub static PUBLIC_IP_ON_LAUNCH = {
        id: "NET-003",
        title: "Subnet hands out public IPv4 addresses at launch",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH EC2.15"],
        remediation: "Turn mapPublicIpOnLaunch off; only load balancers and NAT gateways need public addresses.",
        check: crate::rules::Check::Network(evaluate),
    }
}

/// Pure check over the change.
pub fn evaluate(change: &NetChange, _ctx: &NetContext) -> Vec<Hit> {
    match change {
        NetChange::SubnetPublicIp { subnet, on: true } => vec![Hit::new(format!(
            "{subnet}: mapPublicIpOnLaunch true (every interface launched in it gets a public IPv4 address)"
        ))],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::vpc::MODIFY_SUBNET_ATTRIBUTE;
    use crate::rules::net::test_support::{change, run};
    use crate::rules::net::NetFacts;
    use serde_json::json;

    #[test]
    fn turning_public_addresses_on_is_flagged_and_off_is_not() {
        let facts = NetFacts::default();
        let set = |value: bool| {
            change(
                MODIFY_SUBNET_ATTRIBUTE,
                json!({"subnetId": "subnet-1", "mapPublicIpOnLaunch": {"value": value}}),
            )
        };
        assert_eq!(
            run(evaluate, &set(true), &facts),
            ["subnet-1: mapPublicIpOnLaunch true (every interface launched in it gets a public IPv4 address)"]
        );
        assert!(run(evaluate, &set(false), &facts).is_empty());
    }
}
