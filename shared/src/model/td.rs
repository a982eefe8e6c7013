//! Task definitions as `RegisterTaskDefinition` sends them (and
//! `DescribeTaskDefinition` returns them), reduced to what the rules judge.

use crate::model::event::Event;
use crate::model::json::{FieldError, Node};

pub const REGISTER_TASK_DEFINITION: &str = "RegisterTaskDefinition";

/// One `environment` entry. The value may be a secret: it is never printed
/// (see `secrets::redact`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// One `secrets` entry: the variable and where its value comes from
/// (`valueFrom`: a Secrets Manager or SSM parameter ARN or name; not the
/// secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub name: String,
    pub value_from: String,
}

/// A port mapping of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    pub container_port: Option<i64>,
    pub host_port: Option<i64>,
    /// `containerPortRange` (`"8000-8999"`), as written.
    pub container_port_range: Option<String>,
    pub protocol: Option<String>,
}

/// A mount of a task volume into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPoint {
    pub source_volume: String,
    pub container_path: Option<String>,
    pub read_only: bool,
}

/// One container of a task definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    pub image: Option<String>,
    pub privileged: bool,
    pub readonly_root_filesystem: bool,
    pub user: Option<String>,
    pub environment: Vec<EnvVar>,
    pub has_log_configuration: bool,
    /// `logConfiguration.options.mode` (`blocking`, `non-blocking`), as written.
    pub log_mode: Option<String>,
    /// `memory` (MiB): the hard limit.
    pub memory: Option<i64>,
    /// `memoryReservation` (MiB): the soft limit.
    pub memory_reservation: Option<i64>,
    pub capabilities_add: Vec<String>,
    /// `linuxParameters.capabilities.drop`, as written.
    pub capabilities_drop: Vec<String>,
    /// `linuxParameters.devices[].hostPath`.
    pub devices: Vec<String>,
    pub mount_points: Vec<MountPoint>,
    pub docker_security_options: Vec<String>,
    pub port_mappings: Vec<PortMapping>,
    /// `secrets`: what the container is given from Secrets Manager or SSM.
    pub secrets: Vec<SecretRef>,
}

/// A tag of the task definition (`tags: [{key, value}]`); keys are case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A task volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    /// The instance path the volume binds: `host.sourcePath`, or the
    /// `device` of a `dockerVolumeConfiguration` bind (see [`docker_bind_source`]).
    pub host_source_path: Option<String>,
    /// True when that path comes from a `dockerVolumeConfiguration` bind.
    pub docker_bind: bool,
    /// `efsVolumeConfiguration.transitEncryption`, when the volume is EFS.
    pub efs_transit_encryption: Option<String>,
}

/// The parts of a task definition the rules judge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskDefinition {
    pub family: String,
    /// `family:revision` when known (from the response or DescribeTaskDefinition).
    pub revision: Option<i64>,
    pub network_mode: Option<String>,
    pub pid_mode: Option<String>,
    pub ipc_mode: Option<String>,
    pub task_role_arn: Option<String>,
    pub execution_role_arn: Option<String>,
    /// `runtimePlatform.operatingSystemFamily` (`LINUX`, `WINDOWS_SERVER_2022_CORE`, …).
    pub os_family: Option<String>,
    /// Task-level `memory`: MiB (`"1024"`, `1024`) or GB (`"1 GB"`), as written.
    pub memory: Option<String>,
    /// The definition's tags; `None` when not known (a response or a
    /// `DescribeTaskDefinition` that did not carry them), never "no tags".
    pub tags: Option<Vec<Tag>>,
    pub containers: Vec<Container>,
    pub volumes: Vec<Volume>,
}

impl TaskDefinition {
    /// `family:revision`, or the family alone.
    pub fn label(&self) -> String {
        match self.revision {
            Some(r) => format!("{}:{r}", self.family),
            None => self.family.clone(),
        }
    }

    /// Windows containers have no Linux user, capabilities or namespaces.
    pub fn is_windows(&self) -> bool {
        self.os_family
            .as_deref()
            .is_some_and(|os| os.to_ascii_uppercase().starts_with("WINDOWS"))
    }

