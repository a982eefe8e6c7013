//! The sweep's reads of one place (DESIGN §12), through EC2, ECS and ELBv2:
//! every call paginated at the largest page each API allows, so the number
//! of calls grows with pages, not resources (ELBv2's attributes, listeners,
//! listener rules and targets are read per load balancer, listener or
//! target group: those APIs take one). EC2, ECS and ELBv2 are read at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use aws_sdk_ecs::types::{ClusterField, ServiceField, SettingName, TaskDefinitionField};
use aws_sdk_elasticloadbalancingv2 as elbv2;

use super::ec2::{group_info, is_aws_managed, prefix_list_entries, stored_rule};
use super::ecs::{cluster_settings_of, described_task_definition};
use super::elb::action_of;
use super::vpc::{internet_gateway_of, network_acl_of, route_table_of, subnet_of};
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
    ListenerState, LoadBalancerState, ServiceState, TargetGroupState, TemplateState, Unread,
};
use crate::ports::Instances;
use crate::ports::{AwsError, EstateReader};

/// EC2 pages hold at most 1,000 items; ECS lists at most 100, and
/// DescribeServices takes at most 10 services.
const EC2_PAGE: i32 = 1000;
const ECS_PAGE: i32 = 100;
const SERVICES_PER_DESCRIBE: usize = 10;
/// DescribeClusters and DescribeCapacityProviders take at most 100 names.
const CLUSTERS_PER_DESCRIBE: usize = 100;
const PROVIDERS_PER_DESCRIBE: usize = 100;
/// DescribeManagedPrefixLists returns at most 100 lists a page.
const PREFIX_LIST_PAGE: i32 = 100;
/// DescribeRouteTables and DescribeNetworkAcls return at most 100 a page.
const VPC_PAGE: i32 = 100;
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
            clusters: read.clusters,
            capacity_providers: read.capacity_providers,
            account_insights: read.account_insights,
            instances,
            launch_templates,
            // What the sweep decides from these reads (`sweep::complete`).
            task_roles: BTreeMap::new(),
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

