use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags a task definition whose `networkMode` is not `awsvpc`, once per
    /// definition. An absent mode is `bridge` on Linux and `default` on
    /// Windows. `none` (no network at all) passes: there is nothing a
    /// security group would guard.
    ///
    /// ## Why is this bad?
    /// Outside `awsvpc`, tasks share the instance's network interface, so they
    /// share its security groups: no rule can admit one task and not its
    /// neighbours, and flow logs cannot tell the tasks apart.
    ///
    /// ## Example
    /// `"networkMode": "bridge"`, or no `networkMode` on EC2.
    ///
    /// ## Fix
    /// Use `"networkMode": "awsvpc"` and give each service its own security
    /// groups.
    ///
    /// ## References
    /// AWS Control Tower CT.ECS.PR.4.
    pub static NOT_AWSVPC = {
        id: "ECS-TD-025",
        title: "Not awsvpc network mode (no per-task security group)",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["CT PR.4"],
        remediation: "Use `awsvpc` network mode so that each task has its own interface and security groups.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    let detail = match td.network_mode.as_deref().map(str::trim) {
        None | Some("") if td.is_windows() => {
            "networkMode not set (default, the Windows default)".to_string()
        }
        None | Some("") => "networkMode not set (bridge, the EC2 default)".to_string(),
        Some(m) if m.eq_ignore_ascii_case("awsvpc") || m.eq_ignore_ascii_case("none") => {
            return Vec::new()
        }
        Some(m) => format!("networkMode: {m}"),
    };
    vec![Hit::new(detail)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_td::test_support::{container, run, task};

    #[test]
    fn flags_what_it_should() {
        let mut td = task(vec![container("app"), container("sidecar")]);
        assert!(run(evaluate, &td).is_empty());
        td.network_mode = Some("none".into());
        assert!(run(evaluate, &td).is_empty());
        td.network_mode = Some("bridge".into());
        assert_eq!(run(evaluate, &td), ["networkMode: bridge"], "once per task");
        td.network_mode = Some("host".into());
        assert_eq!(run(evaluate, &td), ["networkMode: host"]);
        td.network_mode = None;
        assert_eq!(
            run(evaluate, &td),
            ["networkMode not set (bridge, the EC2 default)"]
        );
        td.os_family = Some("WINDOWS_SERVER_2022_FULL".into());
        assert_eq!(
            run(evaluate, &td),
            ["networkMode not set (default, the Windows default)"]
        );
    }
}
