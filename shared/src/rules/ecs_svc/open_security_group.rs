use super::{Enrichment, SvcContext};
use crate::finding::{Action, Severity};
use crate::model::svc::ServiceChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a service attached to a security group whose live ingress rules
    /// are open to the internet (any EC2-SG rule), naming the group, the rule
    /// and the port. Judged when a service is created or its task definition
    /// or network changes. The Lambda reads the groups with
    /// `DescribeSecurityGroupRules`; it reports, and never revokes from here
    /// (the ingress guard owns revocation).
    ///
    /// ## Why is this bad?
    /// The group was perhaps opened long ago for something else; attached to
    /// this service, it now exposes these tasks.
    ///
    /// ## Example
    /// A service created with `securityGroups: ["sg-1"]` where sg-1 allows tcp 22 from 0.0.0.0/0.
    ///
    /// ## Fix
    /// Attach a dedicated group, or remove the open rule from the shared one.
    ///
    /// ## References
    /// Beyond the peers: they judge groups and services separately, not the join at deploy time.
    pub static OPEN_SECURITY_GROUP = {
        id: "ECS-SVC-004",
        title: "Service attached to a security group open to the internet",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Attach a dedicated security group, or remove the open rule from the shared group.",
        check: crate::rules::Check::Service(evaluate),
    }
}

/// Pure check over what the Lambda read: one hit per open group.
pub fn evaluate(change: &ServiceChange, ctx: &SvcContext) -> Vec<Hit> {
    let Some(enrichment) = ctx.enrichment else {
        return Vec::new();
    };
    if !change.changes_exposure() {
        return Vec::new();
    }
    open_groups(enrichment).into_iter().map(Hit::new).collect()
}

/// Each group read open to the internet with its open rules:
/// `sg-1: tcp 22 from 0.0.0.0/0 (sgr-1) (EC2-SG-003)`.
pub fn open_groups(enrichment: &Enrichment) -> Vec<String> {
    enrichment
        .groups
        .iter()
        .filter(|(_, findings)| !findings.is_empty())
        .map(|(group, findings)| {
            let mut rules: Vec<String> = findings
                .iter()
                .map(|f| format!("{} ({})", f.detail, f.rule))
                .collect();
            rules.dedup();
            format!("{group}: {}", rules.join("; "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;
    use crate::policy::Policy;
    use crate::rules::ecs_svc::test_support::change;
    use crate::rules::ecs_svc::Enrichment;
    use serde_json::json;

    #[test]
    fn names_the_group_and_the_rule() {
        let policy = Policy::embedded();
        let finding = Finding {
            fields: Default::default(),
            resource: None,
            rule: "EC2-SG-003",
            severity: Severity::Critical,
            title: "SSH",
            detail: "tcp 22 from 0.0.0.0/0 (sgr-1)".into(),
            remediation: "",
            action: Action::Revoke,
            target: None,
        };
        let enrichment = Enrichment {
            groups: vec![("sg-1".into(), vec![finding]), ("sg-2".into(), vec![])],
            task_definition: None,
            ..Enrichment::default()
        };
        let ctx = SvcContext {
            policy: &policy,
            enrichment: Some(&enrichment),
        };
        let created = change("CreateService", json!({"serviceName": "web"}));
        let hits = evaluate(&created, &ctx);
        assert_eq!(hits.len(), 1);
        assert_eq!(
            hits[0].detail,
            "sg-1: tcp 22 from 0.0.0.0/0 (sgr-1) (EC2-SG-003)"
        );
        let scaled = change(
            "UpdateService",
            json!({"service": "web", "desiredCount": 2}),
        );
        assert!(
            evaluate(&scaled, &ctx).is_empty(),
            "a scale-out changes no exposure"
        );
        assert!(
            evaluate(
                &created,
                &SvcContext {
                    policy: &policy,
                    enrichment: None
                }
            )
            .is_empty(),
            "offline"
        );
    }
}
