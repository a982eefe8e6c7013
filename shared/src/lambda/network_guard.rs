//! `network-guard`: the changes that open the way in (DESIGN §14) → the NET
//! rules → one alert. Notify only.

use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::{Common, HandlerError};
use crate::aws::vpc::Ec2Vpcs;
use crate::config::FunctionConfig;
use crate::guards::vpc::VpcGuard;

/// Every AWS action this function calls: the VPC of a route table, a VPC's
/// subnets, route tables, network ACLs and internet gateways, the network
/// interfaces in its subnets (what runs there), and Publish. The Terraform
/// module grants exactly these (a test compares them).
pub const IAM_ACTIONS: &[&str] = &[
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSubnets",
    "sns:Publish",
];

/// What the handler uses, built once per Lambda instance.
pub struct Deps {
    pub vpcs: Ec2Vpcs,
    pub common: Common,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Deps {
        Deps {
            vpcs: Ec2Vpcs::new(aws_sdk_ec2::Client::new(sdk)),
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
            VpcGuard {
                vpcs: match &acting.away {
                    Some(clients) => &clients.vpcs,
                    None => &deps.vpcs,
                },
                notifier: &common.notifier,
                policy: &common.config.policy,
                settings: &acting.settings,
            }
            .handle(&record)
            .await
        })
        .await
}
