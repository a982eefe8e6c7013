//! The sweep's reads of one place (DESIGN §12), through EC2, ECS and ELBv2:
//! every call paginated at the largest page each API allows, so the number
//! of calls grows with pages, not resources (ELBv2's attributes, listeners,
//! listener rules and targets are read per load balancer, listener or
//! target group: those APIs take one). EC2, ECS and ELBv2 are read at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

mod ec2;
mod ecs;
mod elb;
mod vpc;

use async_trait::async_trait;

use aws_sdk_ecs::types::{ClusterField, ServiceField, SettingName, TaskDefinitionField};
use aws_sdk_elasticloadbalancingv2 as elbv2;

use super::ec2::{group_info, is_aws_managed, prefix_list_entries, stored_rule};
use super::ecs::{cluster_settings_of, described_task_definition};
use super::elb::action_of;
use super::{classify, ecs_failure};
use crate::model::ci::{InstanceSettings, Said};
use crate::model::cl::CONTAINER_INSIGHTS;
use crate::model::elb::{
    short_arn, LbType, Listener, ListenerRule, LoadBalancer, Scheme, Target, TargetGroup,
};
use crate::model::json::Node;
use crate::model::net::Source;
use crate::model::reach::{Fact, Network};
use crate::model::sg::{PrefixListEntries, PrefixLists};
use crate::model::svc::{
    AwsvpcConfiguration, ServiceConnect, ServiceLoadBalancer, ServiceSettings,
};
use crate::model::td::TaskDefinition;
use crate::ports::estate::{
    CapacityProviderState, ClusterState, Estate, GroupState, InstanceState, InterfaceState,
    ListenerState, LoadBalancerState, ServiceState, TargetGroupState, TaskState, TemplateState,
    Unread,
};
use crate::ports::Instances;
use crate::ports::{AwsError, EstateReader};
pub use ecs::EcsGroupServices;

/// EC2 pages hold at most 1,000 items; ECS lists at most 100, and
/// DescribeServices takes at most 10 services.
const EC2_PAGE: i32 = 1000;
const ECS_PAGE: i32 = 100;
const SERVICES_PER_DESCRIBE: usize = 10;
/// DescribeTasks and DescribeContainerInstances take at most a hundred.
const TASKS_PER_DESCRIBE: usize = 100;
/// DescribeClusters and DescribeCapacityProviders take at most 100 names.
const CLUSTERS_PER_DESCRIBE: usize = 100;
const PROVIDERS_PER_DESCRIBE: usize = 100;
/// DescribeManagedPrefixLists returns at most 100 lists a page.
const PREFIX_LIST_PAGE: i32 = 100;
/// ELBv2's describe calls return at most 400 a page.
const ELB_PAGE: i32 = 400;

/// Reads security groups, their rules, clusters, services and the task
/// definitions the services run, the VPCs and the load balancers.
#[derive(Debug, Clone)]
pub struct SdkEstate {
    ec2: aws_sdk_ec2::Client,
    ecs: aws_sdk_ecs::Client,
    elbv2: elbv2::Client,
    iam: super::iam::IamClient,
    autoscaling: aws_sdk_autoscaling::Client,
    instances: super::instances::Ec2Instances,
}

impl SdkEstate {
    pub fn new(
        ec2: aws_sdk_ec2::Client,
        ecs: aws_sdk_ecs::Client,
        iam: aws_sdk_iam::Client,
        autoscaling: aws_sdk_autoscaling::Client,
        elbv2: elbv2::Client,
    ) -> SdkEstate {
        SdkEstate {
            instances: super::instances::Ec2Instances::new(
                ec2.clone(),
                ecs.clone(),
                autoscaling.clone(),
            ),
            ec2,
            ecs,
            elbv2,
            iam: super::iam::IamClient::new(iam),
            autoscaling,
        }
    }

    /// The IAM port of the same account, through which the sweep decides
    /// which instances are container instances and what task roles grant.
    pub fn iam(&self) -> &super::iam::IamClient {
        &self.iam
    }

    /// The instances port of the same place, through which the sweep reads
    /// the metadata defaults of launch templates.
    pub fn instances(&self) -> &super::instances::Ec2Instances {
        &self.instances
    }

    /// A read-only sweep of this place, as `access-guard scan` runs it:
    /// everything present reported, nothing recorded, alerted or revoked.
    pub async fn scan(
        &self,
        account: &str,
        region: &str,
        now: &str,
        policy: &crate::policy::Policy,
        settings: &crate::guards::GuardSettings,
        today: time::Date,
    ) -> Result<crate::sweep::PlaceResult, crate::ports::AwsError> {
        crate::sweep::PlaceSweep {
            account,
            region,
            run: now,
            estate: self,
            iam: self.iam(),
            instances: self.instances(),
            state: None,
            notifier: None,
            organizations: None,
            remediation: None,
            policy,
            settings,
            now,
            today,
        }
        .run()
        .await
    }
}

/// What one branch of the reads found.
#[derive(Default)]
struct Part {
    unread: Vec<Unread>,
    calls: AtomicUsize,
}

impl Part {
    fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    fn calls(&self, n: usize) {
        self.calls.fetch_add(n, Ordering::Relaxed);
    }

    fn failed(&mut self, what: impl Into<String>, error: AwsError) {
        self.unread.push(Unread {
            what: what.into(),
            error,
        });
    }
}

#[async_trait]
impl EstateReader for SdkEstate {
    async fn read(&self) -> Estate {
        let (network, ecs, instances, vpcs, load_balancing) = tokio::join!(
            self.network(),
            self.ecs(),
            self.read_instances(),
            self.vpcs(),
            self.load_balancing()
        );
        let ((groups, mut net_part), (read, ecs_part), (instances, instance_part)) =
            (network, ecs, instances);
        let (vpcs, interfaces, vpc_part) = vpcs;
        let (load_balancers, target_groups, elb_part) = load_balancing;
        let (launch_templates, template_part) =
            self.provider_templates(&read.capacity_providers).await;
        let mut api_calls = 0;
        for part in [ecs_part, instance_part, template_part, vpc_part, elb_part] {
            net_part.unread.extend(part.unread);
            api_calls += part.calls.into_inner();
        }
        Estate {
            groups,
            services: read.services,
            tasks: read.tasks,
            clusters: read.clusters,
            capacity_providers: read.capacity_providers,
            account_insights: read.account_insights,
            instances,
            launch_templates,
            // What the sweep decides from these reads (`sweep::complete`).
            task_roles: BTreeMap::new(),
            principals: None,
            task_definitions: read.task_definitions,
            network: vpcs,
            interfaces,
            load_balancers,
            target_groups,
            unread: net_part.unread,
            api_calls: api_calls + net_part.calls.into_inner(),
        }
    }
}