impl SdkEstate {
    /// Every instance that is not terminated (whether each is a container
    /// instance the sweep decides).
    async fn read_instances(&self) -> (Vec<InstanceState>, Part) {
        let mut part = Part::default();
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            match self
                .ec2
                .describe_instances()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("instance-state-name")
                        .set_values(Some(
                            ["pending", "running", "stopping", "stopped"]
                                .map(String::from)
                                .to_vec(),
                        ))
                        .build(),
                )
                .max_results(EC2_PAGE)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(out) => {
                    for instance in out.reservations().iter().flat_map(|r| r.instances()) {
                        found.push(instance_state(instance));
                    }
                    match out.next_token() {
                        Some(next) if !next.is_empty() => token = Some(next.to_string()),
                        _ => break,
                    }
                }
                Err(e) => {
                    part.failed("DescribeInstances", classify("DescribeInstances", &e));
                    return (found, part);
                }
            }
        }
        (found, part)
    }

    /// The launch template versions the capacity providers' Auto Scaling
    /// groups launch from (`DescribeAutoScalingGroups`, then
    /// `DescribeLaunchTemplateVersions`); the metadata defaults their
    /// instances take for what a version leaves out the sweep reads.
    async fn provider_templates(
        &self,
        providers: &[CapacityProviderState],
    ) -> (Vec<TemplateState>, Part) {
        let mut part = Part::default();
        let mut found = Vec::new();
        let groups: BTreeMap<String, &str> = providers
            .iter()
            .filter_map(|p| {
                let name = super::instances::group_name(p.auto_scaling_group.as_deref()?)?;
                Some((name.to_string(), p.name.as_str()))
            })
            .collect();
        let names: Vec<String> = groups.keys().cloned().collect();
        let described =
            super::instances::group_templates(&self.autoscaling, &names, &|| part.call()).await;
        let described = match described {
            Ok(described) => described,
            Err(e) => {
                part.failed("DescribeAutoScalingGroups", e);
                Vec::new()
            }
        };
        let instances = &self.instances;
        for (name, template) in described {
            let Some(template) = template else { continue };
            let what = format!("DescribeLaunchTemplateVersions ({template})");
            part.call();
            let settings = match instances
                .launch_template_data(template.key(), &template.version)
                .await
            {
                Ok(Some(data)) => {
                    match InstanceSettings::from_template_data(&Node::root(
                        &data,
                        "launchTemplateData",
                    )) {
                        Ok(settings) => settings.whole(),
                        Err(field) => {
                            part.failed(
                                what,
                                AwsError {
                                    operation: "DescribeLaunchTemplateVersions",
                                    code: None,
                                    message: field.to_string(),
                                    retryable: false,
                                },
                            );
                            continue;
                        }
                    }
                }
                Ok(None) => {
                    part.failed(
                        what,
                        AwsError {
                            operation: "DescribeLaunchTemplateVersions",
                            code: Some("NotFound".to_string()),
                            message: format!(
                                "{template}, which an Auto Scaling group uses, is not found"
                            ),
                            retryable: false,
                        },
                    );
                    continue;
                }
                Err(e) => {
                    part.failed(what, e);
                    continue;
                }
            };
            found.push(TemplateState {
                used_by: format!(
                    "capacity provider {} (Auto Scaling group {name})",
                    groups.get(&name).copied().unwrap_or_default()
                ),
                template,
                settings,
                metadata_defaults: None,
            });
        }
        (found, part)
    }

    async fn network(&self) -> (Vec<GroupState>, Part) {
        let mut part = Part::default();
        let mut groups: Vec<GroupState> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            let out = match self
                .ec2
                .describe_security_groups()
                .max_results(EC2_PAGE)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    part.failed(
                        "DescribeSecurityGroups",
                        classify("DescribeSecurityGroups", &e),
                    );
                    return (Vec::new(), part);
                }
            };
            groups.extend(
                out.security_groups()
                    .iter()
                    .filter(|g| g.group_id().is_some())
                    .map(|g| GroupState {
                        info: group_info(g),
                        rules: Vec::new(),
                        prefix_lists: PrefixLists::new(),
                    }),
            );
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        let index: BTreeMap<String, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.info.group_id.clone(), i))
            .collect();
        loop {
            part.call();
            let out = match self
                .ec2
                .describe_security_group_rules()
                .max_results(EC2_PAGE)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    // Without every rule no group can be judged clean.
                    part.failed(
                        "DescribeSecurityGroupRules",
                        classify("DescribeSecurityGroupRules", &e),
                    );
                    return (Vec::new(), part);
                }
            };
            for r in out.security_group_rules() {
                let (Some(group_id), Some(rule)) = (r.group_id(), stored_rule(r)) else {
                    continue;
                };
                if let Some(&i) = index.get(group_id) {
                    groups[i].rules.push(rule);
                }
            }
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        let list_of = |r: &crate::model::sg::SgRule| match &r.source {
            Source::PrefixList(id) => Some(id.clone()),
            _ => None,
        };
        let referenced: BTreeSet<String> = groups
            .iter()
            .flat_map(|g| g.rules.iter().filter_map(list_of))
            .collect();
        if !referenced.is_empty() {
            let lists = self.prefix_lists(&referenced, &mut part).await;
            for group in &mut groups {
                group.prefix_lists = group
                    .rules
                    .iter()
                    .filter_map(list_of)
                    .filter_map(|id| lists.get(&id).map(|e| (id, e.clone())))
                    .collect();
            }
        }
        (groups, part)
    }

    /// What each referenced prefix list holds: AWS-managed lists (listed by
    /// DescribeManagedPrefixLists) are not read, every other one is read
    /// whole. A list that cannot be read is unknown, and its read is
    /// recorded as failed: nothing is resolved this sweep.
    async fn prefix_lists(&self, referenced: &BTreeSet<String>, part: &mut Part) -> PrefixLists {
        let mut lists = PrefixLists::new();
        let mut aws_managed = BTreeSet::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            let out = match self
                .ec2
                .describe_managed_prefix_lists()
                .max_results(PREFIX_LIST_PAGE)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    let e = classify("DescribeManagedPrefixLists", &e);
                    for id in referenced {
                        lists.insert(id.clone(), PrefixListEntries::Unknown(e.code_or_kind()));
                    }
                    part.failed("DescribeManagedPrefixLists", e);
                    return lists;
                }
            };
            aws_managed.extend(
                out.prefix_lists()
                    .iter()
                    .filter(|l| is_aws_managed(l))
                    .filter_map(|l| l.prefix_list_id().map(str::to_string)),
            );
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        for id in referenced {
            if aws_managed.contains(id) {
                lists.insert(id.clone(), PrefixListEntries::AwsManaged);
                continue;
            }
            part.call();
            match prefix_list_entries(&self.ec2, id).await {
                Ok(entries) => {
                    lists.insert(id.clone(), entries);
                }
                Err(e) => {
                    lists.insert(id.clone(), PrefixListEntries::Unknown(e.code_or_kind()));
                    part.failed(format!("GetManagedPrefixListEntries ({id})"), e);
                }
            }
        }
        lists
    }

    async fn ecs(&self) -> (EcsRead, Part) {
        let mut part = Part::default();
        let mut read = EcsRead::default();
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            match self
                .ecs
                .list_clusters()
                .max_results(ECS_PAGE)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(out) => {
                    arns.extend(out.cluster_arns().iter().cloned());
                    match out.next_token() {
                        Some(next) if !next.is_empty() => token = Some(next.to_string()),
                        _ => break,
                    }
                }
                Err(e) => {
                    part.failed("ListClusters", classify("ListClusters", &e));
                    return (read, part);
                }
            }
        }
        let mut providers = BTreeSet::new();
        for batch in arns.chunks(CLUSTERS_PER_DESCRIBE) {
            part.call();
            match self
                .ecs
                .describe_clusters()
                .set_clusters(Some(batch.to_vec()))
                .include(ClusterField::Settings)
                .include(ClusterField::Configurations)
                .include(ClusterField::Tags)
                .send()
                .await
            {
                Ok(out) => {
                    if let Some(e) = ecs_failure("DescribeClusters", out.failures()) {
                        part.failed("DescribeClusters", e);
                    }
                    for c in out
                        .clusters()
                        .iter()
                        .filter(|c| c.status() != Some("INACTIVE"))
                    {
                        providers.extend(c.capacity_providers().iter().cloned());
                        read.clusters.push(ClusterState {
                            name: c.cluster_name().unwrap_or_default().to_string(),
                            settings: cluster_settings_of(c),
                        });
                    }
                }
                Err(e) => part.failed("DescribeClusters", classify("DescribeClusters", &e)),
            }
        }
        for cluster in &arns {
            let name = cluster.rsplit('/').next().unwrap_or(cluster).to_string();
            self.services_of(cluster, &name, &mut read.services, &mut part)
                .await;
        }
        // Fargate's own providers have no Auto Scaling group to protect.
        let named: Vec<String> = providers
            .into_iter()
            .filter(|p| p != "FARGATE" && p != "FARGATE_SPOT")
            .collect();
        for batch in named.chunks(PROVIDERS_PER_DESCRIBE) {
            part.call();
            match self
                .ecs
                .describe_capacity_providers()
                .set_capacity_providers(Some(batch.to_vec()))
                .send()
                .await
            {
                Ok(out) => {
                    if let Some(e) = ecs_failure("DescribeCapacityProviders", out.failures()) {
                        part.failed("DescribeCapacityProviders", e);
                    }
                    read.capacity_providers
                        .extend(out.capacity_providers().iter().map(|p| {
                            CapacityProviderState {
                                name: p.name().unwrap_or_default().to_string(),
                                termination_protection: p.auto_scaling_group_provider().map(|a| {
                                    a.managed_termination_protection()
                                        .is_some_and(|m| m.as_str().eq_ignore_ascii_case("ENABLED"))
                                }),
                                auto_scaling_group: p
                                    .auto_scaling_group_provider()
                                    .map(|a| a.auto_scaling_group_arn().to_string()),
                            }
                        }));
                }
                Err(e) => part.failed(
                    "DescribeCapacityProviders",
                    classify("DescribeCapacityProviders", &e),
                ),
            }
        }
        // The effective setting for the sweep's own principal: the account
        // default unless that principal has one of its own.
        part.call();
        match self
            .ecs
            .list_account_settings()
            .name(SettingName::ContainerInsights)
            .effective_settings(true)
            .send()
            .await
        {
            Ok(out) => {
                read.account_insights = out
                    .settings()
                    .iter()
                    .find(|s| s.name().map(|n| n.as_str()) == Some(CONTAINER_INSIGHTS))
                    .and_then(|s| s.value())
                    .map(str::to_string);
            }
            Err(e) => part.failed("ListAccountSettings", classify("ListAccountSettings", &e)),
        }
        let wanted: BTreeSet<String> = read
            .services
            .iter()
            .flat_map(|s: &ServiceState| {
                std::iter::once(&s.settings)
                    .chain(s.task_sets.iter().map(|(_, t)| t))
                    .filter_map(|t| t.task_definition.clone())
            })
            .collect();
        for arn in wanted {
            part.call();
            match self
                .ecs
                .describe_task_definition()
                .task_definition(&arn)
                .include(TaskDefinitionField::Tags)
                .send()
                .await
            {
                Ok(out) => {
                    if let Some(td) = described_task_definition(&out) {
                        read.task_definitions.insert(arn, td);
                    }
                }
                Err(e) => part.failed(
                    format!("DescribeTaskDefinition ({arn})"),
                    classify("DescribeTaskDefinition", &e),
                ),
            }
        }
        (read, part)
    }

    /// The services of one cluster, ten at a time, with their tags.
    async fn services_of(
        &self,
        cluster: &str,
        name: &str,
        services: &mut Vec<ServiceState>,
        part: &mut Part,
    ) {
        let mut arns: Vec<String> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            match self
                .ecs
                .list_services()
                .cluster(cluster)
                .max_results(ECS_PAGE)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(out) => {
                    arns.extend(out.service_arns().iter().cloned());
                    match out.next_token() {
                        Some(next) if !next.is_empty() => token = Some(next.to_string()),
                        _ => break,
                    }
                }
                Err(e) => {
                    part.failed(
                        format!("ListServices (cluster {name})"),
                        classify("ListServices", &e),
                    );
                    break;
                }
            }
        }
        for batch in arns.chunks(SERVICES_PER_DESCRIBE) {
            part.call();
            match self
                .ecs
                .describe_services()
                .cluster(cluster)
                .set_services(Some(batch.to_vec()))
                .include(ServiceField::Tags)
                .send()
                .await
            {
                Ok(out) => {
                    for failure in out.failures() {
                        part.failed(
                            format!(
                                "DescribeServices ({})",
                                failure.arn().unwrap_or("a service")
                            ),
                            AwsError {
                                operation: "DescribeServices",
                                code: failure.reason().map(str::to_string),
                                message: failure.detail().unwrap_or_default().to_string(),
                                retryable: false,
                            },
                        );
                    }
                    services.extend(
                        out.services()
                            .iter()
                            .filter(|s| s.status() != Some("INACTIVE"))
                            .map(|s| service_state(name, s)),
                    );
                }
                Err(e) => part.failed(
                    format!("DescribeServices (cluster {name})"),
                    classify("DescribeServices", &e),
                ),
            }
        }
    }
}

