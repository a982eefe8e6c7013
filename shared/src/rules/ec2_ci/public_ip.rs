use super::CiContext;
use crate::finding::{Action, Severity};
use crate::model::ci::{InstanceChange, Said};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a launch, and a launch template version, that gives instances a
    /// public IPv4 address: `associatePublicIpAddress: true` on a network
    /// interface, or a public address in the launch's response. A launch
    /// that does not say takes its subnet's `MapPublicIpOnLaunch` (on in
    /// default VPCs): the Lambda reads the subnet, and offline the verdict
    /// says the check needs AWS. A launch from a launch template the record
    /// does not carry is judged once the Lambda has read the template version.
    ///
    /// ## Why is this bad?
    /// The instance is then directly addressable from the internet, and only
    /// its security groups stand between every scanner and its SSH daemon,
    /// its ECS agent and every host port its tasks map.
    ///
    /// ## Example
    /// `RunInstances {"networkInterfaceSet": {"items": [{"deviceIndex": 0, "associatePublicIpAddress": true}]}}`
    ///
    /// ## Fix
    /// Launch container instances in private subnets (NAT for egress, a load
    /// balancer for ingress), with `associatePublicIpAddress: false`, and
    /// turn `MapPublicIpOnLaunch` off on their subnets.
    ///
    /// ## References
    /// Security Hub EC2.9 (instances with a public IPv4 address) and EC2.25
    /// (launch templates that assign public IPs).
    pub static PUBLIC_IP = {
        id: "EC2-CI-002",
        title: "Public IP at launch",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["SH EC2.9", "SH EC2.25"],
        remediation: "Launch in private subnets with associatePublicIpAddress false; publish through a load balancer.",
        check: crate::rules::Check::Instance(evaluate),
    }
}

/// Pure check over the change and the subnet setting the Lambda read.
pub fn evaluate(change: &InstanceChange, ctx: &CiContext) -> Vec<Hit> {
    if !change.call.is_creation() {
        return Vec::new();
    }
    let settings = &change.effective;
    let subnet = settings.subnet.as_deref();
    let in_subnet = subnet.map(|s| format!(" (subnet {s})")).unwrap_or_default();
    match &settings.public_ip {
        Said::Set(true) => vec![Hit::new(match &settings.public_address {
            Some(address) => format!("public IPv4 address {address}{in_subnet}"),
            None => format!("associatePublicIpAddress true{in_subnet}"),
        })],
        Said::Set(false) => Vec::new(),
        Said::Default => match ctx.facts.subnet_public_ip {
            Some(true) => vec![Hit::new(format!(
                "no public-IP setting: {} assigns public IPv4 addresses on launch (MapPublicIpOnLaunch)",
                subnet.map_or("the subnet".to_string(), |s| format!("subnet {s}"))
            ))],
            _ => Vec::new(),
        },
        Said::Unknown => ctx.unknown(change, "associatePublicIpAddress"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ci::{
        CREATE_LAUNCH_TEMPLATE, MODIFY_INSTANCE_METADATA_OPTIONS, RUN_INSTANCES,
    };
    use crate::rules::ec2_ci::test_support::{change, change_with, run, run_with};
    use crate::rules::ec2_ci::CiFacts;
    use serde_json::json;

    fn launch(nic: serde_json::Value) -> InstanceChange {
        change(
            RUN_INSTANCES,
            json!({"instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": 1}]},
                   "networkInterfaceSet": {"items": [nic]}}),
        )
    }

    #[test]
    fn a_public_ip_asked_or_shown_is_flagged() {
        assert_eq!(
            run(
                evaluate,
                &launch(
                    json!({"deviceIndex": 0, "subnetId": "subnet-1", "associatePublicIpAddress": true})
                )
            ),
            ["associatePublicIpAddress true (subnet subnet-1)"]
        );
        assert_eq!(
            run(
                evaluate,
                &launch(json!({"deviceIndex": 0, "associatePublicIpAddress": "true"}))
            )
            .len(),
            1,
            "a string-typed boolean"
        );
        assert!(run(
            evaluate,
            &launch(json!({"deviceIndex": 0, "associatePublicIpAddress": false}))
        )
        .is_empty());
        let two = change(
            RUN_INSTANCES,
            json!({"instancesSet": {"items": [{"imageId": "ami-1"}]},
                   "networkInterfaceSet": {"items": [{"deviceIndex": 1, "associatePublicIpAddress": false},
                                                     {"deviceIndex": 0, "associatePublicIpAddress": true}]}}),
        );
        assert_eq!(
            run(evaluate, &two),
            ["associatePublicIpAddress true"],
            "any interface with a public IP makes the launch public"
        );
        let shown = change_with(
            RUN_INSTANCES,
            json!({"instancesSet": {"items": [{"imageId": "ami-1"}]}, "subnetId": "subnet-2"}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1", "networkInterfaceSet": {"items": [
                {"subnetId": "subnet-2", "association": {"publicIp": "203.0.113.7", "ipOwnerId": "amazon"}}]}}]}}),
        );
        assert_eq!(
            run(evaluate, &shown),
            ["public IPv4 address 203.0.113.7 (subnet subnet-2)"]
        );
        let template = change(
            CREATE_LAUNCH_TEMPLATE,
            json!({"CreateLaunchTemplateRequest": {"LaunchTemplateName": "ecs", "LaunchTemplateData": {
                "NetworkInterface": [{"tag": 1, "DeviceIndex": 0, "AssociatePublicIpAddress": true}]}}}),
        );
        assert_eq!(run(evaluate, &template), ["associatePublicIpAddress true"]);
        let update = change(
            MODIFY_INSTANCE_METADATA_OPTIONS,
            json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-1", "HttpTokens": "required"}}),
        );
        assert!(run(evaluate, &update).is_empty());
    }

    #[test]
    fn an_unsaid_setting_takes_the_subnets_when_read_and_is_never_clean_by_guess() {
        let bare = change(
            RUN_INSTANCES,
            json!({"instancesSet": {"items": [{"imageId": "ami-1"}]}, "subnetId": "subnet-1"}),
        );
        assert!(
            run(evaluate, &bare).is_empty(),
            "offline: the guard notes it needs AWS"
        );
        let public_subnet = CiFacts {
            subnet_public_ip: Some(true),
            ..CiFacts::default()
        };
        assert_eq!(
            run_with(evaluate, &bare, &public_subnet),
            ["no public-IP setting: subnet subnet-1 assigns public IPv4 addresses on launch (MapPublicIpOnLaunch)"]
        );
        let private_subnet = CiFacts {
            subnet_public_ip: Some(false),
            ..CiFacts::default()
        };
        assert!(run_with(evaluate, &bare, &private_subnet).is_empty());
        let from_template = change(
            RUN_INSTANCES,
            json!({"launchTemplate": {"launchTemplateName": "ecs-nodes", "version": "$Latest"}}),
        );
        let unread = CiFacts {
            template_unread: Some("InvalidLaunchTemplateName.NotFoundException".into()),
            ..CiFacts::default()
        };
        assert_eq!(
            run_with(evaluate, &from_template, &unread),
            ["associatePublicIpAddress is unknown: launch template ecs-nodes version $Latest could not be read (InvalidLaunchTemplateName.NotFoundException)"]
        );
    }
}
