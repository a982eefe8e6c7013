//! What every guard function shares: its errors, its non-policy settings,
//! the loop guard, and the one-message-per-event notification.
//!
//! Layer: guards (with `sweep`): the decisions, acting through the
//! ports. May import the ports and every layer below.

pub mod cluster;
pub mod iam;
pub mod ingress;
#[cfg(test)]
mod ingress_state_tests;
pub mod instance;
pub mod network;
pub mod offline;
pub mod paths;
pub mod service;
pub mod sinks;
pub mod task_definition;

use time::Date;
use tracing::info;

use crate::model::event::{Event, ParseError};
use crate::model::json::FieldError;
use crate::output::notify::Notification;
use crate::policy::{Organization, Policy};
use crate::ports::{AwsError, Home, Notifier, Place};
use crate::report::Report;

/// A guard function and the calls it judges.
pub struct Registered {
    /// The function's name: its crate under `functions/`, its key in the
    /// Terraform module's patterns and grants.
    pub function: &'static str,
    /// (service, event name): `eventSource` is part of an event's identity.
    pub calls: &'static [(&'static str, &'static str)],
    /// The verdict without AWS (the CLI's `check`).
    pub offline: fn(&Event, &Policy, Date) -> Result<Report, FieldError>,
}

impl Registered {
    /// True when this guard judges `event`.
    pub fn handles(&self, event: &Event) -> bool {
        self.calls
            .iter()
            .any(|(service, name)| *name == event.name && event.is_from(service))
    }
}

/// Every guard: adding one is a module, a line here, its function's wiring
/// (`lambda`), its EventBridge pattern and its IAM list in the module.
pub static REGISTRY: &[Registered] = &[
    Registered {
        function: "ingress-guard",
        calls: &[
            ("ec2", crate::model::sg::AUTHORIZE_INGRESS),
            ("ec2", crate::model::sg::MODIFY_RULES),
            ("ec2", crate::model::sg::MODIFY_PREFIX_LIST),
            ("ec2", crate::model::tags::CREATE_TAGS),
            ("ec2", crate::model::tags::DELETE_TAGS),
            ("ec2", crate::model::tags::CREATE_SECURITY_GROUP),
            ("tagging", crate::model::tags::TAG_RESOURCES),
        ],
        offline: ingress::evaluate_offline,
    },
    Registered {
        function: "task-definition-guard",
        calls: &[("ecs", crate::model::td::REGISTER_TASK_DEFINITION)],
        offline: |event, policy, _| task_definition::evaluate_offline(event, policy),
    },
    Registered {
        function: "service-guard",
        calls: &[
            ("ecs", crate::model::svc::CREATE_SERVICE),
            ("ecs", crate::model::svc::UPDATE_SERVICE),
            ("ecs", crate::model::svc::CREATE_TASK_SET),
            ("ecs", crate::model::svc::UPDATE_TASK_SET),
            ("ecs", crate::model::svc::RUN_TASK),
            ("ecs", crate::model::svc::START_TASK),
        ],
        offline: |event, policy, _| service::evaluate_offline(event, policy),
    },
    Registered {
        function: "cluster-guard",
        calls: &[
            ("ecs", crate::model::cl::CREATE_CLUSTER),
            ("ecs", crate::model::cl::UPDATE_CLUSTER),
            ("ecs", crate::model::cl::UPDATE_CLUSTER_SETTINGS),
            ("ecs", crate::model::cl::PUT_ACCOUNT_SETTING),
            ("ecs", crate::model::cl::PUT_ACCOUNT_SETTING_DEFAULT),
            ("ecs", crate::model::cl::CREATE_CAPACITY_PROVIDER),
            ("ecs", crate::model::cl::UPDATE_CAPACITY_PROVIDER),
        ],
        offline: |event, policy, _| cluster::evaluate_offline(event, policy),
    },
    Registered {
        function: "instance-guard",
        calls: &[
            ("ec2", crate::model::ci::RUN_INSTANCES),
            ("ec2", crate::model::ci::CREATE_LAUNCH_TEMPLATE),
            ("ec2", crate::model::ci::CREATE_LAUNCH_TEMPLATE_VERSION),
            ("ec2", crate::model::ci::MODIFY_INSTANCE_METADATA_OPTIONS),
        ],
        offline: |event, policy, _| instance::evaluate_offline(event, policy),
    },
    Registered {
        function: "iam-guard",
        calls: &[
            ("iam", crate::model::iam::ATTACH_ROLE_POLICY),
            ("iam", crate::model::iam::PUT_ROLE_POLICY),
            ("iam", crate::model::iam::CREATE_POLICY_VERSION),
            ("iam", crate::model::iam::UPDATE_ASSUME_ROLE_POLICY),
            ("iam", crate::model::iam::ATTACH_USER_POLICY),
            ("iam", crate::model::iam::PUT_USER_POLICY),
            ("iam", crate::model::iam::ATTACH_GROUP_POLICY),
            ("iam", crate::model::iam::PUT_GROUP_POLICY),
        ],
        offline: |event, policy, _| iam::evaluate_offline(event, policy),
    },
    Registered {
        function: "network-guard",
        calls: network::CALLS,
        offline: network::evaluate_offline,
    },
];

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
    /// The event belongs to another account or region (DESIGN §7.9): alerted,
    /// never acted on.
    #[error("event {event_id}: {reason}")]
    NotHere { event_id: String, reason: String },
}

