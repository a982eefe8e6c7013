use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags a task definition with `ipcMode: host`.
    ///
    /// ## Why is this bad?
    /// Sharing the host's IPC namespace exposes its shared memory and semaphores to
    /// the containers, and theirs to everything on the instance.
    ///
    /// ## Example
    /// `"ipcMode": "host"`
    ///
    /// ## Fix
    /// Remove `ipcMode`, or use `task` to share IPC only within the task.
    ///
    /// ## References
    /// Beyond the peers (Security Hub checks pidMode only).
    pub static HOST_IPC = {
        id: "ECS-TD-004",
        title: "Host IPC namespace",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Remove `ipcMode: host`.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    match td.ipc_mode.as_deref() {
        Some(mode) if mode.eq_ignore_ascii_case("host") => vec![Hit::new("ipcMode: host")],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_td::test_support::{container, run, task};

    #[test]
    fn flags_what_it_should() {
        let mut td = task(vec![container("app")]);
        assert!(run(evaluate, &td).is_empty());
        td.ipc_mode = Some("host".into());
        assert_eq!(run(evaluate, &td), ["ipcMode: host"]);
    }
}
