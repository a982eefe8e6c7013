//! The ports through which the guards reach AWS. Domain code depends on these
//! traits; the adapters (`aws`) implement them with the SDK, tests with fakes.
//!
//! Layer: ports, the traits guards act through and the types they carry
//! ([`estate`], [`place`]), with their fakes. May import output and the
//! layers below; never a guard or an adapter.

pub mod cache;
pub mod estate;
#[cfg(test)]
pub mod fakes;
pub mod once;
pub mod place;

use async_trait::async_trait;

pub use place::{Home, Place};

use crate::model::cl::ClusterSettings;
use crate::model::sg::{PrefixListEntries, SgRule};
use crate::model::td::TaskDefinition;
use crate::output::asff::AsffFinding;
use crate::output::notify::Notification;
use crate::report::Report;
use crate::state::{PlaceStatus, Record};

/// An AWS call that failed, classified by its error code (never by message text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {}: {message}", code.as_deref().unwrap_or("no error code"))]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
    /// Throttling, 5xx, timeouts and connection failures: worth a retry.
    pub retryable: bool,
}

impl AwsError {
    /// The code to report (`AccessDenied`, `RequestLimitExceeded`, …).
    pub fn code_or_kind(&self) -> String {
        self.code.clone().unwrap_or_else(|| {
            if self.retryable {
                "Unavailable".to_string()
            } else {
                "Unknown".to_string()
            }
        })
    }
}

/// Error codes that mean "try again later" whatever the service.
pub fn is_retryable_code(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "ServiceUnavailable"
            | "Unavailable"
            | "InternalError"
            | "InternalFailure"
            | "InternalServerError"
            | "KMSThrottlingException"
    )
}

/// What the guard needs to know about a security group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInfo {
    pub group_id: String,
    pub name: String,
    pub vpc_id: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// Reads security groups, their rules, and the managed prefix lists rules reference.
#[async_trait]
pub trait SecurityGroups: Send + Sync {
    /// The group, or `None` when it no longer exists.
    async fn group(&self, group_id: &str) -> Result<Option<GroupInfo>, AwsError>;

    /// Every stored rule of the group, ingress and egress, with ids and directions.
    async fn rules_of_group(&self, group_id: &str) -> Result<Vec<SgRule>, AwsError>;

    /// What a managed prefix list holds: every entry of a customer-managed
    /// list (all pages), or [`PrefixListEntries::AwsManaged`] without reading
    /// AWS's own. A list that cannot be read is an error, never an empty list.
    async fn prefix_list(&self, list_id: &str) -> Result<PrefixListEntries, AwsError>;

    /// The security groups that reference the prefix list (all pages).
    async fn groups_referencing(&self, list_id: &str) -> Result<Vec<String>, AwsError>;
}

/// A revocation that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    Revoked,
    /// EC2 found no such rule (for several ids: at least one of them), or
    /// listed it in `UnknownIpPermissions`.
    AlreadyAbsent,
}

/// Removes ingress rules.
#[async_trait]
pub trait IngressRemediator: Send + Sync {
    /// Revokes the group's ingress rules `rule_ids` in one call. EC2 applies
    /// such a call whole or not at all.
    async fn revoke_ingress(&self, group_id: &str, rule_ids: &[&str]) -> Result<Revoked, AwsError>;
}

/// Reads where an account sits in the organization (for exemptions by OU).
#[async_trait]
pub trait OrganizationUnits: Send + Sync {
    /// The organizational units `account` sits in, from its parent upwards.
    async fn ous_of(&self, account: &str) -> Result<Vec<String>, AwsError>;
}

/// Reads task definitions from ECS.
#[async_trait]
pub trait TaskDefinitions: Send + Sync {
    /// The definition (ARN, or `family[:revision]`), or `None` when it does not exist.
    async fn describe(&self, task_definition: &str) -> Result<Option<TaskDefinition>, AwsError>;
}

/// Reads a cluster back: its settings, Exec configuration and tags.
#[async_trait]
pub trait Clusters: Send + Sync {
    /// `None` when the cluster does not exist (or is inactive).
    async fn describe(&self, cluster: &str) -> Result<Option<ClusterSettings>, AwsError>;
}

