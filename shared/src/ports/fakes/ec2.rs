//! Fakes of the EC2 ports: security groups (and the revoke), launches.

use super::*;

/// One security group held in memory; revoking removes the rule.
#[derive(Default)]
pub struct MemoryGroups {
    pub info: Option<GroupInfo>,
    pub rules: Mutex<Vec<SgRule>>,
    /// Answer every revoke with this error instead.
    pub revoke_error: Option<AwsError>,
    /// Reject every revoke of more than one rule (as EC2 rejects a batch
    /// with a rule it no longer has).
    pub reject_batches: bool,
    /// Answer every read of the rules with this error instead.
    pub rules_error: Option<AwsError>,
    /// Answer every read of the group with this error instead.
    pub group_error: Option<AwsError>,
    /// `group/rule,rule` of every revoke call.
    pub revoke_calls: Mutex<Vec<String>>,
    /// Managed prefix lists by id: what each holds, or the error reading it
    /// gives. A list not here reads as `InvalidPrefixListID.NotFound`.
    pub prefix_lists: Vec<(
        String,
        Result<crate::model::sg::PrefixListEntries, AwsError>,
    )>,
    /// The groups referencing each prefix list (an error answers every list).
    pub associations: Vec<(String, Vec<String>)>,
    pub associations_error: Option<AwsError>,
    /// The id of every prefix list read.
    pub prefix_list_reads: Mutex<Vec<String>>,
    /// How many more reads of the rules answer without them, and of the
    /// group as if it did not exist (EC2's eventual consistency).
    pub rules_unseen_for: Mutex<u32>,
    pub group_unseen_for: Mutex<u32>,
    /// Answer every revoke as EC2 does when it does not find the rules.
    pub revoke_finds_nothing: bool,
}

/// One read fewer to answer as not visible yet: true while some are left.
fn unseen(left: &Mutex<u32>) -> bool {
    let mut left = left.lock().unwrap();
    let hidden = *left > 0;
    *left = left.saturating_sub(1);
    hidden
}

#[async_trait]
impl SecurityGroups for MemoryGroups {
    async fn group(&self, group_id: &str) -> Result<Option<GroupInfo>, AwsError> {
        if let Some(e) = &self.group_error {
            return Err(e.clone());
        }
        if unseen(&self.group_unseen_for) {
            return Ok(None);
        }
        Ok(self.info.clone().filter(|g| g.group_id == group_id))
    }

    async fn rules_of_group(&self, _group_id: &str) -> Result<Vec<SgRule>, AwsError> {
        if let Some(e) = &self.rules_error {
            return Err(e.clone());
        }
        if unseen(&self.rules_unseen_for) {
            return Ok(Vec::new());
        }
        Ok(self.rules.lock().unwrap().clone())
    }

    async fn prefix_list(
        &self,
        list_id: &str,
    ) -> Result<crate::model::sg::PrefixListEntries, AwsError> {
        self.prefix_list_reads
            .lock()
            .unwrap()
            .push(list_id.to_string());
        match self.prefix_lists.iter().find(|(id, _)| id == list_id) {
            Some((_, read)) => read.clone(),
            None => Err(AwsError {
                operation: "DescribeManagedPrefixLists",
                code: Some("InvalidPrefixListID.NotFound".to_string()),
                message: format!("{list_id} does not exist"),
                retryable: false,
            }),
        }
    }

    async fn groups_referencing(&self, list_id: &str) -> Result<Vec<String>, AwsError> {
        if let Some(e) = &self.associations_error {
            return Err(e.clone());
        }
        Ok(self
            .associations
            .iter()
            .find(|(id, _)| id == list_id)
            .map(|(_, groups)| groups.clone())
            .unwrap_or_default())
    }
}

#[async_trait]
impl IngressRemediator for MemoryGroups {
    /// All or nothing, as EC2: one unknown id (or an egress id) fails the call.
    async fn revoke_ingress(&self, group_id: &str, rule_ids: &[&str]) -> Result<Revoked, AwsError> {
        self.revoke_calls
            .lock()
            .unwrap()
            .push(format!("{group_id}/{}", rule_ids.join(",")));
        if let Some(e) = &self.revoke_error {
            return Err(e.clone());
        }
        if self.revoke_finds_nothing {
            return Ok(Revoked::AlreadyAbsent);
        }
        if self.reject_batches && rule_ids.len() > 1 {
            return Err(AwsError {
                operation: "RevokeSecurityGroupIngress",
                code: Some("InvalidParameterValue".to_string()),
                message: "batch rejected by the fake".to_string(),
                retryable: false,
            });
        }
        let mut rules = self.rules.lock().unwrap();
        let known = |id: &str| {
            rules.iter().any(|r| {
                r.rule_id.as_deref() == Some(id)
                    && r.direction == crate::model::sg::Direction::Ingress
            })
        };
        if !rule_ids.iter().all(|id| known(id)) {
            return Ok(Revoked::AlreadyAbsent);
        }
        rules.retain(|r| !rule_ids.contains(&r.rule_id.as_deref().unwrap_or_default()));
        Ok(Revoked::Revoked)
    }
}

/// EC2 launch reads in memory.
#[derive(Default)]
pub struct MemoryInstances {
    /// (template id or name, version) → launch template data (PascalCase JSON).
    pub templates: Vec<((String, String), serde_json::Value)>,
    pub defaults: (Option<String>, Option<i64>),
    pub subnets: Vec<(String, bool)>,
    /// Instance ids and their instance profiles.
    pub profiles: Vec<(String, Option<String>)>,
    /// AMIs and their `ImdsSupport`.
    pub images: Vec<(String, Option<String>)>,
    /// The capacity providers' Auto Scaling groups.
    pub provider_groups: Vec<crate::ports::ProviderGroup>,
    pub calls: Mutex<Vec<String>>,
    /// Answer every call with this error instead.
    pub error: Option<AwsError>,
}

#[async_trait]
impl crate::ports::Instances for MemoryInstances {
    async fn launch_template_data(
        &self,
        template: &str,
        version: &str,
    ) -> Result<Option<serde_json::Value>, AwsError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("template {template} {version}"));
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        Ok(self
            .templates
            .iter()
            .find(|((t, v), _)| t == template && v == version)
            .map(|(_, data)| data.clone()))
    }

    async fn metadata_defaults(&self) -> Result<(Option<String>, Option<i64>), AwsError> {
        self.calls.lock().unwrap().push("defaults".to_string());
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(self.defaults.clone()),
        }
    }

    async fn instance_profile(&self, instance: &str) -> Result<Option<Option<String>>, AwsError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("instance {instance}"));
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(self
                .profiles
                .iter()
                .find(|(i, _)| i == instance)
                .map(|(_, p)| p.clone())),
        }
    }

    async fn subnet_maps_public_ip(&self, subnet: &str) -> Result<Option<bool>, AwsError> {
        self.calls.lock().unwrap().push(format!("subnet {subnet}"));
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        Ok(self
            .subnets
            .iter()
            .find(|(s, _)| s == subnet)
            .map(|(_, maps)| *maps))
    }

    async fn image_imds_support(&self, image: &str) -> Result<Option<Option<String>>, AwsError> {
        self.calls.lock().unwrap().push(format!("image {image}"));
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        Ok(self
            .images
            .iter()
            .find(|(i, _)| i == image)
            .map(|(_, support)| support.clone()))
    }

    async fn provider_groups(&self) -> Result<Vec<crate::ports::ProviderGroup>, AwsError> {
        self.calls
            .lock()
            .unwrap()
            .push("provider groups".to_string());
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(self.provider_groups.clone()),
        }
    }
}
