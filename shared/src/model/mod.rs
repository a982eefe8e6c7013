//! The event model: the CloudTrail record and what each guard reads from it.
//!
//! Layer: model, the ground (with `secrets` and `finding`): what
//! events and the estate carry. Imports nothing of the crate outside its layer.

pub mod ci;
pub mod cl;
pub mod elb;
pub mod event;
pub mod iam;
pub mod json;
pub mod net;
pub mod reach;
pub mod sg;
pub mod stream;
pub mod svc;
pub mod tags;
pub mod td;
pub mod vpc;

/// Today's date (UTC), for exemption expiry. Rules never read the clock; the
/// callers pass the date in.
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}
