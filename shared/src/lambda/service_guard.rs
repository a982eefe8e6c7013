//! `service-guard`: services, task sets and standalone tasks → the ECS-SVC
//! rules, joined with the deployed task definition, the attached groups and
//! the cluster's Exec configuration → one alert.

use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::{Common, HandlerError, OnFirstUse};
use crate::aws::iam::IamClient;
use crate::aws::state::DynamoState;
use crate::aws::vpc::Ec2Vpcs;
use crate::aws::{Ec2SecurityGroups, EcsClusters, EcsTaskDefinitions};
use crate::config::FunctionConfig;
use crate::guards::service::ServiceGuard;
use crate::ports::{Clusters, Iam, SecurityGroups, StateStore, TaskDefinitions, Vpcs};

/// Every AWS action this function calls: DescribeTaskDefinition (what the
/// service, task set or task deploys), DescribeSecurityGroupRules (the groups
/// in front of it) and DescribeManagedPrefixLists/GetManagedPrefixListEntries
/// (the prefix lists their rules name), DescribeClusters (the cluster's Exec
/// configuration, when the call turns Exec on), DescribeSubnets,
/// DescribeRouteTables, DescribeNetworkAcls and DescribeInternetGateways (the
/// network path to what an exposure finding exposes), the task role's
/// GetRole, ListAttachedRolePolicies, GetPolicy, GetPolicyVersion,
/// ListRolePolicies and GetRolePolicy (what the end of each way in holds),
/// Query (the ways in the
/// last sweep recorded for the service, to name those a change closes),
/// Publish, and SendMessage (a
/// redacted copy of an event it could not handle, to the failure queue:
/// RunTask's overrides may carry secrets). The Terraform module grants
/// exactly these (a test compares them).
pub const IAM_ACTIONS: &[&str] = &[
    "ec2:DescribeInternetGateways",
    "ec2:DescribeManagedPrefixLists",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:GetManagedPrefixListEntries",
    "ecs:DescribeClusters",
    "ecs:DescribeTaskDefinition",
    "dynamodb:Query",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "sns:Publish",
    "sqs:SendMessage",
];

/// What the handler uses, built once per Lambda instance.
pub struct Deps {
    pub task_definitions: EcsTaskDefinitions,
    pub groups: Ec2SecurityGroups,
    pub clusters: EcsClusters,
    pub vpcs: Ec2Vpcs,
    /// Task roles' policies: built for the first task definition that names a role.
    pub iam: OnFirstUse<IamClient>,
    /// The state table, when the deployment has one (it does with the module).
    pub state: Option<DynamoState>,
    pub common: Common,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Deps {
        let ecs = aws_sdk_ecs::Client::new(sdk);
        let ec2 = aws_sdk_ec2::Client::new(sdk);
        Deps {
            task_definitions: EcsTaskDefinitions::new(ecs.clone()),
            clusters: EcsClusters::new(ecs),
            groups: Ec2SecurityGroups::new(ec2.clone()),
            vpcs: Ec2Vpcs::new(ec2),
            iam: OnFirstUse::client(sdk, aws_sdk_iam::Client::new, IamClient::new),
            state: config
                .state_table
                .clone()
                .map(|table| DynamoState::new(aws_sdk_dynamodb::Client::new(sdk), table)),
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
            let (task_definitions, groups, clusters, vpcs, iam): (
                &dyn TaskDefinitions,
                &dyn SecurityGroups,
                &dyn Clusters,
                &dyn Vpcs,
                &dyn Iam,
            ) = match &acting.away {
                Some(clients) => (
                    &clients.task_definitions,
                    &clients.groups,
                    &clients.clusters,
                    &clients.vpcs,
                    &clients.iam,
                ),
                None => (
                    &deps.task_definitions,
                    &deps.groups,
                    &deps.clusters,
                    &deps.vpcs,
                    &deps.iam,
                ),
            };
            ServiceGuard {
                task_definitions,
                groups,
                clusters,
                vpcs,
                state: deps.state.as_ref().map(|s| s as &dyn StateStore),
                iam: Some(iam),
                notifier: &common.notifier,
                policy: &common.config.policy,
                settings: &acting.settings,
            }
            .handle(&record)
            .await
        })
        .await
}
