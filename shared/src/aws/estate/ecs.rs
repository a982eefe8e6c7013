//! The sweep's ECS reads: clusters, the capacity providers they use, the
//! account's Container Insights setting, services and task sets (ten at a
//! time), and the task definitions they run.

use super::*;

impl SdkEstate {
    pub(super) async fn ecs(&self) -> (EcsRead, Part) {
        let mut part = Part::default();
        let mut read = EcsRead::default();
        let listed = self.list_clusters(usize::MAX).await;
        part.calls(listed.pages);
        if let Some(e) = listed.error {
            part.failed("ListClusters", e);
            return (read, part);
        }
        let arns = listed.arns;
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
            self.tasks_of(cluster, &name, &mut read.tasks, &mut part)
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

    /// The running tasks of one cluster (a page of ARNs, then a hundred
    /// described at a time), and the instances their container instances
    /// are (a hundred at a time).
    pub(super) async fn tasks_of(
        &self,
        cluster: &str,
        name: &str,
        tasks: &mut Vec<TaskState>,
        part: &mut Part,
    ) {
        let listed = list_all(usize::MAX, |token| {
            let ecs = self.ecs.clone();
            async move {
                let out = ecs
                    .list_tasks()
                    .cluster(cluster)
                    .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
                    .max_results(ECS_PAGE)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| classify("ListTasks", &e))?;
                Ok((
                    out.task_arns().to_vec(),
                    out.next_token().map(str::to_string),
                ))
            }
        })
        .await;
        part.calls(listed.pages);
        if let Some(e) = listed.error {
            part.failed(format!("ListTasks (cluster {name})"), e);
            return;
        }
        let arns = listed.arns;
        let mut found = Vec::new();
        for batch in arns.chunks(TASKS_PER_DESCRIBE) {
            part.call();
            match self
                .ecs
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(batch.to_vec()))
                .send()
                .await
            {
                Ok(out) => {
                    if let Some(e) = ecs_failure("DescribeTasks", out.failures()) {
                        part.failed(format!("DescribeTasks (cluster {name})"), e);
                    }
                    found.extend(out.tasks().iter().map(|t| {
                        let interface = t
                            .attachments()
                            .iter()
                            .filter(|a| a.r#type() == Some("ElasticNetworkInterface"))
                            .flat_map(|a| a.details())
                            .find(|d| d.name() == Some("networkInterfaceId"))
                            .and_then(|d| d.value())
                            .map(str::to_string);
                        (
                            TaskState {
                                cluster: name.to_string(),
                                arn: t.task_arn().unwrap_or_default().to_string(),
                                group: t.group().map(str::to_string),
                                task_definition: t.task_definition_arn().map(str::to_string),
                                launch_type: t.launch_type().map(|l| l.as_str().to_string()),
                                interface,
                                instance: None,
                            },
                            t.container_instance_arn().map(str::to_string),
                        )
                    }));
                }
                Err(e) => part.failed(
                    format!("DescribeTasks (cluster {name})"),
                    classify("DescribeTasks", &e),
                ),
            }
        }
        let hosts: Vec<String> = found
            .iter()
            .filter_map(|(_, ci)| ci.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut instance_of: BTreeMap<String, String> = BTreeMap::new();
        for batch in hosts.chunks(TASKS_PER_DESCRIBE) {
            part.call();
            match self
                .ecs
                .describe_container_instances()
                .cluster(cluster)
                .set_container_instances(Some(batch.to_vec()))
                .send()
                .await
            {
                Ok(out) => {
                    if let Some(e) = ecs_failure("DescribeContainerInstances", out.failures()) {
                        part.failed(format!("DescribeContainerInstances (cluster {name})"), e);
                    }
                    for ci in out.container_instances() {
                        if let (Some(arn), Some(id)) =
                            (ci.container_instance_arn(), ci.ec2_instance_id())
                        {
                            instance_of.insert(arn.to_string(), id.to_string());
                        }
                    }
                }
                Err(e) => part.failed(
                    format!("DescribeContainerInstances (cluster {name})"),
                    classify("DescribeContainerInstances", &e),
                ),
            }
        }
        tasks.extend(found.into_iter().map(|(mut task, ci)| {
            task.instance = ci.and_then(|ci| instance_of.get(&ci).cloned());
            task
        }));
    }

    /// The services of one cluster, ten at a time, with their tags.
    pub(super) async fn services_of(
        &self,
        cluster: &str,
        name: &str,
        services: &mut Vec<ServiceState>,
        part: &mut Part,
    ) {
        // What was listed before a failure is still described.
        let listed = self.list_services(cluster, usize::MAX).await;
        part.calls(listed.pages);
        if let Some(e) = listed.error {
            part.failed(format!("ListServices (cluster {name})"), e);
        }
        let arns = listed.arns;
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

/// What a paginated ECS list answered: its ARNs, the pages read (a call
/// each), whether pages were left (the bound), and the error that stopped
/// it (what was listed before it is kept).
pub(super) struct Listed {
    pub(super) arns: Vec<String>,
    pub(super) pages: usize,
    pub(super) more: bool,
    pub(super) error: Option<AwsError>,
}

/// Every page of an ECS list, at most `max_pages`; `page` asks for one
/// (its token) and answers its ARNs and the next token.
async fn list_all<F, Fut>(max_pages: usize, mut page: F) -> Listed
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<String>, Option<String>), AwsError>>,
{
    let mut listed = Listed {
        arns: Vec::new(),
        pages: 0,
        more: false,
        error: None,
    };
    let mut token = None;
    loop {
        if listed.pages >= max_pages {
            listed.more = true;
            return listed;
        }
        listed.pages += 1;
        match page(token.take()).await {
            Ok((arns, next)) => {
                listed.arns.extend(arns);
                match next.filter(|n| !n.is_empty()) {
                    Some(next) => token = Some(next),
                    None => return listed,
                }
            }
            Err(e) => {
                listed.error = Some(e);
                return listed;
            }
        }
    }
}

impl SdkEstate {
    /// The account's clusters, at most `max_pages` pages.
    pub(super) async fn list_clusters(&self, max_pages: usize) -> Listed {
        list_ecs_clusters(&self.ecs, max_pages).await
    }

    /// A cluster's services, at most `max_pages` pages.
    pub(super) async fn list_services(&self, cluster: &str, max_pages: usize) -> Listed {
        list_ecs_services(&self.ecs, cluster, max_pages).await
    }
}

async fn list_ecs_clusters(ecs: &aws_sdk_ecs::Client, max_pages: usize) -> Listed {
    list_all(max_pages, |token| {
        let ecs = ecs.clone();
        async move {
            let out = ecs
                .list_clusters()
                .max_results(ECS_PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("ListClusters", &e))?;
            Ok((
                out.cluster_arns().to_vec(),
                out.next_token().map(str::to_string),
            ))
        }
    })
    .await
}

async fn list_ecs_services(ecs: &aws_sdk_ecs::Client, cluster: &str, max_pages: usize) -> Listed {
    list_all(max_pages, |token| {
        let ecs = ecs.clone();
        async move {
            let out = ecs
                .list_services()
                .cluster(cluster)
                .max_results(ECS_PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("ListServices", &e))?;
            Ok((
                out.service_arns().to_vec(),
                out.next_token().map(str::to_string),
            ))
        }
    })
    .await
}

/// What the ECS half of the reads found.
#[derive(Default)]
pub(super) struct EcsRead {
    pub(super) services: Vec<ServiceState>,
    pub(super) tasks: Vec<TaskState>,
    pub(super) clusters: Vec<ClusterState>,
    pub(super) capacity_providers: Vec<CapacityProviderState>,
    pub(super) account_insights: Option<String>,
    pub(super) task_definitions: BTreeMap<String, TaskDefinition>,
}

pub(super) fn awsvpc_of(
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
pub(super) fn load_balancers_of(
    lbs: &[aws_sdk_ecs::types::LoadBalancer],
) -> Option<Vec<ServiceLoadBalancer>> {
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

pub(super) fn service_state(cluster: &str, s: &aws_sdk_ecs::types::Service) -> ServiceState {
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
            ports: c
                .services()
                .iter()
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

/// Which services use a group, for the event path (ingress-guard's ways in):
/// the sweep's own ECS reads, within a bound of calls.
#[derive(Debug, Clone)]
pub struct EcsGroupServices {
    ecs: aws_sdk_ecs::Client,
}

impl EcsGroupServices {
    pub fn new(ecs: aws_sdk_ecs::Client) -> Self {
        EcsGroupServices { ecs }
    }
}

#[async_trait]
impl crate::ports::GroupServices for EcsGroupServices {
    async fn services_using(
        &self,
        group: &str,
        max_calls: usize,
    ) -> Result<crate::ports::GroupUsers, AwsError> {
        let mut out = crate::ports::GroupUsers::default();
        let spent = |out: &crate::ports::GroupUsers| out.calls >= max_calls;
        let listed = list_ecs_clusters(&self.ecs, max_calls).await;
        out.calls += listed.pages;
        if let Some(e) = listed.error {
            return Err(e);
        }
        if listed.more {
            out.unread
                .push("clusters beyond the first pages (the bound of calls)".to_string());
        }
        let clusters = listed.arns;
        let mut wanted: Vec<String> = Vec::new();
        for (i, cluster) in clusters.iter().enumerate() {
            let name = cluster.rsplit('/').next().unwrap_or(cluster).to_string();
            if spent(&out) {
                let rest: Vec<&str> = clusters[i..]
                    .iter()
                    .map(|c| c.rsplit('/').next().unwrap_or(c))
                    .collect();
                out.unread.push(format!(
                    "the services of cluster{} {} (the bound of {max_calls} calls)",
                    if rest.len() == 1 { "" } else { "s" },
                    rest.join(", ")
                ));
                break;
            }
            let listed = list_ecs_services(
                &self.ecs,
                cluster,
                max_calls.saturating_sub(out.calls).max(1),
            )
            .await;
            out.calls += listed.pages;
            if let Some(e) = listed.error {
                return Err(e);
            }
            if listed.more {
                out.unread.push(format!(
                    "services of cluster {name} beyond the first pages (the bound of {max_calls} calls)"
                ));
            }
            let arns = listed.arns;
            for batch in arns.chunks(10) {
                if spent(&out) {
                    out.unread.push(format!(
                        "services of cluster {name} (the bound of {max_calls} calls)"
                    ));
                    break;
                }
                out.calls += 1;
                let described = self
                    .ecs
                    .describe_services()
                    .cluster(cluster)
                    .set_services(Some(batch.to_vec()))
                    .send()
                    .await
                    .map_err(|e| classify("DescribeServices", &e))?;
                for s in described.services() {
                    let state = service_state(&name, s);
                    let uses = state
                        .settings
                        .awsvpc
                        .as_ref()
                        .and_then(|a| a.security_groups.as_ref())
                        .is_some_and(|groups| groups.iter().any(|g| g == group));
                    if uses && s.status() != Some("INACTIVE") {
                        if let Some(td) = &state.settings.task_definition {
                            if !wanted.contains(td) {
                                wanted.push(td.clone());
                            }
                        }
                        out.services.push(state);
                    }
                }
            }
        }
        for td in wanted {
            if spent(&out) {
                out.unread.push(format!(
                    "task definition {td} (the bound of {max_calls} calls)"
                ));
                continue;
            }
            out.calls += 1;
            let described = self
                .ecs
                .describe_task_definition()
                .task_definition(&td)
                .send()
                .await
                .map_err(|e| classify("DescribeTaskDefinition", &e))?;
            if let Some(read) = described_task_definition(&described) {
                out.task_definitions.insert(td, read);
            }
        }
        Ok(out)
    }
}
