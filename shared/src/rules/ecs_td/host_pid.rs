use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags a task definition with `pidMode: host`.
    ///
    /// ## Why is this bad?
    /// Containers that share the host's process namespace see and can signal or
    /// trace every process on the instance, other tasks included.
    ///
    /// ## Example
    /// `"pidMode": "host"`
    ///
    /// ## Fix
    /// Remove `pidMode`, or use `task` to share processes only among the task's
    /// containers.
    ///
    /// ## References
    /// Security Hub ECS.3.
    pub static HOST_PID = {
        id: "ECS-TD-003",
        title: "Host PID namespace",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["SH ECS.3"],
        remediation: "Remove `pidMode: host`.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    match td.pid_mode.as_deref() {
        Some(mode) if mode.eq_ignore_ascii_case("host") => vec![Hit::new("pidMode: host")],
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
        td.pid_mode = Some("task".into());
        assert!(run(evaluate, &td).is_empty());
        td.pid_mode = Some("host".into());
        assert_eq!(run(evaluate, &td), ["pidMode: host"]);
    }
}
