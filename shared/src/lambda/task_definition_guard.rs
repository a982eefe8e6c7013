//! `task-definition-guard`: RegisterTaskDefinition → the ECS-TD rules → one alert.

use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::{Common, HandlerError, OnFirstUse};
use crate::aws::iam::IamClient;
use crate::aws::EcsTaskDefinitions;
use crate::config::FunctionConfig;
use crate::guards::task_definition::TaskDefinitionGuard;
use crate::ports::{Iam, TaskDefinitions};

/// Every AWS action this function calls: DescribeTaskDefinition (when CloudTrail
/// omitted the definition), the task role's trust and policies (ECS-TD-021),
/// Publish, and SendMessage (a redacted copy of an event it could not
/// handle, to the failure queue: a task definition may carry secrets). The
/// Terraform module grants exactly these (a test compares them).
pub const IAM_ACTIONS: &[&str] = &[
    "ecs:DescribeTaskDefinition",
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
    /// Task roles' policies: built for the first task definition that names a role.
    pub iam: OnFirstUse<IamClient>,
    pub common: Common,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Deps {
        Deps {
            task_definitions: EcsTaskDefinitions::new(aws_sdk_ecs::Client::new(sdk)),
            iam: OnFirstUse::client(sdk, aws_sdk_iam::Client::new, IamClient::new),
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
            let (task_definitions, iam): (&dyn TaskDefinitions, &dyn Iam) = match &acting.away {
                Some(clients) => (&clients.task_definitions, &clients.iam),
                None => (&deps.task_definitions, &deps.iam),
            };
            TaskDefinitionGuard {
                task_definitions,
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
