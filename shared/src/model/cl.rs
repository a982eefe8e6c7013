//! Cluster-level records of ECS: clusters (`CreateCluster`, `UpdateCluster`,
//! `UpdateClusterSettings`), account settings (`PutAccountSetting`,
//! `PutAccountSettingDefault`) and capacity providers
//! (`CreateCapacityProvider`, `UpdateCapacityProvider`). As with services,
//! request and response are both evidence: the response where it carries a
//! field, the request where it does not; in an update an absent field means
//! "unchanged", and a creation's request is whole (absent = ECS's default).

use crate::model::event::Event;
use crate::model::json::{FieldError, Node};

pub const CREATE_CLUSTER: &str = "CreateCluster";
pub const UPDATE_CLUSTER: &str = "UpdateCluster";
pub const UPDATE_CLUSTER_SETTINGS: &str = "UpdateClusterSettings";
pub const PUT_ACCOUNT_SETTING: &str = "PutAccountSetting";
pub const PUT_ACCOUNT_SETTING_DEFAULT: &str = "PutAccountSettingDefault";
pub const CREATE_CAPACITY_PROVIDER: &str = "CreateCapacityProvider";
pub const UPDATE_CAPACITY_PROVIDER: &str = "UpdateCapacityProvider";

/// The calls this module reads.
pub const EVENT_NAMES: [&str; 7] = [
    CREATE_CLUSTER,
    UPDATE_CLUSTER,
    UPDATE_CLUSTER_SETTINGS,
    PUT_ACCOUNT_SETTING,
    PUT_ACCOUNT_SETTING_DEFAULT,
    CREATE_CAPACITY_PROVIDER,
    UPDATE_CAPACITY_PROVIDER,
];

/// The account and cluster setting that turns Container Insights on.
pub const CONTAINER_INSIGHTS: &str = "containerInsights";

/// `configuration.executeCommandConfiguration` of a cluster: how ECS Exec
/// sessions are encrypted and logged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecConfiguration {
    /// `NONE`, `DEFAULT` (the task definition's awslogs) or `OVERRIDE`; absent
    /// means `DEFAULT`.
    pub logging: Option<String>,
    /// The customer key that encrypts the session's data channel.
    pub kms_key_id: Option<String>,
    /// `OVERRIDE`: where the session logs go.
    pub log_group: Option<String>,
    pub s3_bucket: Option<String>,
}

impl ExecConfiguration {
    /// True when sessions are not logged anywhere ECS knows of (`NONE`).
    pub fn logging_off(&self) -> bool {
        self.logging
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case("NONE"))
    }

    /// True when `OVERRIDE` names neither a log group nor a bucket.
    pub fn override_without_target(&self) -> bool {
        self.logging
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case("OVERRIDE"))
            && self.log_group.is_none()
            && self.s3_bucket.is_none()
    }

    /// What is wrong with it, for ECS-CL-002 and ECS-SVC-012: logging off
    /// (or an override without a target) and no KMS key.
    pub fn weaknesses(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.logging_off() {
            out.push("exec session logging NONE");
        } else if self.override_without_target() {
            out.push("exec session logging OVERRIDE without a log group or bucket");
        }
        if self
            .kms_key_id
            .as_deref()
            .is_none_or(|k| k.trim().is_empty())
        {
            out.push("exec sessions not encrypted with a KMS key");
        }
        out
    }
}

/// What a cluster call says about the cluster. Each field is `None` when the
/// source does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterSettings {
    /// `settings[name=containerInsights].value`: `enabled`, `enhanced`, `disabled`.
    pub container_insights: Option<String>,
    /// `configuration.executeCommandConfiguration`; `Some(default)` when a
    /// creation's request has none (ECS's default: DEFAULT logging, no key).
    pub exec: Option<ExecConfiguration>,
    /// The tag keys.
    pub tags: Option<Vec<String>>,
}

impl ClusterSettings {
    fn from_json(node: &Node<'_>, whole: bool) -> Result<ClusterSettings, FieldError> {
        let mut container_insights = None;
        for setting in node.get("settings").items()? {
            if setting.get("name").str()? == Some(CONTAINER_INSIGHTS) {
                container_insights = setting.get("value").str()?.map(str::to_string);
            }
        }
        let configuration = node.get("configuration");
        let exec = configuration.get("executeCommandConfiguration");
        for part in [&configuration, &exec] {
            if part.is_omitted() {
                return Err(part.error("omitted by CloudTrail"));
            }
        }
        let exec = if exec.is_present() {
            let logs = exec.get("logConfiguration");
            Some(ExecConfiguration {
                logging: exec.get("logging").str()?.map(str::to_string),
                kms_key_id: exec.get("kmsKeyId").str()?.map(str::to_string),
                log_group: logs
                    .get("cloudWatchLogGroupName")
                    .str()?
                    .map(str::to_string),
                s3_bucket: logs.get("s3BucketName").str()?.map(str::to_string),
            })
        } else if whole {
            Some(ExecConfiguration::default())
        } else {
            None
        };
        let tags = tag_keys(&node.get("tags"))?.or_else(|| whole.then(Vec::new));
        Ok(ClusterSettings {
            container_insights,
            exec,
            tags,
        })
    }

