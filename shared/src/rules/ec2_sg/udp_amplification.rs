use super::{describe, exposed_ports, SgContext};
use crate::finding::{Action, Severity};
use crate::model::net::Protocol;
use crate::model::sg::SgRule;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an ingress rule from the internet (a source as EC2-SG-003…006
    /// count it, a prefix list holding one included) whose udp or
    /// all-traffic range exposes a port of the policy's
    /// `ports.udp_amplification` list (default 53 DNS, 123 NTP, 137/138
    /// NetBIOS, 161 SNMP, 389 CLDAP, 1900 SSDP, 11211 memcached). It only
    /// notifies: a public DNS or NTP server may be deliberate.
    ///
    /// ## Why is this bad?
    /// These services answer a small spoofed request with a large reply: an
    /// open one is used to flood third parties (reflection and amplification
    /// DDoS), on your bill and under your addresses.
    ///
    /// ## Example
    /// `udp 53 from 0.0.0.0/0`, `udp 0-2000 from ::/0`, `-1 from 0.0.0.0/0`.
    ///
    /// ## Fix
    /// Allow the port only from the clients that need it; serve public DNS
    /// through Route 53 and time through the Amazon Time Sync Service.
    ///
    /// ## References
    /// Beyond the peers (they check tcp ports; CISA's UDP amplification list).
    pub static UDP_AMPLIFICATION = {
        id: "EC2-SG-008",
        title: "UDP amplification port open",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Allow the UDP port only from the clients that need it; use managed DNS and time services for the public.",
        check: crate::rules::Check::SgIngress(evaluate),
    }
}

/// Pure check: a udp (or all-traffic) range from the internet exposes an amplification port.
pub fn evaluate(rule: &SgRule, ctx: &SgContext) -> Option<Hit> {
    if !matches!(rule.protocol, Protocol::Udp | Protocol::All) {
        return None;
    }
    let hit = exposed_ports(rule, ctx, &ctx.policy.udp_amplification_ports);
    (!hit.is_empty()).then(|| Hit::new(describe(rule, ctx, &hit)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ec2_sg::test_support::{ctx, rule};

    #[test]
    fn amplification_ports_over_udp_from_the_internet() {
        let p = Policy::embedded();
        let p = ctx(&p);
        assert_eq!(
            evaluate(&rule("udp", 53, 53, "0.0.0.0/0"), &p)
                .unwrap()
                .detail,
            "udp 53 from 0.0.0.0/0"
        );
        assert!(evaluate(&rule("17", 123, 123, "::/0"), &p).is_some());
        let wide = evaluate(&rule("udp", 100, 2000, "0.0.0.0/1"), &p).unwrap();
        assert!(
            wide.detail
                .ends_with("exposing port 123, 137, 138, 161, 389, 1900"),
            "{}",
            wide.detail
        );
        assert!(
            evaluate(&rule("-1", -1, -1, "0.0.0.0/0"), &p).is_some(),
            "all traffic includes udp"
        );
        assert!(
            evaluate(&rule("tcp", 53, 53, "0.0.0.0/0"), &p).is_none(),
            "tcp is not amplified"
        );
        assert!(
            evaluate(&rule("47", -1, -1, "0.0.0.0/0"), &p).is_none(),
            "GRE carries no udp port"
        );
        assert!(evaluate(&rule("udp", 54, 100, "0.0.0.0/0"), &p).is_none());
        assert!(evaluate(&rule("udp", 53, 53, "10.0.0.0/8"), &p).is_none());
        assert!(evaluate(&rule("udp", 53, 53, "203.0.113.0/24"), &p).is_none());
    }

    #[test]
    fn the_policy_list_is_the_list() {
        let mut policy = Policy::embedded();
        policy.udp_amplification_ports = vec![5353];
        let p = ctx(&policy);
        assert!(evaluate(&rule("udp", 5353, 5353, "0.0.0.0/0"), &p).is_some());
        assert!(evaluate(&rule("udp", 53, 53, "0.0.0.0/0"), &p).is_none());
    }
}
