use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags every EFS volume whose `efsVolumeConfiguration.transitEncryption`
    /// is not `ENABLED` (absent means `DISABLED`, ECS's default).
    ///
    /// ## Why is this bad?
    /// Without transit encryption, NFS traffic between the task and the file
    /// system crosses the network in clear text: anyone who can observe it
    /// reads and can tamper with the files.
    ///
    /// ## Example
    /// `{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}`
    ///
    /// ## Fix
    /// Set `"transitEncryption": "ENABLED"` (and, ideally, IAM authorization
    /// through an access point).
    ///
    /// ## References
    /// Security Hub ECS.18.
    pub static EFS_TRANSIT_ENCRYPTION = {
        id: "ECS-TD-018",
        title: "EFS volume without transit encryption",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH ECS.18"],
        remediation: "Set `efsVolumeConfiguration.transitEncryption` to `ENABLED` on every EFS volume.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    td.volumes
        .iter()
        .filter_map(|v| {
            let mode = v.efs_transit_encryption.as_deref()?.trim();
            (!mode.eq_ignore_ascii_case("ENABLED")).then(|| {
                Hit::new(format!(
                    "volume {}: EFS transitEncryption {}",
                    v.name,
                    if mode.is_empty() { "DISABLED" } else { mode }
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::td::Volume;
    use crate::rules::ecs_td::test_support::{container, run, task};

    fn volume(name: &str, efs: Option<&str>) -> Volume {
        Volume {
            name: name.to_string(),
            host_source_path: None,
            docker_bind: false,
            efs_transit_encryption: efs.map(str::to_string),
        }
    }

    #[test]
    fn flags_what_it_should() {
        let mut td = task(vec![container("app")]);
        td.volumes = vec![volume("scratch", None), volume("data", Some("ENABLED"))];
        assert!(run(evaluate, &td).is_empty());
        td.volumes.push(volume("shared", Some("DISABLED")));
        td.volumes.push(volume("cache", Some("disabled")));
        td.volumes.push(volume("blank", Some(" ")));
        assert_eq!(
            run(evaluate, &td),
            [
                "volume shared: EFS transitEncryption DISABLED",
                "volume cache: EFS transitEncryption disabled",
                "volume blank: EFS transitEncryption DISABLED"
            ]
        );
    }

    #[test]
    fn an_efs_volume_without_the_setting_is_disabled() {
        let doc = serde_json::json!({"family": "web", "containerDefinitions": [],
            "volumes": [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}},
                        {"name": "safe", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "transitEncryption": "ENABLED"}}]});
        let td = TaskDefinition::from_json(&crate::model::json::Node::root(&doc, "")).unwrap();
        assert_eq!(
            run(evaluate, &td),
            ["volume data: EFS transitEncryption DISABLED"]
        );
    }
}
