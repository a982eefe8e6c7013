//! Recheck: a planned rule judged again as it is right before revoking
//! (DESIGN §7.8), in the group's context as it is now.

use crate::finding::Action;
use crate::model::net::Source;
use crate::model::sg::{Direction, PrefixListEntries, SgChange, SgRule};
use crate::policy::Policy;
use crate::rules;

/// What a planned rule is when read back right before revoking (DESIGN §7.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Recheck {
    /// Still ingress, still in the group, still breaks a `revoke` rule: revoke this id.
    Offends(String),
    /// No longer in the group.
    Gone,
    /// Still there but no longer offending (narrowed, or egress): why.
    ChangedSince(String),
    /// Through a prefix list that could not be read again: the error code.
    /// Whether it still offends is unknown: never revoked.
    Unknown(String),
}

/// The rule of `current` that `planned` is now: the same id, or on older
/// records the same ingress permission.
pub(super) fn now_of<'c>(planned: &SgRule, current: &'c [SgRule]) -> Option<&'c SgRule> {
    match &planned.rule_id {
        Some(id) => current
            .iter()
            .find(|r| r.rule_id.as_deref() == Some(id.as_str())),
        None => current
            .iter()
            .find(|r| r.direction == Direction::Ingress && r.same_permission(planned)),
    }
}

/// Judges `planned` against the group's rules as they are now, in the
/// group's context as it is now (`group`: its id, name, account and the
/// prefix lists read again; no rules).
pub(super) fn recheck(
    planned: &SgRule,
    group: &SgChange,
    current: &[SgRule],
    policy: &Policy,
) -> Recheck {
    let Some(now) = now_of(planned, current) else {
        return Recheck::Gone;
    };
    if now.direction != Direction::Ingress {
        return Recheck::ChangedSince(format!("{now}: EC2 does not say it is an ingress rule"));
    }
    if let Source::PrefixList(list) = &now.source {
        if let Some(PrefixListEntries::Unknown(why)) = group.prefix_lists.get(list) {
            return Recheck::Unknown(why.clone());
        }
    }
    let alone = group.with_rules(vec![now.clone()]);
    let offends = rules::evaluate_sg(&alone, policy)
        .iter()
        .any(|f| f.action == Action::Revoke && f.target == Some(0));
    match (&now.rule_id, offends) {
        (Some(id), true) => Recheck::Offends(id.clone()),
        (None, true) => Recheck::ChangedSince(format!("{now} has no rule id to revoke by")),
        (_, false) => Recheck::ChangedSince(format!(
            "{now} no longer breaks a revoke rule (changed since the event)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guards::ingress::test_support::*;
    use crate::guards::GuardSettings;
    use crate::report::OutcomeKind;

    fn narrowed(id: &str, port: i64) -> SgRule {
        stored(id, port, "10.0.0.0/8", Direction::Ingress)
    }

    #[tokio::test]
    async fn a_rule_narrowed_since_the_event_is_not_revoked() {
        let g = groups(&[]);
        g.rules.lock().unwrap()[0] = narrowed("sgr-ssh", 22);
        let policy = revoking();
        let (report, sent) = run(&g, &policy, &GuardSettings::default(), &mixed()).await;
        let report = report.unwrap();
        assert_eq!(
            results(&report),
            vec![("sgr-ssh".to_string(), OutcomeKind::ChangedSince)]
        );
        assert!(
            g.revoke_calls.lock().unwrap().is_empty(),
            "nothing revoked on stale evidence"
        );
        assert!(sent[0].message.contains("no longer breaks a revoke rule"));
        assert!(sent[0].message.contains("10.0.0.0/8"));
    }

    #[test]
    fn a_prefix_list_unreadable_right_before_revoking_is_not_revoked() {
        let policy = revoking();
        let planned = listed("sgr-pl", 22, "pl-world");
        let current = vec![planned.clone()];
        let mut group = SgChange::current_ingress("sg-1", Vec::new()).with_account("111122223333");
        let mut with = |entries: PrefixListEntries| {
            group.prefix_lists.insert("pl-world".to_string(), entries);
            recheck(&planned, &group, &current, &policy)
        };
        assert_eq!(
            with(PrefixListEntries::Read(vec![Source::cidr("0.0.0.0/0")])),
            Recheck::Offends("sgr-pl".to_string())
        );
        assert_eq!(
            with(PrefixListEntries::Unknown(
                "UnauthorizedOperation".to_string()
            )),
            Recheck::Unknown("UnauthorizedOperation".to_string())
        );
        assert!(matches!(
            with(PrefixListEntries::Read(vec![Source::cidr("10.0.0.0/8")])),
            Recheck::ChangedSince(_)
        ));
        assert!(matches!(
            with(PrefixListEntries::AwsManaged),
            Recheck::ChangedSince(_)
        ));
    }
}
