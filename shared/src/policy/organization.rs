//! Organization: the accounts and regions one deployment acts in
//! (`[organization]`, DESIGN §11), the roles it assumes there, and how long
//! what it reads of Organizations is kept.

use super::file::{AccountsFile, OrganizationFile};
use super::PolicyError;

/// The member role's name when the policy names none.
pub const DEFAULT_MEMBER_ROLE: &str = "access-guard-member";
/// The revoke role's name when the policy names none: the member role's
/// name with this suffix (`access-guard-member-revoke`).
pub const REVOKE_ROLE_SUFFIX: &str = "-revoke";

/// The accounts an organization deployment acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountScope {
    Listed(Vec<String>),
    /// Every account of the organization (events reach the central bus only
    /// from it: its policy checks `aws:PrincipalOrgID`).
    Organization(String),
}

/// `[organization]`: one deployment for many accounts and regions (DESIGN §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub accounts: AccountScope,
    pub regions: Vec<String>,
    /// The read-only role assumed in a member account
    /// (`arn:<partition>:iam::<account>:role/<name>`), for every call but the revoke.
    pub member_role_name: String,
    /// How long the OUs an account sits in are kept once read (exemptions
    /// by OU): at most [`MAX_OU_CACHE`].
    pub ou_cache: std::time::Duration,
    /// The role assumed in a member account for `RevokeSecurityGroupIngress`
    /// alone (DESIGN §7.13), trusted only by the functions that revoke;
    /// default `<member_role_name>-revoke`.
    pub revoke_role_name: String,
}

/// What is read from Organizations is kept at most this long (DESIGN §7
/// invariant 12): minutes, never the life of an instance.
pub const MAX_OU_CACHE: std::time::Duration = std::time::Duration::from_secs(300);

impl Organization {
    /// Why `account`/`region` is outside the scope, or `None` when inside.
    pub fn outside(&self, account: &str, region: &str) -> Option<String> {
        let account_in = match &self.accounts {
            AccountScope::Listed(accounts) => accounts.iter().any(|a| a == account),
            AccountScope::Organization(_) => is_account_id(account),
        };
        if !account_in {
            return Some(format!(
                "account {account} is not in the organization scope"
            ));
        }
        if !self.regions.iter().any(|r| r == region) {
            return Some(format!("region {region} is not in the organization scope"));
        }
        None
    }
}

