use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags every host device a container maps in through
    /// `linuxParameters.devices`.
    ///
    /// ## Why is this bad?
    /// A host device (`/dev/mem`, a disk, `/dev/kmsg`) gives the container direct
    /// access to hardware or kernel interfaces outside its isolation.
    ///
    /// ## Example
    /// `"devices": [{"hostPath": "/dev/xvda"}]`
    ///
    /// ## Fix
    /// Remove the device; use a volume or an AWS service for what the container
    /// needs.
    ///
    /// ## References
    /// Beyond the peers.
    pub static HOST_DEVICE = {
        id: "ECS-TD-012",
        title: "Host device exposed",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Remove the device from `linuxParameters.devices`.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    td.containers
        .iter()
        .flat_map(|c| {
            c.devices
                .iter()
                .map(move |d| Hit::new(format!("container {}: host device {d}", c.name)))
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
        c.devices = vec!["/dev/mem".into()];
        assert_eq!(
            run(evaluate, &task(vec![c])),
            ["container app: host device /dev/mem"]
        );
    }
}
