use super::SvcContext;
use crate::finding::{Action, Severity};
use crate::model::svc::{ServiceChange, Subject};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags `RunTask` and `StartTask` with `assignPublicIp: ENABLED`, whoever
    /// starts them (a person, an EventBridge schedule, Step Functions, Batch).
    ///
    /// ## Why is this bad?
    /// Standalone tasks (migrations, batch jobs, one-off debugging) often run
    /// with more rights than services, and nobody watches them: a public IP
    /// puts that task on the internet for as long as it runs.
    ///
    /// ## Example
    /// `RunTask {"taskDefinition": "migrate:4", "networkConfiguration": {"awsvpcConfiguration": {"assignPublicIp": "ENABLED", …}}}`
    ///
    /// ## Fix
    /// Run tasks in private subnets with `assignPublicIp: DISABLED`; reach the
    /// internet through a NAT gateway.
    ///
    /// ## References
    /// Beyond the peers (Security Hub ECS.2 and ECS.16 cover services and task sets only).
    pub static TASK_PUBLIC_IP = {
        id: "ECS-SVC-009",
        title: "Standalone task with a public IP",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond (SH ECS.2/ECS.16 for tasks)"],
        remediation: "Run the task in a private subnet with assignPublicIp DISABLED.",
        check: crate::rules::Check::Service(evaluate),
    }
}

/// Pure check: the call gives the tasks public IPs.
pub fn evaluate(change: &ServiceChange, _ctx: &SvcContext) -> Vec<Hit> {
    if change.subject != Subject::Task {
        return Vec::new();
    }
    super::public_ip::public_ip(change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_svc::test_support::{change, run};
    use serde_json::json;

    #[test]
    fn flags_what_it_should() {
        let net = |ip: &str| json!({"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": ip}});
        for call in ["RunTask", "StartTask"] {
            let task = |ip: &str| {
                change(
                    call,
                    json!({"taskDefinition": "migrate:4", "networkConfiguration": net(ip)}),
                )
            };
            assert_eq!(run(evaluate, &task("ENABLED")).len(), 1, "{call}");
            assert!(run(evaluate, &task("DISABLED")).is_empty(), "{call}");
        }
        let bridge = change("RunTask", json!({"taskDefinition": "migrate:4"}));
        assert!(run(evaluate, &bridge).is_empty());
    }
}
