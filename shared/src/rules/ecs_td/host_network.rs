use super::is_root_user;
use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags `networkMode: host`; the finding is high when a container of the task
    /// also runs as root.
    ///
    /// ## Why is this bad?
    /// In host mode containers bind the instance's interfaces directly, bypass
    /// task-level security groups, and can reach the instance metadata service; as
    /// root they can also reconfigure the host's network.
    ///
    /// ## Example
    /// `"networkMode": "host"` with a container without `user`.
    ///
    /// ## Fix
    /// Use `awsvpc`; if host mode is unavoidable, run containers as a non-root
    /// user.
    ///
    /// ## References
    /// Security Hub ECS.17.
    pub static HOST_NETWORK = {
        id: "ECS-TD-005",
        title: "Host network mode (high when a container runs as root)",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH ECS.17"],
        remediation: "Use `awsvpc` network mode, which gives the task its own interface and security groups.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    if td.network_mode() != "host" {
        return Vec::new();
    }
    let roots: Vec<&str> = td
        .containers
        .iter()
        .filter(|c| is_root_user(c.user.as_deref()))
        .map(|c| c.name.as_str())
        .collect();
    if roots.is_empty() || td.is_windows() {
        return vec![Hit::new("networkMode: host")];
    }
    vec![Hit {
        fields: Default::default(),
        detail: format!("networkMode: host, and {} run(s) as root", roots.join(", ")),
        escalate_to: Some(Severity::High),
        exactly: None,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ecs_td::test_support::{container, run, task};

    #[test]
    fn flags_what_it_should() {
        let mut td = task(vec![container("app")]);
        assert!(run(evaluate, &td).is_empty());
        td.network_mode = Some("host".into());
        assert_eq!(run(evaluate, &td), ["networkMode: host"]);
        td.containers[0].user = None;
        let policy = Policy::embedded();
        let hits = evaluate(
            &td,
            &TdContext {
                task_role: None,
                policy: &policy,
                account: "1",
            },
        );
        assert_eq!(hits[0].escalate_to, Some(Severity::High));
    }
}
