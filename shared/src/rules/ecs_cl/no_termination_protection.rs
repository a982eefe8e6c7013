use super::ClContext;
use crate::finding::{Action, Severity};
use crate::model::cl::ClusterChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an Auto Scaling group capacity provider created without managed
    /// termination protection (absent means `DISABLED`), and an update that
    /// turns it off.
    ///
    /// ## Why is this bad?
    /// Without it, a scale-in terminates container instances that still run
    /// tasks: services drop connections, and a standalone task (a migration,
    /// a batch job) dies halfway.
    ///
    /// ## Example
    /// `CreateCapacityProvider {"name": "cp", "autoScalingGroupProvider": {"autoScalingGroupArn": "…", "managedTerminationProtection": "DISABLED"}}`
    ///
    /// ## Fix
    /// Set `managedTerminationProtection: ENABLED` (with managed scaling, and
    /// instance scale-in protection on the group).
    ///
    /// ## References
    /// Security Hub ECS.19.
    pub static NO_TERMINATION_PROTECTION = {
        id: "ECS-CL-005",
        title: "Capacity provider without managed termination protection",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH ECS.19"],
        remediation: "Set autoScalingGroupProvider.managedTerminationProtection to ENABLED.",
        check: crate::rules::Check::Cluster(evaluate),
    }
}

/// Pure check over the change.
pub fn evaluate(change: &ClusterChange, _ctx: &ClContext) -> Vec<Hit> {
    match change {
        ClusterChange::CapacityProvider {
            name,
            termination_protection: Some(false),
            ..
        } => vec![Hit::new(format!(
            "capacity provider {name}: managedTerminationProtection DISABLED"
        ))],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cl::{CREATE_CAPACITY_PROVIDER, UPDATE_CAPACITY_PROVIDER};
    use crate::rules::ecs_cl::test_support::{change, run};
    use serde_json::json;

    #[test]
    fn flags_what_it_should() {
        let asg = |p: serde_json::Value| json!({"name": "cp", "autoScalingGroupProvider": p});
        assert_eq!(
            run(
                evaluate,
                &change(
                    CREATE_CAPACITY_PROVIDER,
                    asg(json!({"autoScalingGroupArn": "arn:asg"}))
                )
            ),
            ["capacity provider cp: managedTerminationProtection DISABLED"]
        );
        assert!(run(evaluate, &change(CREATE_CAPACITY_PROVIDER,
            asg(json!({"autoScalingGroupArn": "arn:asg", "managedTerminationProtection": "ENABLED"})))).is_empty());
        assert_eq!(
            run(
                evaluate,
                &change(
                    UPDATE_CAPACITY_PROVIDER,
                    asg(json!({"managedTerminationProtection": "DISABLED"}))
                )
            )
            .len(),
            1
        );
        assert!(run(
            evaluate,
            &change(
                UPDATE_CAPACITY_PROVIDER,
                asg(json!({"managedScaling": {"status": "ENABLED"}}))
            )
        )
        .is_empty());
    }
}
