//! What the three Lambda handlers share (feature `lambda`): reading the
//! payload, running a guard on it, and reporting failures to Lambda with a
//! stable error type.

use std::future::Future;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::event::{Event, ParseError};
use crate::guard::{not_here, refuse, GuardError, Home};
use crate::policy::Policy;
use crate::ports::Notifier;
use crate::report::Report;

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

/// Reads the EventBridge envelope (`aws_lambda_events`) and the CloudTrail
/// record in it, refuses an event that does not belong where the function runs
/// (another account or region: alerted, and the invocation fails), runs
/// `guard` on the others and returns the verdict (the alert's JSON document).
pub async fn handle_with<F, Fut>(
    event: LambdaEvent<Value>,
    notifier: &dyn Notifier,
    policy: &Policy,
    guard: F,
) -> Result<Value, HandlerError>
where
    F: FnOnce(Event) -> Fut,
    Fut: Future<Output = Result<Report, GuardError>>,
{
    let origin = format!("request {}", event.context.request_id);
    let home = Home::from_function_arn(&event.context.invoked_function_arn);
    let result = match read(event.payload, &origin) {
        Ok(record) => match not_here(&record, home.as_ref()) {
            Some(reason) => Err(refuse(&record, reason, policy, notifier).await),
            None => guard(record).await,
        },
        Err(e) => Err(GuardError::Event(e)),
    };
    match result {
        Ok(report) => Ok(serde_json::to_value(&report).unwrap_or(Value::Null)),
        Err(e) => {
            tracing::error!(error_type = e.error_type(), error = %e, "event not handled");
            Err(HandlerError(e))
        }
    }
}

/// The record an EventBridge "AWS API Call via CloudTrail" event carries.
fn read(payload: Value, origin: &str) -> Result<Event, ParseError> {
    let problem = |problem: String| ParseError::Document {
        origin: origin.to_string(),
        problem,
    };
    let envelope: EventBridgeEvent = serde_json::from_value(payload)
        .map_err(|e| problem(format!("not an EventBridge event: {e}")))?;
    if envelope.detail_type != CLOUDTRAIL_DETAIL_TYPE {
        return Err(problem(format!(
            "detail-type is {:?}, not {CLOUDTRAIL_DETAIL_TYPE:?}",
            envelope.detail_type
        )));
    }
    Event::from_envelope(&envelope, origin)
}

/// The `detail-type` of the events CloudTrail puts on EventBridge.
pub const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";
