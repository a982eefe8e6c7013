//! Rules about security-group ingress (EC2-SG-*).

pub mod all_traffic;
pub mod data_plane_port;
pub mod default_group;
pub mod external_source;
pub mod high_risk_port;
pub mod rdp;
pub mod ssh;
pub mod traffic;
pub mod udp_amplification;
pub mod unauthorized_port;
pub mod unparsed_cidr;
pub mod wide_port_range;
pub mod wide_public_cidr;

use crate::model::net::Source;
use crate::model::sg::{PrefixListEntries, PrefixLists, SgChange, SgRule};
use crate::policy::Policy;

/// What an ingress check sees besides the rule: the policy, and what is
/// known of the rule's group and of the prefix lists the rules reference.
#[derive(Clone, Copy)]
pub struct SgContext<'a> {
    pub policy: &'a Policy,
    /// `None`: the name is not known (not "not default").
    pub group_name: Option<&'a str>,
    /// The Lambda could not read the name (EC2-SG-010 says it is unknown).
    pub group_name_unread: bool,
    /// The account that owns the group.
    pub account: Option<&'a str>,
    /// The prefix lists as read (empty offline: not read).
    pub prefix_lists: &'a PrefixLists,
}

impl<'a> SgContext<'a> {
    /// The context of the rules of `change`.
    pub fn of(change: &'a SgChange, policy: &'a Policy) -> SgContext<'a> {
        SgContext {
            policy,
            group_name: change.group_name.as_deref(),
            group_name_unread: change.group_name_unread,
            account: change.account.as_deref(),
            prefix_lists: &change.prefix_lists,
        }
    }
}

/// Rules about where an ingress rule sits or whom it trusts (the default
/// group, prefix lists and other accounts' groups), not about what it
/// exposes: they neither stand in for the EC2-SG-007 catch-all nor make a
/// group "open to the internet" for what sits behind it.
pub const CONTEXT_RULES: [&str; 2] = [
    default_group::DEFAULT_GROUP.id,
    external_source::EXTERNAL_SOURCE.id,
];

/// What the services behind a group are exposed to from the internet: its
/// findings without those about where a rule sits or whom it trusts
/// ([`CONTEXT_RULES`]) and without wide-but-not-internet sources
/// (EC2-SG-009). ECS-SVC-004 joins these, in the event path and the sweep.
pub fn internet_exposure(findings: Vec<crate::finding::Finding>) -> Vec<crate::finding::Finding> {
    findings.into_iter().filter(opens_to_internet).collect()
}

/// True for a finding that says the group admits the internet: not one
/// about where a rule sits or whom it trusts, nor a wide CIDR short of the
/// internet (see [`internet_exposure`]).
pub fn opens_to_internet(f: &crate::finding::Finding) -> bool {
    !CONTEXT_RULES.contains(&f.rule) && f.rule != wide_public_cidr::WIDE_PUBLIC_CIDR.id
}

/// The prefix list the rule references, and what is known of it (`None`: not read).
fn prefix_list<'c>(
    rule: &SgRule,
    ctx: &SgContext<'c>,
) -> Option<(&'c str, Option<&'c PrefixListEntries>)> {
    match &rule.source {
        Source::PrefixList(id) => Some(match ctx.prefix_lists.get_key_value(id) {
            Some((id, entries)) => (id.as_str(), Some(entries)),
            None => ("", None),
        }),
        _ => None,
    }
}

/// The entry through which a rule that references a prefix list is open to
/// the internet: a list holding an internet-wide entry counts as the internet.
fn internet_entry<'c>(rule: &SgRule, ctx: &SgContext<'c>) -> Option<&'c Source> {
    prefix_list(rule, ctx)?.1?.internet_entry(ctx.policy.wide)
}

/// True when the rule lets the internet in (DESIGN §4): from an internet-wide
/// source, or through a prefix list that holds one.
fn from_internet(rule: &SgRule, ctx: &SgContext) -> bool {
    rule.source.is_internet_wide(ctx.policy.wide) || internet_entry(rule, ctx).is_some()
}

/// `tcp 22 from 0.0.0.0/0 (sgr-…)`; through a prefix list, with the entry that opens it.
fn shown(rule: &SgRule, ctx: &SgContext) -> String {
    match internet_entry(rule, ctx) {
        Some(entry) => format!("{rule}, which holds {entry}"),
        None => rule.to_string(),
    }
}

/// The ports of `list` that an internet-open rule exposes, in list order.
fn exposed_ports(rule: &SgRule, ctx: &SgContext, list: &[u16]) -> Vec<u16> {
    match rule.port_range() {
        Some(range) if from_internet(rule, ctx) => list
            .iter()
            .copied()
            .filter(|&p| range.contains(p))
            .collect(),
        _ => Vec::new(),
    }
}