    /// Field by field: `self` where it says, else `other`.
    fn or(self, other: &ClusterSettings) -> ClusterSettings {
        ClusterSettings {
            container_insights: self
                .container_insights
                .or_else(|| other.container_insights.clone()),
            exec: self.exec.or_else(|| other.exec.clone()),
            tags: self.tags.or_else(|| other.tags.clone()),
        }
    }

    /// True when Container Insights is on (`enabled` or `enhanced`).
    pub fn insights_on(&self) -> Option<bool> {
        self.container_insights
            .as_deref()
            .map(|v| !v.eq_ignore_ascii_case("disabled"))
    }
}

/// The keys of an ECS tag list `[{key, value}]`; `None` when absent.
pub fn tag_keys(node: &Node<'_>) -> Result<Option<Vec<String>>, FieldError> {
    if !node.is_present() {
        return Ok(None);
    }
    node.items()?
        .iter()
        .map(|t| t.get("key").required_str().map(str::to_string))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// One cluster-level call. One is built per event (or per swept resource)
/// and dropped after judging: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterChange {
    /// CreateCluster, UpdateCluster, UpdateClusterSettings.
    Cluster {
        created: bool,
        cluster: String,
        /// What the request set.
        requested: ClusterSettings,
        /// The cluster after the call, as far as the record says.
        effective: ClusterSettings,
    },
    /// PutAccountSetting(Default).
    AccountSetting {
        /// PutAccountSettingDefault: the default for every principal.
        default: bool,
        name: String,
        value: String,
        /// The principal the setting is for (PutAccountSetting may name one).
        principal: Option<String>,
    },
    /// CreateCapacityProvider, UpdateCapacityProvider.
    CapacityProvider {
        created: bool,
        name: String,
        /// `autoScalingGroupProvider.managedTerminationProtection: ENABLED`;
        /// `None` when an update does not change it.
        termination_protection: Option<bool>,
        tags: Option<Vec<String>>,
    },
}

impl ClusterChange {
    /// Reads one of [`EVENT_NAMES`] from ECS; `Ok(None)` for anything else.
    pub fn from_event(event: &Event) -> Result<Option<ClusterChange>, FieldError> {
        if !EVENT_NAMES.contains(&event.name.as_str()) || !event.is_from("ecs") {
            return Ok(None);
        }
        let request = event.request();
        if request.is_omitted() || request.object()?.is_none() {
            return Err(request.error("missing or omitted by CloudTrail"));
        }
        let response = event.response();
        let name = event.name.as_str();
        Ok(Some(match name {
            CREATE_CLUSTER | UPDATE_CLUSTER | UPDATE_CLUSTER_SETTINGS => {
                let created = name == CREATE_CLUSTER;
                let after = response.get("cluster");
                let key = if created { "clusterName" } else { "cluster" };
                let cluster = request
                    .get(key)
                    .str()?
                    .or(after.get("clusterName").str()?)
                    .map_or("default".to_string(), last_segment);
                let requested = ClusterSettings::from_json(&request, created)?;
                let effective = if after.is_present() && !after.is_omitted() {
                    ClusterSettings::from_json(&after, false)?.or(&requested)
                } else {
                    requested.clone()
                };
                ClusterChange::Cluster {
                    created,
                    cluster,
                    requested,
                    effective,
                }
            }
            PUT_ACCOUNT_SETTING | PUT_ACCOUNT_SETTING_DEFAULT => {
                let setting = response.get("setting");
                let read = |key: &str| -> Result<Option<String>, FieldError> {
                    Ok(setting
                        .get(key)
                        .str()?
                        .or(request.get(key).str()?)
                        .map(str::to_string))
                };
                ClusterChange::AccountSetting {
                    default: name == PUT_ACCOUNT_SETTING_DEFAULT,
                    name: read("name")?.ok_or_else(|| request.get("name").error("missing"))?,
                    value: read("value")?.ok_or_else(|| request.get("value").error("missing"))?,
                    principal: read("principalArn")?,
                }
            }
            _ => {
                let created = name == CREATE_CAPACITY_PROVIDER;
                let after = response.get("capacityProvider");
                let provider = |node: &Node<'_>| -> Result<Option<bool>, FieldError> {
                    Ok(node
                        .get("autoScalingGroupProvider")
                        .get("managedTerminationProtection")
                        .str()?
                        .map(|v| v.eq_ignore_ascii_case("ENABLED")))
                };
                let termination_protection = if created {
                    // The response where it says; a creation's request is
                    // whole: absent is DISABLED.
                    provider(&after)?.or(provider(&request)?).or(Some(false))
                } else {
                    // An update is judged on what it set: its response
                    // always carries the field, unchanged or not.
                    provider(&request)?
                };
                let name = request
                    .get("name")
                    .str()?
                    .or(after.get("name").str()?)
                    .ok_or_else(|| request.get("name").error("missing"))?;
                ClusterChange::CapacityProvider {
                    created,
                    name: last_segment(name),
                    termination_protection,
                    tags: tag_keys(&request.get("tags"))?.or_else(|| created.then(Vec::new)),
                }
            }
        }))
    }

    /// What the call is about, for messages: the cluster, `account setting
    /// <name>`, `capacity provider <name>`.
    pub fn resource(&self) -> String {
        match self {
            ClusterChange::Cluster { cluster, .. } => cluster.clone(),
            ClusterChange::AccountSetting { name, .. } => format!("account setting {name}"),
            ClusterChange::CapacityProvider { name, .. } => format!("capacity provider {name}"),
        }
    }
}

