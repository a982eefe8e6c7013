//! ecs-access-guard's shared crate: the event model, the rule catalog, the
//! policy, the report and its alert, the ports to AWS and the guards that act
//! through them, the sweep, and (with the `aws` feature) the SDK adapters and
//! (with `lambda`) the functions' runner.
//!
//! Layers, from the ground up. Each imports only its own layer and those
//! before it; a test (`tests/architecture.rs`) keeps it so, and keeps the
//! modules free of import cycles:
//! 1. model: [`model`] (events, the estate's resources, network semantics),
//!    [`secrets`], [`finding`], [`iac`] (a plan's resources read as the
//!    records of their calls);
//! 2. policy: [`policy`], the operator's choices, validated;
//! 3. rules: [`rules`], the catalog, pure;
//! 4. report: [`report`] (the verdict, the revocation plan, console links)
//!    and [`state`] (the sweep's record of each finding);
//! 5. output: [`output`], the alert, Security Hub's format, chat;
//! 6. ports: [`ports`], the traits guards act through, the types they carry,
//!    their fakes;
//! 7. guards: [`guards`] (one per function), [`before`] (plans and
//!    templates judged before deployment, joined within each), [`sweep`],
//!    [`map`] (the access map) and [`retro`] (the trail's past, a batch of
//!    its objects at a time), the decisions;
//! 8. adapters: `aws` (feature `aws`), SDK calls and translation, no decisions;
//! 9. wiring: [`config`] and `lambda` (feature `lambda`), the functions' runner.
//!
//! A name that a lower layer needs lives in that layer: move it down rather
//! than import upwards.

#[cfg(feature = "aws")]
pub mod aws;
pub mod before;
pub mod config;
pub mod finding;
pub mod guards;
pub mod iac;
pub mod map;
pub mod model;
pub mod output;
pub mod policy;
pub mod ports;
pub mod report;
pub mod retro;
pub mod rules;
pub mod secrets;
pub mod state;
pub mod sweep;

#[cfg(feature = "lambda")]
pub mod lambda;
