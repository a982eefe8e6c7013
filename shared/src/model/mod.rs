//! The event model: the CloudTrail record and what each guard reads from it.

pub mod cl;
pub mod event;
pub mod json;
pub mod net;
pub mod sg;
pub mod svc;
pub mod tags;
pub mod td;