/// A load balancer as ELBv2 describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerInfo {
    pub arn: String,
    pub scheme: crate::model::elb::Scheme,
    pub lb_type: crate::model::elb::LbType,
    pub vpc_id: Option<String>,
    pub security_groups: Vec<String>,
}

/// A listener as ELBv2 describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerInfo {
    pub arn: String,
    pub protocol: String,
    pub port: i64,
    pub default_actions: Vec<crate::model::elb::Action>,
}

/// ELBv2 reads of the load-balancer path (DESIGN §14).
#[async_trait]
pub trait LoadBalancers: Send + Sync {
    /// `None` when it does not exist.
    async fn load_balancer(&self, arn: &str) -> Result<Option<LoadBalancerInfo>, AwsError>;
    /// Every listener of a load balancer.
    async fn listeners(&self, load_balancer: &str) -> Result<Vec<ListenerInfo>, AwsError>;
    /// One listener; `None` when it does not exist.
    async fn listener(&self, arn: &str) -> Result<Option<ListenerInfo>, AwsError>;
    /// A load balancer's attributes, key → value.
    async fn attributes(
        &self,
        load_balancer: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, AwsError>;
    /// The VPC of a target group; `None` when it does not exist.
    async fn target_group_vpc(&self, arn: &str) -> Result<Option<String>, AwsError>;
}

/// What runs in a subnet: an ECS task's interface or an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// `task interface eni-… (<its ECS attachment>)`, `instance i-…`.
    pub what: String,
    pub groups: Vec<String>,
}

/// A network interface as EC2 describes it: a task's, or an instance's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub id: String,
    /// Its public IPv4 address (assigned or Elastic), when it has one.
    pub public_ip: Option<String>,
    pub groups: Vec<String>,
}

/// A network interface that has a security group: where it sits and
/// whether the internet can address it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInterface {
    pub id: String,
    pub subnet_id: String,
    /// Its public IPv4 address (assigned or Elastic), when it has one.
    pub public_ip: Option<String>,
    /// What EC2 says it is for (an ECS task's attachment ARN, `ELB app/…`).
    pub description: String,
}

/// EC2 reads of the way in (DESIGN §14): a VPC's subnets, route tables,
/// network ACLs and internet gateways, and what runs in its subnets.
#[async_trait]
pub trait Vpcs: Send + Sync {
    /// The VPC of a route table; `None` when the table does not exist.
    async fn route_table_vpc(&self, route_table: &str) -> Result<Option<String>, AwsError>;
    /// The VPC of a subnet; `None` when the subnet does not exist.
    async fn subnet_vpc(&self, subnet: &str) -> Result<Option<String>, AwsError>;
    /// One VPC's network: its subnets, route tables, network ACLs and the
    /// internet gateways attached to it. A kind that could not be read is
    /// in [`Network::unread`](crate::model::reach::Network::unread) with its
    /// error code; a retryable failure is an error.
    async fn network(&self, vpc: &str) -> Result<crate::model::reach::Network, AwsError>;
    /// The ECS tasks (their network interfaces) and the instances in these
    /// subnets, each with its security groups.
    async fn workloads(&self, subnets: &[String]) -> Result<Vec<Workload>, AwsError>;
    /// The interfaces of a load balancer's target in a VPC: the interface
    /// with that private IP address (an `ip` target), or the interfaces of
    /// that instance (an `instance` target). Matched within the VPC, never
    /// by the address alone.
    async fn target_interfaces(&self, vpc: &str, target: &str) -> Result<Vec<Interface>, AwsError>;
    /// The network interfaces that have this security group (the group in
    /// use), with their subnets and public addresses.
    async fn group_interfaces(&self, group_id: &str) -> Result<Vec<GroupInterface>, AwsError>;
}

