//! ecs-access-guard's shared crate: the event model, network semantics, the
//! rule catalog, the policy, the planner, the ports to AWS (and, with the
//! `aws` feature, their SDK adapters) and the notification.
//!
//! Grouped by the pipeline: [`model`] (the event and what it carries) ▶
//! [`rules`] (the catalog, pure) ▶ [`guards`] (one per function, acting
//! through [`ports`], whose AWS adapters and fakes sit beside them) ▶
//! [`output`] (the report and the alert). [`sweep`] and [`state`] judge the
//! current state with the same rules; [`lambda`] is the functions' runner.

#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
pub mod finding;
pub mod guards;
pub mod model;
pub mod output;
pub mod policy;
pub mod ports;
pub mod report;
pub mod rules;
pub mod secrets;
pub mod state;
pub mod sweep;

#[cfg(feature = "lambda")]
pub mod lambda;
