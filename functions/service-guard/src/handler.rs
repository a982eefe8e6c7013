//! The handler: one CreateService/UpdateService event in, the verdict out (also published to SNS).

use access_guard::aws::{Ec2SecurityGroups, EcsTaskDefinitions, Members, SnsNotifier};
use access_guard::config::FunctionConfig;
pub use access_guard::lambda::HandlerError;
use access_guard::lambda::Runner;
use access_guard::ports::{SecurityGroups, TaskDefinitions};
use access_guard::service_guard::ServiceGuard;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Every AWS action this function calls: DescribeTaskDefinition (what the
/// service deploys), DescribeSecurityGroupRules (the groups in front of it) and
/// Publish. The Terraform module grants exactly these (a test compares them).
pub const IAM_ACTIONS: &[&str] = &[
    "ec2:DescribeSecurityGroupRules",
    "ecs:DescribeTaskDefinition",
    "sns:Publish",
];

/// What the handler uses, built once per Lambda instance.
pub struct Deps {
    pub task_definitions: EcsTaskDefinitions,
    pub groups: Ec2SecurityGroups,
    pub notifier: SnsNotifier,
    /// Clients for other accounts and regions (organization deployments).
    pub members: Members,
    pub config: FunctionConfig,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Deps {
        Deps {
            task_definitions: EcsTaskDefinitions::new(aws_sdk_ecs::Client::new(sdk)),
            groups: Ec2SecurityGroups::new(aws_sdk_ec2::Client::new(sdk)),
            notifier: SnsNotifier::new(aws_sdk_sns::Client::new(sdk), config.topic_arn.clone()),
            members: Members::new(sdk),
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
    deps.runner()
        .handle(event, |record, acting| async move {
            let (task_definitions, groups): (&dyn TaskDefinitions, &dyn SecurityGroups) =
                match &acting.away {
                    Some(clients) => (&clients.task_definitions, &clients.groups),
                    None => (&deps.task_definitions, &deps.groups),
                };
            ServiceGuard {
                task_definitions,
                groups,
                notifier: &deps.notifier,
                policy: &deps.config.policy,
                settings: &acting.settings,
            }
            .handle(&record)
            .await
        })
        .await
}
