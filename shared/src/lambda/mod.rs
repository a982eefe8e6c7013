//! The functions (feature `lambda`): each one's wiring in a module of its
//! own ([`ingress_guard`], [`task_definition_guard`], [`service_guard`],
//! [`cluster_guard`], [`instance_guard`], [`iam_guard`], [`network_guard`],
//! [`sweep`], [`retro_scan`]), and what they share — their logging, [`serve`] (every
//! function's `main`), the one runner that reads the payload, decides where
//! to act and with which clients, runs a guard on it, and reports failures
//! to Lambda with a stable error type.
//!
//! Layer: wiring (with `config`). May import every layer.

/// `Function` for a guard's `Deps`: its `new` cannot fail, and it handles
/// an invocation with its module's `handle` and `IAM_ACTIONS`.
macro_rules! guard_function {
    ($deps:ty) => {
        impl $crate::lambda::Function for $deps {
            const IAM_ACTIONS: &'static [&'static str] = IAM_ACTIONS;

            fn new(
                sdk: &aws_config::SdkConfig,
                config: $crate::config::FunctionConfig,
            ) -> Result<$deps, String> {
                Ok(<$deps>::new(sdk, config))
            }

            async fn handle(
                &self,
                event: lambda_runtime::LambdaEvent<serde_json::Value>,
            ) -> Result<serde_json::Value, HandlerError> {
                handle(event, self).await
            }
        }
    };
}

pub mod cluster_guard;
pub mod iam_guard;
pub mod ingress_guard;
pub mod instance_guard;
pub mod network_guard;
mod on_first_use;
pub mod retro_scan;
pub mod service_guard;
pub mod sweep;
pub mod task_definition_guard;

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::tracing::subscriber::filter::{EnvFilter, LevelFilter};
use lambda_runtime::tracing::subscriber::fmt::{self, MakeWriter};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::Value;
use tracing::subscriber::{set_global_default, SetGlobalDefaultError};

use crate::aws::failure_queue::SqsFailureQueue;
use crate::aws::securityhub::SecurityHubFindings;
use crate::aws::{Members, PlaceClients, SnsChatChannel, SnsNotifier};
use crate::config::FunctionConfig;
use crate::guards::sinks::{SecurityHubSink, Sinks, WithSinks};
use crate::guards::{alert_not_acted, place, refuse, GuardError, GuardSettings, Refusal};
use crate::model::event::{Event, ParseError};
use crate::model::json::Node;
use crate::policy::Policy;
use crate::ports::{FailureQueue, Notifier};
use crate::ports::{Home, Place};
use crate::report::Report;
pub use on_first_use::OnFirstUse;
use std::sync::Arc;

/// Why an invocation failed. Lambda retries it, then sends it to the
/// on-failure destination; `error_type` is stable for alarms and filters.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct HandlerError(#[from] pub GuardError);

impl From<HandlerError> for Diagnostic {
    fn from(err: HandlerError) -> Diagnostic {
        Diagnostic {
            error_type: err.0.error_type().to_string(),
            error_message: err.0.to_string(),
        }
    }
}

/// Every function by name (its crate under `functions/`, its key in the
/// Terraform module) with the AWS actions its code calls. The module's
/// grants are proven equal to these.
pub const FUNCTIONS: &[(&str, &[&str])] = &[
    ("ingress-guard", ingress_guard::IAM_ACTIONS),
    ("task-definition-guard", task_definition_guard::IAM_ACTIONS),
    ("service-guard", service_guard::IAM_ACTIONS),
    ("cluster-guard", cluster_guard::IAM_ACTIONS),
    ("instance-guard", instance_guard::IAM_ACTIONS),
    ("iam-guard", iam_guard::IAM_ACTIONS),
    ("network-guard", network_guard::IAM_ACTIONS),
    ("sweep", sweep::IAM_ACTIONS),
    ("retro-scan", retro_scan::IAM_ACTIONS),
];

/// The functions whose events may carry secrets (a task definition's
/// environment, RunTask's overrides): the module gives them the failure
/// queue to send a redacted copy of an event they cannot handle, and no
/// on-failure destination (a test compares this list with the module's).
pub const REDACTING_FUNCTIONS: &[&str] = &["task-definition-guard", "service-guard"];

/// The functions that call Organizations in organization mode, with what
/// they call there (where an account sits, for exemptions by OU; the
/// sweep's accounts for `accounts = "*"`). No other function may. The
/// module's grants are proven equal to these.
pub const ORGANIZATION_READS: &[(&str, &[&str])] = &[
    ("ingress-guard", ingress_guard::ORGANIZATION_ACTIONS),
    ("sweep", sweep::ORGANIZATION_ACTIONS),
];

