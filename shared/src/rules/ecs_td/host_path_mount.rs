use super::normalize_path;
use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags containers that mount a volume whose host path — `host.sourcePath`,
    /// or the `device` of a `dockerVolumeConfiguration` with the `local` driver
    /// and bind options (`driverOpts.o` holding `bind`), the same mount spelled
    /// another way — (normalised:
    /// `..`, `.` and trailing slashes removed) is `/`, or is or lies under `/etc`,
    /// `/proc`, `/sys`, `/dev`, `/root`, `/boot`, `/var/lib/docker`,
    /// `/var/lib/ecs`, `/etc/ecs`, or the policy's
    /// `task_definition.extra_sensitive_host_paths`. The Docker socket
    /// (`/var/run/docker.sock`, `/run/docker.sock`, or the `/var/run` and `/run`
    /// folders holding it) is critical.
    ///
    /// ## Why is this bad?
    /// The Docker socket is root on the instance: whoever reaches it starts a
    /// privileged container. Host system paths expose credentials
    /// (`/etc/ecs/ecs.config`), kernel interfaces and other tasks' data.
    ///
    /// ## Example
    /// `"volumes": [{"name": "docker", "host": {"sourcePath":
    /// "/var/run/docker.sock"}}]` mounted by a container.
    ///
    /// ## Fix
    /// Remove the mount; for the Docker API use a purpose-built, read-only proxy,
    /// and for data use EFS or task storage.
    ///
    /// ## References
    /// CIS Docker Benchmark 5.6, 5.32 (docker.sock); beyond the AWS-native peers.
    pub static HOST_PATH_MOUNT = {
        id: "ECS-TD-013",
        title: "Sensitive host path mounted",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond (CIS Docker 5.6, 5.32)"],
        remediation: "Do not bind-mount host system paths; use task-scoped or EFS volumes.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// The Docker socket, and the folders that hold it.
const DOCKER_SOCKET: [&str; 4] = [
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run",
    "/run",
];

/// Host paths that must not be mounted (themselves or anything under them; `/` only itself).
const SENSITIVE: [&str; 9] = [
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/root",
    "/boot",
    "/var/lib/docker",
    "/var/lib/ecs",
    "/etc/ecs",
];

fn is_sensitive(path: &str, ctx: &TdContext) -> bool {
    let under = |base: &str| {
        let base = normalize_path(base);
        path == base || (base != "/" && path.starts_with(&format!("{base}/")))
    };
    path == "/"
        || SENSITIVE.iter().any(|b| under(b))
        || ctx
            .policy
            .extra_sensitive_host_paths
            .iter()
            .any(|b| under(b))
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, ctx: &TdContext) -> Vec<Hit> {
    let mut hits = Vec::new();
    for c in &td.containers {
        for m in &c.mount_points {
            let Some(volume) = td.volumes.iter().find(|v| v.name == m.source_volume) else {
                continue;
            };
            let Some(source) = volume.host_source_path.as_deref() else {
                continue;
            };
            let path = normalize_path(source);
            let at = m.container_path.as_deref().unwrap_or("?");
            let ro = if m.read_only { " read-only" } else { "" };
            let via = if volume.docker_bind {
                " (docker volume, local bind)"
            } else {
                ""
            };
            if DOCKER_SOCKET.contains(&path.as_str()) {
                hits.push(Hit {
                    fields: Default::default(),
                    detail: format!(
                        "container {}: mounts the Docker socket (host {path}{via}) at {at}{ro}",
                        c.name
                    ),
                    escalate_to: Some(Severity::Critical),
                    exactly: None,
                });
            } else if is_sensitive(&path, ctx) {
                hits.push(Hit::new(format!(
                    "container {}: mounts host {path}{via} at {at}{ro}",
                    c.name
                )));
            }
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::td::{MountPoint, Volume};
    use crate::policy::Policy;
    use crate::rules::ecs_td::test_support::{container, task};

    #[test]
    fn flags_what_it_should() {
        let mut c = container("app");
        c.mount_points = vec![
            MountPoint {
                source_volume: "sock".into(),
                container_path: Some("/var/run/docker.sock".into()),
                read_only: false,
            },
            MountPoint {
                source_volume: "etc".into(),
                container_path: Some("/host/etc".into()),
                read_only: true,
            },
            MountPoint {
                source_volume: "data".into(),
                container_path: Some("/data".into()),
                read_only: false,
            },
        ];
        let mut td = task(vec![c]);
        let vol = |name: &str, path: &str| Volume {
            name: name.into(),
            docker_bind: false,
            host_source_path: Some(path.into()),
            efs_transit_encryption: None,
        };
        td.volumes = vec![
            vol("sock", "/var/lib/../run/docker.sock/"),
            vol("etc", "/etc/ecs/"),
            vol("data", "/srv/app-data"),
        ];
        let policy = Policy::embedded();
        let hits = evaluate(
            &td,
            &TdContext {
                task_role: None,
                policy: &policy,
                account: "1",
            },
        );
        assert_eq!(hits.len(), 2, "{hits:?}");
        assert_eq!(hits[0].escalate_to, Some(Severity::Critical));
        assert_eq!(
            hits[1].detail,
            "container app: mounts host /etc/ecs at /host/etc read-only"
        );
    }

    #[test]
    fn a_docker_volume_bound_to_the_host_is_a_host_mount() {
        let doc = serde_json::json!({"family": "web", "containerDefinitions": [{"name": "app",
            "mountPoints": [{"sourceVolume": "sock", "containerPath": "/var/run/docker.sock"},
                            {"sourceVolume": "cache", "containerPath": "/cache"}]}],
            "volumes": [
                {"name": "sock", "dockerVolumeConfiguration": {"scope": "task", "driver": "local",
                    "driverOpts": {"type": "none", "o": "bind", "device": "/var/run/docker.sock"}}},
                {"name": "cache", "dockerVolumeConfiguration": {"scope": "shared", "driver": "local",
                    "driverOpts": {"type": "tmpfs", "device": "tmpfs", "o": "size=100m"}}}]});
        let td = TaskDefinition::from_json(&crate::model::json::Node::root(&doc, "")).unwrap();
        let policy = Policy::embedded();
        let hits = evaluate(
            &td,
            &TdContext {
                task_role: None,
                policy: &policy,
                account: "1",
            },
        );
        assert_eq!(hits.len(), 1, "the tmpfs volume is no host mount: {hits:?}");
        assert_eq!(hits[0].escalate_to, Some(Severity::Critical));
        assert!(
            hits[0].detail.contains("docker volume, local bind"),
            "{}",
            hits[0].detail
        );
        // Another driver's options are that driver's business, not a host path.
        assert_eq!(
            crate::model::td::docker_bind_source(Some("rexray/ebs"), Some("bind"), Some("/etc")),
            None
        );
        assert_eq!(
            crate::model::td::docker_bind_source(None, Some("rw,rbind"), Some("/etc")).as_deref(),
            Some("/etc")
        );
    }
}
