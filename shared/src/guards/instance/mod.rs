//! The instance guard: `RunInstances`, `CreateLaunchTemplate(Version)` and
//! `ModifyInstanceMetadataOptions` ▶ the EC2-CI rules ▶ one alert. Notify
//! only. A launch or a template version is judged whole, a metadata update on
//! what it sets. What only AWS can tell — whether the instance is a container
//! instance, the metadata defaults, the subnet's public-IP setting, the
//! groups' live rules, a launch template version the record does not carry —
//! comes in [`CiFacts`](crate::rules::ec2_ci::CiFacts), which the Lambda
//! fills in; offline it is empty and the verdict says which checks need AWS.
//!
//! The steps, one file each:
//! - `report`: the verdict on a change, and the offline verdict with what
//!   it cannot judge;
//! - `facts`: how the guard and the sweep alike resolve the metadata
//!   defaults and tell a container instance (its profile's role, a capacity
//!   provider's group);
//! - `read`: the guard's reads of what only AWS can tell;
//! - `path`: where the instances sit and what each exposure lets in, for the
//!   network path of each finding.

mod facts;
mod path;
mod read;
mod report;
#[cfg(test)]
mod test_support;

use crate::guards::paths;
use crate::guards::{preflight, report_and_notify, GuardError, GuardSettings};
use crate::model::ci::InstanceChange;
use crate::model::event::Event;
use crate::policy::Policy;
use crate::ports::{Iam, Instances, Notifier, SecurityGroups, Vpcs};
use crate::report::Report;

pub use facts::{container_instance, metadata_defaults, provider_evidence};
pub use report::{
    evaluate_offline, evaluate_planned, needs_template, NEEDS_AWS, NEEDS_AWS_GROUPS,
    NEEDS_AWS_SUBNET, NEEDS_AWS_UPDATE,
};

pub use path::{exposed, placement};
use report::report_for;

/// The instance guard with its ports.
pub struct InstanceGuard<'a> {
    pub instances: &'a dyn Instances,
    pub iam: &'a dyn Iam,
    pub groups: &'a dyn SecurityGroups,
    /// The network path of what is exposed (subnets, routes, network ACLs).
    pub vpcs: &'a dyn Vpcs,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl InstanceGuard<'_> {
    pub async fn handle(&self, event: &Event) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(skipped) = preflight(event, self.settings, &[]) {
            return Ok(skipped);
        }
        let Some(change) = InstanceChange::from_event(event).map_err(GuardError::parse(event))?
        else {
            return Ok(Report::not_handled(event));
        };
        let mut notes = Vec::new();
        // Checks that could not run: said in the alert, which goes out.
        let mut unread: Vec<String> = Vec::new();
        let (change, facts) = self
            .read_facts(event, change, &mut notes, &mut unread)
            .await
            .map_err(aws)?;
        let mut report = report_for(event, &change, self.policy, &facts);
        if !unread.is_empty() {
            report.unevaluated = Some(format!("could not check {}", unread.join("; ")));
        }
        report.notes = notes;
        let exposed = exposed(&report.findings, &facts);
        paths::add_paths(
            self.vpcs,
            &mut report.findings,
            exposed,
            &placement(&change, &facts),
            self.policy.wide,
            &event.id,
        )
        .await
        .map_err(aws)?;
        report_and_notify(event, report, self.policy, self.settings, self.notifier).await
    }
}
