//! SDK-backed adapters for the ports (feature `aws`).

pub mod estate;
#[cfg(feature = "lambda")]
pub mod failure_queue;
pub mod iam;
pub mod instances;
#[cfg(feature = "lambda")]
pub mod policy_object;
pub mod securityhub;
#[cfg(feature = "state")]
pub mod state;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::Filter;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::model::cl::{ClusterSettings, ExecConfiguration};
use crate::model::net::{Protocol, Source};
use crate::model::sg::{Direction, PrefixListEntries, SgRule};
use crate::model::td::TaskDefinition;
use crate::output::notify::Notification;
use crate::policy::Organization;
use crate::ports::{
    is_retryable_code, AwsError, GroupInfo, IngressRemediator, Notifier, Revoked, SecurityGroups,
    TaskDefinitions,
};
use crate::ports::{Home, Place};

/// The system's clock, and tokio's sleep.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl crate::ports::Clock for SystemClock {
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }

    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// EC2 error codes that mean the rule or group is already gone.
const GONE_CODES: [&str; 3] = [
    "InvalidPermission.NotFound",
    "InvalidGroup.NotFound",
    "InvalidSecurityGroupRuleId.NotFound",
];

/// Classifies an SDK error by its code and transport, never by message text.
pub fn classify<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().map(str::to_string);
    let status = err.raw_response().map(|r| r.status().as_u16());
    let retryable = match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => {
            code.as_deref().is_some_and(is_retryable_code)
                || status.is_some_and(|s| s >= 500 || s == 429)
        }
    };
    let message = err
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| aws_sdk_ec2::error::DisplayErrorContext(err).to_string());
    AwsError {
        operation,
        code,
        message,
        retryable,
    }
}

/// Security groups read through EC2.
#[derive(Debug, Clone)]
pub struct Ec2SecurityGroups {
    client: aws_sdk_ec2::Client,
}

impl Ec2SecurityGroups {
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Ec2SecurityGroups { client }
    }
}

#[async_trait]
impl SecurityGroups for Ec2SecurityGroups {
    async fn group(&self, group_id: &str) -> Result<Option<GroupInfo>, AwsError> {
        let out = match self
            .client
            .describe_security_groups()
            .group_ids(group_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.code() == Some("InvalidGroup.NotFound") => return Ok(None),
            Err(e) => return Err(classify("DescribeSecurityGroups", &e)),
        };
        Ok(out.security_groups().first().map(|g| GroupInfo {
            group_id: g.group_id().unwrap_or(group_id).to_string(),
            ..group_info(g)
        }))
    }

    async fn rules_of_group(&self, group_id: &str) -> Result<Vec<SgRule>, AwsError> {
        let mut rules = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_security_group_rules()
                .filters(Filter::builder().name("group-id").values(group_id).build())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("DescribeSecurityGroupRules", &e))?;
            rules.extend(out.security_group_rules().iter().filter_map(stored_rule));
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(rules),
            }
        }
    }

    async fn prefix_list(&self, list_id: &str) -> Result<PrefixListEntries, AwsError> {
        let out = self
            .client
            .describe_managed_prefix_lists()
            .prefix_list_ids(list_id)
            .send()
            .await
            .map_err(|e| classify("DescribeManagedPrefixLists", &e))?;
        if out.prefix_lists().iter().any(is_aws_managed) {
            return Ok(PrefixListEntries::AwsManaged);
        }
        prefix_list_entries(&self.client, list_id).await
    }

    async fn groups_referencing(&self, list_id: &str) -> Result<Vec<String>, AwsError> {
        let mut groups = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .get_managed_prefix_list_associations()
                .prefix_list_id(list_id)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("GetManagedPrefixListAssociations", &e))?;
            groups.extend(
                out.prefix_list_associations()
                    .iter()
                    .filter_map(|a| a.resource_id())
                    .filter(|id| id.starts_with("sg-"))
                    .map(str::to_string),
            );
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(groups),
            }
        }
    }
}