/// EC2 reads about launches: launch template versions, the account's
/// instance metadata defaults, and whether a subnet gives public IPs.
#[async_trait]
pub trait Instances: Send + Sync {
    /// A launch template version (template id `lt-…` or name; version a
    /// number, `$Default` or `$Latest`), as CloudTrail writes launch template
    /// data (PascalCase JSON); `None` when it does not exist.
    async fn launch_template_data(
        &self,
        template: &str,
        version: &str,
    ) -> Result<Option<serde_json::Value>, AwsError>;
    /// The account's instance metadata defaults in the region: (httpTokens,
    /// hop limit), each `None` when no default is set.
    async fn metadata_defaults(&self) -> Result<(Option<String>, Option<i64>), AwsError>;
    /// The instance profile (ARN) of an instance: `Some(None)` when it has
    /// none, `None` when the instance does not exist.
    async fn instance_profile(&self, instance: &str) -> Result<Option<Option<String>>, AwsError>;
    /// The subnet's `MapPublicIpOnLaunch`; `None` when it does not exist.
    async fn subnet_maps_public_ip(&self, subnet: &str) -> Result<Option<bool>, AwsError>;
    /// The AMI's `ImdsSupport` (`v2.0`, or `None` when it sets none);
    /// `None` when the AMI does not exist (or is not visible to the account).
    async fn image_imds_support(&self, image: &str) -> Result<Option<Option<String>>, AwsError>;
    /// The Auto Scaling groups that the capacity providers of the region's
    /// clusters launch container instances with.
    async fn provider_groups(&self) -> Result<Vec<ProviderGroup>, AwsError>;
}

/// An ECS capacity provider's Auto Scaling group: its instances join the
/// provider's clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderGroup {
    pub provider: String,
    /// The group's name.
    pub group: String,
    /// The launch template it launches from (`None`: a launch configuration).
    pub template: Option<crate::model::ci::TemplateRef>,
}

/// The group's name in an Auto Scaling group ARN
/// (`…:autoScalingGroup:<uuid>:autoScalingGroupName/<name>`).
pub fn group_name(arn: &str) -> Option<&str> {
    arn.split_once("autoScalingGroupName/")
        .map(|(_, name)| name)
}

impl ProviderGroup {
    /// Whether `template` is this group's launch template (by id or by name,
    /// whichever both name; any version).
    pub fn launches_from(&self, template: &crate::model::ci::TemplateRef) -> bool {
        let Some(own) = &self.template else {
            return false;
        };
        let same =
            |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a == b);
        same(&own.id, &template.id) || same(&own.name, &template.name)
    }
}

/// What IAM holds about a role: who may assume it and what it may do.
/// Documents are as IAM returns them (URL-encoded JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolePolicies {
    pub role: String,
    /// The trust policy.
    pub trust: Option<String>,
    /// Attached managed policies: ARN and default version's document
    /// (`None`: gone since it was listed).
    pub managed: Vec<(String, Option<String>)>,
    /// Inline policies: name and document.
    pub inline: Vec<(String, String)>,
}

/// A user, role or group of the account as `GetAccountAuthorizationDetails`
/// lists it: what is attached to it, by ARN, and its inline documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPrincipal {
    pub kind: crate::model::iam::access::PrincipalKind,
    pub name: String,
    pub arn: String,
    /// Attached managed policies' ARNs.
    pub managed: Vec<String>,
    /// Inline policies: name and document.
    pub inline: Vec<(String, String)>,
    /// A user's groups, by name.
    pub groups: Vec<String>,
    /// The permissions boundary's ARN.
    pub boundary: Option<String>,
}

/// Every principal of the account, and the default version of each customer
/// managed policy (an AWS managed one is read by ARN when attached).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountAuthorization {
    pub principals: Vec<AccountPrincipal>,
    pub local_policies: std::collections::BTreeMap<String, String>,
    /// The pages read.
    pub calls: usize,
}

/// The ECS services that use a security group, and the task definitions
/// they run, as far as a bound of calls reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupUsers {
    pub services: Vec<estate::ServiceState>,
    pub task_definitions: std::collections::BTreeMap<String, crate::model::td::TaskDefinition>,
    /// What the bound (or a failed read) left unread, said in the alert.
    pub unread: Vec<String>,
    pub calls: usize,
}

/// Which ECS services use a group (the event path's ways in of an ingress
/// change): clusters, their services ten at a time, the task definitions
/// of those that use it, at most `max_calls` calls.
#[async_trait]
pub trait GroupServices: Send + Sync {
    async fn services_using(&self, group: &str, max_calls: usize) -> Result<GroupUsers, AwsError>;
}

