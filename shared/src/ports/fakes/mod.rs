//! Hand-written fakes of the ports, for unit tests of the domain code.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::model::sg::SgRule;
use crate::output::notify::Notification;
use crate::ports::{AwsError, GroupInfo, IngressRemediator, Notifier, Revoked, SecurityGroups};

mod ec2;
mod network;
mod objects;
mod reads;
mod sinks;
mod state;

pub use ec2::{MemoryGroups, MemoryInstances};
pub use network::{MemoryLoadBalancers, MemoryVpcs};
pub use objects::MemoryObjects;
pub use reads::{
    MemoryClusters, MemoryEstate, MemoryGroupServices, MemoryIam, MemoryTaskDefinitions,
};
pub use sinks::{CapturedLogs, MemoryChat, MemoryHub, MemoryNotifier};
pub use state::{FakeClock, MemoryState};
