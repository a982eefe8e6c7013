use super::{prefix_list, SgContext};
use crate::finding::{Action, Severity};
use crate::model::sg::SgRule;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an ingress rule, any protocol or port, from a public network
    /// wider than the policy's `wide_public_ipv4_prefix` /
    /// `wide_public_ipv6_prefix` (default /16 and /32) and narrower than
    /// internet-wide (those are EC2-SG-001…007). A prefix list that holds such
    /// a network counts too. Private and special-purpose ranges are not public.
    ///
    /// ## Why is this bad?
    /// A /15 is 131,072 addresses of somebody else's network — a cloud
    /// provider's, an ISP's: far more than the office or partner the rule was
    /// meant for, and often a typo for a /32.
    ///
    /// ## Example
    /// `tcp 5432 from 52.0.0.0/11`, `tcp 443 from 2600:1f00::/24`.
    ///
    /// ## Fix
    /// Narrow the source to the addresses that need access, or put them in a
    /// reviewed prefix list.
    ///
    /// ## References
    /// Prowler ec2_securitygroup_allow_wide_open_public_ipv4.
    pub static WIDE_PUBLIC_CIDR = {
        id: "EC2-SG-009",
        title: "Wide public CIDR (narrower than internet-wide, wider than /16)",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["Prowler wide_open_public_ipv4"],
        remediation: "Narrow the source to the addresses that need access.",
        check: crate::rules::Check::SgIngress(evaluate),
    }
}

/// Pure check: a wide public source, directly or as an entry of the prefix list referenced.
pub fn evaluate(rule: &SgRule, ctx: &SgContext) -> Option<Hit> {
    let (wide, wide_public) = (ctx.policy.wide, ctx.policy.wide_public);
    if rule.source.is_wide_public(wide, wide_public) {
        return Some(Hit::new(rule.to_string()));
    }
    let (_, entries) = prefix_list(rule, ctx)?;
    let entries = entries?;
    if entries.internet_entry(wide).is_some() {
        return None;
    }
    let entry = entries.wide_public_entry(wide, wide_public)?;
    Some(Hit::new(format!("{rule}, which holds {entry}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::net::Source;
    use crate::model::sg::{PrefixListEntries, PrefixLists};
    use crate::policy::Policy;
    use crate::rules::ec2_sg::test_support::{ctx, rule};

    #[test]
    fn public_and_wide_but_not_the_internet() {
        let p = Policy::embedded();
        let p = ctx(&p);
        assert!(evaluate(&rule("tcp", 5432, 5432, "52.0.0.0/11"), &p).is_some());
        assert!(evaluate(&rule("tcp", 443, 443, "203.0.0.0/15"), &p).is_some());
        assert!(evaluate(&rule("tcp", 443, 443, "203.0.0.0/16"), &p).is_none());
        assert!(
            evaluate(&rule("icmp", -1, -1, "2600:1f00::/24"), &p).is_some(),
            "any protocol"
        );
        assert!(
            evaluate(&rule("tcp", 443, 443, "203.0.113.0/24"), &p).is_none(),
            "narrow"
        );
        assert!(
            evaluate(&rule("tcp", 443, 443, "10.0.0.0/8"), &p).is_none(),
            "private"
        );
        assert!(
            evaluate(&rule("tcp", 443, 443, "0.0.0.0/0"), &p).is_none(),
            "that is the internet"
        );
        assert!(
            evaluate(&rule("tcp", 22, 22, "0.0.0.0/1"), &p).is_none(),
            "internet-wide"
        );
    }

    #[test]
    fn through_a_prefix_list() {
        let policy = Policy::embedded();
        let mut lists = PrefixLists::new();
        lists.insert(
            "pl-wide".into(),
            PrefixListEntries::Read(vec![
                Source::cidr("198.51.100.0/24"),
                Source::cidr("52.0.0.0/12"),
            ]),
        );
        lists.insert(
            "pl-world".into(),
            PrefixListEntries::Read(vec![Source::cidr("52.0.0.0/12"), Source::cidr("0.0.0.0/0")]),
        );
        lists.insert(
            "pl-narrow".into(),
            PrefixListEntries::Read(vec![Source::cidr("198.51.100.0/24")]),
        );
        let c = SgContext {
            prefix_lists: &lists,
            ..ctx(&policy)
        };
        let via = |id: &str| {
            let mut r = rule("tcp", 443, 443, "0.0.0.0/0");
            r.source = Source::PrefixList(id.to_string());
            evaluate(&r, &c)
        };
        assert_eq!(
            via("pl-wide").unwrap().detail,
            "tcp 443 from prefix list pl-wide, which holds 52.0.0.0/12"
        );
        assert!(via("pl-world").is_none(), "the internet is EC2-SG-001…007");
        assert!(via("pl-narrow").is_none());
        assert!(via("pl-unread").is_none());
    }
}
