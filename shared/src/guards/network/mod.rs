//! The network guard (DESIGN §14): the changes that open or close the way
//! in. Two halves, one function: the load balancers (`elb`: the ELBv2
//! calls ▶ the ELB rules) and the VPC (`vpc`: routes, route-table
//! associations, network ACL entries, public addresses at launch, internet
//! gateways ▶ the NET rules). Notify only.

pub mod elb;
pub mod vpc;

use time::Date;

use crate::guards::{GuardError, GuardSettings};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::policy::Policy;
use crate::ports::{LoadBalancers, Notifier, SecurityGroups, Vpcs};
use crate::report::Report;

/// Every call the network guard judges: the load-balancer half's and the
/// VPC half's.
pub const CALLS: &[(&str, &str)] = &[
    elb::CALLS[0],
    elb::CALLS[1],
    elb::CALLS[2],
    elb::CALLS[3],
    elb::CALLS[4],
    elb::CALLS[5],
    elb::CALLS[6],
    elb::CALLS[7],
    elb::CALLS[8],
    elb::CALLS[9],
    vpc::CALLS[0],
    vpc::CALLS[1],
    vpc::CALLS[2],
    vpc::CALLS[3],
    vpc::CALLS[4],
    vpc::CALLS[5],
    vpc::CALLS[6],
    vpc::CALLS[7],
];

/// True for the load-balancer half's events.
fn is_elb(event: &Event) -> bool {
    event.is_from(crate::model::elb::SERVICE)
        && crate::model::elb::EVENT_NAMES.contains(&event.name.as_str())
}

/// The offline verdict (CLI) on an event of either half.
pub fn evaluate_offline(
    event: &Event,
    policy: &Policy,
    _today: Date,
) -> Result<Report, FieldError> {
    if is_elb(event) {
        elb::evaluate_offline(event, policy)
    } else {
        vpc::evaluate_offline(event, policy)
    }
}

/// The network guard with its ports.
pub struct NetworkGuard<'a> {
    pub load_balancers: &'a dyn LoadBalancers,
    pub vpcs: &'a dyn Vpcs,
    pub groups: &'a dyn SecurityGroups,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl NetworkGuard<'_> {
    pub async fn handle(&self, event: &Event) -> Result<Report, GuardError> {
        if is_elb(event) {
            elb::ElbGuard {
                load_balancers: self.load_balancers,
                vpcs: self.vpcs,
                groups: self.groups,
                notifier: self.notifier,
                policy: self.policy,
                settings: self.settings,
            }
            .handle(event)
            .await
        } else {
            vpc::VpcGuard {
                vpcs: self.vpcs,
                groups: self.groups,
                notifier: self.notifier,
                policy: self.policy,
                settings: self.settings,
            }
            .handle(event)
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_calls_are_both_halves_each_once() {
        let all: BTreeSet<_> = CALLS.iter().collect();
        assert_eq!(all.len(), CALLS.len());
        assert_eq!(CALLS.len(), elb::CALLS.len() + vpc::CALLS.len());
        for call in elb::CALLS.iter().chain(vpc::CALLS.iter()) {
            assert!(all.contains(call), "{call:?}");
        }
    }
}
