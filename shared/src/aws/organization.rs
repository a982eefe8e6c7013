//! Acting in the organization's accounts: the clients of one place (the
//! function's own, or a member role's), the member roles assumed and kept,
//! where an account sits (Organizations), and the organization's accounts.

use super::ec2::{Ec2Remediator, Ec2SecurityGroups};
use super::ecs::{EcsClusters, EcsTaskDefinitions};
use super::elb::ElbLoadBalancers;
use super::vpc::Ec2Vpcs;
use super::{classify, estate, iam, instances};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::assume::AssumedRole;
use crate::policy::Organization;
use crate::ports::AwsError;
use crate::ports::{Home, Place};

/// The adapters a guard acts through in one place (account, region).
#[derive(Debug, Clone)]
pub struct PlaceClients {
    pub groups: Ec2SecurityGroups,
    pub remediator: Ec2Remediator,
    pub task_definitions: EcsTaskDefinitions,
    pub clusters: EcsClusters,
    pub iam: iam::IamClient,
    pub instances: instances::Ec2Instances,
    /// The network guard's reads.
    pub vpcs: Ec2Vpcs,
    /// Which services use a group (ingress-guard's ways in).
    pub group_services: estate::EcsGroupServices,
    pub load_balancers: ElbLoadBalancers,
    /// The sweep's reads.
    pub estate: estate::SdkEstate,
    /// Whose credentials the reads carry: the member (read-only) role's
    /// ARN, or `None` for the function's own.
    pub role_arn: Option<String>,
    /// Whose credentials the revoke carries: the revoke role's ARN, or
    /// `None` for the function's own.
    pub revoke_role_arn: Option<String>,
}

impl PlaceClients {
    /// Reads with `sdk`'s credentials; the revoke with `revoke`'s when
    /// given, else with `sdk`'s.
    fn new(
        sdk: &aws_config::SdkConfig,
        role_arn: Option<String>,
        revoke: Option<AssumedRole>,
    ) -> PlaceClients {
        let ec2 = aws_sdk_ec2::Client::new(sdk);
        let ecs = aws_sdk_ecs::Client::new(sdk);
        let revoke_role_arn = revoke.as_ref().map(|r| r.role_arn.clone());
        PlaceClients {
            groups: Ec2SecurityGroups::new(ec2.clone()),
            remediator: match revoke {
                Some(role) => Ec2Remediator::through(role),
                None => Ec2Remediator::new(ec2.clone()),
            },
            task_definitions: EcsTaskDefinitions::new(ecs.clone()),
            clusters: EcsClusters::new(ecs.clone()),
            iam: iam::IamClient::new(aws_sdk_iam::Client::new(sdk)),
            instances: instances::Ec2Instances::new(
                ec2.clone(),
                ecs.clone(),
                aws_sdk_autoscaling::Client::new(sdk),
            ),
            vpcs: Ec2Vpcs::new(ec2.clone()),
            group_services: estate::EcsGroupServices::new(ecs.clone()),
            load_balancers: ElbLoadBalancers::new(aws_sdk_elasticloadbalancingv2::Client::new(sdk)),
            estate: estate::SdkEstate::new(
                ec2,
                ecs,
                aws_sdk_iam::Client::new(sdk),
                aws_sdk_autoscaling::Client::new(sdk),
                aws_sdk_elasticloadbalancingv2::Client::new(sdk),
            ),
            role_arn,
            revoke_role_arn,
        }
    }

    /// Whose credentials act here, for the alert: the read role, and the
    /// revoke role for a function that revokes; `None` at home.
    pub fn acting_as(&self, revokes: bool) -> Option<String> {
        match (&self.role_arn, &self.revoke_role_arn) {
            (Some(read), Some(revoke)) if revokes => {
                Some(format!("{read} (reads), {revoke} (revokes)"))
            }
            (read, _) => read.clone(),
        }
    }
}

/// What every function calls besides its own actions when it runs in
/// organization mode: the member roles of the event's account (the
/// read-only role; the revoke role for a function that revokes). The
/// Terraform module grants it only then (a test compares them). Where an
/// account sits (`organizations:ListParents`, exemptions by OU) is read
/// only by the functions that judge exemptions by OU: see
/// `ORGANIZATION_READS` in the Lambda wiring.
pub const ORGANIZATION_ACTIONS: &[&str] = &["sts:AssumeRole"];

/// The OUs of accounts, read through Organizations (from the management
/// account or a delegated administrator) and kept for at most
/// [`OrganizationsOus::with_ttl`] (default and at most five minutes): an
/// account moved to another OU is judged by its new OU within that time,
/// never by where it sat when the instance started.
pub struct OrganizationsOus {
    client: aws_sdk_organizations::Client,
    known: std::sync::Mutex<std::collections::HashMap<String, (Instant, Vec<String>)>>,
    ttl: Duration,
    clock: Arc<dyn Fn() -> Instant + Send + Sync>,
}

impl OrganizationsOus {
    pub fn new(client: aws_sdk_organizations::Client) -> Self {
        OrganizationsOus {
            client,
            known: std::sync::Mutex::new(std::collections::HashMap::new()),
            ttl: crate::policy::MAX_OU_CACHE,
            clock: Arc::new(Instant::now),
        }
    }