    /// The network mode, `bridge` when absent (the EC2 launch type's default).
    pub fn network_mode(&self) -> &str {
        self.network_mode.as_deref().unwrap_or("bridge")
    }

    /// Reads a task definition from its JSON (request or `DescribeTaskDefinition` shape).
    pub fn from_json(node: &Node<'_>) -> Result<TaskDefinition, FieldError> {
        let str_of = |key: &str| -> Result<Option<String>, FieldError> {
            Ok(node.get(key).str()?.map(str::to_string))
        };
        let containers_node = node.get("containerDefinitions");
        if containers_node.is_omitted() || !containers_node.is_present() {
            return Err(containers_node.error("missing or omitted by CloudTrail"));
        }
        let mut containers = Vec::new();
        for c in containers_node.items()? {
            containers.push(container(&c)?);
        }
        let mut volumes = Vec::new();
        for v in node.get("volumes").items()? {
            let efs = v.get("efsVolumeConfiguration");
            let docker = v.get("dockerVolumeConfiguration");
            let options = docker.get("driverOpts");
            let bind = if docker.is_present() {
                docker_bind_source(
                    docker.get("driver").str()?,
                    options.get("o").str()?,
                    options.get("device").str()?,
                )
            } else {
                None
            };
            let host = v.get("host").get("sourcePath").str()?.map(str::to_string);
            volumes.push(Volume {
                name: v.get("name").str()?.unwrap_or_default().to_string(),
                docker_bind: host.is_none() && bind.is_some(),
                host_source_path: host.or(bind),
                efs_transit_encryption: if efs.is_present() {
                    Some(
                        efs.get("transitEncryption")
                            .str()?
                            .unwrap_or("DISABLED")
                            .to_string(),
                    )
                } else {
                    None
                },
            });
        }
        Ok(TaskDefinition {
            family: str_of("family")?.unwrap_or_default(),
            revision: node.get("revision").int()?,
            network_mode: str_of("networkMode")?,
            pid_mode: str_of("pidMode")?,
            ipc_mode: str_of("ipcMode")?,
            task_role_arn: str_of("taskRoleArn")?,
            execution_role_arn: str_of("executionRoleArn")?,
            os_family: node
                .get("runtimePlatform")
                .get("operatingSystemFamily")
                .str()?
                .map(str::to_string),
            memory: memory_of(&node.get("memory"))?,
            tags: tags_of(&node.get("tags"))?,
            containers,
            volumes,
        })
    }

    /// The definition an event registered: from `requestParameters`, or the
    /// response's `taskDefinition` when CloudTrail omitted the request.
    /// `Ok(None)` when neither is complete: the caller must read it from ECS.
    pub fn from_event(event: &Event) -> Result<Option<TaskDefinition>, FieldError> {
        let response = event.response().get("taskDefinition");
        let request = event.request();
        let complete = |n: &Node<'_>| {
            n.is_present() && !n.is_omitted() && {
                let c = n.get("containerDefinitions");
                c.is_present() && !c.is_omitted()
            }
        };
        let (mut td, from_request) = if complete(&request) {
            (TaskDefinition::from_json(&request)?, true)
        } else if complete(&response) {
            (TaskDefinition::from_json(&response)?, false)
        } else {
            return Ok(None);
        };
        if td.revision.is_none() {
            td.revision = response.get("revision").int()?;
        }
        // Tags travel beside the definition in the response
        // (`responseElements.tags`); a request as sent without `tags` has none.
        if td.tags.is_none() {
            td.tags = match tags_of(&event.response().get("tags"))? {
                Some(tags) => Some(tags),
                None if from_request && !request.get("tags").is_omitted() => Some(Vec::new()),
                None => None,
            };
        }
        Ok(Some(td))
    }

    /// The ARN the response gives the registered revision.
    pub fn arn_in(event: &Event) -> Option<String> {
        event
            .response()
            .get("taskDefinition")
            .get("taskDefinitionArn")
            .str()
            .ok()
            .flatten()
            .map(str::to_string)
    }
}

