//! The benchmark harness behind `make bench`: a Lambda Runtime API emulator,
//! process measurement, order statistics and a CloudTrail archive generator.
//! Its code is tested in the test command; its figures are not asserted.

pub mod archive;
pub mod process;
pub mod runtime;
pub mod stats;
