//! SDK-backed adapters for the ports (feature `aws`).
//!
//! Layer: adapters, the SDK calls and their translation into the model, no
//! decisions. May import the guards' layer and below (the ports they
//! implement).

pub mod assume;
pub mod ec2;
pub mod ecs;
pub mod elb;
pub mod estate;
#[cfg(feature = "lambda")]
pub mod failure_queue;
pub mod iam;
pub mod instances;
#[cfg(feature = "lambda")]
pub mod objects;
pub mod organization;
#[cfg(feature = "lambda")]
pub mod policy_object;
pub mod securityhub;
pub mod sns;
#[cfg(feature = "state")]
pub mod state;
pub mod tls;
pub mod vpc;

use async_trait::async_trait;
use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use crate::ports::{is_retryable_code, AwsError};

pub use ec2::{Ec2Remediator, Ec2SecurityGroups};
pub use ecs::{cluster_settings_of, EcsClusters, EcsTaskDefinitions};
pub use organization::{
    Members, OrganizationsAccounts, OrganizationsOus, PlaceClients, ORGANIZATION_ACTIONS,
    PLACES_KEPT,
};
pub use securityhub::SECURITY_HUB_ACTIONS;
pub use sns::{SnsChatChannel, SnsNotifier, CHATBOT_ACTIONS};

/// The system's clock, and tokio's sleep.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl crate::ports::Clock for SystemClock {
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }

    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// EC2 error codes that mean the rule or group is already gone.
pub(crate) const GONE_CODES: [&str; 3] = [
    "InvalidPermission.NotFound",
    "InvalidGroup.NotFound",
    "InvalidSecurityGroupRuleId.NotFound",
];

/// Classifies an SDK error by its code and transport, never by message text.
pub fn classify<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().map(str::to_string);
    let status = err.raw_response().map(|r| r.status().as_u16());
    let retryable = match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => {
            code.as_deref().is_some_and(is_retryable_code)
                || status.is_some_and(|s| s >= 500 || s == 429)
        }
    };
    let message = err
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| aws_sdk_ec2::error::DisplayErrorContext(err).to_string());
    AwsError {
        operation,
        code,
        message,
        retryable,
    }
}

/// ECS's per-item `failures` of a describe: `MISSING` (a cluster or
/// capacity provider deleted since it was listed) holds no evidence; any
/// other reason leaves what it describes unread: an error, never "none".
pub(crate) fn ecs_failure(
    operation: &'static str,
    failures: &[aws_sdk_ecs::types::Failure],
) -> Option<AwsError> {
    failures
        .iter()
        .find(|f| f.reason() != Some("MISSING"))
        .map(|f| AwsError {
            operation,
            code: Some(f.reason().unwrap_or("Failure").to_string()),
            message: format!(
                "{}: {}",
                f.arn().unwrap_or("an item"),
                f.detail().unwrap_or("no detail")
            ),
            retryable: false,
        })
}

/// Connect, per-attempt and whole-operation timeouts, in seconds.
pub fn timeouts(connect: u64, attempt: u64, operation: u64) -> aws_config::timeout::TimeoutConfig {
    use std::time::Duration;
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(connect))
        .operation_attempt_timeout(Duration::from_secs(attempt))
        .operation_timeout(Duration::from_secs(operation))
        .build()
}

/// Timeouts of every AWS call the functions make: a hung endpoint fails the
/// invocation well inside the function's timeout (30 s in the module) instead of
/// consuming it, and Lambda retries the event.
pub fn guard_timeouts() -> aws_config::timeout::TimeoutConfig {
    timeouts(3, 5, 12)
}

/// Timeouts of the sweep's calls: a page of a thousand rules takes longer
/// than a guard's single lookups, and a sweep has minutes, not seconds.
pub fn sweep_timeouts() -> aws_config::timeout::TimeoutConfig {
    timeouts(3, 30, 90)
}

