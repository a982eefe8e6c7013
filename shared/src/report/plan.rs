//! From findings to the revocations they call for (DESIGN §7, invariants 1–2).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::finding::{Action, Finding};
use crate::model::sg::{Direction, SgChange, SgRule};
use crate::policy::Policy;

/// One rule of the event to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Index into the change's rules.
    pub target: usize,
    pub rule: SgRule,
}

impl Revocation {
    /// How outcomes name it: the rule id, or the permission on older records.
    pub fn label(&self) -> String {
        match &self.rule.rule_id {
            Some(id) => id.clone(),
            None => self.rule.to_string(),
        }
    }
}

/// The revocations for one event: only the group the event names, only rules
/// the event created that break a `revoke` rule, never egress, at most
/// `max_revocations_per_event` (the rest are held back and reported).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub group_id: String,
    pub revocations: Vec<Revocation>,
    pub held_back: Vec<Revocation>,
}

impl Plan {
    pub fn for_change(change: &SgChange, findings: &[Finding], policy: &Policy) -> Option<Plan> {
        let group_id = change.group_id.clone()?;
        let targets: BTreeSet<usize> = findings
            .iter()
            .filter(|f| f.action == Action::Revoke)
            .filter_map(|f| f.target)
            .filter(|&i| {
                change
                    .rules
                    .get(i)
                    .is_some_and(|r| r.direction != Direction::Egress)
            })
            .collect();
        if targets.is_empty() {
            return None;
        }
        let mut revocations: Vec<Revocation> = targets
            .into_iter()
            .map(|target| Revocation {
                target,
                rule: change.rules[target].clone(),
            })
            .collect();
        let held_back = if revocations.len() > policy.max_revocations_per_event {
            revocations.split_off(policy.max_revocations_per_event)
        } else {
            Vec::new()
        };
        Some(Plan {
            group_id,
            revocations,
            held_back,
        })
    }

    /// The plan as the JSON document lists it.
    pub fn steps(&self) -> Vec<PlanStep> {
        let rule_ids = self
            .revocations
            .iter()
            .filter_map(|r| r.rule.rule_id.clone())
            .collect();
        let permissions = self
            .revocations
            .iter()
            .filter(|r| r.rule.rule_id.is_none())
            .map(|r| r.rule.to_string())
            .collect();
        let unverified = self
            .revocations
            .iter()
            .any(|r| r.rule.direction == Direction::Unverified);
        vec![PlanStep {
            action: "revoke_ingress",
            group_id: self.group_id.clone(),
            rule_ids,
            permissions,
            direction: unverified.then_some("unverified"),
            held_back: self.held_back.iter().map(Revocation::label).collect(),
        }]
    }
}

/// One step of the plan in the JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanStep {
    pub action: &'static str,
    pub group_id: String,
    pub rule_ids: Vec<String>,
    /// Exact permissions to revoke, for older records without rule ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// `unverified` when only EC2 can say the rule is ingress (ModifySecurityGroupRules offline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    /// Offending rules beyond `max_revocations_per_event`: reported, not revoked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held_back: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sg::ChangeKind;
    use crate::rules::{self, ec2_sg::test_support::rule};

    fn change(rules: Vec<SgRule>) -> SgChange {
        SgChange {
            kind: ChangeKind::Authorize,
            group_id: Some("sg-1".to_string()),
            group_name: None,
            group_name_unread: false,
            account: None,
            prefix_lists: Default::default(),
            rules,
        }
    }

    #[test]
    fn only_offending_rules_of_revoke_rules() {
        let mut ssh = rule("tcp", 22, 22, "0.0.0.0/0");
        ssh.rule_id = Some("sgr-ssh".into());
        let mut https = rule("tcp", 443, 443, "0.0.0.0/0");
        https.rule_id = Some("sgr-https".into());
        let mut odd = rule("tcp", 55, 55, "0.0.0.0/0");
        odd.rule_id = Some("sgr-odd".into());
        let mut egress = rule("-1", -1, -1, "0.0.0.0/0");
        egress.direction = Direction::Egress;
        let c = change(vec![ssh, https, odd, egress]);
        let policy = Policy::embedded();
        let findings = rules::evaluate_sg(&c, &policy);
        let plan = Plan::for_change(&c, &findings, &policy).unwrap();
        assert_eq!(
            plan.steps()[0].rule_ids,
            vec!["sgr-ssh"],
            "443 stays, 55 is notify-only, egress untouched"
        );
    }

    #[test]
    fn older_records_revoke_exact_permissions_and_the_cap_holds() {
        let rules_in: Vec<SgRule> = (0..5)
            .map(|i| rule("tcp", 22, 22 + i, "0.0.0.0/0"))
            .collect();
        let c = change(rules_in);
        let mut policy = Policy::embedded();
        policy.max_revocations_per_event = 3;
        let findings = rules::evaluate_sg(&c, &policy);
        let plan = Plan::for_change(&c, &findings, &policy).unwrap();
        assert_eq!(plan.revocations.len(), 3);
        assert_eq!(plan.held_back.len(), 2);
        let step = &plan.steps()[0];
        assert!(step.rule_ids.is_empty());
        assert_eq!(step.permissions[0], "tcp 22 from 0.0.0.0/0");
    }
}