/// Task-level `memory`, a number or a string (`"1024"`, `"1 GB"`); blank is absent.
fn memory_of(node: &Node<'_>) -> Result<Option<String>, FieldError> {
    match node.value() {
        None => Ok(None),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(other) => Err(node.error(format!(
            "expected a number or a string, found {}",
            crate::model::json::kind(other)
        ))),
    }
}

/// `tags: [{key, value}]`; `None` when absent or omitted by CloudTrail.
fn tags_of(node: &Node<'_>) -> Result<Option<Vec<Tag>>, FieldError> {
    if !node.is_present() || node.is_omitted() {
        return Ok(None);
    }
    let mut tags = Vec::new();
    for t in node.items()? {
        tags.push(Tag {
            key: t.get("key").required_str()?.to_string(),
            value: t.get("value").str()?.unwrap_or_default().to_string(),
        });
    }
    Ok(Some(tags))
}

/// The host path a Docker volume binds: the `local` driver (the default)
/// with `o` holding `bind` (or `rbind`) and `device` an absolute path, which
/// is a host mount however it is spelled.
pub fn docker_bind_source(
    driver: Option<&str>,
    o: Option<&str>,
    device: Option<&str>,
) -> Option<String> {
    let local = driver.is_none_or(|d| d.trim().eq_ignore_ascii_case("local"));
    let binds = o.is_some_and(|o| {
        o.split(',')
            .any(|opt| matches!(opt.trim(), "bind" | "rbind"))
    });
    let device = device.map(str::trim).filter(|d| d.starts_with('/'))?;
    (local && binds).then(|| device.to_string())
}

/// An image reference, parsed the way Docker resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (`docker.io` when the reference names none).
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    pub fn parse(image: &str) -> ImageRef {
        let image = image.trim();
        let (name, digest) = match image.split_once('@') {
            Some((n, d)) => (n, Some(d.to_string())),
            None => (image, None),
        };
        // The first component is a registry when it looks like a host.
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_ascii_lowercase(), rest)
            }
            _ => ("docker.io".to_string(), name),
        };
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), Some(tag.to_string())),
            _ => (path.to_string(), None),
        };
        let repository = if registry == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        ImageRef {
            registry,
            repository,
            tag,
            digest,
        }
    }

    /// Pinned by a `sha256:` digest of 64 hex digits.
    pub fn is_pinned(&self) -> bool {
        self.digest.as_deref().is_some_and(|d| {
            d.strip_prefix("sha256:")
                .is_some_and(|h| h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()))
        })
    }

    /// A private ECR registry of this account, in any region.
    pub fn is_ecr_of(&self, account: &str) -> bool {
        let mut parts = self.registry.splitn(4, '.');
        let (Some(id), Some("dkr"), Some("ecr"), Some(rest)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        id == account && (rest.ends_with(".amazonaws.com") || rest.ends_with(".amazonaws.com.cn"))
    }
}

