use super::CiContext;
use crate::finding::{Action, Severity};
use crate::model::ci::InstanceChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a launch, or a launch template version, that attaches a security
    /// group whose live ingress rules are open to the internet (any EC2-SG
    /// rule), naming the group, the rule and the port. The Lambda reads the
    /// groups with `DescribeSecurityGroupRules`; it reports, and never
    /// revokes from here (the ingress guard owns revocation). Offline it does
    /// not run and the verdict says so.
    ///
    /// ## Why is this bad?
    /// The group was perhaps opened long ago for something else; attached to
    /// these instances, it now exposes them — on a container instance, its
    /// SSH daemon, its ECS agent and every host port its tasks map.
    ///
    /// ## Example
    /// `RunInstances {"groupSet": {"items": [{"groupId": "sg-1"}]}, …}` where
    /// sg-1 allows tcp 22 from 0.0.0.0/0.
    ///
    /// ## Fix
    /// Attach a dedicated group that admits only the load balancer's group,
    /// or remove the open rule from the shared one.
    ///
    /// ## References
    /// Beyond the peers: they judge groups and instances separately, not the join at launch.
    pub static OPEN_SECURITY_GROUP = {
        id: "EC2-CI-005",
        title: "Launched with a security group open to the internet",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Attach a dedicated security group, or remove the open rule from the shared group.",
        check: crate::rules::Check::Instance(evaluate),
    }
}

/// Pure check over what the Lambda read: one hit per open group.
pub fn evaluate(change: &InstanceChange, ctx: &CiContext) -> Vec<Hit> {
    if !change.call.is_creation() {
        return Vec::new();
    }
    let Some(exposure) = &ctx.facts.groups else {
        return Vec::new();
    };
    let open = exposure
        .groups
        .iter()
        .filter(|(_, findings)| !findings.is_empty())
        .map(|(group, findings)| {
            let mut rules: Vec<String> = findings
                .iter()
                .map(|f| format!("{} ({})", f.detail, f.rule))
                .collect();
            rules.dedup();
            Hit::new(format!("{group}: {}", rules.join("; ")))
        });
    // A group whose rules could not be read is unknown, never clean.
    let unknown = exposure.unchecked.iter().map(|(group, why)| {
        Hit::new(format!(
            "{group}: whether it is open to the internet is unknown ({why})"
        ))
    });
    open.chain(unknown).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;
    use crate::model::ci::{MODIFY_INSTANCE_METADATA_OPTIONS, RUN_INSTANCES};
    use crate::rules::ec2_ci::test_support::{change, run, run_with};
    use crate::rules::ec2_ci::{CiFacts, GroupExposure};
    use serde_json::json;

    #[test]
    fn names_the_open_group_and_its_rule() {
        let ssh = Finding {
            fields: Default::default(),
            resource: None,
            rule: "EC2-SG-003",
            severity: Severity::Critical,
            title: "SSH",
            detail: "tcp 22 from 0.0.0.0/0 (sgr-1)".into(),
            remediation: "",
            action: Action::Revoke,
            target: None,
        };
        let facts = CiFacts {
            groups: Some(GroupExposure {
                groups: vec![("sg-1".into(), vec![ssh]), ("sg-2".into(), vec![])],
                unchecked: vec![],
            }),
            ..CiFacts::default()
        };
        let launch = change(
            RUN_INSTANCES,
            json!({"instancesSet": {"items": [{"imageId": "ami-1"}]},
                   "groupSet": {"items": [{"groupId": "sg-1"}, {"groupId": "sg-2"}]}}),
        );
        assert_eq!(
            run_with(evaluate, &launch, &facts),
            ["sg-1: tcp 22 from 0.0.0.0/0 (sgr-1) (EC2-SG-003)"]
        );
        assert!(run(evaluate, &launch).is_empty(), "offline");
        let update = change(
            MODIFY_INSTANCE_METADATA_OPTIONS,
            json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-1", "HttpTokens": "required"}}),
        );
        assert!(
            run_with(evaluate, &update, &facts).is_empty(),
            "attaches no group"
        );
    }
}