    /// How long an account's OUs are kept (the policy's
    /// `[organization] ou_cache_seconds`).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.min(crate::policy::MAX_OU_CACHE);
        self
    }

    /// The clock the cache ages by (a test's, to move time on).
    pub fn with_clock(mut self, clock: Arc<dyn Fn() -> Instant + Send + Sync>) -> Self {
        self.clock = clock;
        self
    }
}

/// Organizations nests OUs at most five deep.
const MAX_OU_DEPTH: usize = 8;

#[async_trait]
impl crate::ports::OrganizationUnits for OrganizationsOus {
    async fn ous_of(&self, account: &str) -> Result<Vec<String>, AwsError> {
        let now = (self.clock)();
        let cached = self
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .filter(|(read, _)| now.saturating_duration_since(*read) < self.ttl)
            .map(|(_, ous)| ous.clone());
        if let Some(ous) = cached {
            return Ok(ous);
        }
        let mut ous = Vec::new();
        let mut child = account.to_string();
        for _ in 0..MAX_OU_DEPTH {
            let out = self
                .client
                .list_parents()
                .child_id(&child)
                .send()
                .await
                .map_err(|e| classify("ListParents", &e))?;
            let Some(parent) = out.parents().first() else {
                break;
            };
            match (parent.r#type(), parent.id()) {
                (Some(aws_sdk_organizations::types::ParentType::OrganizationalUnit), Some(id)) => {
                    ous.push(id.to_string());
                    child = id.to_string();
                }
                _ => break,
            }
        }
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        // What has aged out goes, so that the map stays as small as the
        // accounts seen in one TTL.
        known.retain(|_, (read, _)| now.saturating_duration_since(*read) < self.ttl);
        known.insert(account.to_string(), (now, ous.clone()));
        Ok(ous)
    }
}

/// The organization's active accounts, through Organizations `ListAccounts`
/// (from the management account or a delegated administrator).
pub struct OrganizationsAccounts {
    client: aws_sdk_organizations::Client,
}

impl OrganizationsAccounts {
    pub fn new(client: aws_sdk_organizations::Client) -> Self {
        OrganizationsAccounts { client }
    }
}

#[async_trait]
impl crate::ports::AccountLister for OrganizationsAccounts {
    async fn accounts(&self) -> Result<Vec<String>, AwsError> {
        use aws_sdk_organizations::types::{AccountState, AccountStatus};
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_accounts()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("ListAccounts", &e))?;
            for account in page.accounts() {
                // `State` replaces `Status`; either may be the one given.
                let active = match (account.state(), account.status()) {
                    (Some(state), _) => *state == AccountState::Active,
                    (None, Some(status)) => *status == AccountStatus::Active,
                    (None, None) => false,
                };
                if let (true, Some(id)) = (active, account.id()) {
                    out.push(id.to_string());
                }
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }
}

/// How many places (account, region) an instance keeps clients for.
pub const PLACES_KEPT: usize = 64;

/// The clients of every place a function acts in (DESIGN §11), built on
/// first use and kept for the life of the instance: the function's own
/// credentials in its own account (any region); in any other account the
/// read-only member role for every read, and the revoke role for the revoke
/// alone (assumed at the first revoke, so a function that never revokes
/// never asks for it).
pub struct Members {
    sdk: aws_config::SdkConfig,
    cache: crate::ports::cache::PlaceCache<PlaceClients>,
}

impl Members {
    pub fn new(sdk: &aws_config::SdkConfig) -> Members {
        Members {
            sdk: sdk.clone(),
            cache: crate::ports::cache::PlaceCache::new(PLACES_KEPT),
        }
    }

    /// The role named `role_name` in `account`.
    pub fn member_role_arn(home: &Home, account: &str, role_name: &str) -> String {
        format!("arn:{}:iam::{account}:role/{role_name}", home.partition)
    }

    /// The clients for `place`. In another account the member role is
    /// assumed first, so that a denied AssumeRole is an error with its code;
    /// the revoke role only at the first revoke.
    pub async fn at(
        &self,
        place: &Place,
        home: &Home,
        organization: Option<&Organization>,
    ) -> Result<std::sync::Arc<PlaceClients>, AwsError> {
        self.cache
            .get_or_build(place, || async {
                let region = aws_config::Region::new(place.region.clone());
                if place.account == home.account {
                    let sdk = self.sdk.to_builder().region(region).build();
                    return Ok(PlaceClients::new(&sdk, None, None));
                }
                let Some(org) = organization else {
                    return Err(AwsError {
                        operation: "AssumeRole",
                        code: Some("NotAnOrganizationDeployment".to_string()),
                        message: format!("account {} is not the function's own", place.account),
                        retryable: false,
                    });
                };
                let session: String = format!("access-guard-{}", home.function)
                    .chars()
                    .take(64)
                    .collect();
                let role = |name: &str| AssumedRole {
                    base: self.sdk.clone(),
                    role_arn: Self::member_role_arn(home, &place.account, name),
                    session: session.clone(),
                    home_region: home.region.clone(),
                    region: place.region.clone(),
                };
                let read = role(&org.member_role_name);
                let sdk = read.config().await?;
                Ok(PlaceClients::new(
                    &sdk,
                    Some(read.role_arn),
                    Some(role(&org.revoke_role_name)),
                ))
            })
            .await
    }
}
