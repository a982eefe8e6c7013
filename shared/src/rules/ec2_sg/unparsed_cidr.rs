use crate::finding::{Action, Severity};
use crate::model::net::Source;
use crate::model::sg::SgRule;
use crate::rules::ec2_sg::SgContext;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an ingress rule whose source CIDR does not parse as an IPv4 or
    /// IPv6 network.
    ///
    /// ## Why is this bad?
    /// What cannot be read cannot be judged safe. The record may have been
    /// altered or truncated; the Lambda re-reads the stored rule from EC2 and
    /// judges that instead.
    ///
    /// ## Example
    /// `cidrIp: "0.0.0.0/33"`, `cidrIp: "anywhere"`.
    ///
    /// ## Fix
    /// Check the rule in the console or with `aws ec2 describe-security-group-rules`.
    ///
    /// ## References
    /// Beyond the peers (they compare strings and pass what they cannot read).
    pub static UNPARSED_CIDR = {
        id: "EC2-SG-012",
        title: "Source CIDR that cannot be parsed",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Check the stored rule with aws ec2 describe-security-group-rules and correct it.",
        check: crate::rules::Check::SgIngress(evaluate),
    }
}

/// Pure check: the source is a CIDR that did not parse.
pub fn evaluate(rule: &SgRule, _ctx: &SgContext) -> Option<Hit> {
    matches!(rule.source, Source::Unparsed(_)).then(|| Hit::new(rule.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ec2_sg::test_support::{ctx, rule};

    #[test]
    fn unparseable_sources() {
        let p = Policy::embedded();
        let p = ctx(&p);
        assert!(evaluate(&rule("tcp", 22, 22, "0.0.0.0/33"), &p).is_some());
        assert!(evaluate(&rule("tcp", 22, 22, "0.0.0.0/0"), &p).is_none());
    }
}
