use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags every container without a hard memory limit: no container
    /// `memory` and no task-level `memory`. A `memoryReservation` alone is a
    /// soft limit (the container may grow past it), so it does not count.
    /// (Fargate requires task-level memory, so Fargate definitions pass.)
    ///
    /// ## Why is this bad?
    /// Without any limit, one container can take all of the instance's memory:
    /// a leak or a hostile workload starves, or gets the kernel to kill, every
    /// other task on the instance.
    ///
    /// ## Example
    /// An EC2 task definition without `memory` whose container sets only
    /// `"memoryReservation": 128`.
    ///
    /// ## Fix
    /// Set task-level `memory`, or `memory` (hard limit) on each container.
    ///
    /// ## References
    /// AWS Control Tower CT.ECS.PR.7; CIS Docker Benchmark 5.11.
    pub static NO_MEMORY_LIMIT = {
        id: "ECS-TD-022",
        title: "No memory limit (container or task)",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["CT PR.7", "CIS Docker 5.11"],
        remediation: "Set task-level `memory`, or a hard `memory` limit on every container.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    if td.memory.as_deref().is_some_and(|m| !m.trim().is_empty()) {
        return Vec::new();
    }
    let limited = |m: Option<i64>| m.filter(|m| *m > 0);
    td.containers
        .iter()
        .filter(|c| limited(c.memory).is_none())
        .map(|c| {
            Hit::new(match limited(c.memory_reservation) {
                Some(soft) => format!(
                    "container {}: no hard memory limit (memoryReservation {soft} MiB only), and no task-level memory",
                    c.name
                ),
                None => format!(
                    "container {}: no memory limit, and no task-level memory",
                    c.name
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_td::test_support::{container, run, task};

    #[test]
    fn flags_what_it_should() {
        let mut hard = container("app");
        hard.memory = Some(512);
        let mut soft = container("sidecar");
        soft.memory = None;
        soft.memory_reservation = Some(128);
        let mut bare = container("debug");
        bare.memory = None;
        bare.memory_reservation = None;
        let mut td = task(vec![hard, soft, bare]);
        td.memory = None;
        assert_eq!(
            run(evaluate, &td),
            [
                "container sidecar: no hard memory limit (memoryReservation 128 MiB only), and no task-level memory",
                "container debug: no memory limit, and no task-level memory"
            ]
        );
        td.memory = Some("1 GB".into());
        assert!(run(evaluate, &td).is_empty(), "the task's memory limits it");
        td.memory = Some(" ".into());
        td.containers[0].memory = Some(0);
        assert_eq!(run(evaluate, &td).len(), 3, "blank and zero are no limit");
    }
}