/// Timeouts of the optional sinks' calls (DESIGN §13): shorter than the
/// guards', so that a slow Security Hub or chat topic, after the SNS alert
/// went out, cannot push an invocation past its timeout (which would fail
/// it, and Lambda's retry would alert twice).
pub fn sink_timeouts() -> aws_config::timeout::TimeoutConfig {
    timeouts(2, 3, 4)
}

/// The SDK configuration of a function: the environment's credentials and
/// region, `timeouts`, and an HTTP client that trusts `roots` alone.
pub async fn sdk_config(
    timeouts: aws_config::timeout::TimeoutConfig,
    roots: tls::TlsRoots,
) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .http_client(tls::http_client(roots));
    let from_env = FromEnvironment::read(|name| std::env::var(name).ok());
    if let Some(region) = from_env.region {
        loader = loader.region(aws_config::Region::new(region));
    }
    if from_env.credentials {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    loader.load().await
}

/// What the SDK's default chains would find first, found without building
/// them. Both chains look at the environment before anything else (a
/// profile, web identity, the container or instance endpoints), and Lambda
/// always sets the region and the role's credentials there; taking them
/// from there gives the same answer and saves about 0.45 ms of the cold
/// start in a probe (BENCHMARKS.md). Anywhere else the default chains
/// still decide.
#[derive(Debug, PartialEq, Eq)]
struct FromEnvironment {
    /// `AWS_REGION`, as the region chain's first link reads it.
    region: Option<String>,
    /// Both keys are set: the credentials chain's first link answers.
    credentials: bool,
}

impl FromEnvironment {
    fn read(var: impl Fn(&str) -> Option<String>) -> FromEnvironment {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        FromEnvironment {
            region: set("AWS_REGION"),
            credentials: set("AWS_ACCESS_KEY_ID").is_some()
                && set("AWS_SECRET_ACCESS_KEY").is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::Failure;

    use super::ecs_failure;
    use super::FromEnvironment;

    #[test]
    fn the_region_and_keys_are_taken_from_the_environment_only_when_set() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            FromEnvironment::read(move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
        };
        let lambda = env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "ASIA"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ]);
        assert_eq!(
            lambda,
            FromEnvironment {
                region: Some("eu-west-1".into()),
                credentials: true
            }
        );
        // Anything missing or blank: the default chain decides, as before.
        let none = FromEnvironment {
            region: None,
            credentials: false,
        };
        assert_eq!(env(&[]), none);
        assert_eq!(
            env(&[("AWS_REGION", " "), ("AWS_ACCESS_KEY_ID", "AKIA")]),
            none
        );
        assert_eq!(
            env(&[
                ("AWS_ACCESS_KEY_ID", "AKIA"),
                ("AWS_SECRET_ACCESS_KEY", "  ")
            ]),
            none
        );
        assert_eq!(
            env(&[
                ("AWS_REGION", "us-east-1"),
                ("AWS_SECRET_ACCESS_KEY", "secret")
            ])
            .region,
            Some("us-east-1".into())
        );
    }

    fn failure(arn: &str, reason: &str) -> Failure {
        Failure::builder().arn(arn).reason(reason).build()
    }

    #[test]
    fn only_a_failure_other_than_missing_leaves_a_describe_unread() {
        let gone = failure("arn:aws:ecs:eu-west-1:123456789012:cluster/old", "MISSING");
        assert!(ecs_failure("DescribeClusters", &[]).is_none());
        assert!(ecs_failure("DescribeClusters", std::slice::from_ref(&gone)).is_none());
        let denied = failure(
            "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
            "AccessDenied",
        );
        let e = ecs_failure("DescribeClusters", &[gone, denied]).expect("unread");
        assert_eq!(e.operation, "DescribeClusters");
        assert_eq!(e.code.as_deref(), Some("AccessDenied"));
        assert!(e.message.contains("cluster/prod"), "{}", e.message);
    }
}
