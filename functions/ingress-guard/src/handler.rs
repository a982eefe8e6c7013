//! The handler: one EventBridge event in, the verdict out (also published to SNS).

use access_guard::aws::state::DynamoState;
use access_guard::aws::{Ec2Remediator, Ec2SecurityGroups, Members, OrganizationsOus, SnsNotifier};
use access_guard::config::FunctionConfig;
use access_guard::ingress::IngressGuard;
pub use access_guard::lambda::HandlerError;
use access_guard::lambda::Runner;
use access_guard::ports::{IngressRemediator, RevocationLog, SecurityGroups};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Every AWS action this function calls: DescribeSecurityGroups (tags, for
/// exemptions), DescribeSecurityGroupRules (stored rules), RevokeSecurityGroupIngress,
/// Publish, and the state table's GetItem/PutItem (what an earlier attempt of
/// an event revoked). The Terraform module grants exactly these (a test compares them).
pub const IAM_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:RevokeSecurityGroupIngress",
    "sns:Publish",
];

/// What the handler uses, built once per Lambda instance.
pub struct Deps {
    pub groups: Ec2SecurityGroups,
    pub remediator: Ec2Remediator,
    pub notifier: SnsNotifier,
    /// Clients for other accounts and regions (organization deployments).
    pub members: Members,
    /// Where accounts sit in the organization (exemptions by OU).
    pub organizations: OrganizationsOus,
    /// The state table, when the deployment has one (it does with the module).
    pub state: Option<DynamoState>,
    pub config: FunctionConfig,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Deps {
        let ec2 = aws_sdk_ec2::Client::new(sdk);
        Deps {
            groups: Ec2SecurityGroups::new(ec2.clone()),
            remediator: Ec2Remediator::new(ec2),
            notifier: SnsNotifier::new(aws_sdk_sns::Client::new(sdk), config.topic_arn.clone()),
            members: Members::new(sdk),
            organizations: OrganizationsOus::new(aws_sdk_organizations::Client::new(sdk)),
            state: config
                .state_table
                .as_ref()
                .map(|table| DynamoState::new(aws_sdk_dynamodb::Client::new(sdk), table)),
            config,
        }
    }

    /// The shared runner over these dependencies.
    pub fn runner(&self) -> Runner<'_> {
        Runner {
            notifier: &self.notifier,
            policy: &self.config.policy,
            settings: &self.config.settings,
            members: &self.members,
        }
    }
}

/// Evaluates one event, acts on it and returns the verdict (the JSON document of the alert).
pub async fn handle(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, HandlerError> {
    let deadline = access_guard::lambda::deadline(&event.context);
    deps.runner()
        .handle(event, |record, acting| async move {
            let (groups, remediator): (&dyn SecurityGroups, &dyn IngressRemediator) =
                match &acting.away {
                    Some(clients) => (&clients.groups, &clients.remediator),
                    None => (&deps.groups, &deps.remediator),
                };
            IngressGuard {
                groups,
                organizations: Some(&deps.organizations),
                remediator,
                revocations: deps.state.as_ref().map(|s| s as &dyn RevocationLog),
                notifier: &deps.notifier,
                policy: &deps.config.policy,
                settings: &acting.settings,
                deadline,
            }
            .handle(&record, access_guard::today())
            .await
        })
        .await
}
