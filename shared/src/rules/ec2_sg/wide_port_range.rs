use super::{from_internet, shown};
use crate::finding::{Action, Severity};
use crate::model::net::Protocol;
use crate::model::sg::SgRule;
use crate::rules::ec2_sg::SgContext;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a tcp or udp ingress rule from the internet whose port range spans
    /// at least `wide_port_range` ports (default 1000), up to the whole 0–65535.
    ///
    /// ## Why is this bad?
    /// A wide range opens ports nobody meant to publish: whatever listens on
    /// them today, and whatever will tomorrow.
    ///
    /// ## Example
    /// `tcp 0-65535 from 0.0.0.0/0`, `udp 1024-65535 from ::/0`.
    ///
    /// ## Fix
    /// Open only the ports the service serves.
    ///
    /// ## References
    /// Security Hub EC2.18; Prowler ec2_securitygroup_allow_ingress_from_internet_to_all_ports.
    pub static WIDE_PORT_RANGE = {
        id: "EC2-SG-002",
        title: "Whole or wide port range (≥ 1000 ports) open to the internet",
        severity: Severity::Critical,
        action: Action::Revoke,
        anchors: &["SH EC2.18", "Prowler all_ports"],
        remediation: "Replace the range with the few ports the service serves.",
        check: crate::rules::Check::SgIngress(evaluate),
    }
}

/// Pure check: a tcp/udp range of `wide_port_range` ports or more from the internet.
pub fn evaluate(rule: &SgRule, ctx: &SgContext) -> Option<Hit> {
    let range = rule.port_range()?;
    let wide = matches!(rule.protocol, Protocol::Tcp | Protocol::Udp)
        && range.count() >= ctx.policy.wide_port_range
        && from_internet(rule, ctx);
    wide.then(|| Hit::new(format!("{}, {} ports", shown(rule, ctx), range.count())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ec2_sg::test_support::{ctx, rule};

    #[test]
    fn wide_ranges_only() {
        let p = Policy::embedded();
        let p = ctx(&p);
        assert!(evaluate(&rule("tcp", 0, 65535, "0.0.0.0/0"), &p).is_some());
        assert!(evaluate(&rule("udp", 1000, 1999, "::/0"), &p).is_some());
        assert!(
            evaluate(&rule("tcp", 1000, 1998, "0.0.0.0/0"), &p).is_none(),
            "999 ports"
        );
        assert!(evaluate(&rule("tcp", 0, 65535, "192.168.0.0/16"), &p).is_none());
        assert!(evaluate(&rule("icmp", -1, -1, "0.0.0.0/0"), &p).is_none());
    }
}