/// A described service as the rules see it: what ECS holds is whole, so an
/// absent `assignPublicIp` is ECS's default (disabled).
/// What the ECS half of the reads found.
#[derive(Default)]
struct EcsRead {
    services: Vec<ServiceState>,
    clusters: Vec<ClusterState>,
    capacity_providers: Vec<CapacityProviderState>,
    account_insights: Option<String>,
    task_definitions: BTreeMap<String, TaskDefinition>,
}

fn awsvpc_of(
    network: Option<&aws_sdk_ecs::types::NetworkConfiguration>,
) -> Option<AwsvpcConfiguration> {
    network
        .and_then(|n| n.awsvpc_configuration())
        .map(|a| AwsvpcConfiguration {
            security_groups: Some(a.security_groups().to_vec()),
            subnets: Some(a.subnets().to_vec()),
            assign_public_ip: Some(
                a.assign_public_ip()
                    .is_some_and(|p| p.as_str().eq_ignore_ascii_case("ENABLED")),
            ),
        })
}

/// The model's view of `loadBalancers` as ECS describes them.
fn load_balancers_of(lbs: &[aws_sdk_ecs::types::LoadBalancer]) -> Option<Vec<ServiceLoadBalancer>> {
    Some(
        lbs.iter()
            .map(|lb| ServiceLoadBalancer {
                target_group_arn: lb.target_group_arn().map(str::to_string),
                load_balancer_name: lb.load_balancer_name().map(str::to_string),
                container_name: lb.container_name().map(str::to_string),
                container_port: lb.container_port().map(i64::from),
            })
            .collect(),
    )
}

