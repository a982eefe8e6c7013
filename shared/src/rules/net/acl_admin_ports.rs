use super::NetContext;
use crate::finding::{Action, Severity};
use crate::model::vpc::NetChange;
use crate::rules::ecs_td::Hit;

/// The remote administration ports EC2.21 names.
const ADMIN_PORTS: [(u16, &str); 2] = [(22, "SSH"), (3389, "RDP")];

crate::rule! {
    /// ## What it does
    /// Flags a network ACL entry that allows inbound tcp traffic from the
    /// internet (`0.0.0.0/0`, `::/0`, or an internet-wide range as for
    /// security groups) on port 22 or 3389: a tcp entry whose range holds
    /// the port, or an entry for every protocol. A udp entry is not SSH.
    ///
    /// ## Why is this bad?
    /// The ACL is the subnet's outer fence: an entry that admits SSH or RDP
    /// from anywhere leaves only the security groups between the internet
    /// and every instance in the subnet.
    ///
    /// ## Example
    /// `CreateNetworkAclEntry {"networkAclId": "acl-1", "ruleNumber": 100, "egress": false, "ruleAction": "allow", "aclProtocol": "6", "portRange": {"from": 22, "to": 22}, "cidrBlock": "0.0.0.0/0"}`
    ///
    /// ## Fix
    /// Remove the entry, or allow the port only from your VPN or bastion
    /// range; reach tasks with ECS Exec or SSM Session Manager.
    ///
    /// ## References
    /// Security Hub EC2.21; CIS AWS Foundations 5.1.
    pub static ACL_ADMIN_PORTS = {
        id: "NET-002",
        title: "Network ACL admits the internet on 22 or 3389",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH EC2.21", "CIS 5.1"],
        remediation: "Remove the entry or narrow it to your administration range; use ECS Exec or Session Manager instead of SSH or RDP.",
        check: crate::rules::Check::Network(evaluate),
    }
}

/// Pure check over the change.
pub fn evaluate(change: &NetChange, ctx: &NetContext) -> Vec<Hit> {
    let NetChange::AclEntry { entry, .. } = change else {
        return Vec::new();
    };
    if entry.egress || !entry.allow || !entry.source.is_internet_wide(ctx.policy.wide) {
        return Vec::new();
    }
    let admitted: Vec<String> = ADMIN_PORTS
        .iter()
        .filter(|(port, _)| entry.covers_tcp_port(*port))
        .map(|(port, name)| format!("{name} ({port})"))
        .collect();
    if admitted.is_empty() {
        return Vec::new();
    }
    vec![Hit::new(format!(
        "{entry}: admits {}",
        admitted.join(" and ")
    ))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::vpc::{CREATE_NETWORK_ACL_ENTRY, REPLACE_NETWORK_ACL_ENTRY};
    use crate::rules::net::test_support::{change, run};
    use crate::rules::net::NetFacts;
    use serde_json::json;

    fn entry(
        protocol: &str,
        ports: (i64, i64),
        cidr: (&str, &str),
        egress: bool,
        action: &str,
    ) -> NetChange {
        let mut request = json!({"networkAclId": "acl-1", "ruleNumber": 100, "egress": egress,
            "ruleAction": action, "aclProtocol": protocol,
            "portRange": {"from": ports.0, "to": ports.1}});
        request[cidr.0] = json!(cidr.1);
        change(CREATE_NETWORK_ACL_ENTRY, request)
    }

    #[test]
    fn an_inbound_allow_from_the_internet_on_ssh_or_rdp_is_flagged() {
        let facts = NetFacts::default();
        let world = ("cidrBlock", "0.0.0.0/0");
        assert_eq!(
            run(
                evaluate,
                &entry("6", (22, 22), world, false, "allow"),
                &facts
            ),
            ["acl-1 #100 inbound tcp 22 from 0.0.0.0/0 allow: admits SSH (22)"]
        );
        assert_eq!(
            run(
                evaluate,
                &entry("-1", (0, 0), ("ipv6CidrBlock", "::/0"), false, "allow"),
                &facts
            ),
            ["acl-1 #100 inbound all traffic from ::/0 allow: admits SSH (22) and RDP (3389)"]
        );
        // Split halves are the internet, as for security groups.
        assert_eq!(
            run(
                evaluate,
                &entry(
                    "6",
                    (3389, 3389),
                    ("cidrBlock", "128.0.0.0/1"),
                    false,
                    "allow"
                ),
                &facts
            )
            .len(),
            1
        );
        let replaced = change(
            REPLACE_NETWORK_ACL_ENTRY,
            json!({"networkAclId": "acl-1", "ruleNumber": 100, "egress": false,
                "ruleAction": "allow", "aclProtocol": "6", "portRange": {"from": 1, "to": 65535},
                "cidrBlock": "0.0.0.0/0"}),
        );
        assert_eq!(run(evaluate, &replaced, &facts).len(), 1);
    }

    #[test]
    fn udp_egress_deny_private_sources_and_other_ports_are_not_flagged() {
        let facts = NetFacts::default();
        let world = ("cidrBlock", "0.0.0.0/0");
        for c in [
            entry("17", (22, 22), world, false, "allow"),
            entry("6", (22, 22), world, true, "allow"),
            entry("6", (22, 22), world, false, "deny"),
            entry("6", (22, 22), ("cidrBlock", "10.0.0.0/8"), false, "allow"),
            entry("6", (443, 443), world, false, "allow"),
            entry("1", (0, 0), world, false, "allow"),
        ] {
            assert!(run(evaluate, &c, &facts).is_empty(), "{c:?}");
        }
    }
}