/// ECS's per-item `failures` of a describe: `MISSING` (a cluster or
/// capacity provider deleted since it was listed) holds no evidence; any
/// other reason leaves what it describes unread: an error, never "none".
pub(crate) fn ecs_failure(
    operation: &'static str,
    failures: &[aws_sdk_ecs::types::Failure],
) -> Option<AwsError> {
    failures
        .iter()
        .find(|f| f.reason() != Some("MISSING"))
        .map(|f| AwsError {
            operation,
            code: Some(f.reason().unwrap_or("Failure").to_string()),
            message: format!(
                "{}: {}",
                f.arn().unwrap_or("an item"),
                f.detail().unwrap_or("no detail")
            ),
            retryable: false,
        })
}

/// An AWS-managed prefix list (owner `AWS`, `com.amazonaws.*`): AWS's own
/// service ranges, which the guard does not read.
pub(crate) fn is_aws_managed(list: &aws_sdk_ec2::types::ManagedPrefixList) -> bool {
    list.owner_id() == Some("AWS")
        || list
            .prefix_list_name()
            .is_some_and(|n| n.starts_with("com.amazonaws."))
}

/// Every entry of a customer-managed prefix list, all pages. An entry that
/// is not a CIDR makes the list unknown (never a list without it).
pub(crate) async fn prefix_list_entries(
    client: &aws_sdk_ec2::Client,
    list_id: &str,
) -> Result<PrefixListEntries, AwsError> {
    let mut entries = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .get_managed_prefix_list_entries()
            .prefix_list_id(list_id)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| classify("GetManagedPrefixListEntries", &e))?;
        for entry in out.entries() {
            let raw = entry.cidr().unwrap_or_default();
            match Source::cidr(raw) {
                Source::Unparsed(_) => {
                    return Ok(PrefixListEntries::Unknown(format!(
                        "entry {raw:?} is not a CIDR"
                    )))
                }
                cidr => entries.push(cidr),
            }
        }
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(PrefixListEntries::Read(entries)),
        }
    }
}

/// A described group as the guard models it (id empty when EC2 gave none).
pub(crate) fn group_info(g: &aws_sdk_ec2::types::SecurityGroup) -> GroupInfo {
    GroupInfo {
        group_id: g.group_id().unwrap_or_default().to_string(),
        name: g.group_name().unwrap_or_default().to_string(),
        vpc_id: g.vpc_id().map(str::to_string),
        tags: g
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    }
}

/// A stored rule as the guard models it; `None` for a rule with no source we know.
pub(crate) fn stored_rule(r: &aws_sdk_ec2::types::SecurityGroupRule) -> Option<SgRule> {
    let ip_protocol = r.ip_protocol()?.to_string();
    let protocol = Protocol::parse(&ip_protocol).unwrap_or(Protocol::All);
    let source = if let Some(cidr) = r.cidr_ipv4().or(r.cidr_ipv6()) {
        Source::cidr(cidr)
    } else if let Some(list) = r.prefix_list_id() {
        Source::PrefixList(list.to_string())
    } else {
        let group = r.referenced_group_info()?;
        Source::Group {
            group_id: group.group_id().map(str::to_string),
            user_id: group.user_id().map(str::to_string),
        }
    };
    Some(SgRule {
        rule_id: r.security_group_rule_id().map(str::to_string),
        direction: match r.is_egress() {
            Some(true) => Direction::Egress,
            Some(false) => Direction::Ingress,
            // EC2 did not say: never revoked as ingress, still judged.
            None => Direction::Unverified,
        },
        ip_protocol,
        protocol,
        from_port: r.from_port().map(i64::from),
        to_port: r.to_port().map(i64::from),
        source,
        description: r
            .description()
            .filter(|d| !d.is_empty())
            .map(str::to_string),
    })
}

/// Revokes ingress rules through EC2: with the function's own credentials,
/// or in a member account through the revoke role (DESIGN §7.13), assumed
/// at the first revoke and for nothing else.
#[derive(Debug, Clone)]
pub struct Ec2Remediator {
    client: RevokeClient,
}

