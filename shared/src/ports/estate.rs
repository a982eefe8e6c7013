//! The estate: what the sweep reads in one place (account, region) through
//! [`EstateReader`](super::EstateReader), before any rule judges it.

use std::collections::BTreeMap;

use crate::model::cl::ClusterSettings;
use crate::model::sg::{PrefixLists, SgChange, SgRule};
use crate::model::svc::ServiceSettings;
use crate::model::td::TaskDefinition;
use crate::ports::AwsError;

/// A security group as the sweep reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    pub info: crate::ports::GroupInfo,
    /// Every stored rule, ingress and egress.
    pub rules: Vec<SgRule>,
    /// What the prefix lists its rules reference hold, as read (a list that
    /// could not be read is unknown, and its read is in the estate's unread).
    pub prefix_lists: PrefixLists,
}

impl GroupState {
    /// The group's current ingress rules as the event path judges them: in
    /// the group of this name, owned by `account`, with its prefix lists read.
    pub fn change(&self, account: &str) -> SgChange {
        SgChange::current_ingress(&self.info.group_id, self.rules.clone())
            .with_group_name(&self.info.name)
            .with_account(account)
            .with_prefix_lists(self.prefix_lists.clone())
    }
}

/// An ECS service as the sweep reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    /// The cluster's name.
    pub cluster: String,
    pub name: String,
    pub settings: ServiceSettings,
    /// Its task sets (services with the CODE_DEPLOY or EXTERNAL controller):
    /// `(id, settings)`.
    pub task_sets: Vec<(String, ServiceSettings)>,
}

/// An EC2 instance as `DescribeInstances` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceState {
    pub id: String,
    pub settings: crate::model::ci::InstanceSettings,
    /// Why it is a container instance (its instance profile's role), when it is one.
    pub container_instance: Option<crate::rules::ec2_ci::Evidence>,
    /// The Auto Scaling group that launched it (its `aws:autoscaling:groupName`
    /// tag): a capacity provider's group makes it a container instance.
    pub auto_scaling_group: Option<String>,
}

/// A cluster as `DescribeClusters` shows it (settings, configuration, tags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterState {
    pub name: String,
    pub settings: ClusterSettings,
}

/// A capacity provider a cluster uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityProviderState {
    pub name: String,
    /// `None` for Fargate's providers, which have no Auto Scaling group.
    pub termination_protection: Option<bool>,
    /// Its Auto Scaling group's ARN.
    pub auto_scaling_group: Option<String>,
}

/// A launch template version a capacity provider's Auto Scaling group
/// launches its container instances from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateState {
    pub template: crate::model::ci::TemplateRef,
    /// Which capacity provider and group use it: why its instances are
    /// container instances.
    pub used_by: String,
    pub settings: crate::model::ci::InstanceSettings,
    /// What its instances take for what it leaves out (the account's and
    /// the AMI's metadata defaults); `None`: not known.
    pub metadata_defaults: Option<crate::rules::ec2_ci::MetadataDefaults>,
}

/// A load balancer as `DescribeLoadBalancers` shows it, with what the
/// sweep read of it one load balancer at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerState {
    /// Its ARN, name, kind, scheme, groups (empty: none) and VPC.
    pub load_balancer: crate::model::elb::LoadBalancer,
    /// Its attributes, key → value (`DescribeLoadBalancerAttributes`);
    /// `None`: not read (the failed read is in the estate's unread).
    pub attributes: Option<BTreeMap<String, String>>,
    /// Its listeners (`DescribeListeners`); `None`: not read.
    pub listeners: Option<Vec<ListenerState>>,
}

/// A listener as `DescribeListeners` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerState {
    /// Its protocol, port, TLS policy and default actions, and its load
    /// balancer's ARN and kind.
    pub listener: crate::model::elb::Listener,
    /// Its rules other than the default one (`DescribeRules`), read for
    /// HTTP and HTTPS listeners (where a rule that forwards on plain HTTP is
    /// ELB-001's, and rules lead the access map to target groups); `None`:
    /// not read, or a listener without rules (TCP, TLS, UDP).
    pub rules: Option<Vec<crate::model::elb::ListenerRule>>,
}

/// A target group as `DescribeTargetGroups` shows it, with its targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupState {
    pub group: crate::model::elb::TargetGroup,
    /// Its registered targets (`DescribeTargetHealth`); `None`: not read.
    pub targets: Option<Vec<crate::model::elb::Target>>,
}

