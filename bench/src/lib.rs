//! The benchmark harness behind `make bench`: a Lambda Runtime API emulator,
//! process measurement, order statistics, a CloudTrail archive generator and
//! Cloud Custodian's side of the comparison.
//! Its code is tested in the test command; its figures are not asserted.

pub mod archive;
pub mod custodian;
pub mod process;
/// The Runtime API emulator lives with the tests, which also drive the real
/// runtime through it.
pub use access_guard_e2e::runtime;
pub mod sink;
pub mod stats;
