//! Fakes of the ways in: VPCs and load balancers.

use super::*;

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
    /// Called when a group's interfaces are read (what waits for the read).
    pub on_group_interfaces: Option<std::sync::Arc<dyn Fn() + Send + Sync>>,
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
        if let Some(hook) = &self.on_group_interfaces {
            hook();
        }
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