/// IAM reads.
#[async_trait]
pub trait Iam: Send + Sync {
    /// Every user, role and group of the account with what it carries
    /// (`GetAccountAuthorizationDetails`, every page).
    async fn account_authorization(&self) -> Result<AccountAuthorization, AwsError>;
    /// The role (a name or an ARN) with its trust policy and every policy
    /// it carries; `None` when it does not exist.
    async fn role(&self, role: &str) -> Result<Option<RolePolicies>, AwsError>;
    /// The role's trust policy alone (`GetRole`); `None` when the role does
    /// not exist.
    async fn trust_policy(&self, role: &str) -> Result<Option<String>, AwsError>;
    /// A managed policy's default version document; `None` when it does not exist.
    async fn policy_document(&self, arn: &str) -> Result<Option<String>, AwsError>;
    /// The ARNs of the managed policies attached to a role; `None` when the
    /// role does not exist.
    async fn attached_policies(&self, role: &str) -> Result<Option<Vec<String>>, AwsError>;
    /// The names of the roles a managed policy is attached to.
    async fn roles_with_policy(&self, arn: &str) -> Result<Vec<String>, AwsError>;
    /// The role names of an instance profile (a name or an ARN); `None`
    /// when it does not exist.
    async fn instance_profile_roles(&self, profile: &str) -> Result<Option<Vec<String>>, AwsError>;
}

/// Where an event the function could not handle goes, as a message it
/// writes itself (the failure queue): the guards whose events may carry
/// secrets hand it a redacted copy instead of letting Lambda's on-failure
/// destination keep the event as it came (DESIGN §8).
#[async_trait]
pub trait FailureQueue: Send + Sync {
    async fn send(&self, body: &str) -> Result<(), AwsError>;
}

/// Sends the alert (SNS, the one required sink), and hands verdicts to the
/// optional sinks (DESIGN §13).
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn publish(&self, notification: &Notification) -> Result<(), AwsError>;

    /// Hands a verdict to the optional sinks: `findings` to the findings
    /// store (Security Hub: every finding whatever the alert threshold, and
    /// those resolved), `alert` — the report the SNS alert carried, when one
    /// was published — to chat. It never fails the caller: a sink's failure
    /// is logged (with the event id and the error code) by the implementation.
    /// Without sinks it does nothing.
    async fn deliver(&self, _findings: &Report, _alert: Option<&Report>) {}
}

/// A finding Security Hub did not take, with its error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub id: String,
    pub code: String,
}

/// Security Hub's findings (DESIGN §13): created or updated by Id.
#[async_trait]
pub trait FindingsHub: Send + Sync {
    /// `BatchImportFindings` of at most [`crate::output::asff::BATCH`]
    /// findings: the ones it refused.
    async fn import(&self, findings: &[AsffFinding]) -> Result<Vec<Refused>, AwsError>;

    /// `BatchUpdateFindings`: workflow status RESOLVED with `note`, for at
    /// most [`crate::output::asff::BATCH`] Ids of `product_arn`: the ones it
    /// refused.
    async fn resolve(
        &self,
        product_arn: &str,
        ids: &[String],
        note: &str,
    ) -> Result<Vec<Refused>, AwsError>;
}

/// A topic that chat channels (AWS Chatbot) read: the message as it is.
#[async_trait]
pub trait ChatChannel: Send + Sync {
    async fn post(&self, message: &str) -> Result<(), AwsError>;
}

/// Reads the current state of one place (account, region) for the sweep.
#[async_trait]
pub trait EstateReader: Send + Sync {
    /// Everything the sweep judges. A read that fails is recorded in
    /// [`Estate::unread`](crate::ports::estate::Estate::unread) and the others go on.
    async fn read(&self) -> crate::ports::estate::Estate;
}

/// The state table (DESIGN §12).
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Every finding record of one place.
    async fn findings(&self, account: &str, region: &str) -> Result<Vec<Record>, AwsError>;
    /// Writes each record unless the table holds it from a later read than
    /// the record's `read_at` (a newer sweep's): the fingerprints of those
    /// not written. A refused write is not an error: the newer sweep knows better.
    async fn save(&self, records: &[Record]) -> Result<Vec<String>, AwsError>;
    /// Records how a place's sweep ended, unless the status stored is from
    /// a later read: false then.
    async fn save_status(&self, status: &PlaceStatus) -> Result<bool, AwsError>;
    /// Takes the place's sweep lease for `holder` until `until` (epoch
    /// seconds), by a conditional write that succeeds only when no lease is
    /// held or the one held expired before `now`: false when another sweep
    /// holds it.
    async fn take_lease(
        &self,
        account: &str,
        region: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, AwsError>;
    /// Gives the lease back when `holder` still holds it (false: it does not,
    /// it expired and another sweep took it).
    async fn release_lease(
        &self,
        account: &str,
        region: &str,
        holder: &str,
    ) -> Result<bool, AwsError>;
    /// Every finding record and place status (the daily summary).
    async fn everything(&self) -> Result<(Vec<Record>, Vec<PlaceStatus>), AwsError>;
}

