use super::{shown, CiContext};
use crate::finding::{Action, Severity};
use crate::model::ci::{InstanceChange, Said};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an instance launch, a launch template version and a metadata
    /// update that allow IMDSv1: `metadataOptions.httpTokens` other than
    /// `required`. Absent counts as `optional` — EC2's default — unless the
    /// account's metadata defaults or the AMI (`ImdsSupport: v2.0`) make
    /// IMDSv2 the default, which the Lambda reads. A launch from a launch
    /// template that the record does not carry is judged once the Lambda has
    /// read the template version. Not flagged when the call turns the metadata
    /// endpoint off (`httpEndpoint: disabled`).
    ///
    /// ## Why is this bad?
    /// IMDSv1 answers any plain GET: a server-side request forgery in one
    /// container, or any process that can reach 169.254.169.254, reads the
    /// instance role's credentials — on a container instance, the role that
    /// pulls every image and writes every log of the tasks it runs.
    ///
    /// ## Example
    /// `RunInstances {"metadataOptions": {"httpTokens": "optional"}, …}`, or
    /// `ModifyInstanceMetadataOptions {"HttpTokens": "optional"}`.
    ///
    /// ## Fix
    /// Set `httpTokens: required` at launch and in launch templates (ECS
    /// capacity providers' templates included); make it the account default
    /// with `ModifyInstanceMetadataDefaults`.
    ///
    /// ## References
    /// Security Hub EC2.8 (instances) and EC2.170 (launch templates).
    pub static IMDSV1 = {
        id: "EC2-CI-001",
        title: "Instance or launch template allows IMDSv1",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["SH EC2.8", "SH EC2.170"],
        remediation: "Set metadataOptions.httpTokens to required (and make it the account default).",
        check: crate::rules::Check::Instance(evaluate),
    }
}

fn is_required(tokens: &str) -> bool {
    tokens.trim().eq_ignore_ascii_case("required")
}

