use super::{describe, exposed_ports};
use crate::finding::{Action, Severity};
use crate::model::sg::SgRule;
use crate::rules::ec2_sg::SgContext;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an ingress rule from the internet whose tcp, udp or all-traffic
    /// range includes port 22. ICMP rules are not ports: ICMP type 22 is not SSH.
    ///
    /// ## Why is this bad?
    /// SSH servers are brute-forced within minutes of being exposed, and a weak key or old daemon is then a shell in your VPC.
    ///
    /// ## Example
    /// `tcp 22 from 0.0.0.0/0`, `tcp 0-65535 from ::/0`, `-1 from 128.0.0.0/1`.
    ///
    /// ## Fix
    /// Remove the rule; reach tasks with SSM Session Manager or ECS Exec, or allow 22 only from a VPN or bastion range.
    ///
    /// ## References
    /// Security Hub EC2.13, EC2.53, EC2.54; CIS AWS Foundations 5.2, 5.3; Checkov CKV_AWS_24.
    pub static SSH = {
        id: "EC2-SG-003",
        title: "SSH (22) open to the internet",
        severity: Severity::Critical,
        action: Action::Revoke,
        anchors: &["SH EC2.13", "SH EC2.53", "SH EC2.54", "CIS 5.2", "CIS 5.3", "CKV_AWS_24"],
        remediation: "Remove the rule; reach tasks with SSM Session Manager or ECS Exec, or allow 22 only from a VPN or bastion range.",
        check: crate::rules::Check::SgIngress(evaluate),
    }
}

/// Pure check: port 22 reachable from an internet-wide source.
pub fn evaluate(rule: &SgRule, ctx: &SgContext) -> Option<Hit> {
    let hit = exposed_ports(rule, ctx, &[22]);
    (!hit.is_empty()).then(|| Hit::new(describe(rule, ctx, &hit)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ec2_sg::test_support::{ctx, rule};

    #[test]
    fn port_22_from_the_internet() {
        let p = Policy::embedded();
        let p = ctx(&p);
        assert!(evaluate(&rule("tcp", 22, 22, "0.0.0.0/0"), &p).is_some());
        assert!(evaluate(&rule("6", 0, 65535, "::/0"), &p).is_some());
        assert!(evaluate(&rule("-1", -1, -1, "0.0.0.0/1"), &p).is_some());
        assert!(evaluate(&rule("udp", 22, 22, "8.8.8.8/0"), &p).is_some());
        assert!(
            evaluate(&rule("icmp", 22, -1, "0.0.0.0/0"), &p).is_none(),
            "an ICMP type is not a port"
        );
        assert!(evaluate(&rule("tcp", 22, 22, "203.0.113.0/24"), &p).is_none());
        assert!(evaluate(&rule("tcp", 22, 22, "127.0.0.1/32"), &p).is_none());
        assert!(evaluate(&rule("tcp", 22 + 1, 22 + 10, "0.0.0.0/0"), &p).is_none());
    }
}