/// What became of one attempt to revoke a rule (DESIGN §7.10, §7.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptState {
    /// Written right before the revoke call: the call may have gone through
    /// even if nothing after it was written.
    Intended,
    /// The call returned success.
    Revoked,
    /// The call changed nothing (EC2 did not find the rule, or refused).
    NotRevoked,
}

impl AttemptState {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptState::Intended => "intended",
            AttemptState::Revoked => "revoked",
            AttemptState::NotRevoked => "not_revoked",
        }
    }

    pub fn parse(text: &str) -> Option<AttemptState> {
        match text {
            "intended" => Some(AttemptState::Intended),
            "revoked" => Some(AttemptState::Revoked),
            "not_revoked" => Some(AttemptState::NotRevoked),
            _ => None,
        }
    }
}

/// An earlier attempt of the same event at the same rule, as the state table keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub state: AttemptState,
    /// The command that puts the rule back, as offered when the attempt began.
    pub restore: Option<String>,
}

/// Which rule of which event, in which place: the key of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptKey<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub event_id: &'a str,
    pub rule_id: &'a str,
}

/// What ingress-guard keeps in the state table between invocations:
/// - its revoke attempts per event and rule, the intent written before the
///   call, so that a retry reports what an earlier attempt did (DESIGN §7.10, §7.15);
/// - the ingress rules as it last saw them left in place (the command that
///   authorizes each again), so that a rule modified later can be offered
///   back as it was before the modification;
/// - when the exemption tag was set on a group and to what, so that its
///   expiry window is judged from the day it was set (DESIGN §7.12).
#[async_trait]
pub trait RevocationLog: Send + Sync {
    async fn record_attempt(
        &self,
        key: AttemptKey<'_>,
        group_id: &str,
        state: AttemptState,
        restore: Option<&str>,
    ) -> Result<(), AwsError>;
    async fn earlier_attempt(&self, key: AttemptKey<'_>) -> Result<Option<Attempt>, AwsError>;

    /// Keeps the command that authorizes rule `rule_id` of `group_id` again as it is now.
    async fn record_rule(
        &self,
        account: &str,
        region: &str,
        group_id: &str,
        rule_id: &str,
        restore: &str,
    ) -> Result<(), AwsError>;
    /// The command kept by [`RevocationLog::record_rule`], if any.
    async fn rule_as_seen(
        &self,
        account: &str,
        region: &str,
        rule_id: &str,
    ) -> Result<Option<String>, AwsError>;

    /// Keeps that the exemption tag of `group_id` was set to `value` on `set_on`.
    async fn record_exemption_tag(
        &self,
        account: &str,
        region: &str,
        group_id: &str,
        value: &str,
        set_on: time::Date,
    ) -> Result<(), AwsError>;
    /// The exemption tag value last seen set on the group, and when.
    async fn exemption_tag_set(
        &self,
        account: &str,
        region: &str,
        group_id: &str,
    ) -> Result<Option<(String, time::Date)>, AwsError>;
}

/// The time, and waiting: injected so that tests of what waits run at once.
#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> time::OffsetDateTime;
    async fn sleep(&self, duration: std::time::Duration);
}

/// Lists the accounts of the organization (the sweep's scope with `accounts = "*"`).
#[async_trait]
pub trait AccountLister: Send + Sync {
    /// The active accounts.
    async fn accounts(&self) -> Result<Vec<String>, AwsError>;
}

/// Objects in S3: the retro scan's trail bucket and its results bucket.
#[async_trait]
pub trait Objects: Send + Sync {
    /// The object's bytes, whole (a CloudTrail log file is a few MB gzipped).
    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, AwsError>;
    /// Writes the object whole, replacing any before it.
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), AwsError>;
    /// Every key under `prefix`, in key order.
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, AwsError>;
}
