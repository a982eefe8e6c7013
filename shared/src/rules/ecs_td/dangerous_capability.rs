use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags containers that add `ALL`, `SYS_ADMIN`, `NET_ADMIN`, `SYS_PTRACE`,
    /// `SYS_MODULE`, `DAC_READ_SEARCH`, `DAC_OVERRIDE`, `BPF`, `PERFMON`,
    /// `SYS_RAWIO`, `SYS_BOOT`, `SYS_TIME`, `MAC_ADMIN`, `MAC_OVERRIDE`, `NET_RAW`
    /// or `SETFCAP` (with or without `CAP_`, any case), plus
    /// `task_definition.extra_dangerous_capabilities`.
    ///
    /// ## Why is this bad?
    /// These capabilities are most of root: mounting filesystems, loading kernel
    /// modules, tracing other processes, reading any file. Each is a known
    /// container-escape path.
    ///
    /// ## Example
    /// `"linuxParameters": {"capabilities": {"add": ["CAP_SYS_ADMIN"]}}`
    ///
    /// ## Fix
    /// Remove the capability; if one is required, document why and keep the
    /// container non-root.
    ///
    /// ## References
    /// CIS Docker Benchmark 5.4; beyond the AWS-native peers.
    pub static DANGEROUS_CAPABILITY = {
        id: "ECS-TD-011",
        title: "Dangerous Linux capability added",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond (CIS Docker 5.4)"],
        remediation: "Remove the capability from `linuxParameters.capabilities.add`.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Capabilities that amount to most of root.
const DANGEROUS: [&str; 16] = [
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "DAC_READ_SEARCH",
    "DAC_OVERRIDE",
    "BPF",
    "PERFMON",
    "SYS_RAWIO",
    "SYS_BOOT",
    "SYS_TIME",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "NET_RAW",
    "SETFCAP",
];

/// `cap_sys_admin` → `SYS_ADMIN`.
fn normalize_capability(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_string()
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, ctx: &TdContext) -> Vec<Hit> {
    let mut hits = Vec::new();
    for c in &td.containers {
        let found: Vec<String> = c
            .capabilities_add
            .iter()
            .map(|cap| normalize_capability(cap))
            .filter(|cap| {
                DANGEROUS.contains(&cap.as_str())
                    || ctx
                        .policy
                        .extra_dangerous_capabilities
                        .iter()
                        .any(|x| &normalize_capability(x) == cap)
            })
            .collect();
        if !found.is_empty() {
            hits.push(Hit::new(format!(
                "container {}: adds {}",
                c.name,
                found.join(", ")
            )));
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_td::test_support::{container, run, task};

    #[test]
    fn flags_what_it_should() {
        let mut c = container("app");
        c.capabilities_add = vec!["cap_sys_admin".into(), "CHOWN".into(), "NET_ADMIN".into()];
        assert_eq!(
            run(evaluate, &task(vec![c])),
            ["container app: adds SYS_ADMIN, NET_ADMIN"]
        );
    }
}
