//! ecs-access-guard's shared crate: the event model, network semantics, the
//! rule catalog, the policy, the planner, the ports to AWS (and, with the
//! `aws` feature, their SDK adapters) and the notification.
//!
//! Flow: [`event`] ▶ [`sg`] ▶ [`rules`] ▶ [`plan`] ▶ [`ingress`] (act through
//! [`ports`]) ▶ [`report`] / [`notify`].

pub mod cache;
pub mod config;
pub mod event;
pub mod finding;
pub mod guard;
pub mod ingress;
pub mod json;
pub mod net;
pub mod notify;
pub mod offline;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod report;
pub mod rules;
pub mod secrets;
pub mod service_guard;
pub mod sg;
pub mod state;
pub mod svc;
pub mod sweep;
pub mod tags;
pub mod task_guard;
pub mod td;

#[cfg(feature = "aws")]
pub mod aws;

#[cfg(feature = "lambda")]
pub mod lambda;

#[cfg(test)]
mod fakes;

/// Today's date (UTC), for exemption expiry. Rules never read the clock; the
/// callers pass the date in.
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}
