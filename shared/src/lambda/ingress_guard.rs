//! `ingress-guard`: security-group ingress events → revoke the world-open
//! rule, notify.

use crate::aws::estate::EcsGroupServices;
use crate::aws::iam::IamClient;
use crate::ports::{GroupServices, Iam};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::{ou_cache, Common, HandlerError, OnFirstUse};
use crate::aws::state::DynamoState;
use crate::aws::vpc::Ec2Vpcs;
use crate::aws::{Ec2Remediator, Ec2SecurityGroups, OrganizationsOus, SystemClock};
use crate::config::FunctionConfig;
use crate::guards::ingress::{IngressGuard, Visibility};
use crate::ports::{IngressRemediator, RevocationLog, SecurityGroups, Vpcs};

/// Every AWS action this function calls: DescribeSecurityGroups (tags, for
/// exemptions, and the group's name: EC2-SG-010), DescribeSecurityGroupRules
/// (stored rules), DescribeManagedPrefixLists and GetManagedPrefixListEntries
/// (what a referenced prefix list holds), GetManagedPrefixListAssociations
/// (the groups a modified prefix list opens), RevokeSecurityGroupIngress,
/// Publish, and the state table's GetItem/PutItem (what an earlier attempt of
/// an event revoked), and, for the alert's path lines after the revocations,
/// DescribeNetworkInterfaces (where the group is in use), DescribeSubnets,
/// DescribeRouteTables, DescribeNetworkAcls and DescribeInternetGateways, and
/// the ECS services that use the group (ListClusters, ListServices,
/// DescribeServices, DescribeTaskDefinition, at most
/// [`crate::guards::ingress::SERVICE_CALLS`] calls) and their task roles
/// (GetRole, ListAttachedRolePolicies, GetPolicy, GetPolicyVersion,
/// ListRolePolicies, GetRolePolicy; at most three roles) for the ways in
/// it names.
/// The Terraform module grants exactly these (a test compares them).
pub const IAM_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeManagedPrefixLists",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:GetManagedPrefixListAssociations",
    "ec2:GetManagedPrefixListEntries",
    "ec2:RevokeSecurityGroupIngress",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:ListClusters",
    "ecs:ListServices",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "sns:Publish",
];

/// Besides [`crate::aws::ORGANIZATION_ACTIONS`], in organization
/// mode: where an account sits, for exemptions by OU.
pub const ORGANIZATION_ACTIONS: &[&str] = &["organizations:ListParents"];

/// What the handler uses, built once per Lambda instance.
pub struct Deps {
    pub groups: Ec2SecurityGroups,
    pub remediator: Ec2Remediator,
    /// Where a group is in use and the network path to it (the alert's lines).
    pub vpcs: Ec2Vpcs,
    /// Which ECS services use a group (the ways in the alert names): built
    /// for the first group in use.
    pub services: OnFirstUse<EcsGroupServices>,
    /// What their task roles may do: built for the first such service.
    pub iam: OnFirstUse<IamClient>,
    /// Where accounts sit in the organization (exemptions by OU): built at
    /// the first read of an account's OUs, which only a policy with
    /// exemptions by OU makes.
    pub organizations: OnFirstUse<OrganizationsOus>,
    /// The state table, when the deployment has one (it does with the module).
    pub state: Option<DynamoState>,
    pub common: Common,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Deps {
        let ec2 = aws_sdk_ec2::Client::new(sdk);
        Deps {
            groups: Ec2SecurityGroups::new(ec2.clone()),
            vpcs: Ec2Vpcs::new(ec2.clone()),
            remediator: Ec2Remediator::new(ec2),
            services: OnFirstUse::client(sdk, aws_sdk_ecs::Client::new, EcsGroupServices::new),
            iam: OnFirstUse::client(sdk, aws_sdk_iam::Client::new, IamClient::new),
            organizations: {
                let ttl = ou_cache(&config.policy);
                OnFirstUse::client(sdk, aws_sdk_organizations::Client::new, move |c| {
                    OrganizationsOus::new(c).with_ttl(ttl)
                })
            },
            state: config
                .state_table
                .as_ref()
                .map(|table| DynamoState::new(aws_sdk_dynamodb::Client::new(sdk), table)),
            common: Common::new(sdk, config),
        }
    }
}

guard_function!(Deps);

/// Evaluates one event, acts on it and returns the verdict (the JSON document of the alert).
pub async fn handle(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, HandlerError> {
    let deadline = super::deadline(&event.context);
    let common = &deps.common;
    common
        .runner()
        .handle(event, |record, mut acting| async move {
            let (groups, remediator, vpcs, services, iam): (
                &dyn SecurityGroups,
                &dyn IngressRemediator,
                &dyn Vpcs,
                &dyn GroupServices,
                &dyn Iam,
            ) = match &acting.away {
                Some(clients) => (
                    &clients.groups,
                    &clients.remediator,
                    &clients.vpcs,
                    &clients.group_services,
                    &clients.iam,
                ),
                None => (
                    &deps.groups,
                    &deps.remediator,
                    &deps.vpcs,
                    &deps.services,
                    &deps.iam,
                ),
            };
            // Away, the revoke goes through the revoke role: the alert names both.
            if let Some(both) = acting.away.as_ref().and_then(|c| c.acting_as(true)) {
                acting.settings.acting_as = Some(both);
            }
            IngressGuard {
                groups,
                organizations: Some(&deps.organizations),
                remediator,
                revocations: deps.state.as_ref().map(|s| s as &dyn RevocationLog),
                notifier: &common.notifier,
                policy: &common.config.policy,
                settings: &acting.settings,
                deadline,
                visibility: Some(Visibility {
                    settle: Visibility::SETTLE,
                    wait: Visibility::WAIT,
                    poll: Visibility::POLL,
                    clock: &SystemClock,
                }),
                vpcs: Some(vpcs),
                services: Some(services),
                iam: Some(iam),
            }
            .handle(&record, crate::model::today())
            .await
        })
        .await
}
