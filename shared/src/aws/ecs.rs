//! ECS adapters: task definitions and clusters, translated into the model.

use super::classify;
use async_trait::async_trait;

use crate::model::cl::{ClusterSettings, ExecConfiguration};
use crate::model::td::TaskDefinition;
use crate::ports::{AwsError, TaskDefinitions};

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
                secrets: c
                    .secrets()
                    .iter()
                    .map(|s| crate::model::td::SecretRef {
                        name: s.name().to_string(),
                        value_from: s.value_from().to_string(),
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
