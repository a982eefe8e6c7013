//! The network path of the sweep's exposure verdicts (DESIGN §4): the lines
//! the event path's guards add, judged on the place's network as the sweep
//! read it whole, with no further call. A group open to the internet gets a
//! line per subnet its interfaces sit in; a service's public IP and open
//! groups, and an instance's public IP, SSH key and open groups, a line per
//! subnet and port, as service-guard and instance-guard give them. A fact
//! the sweep could not read makes its lines "unknown", never closed.

use std::collections::BTreeMap;

use crate::finding::Finding;
use crate::guards;
use crate::guards::paths::{self, Networks};
use crate::model::ci::InstanceChange;
use crate::model::net::WidePrefixes;
use crate::model::reach::Reachability;
use crate::model::svc::ServiceChange;
use crate::model::td::TaskDefinition;
use crate::ports::estate::Estate;
use crate::rules::ec2_ci::CiFacts;
use crate::rules::ec2_sg;
use crate::rules::ecs_svc::Enrichment;

/// The interfaces' read, by its call.
const INTERFACES: &str = "DescribeNetworkInterfaces";

/// The place's network and interfaces, for the lines of every verdict.
pub struct PlacePaths<'e> {
    estate: &'e Estate,
    networks: Networks,
    wide: WidePrefixes,
}

impl<'e> PlacePaths<'e> {
    pub fn new(estate: &'e Estate, wide: WidePrefixes) -> PlacePaths<'e> {
        PlacePaths {
            estate,
            networks: Networks::whole(estate.network.clone()),
            wide,
        }
    }

    /// The lines of a group's findings that open it to the internet: one
    /// per subnet its interfaces sit in (public when any of them there has
    /// a public address) and port.
    pub fn group(&self, group: &str, findings: &mut [Finding]) {
        let exposed: Vec<usize> = findings
            .iter()
            .enumerate()
            .filter(|(_, f)| ec2_sg::opens_to_internet(f))
            .map(|(i, _)| i)
            .collect();
        if exposed.is_empty() {
            return;
        }
        if let Some(u) = self.estate.unread_call(INTERFACES) {
            let why = format!(
                "the network interfaces using {group} could not be read ({INTERFACES}: {})",
                u.error.code_or_kind()
            );
            paths::same_for_all(findings, &exposed, &Reachability::Unknown { why });
            return;
        }
        let mut subnets: BTreeMap<String, bool> = BTreeMap::new();
        for i in self
            .estate
            .interfaces
            .iter()
            .filter(|i| i.groups.iter().any(|g| g == group))
        {
            *subnets.entry(i.subnet_id.clone()).or_default() |= i.public_ip.is_some();
        }
        if subnets.is_empty() {
            let why = format!("no network interface uses {group} now");
            paths::same_for_all(findings, &exposed, &Reachability::NotReachable { why });
            return;
        }
        for &i in &exposed {
            let Some(f) = findings.get_mut(i) else {
                continue;
            };
            let lines = paths::group_lines(Ok(&self.networks), &subnets, f, self.wide);
            paths::apply(f, lines);
        }
    }

    /// The lines of a service's (or task set's) exposure findings, as
    /// service-guard adds them.
    pub fn service(
        &self,
        change: &ServiceChange,
        enrichment: &Enrichment,
        td: Option<&TaskDefinition>,
        findings: &mut [Finding],
    ) {
        let exposed = guards::service::exposed(findings, Some(enrichment), td);
        let placement = guards::service::placement(change);
        paths::add_lines(findings, exposed, &placement, &self.networks, self.wide);
    }

    /// The lines of an instance's exposure findings, as instance-guard adds
    /// them.
    pub fn instance(&self, change: &InstanceChange, facts: &CiFacts, findings: &mut [Finding]) {
        let exposed = guards::instance::exposed(findings, facts);
        let placement = guards::instance::placement(change, facts);
        paths::add_lines(findings, exposed, &placement, &self.networks, self.wide);
    }
}