fn container(c: &Node<'_>) -> Result<Container, FieldError> {
    let strings = |n: Node<'_>| -> Result<Vec<String>, FieldError> {
        n.items()?
            .iter()
            .map(|i| i.required_str().map(str::to_string))
            .collect()
    };
    let mut environment = Vec::new();
    for e in c.get("environment").items()? {
        environment.push(EnvVar {
            name: e.get("name").str()?.unwrap_or_default().to_string(),
            value: e.get("value").str()?.unwrap_or_default().to_string(),
        });
    }
    let linux = c.get("linuxParameters");
    let log = c.get("logConfiguration");
    let log_options = log.get("options");
    log_options.object()?;
    let mut devices = Vec::new();
    for d in linux.get("devices").items()? {
        devices.push(d.get("hostPath").required_str()?.to_string());
    }
    let mut mount_points = Vec::new();
    for m in c.get("mountPoints").items()? {
        mount_points.push(MountPoint {
            source_volume: m.get("sourceVolume").str()?.unwrap_or_default().to_string(),
            container_path: m.get("containerPath").str()?.map(str::to_string),
            read_only: m.get("readOnly").bool()?.unwrap_or(false),
        });
    }
    let mut secrets = Vec::new();
    for s in c.get("secrets").items()? {
        secrets.push(SecretRef {
            name: s.get("name").str()?.unwrap_or_default().to_string(),
            value_from: s.get("valueFrom").required_str()?.to_string(),
        });
    }
    let mut port_mappings = Vec::new();
    for p in c.get("portMappings").items()? {
        port_mappings.push(PortMapping {
            container_port: p.get("containerPort").port()?,
            host_port: p.get("hostPort").port()?,
            container_port_range: p.get("containerPortRange").str()?.map(str::to_string),
            protocol: p.get("protocol").str()?.map(str::to_string),
        });
    }
    Ok(Container {
        name: c.get("name").str()?.unwrap_or("(unnamed)").to_string(),
        image: c.get("image").str()?.map(str::to_string),
        privileged: c.get("privileged").bool()?.unwrap_or(false),
        readonly_root_filesystem: c.get("readonlyRootFilesystem").bool()?.unwrap_or(false),
        user: c.get("user").str()?.map(str::to_string),
        environment,
        has_log_configuration: log.object()?.is_some(),
        log_mode: log_options.get("mode").str()?.map(str::to_string),
        memory: c.get("memory").int()?,
        memory_reservation: c.get("memoryReservation").int()?,
        capabilities_add: strings(linux.get("capabilities").get("add"))?,
        capabilities_drop: strings(linux.get("capabilities").get("drop"))?,
        devices,
        mount_points,
        docker_security_options: strings(c.get("dockerSecurityOptions"))?,
        port_mappings,
        secrets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_request() {
        let doc = json!({"family": "web", "networkMode": "awsvpc", "containerDefinitions": [
            {"name": "app", "image": "nginx", "privileged": true, "user": "0:0",
             "environment": [{"name": "A", "value": "b"}],
             "linuxParameters": {"capabilities": {"add": ["SYS_ADMIN"]}, "devices": [{"hostPath": "/dev/fuse"}]},
             "portMappings": [{"containerPort": "80", "hostPort": 80}]}],
            "volumes": [{"name": "docker", "host": {"sourcePath": "/var/run/docker.sock"}},
                        {"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]});
        let td = TaskDefinition::from_json(&Node::root(&doc, "requestParameters")).unwrap();
        let c = &td.containers[0];
        assert!(c.privileged && !c.readonly_root_filesystem && !c.has_log_configuration);
        assert_eq!(c.capabilities_add, vec!["SYS_ADMIN"]);
        assert_eq!(c.port_mappings[0].container_port, Some(80));
        assert_eq!(
            td.volumes[1].efs_transit_encryption.as_deref(),
            Some("DISABLED")
        );
    }

    #[test]
    fn reads_limits_capabilities_log_mode_and_tags() {
        let doc = json!({"family": "web", "memory": "1 GB", "tags": [{"key": "team", "value": "web"}],
            "containerDefinitions": [
            {"name": "app", "memory": "512", "memoryReservation": 256,
             "linuxParameters": {"capabilities": {"drop": ["ALL"]}},
             "logConfiguration": {"logDriver": "awslogs", "options": {"mode": "non-blocking"}}},
            {"name": "bare"}]});
        let td = TaskDefinition::from_json(&Node::root(&doc, "requestParameters")).unwrap();
        assert_eq!(td.memory.as_deref(), Some("1 GB"));
        assert_eq!(
            td.tags,
            Some(vec![Tag {
                key: "team".into(),
                value: "web".into()
            }])
        );
        let (app, bare) = (&td.containers[0], &td.containers[1]);
        assert_eq!((app.memory, app.memory_reservation), (Some(512), Some(256)));
        assert_eq!(app.capabilities_drop, vec!["ALL"]);
        assert_eq!(app.log_mode.as_deref(), Some("non-blocking"));
        assert_eq!((bare.memory, bare.memory_reservation), (None, None));
        assert!(bare.capabilities_drop.is_empty() && bare.log_mode.is_none());
        let doc = json!({"family": "web", "memory": 2048, "containerDefinitions": []});
        let td = TaskDefinition::from_json(&Node::root(&doc, "r")).unwrap();
        assert_eq!((td.memory.as_deref(), td.tags), (Some("2048"), None));
        for (doc, path) in [
            (
                json!({"containerDefinitions": [{"name": "a", "memory": "lots"}]}),
                "r.containerDefinitions[0].memory",
            ),
            (
                json!({"containerDefinitions": [{"name": "a", "logConfiguration": {"options": {"mode": 1}}}]}),
                "r.containerDefinitions[0].logConfiguration.options.mode",
            ),
            (
                json!({"containerDefinitions": [{"name": "a", "logConfiguration": {"options": "x"}}]}),
                "r.containerDefinitions[0].logConfiguration.options",
            ),
            (
                json!({"containerDefinitions": [{"name": "a", "linuxParameters": {"capabilities": {"drop": "ALL"}}}]}),
                "r.containerDefinitions[0].linuxParameters.capabilities.drop",
            ),
            (
                json!({"memory": true, "containerDefinitions": []}),
                "r.memory",
            ),
            (
                json!({"tags": [{"value": "x"}], "containerDefinitions": []}),
                "r.tags[0].key",
            ),
        ] {
            let err = TaskDefinition::from_json(&Node::root(&doc, "r")).unwrap_err();
            assert_eq!(err.path, path);
        }
    }

    #[test]
    fn tags_come_from_the_request_or_beside_the_response_else_unknown() {
        let record = |request: serde_json::Value, response: serde_json::Value| {
            let record = json!({"eventID": "e", "eventName": "RegisterTaskDefinition",
                "requestParameters": request, "responseElements": response});
            let event = Event::from_value(&record, "t").unwrap();
            TaskDefinition::from_event(&event).unwrap().unwrap().tags
        };
        let td = json!({"family": "web", "containerDefinitions": [{"name": "a"}]});
        // A request as sent without tags has none.
        assert_eq!(record(td.clone(), json!({})), Some(vec![]));
        let tagged = json!({"family": "web", "tags": [{"key": "team", "value": "web"}],
            "containerDefinitions": [{"name": "a"}]});
        assert_eq!(record(tagged, json!({})).unwrap()[0].key, "team");
        // Only the response: its tags beside the definition, or unknown.
        let omitted = json!({"omitted": true});
        assert_eq!(
            record(
                omitted.clone(),
                json!({"taskDefinition": td, "tags": [{"key": "owner", "value": "x"}]})
            )
            .unwrap()[0]
                .key,
            "owner"
        );
        assert_eq!(record(omitted, json!({"taskDefinition": td})), None);
        // Tags CloudTrail omitted from the request are unknown, not absent.
        let mut cut = td.clone();
        cut["tags"] = json!({"omitted": true});
        assert_eq!(record(cut, json!({})), None);
    }

    #[test]
    fn image_references() {
        let i = ImageRef::parse("nginx");
        assert_eq!(
            (i.registry.as_str(), i.repository.as_str(), i.tag.as_deref()),
            ("docker.io", "library/nginx", None)
        );
        let i = ImageRef::parse("registry.local:5000/team/app:1.2");
        assert_eq!(
            (i.registry.as_str(), i.repository.as_str(), i.tag.as_deref()),
            ("registry.local:5000", "team/app", Some("1.2"))
        );
        let i = ImageRef::parse(
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:"
                .to_string()
                .as_str(),
        );
        assert!(i.is_ecr_of("111122223333") && !i.is_ecr_of("999999999999") && !i.is_pinned());
        let pinned = format!("public.ecr.aws/nginx/nginx@sha256:{}", "0f".repeat(32));
        let i = ImageRef::parse(&pinned);
        assert!(i.is_pinned() && i.registry == "public.ecr.aws");
    }

    #[test]
    fn errors_name_the_field_and_omitted_is_not_clean() {
        let doc = json!({"family": "web", "containerDefinitions": [{"name": "a", "privileged": "maybe"}]});
        let err = TaskDefinition::from_json(&Node::root(&doc, "requestParameters")).unwrap_err();
        assert_eq!(
            err.path,
            "requestParameters.containerDefinitions[0].privileged"
        );
        let doc = json!({"family": "web", "containerDefinitions": {"omitted": true}});
        assert!(TaskDefinition::from_json(&Node::root(&doc, "requestParameters")).is_err());
    }
}
