//! The handler: one EventBridge event in, the verdict out (also published to SNS).

use access_guard::aws::{Ec2Remediator, Ec2SecurityGroups, SnsNotifier};
use access_guard::config::FunctionConfig;
use access_guard::ingress::IngressGuard;
use access_guard::lambda::handle_with;
pub use access_guard::lambda::HandlerError;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Every AWS action this function calls: DescribeSecurityGroups (tags, for
/// exemptions), DescribeSecurityGroupRules (stored rules), RevokeSecurityGroupIngress,
/// Publish. The Terraform module grants exactly these (a test compares them).
pub const IAM_ACTIONS: &[&str] = &[
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
    pub config: FunctionConfig,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Deps {
        let ec2 = aws_sdk_ec2::Client::new(sdk);
        Deps {
            groups: Ec2SecurityGroups::new(ec2.clone()),
            remediator: Ec2Remediator::new(ec2),
            notifier: SnsNotifier::new(aws_sdk_sns::Client::new(sdk), config.topic_arn.clone()),
            config,
        }
    }
}

/// Evaluates one event, acts on it and returns the verdict (the JSON document of the alert).
pub async fn handle(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, HandlerError> {
    let deadline = access_guard::lambda::deadline(&event.context);
    handle_with(
        event,
        &deps.notifier,
        &deps.config.policy,
        |record| async move {
            IngressGuard {
                groups: &deps.groups,
                remediator: &deps.remediator,
                notifier: &deps.notifier,
                policy: &deps.config.policy,
                settings: &deps.config.settings,
                deadline,
            }
            .handle(&record, access_guard::today())
            .await
        },
    )
    .await
}
