//! Rules about instances and their launch templates (EC2-CI-*), judged at
//! `RunInstances`, `CreateLaunchTemplate(Version)` and
//! `ModifyInstanceMetadataOptions`. EC2-CI-001/002 apply to every instance
//! (they are EC2 controls); EC2-CI-003/004 only to container instances — an
//! instance that joins an ECS cluster, which only AWS can tell (DESIGN §5);
//! EC2-CI-005 judges the groups' live rules. What only AWS can tell is in
//! [`CiFacts`], which the Lambda fills in and which is empty offline: a fact
//! that is not there is unknown, never "no".

pub mod hop_limit;
pub mod imdsv1;
pub mod open_security_group;
pub mod public_ip;
pub mod ssh_key_pair;

use std::fmt;

use crate::finding::Finding;
use crate::model::ci::InstanceChange;
use crate::policy::Policy;
use crate::rules::ecs_td::Hit;

/// Why an instance is a container instance, in words for the alert
/// (`instance profile role ecsInstanceRole carries AmazonEC2ContainerServiceforEC2Role`,
/// `launch template lt-… used by capacity provider cp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence(pub String);

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One metadata default and where it comes from, for the alert
/// (`the account's metadata default (GetInstanceMetadataDefaults)`,
/// `AMI ami-… (ImdsSupport v2.0)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub from: String,
}

impl<T> Sourced<T> {
    pub fn new(value: T, from: impl Into<String>) -> Sourced<T> {
        Sourced {
            value,
            from: from.into(),
        }
    }
}

/// The metadata defaults a launch takes for what it leaves out, as the
/// Lambda resolved them in EC2's order: the account's default
/// (`GetInstanceMetadataDefaults`) where it sets one, else the AMI's
/// (`ImdsSupport: v2.0` means `required` and a hop limit of 2). A field
/// left `None` here is EC2's own default (`optional`, hop limit 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataDefaults {
    pub http_tokens: Option<Sourced<String>>,
    pub hop_limit: Option<Sourced<i64>>,
    /// What was consulted, for a field neither sets (`the account's
    /// metadata defaults or AMI ami-…'s ImdsSupport`).
    pub consulted: String,
    /// Why the AMI's part could not be told (an SSM parameter, an AMI not
    /// found or not readable): a field the account leaves unset is then
    /// unknown, never EC2's default.
    pub ami_unknown: Option<String>,
}

/// The groups a launch or template names, as the Lambda read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupExposure {
    /// Each group with the EC2-SG findings of its live ingress rules
    /// (`rules::ec2_sg::internet_exposure`).
    pub groups: Vec<(String, Vec<Finding>)>,
    /// Groups whose rules could not be read, with the AWS error code.
    pub unchecked: Vec<(String, String)>,
}

/// What the instance guard learned from AWS. Empty offline (`Default`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiFacts {
    /// Why the instance (or the template's instances) is a container
    /// instance; `None`: not shown to be one — offline, not read, or not one
    /// (the guard's notes say which). EC2-CI-003/004 judge only with it.
    pub container_instance: Option<Evidence>,
    /// The metadata defaults; `None`: not read (EC2-CI-001 then takes EC2's
    /// default, `optional`; EC2-CI-004 reports the hop limit unknown).
    pub metadata_defaults: Option<MetadataDefaults>,
    /// The subnet's `MapPublicIpOnLaunch`, for a launch that does not say
    /// whether it wants a public IP; `None`: not read.
    pub subnet_public_ip: Option<bool>,
    /// The groups' live rules; `None`: not read (offline).
    pub groups: Option<GroupExposure>,
    /// Why the launch template version the change needs could not be read:
    /// the settings it would decide are reported unknown.
    pub template_unread: Option<String>,
}

/// What an instance rule sees besides the change.
pub struct CiContext<'a> {
    pub policy: &'a Policy,
    pub facts: &'a CiFacts,
}

impl CiContext<'_> {
    /// The hit for a setting the record does not tell: unknown when the
    /// launch template that decides it could not be read, else nothing (the
    /// guard says the check needs AWS).
    pub(crate) fn unknown(&self, change: &InstanceChange, setting: &str) -> Vec<Hit> {
        match (&change.needs_template, &self.facts.template_unread) {
            (Some(template), Some(why)) => vec![Hit::new(format!(
                "{setting} is unknown: {template} could not be read ({why})"
            ))],
            _ => Vec::new(),
        }
    }
}

/// A value from the record as shown in a detail: trimmed, at most 64
/// characters (names and enum values only; nothing here is a secret).
pub(crate) fn shown(value: &str) -> String {
    let value = value.trim();
    match value.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::{CiContext, CiFacts};
    use crate::model::ci::InstanceChange;
    use crate::model::event::Event;
    use crate::policy::Policy;
    use crate::rules::ecs_td::Hit;

    pub fn change(name: &str, request: serde_json::Value) -> InstanceChange {
        change_with(name, request, serde_json::Value::Null)
    }

    pub fn change_with(
        name: &str,
        request: serde_json::Value,
        response: serde_json::Value,
    ) -> InstanceChange {
        let record = serde_json::json!({"eventID": "e", "eventName": name,
            "eventSource": "ec2.amazonaws.com", "requestParameters": request,
            "responseElements": response});
        InstanceChange::from_event(&Event::from_value(&record, "t").unwrap())
            .unwrap()
            .unwrap()
    }

    pub fn run_with(
        check: fn(&InstanceChange, &CiContext) -> Vec<Hit>,
        change: &InstanceChange,
        facts: &CiFacts,
    ) -> Vec<String> {
        let policy = Policy::embedded();
        check(
            change,
            &CiContext {
                policy: &policy,
                facts,
            },
        )
        .into_iter()
        .map(|h| h.detail)
        .collect()
    }

    pub fn run(
        check: fn(&InstanceChange, &CiContext) -> Vec<Hit>,
        change: &InstanceChange,
    ) -> Vec<String> {
        run_with(check, change, &CiFacts::default())
    }
}
