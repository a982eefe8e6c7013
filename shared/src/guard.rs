//! What every guard function shares: its errors, its non-policy settings,
//! the loop guard, and the one-message-per-event notification.

use tracing::info;

use crate::event::{Event, ParseError};
use crate::json::FieldError;
use crate::notify::Notification;
use crate::policy::Policy;
use crate::ports::{AwsError, Notifier};
use crate::report::Report;

/// Why a guard could not handle an event. Lambda retries the invocation and
/// then sends it to the on-failure destination; every step is idempotent.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The payload is not a CloudTrail record.
    #[error(transparent)]
    Event(#[from] ParseError),
    #[error("event {event_id}: {field}")]
    Parse { event_id: String, field: FieldError },
    #[error("event {event_id}: {source}")]
    Aws {
        event_id: String,
        #[source]
        source: AwsError,
    },
}

impl GuardError {
    /// A stable error type for Lambda's error report and alarms.
    pub fn error_type(&self) -> &'static str {
        match self {
            GuardError::Event(_) | GuardError::Parse { .. } => "AccessGuard.InvalidEvent",
            GuardError::Aws { source, .. } if source.retryable => "AccessGuard.AwsRetryable",
            GuardError::Aws { .. } => "AccessGuard.AwsFailure",
        }
    }

    pub fn aws(event: &Event) -> impl Fn(AwsError) -> GuardError + Copy + '_ {
        move |source| GuardError::Aws {
            event_id: event.id.clone(),
            source,
        }
    }

    pub fn parse(event: &Event) -> impl Fn(FieldError) -> GuardError + Copy + '_ {
        move |field| GuardError::Parse {
            event_id: event.id.clone(),
            field,
        }
    }
}

/// Settings of a guard function that are not policy.
#[derive(Debug, Clone, Default)]
pub struct GuardSettings {
    /// The role the guard itself runs as: events it caused are ignored (by role ARN, never session name).
    pub own_role_arn: Option<String>,
}

impl GuardSettings {
    /// True when the guard's own role made the call.
    pub fn is_own_call(&self, event: &Event) -> bool {
        let Some(own) = &self.own_role_arn else {
            return false;
        };
        [&event.actor.issuer_arn, &event.actor.arn]
            .into_iter()
            .flatten()
            .any(|arn| arn == own)
    }
}

/// `failed call: <code>` for an event whose call failed, unless its code is one
/// of `still_evaluated`.
pub fn failed_call(event: &Event, still_evaluated: &[&str]) -> Option<String> {
    match &event.error_code {
        Some(code) if !still_evaluated.contains(&code.as_str()) => {
            Some(format!("failed call: {code}"))
        }
        _ => None,
    }
}

/// The verdict on an event a guard does not evaluate: a failed call (unless
/// its code is one of `still_evaluated`), or a call made by the guard's own role.
pub fn preflight(
    event: &Event,
    settings: &GuardSettings,
    still_evaluated: &[&str],
) -> Option<Report> {
    let reason = match failed_call(event, still_evaluated) {
        Some(reason) => reason,
        None if settings.is_own_call(event) => "own call: made by the guard's role".to_string(),
        None => return None,
    };
    info!(event_id = %event.id, reason = %reason, "skipped");
    Some(Report::skipped(event, reason))
}

/// Publishes the report when it deserves a message (DESIGN §8).
pub async fn notify_if_due(
    report: &Report,
    policy: &Policy,
    notifier: &dyn Notifier,
) -> Result<(), AwsError> {
    if !report.should_notify(policy.notify_min_severity) {
        return Ok(());
    }
    let notification = Notification::render(report);
    if !notification.verdict_included {
        // Too large for SNS even alone: the log keeps the whole verdict.
        tracing::warn!(event_id = %report.event_id, verdict = %report.to_json(), "verdict larger than an SNS message");
    }
    notifier.publish(&notification).await?;
    info!(event_id = %report.event_id, subject = %notification.subject, "notified");
    Ok(())
}