fn service_state(cluster: &str, s: &aws_sdk_ecs::types::Service) -> ServiceState {
    let network = s.network_configuration();
    // Service Connect lives in the deployments; the primary one is current.
    let connect = s
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.service_connect_configuration())
        .map(|c| ServiceConnect {
            enabled: c.enabled(),
            namespace: c.namespace().map(str::to_string),
            without_tls: c
                .services()
                .iter()
                .filter(|svc| svc.tls().is_none())
                .map(|svc| svc.port_name().to_string())
                .collect(),
        });
    ServiceState {
        cluster: cluster.to_string(),
        name: s.service_name().unwrap_or_default().to_string(),
        settings: ServiceSettings {
            task_definition: s.task_definition().map(str::to_string),
            awsvpc: awsvpc_of(network),
            network_configured: network.is_some(),
            enable_execute_command: Some(s.enable_execute_command()),
            launch_type: s.launch_type().map(|l| l.as_str().to_string()),
            platform_version: s.platform_version().map(str::to_string),
            platform_family: s.platform_family().map(str::to_string),
            service_connect: connect,
            tags: Some(
                s.tags()
                    .iter()
                    .filter_map(|t| t.key().map(str::to_string))
                    .collect(),
            ),
            load_balancers: load_balancers_of(s.load_balancers()),
        },
        task_sets: s
            .task_sets()
            .iter()
            .filter(|t| t.status() != Some("DRAINING"))
            .map(|t| {
                let network = t.network_configuration();
                (
                    t.id().unwrap_or_default().to_string(),
                    ServiceSettings {
                        task_definition: t.task_definition().map(str::to_string),
                        awsvpc: awsvpc_of(network),
                        network_configured: network.is_some(),
                        // A task set has no Exec setting of its own: its
                        // service's is judged on the service.
                        enable_execute_command: None,
                        launch_type: t.launch_type().map(|l| l.as_str().to_string()),
                        platform_version: t.platform_version().map(str::to_string),
                        platform_family: t.platform_family().map(str::to_string),
                        service_connect: None,
                        tags: None,
                        load_balancers: load_balancers_of(t.load_balancers()),
                    },
                )
            })
            .collect(),
    }
}