/// A network interface as `DescribeNetworkInterfaces` shows it: what runs
/// in a subnet, and how a load balancer's target is reached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceState {
    pub id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    /// Its private IPv4 addresses (an `ip` target names one).
    pub private_ips: Vec<String>,
    /// The instance it is attached to (an `instance` target names it).
    pub instance_id: Option<String>,
    /// Its description: ECS names a task's interface by its attachment's ARN.
    pub description: String,
    /// Its public IPv4 address (assigned or Elastic), when it has one.
    pub public_ip: Option<String>,
    pub groups: Vec<String>,
}

impl InterfaceState {
    /// The ECS workload it stands for, as the network guard names it
    /// (`instance i-…`, `task interface eni-… (arn:…:ecs:…)`); `None` for
    /// any other interface (a load balancer's, a NAT gateway's).
    pub fn workload(&self) -> Option<String> {
        if let Some(instance) = &self.instance_id {
            return Some(format!("instance {instance}"));
        }
        let d = &self.description;
        (d.starts_with("arn:") && d.contains(":ecs:"))
            .then(|| format!("task interface {} ({d})", self.id))
    }
}

/// A running task as `DescribeTasks` shows it: what started it, where it
/// runs, and its network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskState {
    pub cluster: String,
    pub arn: String,
    /// `service:<name>` for a service's task, else `family:<name>` or what
    /// RunTask was given.
    pub group: Option<String>,
    pub task_definition: Option<String>,
    pub launch_type: Option<String>,
    /// Its awsvpc interface (`eni-…`), from its attachment.
    pub interface: Option<String>,
    /// The EC2 instance it runs on (`i-…`), from its container instance.
    pub instance: Option<String>,
}

impl TaskState {
    /// `cluster/<task id>`.
    pub fn id(&self) -> String {
        format!(
            "{}/{}",
            self.cluster,
            self.arn.rsplit('/').next().unwrap_or(&self.arn)
        )
    }

    /// The service that runs it, when a service does.
    pub fn service(&self) -> Option<&str> {
        self.group.as_deref()?.strip_prefix("service:")
    }
}

/// A read that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// `DescribeServices (cluster web)`.
    pub what: String,
    pub error: AwsError,
}

impl Unread {
    pub fn phrase(&self) -> String {
        format!("{}: {}", self.what, self.error.code_or_kind())
    }
}

/// Everything the sweep read in one place.
#[derive(Debug, Clone, Default)]
pub struct Estate {
    pub groups: Vec<GroupState>,
    pub services: Vec<ServiceState>,
    /// The running tasks of every cluster.
    pub tasks: Vec<TaskState>,
    pub clusters: Vec<ClusterState>,
    /// The capacity providers the clusters use.
    pub capacity_providers: Vec<CapacityProviderState>,
    /// The account's effective `containerInsights` setting, when it could be read.
    pub account_insights: Option<String>,
    pub instances: Vec<InstanceState>,
    /// The launch templates capacity providers launch from.
    pub launch_templates: Vec<TemplateState>,
    /// The task roles the task definitions name, as IAM shows them (ECS-TD-021).
    pub task_roles: BTreeMap<String, crate::rules::ecs_td::TaskRoleAccess>,
    /// The account's users and roles with their policies, read when a
    /// service has ECS Exec on (who may open a shell); `None`: not read,
    /// `Err`: why it could not be.
    pub principals: Option<Result<Vec<crate::model::iam::access::PrincipalPolicies>, String>>,
    /// The task definitions the services run, each once, by the name the
    /// services give (their revision ARN).
    pub task_definitions: BTreeMap<String, TaskDefinition>,
    /// Every VPC of the place: subnets, route tables, network ACLs, internet
    /// gateways. A kind that could not be read is in `unread` (by its call,
    /// `DescribeSubnets` …) and in the network's own unread: empty lists
    /// are "none" only when their read is not there.
    pub network: crate::model::reach::Network,
    /// Every network interface of the place (`DescribeNetworkInterfaces`).
    pub interfaces: Vec<InterfaceState>,
    /// Every load balancer of the place (ELBv2).
    pub load_balancers: Vec<LoadBalancerState>,
    /// Every target group of the place.
    pub target_groups: Vec<TargetGroupState>,
    pub unread: Vec<Unread>,
    /// How many AWS calls the reads took.
    pub api_calls: usize,
}

impl Estate {
    /// True when every read succeeded: only then is anything resolved.
    pub fn complete(&self) -> bool {
        self.unread.is_empty()
    }

    /// The failed read of a whole kind, by its call (`DescribeSubnets`):
    /// what is missing from that kind's list is then unknown, not absent.
    /// (A read of one resource that failed names it: `DescribeListeners
    /// (app/web/…)`.)
    pub fn unread_call(&self, call: &str) -> Option<&Unread> {
        self.unread.iter().find(|u| u.what == call)
    }
}
