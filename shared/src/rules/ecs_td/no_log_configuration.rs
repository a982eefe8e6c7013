use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags every container without `logConfiguration`.
    ///
    /// ## Why is this bad?
    /// Without logs there is no record of what the container did, which turns an
    /// incident into guesswork.
    ///
    /// ## Example
    /// A container definition with no `logConfiguration`.
    ///
    /// ## Fix
    /// Add `"logConfiguration": {"logDriver": "awslogs", "options": {…}}`.
    ///
    /// ## References
    /// Security Hub ECS.9.
    pub static NO_LOG_CONFIGURATION = {
        id: "ECS-TD-010",
        title: "No log configuration",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH ECS.9"],
        remediation: "Add a `logConfiguration` (awslogs or awsfirelens) to every container.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    td.containers
        .iter()
        .filter(|c| !c.has_log_configuration)
        .map(|c| Hit::new(format!("container {}: no logConfiguration", c.name)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_td::test_support::{container, run, task};

    #[test]
    fn flags_what_it_should() {
        let mut c = container("app");
        assert!(run(evaluate, &task(vec![c.clone()])).is_empty());
        c.has_log_configuration = false;
        assert_eq!(
            run(evaluate, &task(vec![c])),
            ["container app: no logConfiguration"]
        );
    }
}
