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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::tests::{ACCOUNT, REGION};

    #[tokio::test]
    async fn places_are_the_home_or_the_organizations_accounts_and_regions() {
        struct Two;
        #[async_trait::async_trait]
        impl AccountLister for Two {
            async fn accounts(&self) -> Result<Vec<String>, AwsError> {
                Ok(vec!["111111111111".to_string(), "222222222222".to_string()])
            }
        }
        let alone = places(&Policy::embedded(), ACCOUNT, REGION, &Two)
            .await
            .unwrap();
        assert_eq!(alone, [(ACCOUNT.to_string(), REGION.to_string())]);
        let org = Policy::from_toml(
            "[organization]\naccounts = \"*\"\norganization_id = \"o-a1b2c3d4e5\"\nregions = [\"eu-west-1\", \"us-east-1\"]\n",
            "t",
        )
        .unwrap();
        assert_eq!(places(&org, ACCOUNT, REGION, &Two).await.unwrap().len(), 4);
    }
}
