use super::SvcContext;
use crate::finding::{Action, Severity};
use crate::model::svc::{ServiceChange, Subject};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a service whose tasks get public IP addresses
    /// (`awsvpcConfiguration.assignPublicIp: ENABLED`): on CreateService, and on
    /// an UpdateService that sets it (not on every later scale-out).
    ///
    /// ## Why is this bad?
    /// Each task is then directly addressable from the internet, and only its
    /// security groups stand between it and every scanner.
    ///
    /// ## Example
    /// `"networkConfiguration": {"awsvpcConfiguration": {"assignPublicIp": "ENABLED", …}}`
    ///
    /// ## Fix
    /// Run tasks in private subnets with `assignPublicIp: DISABLED`; publish
    /// them through a load balancer, and reach the internet through a NAT gateway.
    ///
    /// ## References
    /// Security Hub ECS.2; Checkov CKV_AWS_333.
    pub static PUBLIC_IP = {
        id: "ECS-SVC-001",
        title: "Service assigns public IPs",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["SH ECS.2", "CKV_AWS_333"],
        remediation: "Use private subnets with assignPublicIp DISABLED; publish through a load balancer.",
        check: crate::rules::Check::Service(evaluate),
    }
}

/// Pure check: the call gives the tasks public IPs.
pub fn evaluate(change: &ServiceChange, _ctx: &SvcContext) -> Vec<Hit> {
    if change.subject != Subject::Service {
        // Task sets and standalone tasks have rules of their own (ECS-SVC-008/009).
        return Vec::new();
    }
    public_ip(change)
}

/// `assignPublicIp: ENABLED` as the call set it, with the subnets.
pub(crate) fn public_ip(change: &ServiceChange) -> Vec<Hit> {
    match &change.set_by_call().awsvpc {
        Some(vpc) if vpc.public_ip() => vec![Hit::new(format!(
            "assignPublicIp: ENABLED (subnets {})",
            match vpc.subnets.as_deref() {
                Some(subnets) if !subnets.is_empty() => subnets.join(", "),
                _ => "unchanged".to_string(),
            }
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
    fn public_ip_on_create_and_on_the_update_that_sets_it() {
        let net = json!({"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}});
        assert_eq!(
            run(
                evaluate,
                &change(
                    "CreateService",
                    json!({"serviceName": "web", "networkConfiguration": net})
                )
            ),
            ["assignPublicIp: ENABLED (subnets subnet-1)"]
        );
        assert_eq!(
            run(
                evaluate,
                &change(
                    "UpdateService",
                    json!({"service": "web", "networkConfiguration": net})
                )
            )
            .len(),
            1
        );
        assert!(run(
            evaluate,
            &change(
                "UpdateService",
                json!({"service": "web", "desiredCount": 3})
            )
        )
        .is_empty());
    }
}
