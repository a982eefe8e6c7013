//! The offline verdict on any event (the CLI's `check`): the guard that
//! handles the event evaluates it with no AWS call; other events are skipped.

use time::Date;

use crate::event::{Event, ParseError};
use crate::policy::Policy;
use crate::report::Report;
use crate::{ingress, service_guard, task_guard};

/// Evaluates one event as its guard would, without calling AWS.
pub fn evaluate(event: &Event, policy: &Policy, today: Date) -> Result<Report, ParseError> {
    let verdict = match event.name.as_str() {
        crate::td::REGISTER_TASK_DEFINITION => task_guard::evaluate_offline(event, policy),
        crate::svc::CREATE_SERVICE | crate::svc::UPDATE_SERVICE => {
            service_guard::evaluate_offline(event, policy)
        }
        _ => ingress::evaluate_offline(event, policy, today),
    };
    verdict.map_err(|field| event.field_error(field))
}
