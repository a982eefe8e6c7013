//! `cluster-guard`: clusters, account settings and capacity providers → the
//! ECS-CL rules → one alert.

use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::{Common, HandlerError};
use crate::aws::EcsClusters;
use crate::config::FunctionConfig;
use crate::guards::cluster::ClusterGuard;

/// Every AWS action this function calls: DescribeClusters (Container
/// Insights of a cluster created without the setting) and Publish. The
/// Terraform module grants exactly these (a test compares them).
pub const IAM_ACTIONS: &[&str] = &["ecs:DescribeClusters", "sns:Publish"];

/// What the handler uses, built once per Lambda instance.
pub struct Deps {
    pub clusters: EcsClusters,
    pub common: Common,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Deps {
        Deps {
            clusters: EcsClusters::new(aws_sdk_ecs::Client::new(sdk)),
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
            ClusterGuard {
                clusters: match &acting.away {
                    Some(clients) => &clients.clusters,
                    None => &deps.clusters,
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