/// The model's view of an instance as `DescribeInstances` shows it: its
/// effective settings, each said (what AWS leaves out is AWS's default).
fn instance_state(i: &aws_sdk_ec2::types::Instance) -> InstanceState {
    let metadata = i.metadata_options();
    let said = |v: Option<String>| v.map_or(Said::Default, Said::Set);
    let settings = InstanceSettings {
        image: i.image_id().map(str::to_string),
        http_tokens: said(
            metadata
                .and_then(|m| m.http_tokens())
                .map(|t| t.as_str().to_string()),
        ),
        hop_limit: metadata
            .and_then(|m| m.http_put_response_hop_limit())
            .map_or(Said::Default, |h| Said::Set(i64::from(h))),
        http_endpoint: said(
            metadata
                .and_then(|m| m.http_endpoint())
                .map(|e| e.as_str().to_string()),
        ),
        public_ip: Said::Set(i.public_ip_address().is_some()),
        public_address: i.public_ip_address().map(str::to_string),
        key_name: said(i.key_name().map(str::to_string)),
        instance_profile: said(
            i.iam_instance_profile()
                .and_then(|p| p.arn())
                .map(str::to_string),
        ),
        security_groups: Said::Set(
            i.security_groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect(),
        ),
        subnet: i.subnet_id().map(str::to_string),
    };
    InstanceState {
        id: i.instance_id().unwrap_or_default().to_string(),
        settings,
        container_instance: None,
        auto_scaling_group: i
            .tags()
            .iter()
            .find(|t| t.key() == Some("aws:autoscaling:groupName"))
            .and_then(|t| t.value())
            .map(str::to_string),
    }
}

