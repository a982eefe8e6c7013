//! `instance-guard`: launches, launch templates and metadata updates → the
//! EC2-CI rules, with the template version, the metadata defaults, the
//! subnet, the instance profile's role and the groups read from AWS → one alert.

use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::{Common, HandlerError};
use crate::aws::iam::IamClient;
use crate::aws::instances::Ec2Instances;
use crate::aws::vpc::Ec2Vpcs;
use crate::aws::Ec2SecurityGroups;
use crate::config::FunctionConfig;
use crate::guards::instance::InstanceGuard;
use crate::ports::{Iam, Instances, SecurityGroups, Vpcs};

/// Every AWS action this function calls: the instance's profile (a metadata
/// update names only the instance), the launch template version a launch
/// used, the account's metadata defaults, the AMI's `ImdsSupport` and the
/// subnet's public-IP setting (what a launch leaves out), the groups' rules
/// and the prefix lists they name (EC2-CI-005), the instance profile's role
/// and its policies, and the clusters' capacity providers and their Auto
/// Scaling groups (is it a container instance?), the VPC of the subnet and
/// its route tables, network ACLs and internet gateways (the network path to
/// what an exposure finding exposes), and Publish. The Terraform
/// module grants exactly these (a test compares them).
pub const IAM_ACTIONS: &[&str] = &[
    "autoscaling:DescribeAutoScalingGroups",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeManagedPrefixLists",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSubnets",
    "ec2:GetInstanceMetadataDefaults",
    "ec2:GetManagedPrefixListEntries",
    "ecs:DescribeCapacityProviders",
    "ecs:DescribeClusters",
    "ecs:ListClusters",
    "iam:GetInstanceProfile",
    "iam:ListAttachedRolePolicies",
    "sns:Publish",
];

/// What the handler uses, built once per Lambda instance.
pub struct Deps {
    pub instances: Ec2Instances,
    pub groups: Ec2SecurityGroups,
    pub iam: IamClient,
    pub vpcs: Ec2Vpcs,
    pub common: Common,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Deps {
        let ec2 = aws_sdk_ec2::Client::new(sdk);
        Deps {
            instances: Ec2Instances::new(
                ec2.clone(),
                aws_sdk_ecs::Client::new(sdk),
                aws_sdk_autoscaling::Client::new(sdk),
            ),
            groups: Ec2SecurityGroups::new(ec2.clone()),
            vpcs: Ec2Vpcs::new(ec2),
            iam: IamClient::new(aws_sdk_iam::Client::new(sdk)),
            common: Common::new(sdk, config),
        }
    }
}

guard_function!(Deps);

/// Evaluates one event and returns the verdict (the JSON document of the alert).
pub async fn handle(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, HandlerError> {
    let common = &deps.common;
    common
        .runner()
        .handle(event, |record, acting| async move {
            let (instances, groups, iam, vpcs): (
                &dyn Instances,
                &dyn SecurityGroups,
                &dyn Iam,
                &dyn Vpcs,
            ) = match &acting.away {
                Some(clients) => (
                    &clients.instances,
                    &clients.groups,
                    &clients.iam,
                    &clients.vpcs,
                ),
                None => (&deps.instances, &deps.groups, &deps.iam, &deps.vpcs),
            };
            InstanceGuard {
                instances,
                iam,
                groups,
                vpcs,
                notifier: &common.notifier,
                policy: &common.config.policy,
                settings: &acting.settings,
            }
            .handle(&record)
            .await
        })
        .await
}
