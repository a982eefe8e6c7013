//! The handler: one EventBridge event in, the verdict out (also published to SNS).

use access_guard::aws::{Ec2Remediator, Ec2SecurityGroups, SnsNotifier};
use access_guard::config::FunctionConfig;
use access_guard::event::Event;
use access_guard::ingress::{GuardError, IngressGuard};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

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

/// Why an invocation failed. Lambda retries it, then sends it to the dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("request {request_id}: {source}")]
    Event {
        request_id: String,
        #[source]
        source: access_guard::event::ParseError,
    },
    #[error(transparent)]
    Guard(#[from] GuardError),
}

impl From<HandlerError> for Diagnostic {
    fn from(err: HandlerError) -> Diagnostic {
        let error_type = match &err {
            HandlerError::Event { .. } | HandlerError::Guard(GuardError::Parse { .. }) => {
                "AccessGuard.InvalidEvent"
            }
            HandlerError::Guard(GuardError::Aws { source, .. }) if source.retryable => {
                "AccessGuard.AwsRetryable"
            }
            HandlerError::Guard(GuardError::Aws { .. }) => "AccessGuard.AwsFailure",
        };
        Diagnostic {
            error_type: error_type.to_string(),
            error_message: err.to_string(),
        }
    }
}

/// Evaluates one event, acts on it and returns the verdict (the JSON document of the alert).
pub async fn handle(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, HandlerError> {
    let request_id = event.context.request_id.clone();
    let record = Event::from_value(&event.payload, "invocation").map_err(|source| {
        tracing::error!(request_id = %request_id, error = %source, "invalid event");
        HandlerError::Event { request_id, source }
    })?;
    let guard = IngressGuard {
        groups: &deps.groups,
        remediator: &deps.remediator,
        notifier: &deps.notifier,
        policy: &deps.config.policy,
        settings: &deps.config.settings,
    };
    let report = guard
        .handle(&record, access_guard::today())
        .await
        .map_err(|e| {
            tracing::error!(event_id = %record.id, error = %e, "not handled");
            e
        })?;
    Ok(serde_json::to_value(&report).unwrap_or(Value::Null))
}