/// Keeps a kind of the network that was read; one that was not is in the
/// network's unread and the estate's (by its call), and its list is empty
/// but unknown.
fn network_kind<T>(
    network: &mut Network,
    part: &mut Part,
    fact: Fact,
    read: Result<Vec<T>, AwsError>,
) -> Vec<T> {
    match read {
        Ok(items) => items,
        Err(e) => {
            network.unread.insert(fact, e.code_or_kind());
            part.failed(fact.call(), e);
            Vec::new()
        }
    }
}

/// A network interface EC2 describes.
fn interface_of(eni: &aws_sdk_ec2::types::NetworkInterface) -> InterfaceState {
    let mut private_ips: Vec<String> = eni
        .private_ip_addresses()
        .iter()
        .filter_map(|a| a.private_ip_address().map(str::to_string))
        .collect();
    if let Some(primary) = eni.private_ip_address() {
        if !private_ips.iter().any(|ip| ip == primary) {
            private_ips.push(primary.to_string());
        }
    }
    InterfaceState {
        id: eni.network_interface_id().unwrap_or_default().to_string(),
        vpc_id: eni.vpc_id().unwrap_or_default().to_string(),
        subnet_id: eni.subnet_id().unwrap_or_default().to_string(),
        private_ips,
        instance_id: eni
            .attachment()
            .and_then(|a| a.instance_id())
            .map(str::to_string),
        description: eni.description().unwrap_or_default().to_string(),
        public_ip: eni
            .association()
            .and_then(|a| a.public_ip())
            .map(str::to_string),
        groups: eni
            .groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
    }
}

/// A load balancer ELBv2 describes; `Err` says what is missing (its kind or
/// scheme: without them no rule can judge it).
fn load_balancer_of(lb: &elbv2::types::LoadBalancer) -> Result<LoadBalancer, AwsError> {
    let name = lb.load_balancer_name().unwrap_or_default().to_string();
    let unreadable = |what: &str| AwsError {
        operation: "DescribeLoadBalancers",
        code: Some("Unparsed".to_string()),
        message: format!("{name}: {what} not in the answer"),
        retryable: false,
    };
    Ok(LoadBalancer {
        arn: lb.load_balancer_arn().map(str::to_string),
        lb_type: lb
            .r#type()
            .and_then(|t| LbType::parse(t.as_str()))
            .ok_or_else(|| unreadable("the type"))?,
        type_defaulted: false,
        scheme: lb
            .scheme()
            .and_then(|s| Scheme::parse(s.as_str()))
            .ok_or_else(|| unreadable("the scheme"))?,
        scheme_defaulted: false,
        security_groups: lb.security_groups().to_vec(),
        vpc_id: lb.vpc_id().map(str::to_string),
        name,
    })
}

/// A listener ELBv2 describes, as its `CreateListener` made it.
fn listener_of(l: &elbv2::types::Listener, lb_type: LbType) -> ListenerState {
    ListenerState {
        listener: Listener {
            arn: l.listener_arn().map(str::to_string),
            load_balancer: l.load_balancer_arn().map(str::to_string),
            lb_type: Some(lb_type),
            protocol: l.protocol().map(|p| p.as_str().to_string()),
            port: l.port().map(i64::from),
            ssl_policy: l.ssl_policy().map(str::to_string),
            ssl_policy_defaulted: false,
            default_actions: Some(l.default_actions().iter().map(action_of).collect()),
            moves: true,
        },
        rules: None,
    }
}

/// A target group ELBv2 describes, as its `CreateTargetGroup` made it.
fn target_group_of(t: &elbv2::types::TargetGroup) -> TargetGroupState {
    TargetGroupState {
        group: TargetGroup {
            created: true,
            arn: t.target_group_arn().map(str::to_string),
            name: t.target_group_name().unwrap_or_default().to_string(),
            protocol: t.protocol().map(|p| p.as_str().to_string()),
            port: t.port().map(i64::from),
            target_type: t.target_type().map(|k| k.as_str().to_string()),
            health_check_protocol: t.health_check_protocol().map(|p| p.as_str().to_string()),
            health_check_defaulted: false,
            health_check_enabled: t.health_check_enabled(),
            vpc_id: t.vpc_id().map(str::to_string),
        },
        targets: None,
    }
}

