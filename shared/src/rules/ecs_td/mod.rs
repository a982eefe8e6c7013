//! Rules about task definitions (ECS-TD-*), judged at `RegisterTaskDefinition`.

pub mod aws_credentials_in_env;
pub mod blocking_log_mode;
pub mod capabilities_not_dropped;
pub mod dangerous_capability;
pub mod efs_transit_encryption;
pub mod host_device;
pub mod host_ipc;
pub mod host_network;
pub mod host_path_mount;
pub mod host_pid;
pub mod isolation_weakened;
pub mod mutable_image;
pub mod no_log_configuration;
pub mod no_memory_limit;
pub mod not_awsvpc;
pub mod privileged;
pub mod required_tags;
pub mod risky_port_mapping;
pub mod root_user;
pub mod secret_name_literal;
pub mod secret_value_in_env;
pub mod task_role_admin;
pub mod task_role_is_execution_role;
pub mod untrusted_registry;
pub mod windows_container_administrator;
pub mod writable_root_filesystem;

use crate::finding::Severity;
use crate::model::td::{Container, EnvVar};
use crate::policy::Policy;
use crate::secrets;

/// What a task-definition rule sees besides the definition.
pub struct TdContext<'a> {
    pub policy: &'a Policy,
    /// The account that registered the definition (its own ECR is trusted).
    pub account: &'a str,
    /// What the Lambda read of the task role (ECS-TD-021); `None` offline
    /// or without a task role: not judged.
    pub task_role: Option<&'a TaskRoleAccess>,
}

/// The task role as the Lambda read it (ECS-TD-021).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRoleAccess {
    /// The role's ARN as the definition names it.
    pub role: String,
    /// What it grants that is admin-level or wildcard (one line each), or
    /// why it could not be read (the AWS error code, "not found").
    pub findings: Result<Vec<String>, String>,
}

/// One broken rule: what broke it, and a severity above the rule's own when
/// the case is worse than usual (docker.sock, host network with root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub detail: String,
    /// What the hit is about, field by field (the container is also read
    /// from a `container <name>: …` detail).
    pub fields: crate::finding::Fields,
    pub escalate_to: Option<Severity>,
    /// This severity whatever the policy says: a documentation example
    /// key is reported at info, not as a leak.
    pub exactly: Option<Severity>,
}

impl Hit {
    pub fn new(detail: impl Into<String>) -> Hit {
        Hit {
            detail: detail.into(),
            fields: crate::finding::Fields::default(),
            escalate_to: None,
            exactly: None,
        }
    }

    /// The environment variable it is about, with its redacted value.
    pub fn with_variable(mut self, name: &str, redacted: String) -> Hit {
        self.fields.variable = Some(name.to_string());
        self.fields.value = Some(redacted);
        self
    }

    /// A hit reported at `severity` exactly.
    pub fn at(severity: Severity, detail: impl Into<String>) -> Hit {
        Hit {
            exactly: Some(severity),
            ..Hit::new(detail)
        }
    }
}

/// Variables that hold AWS credentials by name (ECS-TD-007).
pub const AWS_CREDENTIAL_NAMES: [&str; 4] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "ECS_ENGINE_AUTH_DATA",
];

pub(crate) fn is_aws_credential_name(name: &str) -> bool {
    AWS_CREDENTIAL_NAMES
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name.trim()))
}

/// True when any variable of the container holds an AWS access key id.
pub(crate) fn holds_access_key(container: &Container) -> bool {
    container
        .environment
        .iter()
        .any(|e| secrets::is_access_key_id(&e.value))
}

/// What ECS-TD-008 sees in a variable, unless another rule already owns it.
pub(crate) fn secret_value(
    var: &EnvVar,
    container: &Container,
    policy: &Policy,
) -> Option<secrets::SecretKind> {
    if is_aws_credential_name(&var.name) || is_allowed(var, policy) {
        return None;
    }
    secrets::detect(&var.value, holds_access_key(container))
}

pub(crate) fn is_allowed(var: &EnvVar, policy: &Policy) -> bool {
    policy
        .allowed_env_names
        .iter()
        .any(|n| n.eq_ignore_ascii_case(&var.name))
}

/// `root`, `0`, `0:0`, `root:root`, `0:1000` and an absent user run as root;
/// `1000`, `1000:1000` and `app` do not.
pub fn is_root_user(user: Option<&str>) -> bool {
    match user.map(str::trim) {
        None | Some("") => true,
        Some(u) => {
            let who = u.split(':').next().unwrap_or(u);
            who == "0" || who.eq_ignore_ascii_case("root")
        }
    }
}

/// Normalises an absolute host path: no `.`/`..` segments, no doubled or trailing slash.
pub fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::TdContext;
    use crate::model::td::{Container, EnvVar, TaskDefinition};
    use crate::policy::Policy;

    pub fn container(name: &str) -> Container {
        Container {
            name: name.to_string(),
            image: Some(
                "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:".to_string()
                    + &"a".repeat(64),
            ),
            readonly_root_filesystem: true,
            user: Some("1000".to_string()),
            has_log_configuration: true,
            log_mode: Some("non-blocking".to_string()),
            memory: Some(512),
            capabilities_drop: vec!["ALL".to_string()],
            ..Container::default()
        }
    }

    pub fn env(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.to_string(),
            value: value.to_string(),
        }
    }

    pub fn task(containers: Vec<Container>) -> TaskDefinition {
        TaskDefinition {
            family: "web".to_string(),
            network_mode: Some("awsvpc".to_string()),
            containers,
            ..TaskDefinition::default()
        }
    }

    pub fn run(
        check: fn(&TaskDefinition, &TdContext) -> Vec<super::Hit>,
        td: &TaskDefinition,
    ) -> Vec<String> {
        let policy = Policy::embedded();
        let ctx = TdContext {
            task_role: None,
            policy: &policy,
            account: "111122223333",
        };
        check(td, &ctx).into_iter().map(|h| h.detail).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_users() {
        for u in [
            None,
            Some("root"),
            Some("0"),
            Some("0:0"),
            Some("root:root"),
            Some("0:1000"),
            Some("ROOT"),
        ] {
            assert!(is_root_user(u), "{u:?}");
        }
        for u in ["1000", "1000:1000", "app", "nobody:0"] {
            assert!(!is_root_user(Some(u)), "{u}");
        }
    }

    #[test]
    fn paths_are_normalised() {
        assert_eq!(
            normalize_path("/var/run/docker.sock/"),
            "/var/run/docker.sock"
        );
        assert_eq!(
            normalize_path("/var/lib/../run//./docker.sock"),
            "/var/run/docker.sock"
        );
        assert_eq!(normalize_path("/etc/.."), "/");
        assert_eq!(normalize_path("/"), "/");
    }
}