#[derive(Debug, Clone)]
enum RevokeClient {
    Ready(aws_sdk_ec2::Client),
    Role(std::sync::Arc<RevokeRole>),
}

/// The revoke role of one place, and its client once assumed.
#[derive(Debug)]
struct RevokeRole {
    role: AssumedRole,
    client: std::sync::Mutex<Option<aws_sdk_ec2::Client>>,
}

impl Ec2Remediator {
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Ec2Remediator {
            client: RevokeClient::Ready(client),
        }
    }

    /// Revokes through `role`, assumed on the first revoke.
    fn through(role: AssumedRole) -> Self {
        Ec2Remediator {
            client: RevokeClient::Role(std::sync::Arc::new(RevokeRole {
                role,
                client: std::sync::Mutex::new(None),
            })),
        }
    }

    async fn client(&self) -> Result<aws_sdk_ec2::Client, AwsError> {
        let revoke = match &self.client {
            RevokeClient::Ready(client) => return Ok(client.clone()),
            RevokeClient::Role(revoke) => revoke,
        };
        let kept = revoke
            .client
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(client) = kept {
            return Ok(client);
        }
        let client = aws_sdk_ec2::Client::new(&revoke.role.config().await?);
        *revoke.client.lock().unwrap_or_else(|p| p.into_inner()) = Some(client.clone());
        Ok(client)
    }
}

#[async_trait]
impl IngressRemediator for Ec2Remediator {
    async fn revoke_ingress(&self, group_id: &str, rule_ids: &[&str]) -> Result<Revoked, AwsError> {
        let call = self
            .client()
            .await?
            .revoke_security_group_ingress()
            .group_id(group_id)
            .set_security_group_rule_ids(Some(rule_ids.iter().map(|id| id.to_string()).collect()));
        match call.send().await {
            // AWS may answer success and list what it did not find.
            Ok(out) if !out.unknown_ip_permissions().is_empty() => Ok(Revoked::AlreadyAbsent),
            Ok(_) => Ok(Revoked::Revoked),
            Err(e) if e.code().is_some_and(|c| GONE_CODES.contains(&c)) => {
                Ok(Revoked::AlreadyAbsent)
            }
            Err(e) => Err(classify("RevokeSecurityGroupIngress", &e)),
        }
    }
}

/// Publishes alerts to an SNS topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), AwsError> {
        let mut call = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&notification.subject)
            .message_structure("json")
            .message(&notification.message);
        for attr in &notification.attributes {
            let value = MessageAttributeValue::builder()
                .data_type(attr.data_type)
                .string_value(&attr.value)
                .build()
                .map_err(|e| AwsError {
                    operation: "Publish",
                    code: None,
                    message: format!("message attribute {}: {e}", attr.name),
                    retryable: false,
                })?;
            call = call.message_attributes(attr.name, value);
        }
        call.send().await.map_err(|e| classify("Publish", &e))?;
        Ok(())
    }
}

