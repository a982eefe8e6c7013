use super::{describe, exposed_ports};
use crate::finding::{Action, Severity};
use crate::model::sg::SgRule;
use crate::rules::ec2_sg::SgContext;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an ingress rule from the internet that exposes a port of the
    /// policy's `ports.high_risk` list (default: Security Hub EC2.19's list —
    /// FTP, Telnet, SMTP, POP3, RPC, IMAP, SMB, SQL Server, MySQL, PostgreSQL,
    /// Kibana, Elasticsearch, common dev servers …).
    ///
    /// ## Why is this bad?
    /// These services carry data or credentials, are often run without TLS
    /// or authentication, and are scanned for continuously.
    ///
    /// ## Example
    /// `tcp 3306 from 0.0.0.0/0`; `tcp 5000-5600 from ::/0` (exposes 5000, 5432, 5500).
    ///
    /// ## Fix
    /// Keep databases and admin services private; reach them from inside the VPC.
    ///
    /// ## References
    /// Security Hub EC2.19.
    pub static HIGH_RISK_PORT = {
        id: "EC2-SG-005",
        title: "High-risk port open to the internet",
        severity: Severity::Critical,
        action: Action::Revoke,
        anchors: &["SH EC2.19"],
        remediation: "Remove the rule; keep the service private and reach it from inside the VPC.",
        check: crate::rules::Check::SgIngress(evaluate),
    }
}

/// Pure check: any high-risk port reachable from an internet-wide source.
pub fn evaluate(rule: &SgRule, ctx: &SgContext) -> Option<Hit> {
    let hit = exposed_ports(rule, ctx, &ctx.policy.high_risk_ports);
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
        assert_eq!(
            evaluate(&rule("tcp", 3306, 3306, "0.0.0.0/0"), &p)
                .unwrap()
                .detail,
            "tcp 3306 from 0.0.0.0/0"
        );
        let wide = evaluate(&rule("tcp", 5000, 5600, "::/0"), &p)
            .unwrap()
            .detail;
        assert!(wide.ends_with("exposing port 5000, 5432, 5500"), "{wide}");
        assert!(evaluate(&rule("tcp", 443, 443, "0.0.0.0/0"), &p).is_none());
        assert!(evaluate(&rule("tcp", 3306, 3306, "172.16.0.0/12"), &p).is_none());
    }
}