/// The functions that revoke (DESIGN §7.13), with what they call to: the
/// only roles granted `ec2:RevokeSecurityGroupIngress`, and the only ones
/// the member accounts' revoke role trusts. ingress-guard always (it is in
/// its [`FUNCTIONS`] list); the sweep only with `[sweep] revoke = true`
/// (the module's `sweep_revoke`).
pub const REVOKING: &[(&str, &[&str])] = &[
    ("ingress-guard", &["ec2:RevokeSecurityGroupIngress"]),
    ("sweep", sweep::REVOKE_ACTIONS),
];

/// A Lambda function: what it is built from and how it handles one
/// invocation. Each function's `main` is [`serve`] over one of these.
pub trait Function: Sized {
    /// Every AWS action the function calls. The Terraform module grants
    /// exactly these (a test compares them).
    const IAM_ACTIONS: &'static [&'static str];

    /// Built once per instance; an error fails the start, loudly.
    fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Result<Self, String>;

    /// One invocation.
    fn handle(
        &self,
        event: LambdaEvent<Value>,
    ) -> impl Future<Output = Result<Value, HandlerError>>;

    /// The timeouts of its AWS calls.
    fn timeouts() -> aws_config::timeout::TimeoutConfig {
        crate::aws::guard_timeouts()
    }
}

/// Every function's `main`: logging that never prints an event body at any
/// level, the configuration and policy (a bad one fails the start, naming
/// the key), the SDK with the function's timeouts and TLS roots
/// ([`crate::aws::tls`]), then the Lambda runtime.
pub async fn serve<F: Function>() -> Result<(), lambda_runtime::Error> {
    init_tracing_to(std::io::stdout)?;
    let roots = crate::aws::tls::TlsRoots::from_env()?;
    let sdk = crate::aws::sdk_config(F::timeouts(), roots).await;
    let config = FunctionConfig::from_env(read_policy_object(&sdk).await?)?;
    let function = F::new(&sdk, config)?;
    lambda_runtime::run(lambda_runtime::service_fn(|event: LambdaEvent<Value>| {
        function.handle(event)
    }))
    .await
}

/// The text of the policy object `ACCESS_GUARD_POLICY` names, when it
/// names one: read once, before anything runs; a read that fails stops the
/// start, naming the object and the code.
pub async fn read_policy_object(
    sdk: &aws_config::SdkConfig,
) -> Result<Option<String>, lambda_runtime::Error> {
    let Some(location) = crate::config::policy_location(&crate::config::env)? else {
        return Ok(None);
    };
    let client = aws_sdk_s3::Client::new(sdk);
    crate::aws::policy_object::read(&client, &location)
        .await
        .map(Some)
        .map_err(|e| {
            format!(
                "{}: {location}: {} failed: {}: {}",
                crate::config::POLICY_VAR,
                e.operation,
                e.code_or_kind(),
                e.message
            )
            .into()
        })
}

/// How long a function keeps the OUs it read (the policy's
/// `[organization] ou_cache_seconds`, at most five minutes).
pub fn ou_cache(policy: &Policy) -> Duration {
    policy
        .organization
        .as_ref()
        .map_or(crate::policy::MAX_OU_CACHE, |o| o.ou_cache)
}

/// Where a function's alerts go: the SNS topic, and the optional sinks its
/// configuration switches on (DESIGN §13): Security Hub in the function's
/// own account and region, the Chatbot topic. The sinks' clients have
/// [`crate::aws::sink_timeouts`], and together at most `budget`.
pub fn alerting(
    sdk: &aws_config::SdkConfig,
    config: &FunctionConfig,
    budget: std::time::Duration,
) -> WithSinks<SnsNotifier> {
    let sinks_sdk = sdk
        .to_builder()
        .timeout_config(crate::aws::sink_timeouts())
        .build();
    let sinks = Sinks {
        security_hub: config.security_hub.clone().map(|product| SecurityHubSink {
            hub: Arc::new(SecurityHubFindings::new(aws_sdk_securityhub::Client::new(
                &sinks_sdk,
            ))),
            product,
        }),
        chat: config.chatbot_topic_arn.as_ref().map(|arn| {
            Arc::new(SnsChatChannel::new(
                aws_sdk_sns::Client::new(&sinks_sdk),
                arn.clone(),
            )) as Arc<dyn crate::ports::ChatChannel>
        }),
    };
    let sns = aws_sdk_sns::Client::new(sdk);
    WithSinks {
        notifier: SnsNotifier::new(sns, config.topic_arn.clone()),
        sinks,
        budget,
    }
}

