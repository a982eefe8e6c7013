use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags every Linux container whose `readonlyRootFilesystem` is absent or
    /// false.
    ///
    /// ## Why is this bad?
    /// A writable root filesystem lets an intruder drop tools and persist changes
    /// in the container.
    ///
    /// ## Example
    /// A container definition without `readonlyRootFilesystem`.
    ///
    /// ## Fix
    /// Set `readonlyRootFilesystem: true`; give the app a tmpfs or volume for the
    /// paths it writes.
    ///
    /// ## References
    /// Security Hub ECS.5.
    pub static WRITABLE_ROOT_FILESYSTEM = {
        id: "ECS-TD-002",
        title: "Root filesystem writable (absent counts)",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["SH ECS.5"],
        remediation: "Set `readonlyRootFilesystem: true` and mount writable volumes only where the app writes.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    if td.is_windows() {
        return Vec::new();
    }
    td.containers
        .iter()
        .filter(|c| !c.readonly_root_filesystem)
        .map(|c| {
            Hit::new(format!(
                "container {}: readonlyRootFilesystem is not true",
                c.name
            ))
        })
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
        c.readonly_root_filesystem = false;
        assert_eq!(run(evaluate, &task(vec![c])).len(), 1);
    }
}
