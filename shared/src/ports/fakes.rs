//! Hand-written fakes of the ports, for unit tests of the domain code.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::model::sg::SgRule;
use crate::output::notify::Notification;
use crate::ports::{AwsError, GroupInfo, IngressRemediator, Notifier, Revoked, SecurityGroups};

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

/// Keeps what it was asked to publish.
#[derive(Default)]
pub struct MemoryNotifier {
    pub sent: Mutex<Vec<Notification>>,
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), AwsError> {
        self.sent.lock().unwrap().push(notification.clone());
        Ok(())
    }
}

/// Task definitions held in memory, by ARN.
#[derive(Default)]
pub struct MemoryTaskDefinitions {
    pub by_arn: Vec<(String, crate::model::td::TaskDefinition)>,
    pub calls: Mutex<Vec<String>>,
    /// Answer every call with this error instead.
    pub error: Option<AwsError>,
}

#[async_trait]
impl crate::ports::TaskDefinitions for MemoryTaskDefinitions {
    async fn describe(
        &self,
        task_definition: &str,
    ) -> Result<Option<crate::model::td::TaskDefinition>, AwsError> {
        self.calls.lock().unwrap().push(task_definition.to_string());
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        Ok(self
            .by_arn
            .iter()
            .find(|(arn, _)| arn == task_definition)
            .map(|(_, td)| td.clone()))
    }
}

/// VPCs held in memory: their networks and what runs in each subnet.
#[derive(Default)]
pub struct MemoryVpcs {
    pub networks: Vec<(String, crate::model::reach::Network)>,
    /// (VPC, target id: private IP or instance id) → its interfaces.
    pub interfaces: Vec<((String, String), Vec<crate::ports::Interface>)>,
    /// Subnet → the workloads in it.
    pub workloads: Vec<(String, Vec<crate::ports::Workload>)>,
    /// Security group → the interfaces that have it.
    pub group_interfaces: Vec<(String, Vec<crate::ports::GroupInterface>)>,
    pub calls: Mutex<Vec<String>>,
    /// Answer every call with this error instead.
    pub error: Option<AwsError>,
}

