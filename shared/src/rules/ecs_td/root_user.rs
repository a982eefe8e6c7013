use super::is_root_user;
use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags every Linux container whose `user` is absent, `root`, `0`, or
    /// `0:`/`root:` with any group.
    ///
    /// ## Why is this bad?
    /// A process running as root inside the container is root on the host if it
    /// escapes (kernel bug, misconfigured mount), and can modify everything in the
    /// image.
    ///
    /// ## Example
    /// No `user` key; `"user": "0:1000"`.
    ///
    /// ## Fix
    /// Set `"user": "1000:1000"` (or the image's unprivileged user).
    ///
    /// ## References
    /// Security Hub ECS.20.
    pub static ROOT_USER = {
        id: "ECS-TD-006",
        title: "Linux container runs as root (user absent, root, 0, 0:x)",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH ECS.20"],
        remediation: "Set `user` to a non-root uid (e.g. `1000:1000`) and build the image to run as that user.",
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
        .filter(|c| is_root_user(c.user.as_deref()))
        .map(|c| match c.user.as_deref() {
            Some(u) if !u.trim().is_empty() => {
                Hit::new(format!("container {}: user {u:?} is root", c.name))
            }
            _ => Hit::new(format!(
                "container {}: no user set, so it runs as root",
                c.name
            )),
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
        c.user = Some("0:1000".into());
        assert_eq!(
            run(evaluate, &task(vec![c.clone()])),
            ["container app: user \"0:1000\" is root"]
        );
        c.user = None;
        let mut td = task(vec![c]);
        assert_eq!(run(evaluate, &td).len(), 1);
        td.os_family = Some("WINDOWS_SERVER_2022_CORE".into());
        assert!(run(evaluate, &td).is_empty());
    }
}
