//! The handler: one CreateService/UpdateService event in, the verdict out (also published to SNS).

use access_guard::aws::{Ec2SecurityGroups, EcsTaskDefinitions, SnsNotifier};
use access_guard::config::FunctionConfig;
use access_guard::lambda::handle_with;
pub use access_guard::lambda::HandlerError;
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
    pub config: FunctionConfig,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Deps {
        Deps {
            task_definitions: EcsTaskDefinitions::new(aws_sdk_ecs::Client::new(sdk)),
            groups: Ec2SecurityGroups::new(aws_sdk_ec2::Client::new(sdk)),
            notifier: SnsNotifier::new(aws_sdk_sns::Client::new(sdk), config.topic_arn.clone()),
            config,
        }
    }
}

/// Evaluates one event, acts on it and returns the verdict (the JSON document of the alert).
pub async fn handle(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, HandlerError> {
    handle_with(
        event,
        &deps.notifier,
        &deps.config.policy,
        |record| async move {
            ServiceGuard {
                task_definitions: &deps.task_definitions,
                groups: &deps.groups,
                notifier: &deps.notifier,
                policy: &deps.config.policy,
                settings: &deps.config.settings,
            }
            .handle(&record)
            .await
        },
    )
    .await
}
