use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags every container with a `logConfiguration` whose `options.mode` is
    /// not `non-blocking` (any case). An absent mode counts as `blocking`: the
    /// default has changed over time and by driver, so only an explicit
    /// `non-blocking` passes. Containers without a log configuration are
    /// ECS-TD-010's.
    ///
    /// ## Why is this bad?
    /// In blocking mode, when the log destination is slow or unreachable (a
    /// CloudWatch throttle, a full Firelens buffer) the application's writes to
    /// stdout/stderr block: the container hangs and fails its health checks,
    /// so a logging outage becomes an availability outage.
    ///
    /// ## Example
    /// `"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/app"}}`
    ///
    /// ## Fix
    /// Add `"mode": "non-blocking"` (and a `max-buffer-size`) to the options.
    ///
    /// ## References
    /// Prowler `ecs_task_definitions_logging_block_mode`.
    pub static BLOCKING_LOG_MODE = {
        id: "ECS-TD-024",
        title: "Blocking log delivery mode",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["Prowler logging_block_mode"],
        remediation: "Set `logConfiguration.options.mode` to `non-blocking` (with a `max-buffer-size`).",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    td.containers
        .iter()
        .filter(|c| c.has_log_configuration)
        .filter_map(|c| match c.log_mode.as_deref().map(str::trim) {
            None | Some("") => Some(Hit::new(format!(
                "container {}: log mode not set (blocking)",
                c.name
            ))),
            Some(m) if m.eq_ignore_ascii_case("non-blocking") => None,
            Some(m) => Some(Hit::new(format!("container {}: log mode {m:?}", c.name))),
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
        c.log_mode = Some("Non-Blocking".into());
        let mut unset = container("sidecar");
        unset.log_mode = None;
        let mut blocking = container("worker");
        blocking.log_mode = Some("blocking".into());
        let mut no_logs = container("debug");
        no_logs.has_log_configuration = false;
        no_logs.log_mode = None;
        assert_eq!(
            run(evaluate, &task(vec![c, unset, blocking, no_logs])),
            [
                "container sidecar: log mode not set (blocking)",
                "container worker: log mode \"blocking\""
            ]
        );
    }
}
