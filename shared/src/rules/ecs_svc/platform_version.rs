use super::SvcContext;
use crate::finding::{Action, Severity};
use crate::model::svc::{platform_version, ServiceChange};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a Fargate service, task set or standalone task pinned to a
    /// platform version below the current one (`[service]
    /// latest_linux_platform_version`, `latest_windows_platform_version`).
    /// `LATEST` or no version is current. Judged on what the call sets.
    ///
    /// ## Why is this bad?
    /// Older platform versions miss kernel and runtime fixes; a pinned version
    /// never receives them.
    ///
    /// ## Example
    /// `{"launchType": "FARGATE", "platformVersion": "1.3.0"}`
    ///
    /// ## Fix
    /// Set `platformVersion` to `LATEST` (or the current version) and redeploy.
    ///
    /// ## References
    /// Security Hub ECS.10.
    pub static PLATFORM_VERSION = {
        id: "ECS-SVC-006",
        title: "Fargate platform version pinned below latest",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH ECS.10"],
        remediation: "Use platformVersion LATEST (or the current version) and redeploy.",
        check: crate::rules::Check::Service(evaluate),
    }
}

/// Pure check over what the call sets.
pub fn evaluate(change: &ServiceChange, ctx: &SvcContext) -> Vec<Hit> {
    let set = change.set_by_call();
    let Some(pinned) = set.platform_version.as_deref() else {
        return Vec::new();
    };
    let Some(version) = platform_version(pinned) else {
        // LATEST, or not a version at all: nothing pinned below anything.
        return Vec::new();
    };
    let after = change.after();
    let windows = after
        .platform_family
        .as_deref()
        .is_some_and(|f| f.to_ascii_uppercase().starts_with("WINDOWS"));
    let latest = if windows {
        &ctx.policy.latest_platform.windows
    } else {
        &ctx.policy.latest_platform.linux
    };
    match platform_version(latest) {
        Some(current) if version < current => vec![Hit::new(format!(
            "platformVersion {pinned} (current: {latest})"
        ))],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_svc::test_support::{change, run};
    use serde_json::json;

    #[test]
    fn flags_what_it_should() {
        let svc = |v: &str| {
            change(
                "CreateService",
                json!({"serviceName": "web", "launchType": "FARGATE", "platformVersion": v}),
            )
        };
        assert_eq!(
            run(evaluate, &svc("1.3.0")),
            ["platformVersion 1.3.0 (current: 1.4.0)"]
        );
        assert!(run(evaluate, &svc("1.4.0")).is_empty());
        assert!(run(evaluate, &svc("LATEST")).is_empty());
        assert!(run(
            evaluate,
            &change("CreateService", json!({"serviceName": "web"}))
        )
        .is_empty());
        let windows = change(
            "CreateService",
            json!({"serviceName": "web", "platformVersion": "1.0.0", "platformFamily": "WINDOWS_SERVER_2019_CORE"}),
        );
        assert!(
            run(evaluate, &windows).is_empty(),
            "1.0.0 is Windows' current"
        );
        let task = change(
            "RunTask",
            json!({"taskDefinition": "job:3", "platformVersion": "1.2.0"}),
        );
        assert_eq!(run(evaluate, &task).len(), 1);
    }
}