/// `tcp 22 from 0.0.0.0/0 (sgr-…)`, plus which of `ports` it covers when the range is wider.
fn describe(rule: &SgRule, ctx: &SgContext, ports: &[u16]) -> String {
    let exact = rule.port_range().is_some_and(|r| r.count() == 1);
    if ports.is_empty() || exact {
        return shown(rule, ctx);
    }
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    format!("{}, exposing port {}", shown(rule, ctx), list.join(", "))
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::SgContext;
    use crate::model::net::{Protocol, Source};
    use crate::model::sg::{Direction, PrefixLists, SgRule};
    use crate::policy::Policy;

    static NO_LISTS: PrefixLists = PrefixLists::new();

    /// The context of a group whose name and account are not known, with no prefix list read.
    pub fn ctx(policy: &Policy) -> SgContext<'_> {
        SgContext {
            policy,
            group_name: None,
            group_name_unread: false,
            account: None,
            prefix_lists: &NO_LISTS,
        }
    }

    /// An ingress rule from a protocol, port bounds and a CIDR.
    pub fn rule(protocol: &str, from: i64, to: i64, cidr: &str) -> SgRule {
        SgRule {
            rule_id: None,
            direction: Direction::Ingress,
            ip_protocol: protocol.to_string(),
            protocol: Protocol::parse(protocol).unwrap(),
            from_port: Some(from),
            to_port: Some(to),
            source: Source::cidr(cidr),
            description: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::rule;
    use crate::finding::{Action, Severity};
    use crate::model::net::Source;
    use crate::model::sg::{ChangeKind, PrefixListEntries, PrefixLists, SgChange, SgRule};
    use crate::policy::Policy;
    use crate::rules::evaluate_sg;

    fn change(rules: Vec<SgRule>) -> SgChange {
        SgChange {
            kind: ChangeKind::Authorize,
            group_id: Some("sg-1".to_string()),
            group_name: Some("web".to_string()),
            group_name_unread: false,
            account: Some("111122223333".to_string()),
            prefix_lists: PrefixLists::new(),
            rules,
        }
    }

    fn ids(change: &SgChange) -> Vec<(&'static str, Option<usize>)> {
        evaluate_sg(change, &Policy::embedded())
            .iter()
            .map(|f| (f.rule, f.target))
            .collect()
    }

    fn via(list: &str, proto: &str, port: i64) -> SgRule {
        SgRule {
            source: Source::PrefixList(list.to_string()),
            ..rule(proto, port, port, "0.0.0.0/0")
        }
    }

    #[test]
    fn udp_amplification_replaces_the_catch_all_and_never_revokes() {
        let c = change(vec![rule("udp", 53, 53, "0.0.0.0/0")]);
        assert_eq!(ids(&c), [("EC2-SG-008", Some(0))], "008, not also 007");
        let findings = evaluate_sg(&c, &Policy::embedded());
        assert_eq!(findings[0].action, Action::Notify);
        assert_eq!(findings[0].severity, Severity::High);
        // A port 008 does not list is still the catch-all's.
        assert_eq!(
            ids(&change(vec![rule("udp", 5353, 5353, "0.0.0.0/0")])),
            [("EC2-SG-007", Some(0))]
        );
    }

    #[test]
    fn where_a_rule_sits_does_not_stand_in_for_the_catch_all() {
        let mut c = change(vec![rule("tcp", 8443, 8443, "0.0.0.0/0")]);
        c.group_name = Some("default".to_string());
        assert_eq!(ids(&c), [("EC2-SG-007", Some(0)), ("EC2-SG-010", Some(0))]);
        c.group_name = Some("web".to_string());
        c.rules = vec![via("pl-world", "tcp", 8443)];
        c.prefix_lists.insert(
            "pl-world".into(),
            PrefixListEntries::Read(vec![Source::cidr("0.0.0.0/0")]),
        );
        assert_eq!(ids(&c), [("EC2-SG-007", Some(0)), ("EC2-SG-011", Some(0))]);
    }

    #[test]
    fn a_prefix_list_holding_the_internet_is_the_internet_for_every_rule() {
        let mut c = change(vec![
            via("pl-world", "tcp", 22),
            via("pl-world", "tcp", 3389),
            via("pl-world", "udp", 123),
            via("pl-office", "tcp", 22),
            via("pl-denied", "tcp", 22),
            via("pl-aws", "tcp", 22),
            via("pl-unread", "tcp", 22),
        ]);
        c.prefix_lists.insert(
            "pl-world".into(),
            PrefixListEntries::Read(vec![Source::cidr("198.51.100.0/24"), Source::cidr("::/0")]),
        );
        c.prefix_lists.insert(
            "pl-office".into(),
            PrefixListEntries::Read(vec![Source::cidr("198.51.100.0/24")]),
        );
        c.prefix_lists.insert(
            "pl-denied".into(),
            PrefixListEntries::Unknown("AccessDenied".into()),
        );
        c.prefix_lists
            .insert("pl-aws".into(), PrefixListEntries::AwsManaged);
        let findings = evaluate_sg(&c, &Policy::embedded());
        let on = |i: usize| -> Vec<&str> {
            findings
                .iter()
                .filter(|f| f.target == Some(i))
                .map(|f| f.rule)
                .collect()
        };
        assert_eq!(on(0), ["EC2-SG-003", "EC2-SG-011"]);
        assert_eq!(on(1), ["EC2-SG-004", "EC2-SG-011"]);
        assert_eq!(on(2), ["EC2-SG-008", "EC2-SG-011"]);
        for i in 3..7 {
            assert_eq!(on(i), ["EC2-SG-011"], "rule {i}: not the internet");
        }
        let ssh = findings.iter().find(|f| f.rule == "EC2-SG-003").unwrap();
        assert_eq!(
            ssh.detail,
            "tcp 22 from prefix list pl-world, which holds ::/0"
        );
        assert_eq!(ssh.action, Action::Revoke);
        let denied = findings.iter().find(|f| f.target == Some(4)).unwrap();
        assert_eq!(denied.severity, Severity::High, "an unreadable list alerts");
    }
}
