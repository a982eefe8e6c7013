//! What the three Lambda handlers share (feature `lambda`): reading the
//! payload, running a guard on it, and reporting failures to Lambda with a
//! stable error type.

use std::future::Future;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::event::Event;
use crate::guard::GuardError;
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

/// Reads the CloudTrail record from the payload, runs `guard` on it and
/// returns the verdict (the alert's JSON document).
pub async fn handle_with<F, Fut>(event: LambdaEvent<Value>, guard: F) -> Result<Value, HandlerError>
where
    F: FnOnce(Event) -> Fut,
    Fut: Future<Output = Result<Report, GuardError>>,
{
    let origin = format!("request {}", event.context.request_id);
    let result = match Event::from_value(&event.payload, &origin) {
        Ok(record) => guard(record).await,
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