impl MemoryVpcs {
    fn call(&self, what: String) -> Result<(), AwsError> {
        self.calls.lock().unwrap().push(what);
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl crate::ports::Vpcs for MemoryVpcs {
    async fn route_table_vpc(&self, route_table: &str) -> Result<Option<String>, AwsError> {
        self.call(format!("route table {route_table}"))?;
        Ok(self
            .networks
            .iter()
            .find(|(_, n)| n.route_tables.iter().any(|t| t.id == route_table))
            .map(|(vpc, _)| vpc.clone()))
    }

    async fn subnet_vpc(&self, subnet: &str) -> Result<Option<String>, AwsError> {
        self.call(format!("subnet {subnet}"))?;
        Ok(self
            .networks
            .iter()
            .find(|(_, n)| n.subnets.iter().any(|s| s.id == subnet))
            .map(|(vpc, _)| vpc.clone()))
    }

    async fn network(&self, vpc: &str) -> Result<crate::model::reach::Network, AwsError> {
        self.call(format!("network {vpc}"))?;
        Ok(self
            .networks
            .iter()
            .find(|(v, _)| v == vpc)
            .map(|(_, n)| n.clone())
            .unwrap_or_default())
    }

    async fn workloads(&self, subnets: &[String]) -> Result<Vec<crate::ports::Workload>, AwsError> {
        self.call(format!("workloads {}", subnets.join(",")))?;
        Ok(self
            .workloads
            .iter()
            .filter(|(s, _)| subnets.contains(s))
            .flat_map(|(_, w)| w.clone())
            .collect())
    }

    async fn target_interfaces(
        &self,
        vpc: &str,
        target: &str,
    ) -> Result<Vec<crate::ports::Interface>, AwsError> {
        self.call(format!("interfaces {vpc} {target}"))?;
        Ok(self
            .interfaces
            .iter()
            .filter(|((v, t), _)| v == vpc && t == target)
            .flat_map(|(_, i)| i.clone())
            .collect())
    }

    async fn group_interfaces(
        &self,
        group_id: &str,
    ) -> Result<Vec<crate::ports::GroupInterface>, AwsError> {
        self.call(format!("group interfaces {group_id}"))?;
        Ok(self
            .group_interfaces
            .iter()
            .filter(|(g, _)| g == group_id)
            .flat_map(|(_, i)| i.clone())
            .collect())
    }
}

/// Load balancers held in memory.
#[derive(Default)]
pub struct MemoryLoadBalancers {
    pub load_balancers: Vec<crate::ports::LoadBalancerInfo>,
    /// Load balancer ARN → its listeners.
    pub listeners: Vec<(String, crate::ports::ListenerInfo)>,
    /// Load balancer ARN → its attributes.
    pub attributes: Vec<(String, std::collections::BTreeMap<String, String>)>,
    /// Target group ARN → its VPC.
    pub target_groups: Vec<(String, String)>,
    pub calls: Mutex<Vec<String>>,
    /// Answer every call with this error instead.
    pub error: Option<AwsError>,
}

impl MemoryLoadBalancers {
    fn call(&self, what: String) -> Result<(), AwsError> {
        self.calls.lock().unwrap().push(what);
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl crate::ports::LoadBalancers for MemoryLoadBalancers {
    async fn load_balancer(
        &self,
        arn: &str,
    ) -> Result<Option<crate::ports::LoadBalancerInfo>, AwsError> {
        self.call(format!("load balancer {arn}"))?;
        Ok(self.load_balancers.iter().find(|l| l.arn == arn).cloned())
    }

    async fn listeners(
        &self,
        load_balancer: &str,
    ) -> Result<Vec<crate::ports::ListenerInfo>, AwsError> {
        self.call(format!("listeners {load_balancer}"))?;
        Ok(self
            .listeners
            .iter()
            .filter(|(lb, _)| lb == load_balancer)
            .map(|(_, l)| l.clone())
            .collect())
    }

    async fn listener(&self, arn: &str) -> Result<Option<crate::ports::ListenerInfo>, AwsError> {
        self.call(format!("listener {arn}"))?;
        Ok(self
            .listeners
            .iter()
            .find(|(_, l)| l.arn == arn)
            .map(|(_, l)| l.clone()))
    }

    async fn attributes(
        &self,
        load_balancer: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
        self.call(format!("attributes {load_balancer}"))?;
        Ok(self
            .attributes
            .iter()
            .find(|(lb, _)| lb == load_balancer)
            .map(|(_, a)| a.clone())
            .unwrap_or_default())
    }

    async fn target_group_vpc(&self, arn: &str) -> Result<Option<String>, AwsError> {
        self.call(format!("target group {arn}"))?;
        Ok(self
            .target_groups
            .iter()
            .find(|(tg, _)| tg == arn)
            .map(|(_, vpc)| vpc.clone()))
    }
}

/// Clusters held in memory, by name.
#[derive(Default)]
pub struct MemoryClusters {
    pub by_name: Vec<(String, crate::model::cl::ClusterSettings)>,
    pub calls: Mutex<Vec<String>>,
    /// Answer every call with this error instead.
    pub error: Option<AwsError>,
}

#[async_trait]
impl crate::ports::Clusters for MemoryClusters {
    async fn describe(
        &self,
        cluster: &str,
    ) -> Result<Option<crate::model::cl::ClusterSettings>, AwsError> {
        self.calls.lock().unwrap().push(cluster.to_string());
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let name = cluster.rsplit('/').next().unwrap_or(cluster);
        Ok(self
            .by_name
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.clone()))
    }
}

/// IAM in memory: roles by name, managed policy documents by ARN.
#[derive(Default)]
pub struct MemoryIam {
    pub roles: Vec<crate::ports::RolePolicies>,
    pub policies: Vec<(String, String)>,
    /// Instance profiles: name and role names.
    pub profiles: Vec<(String, Vec<String>)>,
    pub calls: Mutex<Vec<String>>,
    /// Answer every call with this error instead.
    pub error: Option<AwsError>,
}

impl MemoryIam {
    fn call(&self, what: String) -> Result<(), AwsError> {
        self.calls.lock().unwrap().push(what);
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl crate::ports::Iam for MemoryIam {
    async fn role(&self, role: &str) -> Result<Option<crate::ports::RolePolicies>, AwsError> {
        self.call(format!("role {role}"))?;
        let name = role.rsplit('/').next().unwrap_or(role);
        Ok(self.roles.iter().find(|r| r.role == name).cloned())
    }

    async fn trust_policy(&self, role: &str) -> Result<Option<String>, AwsError> {
        self.call(format!("trust {role}"))?;
        let name = role.rsplit('/').next().unwrap_or(role);
        Ok(self
            .roles
            .iter()
            .find(|r| r.role == name)
            .map(|r| r.trust.clone().unwrap_or_default()))
    }

    async fn policy_document(&self, arn: &str) -> Result<Option<String>, AwsError> {
        self.call(format!("policy {arn}"))?;
        Ok(self
            .policies
            .iter()
            .find(|(a, _)| a == arn)
            .map(|(_, d)| d.clone()))
    }

    async fn attached_policies(&self, role: &str) -> Result<Option<Vec<String>>, AwsError> {
        self.call(format!("attached {role}"))?;
        let name = role.rsplit('/').next().unwrap_or(role);
        Ok(self
            .roles
            .iter()
            .find(|r| r.role == name)
            .map(|r| r.managed.iter().map(|(arn, _)| arn.clone()).collect()))
    }

    async fn roles_with_policy(&self, arn: &str) -> Result<Vec<String>, AwsError> {
        self.call(format!("roles with {arn}"))?;
        Ok(self
            .roles
            .iter()
            .filter(|r| r.managed.iter().any(|(a, _)| a == arn))
            .map(|r| r.role.clone())
            .collect())
    }

    async fn instance_profile_roles(&self, profile: &str) -> Result<Option<Vec<String>>, AwsError> {
        self.call(format!("profile {profile}"))?;
        let name = profile.rsplit('/').next().unwrap_or(profile);
        Ok(self
            .profiles
            .iter()
            .find(|(p, _)| p == name)
            .map(|(_, roles)| roles.clone()))
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

/// The state table in memory.
#[derive(Default)]
pub struct MemoryState {
    pub records: Mutex<std::collections::BTreeMap<String, crate::state::Record>>,
    pub statuses: Mutex<Vec<crate::state::PlaceStatus>>,
    /// The sweep leases held, by place: (holder, until).
    pub leases: Mutex<std::collections::BTreeMap<String, (String, i64)>>,
    /// Revoke attempts by `account/region/event id/rule id`: the latest
    /// state and restore command, and every state written, in order.
    pub attempts: Mutex<std::collections::BTreeMap<String, crate::ports::Attempt>>,
    pub attempt_writes: Mutex<Vec<(String, crate::ports::AttemptState)>>,
    /// Rules as last seen, by `account/region/rule id`.
    pub rules: Mutex<std::collections::BTreeMap<String, String>>,
    /// Exemption tags as set, by `account/region/group id`.
    pub exemption_tags: Mutex<std::collections::BTreeMap<String, (String, time::Date)>>,
    /// Answer every write of an attempt in this state with this error instead.
    pub attempt_error: Option<(crate::ports::AttemptState, AwsError)>,
    /// Answer every read with this error instead.
    pub read_error: Option<AwsError>,
}

fn attempt_key(key: crate::ports::AttemptKey<'_>) -> String {
    format!(
        "{}/{}/{}/{}",
        key.account, key.region, key.event_id, key.rule_id
    )
}

#[async_trait]
impl crate::ports::StateStore for MemoryState {
    async fn findings(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Vec<crate::state::Record>, AwsError> {
        Ok(self
            .records
            .lock()
            .unwrap()
            .values()
            .filter(|r| r.account == account && r.region == region)
            .cloned()
            .collect())
    }

    async fn save(&self, records: &[crate::state::Record]) -> Result<Vec<String>, AwsError> {
        let mut all = self.records.lock().unwrap();
        let mut lost = Vec::new();
        for r in records {
            // As the table's condition: only from a read at least as recent.
            if all
                .get(&r.fingerprint)
                .is_some_and(|s| s.read_at > r.read_at)
            {
                lost.push(r.fingerprint.clone());
                continue;
            }
            all.insert(r.fingerprint.clone(), r.clone());
        }
        Ok(lost)
    }

    async fn save_status(&self, status: &crate::state::PlaceStatus) -> Result<bool, AwsError> {
        let mut all = self.statuses.lock().unwrap();
        let place = |s: &crate::state::PlaceStatus| (s.account.clone(), s.region.clone());
        if all
            .iter()
            .any(|s| place(s) == place(status) && s.read_at > status.read_at)
        {
            return Ok(false);
        }
        all.retain(|s| place(s) != place(status));
        all.push(status.clone());
        Ok(true)
    }

    async fn take_lease(
        &self,
        account: &str,
        region: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, AwsError> {
        let mut leases = self.leases.lock().unwrap();
        let key = crate::state::place_key(account, region);
        if leases
            .get(&key)
            .is_some_and(|(_, held_until)| *held_until >= now)
        {
            return Ok(false);
        }
        leases.insert(key, (holder.to_string(), until));
        Ok(true)
    }

    async fn release_lease(
        &self,
        account: &str,
        region: &str,
        holder: &str,
    ) -> Result<bool, AwsError> {
        let mut leases = self.leases.lock().unwrap();
        let key = crate::state::place_key(account, region);
        if leases.get(&key).is_some_and(|(h, _)| h == holder) {
            leases.remove(&key);
            return Ok(true);
        }
        Ok(false)
    }

    async fn everything(
        &self,
    ) -> Result<(Vec<crate::state::Record>, Vec<crate::state::PlaceStatus>), AwsError> {
        Ok((
            self.records.lock().unwrap().values().cloned().collect(),
            self.statuses.lock().unwrap().clone(),
        ))
    }
}

#[async_trait]
impl crate::ports::RevocationLog for MemoryState {
    async fn record_attempt(
        &self,
        key: crate::ports::AttemptKey<'_>,
        _group_id: &str,
        state: crate::ports::AttemptState,
        restore: Option<&str>,
    ) -> Result<(), AwsError> {
        if let Some((failing, e)) = &self.attempt_error {
            if *failing == state {
                return Err(e.clone());
            }
        }
        let k = attempt_key(key);
        self.attempt_writes.lock().unwrap().push((k.clone(), state));
        self.attempts.lock().unwrap().insert(
            k,
            crate::ports::Attempt {
                state,
                restore: restore.map(str::to_string),
            },
        );
        Ok(())
    }

    async fn earlier_attempt(
        &self,
        key: crate::ports::AttemptKey<'_>,
    ) -> Result<Option<crate::ports::Attempt>, AwsError> {
        if let Some(e) = &self.read_error {
            return Err(e.clone());
        }
        Ok(self
            .attempts
            .lock()
            .unwrap()
            .get(&attempt_key(key))
            .cloned())
    }

    async fn record_rule(
        &self,
        account: &str,
        region: &str,
        _group_id: &str,
        rule_id: &str,
        restore: &str,
    ) -> Result<(), AwsError> {
        self.rules
            .lock()
            .unwrap()
            .insert(format!("{account}/{region}/{rule_id}"), restore.to_string());
        Ok(())
    }

    async fn rule_as_seen(
        &self,
        account: &str,
        region: &str,
        rule_id: &str,
    ) -> Result<Option<String>, AwsError> {
        if let Some(e) = &self.read_error {
            return Err(e.clone());
        }
        Ok(self
            .rules
            .lock()
            .unwrap()
            .get(&format!("{account}/{region}/{rule_id}"))
            .cloned())
    }

    async fn record_exemption_tag(
        &self,
        account: &str,
        region: &str,
        group_id: &str,
        value: &str,
        set_on: time::Date,
    ) -> Result<(), AwsError> {
        self.exemption_tags.lock().unwrap().insert(
            format!("{account}/{region}/{group_id}"),
            (value.to_string(), set_on),
        );
        Ok(())
    }

    async fn exemption_tag_set(
        &self,
        account: &str,
        region: &str,
        group_id: &str,
    ) -> Result<Option<(String, time::Date)>, AwsError> {
        if let Some(e) = &self.read_error {
            return Err(e.clone());
        }
        Ok(self
            .exemption_tags
            .lock()
            .unwrap()
            .get(&format!("{account}/{region}/{group_id}"))
            .cloned())
    }
}

/// A clock that stands still until slept on: sleeping moves it on at once.
pub struct FakeClock {
    pub now: Mutex<time::OffsetDateTime>,
    /// Every sleep asked for.
    pub slept: Mutex<Vec<std::time::Duration>>,
}

impl FakeClock {
    pub fn at(now: time::OffsetDateTime) -> FakeClock {
        FakeClock {
            now: Mutex::new(now),
            slept: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl crate::ports::Clock for FakeClock {
    fn now(&self) -> time::OffsetDateTime {
        *self.now.lock().unwrap()
    }

    async fn sleep(&self, duration: std::time::Duration) {
        self.slept.lock().unwrap().push(duration);
        *self.now.lock().unwrap() += duration;
    }
}

/// An estate read from memory (what the sweep's reader would return).
#[derive(Default)]
pub struct MemoryEstate {
    pub estate: Mutex<crate::ports::estate::Estate>,
}

#[async_trait]
impl crate::ports::EstateReader for MemoryEstate {
    async fn read(&self) -> crate::ports::estate::Estate {
        self.estate.lock().unwrap().clone()
    }
}

/// Security Hub in memory: findings by Id (a re-import replaces), the
/// resolve calls, and errors to answer with.
#[derive(Default)]
pub struct MemoryHub {
    pub findings: Mutex<Vec<crate::output::asff::AsffFinding>>,
    /// Every import call's size.
    pub imports: Mutex<Vec<usize>>,
    /// Every resolve call: (product ARN, Ids, note).
    pub resolves: Mutex<Vec<(String, Vec<String>, String)>>,
    /// Answer every import with this error instead.
    pub import_error: Option<AwsError>,
    /// Answer every resolve with this error instead.
    pub resolve_error: Option<AwsError>,
}

#[async_trait]
impl crate::ports::FindingsHub for MemoryHub {
    async fn import(
        &self,
        findings: &[crate::output::asff::AsffFinding],
    ) -> Result<Vec<crate::ports::Refused>, AwsError> {
        self.imports.lock().unwrap().push(findings.len());
        if let Some(e) = &self.import_error {
            return Err(e.clone());
        }
        let mut held = self.findings.lock().unwrap();
        for f in findings {
            held.retain(|h| h.id != f.id);
            held.push(f.clone());
        }
        Ok(Vec::new())
    }

    async fn resolve(
        &self,
        product_arn: &str,
        ids: &[String],
        note: &str,
    ) -> Result<Vec<crate::ports::Refused>, AwsError> {
        self.resolves.lock().unwrap().push((
            product_arn.to_string(),
            ids.to_vec(),
            note.to_string(),
        ));
        match &self.resolve_error {
            Some(e) => Err(e.clone()),
            None => Ok(Vec::new()),
        }
    }
}

/// A chat topic in memory: every message posted, or an error to answer with.
#[derive(Default)]
pub struct MemoryChat {
    pub posted: Mutex<Vec<String>>,
    pub error: Option<AwsError>,
}

#[async_trait]
impl crate::ports::ChatChannel for MemoryChat {
    async fn post(&self, message: &str) -> Result<(), AwsError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.posted.lock().unwrap().push(message.to_string());
        Ok(())
    }
}

/// A log writer (`tracing_subscriber::fmt().with_writer(...)`) that keeps
/// everything written to it, for tests that read what a function logged.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}
