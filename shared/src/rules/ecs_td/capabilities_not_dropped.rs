use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags every container of a Linux task definition whose
    /// `linuxParameters.capabilities.drop` does not contain `ALL` (any case,
    /// with or without `CAP_`). Windows tasks have no Linux capabilities.
    ///
    /// ## Why is this bad?
    /// Docker's default set keeps capabilities most applications never use
    /// (`NET_RAW`, `CHOWN`, `SETUID`, `MKNOD`, …): each one is something an
    /// attacker inside the container can use, e.g. to spoof traffic or climb to
    /// other users.
    ///
    /// ## Example
    /// A container without `linuxParameters`, or with
    /// `"capabilities": {"drop": ["NET_RAW"]}`.
    ///
    /// ## Fix
    /// `"linuxParameters": {"capabilities": {"drop": ["ALL"], "add": [...]}}`,
    /// adding back only what the application needs.
    ///
    /// ## References
    /// CIS Docker Benchmark 5.4 (beyond Security Hub).
    pub static CAPABILITIES_NOT_DROPPED = {
        id: "ECS-TD-023",
        title: "Linux capabilities not dropped (no `drop: [\"ALL\"]`)",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["beyond (CIS Docker 5.4)"],
        remediation: "Set `linuxParameters.capabilities.drop` to `[\"ALL\"]` and add back only the capabilities the container needs.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

fn is_all(cap: &str) -> bool {
    let cap = cap.trim();
    let cap = cap
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("CAP_"))
        .map_or(cap, |_| &cap[4..]);
    cap.eq_ignore_ascii_case("ALL")
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    if td.is_windows() {
        return Vec::new();
    }
    td.containers
        .iter()
        .filter(|c| !c.capabilities_drop.iter().any(|cap| is_all(cap)))
        .map(|c| {
            Hit::new(if c.capabilities_drop.is_empty() {
                format!("container {}: no capabilities dropped", c.name)
            } else {
                format!(
                    "container {}: drops only {}, not ALL",
                    c.name,
                    c.capabilities_drop.join(", ")
                )
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
        let mut c = container("app");
        for all in ["ALL", "all", "CAP_ALL", " cap_all "] {
            c.capabilities_drop = vec!["NET_RAW".into(), all.into()];
            assert!(run(evaluate, &task(vec![c.clone()])).is_empty(), "{all}");
        }
        c.capabilities_drop = vec!["NET_RAW".into(), "CAP_MKNOD".into()];
        let mut bare = container("sidecar");
        bare.capabilities_drop = Vec::new();
        let mut td = task(vec![c, bare]);
        assert_eq!(
            run(evaluate, &td),
            [
                "container app: drops only NET_RAW, CAP_MKNOD, not ALL",
                "container sidecar: no capabilities dropped"
            ]
        );
        td.os_family = Some("WINDOWS_SERVER_2019_FULL".into());
        assert!(run(evaluate, &td).is_empty());
        assert!(!is_all("CAP_") && !is_all("CALL") && !is_all(""));
    }
}
