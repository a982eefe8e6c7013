use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags every container with `privileged: true`.
    ///
    /// ## Why is this bad?
    /// A privileged container has every capability and the host's devices: it can
    /// load kernel modules, mount the host filesystem and escape to the instance.
    ///
    /// ## Example
    /// `{"name": "app", "image": "…", "privileged": true}`
    ///
    /// ## Fix
    /// Drop `privileged`; grant specific capabilities in
    /// `linuxParameters.capabilities.add` if one is truly needed.
    ///
    /// ## References
    /// Security Hub ECS.4; CIS Docker Benchmark 5.5.
    pub static PRIVILEGED = {
        id: "ECS-TD-001",
        title: "Privileged container",
        severity: Severity::Critical,
        action: Action::Notify,
        anchors: &["SH ECS.4", "CIS Docker 5.5"],
        remediation: "Remove `privileged: true`; add only the Linux capabilities the container needs.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    td.containers
        .iter()
        .filter(|c| c.privileged)
        .map(|c| Hit::new(format!("container {}: privileged: true", c.name)))
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
        c.privileged = true;
        let other = container("sidecar");
        assert_eq!(
            run(evaluate, &task(vec![other, c])),
            ["container app: privileged: true"]
        );
    }
}
