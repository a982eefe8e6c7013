//! Before deployment (DESIGN §16): what a Terraform plan or a
//! CloudFormation template would create, read as the CloudTrail records its
//! calls would make, so that the same guards judge it offline with the same
//! rule ids. Each resource is named by its address
//! (`module.app.aws_ecs_service.web`) or logical id, which is the record's
//! event id. A value left unknown until apply or deployment is said, never
//! taken as a pass.
//!
//! Layer: model (beside it: it reads JSON into records). May import the
//! model.

pub mod cloudformation;
mod record;
pub mod terraform;

use crate::model::event::Event;

/// What stands for a value the plan leaves unknown where the rules need
/// one to be there (a group created in the same plan).
pub const UNKNOWN_UNTIL_APPLY: &str = "(known after apply)";

/// One resource of a plan, as the record its call would make.
#[derive(Debug)]
pub struct Planned {
    /// `module.app.aws_security_group.web`.
    pub address: String,
    /// The resource type (`aws_security_group`).
    pub kind: String,
    /// The record, or why the resource could not be read.
    pub event: Result<Event, String>,
    /// The values the plan leaves unknown until apply that the rules would
    /// judge (`ingress[0].cidr_blocks`).
    pub unknown: Vec<String>,
    /// The line of the template where the resource is declared, where
    /// the source has lines that stand for it (CloudFormation).
    pub line: Option<usize>,
}

/// The resources of a Terraform plan (the JSON of `terraform show -json`)
/// or a CloudFormation template (JSON or YAML), told apart by what they
/// hold; `Err` naming the file when it is neither.
pub fn read(text: &str, origin: &str, account: Option<&str>) -> Result<Vec<Planned>, String> {
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
        if json.get("resource_changes").is_some() || json.get("format_version").is_some() {
            return terraform::planned(&json, origin, account);
        }
    }
    cloudformation::planned(text, origin, account).map_err(|e| {
        format!(
            "{e} (neither the JSON of `terraform show -json PLANFILE`, with resource_changes, nor a CloudFormation template, with Resources)"
        )
    })
}