/// What every guard function holds besides its own clients: where alerts
/// go, the clients of other places, and its configuration.
pub struct Common {
    /// SNS, and the optional sinks behind it.
    pub notifier: WithSinks<SnsNotifier>,
    /// Clients for other accounts and regions (organization deployments).
    pub members: Members,
    /// Where the function sends a redacted copy of an event it could not
    /// handle, when its configuration names the failure queue.
    pub failures: Option<SqsFailureQueue>,
    pub config: FunctionConfig,
}

impl Common {
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Common {
        Common {
            notifier: alerting(sdk, &config, crate::guards::sinks::SINKS_BUDGET),
            members: Members::new(sdk),
            failures: config
                .failure_queue_url
                .clone()
                .map(|url| SqsFailureQueue::new(aws_sdk_sqs::Client::new(sdk), url)),
            config,
        }
    }

    /// The shared runner over these.
    pub fn runner(&self) -> Runner<'_> {
        Runner {
            notifier: &self.notifier,
            policy: &self.config.policy,
            settings: &self.config.settings,
            members: &self.members,
            failures: self.failures.as_ref().map(|q| q as &dyn FailureQueue),
        }
    }
}

/// What every handler shares, built once per instance: where alerts go, the
/// policy, the function's settings and the clients of other places.
pub struct Runner<'a> {
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
    pub members: &'a Members,
    /// Set: an event that fails for good is sent there redacted and the
    /// invocation succeeds, so that Lambda never hands the event as it came
    /// to an on-failure destination (DESIGN §8); one that may pass on a
    /// retry fails the invocation, and Lambda retries it.
    pub failures: Option<&'a dyn FailureQueue>,
}

/// Where and as whom a guard acts on one event.
pub struct Acting {
    /// The clients of the event's account and region when that is not where
    /// the function runs; `None`: the function's own.
    pub away: Option<Arc<PlaceClients>>,
    /// The function's settings, naming whose credentials it acts with.
    pub settings: GuardSettings,
}