impl SdkEstate {
    /// Every VPC of the place (subnets, route tables, network ACLs,
    /// internet gateways) and every network interface: one paginated call
    /// per kind, no VPC filter, read at once.
    async fn vpcs(&self) -> (Network, Vec<InterfaceState>, Part) {
        let mut part = Part::default();
        let (subnets, tables, acls, gateways, interfaces) = tokio::join!(
            self.subnets(&part),
            self.route_tables(&part),
            self.network_acls(&part),
            self.internet_gateways(&part),
            self.interfaces(&part)
        );
        let mut network = Network::default();
        network.subnets = network_kind(&mut network, &mut part, Fact::Subnets, subnets);
        network.route_tables = network_kind(&mut network, &mut part, Fact::RouteTables, tables);
        network.network_acls = network_kind(&mut network, &mut part, Fact::NetworkAcls, acls);
        network.internet_gateways =
            network_kind(&mut network, &mut part, Fact::InternetGateways, gateways);
        let interfaces = match interfaces {
            Ok(found) => found,
            Err(e) => {
                part.failed("DescribeNetworkInterfaces", e);
                Vec::new()
            }
        };
        (network, interfaces, part)
    }

    async fn subnets(&self, part: &Part) -> Result<Vec<crate::model::reach::Subnet>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            let page = self
                .ec2
                .describe_subnets()
                .max_results(EC2_PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("DescribeSubnets", &e))?;
            out.extend(page.subnets().iter().map(subnet_of));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn route_tables(
        &self,
        part: &Part,
    ) -> Result<Vec<crate::model::reach::RouteTable>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            let page = self
                .ec2
                .describe_route_tables()
                .max_results(VPC_PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("DescribeRouteTables", &e))?;
            out.extend(page.route_tables().iter().map(route_table_of));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn network_acls(
        &self,
        part: &Part,
    ) -> Result<Vec<crate::model::reach::NetworkAcl>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            let page = self
                .ec2
                .describe_network_acls()
                .max_results(VPC_PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("DescribeNetworkAcls", &e))?;
            for acl in page.network_acls() {
                out.push(network_acl_of(acl)?);
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn internet_gateways(
        &self,
        part: &Part,
    ) -> Result<Vec<crate::model::reach::InternetGateway>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            let page = self
                .ec2
                .describe_internet_gateways()
                .max_results(EC2_PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("DescribeInternetGateways", &e))?;
            out.extend(page.internet_gateways().iter().map(internet_gateway_of));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn interfaces(&self, part: &Part) -> Result<Vec<InterfaceState>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            let page = self
                .ec2
                .describe_network_interfaces()
                .max_results(EC2_PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("DescribeNetworkInterfaces", &e))?;
            out.extend(page.network_interfaces().iter().map(interface_of));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// Every load balancer with its attributes, listeners and (for plain
    /// HTTP listeners) their rules, and every target group with its
    /// targets. A read that fails is unread, naming what it was about.
    async fn load_balancing(&self) -> (Vec<LoadBalancerState>, Vec<TargetGroupState>, Part) {
        let mut part = Part::default();
        let mut load_balancers = Vec::new();
        match self.describe_load_balancers(&part).await {
            Ok(found) => {
                for read in found {
                    match read {
                        Ok(lb) => load_balancers.push(LoadBalancerState {
                            load_balancer: lb,
                            attributes: None,
                            listeners: None,
                        }),
                        Err(e) => part.failed(format!("DescribeLoadBalancers ({})", e.message), e),
                    }
                }
            }
            Err(e) => part.failed("DescribeLoadBalancers", e),
        }
        for state in &mut load_balancers {
            let Some(arn) = state.load_balancer.arn.clone() else {
                continue;
            };
            let label = short_arn(&arn).to_string();
            part.call();
            match self
                .elbv2
                .describe_load_balancer_attributes()
                .load_balancer_arn(&arn)
                .send()
                .await
            {
                Ok(out) => {
                    state.attributes = Some(
                        out.attributes()
                            .iter()
                            .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
                            .collect(),
                    )
                }
                Err(e) => part.failed(
                    format!("DescribeLoadBalancerAttributes ({label})"),
                    classify("DescribeLoadBalancerAttributes", &e),
                ),
            }
            let lb_type = state.load_balancer.lb_type;
            match self.listeners(&arn, lb_type, &part).await {
                Ok(mut listeners) => {
                    for l in listeners.iter_mut().filter(|l| l.listener.is_http()) {
                        let Some(listener) = l.listener.arn.clone() else {
                            continue;
                        };
                        match self.rules(&listener, lb_type, &part).await {
                            Ok(rules) => l.rules = Some(rules),
                            Err(e) => {
                                part.failed(format!("DescribeRules ({})", short_arn(&listener)), e)
                            }
                        }
                    }
                    state.listeners = Some(listeners);
                }
                Err(e) => part.failed(format!("DescribeListeners ({label})"), e),
            }
        }
        let mut target_groups = match self.target_groups(&part).await {
            Ok(found) => found,
            Err(e) => {
                part.failed("DescribeTargetGroups", e);
                Vec::new()
            }
        };
        for group in &mut target_groups {
            let Some(arn) = group.group.arn.clone() else {
                continue;
            };
            part.call();
            match self
                .elbv2
                .describe_target_health()
                .target_group_arn(&arn)
                .send()
                .await
            {
                Ok(out) => {
                    group.targets = Some(
                        out.target_health_descriptions()
                            .iter()
                            .filter_map(|d| d.target())
                            .filter_map(|t| {
                                Some(Target {
                                    id: t.id()?.to_string(),
                                    port: t.port().map(i64::from),
                                    availability_zone: t.availability_zone().map(str::to_string),
                                })
                            })
                            .collect(),
                    )
                }
                Err(e) => part.failed(
                    format!("DescribeTargetHealth ({})", short_arn(&arn)),
                    classify("DescribeTargetHealth", &e),
                ),
            }
        }
        (load_balancers, target_groups, part)
    }

    /// Every load balancer of the place; each that does not parse is its
    /// own error.
    async fn describe_load_balancers(
        &self,
        part: &Part,
    ) -> Result<Vec<Result<LoadBalancer, AwsError>>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            part.call();
            let page = self
                .elbv2
                .describe_load_balancers()
                .page_size(ELB_PAGE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify("DescribeLoadBalancers", &e))?;
            out.extend(page.load_balancers().iter().map(load_balancer_of));
            match page.next_marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn listeners(
        &self,
        load_balancer: &str,
        lb_type: LbType,
        part: &Part,
    ) -> Result<Vec<ListenerState>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            part.call();
            let page = self
                .elbv2
                .describe_listeners()
                .load_balancer_arn(load_balancer)
                .page_size(ELB_PAGE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify("DescribeListeners", &e))?;
            out.extend(page.listeners().iter().map(|l| listener_of(l, lb_type)));
            match page.next_marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// A listener's rules but its default one (the listener's default
    /// actions, judged with the listener).
    async fn rules(
        &self,
        listener: &str,
        lb_type: LbType,
        part: &Part,
    ) -> Result<Vec<ListenerRule>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            part.call();
            let page = self
                .elbv2
                .describe_rules()
                .listener_arn(listener)
                .page_size(ELB_PAGE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify("DescribeRules", &e))?;
            out.extend(
                page.rules()
                    .iter()
                    .filter(|r| r.is_default() != Some(true))
                    .map(|r| ListenerRule {
                        arn: r.rule_arn().map(str::to_string),
                        listener: Some(listener.to_string()),
                        lb_type: Some(lb_type),
                        actions: Some(r.actions().iter().map(action_of).collect()),
                    }),
            );
            match page.next_marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn target_groups(&self, part: &Part) -> Result<Vec<TargetGroupState>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            part.call();
            let page = self
                .elbv2
                .describe_target_groups()
                .page_size(ELB_PAGE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify("DescribeTargetGroups", &e))?;
            out.extend(page.target_groups().iter().map(target_group_of));
            match page.next_marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }
}
