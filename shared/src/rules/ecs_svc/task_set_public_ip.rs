use super::SvcContext;
use crate::finding::{Action, Severity};
use crate::model::svc::{ServiceChange, Subject};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a task set created with `assignPublicIp: ENABLED`. Services
    /// with the CODE_DEPLOY or EXTERNAL deployment controller change their
    /// network through task sets, never through UpdateService.
    ///
    /// ## Why is this bad?
    /// Every task of the set is directly addressable from the internet, and
    /// only its security groups stand between it and every scanner — during
    /// a blue/green deployment as much as after it.
    ///
    /// ## Example
    /// `CreateTaskSet {"service": "web", "networkConfiguration": {"awsvpcConfiguration": {"assignPublicIp": "ENABLED", …}}}`
    ///
    /// ## Fix
    /// Create task sets in private subnets with `assignPublicIp: DISABLED`.
    ///
    /// ## References
    /// Security Hub ECS.16.
    pub static TASK_SET_PUBLIC_IP = {
        id: "ECS-SVC-008",
        title: "Task set assigns public IPs",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["SH ECS.16"],
        remediation: "Create task sets in private subnets with assignPublicIp DISABLED.",
        check: crate::rules::Check::Service(evaluate),
    }
}

/// Pure check: the call gives the task set's tasks public IPs.
pub fn evaluate(change: &ServiceChange, _ctx: &SvcContext) -> Vec<Hit> {
    if change.subject != Subject::TaskSet {
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
        let set = |ip: &str| {
            change(
                "CreateTaskSet",
                json!({"service": "web", "taskDefinition": "web:3", "networkConfiguration": net(ip)}),
            )
        };
        assert_eq!(
            run(evaluate, &set("ENABLED")),
            ["assignPublicIp: ENABLED (subnets subnet-1)"]
        );
        assert!(run(evaluate, &set("DISABLED")).is_empty());
        // A service's public IP is ECS-SVC-001's, not this rule's.
        let svc = change(
            "CreateService",
            json!({"serviceName": "web", "networkConfiguration": net("ENABLED")}),
        );
        assert!(run(evaluate, &svc).is_empty());
        // UpdateTaskSet only scales.
        let scale = change(
            "UpdateTaskSet",
            json!({"service": "web", "taskSet": "ecs-svc/1", "scale": {"value": 100, "unit": "PERCENT"}}),
        );
        assert!(run(evaluate, &scale).is_empty());
    }
}
