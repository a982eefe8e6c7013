use super::SgContext;
use crate::finding::{Action, Severity};
use crate::model::net::Source;
use crate::model::sg::{PrefixListEntries, SgRule};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an ingress rule whose source is a managed prefix list, or a
    /// security group owned by another account than the group's (`userId`).
    /// The Lambda reads customer-managed lists (`GetManagedPrefixListEntries`)
    /// and says what they hold; a list holding an internet-wide entry makes
    /// the rule open to the internet for every EC2-SG rule (SSH through it is
    /// EC2-SG-003). A list that could not be read is unknown, never clean:
    /// the finding says so at high severity. A group reference whose owner
    /// cannot be compared (the group's account is not known) is not judged.
    ///
    /// ## Why is this bad?
    /// The rule's real sources live elsewhere: whoever edits the list, or
    /// owns the other account's group, decides who gets in — without
    /// touching this group, and without an event about it.
    ///
    /// ## Example
    /// `tcp 22 from prefix list pl-0a1b…`; `tcp 5432 from group sg-0c2d… (account 444455556666)`.
    ///
    /// ## Fix
    /// Check who may modify the list (and who it is shared with) or the other
    /// account; prefer groups and lists your account owns and reviews.
    ///
    /// ## References
    /// Beyond the peers (they judge CIDRs only).
    pub static EXTERNAL_SOURCE = {
        id: "EC2-SG-011",
        title: "Prefix list or cross-account SG reference as source",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Review who can change the prefix list or the other account's group; prefer sources your account owns.",
        check: crate::rules::Check::SgIngress(evaluate),
    }
}

/// Pure check: a prefix list as source (with what is known of it), or
/// another account's security group.
pub fn evaluate(rule: &SgRule, ctx: &SgContext) -> Option<Hit> {
    match &rule.source {
        Source::PrefixList(id) => Some(match ctx.prefix_lists.get(id) {
            None => Hit::new(format!("{rule}: entries not read")),
            Some(PrefixListEntries::AwsManaged) => Hit::new(format!("{rule}: AWS-managed list")),
            Some(entries @ PrefixListEntries::Read(_)) => {
                match entries.internet_entry(ctx.policy.wide) {
                    Some(entry) => {
                        Hit::new(format!("{rule}: the list holds {entry}, the internet"))
                    }
                    // No count in the detail: it names the finding in the
                    // state table, and a list's edits are not a new finding.
                    None => Hit::new(format!("{rule}: customer-managed list")),
                }
            }
            Some(PrefixListEntries::Unknown(_)) => Hit {
                escalate_to: Some(Severity::High),
                // The code is in the report's notes; the detail stays the
                // same from one failed read to the next.
                ..Hit::new(format!(
                    "{rule}: entries unknown, the list could not be read"
                ))
            },
        }),
        Source::Group {
            user_id: Some(owner),
            ..
        } => {
            let account = ctx.account?;
            (owner != account).then(|| Hit::new(format!("{rule}: another account's group")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sg::PrefixLists;
    use crate::policy::Policy;
    use crate::rules::ec2_sg::test_support::{ctx, rule};

    fn from(source: Source) -> SgRule {
        SgRule {
            source,
            ..rule("tcp", 22, 22, "0.0.0.0/0")
        }
    }

    fn group(owner: Option<&str>) -> SgRule {
        from(Source::Group {
            group_id: Some("sg-9".to_string()),
            user_id: owner.map(str::to_string),
        })
    }

    #[test]
    fn prefix_lists_say_what_is_known_of_them() {
        let policy = Policy::embedded();
        let mut lists = PrefixLists::new();
        lists.insert(
            "pl-office".into(),
            PrefixListEntries::Read(vec![Source::cidr("198.51.100.0/24")]),
        );
        lists.insert(
            "pl-world".into(),
            PrefixListEntries::Read(vec![Source::cidr("0.0.0.0/0")]),
        );
        lists.insert("pl-aws".into(), PrefixListEntries::AwsManaged);
        lists.insert(
            "pl-denied".into(),
            PrefixListEntries::Unknown("UnauthorizedOperation".into()),
        );
        let c = SgContext {
            prefix_lists: &lists,
            ..ctx(&policy)
        };
        let hit = |id: &str| evaluate(&from(Source::PrefixList(id.to_string())), &c).unwrap();
        assert_eq!(
            hit("pl-office").detail,
            "tcp 22 from prefix list pl-office: customer-managed list"
        );
        assert_eq!(
            hit("pl-world").detail,
            "tcp 22 from prefix list pl-world: the list holds 0.0.0.0/0, the internet"
        );
        assert_eq!(
            hit("pl-aws").detail,
            "tcp 22 from prefix list pl-aws: AWS-managed list"
        );
        assert_eq!(
            hit("pl-offline").detail,
            "tcp 22 from prefix list pl-offline: entries not read"
        );
        let denied = hit("pl-denied");
        assert!(denied
            .detail
            .ends_with("entries unknown, the list could not be read"));
        assert_eq!(
            denied.escalate_to,
            Some(Severity::High),
            "unknown is never clean: it alerts"
        );
        assert_eq!(hit("pl-office").escalate_to, None);
    }

    #[test]
    fn group_references_from_another_account() {
        let policy = Policy::embedded();
        let c = SgContext {
            account: Some("111122223333"),
            ..ctx(&policy)
        };
        assert_eq!(
            evaluate(&group(Some("444455556666")), &c).unwrap().detail,
            "tcp 22 from group sg-9 (account 444455556666): another account's group"
        );
        assert!(
            evaluate(&group(Some("111122223333")), &c).is_none(),
            "same account"
        );
        assert!(
            evaluate(&group(None), &c).is_none(),
            "no owner named: the group's own account"
        );
        assert!(
            evaluate(&group(Some("444455556666")), &ctx(&policy)).is_none(),
            "nothing to compare with"
        );
        assert!(evaluate(&rule("tcp", 22, 22, "203.0.113.0/24"), &c).is_none());
    }
}
