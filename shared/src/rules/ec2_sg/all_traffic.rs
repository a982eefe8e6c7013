use super::{from_internet, shown};
use crate::finding::{Action, Severity};
use crate::model::sg::SgRule;
use crate::rules::ec2_sg::SgContext;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an ingress rule that allows every protocol (`-1`), or a protocol
    /// number other than tcp, udp, icmp and icmpv6 (all of whose traffic it
    /// opens), from the internet.
    ///
    /// ## Why is this bad?
    /// Every port of every task behind the group is reachable from anywhere:
    /// admin ports, debug endpoints and sidecars included.
    ///
    /// ## Example
    /// `ipProtocol: "-1"` with `cidrIp: "0.0.0.0/0"`, or `ipProtocol: "47"` from `::/0`.
    ///
    /// ## Fix
    /// Allow only the protocol and ports the service serves, from the load
    /// balancer's security group rather than a CIDR.
    ///
    /// ## References
    /// Security Hub EC2.18, EC2.19; Checkov CKV_AWS_277.
    pub static ALL_TRAFFIC = {
        id: "EC2-SG-001",
        title: "All traffic open to the internet",
        severity: Severity::Critical,
        action: Action::Revoke,
        anchors: &["SH EC2.18", "SH EC2.19", "CKV_AWS_277"],
        remediation: "Remove the rule; allow only the ports the service serves, from the load balancer's security group.",
        check: crate::rules::Check::SgIngress(evaluate),
    }
}

/// Pure check: all traffic from an internet-wide source.
pub fn evaluate(rule: &SgRule, ctx: &SgContext) -> Option<Hit> {
    (rule.protocol.is_all_traffic() && from_internet(rule, ctx)).then(|| Hit::new(shown(rule, ctx)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ec2_sg::test_support::{ctx, rule};

    #[test]
    fn all_protocols_and_unknown_numbers() {
        let p = Policy::embedded();
        let p = ctx(&p);
        assert!(evaluate(&rule("-1", -1, -1, "0.0.0.0/0"), &p).is_some());
        assert!(evaluate(&rule("47", -1, -1, "::/0"), &p).is_some());
        assert!(evaluate(&rule("-1", -1, -1, "10.0.0.0/8"), &p).is_none());
        assert!(
            evaluate(&rule("tcp", 0, 65535, "0.0.0.0/0"), &p).is_none(),
            "that is EC2-SG-002"
        );
        assert!(evaluate(&rule("icmp", -1, -1, "0.0.0.0/0"), &p).is_none());
    }
}