impl Runner<'_> {
    /// Reads the EventBridge envelope (`aws_lambda_events`) and the
    /// CloudTrail record in it, decides where the event belongs ([`place`]:
    /// the function's own account and region, or, in an organization
    /// deployment, any in scope), refuses what it may not act on (another
    /// account or region: alerted, the invocation fails; outside an
    /// organization's scope: alerted once, no retry), gets the clients of the
    /// event's place, runs `guard` and returns the verdict (the alert's JSON
    /// document).
    pub async fn handle<F, Fut>(
        &self,
        event: LambdaEvent<Value>,
        guard: F,
    ) -> Result<Value, HandlerError>
    where
        F: FnOnce(Event, Acting) -> Fut,
        Fut: Future<Output = Result<Report, GuardError>>,
    {
        let (policy, notifier) = (self.policy, self.notifier);
        let origin = format!("request {}", event.context.request_id);
        let home = Home::from_function_arn(&event.context.invoked_function_arn);
        let kept = self.failures.map(|_| {
            (
                event.payload.clone(),
                event.context.request_id.clone(),
                event.context.invoked_function_arn.clone(),
            )
        });
        let result = match read(event.payload, &origin) {
            Ok((record, source)) if record.aws_source().as_deref() != Some(source.as_str()) => {
                // Only AWS puts `aws.*` CloudTrail events on a bus: anything
                // else (a direct invoke, another source's PutEvents) is
                // alerted and never acted on, and retrying it would not help.
                let reason = format!(
                    "not acted on: the event's source is {source:?}, not {:?}, the AWS service that                      records {}: only AWS's own events are acted on",
                    record.aws_source().unwrap_or_else(|| "an aws.* service".to_string()),
                    if record.source.is_empty() { "it" } else { record.source.as_str() },
                );
                alert_not_acted(&record, reason, policy, notifier)
                    .await
                    .map_err(GuardError::aws(&record))
            }
            Ok((record, _)) => match (
                place(&record, home.as_ref(), policy.organization.as_ref()),
                home,
            ) {
                (Ok(at), Some(home)) => match self.acting(&record, &at, &home).await {
                    Ok(acting) => guard(record, acting).await,
                    Err(e) => Err(e),
                },
                (Err(Refusal::OutsideScope(reason)), _) => {
                    alert_not_acted(&record, reason, policy, notifier)
                        .await
                        .map_err(GuardError::aws(&record))
                }
                (Err(Refusal::NotHere(reason)), _) => {
                    Err(refuse(&record, reason, policy, notifier).await)
                }
                (Ok(_), None) => {
                    let reason =
                        "not evaluated: the function cannot tell where it runs".to_string();
                    Err(refuse(&record, reason, policy, notifier).await)
                }
            },
            Err(e) => Err(GuardError::Event(e)),
        };
        match result {
            Ok(report) => Ok(serde_json::to_value(&report).unwrap_or(Value::Null)),
            Err(e) => {
                tracing::error!(error_type = e.error_type(), error = %e, "event not handled");
                // What may pass on a retry fails the invocation: Lambda
                // retries it (DESIGN §7.6). With no on-failure destination,
                // nothing keeps it as it came.
                let retryable = matches!(&e, GuardError::Aws { source, .. } if source.retryable);
                let (Some(queue), Some((payload, request_id, function_arn)), false) =
                    (self.failures, kept, retryable)
                else {
                    return Err(HandlerError(e));
                };
                let body = failure_record(&payload, &e, &request_id, &function_arn);
                match queue.send(&body).await {
                    Ok(()) => {
                        tracing::warn!(
                            error_type = e.error_type(),
                            "a redacted copy of the event is in the failure queue"
                        );
                        Ok(serde_json::json!({
                            "failed": e.error_type(),
                            "failure_queue": "a redacted copy of the event was sent",
                        }))
                    }
                    Err(send) => {
                        // The invocation fails and Lambda retries it; with no
                        // on-failure destination, nothing keeps the event as it came.
                        tracing::error!(
                            operation = send.operation,
                            code = %send.code_or_kind(),
                            "the failure queue could not be written"
                        );
                        Err(HandlerError(e))
                    }
                }
            }
        }
    }

    /// The clients for `place` (none of its own at home) and the settings
    /// naming whose credentials they carry. A member role that cannot be
    /// assumed is an alert naming the account and the code, and the
    /// invocation fails so that Lambda retries (nothing lost).
    async fn acting(
        &self,
        event: &Event,
        place: &Place,
        home: &Home,
    ) -> Result<Acting, GuardError> {
        let away = if place.is_home(home) {
            None
        } else {
            // Boxed: building the member role's clients nests deep futures.
            match Box::pin(
                self.members
                    .at(place, home, self.policy.organization.as_ref()),
            )
            .await
            {
                Ok(clients) => Some(clients),
                Err(source) => {
                    let reason = format!(
                        "could not act in account {} / region {}: {} failed: {}",
                        place.account,
                        place.region,
                        source.operation,
                        source.code_or_kind()
                    );
                    alert_not_acted(event, reason, self.policy, self.notifier)
                        .await
                        .map_err(GuardError::aws(event))?;
                    return Err(GuardError::Aws {
                        event_id: event.id.clone(),
                        source,
                    });
                }
            }
        };
        // An organization deployment's alerts say whose credentials were used.
        let acting_as = self.policy.organization.as_ref().map(|_| {
            away.as_ref()
                .and_then(|c| c.role_arn.clone())
                .or_else(|| self.settings.own_role_arn.clone())
                .unwrap_or_else(|| "the function's own role".to_string())
        });
        Ok(Acting {
            away,
            settings: GuardSettings {
                acting_as,
                ..self.settings.clone()
            },
        })
    }
}

/// What the failure queue gets for an event that failed: the shape of
/// Lambda's own on-failure destination record (so that the tools that read
/// one read this), with the event redacted ([`crate::secrets::record`]).
pub fn failure_record(
    payload: &Value,
    error: &GuardError,
    request_id: &str,
    function_arn: &str,
) -> String {
    serde_json::json!({
        "version": "1.0",
        "timestamp": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": "Error",
        },
        "requestPayload": crate::secrets::record::redacted_event(payload),
        "requestPayloadRedacted": true,
        "responsePayload": {
            "errorType": error.error_type(),
            "errorMessage": error.to_string(),
        },
    })
    .to_string()
}

