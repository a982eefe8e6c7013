use super::CiContext;
use crate::finding::{Action, Severity};
use crate::model::ci::{InstanceChange, Said};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a container instance — an instance that joins an ECS cluster —
    /// whose metadata hop limit (`metadataOptions.httpPutResponseHopLimit`)
    /// is above 1: at launch, in a launch template for them, or set by
    /// `ModifyInstanceMetadataOptions`. Absent takes the account's or the
    /// AMI's default (2 for AMIs with `ImdsSupport: v2.0`, such as Amazon
    /// Linux 2023), else 1; the Lambda reads them. Only AWS can tell a
    /// container instance: offline the check does not run and the verdict
    /// says so.
    ///
    /// ## Why is this bad?
    /// A container in `bridge` or `default` network mode is one hop further
    /// from the instance metadata service than the host. With a hop limit of
    /// 2 its IMDSv2 token reaches it, and with the token the instance role's
    /// credentials: every task on the host can act as the host.
    ///
    /// ## Example
    /// `CreateLaunchTemplate {"LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2}}}`
    /// for a capacity provider's Auto Scaling group.
    ///
    /// ## Fix
    /// Set `httpPutResponseHopLimit: 1` on container instances (tasks use
    /// their task role, not the instance's), or block IMDS for tasks
    /// (`ECS_AWSVPC_BLOCK_IMDS`, an iptables rule for bridge mode).
    ///
    /// ## References
    /// Beyond the peers (Amazon ECS best practices: restrict task access to instance metadata).
    pub static HOP_LIMIT = {
        id: "EC2-CI-004",
        title: "Metadata hop limit > 1 (containers can reach the instance role)",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["beyond (ECS best practice)"],
        remediation: "Set metadataOptions.httpPutResponseHopLimit to 1 on container instances, or block IMDS for tasks.",
        check: crate::rules::Check::Instance(evaluate),
    }
}

/// Pure check over the change, whether the Lambda found it a container
/// instance, and the defaults it read.
pub fn evaluate(change: &InstanceChange, ctx: &CiContext) -> Vec<Hit> {
    let Some(evidence) = &ctx.facts.container_instance else {
        return Vec::new();
    };
    let settings = &change.effective;
    if settings.imds_off() {
        return Vec::new();
    }
    let (limit, from) = match &settings.hop_limit {
        Said::Set(limit) => (*limit, None),
        Said::Default => match &ctx.facts.metadata_defaults {
            Some(defaults) => match (&defaults.hop_limit, &defaults.ami_unknown) {
                (Some(limit), _) => (limit.value, Some(&limit.from)),
                (None, Some(why)) => {
                    return vec![Hit::new(format!(
                        "httpPutResponseHopLimit not set and the AMI's default could not be told ({why}): unknown (2 for AMIs with ImdsSupport v2.0) on a container instance ({evidence})"
                    ))]
                }
                (None, None) => (1, None),
            },
            None => {
                return vec![Hit::new(format!(
                    "httpPutResponseHopLimit not set, and the AMI and account defaults were not read: unknown (2 for AMIs with ImdsSupport v2.0) on a container instance ({evidence})"
                ))]
            }
        },
        Said::Unknown => return ctx.unknown(change, "httpPutResponseHopLimit"),
    };
    if limit <= 1 {
        return Vec::new();
    }
    vec![Hit::new(match from {
        None => format!("httpPutResponseHopLimit {limit} on a container instance ({evidence})"),
        Some(source) => format!(
            "httpPutResponseHopLimit not set: {limit} by {source}, on a container instance ({evidence})"
        ),
    })]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ci::{
        CREATE_LAUNCH_TEMPLATE, MODIFY_INSTANCE_METADATA_OPTIONS, RUN_INSTANCES,
    };
    use crate::rules::ec2_ci::test_support::{change, run, run_with};
    use crate::rules::ec2_ci::{CiFacts, Evidence, MetadataDefaults, Sourced};
    use serde_json::json;

    fn ecs() -> CiFacts {
        CiFacts {
            container_instance: Some(Evidence(
                "launch template lt-1 used by capacity provider cp".into(),
            )),
            ..CiFacts::default()
        }
    }

    fn launch(metadata: serde_json::Value) -> InstanceChange {
        change(
            RUN_INSTANCES,
            json!({"instancesSet": {"items": [{"imageId": "ami-1"}]}, "metadataOptions": metadata}),
        )
    }

    #[test]
    fn a_hop_limit_above_one_on_a_container_instance_is_flagged() {
        let two = launch(json!({"httpTokens": "required", "httpPutResponseHopLimit": "2"}));
        assert_eq!(
            run_with(evaluate, &two, &ecs()),
            ["httpPutResponseHopLimit 2 on a container instance (launch template lt-1 used by capacity provider cp)"]
        );
        assert!(
            run(evaluate, &two).is_empty(),
            "not known to be one: not judged"
        );
        assert!(run_with(
            evaluate,
            &launch(json!({"httpPutResponseHopLimit": 1})),
            &ecs()
        )
        .is_empty());
        assert!(
            run_with(
                evaluate,
                &launch(json!({"httpPutResponseHopLimit": 3, "httpEndpoint": "disabled"})),
                &ecs()
            )
            .is_empty(),
            "no metadata endpoint"
        );
        let template = change(
            CREATE_LAUNCH_TEMPLATE,
            json!({"CreateLaunchTemplateRequest": {"LaunchTemplateName": "ecs", "LaunchTemplateData": {
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2}}}}),
        );
        assert_eq!(run_with(evaluate, &template, &ecs()).len(), 1);
        let update = change(
            MODIFY_INSTANCE_METADATA_OPTIONS,
            json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-1", "HttpPutResponseHopLimit": 4}}),
        );
        assert_eq!(run_with(evaluate, &update, &ecs()).len(), 1);
        let tokens_only = change(
            MODIFY_INSTANCE_METADATA_OPTIONS,
            json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-1", "HttpTokens": "required"}}),
        );
        assert!(
            run_with(evaluate, &tokens_only, &ecs()).is_empty(),
            "judged on what it sets"
        );
    }

    #[test]
    fn an_absent_limit_takes_the_defaults_and_is_unknown_without_them() {
        let bare = launch(json!({"httpTokens": "required"}));
        let with = |hop_limit: Option<i64>| CiFacts {
            metadata_defaults: Some(MetadataDefaults {
                ami_unknown: Default::default(),
                http_tokens: Some(Sourced::new(
                    "required".to_string(),
                    "AMI ami-1 (ImdsSupport v2.0)",
                )),
                hop_limit: hop_limit
                    .map(|limit| Sourced::new(limit, "AMI ami-1 (ImdsSupport v2.0)")),
                consulted: "the account's metadata defaults or AMI ami-1's ImdsSupport".into(),
            }),
            ..ecs()
        };
        assert_eq!(
            run_with(evaluate, &bare, &with(Some(2))),
            ["httpPutResponseHopLimit not set: 2 by AMI ami-1 (ImdsSupport v2.0), on a container instance (launch template lt-1 used by capacity provider cp)"]
        );
        assert!(
            run_with(evaluate, &bare, &with(None)).is_empty(),
            "EC2's default: 1"
        );
        let unknown = run_with(evaluate, &bare, &ecs());
        assert_eq!(unknown.len(), 1);
        assert!(unknown[0].contains("unknown"), "{unknown:?}");
    }
}
