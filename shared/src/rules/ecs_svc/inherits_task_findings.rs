use super::SvcContext;
use crate::finding::{Action, Severity};
use crate::model::svc::ServiceChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a service that deploys a task definition with high or critical
    /// findings of the ECS-TD rules. The Lambda reads the deployed revision
    /// with `DescribeTaskDefinition` (a family without revision means its
    /// latest ACTIVE revision). The finding lists the inherited findings and
    /// takes the highest of their severities.
    ///
    /// ## Why is this bad?
    /// A definition is only a document until a service runs it; this is the
    /// moment its privileged container or leaked key goes live.
    ///
    /// ## Example
    /// `CreateService` with `taskDefinition: "web:3"` where web:3 has a privileged container.
    ///
    /// ## Fix
    /// Fix the task definition (see the inherited rules) and deploy the new revision.
    ///
    /// ## References
    /// Beyond the peers.
    pub static INHERITS_TASK_FINDINGS = {
        id: "ECS-SVC-005",
        title: "Service deploys a task definition with high/critical findings",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Fix the task definition's findings and deploy the fixed revision.",
        check: crate::rules::Check::Service(evaluate),
    }
}

/// Pure check over what the Lambda read: the deployed definition's serious findings.
pub fn evaluate(change: &ServiceChange, ctx: &SvcContext) -> Vec<Hit> {
    let Some((label, findings)) = ctx.enrichment.and_then(|e| e.task_definition.as_ref()) else {
        return Vec::new();
    };
    if !change.changes_exposure() {
        return Vec::new();
    }
    let serious: Vec<_> = findings
        .iter()
        .filter(|f| f.severity >= Severity::High)
        .collect();
    let Some(top) = serious.iter().map(|f| f.severity).max() else {
        return Vec::new();
    };
    let mut named: Vec<String> = serious
        .iter()
        .map(|f| format!("{} {} ({})", f.rule, f.title, f.severity))
        .collect();
    named.dedup();
    vec![Hit {
        fields: Default::default(),
        detail: format!("{label} has {}", named.join(", ")),
        escalate_to: Some(top),
        exactly: None,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;
    use crate::policy::Policy;
    use crate::rules::ecs_svc::test_support::change;
    use crate::rules::ecs_svc::Enrichment;
    use serde_json::json;

    fn finding(rule: &'static str, severity: Severity) -> Finding {
        Finding {
            fields: Default::default(),
            resource: None,
            rule,
            severity,
            title: "t",
            detail: String::new(),
            remediation: "",
            action: Action::Notify,
            target: None,
        }
    }

    #[test]
    fn inherits_the_highest_severity() {
        let policy = Policy::embedded();
        let enrichment = Enrichment {
            groups: vec![],
            task_definition: Some((
                "web:3".into(),
                vec![
                    finding("ECS-TD-001", Severity::Critical),
                    finding("ECS-TD-002", Severity::Low),
                ],
            )),
            ..Enrichment::default()
        };
        let ctx = SvcContext {
            policy: &policy,
            enrichment: Some(&enrichment),
        };
        let hits = evaluate(
            &change("CreateService", json!({"serviceName": "web"})),
            &ctx,
        );
        assert_eq!(hits[0].detail, "web:3 has ECS-TD-001 t (critical)");
        assert_eq!(hits[0].escalate_to, Some(Severity::Critical));
        let mild = Enrichment {
            groups: vec![],
            task_definition: Some(("web:3".into(), vec![finding("ECS-TD-002", Severity::Low)])),
            ..Enrichment::default()
        };
        assert!(evaluate(
            &change("CreateService", json!({"serviceName": "web"})),
            &SvcContext {
                policy: &policy,
                enrichment: Some(&mild)
            }
        )
        .is_empty());
    }
}