/// Posts the alert's chat message (AWS Chatbot's custom notification) to
/// the Chatbot topic: a plain message, which Chatbot reads as it is.
#[derive(Debug, Clone)]
pub struct SnsChatChannel {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsChatChannel {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsChatChannel {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl crate::ports::ChatChannel for SnsChatChannel {
    async fn post(&self, message: &str) -> Result<(), AwsError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(message)
            .send()
            .await
            .map_err(|e| classify("Publish", &e))?;
        Ok(())
    }
}

/// What the functions call when Security Hub is on (DESIGN §13): import
/// findings into the account's default product, and resolve them. The
/// Terraform module grants them only then (a test compares them).
pub const SECURITY_HUB_ACTIONS: &[&str] = &[
    "securityhub:BatchImportFindings",
    "securityhub:BatchUpdateFindings",
];

/// What the functions call when the Chatbot topic is on: publish to it
/// (granted on that topic alone; a test compares them).
pub const CHATBOT_ACTIONS: &[&str] = &["sns:Publish"];

/// Task definitions read through ECS.
#[derive(Debug, Clone)]
pub struct EcsTaskDefinitions {
    client: aws_sdk_ecs::Client,
}

impl EcsTaskDefinitions {
    pub fn new(client: aws_sdk_ecs::Client) -> Self {
        EcsTaskDefinitions { client }
    }
}

#[async_trait]
impl TaskDefinitions for EcsTaskDefinitions {
    async fn describe(&self, task_definition: &str) -> Result<Option<TaskDefinition>, AwsError> {
        let out = self
            .client
            .describe_task_definition()
            .task_definition(task_definition)
            .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| classify("DescribeTaskDefinition", &e))?;
        Ok(described_task_definition(&out))
    }
}

/// The definition of a `DescribeTaskDefinition` asked to `include` `TAGS`,
/// with its tags (which come beside the definition, not in it).
pub(crate) fn described_task_definition(
    out: &aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput,
) -> Option<TaskDefinition> {
    let tags = out
        .tags()
        .iter()
        .map(|t| crate::model::td::Tag {
            key: t.key().unwrap_or_default().to_string(),
            value: t.value().unwrap_or_default().to_string(),
        })
        .collect();
    out.task_definition().map(|td| TaskDefinition {
        tags: Some(tags),
        ..task_definition_of(td)
    })
}

/// The SDK's task definition as the rules see it. Its tags are unknown
/// (`None`): they come beside it; see [`described_task_definition`].
pub(crate) fn task_definition_of(td: &aws_sdk_ecs::types::TaskDefinition) -> TaskDefinition {
    use crate::model::td::{Container, EnvVar, MountPoint, PortMapping, Volume};
    let containers = td
        .container_definitions()
        .iter()
        .map(|c| {
            let linux = c.linux_parameters();
            Container {
                name: c.name().unwrap_or("(unnamed)").to_string(),
                image: c.image().map(str::to_string),
                privileged: c.privileged().unwrap_or(false),
                readonly_root_filesystem: c.readonly_root_filesystem().unwrap_or(false),
                user: c.user().map(str::to_string),
                environment: c
                    .environment()
                    .iter()
                    .map(|e| EnvVar {
                        name: e.name().unwrap_or_default().to_string(),
                        value: e.value().unwrap_or_default().to_string(),
                    })
                    .collect(),
                has_log_configuration: c.log_configuration().is_some(),
                log_mode: c
                    .log_configuration()
                    .and_then(|l| l.options())
                    .and_then(|o| o.get("mode"))
                    .cloned(),
                memory: c.memory().map(i64::from),
                memory_reservation: c.memory_reservation().map(i64::from),
                capabilities_add: linux
                    .and_then(|l| l.capabilities())
                    .map(|caps| caps.add().to_vec())
                    .unwrap_or_default(),
                capabilities_drop: linux
                    .and_then(|l| l.capabilities())
                    .map(|caps| caps.drop().to_vec())
                    .unwrap_or_default(),
                devices: linux
                    .map(|l| {
                        l.devices()
                            .iter()
                            .map(|d| d.host_path().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
                mount_points: c
                    .mount_points()
                    .iter()
                    .map(|m| MountPoint {
                        source_volume: m.source_volume().unwrap_or_default().to_string(),
                        container_path: m.container_path().map(str::to_string),
                        read_only: m.read_only().unwrap_or(false),
                    })
                    .collect(),
                docker_security_options: c.docker_security_options().to_vec(),
                port_mappings: c
                    .port_mappings()
                    .iter()
                    .map(|p| PortMapping {
                        container_port: p.container_port().map(i64::from),
                        host_port: p.host_port().map(i64::from),
                        container_port_range: p.container_port_range().map(str::to_string),
                        protocol: p.protocol().map(|p| p.as_str().to_string()),
                    })
                    .collect(),
            }
        })
        .collect();
    TaskDefinition {
        family: td.family().unwrap_or_default().to_string(),
        revision: Some(i64::from(td.revision())),
        network_mode: td.network_mode().map(|m| m.as_str().to_string()),
        pid_mode: td.pid_mode().map(|m| m.as_str().to_string()),
        ipc_mode: td.ipc_mode().map(|m| m.as_str().to_string()),
        task_role_arn: td.task_role_arn().map(str::to_string),
        execution_role_arn: td.execution_role_arn().map(str::to_string),
        os_family: td
            .runtime_platform()
            .and_then(|p| p.operating_system_family())
            .map(|f| f.as_str().to_string()),
        memory: td
            .memory()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        tags: None,
        containers,
        volumes: td
            .volumes()
            .iter()
            .map(|v| {
                let host = v.host().and_then(|h| h.source_path()).map(str::to_string);
                let bind = v.docker_volume_configuration().and_then(|d| {
                    let option =
                        |key: &str| d.driver_opts().and_then(|o| o.get(key)).map(String::as_str);
                    crate::model::td::docker_bind_source(d.driver(), option("o"), option("device"))
                });
                Volume {
                    name: v.name().unwrap_or_default().to_string(),
                    docker_bind: host.is_none() && bind.is_some(),
                    host_source_path: host.or(bind),
                    efs_transit_encryption: v.efs_volume_configuration().map(|e| {
                        e.transit_encryption()
                            .map_or("DISABLED".to_string(), |t| t.as_str().to_string())
                    }),
                }
            })
            .collect(),
    }
}

/// `DescribeClusters` with settings, configuration and tags.
#[derive(Debug, Clone)]
pub struct EcsClusters {
    client: aws_sdk_ecs::Client,
}

impl EcsClusters {
    pub fn new(client: aws_sdk_ecs::Client) -> Self {
        EcsClusters { client }
    }
}

#[async_trait]
impl crate::ports::Clusters for EcsClusters {
    async fn describe(&self, cluster: &str) -> Result<Option<ClusterSettings>, AwsError> {
        use aws_sdk_ecs::types::ClusterField;
        let out = self
            .client
            .describe_clusters()
            .clusters(cluster)
            .include(ClusterField::Settings)
            .include(ClusterField::Configurations)
            .include(ClusterField::Tags)
            .send()
            .await
            .map_err(|e| classify("DescribeClusters", &e))?;
        Ok(out
            .clusters()
            .iter()
            .find(|c| c.status() != Some("INACTIVE"))
            .map(cluster_settings_of))
    }
}

/// The model's view of a cluster as `DescribeClusters` returns it.
pub fn cluster_settings_of(cluster: &aws_sdk_ecs::types::Cluster) -> ClusterSettings {
    let container_insights = cluster
        .settings()
        .iter()
        .find(|s| s.name().map(|n| n.as_str()) == Some(crate::model::cl::CONTAINER_INSIGHTS))
        .and_then(|s| s.value())
        .map(str::to_string);
    let exec = cluster
        .configuration()
        .and_then(|c| c.execute_command_configuration())
        .map(|e| {
            let logs = e.log_configuration();
            ExecConfiguration {
                logging: e.logging().map(|l| l.as_str().to_string()),
                kms_key_id: e.kms_key_id().map(str::to_string),
                log_group: logs
                    .and_then(|l| l.cloud_watch_log_group_name())
                    .map(str::to_string),
                s3_bucket: logs.and_then(|l| l.s3_bucket_name()).map(str::to_string),
            }
        })
        .unwrap_or_default();
    ClusterSettings {
        container_insights,
        exec: Some(exec),
        tags: Some(
            cluster
                .tags()
                .iter()
                .filter_map(|t| t.key().map(str::to_string))
                .collect(),
        ),
    }
}

/// Connect, per-attempt and whole-operation timeouts, in seconds.
pub fn timeouts(connect: u64, attempt: u64, operation: u64) -> aws_config::timeout::TimeoutConfig {
    use std::time::Duration;
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(connect))
        .operation_attempt_timeout(Duration::from_secs(attempt))
        .operation_timeout(Duration::from_secs(operation))
        .build()
}

/// Timeouts of every AWS call the functions make: a hung endpoint fails the
/// invocation well inside the function's timeout (30 s in the module) instead of
/// consuming it, and Lambda retries the event.
pub fn guard_timeouts() -> aws_config::timeout::TimeoutConfig {
    timeouts(3, 5, 12)
}

/// Timeouts of the sweep's calls: a page of a thousand rules takes longer
/// than a guard's single lookups, and a sweep has minutes, not seconds.
pub fn sweep_timeouts() -> aws_config::timeout::TimeoutConfig {
    timeouts(3, 30, 90)
}

/// Timeouts of the optional sinks' calls (DESIGN §13): shorter than the
/// guards', so that a slow Security Hub or chat topic, after the SNS alert
/// went out, cannot push an invocation past its timeout (which would fail
/// it, and Lambda's retry would alert twice).
pub fn sink_timeouts() -> aws_config::timeout::TimeoutConfig {
    timeouts(2, 3, 4)
}

/// The SDK configuration of a guard function: the environment's credentials
/// and region, with [`guard_timeouts`].
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(guard_timeouts())
        .load()
        .await
}

/// The adapters a guard acts through in one place (account, region).
#[derive(Debug, Clone)]
pub struct PlaceClients {
    pub groups: Ec2SecurityGroups,
    pub remediator: Ec2Remediator,
    pub task_definitions: EcsTaskDefinitions,
    pub clusters: EcsClusters,
    pub iam: iam::IamClient,
    pub instances: instances::Ec2Instances,
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
            estate: estate::SdkEstate::new(
                ec2,
                ecs,
                aws_sdk_iam::Client::new(sdk),
                aws_sdk_autoscaling::Client::new(sdk),
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

/// A role of a member account, the way a function assumes it: a session
/// named after the function, STS in the function's home region, clients in
/// the place's region.
#[derive(Debug, Clone)]
struct AssumedRole {
    base: aws_config::SdkConfig,
    role_arn: String,
    session: String,
    home_region: String,
    region: String,
}

impl AssumedRole {
    /// The SDK configuration carrying the role's credentials. The role is
    /// assumed once here, so that a denied AssumeRole is an error with its
    /// code and the role's ARN, not a credentials failure at the first call.
    async fn config(&self) -> Result<aws_config::SdkConfig, AwsError> {
        aws_sdk_sts::Client::new(&self.base)
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session)
            .send()
            .await
            .map_err(|e| {
                let e = classify("AssumeRole", &e);
                AwsError {
                    message: format!("{}: {}", self.role_arn, e.message),
                    ..e
                }
            })?;
        // STS in the home region, as the check above: the event's region
        // may not be enabled for STS in the central account.
        let provider = aws_config::sts::AssumeRoleProvider::builder(&self.role_arn)
            .session_name(&self.session)
            .region(aws_config::Region::new(self.home_region.clone()))
            .configure(&self.base)
            .build()
            .await;
        Ok(self
            .base
            .to_builder()
            .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
                provider,
            ))
            .region(aws_config::Region::new(self.region.clone()))
            .build())
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

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::Failure;

    use super::ecs_failure;

    fn failure(arn: &str, reason: &str) -> Failure {
        Failure::builder().arn(arn).reason(reason).build()
    }

    #[test]
    fn only_a_failure_other_than_missing_leaves_a_describe_unread() {
        let gone = failure("arn:aws:ecs:eu-west-1:123456789012:cluster/old", "MISSING");
        assert!(ecs_failure("DescribeClusters", &[]).is_none());
        assert!(ecs_failure("DescribeClusters", std::slice::from_ref(&gone)).is_none());
        let denied = failure(
            "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
            "AccessDenied",
        );
        let e = ecs_failure("DescribeClusters", &[gone, denied]).expect("unread");
        assert_eq!(e.operation, "DescribeClusters");
        assert_eq!(e.code.as_deref(), Some("AccessDenied"));
        assert!(e.message.contains("cluster/prod"), "{}", e.message);
    }
}
