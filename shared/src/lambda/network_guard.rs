//! `network-guard`: the changes that open the way in (DESIGN §14) — load
//! balancers, listeners, target groups, routes, network ACLs, subnets,
//! internet gateways → the ELB and NET rules → one alert. Notify only.

use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::{Common, HandlerError};
use crate::aws::elb::ElbLoadBalancers;
use crate::aws::vpc::Ec2Vpcs;
use crate::aws::Ec2SecurityGroups;
use crate::config::FunctionConfig;
use crate::guards::network::NetworkGuard;

/// Every AWS action this function calls: what a load balancer, its
/// listeners, attributes and target groups are (ELBv2), the rules of its
/// groups and of its targets' groups, the VPC of a route table, a VPC's
/// subnets, route tables, network ACLs and internet gateways, the network
/// interfaces in its subnets (what runs there, and a target's own), and
/// Publish. The Terraform module grants exactly these (a test compares them).
pub const IAM_ACTIONS: &[&str] = &[
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSubnets",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTargetGroups",
    "sns:Publish",
];

/// What the handler uses, built once per Lambda instance.
pub struct Deps {
    pub load_balancers: ElbLoadBalancers,
    pub vpcs: Ec2Vpcs,
    pub groups: Ec2SecurityGroups,
    pub common: Common,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Deps {
        let ec2 = aws_sdk_ec2::Client::new(sdk);
        Deps {
            load_balancers: ElbLoadBalancers::new(aws_sdk_elasticloadbalancingv2::Client::new(sdk)),
            vpcs: Ec2Vpcs::new(ec2.clone()),
            groups: Ec2SecurityGroups::new(ec2),
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
            let (load_balancers, vpcs, groups) = match &acting.away {
                Some(clients) => (
                    &clients.load_balancers as &dyn crate::ports::LoadBalancers,
                    &clients.vpcs as &dyn crate::ports::Vpcs,
                    &clients.groups as &dyn crate::ports::SecurityGroups,
                ),
                None => (
                    &deps.load_balancers as &dyn crate::ports::LoadBalancers,
                    &deps.vpcs as &dyn crate::ports::Vpcs,
                    &deps.groups as &dyn crate::ports::SecurityGroups,
                ),
            };
            NetworkGuard {
                load_balancers,
                vpcs,
                groups,
                notifier: &common.notifier,
                policy: &common.config.policy,
                settings: &acting.settings,
            }
            .handle(&record)
            .await
        })
        .await
}