impl GuardError {
    /// A stable error type for Lambda's error report and alarms.
    pub fn error_type(&self) -> &'static str {
        match self {
            GuardError::Event(_) | GuardError::Parse { .. } => "AccessGuard.InvalidEvent",
            GuardError::Aws { source, .. } if source.retryable => "AccessGuard.AwsRetryable",
            GuardError::Aws { .. } => "AccessGuard.AwsFailure",
            GuardError::NotHere { .. } => "AccessGuard.NotHere",
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

/// Why an event is not acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// From another account or region than the function may act in, or an
    /// envelope that disagrees with its record, or a function that cannot
    /// tell where it runs: alerted, and the invocation fails.
    NotHere(String),
    /// An organization deployment's event from outside its scope: alerted
    /// once, nothing done, the invocation succeeds (no retry loop).
    OutsideScope(String),
}

/// Where to act on `event` (DESIGN §7.9, §11): with no `[organization]`, only
/// in the function's own account and region; with one, in the event's
/// account and region when they are in scope. A function that cannot tell
/// where it runs acts nowhere.
pub fn place(
    event: &Event,
    home: Option<&Home>,
    organization: Option<&Organization>,
) -> Result<Place, Refusal> {
    if let Some(conflict) = &event.envelope_conflict {
        return Err(Refusal::NotHere(format!("not evaluated: {conflict}")));
    }
    let Some(home) = home else {
        return Err(Refusal::NotHere(
            "not evaluated: the function cannot tell its own account and region (no invoked function ARN)"
                .to_string(),
        ));
    };
    let shown = |s: &str| {
        if s.is_empty() {
            "(none)".to_string()
        } else {
            s.to_string()
        }
    };
    // IAM is global: its events come from us-east-1 whatever the region
    // the function runs in, and what IAM holds is the same in every region.
    let region = if event.is_from("iam") && !event.source.is_empty() {
        home.region.clone()
    } else {
        event.region.clone()
    };
    let here = Place {
        account: event.account.clone(),
        region,
    };
    match organization {
        None if here.is_home(home) => Ok(here),
        None => Err(Refusal::NotHere(format!(
            "not evaluated here: event from account {} / region {}; this function acts in account {} / region {}",
            shown(&event.account),
            shown(&event.region),
            home.account,
            home.region
        ))),
        Some(org) => match org.outside(&here.account, &here.region) {
            None => Ok(here),
            Some(why) => Err(Refusal::OutsideScope(format!(
                "outside scope, nothing done: {why} (event from account {} / region {})",
                shown(&event.account),
                shown(&event.region)
            ))),
        },
    }
}

/// Why the function must not act on this event where it runs, or `None`
/// (single-account deployments: [`place`] without an organization).
pub fn not_here(event: &Event, home: Option<&Home>) -> Option<String> {
    match place(event, home, None) {
        Ok(_) => None,
        Err(Refusal::NotHere(why) | Refusal::OutsideScope(why)) => Some(why),
    }
}

/// Alerts that an event is not acted on (outside scope, another account or
/// region): the report says why.
pub async fn alert_not_acted(
    event: &Event,
    reason: String,
    policy: &Policy,
    notifier: &dyn Notifier,
) -> Result<Report, AwsError> {
    tracing::error!(event_id = %event.id, reason = %reason, "not acted on");
    let mut report = Report::for_event(event);
    report.unevaluated = Some(reason);
    notify_if_due(&mut report, policy, &GuardSettings::default(), notifier).await?;
    Ok(report)
}

/// Alerts that an event is not evaluated where it arrived, and returns the
/// error that fails the invocation (it shows in the error alarm).
pub async fn refuse(
    event: &Event,
    reason: String,
    policy: &Policy,
    notifier: &dyn Notifier,
) -> GuardError {
    if let Err(source) = alert_not_acted(event, reason.clone(), policy, notifier).await {
        return GuardError::Aws {
            event_id: event.id.clone(),
            source,
        };
    }
    GuardError::NotHere {
        event_id: event.id.clone(),
        reason,
    }
}

/// Settings of a guard function that are not policy.
#[derive(Debug, Clone, Default)]
pub struct GuardSettings {
    /// The role the guard itself runs as: events it caused are ignored (by role ARN, never session name).
    pub own_role_arn: Option<String>,
    /// Whose credentials the guard acts with for this event (the member role
    /// assumed in another account, or the function's own): named in the alert.
    pub acting_as: Option<String>,
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

/// The end of a notify-only guard's event: each finding logged (details
/// carry no secret: they are redacted where they are made), then the alert
/// when the report calls for one.
pub async fn report_and_notify(
    event: &Event,
    mut report: Report,
    policy: &Policy,
    settings: &GuardSettings,
    notifier: &dyn Notifier,
) -> Result<Report, GuardError> {
    for f in &report.findings {
        tracing::info!(event_id = %event.id, rule = f.rule, severity = %f.severity, detail = %f.detail, "finding");
    }
    notify_if_due(&mut report, policy, settings, notifier)
        .await
        .map_err(GuardError::aws(event))?;
    Ok(report)
}

/// Publishes the report when it deserves a message (DESIGN §8), then hands
/// it to the optional sinks (DESIGN §13): its findings to Security Hub
/// whatever the threshold, the alert to chat when it went out. Only SNS can
/// fail the call: the sinks come after it and log their own failures.
pub async fn notify_if_due(
    report: &mut Report,
    policy: &Policy,
    settings: &GuardSettings,
    notifier: &dyn Notifier,
) -> Result<(), AwsError> {
    let alerted = alert_if_due(report, policy, settings, notifier).await?;
    let report: &Report = report;
    notifier.deliver(report, alerted.then_some(report)).await;
    Ok(())
}

/// The SNS alert alone: published when the report deserves a message;
/// true when it was. (The sweep hands its sinks more than its alert.)
pub async fn alert_if_due(
    report: &mut Report,
    policy: &Policy,
    settings: &GuardSettings,
    notifier: &dyn Notifier,
) -> Result<bool, AwsError> {
    report.acted_as.clone_from(&settings.acting_as);
    report.finish(policy, crate::model::today());
    if !report.should_notify(policy.notify_min_severity) {
        return Ok(false);
    }
    let notification = Notification::render(report);
    if !notification.verdict_included {
        // Too large for SNS even alone: the log keeps the whole verdict.
        tracing::warn!(event_id = %report.event_id, verdict = %report.to_json(), "verdict larger than an SNS message");
    }
    notifier.publish(&notification).await?;
    info!(event_id = %report.event_id, subject = %notification.subject, "notified");
    Ok(true)
}

/// Runs `a` and `b` at once, for calls that need not wait for each other
/// (the runtime is the caller's: the guards build without tokio). An error
/// of `a` ends it at once: `b` is dropped, its result no longer wanted.
pub(crate) async fn both_ok<T, E, B>(
    a: impl std::future::Future<Output = Result<T, E>>,
    b: impl std::future::Future<Output = B>,
) -> Result<(T, B), E> {
    use std::task::Poll;
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut first, mut second) = (None, None);
    std::future::poll_fn(|cx| {
        if first.is_none() {
            match a.as_mut().poll(cx) {
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(value)) => first = Some(value),
                Poll::Pending => {}
            }
        }
        if second.is_none() {
            if let Poll::Ready(value) = b.as_mut().poll(cx) {
                second = Some(value);
            }
        }
        match (first.take(), second.take()) {
            (Some(x), Some(y)) => Poll::Ready(Ok((x, y))),
            (x, y) => {
                (first, second) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    /// Polls `future` with nothing to wake it, `n` times at most.
    fn poll_n<T>(future: impl std::future::Future<Output = T>, n: usize) -> Option<T> {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        (0..n).find_map(|_| match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    }

    #[test]
    fn both_ok_gives_both_results_and_an_error_of_the_first_ends_it_at_once() {
        let done = poll_n(super::both_ok(async { Ok::<_, ()>(1) }, async { 2 }), 2);
        assert_eq!(done, Some(Ok((1, 2))));
        // The second never finishes: the first's error does not wait for it.
        let failed = poll_n(
            super::both_ok(
                async { Err::<u8, _>("throttled") },
                std::future::pending::<()>(),
            ),
            1,
        );
        assert_eq!(failed, Some(Err("throttled")));
        let waits = poll_n(
            super::both_ok(async { Ok::<_, ()>(1) }, std::future::pending::<()>()),
            5,
        );
        assert_eq!(waits, None, "an Ok waits for the second");
    }

    use super::*;
    use crate::ports::fakes::MemoryNotifier;

    fn event(account: &str, region: &str) -> Event {
        let record = serde_json::json!({"eventID": "ev-9", "eventName": "AuthorizeSecurityGroupIngress",
            "recipientAccountId": account, "awsRegion": region});
        Event::from_value(&record, "t").unwrap()
    }

    #[test]
    fn the_function_arn_says_where_it_runs() {
        let home =
            Home::from_function_arn("arn:aws:lambda:eu-west-1:111122223333:function:ingress-guard")
                .unwrap();
        assert_eq!(
            (home.account.as_str(), home.region.as_str()),
            ("111122223333", "eu-west-1")
        );
        for bad in [
            "",
            "arn:aws:lambda:eu-west-1::function:x",
            "arn:aws:s3:::bucket",
        ] {
            assert_eq!(Home::from_function_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn iam_events_from_us_east_1_are_the_accounts_wherever_the_function_runs() {
        let home = Home::from_function_arn("arn:aws:lambda:eu-west-1:111122223333:function:guard")
            .unwrap();
        let mut iam = event("111122223333", "us-east-1");
        iam.source = "iam.amazonaws.com".to_string();
        let at = place(&iam, Some(&home), None).expect("the account's IAM");
        assert_eq!(at.region, "eu-west-1");
        // Another account's IAM event is still not this function's.
        let mut other = event("444455556666", "us-east-1");
        other.source = "iam.amazonaws.com".to_string();
        assert!(place(&other, Some(&home), None).is_err());
        // Only IAM: an EC2 event from us-east-1 is not here.
        let mut ec2 = event("111122223333", "us-east-1");
        ec2.source = "ec2.amazonaws.com".to_string();
        assert!(place(&ec2, Some(&home), None).is_err());
    }

    #[test]
    fn only_events_of_its_own_account_and_region_are_evaluated() {
        let home = Home::from_function_arn("arn:aws:lambda:eu-west-1:111122223333:function:guard")
            .unwrap();
        assert_eq!(
            not_here(&event("111122223333", "eu-west-1"), Some(&home)),
            None
        );
        assert_eq!(
            not_here(&event("999988887777", "eu-west-1"), Some(&home)).as_deref(),
            Some("not evaluated here: event from account 999988887777 / region eu-west-1; this function acts in account 111122223333 / region eu-west-1")
        );
        assert!(not_here(&event("111122223333", "us-east-1"), Some(&home)).is_some());
        assert!(not_here(&event("111122223333", "eu-west-1"), None).is_some());
        // The envelope and the record disagree: never acted on.
        let envelope = serde_json::json!({"id": "x", "account": "999988887777", "region": "eu-west-1",
            "detail": {"eventID": "ev-9", "eventName": "AuthorizeSecurityGroupIngress",
                "recipientAccountId": "111122223333", "awsRegion": "eu-west-1"}});
        let forged = Event::from_value(&envelope, "t").unwrap();
        let org = Policy::from_toml(
            "[organization]\naccounts = [\"111122223333\", \"999988887777\"]\nregions = [\"eu-west-1\"]\n",
            "t",
        )
        .unwrap()
        .organization;
        assert!(
            matches!(
                place(&forged, Some(&home), org.as_ref()),
                Err(Refusal::NotHere(_))
            ),
            "organization mode refuses a forged record too"
        );
        assert_eq!(
            place(
                &event("999988887777", "eu-west-1"),
                Some(&home),
                org.as_ref()
            ),
            Ok(Place {
                account: "999988887777".into(),
                region: "eu-west-1".into()
            })
        );
        assert_eq!(
            not_here(&forged, Some(&home)).as_deref(),
            Some("not evaluated: the envelope says account 999988887777, the record 111122223333")
        );
    }

    #[tokio::test]
    async fn a_refused_event_is_alerted_and_fails() {
        let notifier = MemoryNotifier::default();
        let e = event("999988887777", "eu-west-1");
        let err = refuse(
            &e,
            "not evaluated here: x".into(),
            &Policy::embedded(),
            &notifier,
        )
        .await;
        assert_eq!(err.error_type(), "AccessGuard.NotHere");
        let sent = notifier.sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].message.contains("not evaluated here: x"));
    }
}