/// The record an EventBridge "AWS API Call via CloudTrail" event carries,
/// and the envelope's `source`. Errors name the field and its JSON kind,
/// never a value: an event may carry secrets.
fn read(payload: Value, origin: &str) -> Result<(Event, String), ParseError> {
    let problem = |problem: String| ParseError::Document {
        origin: origin.to_string(),
        problem: format!("not an EventBridge event: {problem}"),
    };
    let root = Node::root(&payload, "");
    if root.object().map_err(|f| problem(f.problem))?.is_none() {
        return Err(problem("the payload is null".to_string()));
    }
    for key in [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
    ] {
        root.get(key).str().map_err(|f| problem(f.to_string()))?;
    }
    for resource in root
        .get("resources")
        .items()
        .map_err(|f| problem(f.to_string()))?
    {
        resource.str().map_err(|f| problem(f.to_string()))?;
    }
    // What is left to go wrong is a missing field or an unreadable time;
    // serde's own message would quote the value.
    let envelope: EventBridgeEvent = serde_json::from_value(payload).map_err(|_| {
        problem(
            "detail-type, source and detail are required, and time is an RFC 3339 date".to_string(),
        )
    })?;
    if envelope.detail_type != CLOUDTRAIL_DETAIL_TYPE {
        return Err(problem(format!(
            "detail-type is {:?}, not {CLOUDTRAIL_DETAIL_TYPE:?}",
            envelope.detail_type
        )));
    }
    let record = Event::from_envelope(&envelope, origin)?;
    Ok((record, envelope.source))
}

/// When the invocation must have answered, from Lambda's deadline (`None`
/// when the context has none, as in a hand-made one).
pub fn deadline(context: &Context) -> Option<Instant> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    let left = Duration::from_millis(context.deadline).checked_sub(now)?;
    (context.deadline > 0).then(|| Instant::now() + left)
}

/// The `detail-type` of the events CloudTrail puts on EventBridge.
pub const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// Targets that print request, response or event bodies below INFO: the
/// Lambda runtime logs the raw event at TRACE, the HTTP stack and the SDK
/// their payloads at DEBUG/TRACE. They are capped at INFO whatever level is
/// asked for, so that no level prints a secret an event carries.
pub const BODY_PRINTING_TARGETS: [&str; 9] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "hyper",
    "h2",
    "rustls",
    "tower",
    "aws_smithy",
    "aws_sdk",
    "aws_config",
];

/// The functions' log filter: `level` (a plain level: `trace` … `error`;
/// anything else means INFO) for their own code, at most INFO for
/// [`BODY_PRINTING_TARGETS`]. Per-target directives from the environment are
/// not taken, so none can lift the cap.
pub fn log_filter(level: Option<&str>) -> EnvFilter {
    let level = level
        .and_then(|l| l.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let cap = level.min(LevelFilter::INFO);
    let mut directives = vec![level.to_string()];
    directives.extend(BODY_PRINTING_TARGETS.iter().map(|t| format!("{t}={cap}")));
    EnvFilter::builder().parse_lossy(directives.join(","))
}

/// Installs the functions' logging, writing to `writer`: the level from
/// `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else INFO) through [`log_filter`],
/// JSON when `AWS_LAMBDA_LOG_FORMAT=JSON` (Lambda's logging controls). Each
/// function's `main` calls it with stdout.
pub fn init_tracing_to<W>(writer: W) -> Result<(), SetGlobalDefaultError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let level = var("AWS_LAMBDA_LOG_LEVEL").or_else(|| var("RUST_LOG"));
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = fmt::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(log_filter(level.as_deref()))
        .with_writer(writer);
    if json {
        set_global_default(builder.json().finish())
    } else {
        set_global_default(builder.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_envelope_is_named_without_its_values() {
        let secret = "AKIAQ7RZ2M4XWJ3K8PLN";
        let cases = [
            (
                serde_json::json!(secret),
                "not an EventBridge event: expected an object, found a string",
            ),
            (
                serde_json::json!({"detail-type": 7, "source": "aws.ec2", "detail": {}}),
                "detail-type: expected a string, found a number",
            ),
            (
                serde_json::json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "resources": [secret, 1], "detail": {}}),
                "resources[1]: expected a string, found a number",
            ),
            (
                serde_json::json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "time": secret, "detail": {}}),
                "time is an RFC 3339 date",
            ),
            (
                serde_json::json!({"eventName": "RegisterTaskDefinition", "requestParameters": {"x": secret}}),
                "detail-type, source and detail are required",
            ),
        ];
        for (payload, expected) in cases {
            let err = read(payload.clone(), "request r-1")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{payload}: {err}");
            assert!(!err.contains(secret), "{err}");
        }
    }
}