/// `arn:…:cluster/prod` → `prod`.
fn last_segment(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(
        name: &str,
        request: serde_json::Value,
        response: serde_json::Value,
    ) -> ClusterChange {
        let record = json!({"eventID": "e", "eventName": name, "eventSource": "ecs.amazonaws.com",
            "requestParameters": request, "responseElements": response});
        ClusterChange::from_event(&Event::from_value(&record, "t").unwrap())
            .unwrap()
            .unwrap()
    }

    #[test]
    fn a_creation_is_whole_and_the_response_wins_where_it_speaks() {
        let c = change(
            CREATE_CLUSTER,
            json!({"clusterName": "prod", "tags": [{"key": "team", "value": "green"}]}),
            json!({"cluster": {"clusterName": "prod", "settings": [{"name": "containerInsights", "value": "disabled"}]}}),
        );
        let ClusterChange::Cluster { effective, .. } = c else {
            panic!("{c:?}")
        };
        assert_eq!(effective.insights_on(), Some(false));
        assert_eq!(effective.tags, Some(vec!["team".to_string()]));
        assert_eq!(effective.exec, Some(ExecConfiguration::default()));
    }

    #[test]
    fn an_update_leaves_absent_fields_unknown() {
        let c = change(
            UPDATE_CLUSTER_SETTINGS,
            json!({"cluster": "arn:aws:ecs:eu-west-1:1:cluster/prod", "settings": [{"name": "containerInsights", "value": "enhanced"}]}),
            json!(null),
        );
        let ClusterChange::Cluster {
            cluster, requested, ..
        } = c
        else {
            panic!()
        };
        assert_eq!(cluster, "prod");
        assert_eq!(requested.insights_on(), Some(true));
        assert_eq!(requested.exec, None);
        assert_eq!(requested.tags, None);
    }

    #[test]
    fn exec_weaknesses() {
        let mut exec = ExecConfiguration::default();
        assert_eq!(
            exec.weaknesses(),
            ["exec sessions not encrypted with a KMS key"]
        );
        exec.logging = Some("NONE".into());
        exec.kms_key_id = Some("arn:aws:kms:eu-west-1:1:key/k".into());
        assert_eq!(exec.weaknesses(), ["exec session logging NONE"]);
        exec.logging = Some("OVERRIDE".into());
        exec.log_group = Some("/ecs/exec".into());
        assert!(exec.weaknesses().is_empty());
    }

    #[test]
    fn account_settings_and_capacity_providers() {
        let c = change(
            PUT_ACCOUNT_SETTING_DEFAULT,
            json!({"name": "containerInsights", "value": "disabled"}),
            json!({"setting": {"name": "containerInsights", "value": "disabled", "principalArn": "arn:aws:iam::1:root"}}),
        );
        assert_eq!(c.resource(), "account setting containerInsights");
        let c = change(
            CREATE_CAPACITY_PROVIDER,
            json!({"name": "cp", "autoScalingGroupProvider": {"autoScalingGroupArn": "arn:asg"}}),
            json!(null),
        );
        assert!(matches!(
            c,
            ClusterChange::CapacityProvider {
                termination_protection: Some(false),
                ..
            }
        ));
        let c = change(
            UPDATE_CAPACITY_PROVIDER,
            json!({"name": "cp", "autoScalingGroupProvider": {"managedScaling": {"status": "ENABLED"}}}),
            json!({"capacityProvider": {"name": "cp", "autoScalingGroupProvider": {"managedTerminationProtection": "DISABLED"}}}),
        );
        assert!(matches!(
            c,
            ClusterChange::CapacityProvider {
                termination_protection: None,
                ..
            }
        ));
    }

    #[test]
    fn errors_name_the_field() {
        let record = json!({"eventID": "e", "eventName": CREATE_CLUSTER, "eventSource": "ecs.amazonaws.com",
            "requestParameters": {"clusterName": "prod", "settings": [{"name": 7}]}});
        let err = ClusterChange::from_event(&Event::from_value(&record, "t").unwrap()).unwrap_err();
        assert_eq!(err.path, "requestParameters.settings[0].name");
        let record = json!({"eventID": "e", "eventName": CREATE_CLUSTER, "eventSource": "ecs.amazonaws.com",
            "requestParameters": {"clusterName": "prod", "configuration": {"omitted": true}}});
        let err = ClusterChange::from_event(&Event::from_value(&record, "t").unwrap()).unwrap_err();
        assert_eq!(err.path, "requestParameters.configuration");
    }
}