pub(super) fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// An IAM role name: 1 to 64 of letters, digits and `+=,.@_-`.
fn is_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// Validates `[organization]`.
pub(super) fn organization(
    org: OrganizationFile,
    err: &impl Fn(&str, String) -> PolicyError,
) -> Result<Organization, PolicyError> {
    let accounts = match (org.accounts, org.organization_id) {
        (AccountsFile::Every(star), Some(id)) if star == "*" => {
            let valid = id.starts_with("o-")
                && id.len() >= 12
                && id[2..]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            if !valid {
                return Err(err(
                    "organization.organization_id",
                    format!("{id:?} is not an organization id (o-…)"),
                ));
            }
            AccountScope::Organization(id)
        }
        (AccountsFile::Every(star), None) if star == "*" => {
            return Err(err(
                "organization.organization_id",
                "missing: accounts = \"*\" needs the organization id".to_string(),
            ));
        }
        (AccountsFile::Every(other), _) => {
            return Err(err(
                "organization.accounts",
                format!("{other:?}: expected a list of account ids or \"*\""),
            ));
        }
        (AccountsFile::List(accounts), _) => {
            if accounts.is_empty() {
                return Err(err(
                    "organization.accounts",
                    "empty: list the accounts in scope, or \"*\"".to_string(),
                ));
            }
            for (i, account) in accounts.iter().enumerate() {
                if !is_account_id(account) {
                    return Err(err(
                        &format!("organization.accounts[{i}]"),
                        format!("{account:?} is not a 12-digit account id"),
                    ));
                }
            }
            AccountScope::Listed(accounts)
        }
    };
    if org.regions.is_empty() {
        return Err(err(
            "organization.regions",
            "empty: list the regions in scope".to_string(),
        ));
    }
    for (i, region) in org.regions.iter().enumerate() {
        let valid = region.split('-').count() >= 3
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(err(
                &format!("organization.regions[{i}]"),
                format!("{region:?} is not a region name"),
            ));
        }
    }
    let member_role_name = org
        .member_role_name
        .unwrap_or_else(|| DEFAULT_MEMBER_ROLE.to_string());
    if !is_role_name(&member_role_name) {
        return Err(err(
            "organization.member_role_name",
            format!("{member_role_name:?} is not an IAM role name"),
        ));
    }
    let ou_cache = match org.ou_cache_seconds {
        None => MAX_OU_CACHE,
        Some(seconds) if (1..=MAX_OU_CACHE.as_secs()).contains(&seconds) => {
            std::time::Duration::from_secs(seconds)
        }
        Some(seconds) => {
            return Err(err(
                "organization.ou_cache_seconds",
                format!(
                    "{seconds}: from 1 to {} (an account moved to another OU is judged by it within that time)",
                    MAX_OU_CACHE.as_secs()
                ),
            ))
        }
    };
    let (revoke_role_name, named) = match org.revoke_role_name {
        Some(name) => (name, true),
        None => (format!("{member_role_name}{REVOKE_ROLE_SUFFIX}"), false),
    };
    if !is_role_name(&revoke_role_name) || revoke_role_name == member_role_name {
        let problem = if named {
            format!("{revoke_role_name:?} is not an IAM role name other than member_role_name")
        } else {
            format!(
                "missing, and the default {revoke_role_name:?} is not an IAM role name: name it"
            )
        };
        return Err(err("organization.revoke_role_name", problem));
    }
    Ok(Organization {
        accounts,
        regions: org.regions,
        member_role_name,
        ou_cache,
        revoke_role_name,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::policy;
    use super::*;
    use crate::policy::Policy;

    #[test]
    fn organization_scope() {
        let p =
            policy("[organization]\naccounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\n")
                .unwrap();
        let org = p.organization.unwrap();
        assert_eq!(org.member_role_name, DEFAULT_MEMBER_ROLE);
        assert_eq!(org.revoke_role_name, "access-guard-member-revoke");
        let named = policy(
            "[organization]\naccounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\nmember_role_name = \"guard-read\"\n",
        )
        .unwrap()
        .organization
        .unwrap();
        assert_eq!(named.revoke_role_name, "guard-read-revoke");
        let named = policy(
            "[organization]\naccounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\nrevoke_role_name = \"guard-revoke\"\n",
        )
        .unwrap()
        .organization
        .unwrap();
        assert_eq!(named.revoke_role_name, "guard-revoke");
        assert_eq!(org.outside("111122223333", "eu-west-1"), None);
        assert!(org.outside("999988887777", "eu-west-1").is_some());
        assert!(org.outside("111122223333", "us-east-1").is_some());
        let every = policy(
            "[organization]\naccounts = \"*\"\norganization_id = \"o-a1b2c3d4e5\"\nregions = [\"eu-west-1\"]\n",
        )
        .unwrap()
        .organization
        .unwrap();
        assert_eq!(every.outside("999988887777", "eu-west-1"), None);
        assert!(
            every.outside("", "eu-west-1").is_some(),
            "an account id, not anything"
        );
        assert!(
            Policy::embedded().organization.is_none(),
            "single account by default"
        );

        let cases = [
            ("accounts = \"*\"\nregions = [\"eu-west-1\"]", "organization.organization_id"),
            ("accounts = \"*\"\norganization_id = \"org-1\"\nregions = [\"eu-west-1\"]", "organization.organization_id"),
            ("accounts = \"all\"\nregions = [\"eu-west-1\"]", "organization.accounts"),
            ("accounts = []\nregions = [\"eu-west-1\"]", "organization.accounts"),
            ("accounts = [\"12\"]\nregions = [\"eu-west-1\"]", "organization.accounts[0]"),
            ("accounts = [\"111122223333\"]\nregions = []", "organization.regions"),
            ("accounts = [\"111122223333\"]\nregions = [\"Europe\"]", "organization.regions[0]"),
            ("accounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\nmember_role_name = \"a b\"", "organization.member_role_name"),
            ("accounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\nrevoke_role_name = \"a b\"", "organization.revoke_role_name"),
            ("accounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\nrevoke_role_name = \"access-guard-member\"", "organization.revoke_role_name"),
            ("accounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\nmember_role_name = \"a1234567890123456789012345678901234567890123456789012345678\"", "organization.revoke_role_name"),
        ];
        for (body, key) in cases {
            let text = format!("[organization]\n{body}\n");
            let err = policy(&text).expect_err(&text);
            assert_eq!(err.key, key, "{text} -> {err}");
        }
    }
}
