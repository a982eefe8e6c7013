use super::SvcContext;
use crate::finding::{Action, Severity};
use crate::model::svc::ServiceChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a service created or updated with `enableExecuteCommand: true`.
    ///
    /// ## Why is this bad?
    /// ECS Exec opens an interactive shell into running tasks for anyone with
    /// `ecs:ExecuteCommand`: a way in that bypasses the application entirely.
    ///
    /// ## Example
    /// `"enableExecuteCommand": true`
    ///
    /// ## Fix
    /// Turn it off outside incident work; when on, restrict `ecs:ExecuteCommand`
    /// with conditions on cluster and container, and log sessions to S3 or CloudWatch.
    ///
    /// ## References
    /// Beyond the peers (ways of access into the application).
    pub static EXEC_ENABLED = {
        id: "ECS-SVC-002",
        title: "ECS Exec enabled (interactive shell into tasks)",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["beyond (seed: ways to access)"],
        remediation: "Disable enableExecuteCommand unless needed; restrict ecs:ExecuteCommand and log sessions.",
        check: crate::rules::Check::Service(evaluate),
    }
}

/// Pure check: the call turns ECS Exec on.
pub fn evaluate(change: &ServiceChange, _ctx: &SvcContext) -> Vec<Hit> {
    if change.set_by_call().enable_execute_command == Some(true) {
        vec![Hit::new("enableExecuteCommand: true")]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_svc::test_support::{change, run};
    use serde_json::json;

    #[test]
    fn exec_when_the_call_sets_it() {
        assert_eq!(
            run(
                evaluate,
                &change(
                    "CreateService",
                    json!({"serviceName": "web", "enableExecuteCommand": true})
                )
            )
            .len(),
            1
        );
        assert!(run(
            evaluate,
            &change(
                "UpdateService",
                json!({"service": "web", "enableExecuteCommand": false})
            )
        )
        .is_empty());
        assert!(run(
            evaluate,
            &change("UpdateService", json!({"service": "web"}))
        )
        .is_empty());
    }
}