/// Pure check over the change and the defaults the Lambda read.
pub fn evaluate(change: &InstanceChange, ctx: &CiContext) -> Vec<Hit> {
    let settings = &change.effective;
    if settings.imds_off() {
        return Vec::new();
    }
    let detail = match &settings.http_tokens {
        Said::Set(tokens) if is_required(tokens) => return Vec::new(),
        Said::Set(tokens) => format!("httpTokens {}: IMDSv1 allowed", shown(tokens)),
        Said::Default => match &ctx.facts.metadata_defaults {
            None => "httpTokens not set: optional (IMDSv1 allowed) unless the AMI or the account default requires IMDSv2".to_string(),
            Some(defaults) => match &defaults.http_tokens {
                Some(tokens) if is_required(&tokens.value) => return Vec::new(),
                Some(tokens) => format!(
                    "httpTokens not set: {} by {}: IMDSv1 allowed",
                    shown(&tokens.value),
                    tokens.from
                ),
                None if defaults.ami_unknown.is_some() => format!(
                    "httpTokens not set: optional (IMDSv1 allowed) unless the AMI requires IMDSv2, which could not be told ({})",
                    defaults.ami_unknown.as_deref().unwrap_or_default()
                ),
                None => format!(
                    "httpTokens not set: optional (EC2's default; nothing in {} requires IMDSv2): IMDSv1 allowed",
                    defaults.consulted
                ),
            },
        },
        Said::Unknown => return ctx.unknown(change, "httpTokens"),
    };
    vec![Hit::new(detail)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ci::{
        CREATE_LAUNCH_TEMPLATE, MODIFY_INSTANCE_METADATA_OPTIONS, RUN_INSTANCES,
    };
    use crate::rules::ec2_ci::test_support::{change, change_with, run, run_with};
    use crate::rules::ec2_ci::{CiFacts, MetadataDefaults, Sourced};
    use serde_json::json;

    fn launch(metadata: serde_json::Value) -> InstanceChange {
        change(
            RUN_INSTANCES,
            json!({"instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": 1}]},
                   "metadataOptions": metadata}),
        )
    }

    #[test]
    fn optional_tokens_are_flagged_required_are_not() {
        assert_eq!(
            run(evaluate, &launch(json!({"httpTokens": "optional"}))),
            ["httpTokens optional: IMDSv1 allowed"]
        );
        assert!(run(evaluate, &launch(json!({"httpTokens": "required"}))).is_empty());
        assert!(
            run(
                evaluate,
                &launch(json!({"httpTokens": "optional", "httpEndpoint": "disabled"}))
            )
            .is_empty(),
            "no metadata endpoint, no IMDSv1"
        );
        let update = change(
            MODIFY_INSTANCE_METADATA_OPTIONS,
            json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-1", "HttpTokens": "optional"}}),
        );
        assert_eq!(
            run(evaluate, &update),
            ["httpTokens optional: IMDSv1 allowed"]
        );
        let hop_only = change(
            MODIFY_INSTANCE_METADATA_OPTIONS,
            json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-1", "HttpPutResponseHopLimit": 2}}),
        );
        assert!(
            run(evaluate, &hop_only).is_empty(),
            "an update is judged on what it sets"
        );
    }

    #[test]
    fn absent_tokens_are_optional_unless_a_default_says_otherwise() {
        let bare = launch(json!(null));
        assert_eq!(
            run(evaluate, &bare),
            ["httpTokens not set: optional (IMDSv1 allowed) unless the AMI or the account default requires IMDSv2"]
        );
        let facts = |tokens: Option<(&str, &str)>| CiFacts {
            metadata_defaults: Some(MetadataDefaults {
                ami_unknown: Default::default(),
                http_tokens: tokens.map(|(value, from)| Sourced::new(value.to_string(), from)),
                hop_limit: None,
                consulted: "the account's metadata defaults or AMI ami-1's ImdsSupport".into(),
            }),
            ..CiFacts::default()
        };
        assert!(run_with(
            evaluate,
            &bare,
            &facts(Some(("required", "AMI ami-1 (ImdsSupport v2.0)")))
        )
        .is_empty());
        assert_eq!(
            run_with(
                evaluate,
                &bare,
                &facts(Some(("optional", "the account's metadata default")))
            ),
            ["httpTokens not set: optional by the account's metadata default: IMDSv1 allowed"]
        );
        assert_eq!(
            run_with(evaluate, &bare, &facts(None)),
            ["httpTokens not set: optional (EC2's default; nothing in the account's metadata defaults or AMI ami-1's ImdsSupport requires IMDSv2): IMDSv1 allowed"]
        );
        let template = change(
            CREATE_LAUNCH_TEMPLATE,
            json!({"CreateLaunchTemplateRequest": {"LaunchTemplateName": "ecs", "LaunchTemplateData": {"KeyName": "ops"}}}),
        );
        assert_eq!(
            run(evaluate, &template).len(),
            1,
            "SH EC2.170: a template without httpTokens"
        );
    }

    #[test]
    fn a_template_not_read_is_unknown_never_clean() {
        let from_template = change_with(
            RUN_INSTANCES,
            json!({"launchTemplate": {"launchTemplateId": "lt-1", "version": "2"}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1"}]}}),
        );
        assert!(
            run(evaluate, &from_template).is_empty(),
            "offline: a note, not a verdict"
        );
        let unread = CiFacts {
            template_unread: Some("UnauthorizedOperation".into()),
            ..CiFacts::default()
        };
        assert_eq!(
            run_with(evaluate, &from_template, &unread),
            ["httpTokens is unknown: launch template lt-1 version 2 could not be read (UnauthorizedOperation)"]
        );
        // The response says what the instance got: no read needed for it.
        let shown = change_with(
            RUN_INSTANCES,
            json!({"launchTemplate": {"launchTemplateId": "lt-1"}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1", "metadataOptions": {"httpTokens": "optional"}}]}}),
        );
        assert_eq!(
            run_with(evaluate, &shown, &unread),
            ["httpTokens optional: IMDSv1 allowed"]
        );
    }
}
