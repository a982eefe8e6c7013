//! The `sweep` function as a library, so that its handler can be driven by
//! end-to-end tests exactly as Lambda drives it.

pub mod handler;
