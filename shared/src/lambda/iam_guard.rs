//! `iam-guard`: policies attached or put on roles, users and groups, new
//! policy versions and trust policy updates → the IAM-ECS rules, with the
//! role's trust and the policies' documents read from IAM → one alert.

use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::{Common, HandlerError};
use crate::aws::iam::IamClient;
use crate::config::FunctionConfig;
use crate::guards::iam::IamGuard;

/// Every AWS action this function calls: the role's trust policy and
/// policies, a managed policy's default version, the roles a policy is
/// attached to, and Publish. The Terraform module grants exactly these (a
/// test compares them).
pub const IAM_ACTIONS: &[&str] = &[
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListEntitiesForPolicy",
    "iam:ListRolePolicies",
    "sns:Publish",
];

/// What the handler uses, built once per Lambda instance.
pub struct Deps {
    pub iam: IamClient,
    pub common: Common,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Deps {
        Deps {
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
            IamGuard {
                iam: match &acting.away {
                    Some(clients) => &clients.iam,
                    None => &deps.iam,
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
