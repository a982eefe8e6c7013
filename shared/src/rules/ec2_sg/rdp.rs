use super::{describe, exposed_ports};
use crate::finding::{Action, Severity};
use crate::model::sg::SgRule;
use crate::rules::ec2_sg::SgContext;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an ingress rule from the internet whose tcp, udp or all-traffic
    /// range includes port 3389. ICMP rules are not ports: ICMP type 3389 is not RDP.
    ///
    /// ## Why is this bad?
    /// RDP is among the most attacked services on the internet (credential stuffing, BlueKeep-class bugs).
    ///
    /// ## Example
    /// `tcp 3389 from 0.0.0.0/0`, `tcp 0-65535 from ::/0`, `-1 from 128.0.0.0/1`.
    ///
    /// ## Fix
    /// Remove the rule; reach hosts through Fleet Manager or a VPN, or allow 3389 only from a known range.
    ///
    /// ## References
    /// Security Hub EC2.14, EC2.53, EC2.54; Checkov CKV_AWS_25.
    pub static RDP = {
        id: "EC2-SG-004",
        title: "RDP (3389) open to the internet",
        severity: Severity::Critical,
        action: Action::Revoke,
        anchors: &["SH EC2.14", "SH EC2.53", "SH EC2.54", "CKV_AWS_25"],
        remediation: "Remove the rule; reach hosts through Fleet Manager or a VPN, or allow 3389 only from a known range.",
        check: crate::rules::Check::SgIngress(evaluate),
    }
}

/// Pure check: port 3389 reachable from an internet-wide source.
pub fn evaluate(rule: &SgRule, ctx: &SgContext) -> Option<Hit> {
    let hit = exposed_ports(rule, ctx, &[3389]);
    (!hit.is_empty()).then(|| Hit::new(describe(rule, ctx, &hit)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ec2_sg::test_support::{ctx, rule};

    #[test]
    fn port_3389_from_the_internet() {
        let p = Policy::embedded();
        let p = ctx(&p);
        assert!(evaluate(&rule("tcp", 3389, 3389, "0.0.0.0/0"), &p).is_some());
        assert!(evaluate(&rule("6", 0, 65535, "::/0"), &p).is_some());
        assert!(evaluate(&rule("-1", -1, -1, "0.0.0.0/1"), &p).is_some());
        assert!(evaluate(&rule("udp", 3389, 3389, "8.8.8.8/0"), &p).is_some());
        assert!(
            evaluate(&rule("icmp", 3389, -1, "0.0.0.0/0"), &p).is_none(),
            "an ICMP type is not a port"
        );
        assert!(evaluate(&rule("tcp", 3389, 3389, "203.0.113.0/24"), &p).is_none());
        assert!(evaluate(&rule("tcp", 3389, 3389, "127.0.0.1/32"), &p).is_none());
        assert!(evaluate(&rule("tcp", 3389 + 1, 3389 + 10, "0.0.0.0/0"), &p).is_none());
    }
}
