use super::{describe, exposed_ports};
use crate::finding::{Action, Severity};
use crate::model::sg::SgRule;
use crate::rules::ec2_sg::SgContext;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an ingress rule from the internet that exposes a port of the
    /// policy's `ports.data_plane` list: Docker (2375/2376), etcd, the
    /// Kubernetes API and kubelet, Redis, memcached, MongoDB, Cassandra, Kafka,
    /// Oracle, CouchDB, VNC, LDAP and the ECS agent introspection port 51678.
    ///
    /// ## Why is this bad?
    /// A reachable Docker or kubelet API is remote code execution; Redis,
    /// memcached and MongoDB commonly run without authentication.
    ///
    /// ## Example
    /// `tcp 2375 from 0.0.0.0/0`, `tcp 6379 from ::/0`.
    ///
    /// ## Fix
    /// Keep control and data planes private; reach them through a VPN or from inside the VPC.
    ///
    /// ## References
    /// Prowler ec2_securitygroup_allow_ingress_from_internet_to_* (one check per
    /// service family); the Docker, etcd, kubelet and ECS agent ports go beyond them.
    pub static DATA_PLANE_PORT = {
        id: "EC2-SG-006",
        title: "Data/admin plane port open to the internet",
        severity: Severity::High,
        action: Action::Revoke,
        anchors: &["Prowler port families"],
        remediation: "Remove the rule; keep data and control planes private.",
        check: crate::rules::Check::SgIngress(evaluate),
    }
}

/// Pure check: any data/admin-plane port reachable from an internet-wide source.
pub fn evaluate(rule: &SgRule, ctx: &SgContext) -> Option<Hit> {
    let hit = exposed_ports(rule, ctx, &ctx.policy.data_plane_ports);
    (!hit.is_empty()).then(|| Hit::new(describe(rule, ctx, &hit)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ec2_sg::test_support::{ctx, rule};

    #[test]
    fn listed_ports_only() {
        let p = Policy::embedded();
        let p = ctx(&p);
        assert!(evaluate(&rule("tcp", 2375, 2375, "0.0.0.0/0"), &p).is_some());
        assert!(evaluate(&rule("udp", 11211, 11211, "2000::/3"), &p).is_some());
        assert!(evaluate(&rule("tcp", 8443, 8443, "0.0.0.0/0"), &p).is_none());
    }
}
