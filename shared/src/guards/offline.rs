//! The offline verdict on any event (the CLI's `check`): the guard that
//! handles the event evaluates it with no AWS call; other events are skipped.

use time::Date;

use super::REGISTRY;
use crate::model::event::{Event, ParseError};
use crate::policy::Policy;
use crate::report::Report;

/// True for the event names some guard evaluates; the others are reported
/// `not handled` and their request and response are never read.
pub fn is_guarded(event_name: &str) -> bool {
    REGISTRY
        .iter()
        .any(|g| g.calls.iter().any(|(_, name)| *name == event_name))
}

/// True when a guard evaluates this event: its name and its service
/// (`eventSource` is part of the identity).
pub fn is_handled(event: &Event) -> bool {
    REGISTRY.iter().any(|g| g.handles(event))
}

/// Evaluates one event as its guard would, without calling AWS.
pub fn evaluate(event: &Event, policy: &Policy, today: Date) -> Result<Report, ParseError> {
    match REGISTRY.iter().find(|g| g.handles(event)) {
        Some(guard) => {
            let mut report =
                (guard.offline)(event, policy, today).map_err(|field| event.field_error(field))?;
            report.finish(policy, today);
            Ok(report)
        }
        None => Ok(Report::not_handled(event)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Want;
    use crate::model::stream::read_document_with;

    const LOG: &str = r#"{"Records":[{"eventID":"e1","eventName":"DescribeInstances",
        "errorCode":"Client.UnauthorizedOperation","requestParameters":{"x":1}}]}"#;

    #[test]
    fn other_events_are_not_handled_even_when_their_call_failed() {
        let head = |name: &str| {
            if is_guarded(name) {
                Want::Everything
            } else {
                Want::Head
            }
        };
        let events = read_document_with(LOG.as_bytes(), "log.json", head);
        let event = events[0].as_ref().unwrap().as_ref().unwrap();
        assert!(
            event.request.is_null(),
            "the body of an unguarded event is not read"
        );
        let report = evaluate(event, &Policy::embedded(), crate::model::today()).unwrap();
        assert_eq!(
            report.skipped.as_deref(),
            Some("not handled: DescribeInstances")
        );
        let counted = read_document_with(LOG.as_bytes(), "log.json", |_| Want::Nothing);
        assert!(matches!(counted[..], [Ok(None)]));
    }

    #[test]
    fn the_event_source_is_part_of_the_identity() {
        let policy = Policy::embedded();
        for (source, name) in [
            ("apprunner.amazonaws.com", "CreateService"),
            ("servicediscovery.amazonaws.com", "UpdateService"),
            ("ecs.amazonaws.com", "AuthorizeSecurityGroupIngress"),
        ] {
            let record = serde_json::json!({"eventID": "e1", "eventName": name, "eventSource": source,
                "requestParameters": {"serviceName": "web", "serviceId": "srv-1"}});
            let event = Event::from_value(&record, "t").unwrap();
            let report = evaluate(&event, &policy, crate::model::today()).unwrap();
            assert!(report.is_not_handled(), "{source} {name}: {report:?}");
        }
    }
}
