use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

/// The Windows container's built-in administrator account.
const ADMINISTRATOR: &str = "ContainerAdministrator";

crate::rule! {
    /// ## What it does
    /// In a Windows task definition (`runtimePlatform.operatingSystemFamily`
    /// `WINDOWS_*`), flags every container whose `user` is absent or
    /// `ContainerAdministrator` (any case). Linux tasks are ECS-TD-006's.
    ///
    /// ## Why is this bad?
    /// `ContainerAdministrator` is the container's administrator: it can change
    /// everything in the container, and a process-isolation or kernel escape
    /// gives it more of the host than an unprivileged user would get. Without
    /// `user`, most Windows images run as `ContainerAdministrator`.
    ///
    /// ## Example
    /// `"runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}`
    /// with a container without `user`, or `"user": "ContainerAdministrator"`.
    ///
    /// ## Fix
    /// Set `"user": "ContainerUser"` (or another unprivileged account the image
    /// defines).
    ///
    /// ## References
    /// Security Hub ECS.21.
    pub static WINDOWS_CONTAINER_ADMINISTRATOR = {
        id: "ECS-TD-020",
        title: "Windows container runs as ContainerAdministrator",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH ECS.21"],
        remediation: "Set `user` to `ContainerUser` or another non-administrator account.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    if !td.is_windows() {
        return Vec::new();
    }
    td.containers
        .iter()
        .filter_map(|c| match c.user.as_deref().map(str::trim) {
            None | Some("") => Some(Hit::new(format!(
                "container {}: no user set, so it runs as {ADMINISTRATOR}",
                c.name
            ))),
            Some(u) if u.eq_ignore_ascii_case(ADMINISTRATOR) => {
                Some(Hit::new(format!("container {}: user {u:?}", c.name)))
            }
            Some(_) => None,
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
        c.user = Some("ContainerUser".into());
        let mut admin = container("iis");
        admin.user = Some("containeradministrator".into());
        let mut none = container("sidecar");
        none.user = None;
        let mut blank = container("init");
        blank.user = Some(" ".into());
        let mut td = task(vec![c, admin, none, blank]);
        assert!(
            run(evaluate, &td).is_empty(),
            "Linux tasks are ECS-TD-006's"
        );
        td.os_family = Some("LINUX".into());
        assert!(run(evaluate, &td).is_empty());
        td.os_family = Some("WINDOWS_SERVER_2022_CORE".into());
        assert_eq!(
            run(evaluate, &td),
            [
                "container iis: user \"containeradministrator\"",
                "container sidecar: no user set, so it runs as ContainerAdministrator",
                "container init: no user set, so it runs as ContainerAdministrator"
            ]
        );
    }
}
