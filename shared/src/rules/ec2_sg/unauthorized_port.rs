use super::{from_internet, shown};
use crate::finding::{Action, Severity};
use crate::model::net::Protocol;
use crate::model::sg::SgRule;
use crate::rules::ec2_sg::SgContext;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an ingress rule from the internet that opens any tcp or udp port
    /// outside the policy's `authorized_public_ports` (default tcp 80 and 443).
    /// All-traffic rules always qualify. ICMP has no ports and is not judged here.
    /// It is the catch-all: a rule already reported by a more specific rule
    /// (SSH, RDP, a listed port, a wide range) is not reported again here.
    ///
    /// ## Why is this bad?
    /// Every public port is attack surface; the authorized list is the
    /// team's deliberate decision about what the internet may reach.
    ///
    /// ## Example
    /// `tcp 55 from 0.0.0.0/0`, `udp 443 from ::/0` (only tcp 443 is authorized).
    ///
    /// ## Fix
    /// Serve the public entry points through a load balancer on the authorized
    /// ports, or add the port to `authorized_public_ports` if it is meant to be public.
    ///
    /// ## References
    /// Security Hub EC2.18.
    pub static UNAUTHORIZED_PORT = {
        id: "EC2-SG-007",
        title: "Port outside the authorized public ports open to the internet",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["SH EC2.18"],
        remediation: "Limit the source, or add the port to authorized_public_ports if it is meant to be public.",
        check: crate::rules::Check::SgIngress(evaluate),
    }
}

/// Pure check: some port of the range is not authorized for the protocol.
pub fn evaluate(rule: &SgRule, ctx: &SgContext) -> Option<Hit> {
    let range = rule.port_range()?;
    if !from_internet(rule, ctx) {
        return None;
    }
    let authorized: &[u16] = match rule.protocol {
        Protocol::Tcp => &ctx.policy.authorized_tcp,
        Protocol::Udp => &ctx.policy.authorized_udp,
        _ => &[],
    };
    // A range is authorized only when every one of its ports is.
    let all_authorized = (range.from..=range.to).all(|p| authorized.contains(&p));
    (!all_authorized).then(|| Hit::new(shown(rule, ctx)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ec2_sg::test_support::{ctx, rule};

    #[test]
    fn only_authorized_ports_pass() {
        let p = Policy::embedded();
        let p = ctx(&p);
        assert!(evaluate(&rule("tcp", 443, 443, "0.0.0.0/0"), &p).is_none());
        assert!(evaluate(&rule("tcp", 80, 80, "::/0"), &p).is_none());
        assert!(evaluate(&rule("tcp", 55, 55, "0.0.0.0/0"), &p).is_some());
        assert!(evaluate(&rule("udp", 443, 443, "0.0.0.0/0"), &p).is_some());
        assert!(evaluate(&rule("tcp", 80, 443, "0.0.0.0/0"), &p).is_some());
        assert!(evaluate(&rule("-1", -1, -1, "0.0.0.0/0"), &p).is_some());
        assert!(evaluate(&rule("icmp", 8, 0, "0.0.0.0/0"), &p).is_none());
        assert!(evaluate(&rule("tcp", 55, 55, "198.51.100.0/24"), &p).is_none());
    }
}
