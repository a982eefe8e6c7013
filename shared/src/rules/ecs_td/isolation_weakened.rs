use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags `dockerSecurityOptions` that switch off a confinement layer:
    /// `seccomp:unconfined`, `apparmor:unconfined`, `label:disable`,
    /// `label=disable`, `no-new-privileges:false`.
    ///
    /// ## Why is this bad?
    /// seccomp, AppArmor and SELinux labels are what stand between a compromised
    /// process and most kernel attack surface.
    ///
    /// ## Example
    /// `"dockerSecurityOptions": ["seccomp:unconfined"]`
    ///
    /// ## Fix
    /// Remove the option; if a profile blocks a needed syscall, write a narrower
    /// profile.
    ///
    /// ## References
    /// Beyond the peers.
    pub static ISOLATION_WEAKENED = {
        id: "ECS-TD-014",
        title: "Isolation weakened (seccomp/apparmor unconfined, label:disable)",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Remove the option from `dockerSecurityOptions`.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Options that switch a confinement layer off (after `=` → `:` and lower-casing).
const WEAKENING: [&str; 4] = [
    "seccomp:unconfined",
    "apparmor:unconfined",
    "label:disable",
    "no-new-privileges:false",
];

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    let mut hits = Vec::new();
    for c in &td.containers {
        for option in &c.docker_security_options {
            let normal = option.trim().to_ascii_lowercase().replace('=', ":");
            if WEAKENING.contains(&normal.as_str()) {
                hits.push(Hit::new(format!(
                    "container {}: dockerSecurityOptions {option}",
                    c.name
                )));
            }
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
        c.docker_security_options = vec![
            "label=disable".into(),
            "no-new-privileges:true".into(),
            "SECCOMP:unconfined".into(),
        ];
        assert_eq!(run(evaluate, &task(vec![c])).len(), 2);
    }
}
