use super::SvcContext;
use crate::finding::{Action, Severity};
use crate::model::svc::ServiceChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an `awsvpc` service configuration without `securityGroups`.
    ///
    /// ## Why is this bad?
    /// Without groups of its own, each task gets the VPC's default security
    /// group — shared, often permissive, and owned by nobody.
    ///
    /// ## Example
    /// `"awsvpcConfiguration": {"subnets": ["subnet-1"]}`
    ///
    /// ## Fix
    /// Give the service a dedicated security group that allows only its port,
    /// from its load balancer's group.
    ///
    /// ## References
    /// Beyond the peers; related to Security Hub EC2.2 (default groups).
    pub static NO_SECURITY_GROUPS = {
        id: "ECS-SVC-003",
        title: "awsvpc service without security groups (VPC default SG applies)",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Attach a dedicated security group allowing only the service port from its load balancer.",
        check: crate::rules::Check::Service(evaluate),
    }
}

/// Pure check: an awsvpc configuration set by the call names no group.
pub fn evaluate(change: &ServiceChange, _ctx: &SvcContext) -> Vec<Hit> {
    match &change.set_by_call().awsvpc {
        // Only when the evidence names no group (a trimmed response that
        // does not say is not "none").
        Some(vpc) if vpc.security_groups.as_deref().is_some_and(<[_]>::is_empty) => {
            vec![Hit::new(
                "awsvpcConfiguration has no securityGroups: the VPC default group applies",
            )]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_svc::test_support::{change, run};
    use serde_json::json;

    #[test]
    fn awsvpc_without_groups() {
        let bare = json!({"serviceName": "web", "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}});
        assert_eq!(run(evaluate, &change("CreateService", bare)).len(), 1);
        let with = json!({"serviceName": "web", "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"]}}});
        assert!(run(evaluate, &change("CreateService", with)).is_empty());
        assert!(
            run(
                evaluate,
                &change("CreateService", json!({"serviceName": "web"}))
            )
            .is_empty(),
            "bridge mode"
        );
    }
}
