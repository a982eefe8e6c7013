//! The sweep's work: the places a run covers, one work item each.

use serde::Serialize;

use crate::policy::Policy;
use crate::ports::{AccountLister, AwsError};

/// One unit of the sweep's work: a place, and the run it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WorkItem {
    pub account: String,
    pub region: String,
    pub run: String,
}

/// The places a sweep covers: the function's own account and region, or
/// every account and region of `[organization]` (with `accounts = "*"`, the
/// organization's active accounts, listed through `accounts`).
pub async fn places(
    policy: &Policy,
    home_account: &str,
    home_region: &str,
    accounts: &dyn AccountLister,
) -> Result<Vec<(String, String)>, AwsError> {
    let Some(org) = &policy.organization else {
        return Ok(vec![(home_account.to_string(), home_region.to_string())]);
    };
    let listed = match &org.accounts {
        crate::policy::AccountScope::Listed(list) => list.clone(),
        crate::policy::AccountScope::Organization(_) => accounts.accounts().await?,
    };
    let mut out = Vec::new();
    for account in &listed {
        for region in &org.regions {
            out.push((account.clone(), region.clone()));
        }
    }
    Ok(out)
}
