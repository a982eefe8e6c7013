//! `retro-scan`: the child of the retro scan's Distributed Map, and its
//! last step. Two invocations, told apart by their payload:
//! - a batch of the Map's item batcher (`Items`, `BatchInput`): every
//!   object read and judged, its findings and summary written to the
//!   results bucket ([`crate::retro::Scan`]); the summary is the result;
//! - `{"retro": "aggregate", "run": …, "map": …,
//!   "tolerated_failure_percentage": …}`: the run added up from the Map's
//!   result files and written, and one SNS summary
//!   ([`crate::retro::aggregate`]); `exceeded` in the result fails the run.
//!
//! A batch's time is the earlier of the invocation's deadline and its
//! Express child's five minutes from `started` (retries included).
//!
//! A batch's failure has a stable error type: `AccessGuard.AwsRetryable`
//! (its results could not be written, S3 throttled or unavailable: the Map
//! retries it) or `AccessGuard.InvalidEvent` (its input is malformed).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::info;

use super::{Function, HandlerError};
use crate::aws::objects::S3Objects;
use crate::aws::SnsNotifier;
use crate::config::{FunctionConfig, RETRO_BUCKET_VAR};
use crate::guards::GuardError;
use crate::model::event::ParseError;
use crate::ports::{Notifier, Objects};
use crate::retro::{aggregate, Batch, RetroError, Scan, EXPRESS_LIMIT};

/// Every AWS action this function calls: the trail's objects read, the
/// results bucket listed, read and written, the summary published. The
/// Terraform module grants exactly these (a test compares them).
pub const IAM_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:ListBucket",
    "s3:PutObject",
    "sns:Publish",
];

/// What the handler uses, built once per Lambda instance.
pub struct Deps {
    pub objects: Box<dyn Objects>,
    pub notifier: Box<dyn Notifier>,
    /// The results bucket.
    pub bucket: String,
    pub config: FunctionConfig,
}

impl Deps {
    /// Fails without the results bucket: findings read and not kept would
    /// be a scan that says nothing.
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Result<Deps, String> {
        let bucket = config
            .retro_bucket
            .clone()
            .ok_or_else(|| format!("{RETRO_BUCKET_VAR}: missing: the results bucket's name"))?;
        Ok(Deps {
            objects: Box::new(S3Objects::new(aws_sdk_s3::Client::new(sdk))),
            notifier: Box::new(SnsNotifier::new(
                aws_sdk_sns::Client::new(sdk),
                config.topic_arn.clone(),
            )),
            bucket,
            config,
        })
    }
}

impl Function for Deps {
    const IAM_ACTIONS: &'static [&'static str] = IAM_ACTIONS;

    fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Result<Deps, String> {
        Deps::new(sdk, config)
    }

    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        handle(event, self).await
    }
}

fn failure(error: RetroError) -> HandlerError {
    HandlerError(match error {
        RetroError::Input {
            origin,
            field,
            problem,
        } => GuardError::Event(ParseError::Document {
            origin,
            problem: format!("field {field}: {problem}"),
        }),
        RetroError::Aws { what, source } => GuardError::Aws {
            event_id: what,
            source,
        },
    })
}

fn invalid(origin: String, problem: String) -> HandlerError {
    HandlerError(GuardError::Event(ParseError::Document { origin, problem }))
}

/// Handles one invocation (see the module's documentation).
pub async fn handle(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, HandlerError> {
    let origin = format!("request {}", event.context.request_id);
    let payload = event.payload;
    if payload.get("Items").is_some() {
        let batch: Batch = serde_json::from_value(payload)
            .map_err(|e| invalid(origin.clone(), format!("not a batch of the Map: {e}")))?;
        let mut deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
        if let Some(started) = &batch.started {
            let started = time::OffsetDateTime::parse(
                started,
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|e| invalid(origin.clone(), format!("field started: {started:?}: {e}")))?;
            let child_ends = SystemTime::from(started) + EXPRESS_LIMIT;
            deadline = deadline.min(child_ends);
        }
        let time_left = move || {
            deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default()
        };
        let summary = Scan {
            objects: deps.objects.as_ref(),
            results: &deps.bucket,
            policy: &deps.config.policy,
            today: crate::model::today(),
            time_left: &time_left,
        }
        .batch(&batch, &origin)
        .await
        .map_err(failure)?;
        info!(
            run = %summary.run, batch = %summary.batch, objects = summary.objects,
            read = summary.read, findings = summary.findings, failed = summary.failed.len(),
            unread = summary.unread.len(), "batch scanned"
        );
        return serde_json::to_value(&summary)
            .map_err(|e| invalid(origin, format!("the summary: {e}")));
    }
    if payload.get("retro").and_then(Value::as_str) != Some("aggregate") {
        return Err(invalid(
            origin,
            "not a retro-scan invocation: expected a batch of the Map (field Items) or {\"retro\": \"aggregate\", …} (field retro)".to_string(),
        ));
    }
    let run = payload.get("run").and_then(Value::as_str).ok_or_else(|| {
        invalid(
            origin.clone(),
            "field run: missing or not a string".to_string(),
        )
    })?;
    let map = payload.get("map").unwrap_or(&Value::Null);
    let tolerated = payload
        .get("tolerated_failure_percentage")
        .and_then(Value::as_f64)
        .filter(|p| (0.0..=100.0).contains(p))
        .ok_or_else(|| {
            invalid(
                origin.clone(),
                "field tolerated_failure_percentage: missing or not a number from 0 to 100"
                    .to_string(),
            )
        })?;
    let summary = aggregate(deps.objects.as_ref(), &deps.bucket, run, map, tolerated)
        .await
        .map_err(failure)?;
    deps.notifier
        .publish(&summary.notification())
        .await
        .map_err(|source| {
            HandlerError(GuardError::Aws {
                event_id: format!("aggregate of run {run}"),
                source,
            })
        })?;
    info!(run = %run, complete = summary.complete, findings = summary.totals.findings, "retro scan summarised");
    Ok(serde_json::json!({
        "run": summary.run, "complete": summary.complete, "exceeded": summary.exceeded,
        "incomplete": summary.incomplete,
        "findings": summary.totals.findings, "summary": summary.summary,
    }))
}
