use super::{shown, CiContext};
use crate::finding::{Action, Severity};
use crate::model::ci::{InstanceChange, Said};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a container instance — an instance that joins an ECS cluster —
    /// launched, or a launch template for them created, with an SSH key pair
    /// (`keyName`), naming the evidence that makes it a container instance
    /// (its instance profile's role carries the ECS instance policy, its
    /// launch template belongs to a capacity provider). Only AWS can tell:
    /// offline the check does not run and the verdict says so.
    ///
    /// ## Why is this bad?
    /// Whoever holds the private key — and everyone it was copied to — gets a
    /// shell on the host, and the host owns every task it runs: their
    /// secrets, their task-role credentials, their data. The key outlives the
    /// people who should have it, and SSH access leaves little trace.
    ///
    /// ## Example
    /// `RunInstances {"instancesSet": {"items": [{"keyName": "ops-shared", …}]}, "iamInstanceProfile": {"arn": "…/ecsInstanceRole"}}`
    ///
    /// ## Fix
    /// Launch container instances without a key pair; reach them, when you
    /// must, through Systems Manager Session Manager (logged, IAM-gated).
    ///
    /// ## References
    /// Beyond the peers (seed: how instances are accessed).
    pub static SSH_KEY_PAIR = {
        id: "EC2-CI-003",
        title: "SSH key pair on a container instance",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["beyond (seed: how instances are accessed)"],
        remediation: "Launch container instances without a key pair; use Session Manager for access.",
        check: crate::rules::Check::Instance(evaluate),
    }
}

/// Pure check over the change and whether the Lambda found it a container instance.
pub fn evaluate(change: &InstanceChange, ctx: &CiContext) -> Vec<Hit> {
    let Some(evidence) = &ctx.facts.container_instance else {
        return Vec::new();
    };
    match &change.effective.key_name {
        Said::Set(key) => vec![Hit::new(format!(
            "key pair {} on a container instance ({evidence})",
            shown(key)
        ))],
        Said::Default => Vec::new(),
        Said::Unknown => ctx.unknown(change, "keyName"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ci::{CREATE_LAUNCH_TEMPLATE, RUN_INSTANCES};
    use crate::rules::ec2_ci::test_support::{change, run, run_with};
    use crate::rules::ec2_ci::{CiFacts, Evidence};
    use serde_json::json;

    fn ecs() -> CiFacts {
        CiFacts {
            container_instance: Some(Evidence(
                "instance profile role ecsInstanceRole carries AmazonEC2ContainerServiceforEC2Role"
                    .into(),
            )),
            ..CiFacts::default()
        }
    }

    #[test]
    fn a_key_on_a_container_instance_is_flagged_with_the_evidence() {
        let keyed = change(
            RUN_INSTANCES,
            json!({"instancesSet": {"items": [{"imageId": "ami-1", "keyName": "ops-shared"}]}}),
        );
        assert_eq!(
            run_with(evaluate, &keyed, &ecs()),
            ["key pair ops-shared on a container instance (instance profile role ecsInstanceRole carries AmazonEC2ContainerServiceforEC2Role)"]
        );
        assert!(
            run(evaluate, &keyed).is_empty(),
            "not known to be a container instance: not judged (the guard says it needs AWS)"
        );
        let keyless = change(
            RUN_INSTANCES,
            json!({"instancesSet": {"items": [{"imageId": "ami-1"}]}}),
        );
        assert!(run_with(evaluate, &keyless, &ecs()).is_empty());
        let template = change(
            CREATE_LAUNCH_TEMPLATE,
            json!({"CreateLaunchTemplateRequest": {"LaunchTemplateName": "ecs", "LaunchTemplateData": {"KeyName": "ops"}}}),
        );
        assert_eq!(run_with(evaluate, &template, &ecs()).len(), 1);
    }

    #[test]
    fn a_template_not_read_is_unknown() {
        let from_template = change(
            RUN_INSTANCES,
            json!({"launchTemplate": {"launchTemplateId": "lt-1"}}),
        );
        assert!(run_with(evaluate, &from_template, &ecs()).is_empty());
        let unread = CiFacts {
            template_unread: Some("UnauthorizedOperation".into()),
            ..ecs()
        };
        assert_eq!(
            run_with(evaluate, &from_template, &unread),
            ["keyName is unknown: launch template lt-1 version $Default could not be read (UnauthorizedOperation)"]
        );
    }
}
