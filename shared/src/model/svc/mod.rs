//! `CreateService` and `UpdateService` records, and the other ways ECS
//! starts tasks — task sets (`CreateTaskSet`, `UpdateTaskSet`: services with
//! the CODE_DEPLOY or EXTERNAL controller) and standalone tasks (`RunTask`,
//! `StartTask`): what the call set, and the effective state after it (DESIGN §3). Request and response are
//! both evidence and either may be partial: the state after the call is judged
//! field by field, the response where it carries the field, the request where
//! it does not. In UpdateService an absent field means "unchanged".

use crate::model::event::Event;
use crate::model::json::{FieldError, Node};

pub const CREATE_SERVICE: &str = "CreateService";
pub const UPDATE_SERVICE: &str = "UpdateService";
pub const CREATE_TASK_SET: &str = "CreateTaskSet";
pub const UPDATE_TASK_SET: &str = "UpdateTaskSet";
pub const RUN_TASK: &str = "RunTask";
pub const START_TASK: &str = "StartTask";

/// What a call deploys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Service,
    /// A task set of a service (CODE_DEPLOY or EXTERNAL deployment controller).
    TaskSet,
    /// Tasks outside any service (RunTask, StartTask).
    Task,
}

/// `serviceConnectConfiguration` of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceConnect {
    pub enabled: bool,
    /// The Cloud Map namespace (name or ARN); `None`: the cluster's default.
    pub namespace: Option<String>,
    /// The port names of the services it exposes without `tls`.
    pub without_tls: Vec<String>,
    /// The port names of every service it exposes (`services[].portName`);
    /// none for a client-only service.
    pub ports: Vec<String>,
}

/// `overrides` of a RunTask/StartTask: what the task runs differently from
/// its task definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskOverrides {
    pub task_role_arn: Option<String>,
    pub containers: Vec<ContainerOverride>,
}

/// `overrides.containerOverrides[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerOverride {
    pub name: String,
    pub command: bool,
    pub environment: Vec<crate::model::td::EnvVar>,
}

impl TaskOverrides {
    fn from_json(node: &Node<'_>) -> Result<Option<TaskOverrides>, FieldError> {
        if !node.is_present() {
            return Ok(None);
        }
        if node.is_omitted() {
            return Err(node.error("omitted by CloudTrail"));
        }
        let mut containers = Vec::new();
        for c in node.get("containerOverrides").items()? {
            let mut environment = Vec::new();
            for e in c.get("environment").items()? {
                environment.push(crate::model::td::EnvVar {
                    name: e.get("name").required_str()?.to_string(),
                    value: e.get("value").str()?.unwrap_or_default().to_string(),
                });
            }
            containers.push(ContainerOverride {
                name: c.get("name").str()?.unwrap_or("(unnamed)").to_string(),
                command: !c.get("command").items()?.is_empty(),
                environment,
            });
        }
        Ok(Some(TaskOverrides {
            task_role_arn: node.get("taskRoleArn").str()?.map(str::to_string),
            containers,
        }))
    }

    /// True when it changes nothing a rule judges.
    pub fn is_empty(&self) -> bool {
        self.task_role_arn.is_none()
            && self
                .containers
                .iter()
                .all(|c| !c.command && c.environment.is_empty())
    }
}

/// `arn:…:service/prod/web` → `web`.
fn last_segment(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_string()
}

/// A Fargate platform version `1.4.0` as numbers; `None` for `LATEST` or
/// anything that is not three numbers.
pub fn platform_version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.trim().split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Some(a)), Some(Some(b)), Some(Some(c)), None) => Some((a, b, c)),
        _ => None,
    }
}

/// `networkConfiguration.awsvpcConfiguration`. A field is `None` when its
/// source does not say (a trimmed response); a request's configuration is
/// whole, so there an absent field takes ECS's default (no groups, no public IP).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsvpcConfiguration {
    pub security_groups: Option<Vec<String>>,
    pub subnets: Option<Vec<String>>,
    /// `assignPublicIp: ENABLED`.
    pub assign_public_ip: Option<bool>,
}

impl AwsvpcConfiguration {
    /// Field by field: `self` where it says, else `other`.
    fn or(self, other: &AwsvpcConfiguration) -> AwsvpcConfiguration {
        AwsvpcConfiguration {
            security_groups: self
                .security_groups
                .or_else(|| other.security_groups.clone()),
            subnets: self.subnets.or_else(|| other.subnets.clone()),
            assign_public_ip: self.assign_public_ip.or(other.assign_public_ip),
        }
    }

    /// True when the tasks get public IPs.
    pub fn public_ip(&self) -> bool {
        self.assign_public_ip == Some(true)
    }

    /// The groups, empty when none are named (or the source does not say).
    pub fn groups(&self) -> &[String] {
        self.security_groups.as_deref().unwrap_or_default()
    }
}

/// One entry of a service's `loadBalancers`: the target group (or, for a
/// Classic Load Balancer, its name) that ECS registers the container's port with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceLoadBalancer {
    /// `targetGroupArn` (Application and Network Load Balancers).
    pub target_group_arn: Option<String>,
    /// `loadBalancerName` (a Classic Load Balancer).
    pub load_balancer_name: Option<String>,
    pub container_name: Option<String>,
    pub container_port: Option<i64>,
}

impl ServiceLoadBalancer {
    fn from_json(node: &Node<'_>) -> Result<ServiceLoadBalancer, FieldError> {
        if node.object()?.is_none() {
            return Err(node.error("expected an object"));
        }
        let entry = ServiceLoadBalancer {
            target_group_arn: node.get("targetGroupArn").str()?.map(str::to_string),
            load_balancer_name: node.get("loadBalancerName").str()?.map(str::to_string),
            container_name: node.get("containerName").str()?.map(str::to_string),
            container_port: node.get("containerPort").port()?,
        };
        if entry.target_group_arn.is_none() && entry.load_balancer_name.is_none() {
            return Err(node.error("names neither targetGroupArn nor loadBalancerName"));
        }
        Ok(entry)
    }

    /// `targetgroup/api/73e2…` or `classic load balancer web`, for messages.
    pub fn label(&self) -> String {
        let front = match (&self.target_group_arn, &self.load_balancer_name) {
            (Some(arn), _) => format!(
                "target group {}",
                arn.split_once(":targetgroup/")
                    .map_or(arn.as_str(), |(_, name)| name)
            ),
            (None, Some(name)) => format!("classic load balancer {name}"),
            (None, None) => "a load balancer".to_string(),
        };
        match (&self.container_name, self.container_port) {
            (Some(c), Some(p)) => format!("{front} (container {c}:{p})"),
            (Some(c), None) => format!("{front} (container {c})"),
            (None, Some(p)) => format!("{front} (port {p})"),
            (None, None) => front,
        }
    }
}

/// The settings of a service the rules judge. Each is `None` when the source
/// (the request of an UpdateService, a trimmed response) does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSettings {
    pub task_definition: Option<String>,
    pub awsvpc: Option<AwsvpcConfiguration>,
    /// True when `networkConfiguration` is present at all.
    pub network_configured: bool,
    pub enable_execute_command: Option<bool>,
    pub launch_type: Option<String>,
    pub platform_version: Option<String>,
    /// `Linux` or `WINDOWS_SERVER_…` (a response's `platformFamily`).
    pub platform_family: Option<String>,
    pub service_connect: Option<ServiceConnect>,
    /// The tag keys.
    pub tags: Option<Vec<String>>,
    /// `loadBalancers`: where ECS registers the tasks (empty: behind none).
    pub load_balancers: Option<Vec<ServiceLoadBalancer>>,
}

/// How absent fields read: in a request's `awsvpcConfiguration` they take
/// ECS's defaults; in a response they are unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Absent {
    Default,
    Unknown,
}

impl ServiceSettings {
    fn from_json(node: &Node<'_>, absent: Absent) -> Result<ServiceSettings, FieldError> {
        let network = node.get("networkConfiguration");
        let awsvpc = network.get("awsvpcConfiguration");
        for part in [&network, &awsvpc] {
            // Trimmed away: unknown, never "no public IP".
            if part.is_omitted() {
                return Err(part.error("omitted by CloudTrail"));
            }
        }
        let strings = |n: Node<'_>| -> Result<Option<Vec<String>>, FieldError> {
            if !n.is_present() && absent == Absent::Unknown {
                return Ok(None);
            }
            n.items()?
                .iter()
                .map(|i| i.required_str().map(str::to_string))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        };
        let awsvpc = if awsvpc.is_present() {
            let public_ip = awsvpc.get("assignPublicIp").str()?;
            Some(AwsvpcConfiguration {
                security_groups: strings(awsvpc.get("securityGroups"))?,
                subnets: strings(awsvpc.get("subnets"))?,
                assign_public_ip: match (public_ip, absent) {
                    (Some(v), _) => Some(v.eq_ignore_ascii_case("ENABLED")),
                    (None, Absent::Default) => Some(false),
                    (None, Absent::Unknown) => None,
                },
            })
        } else {
            None
        };
        let connect = node.get("serviceConnectConfiguration");
        if connect.is_omitted() {
            return Err(connect.error("omitted by CloudTrail"));
        }
        let service_connect = if connect.is_present() {
            let mut without_tls = Vec::new();
            let mut ports = Vec::new();
            for service in connect.get("services").items()? {
                let name = service
                    .get("portName")
                    .str()?
                    .unwrap_or("(unnamed)")
                    .to_string();
                if !service.get("tls").is_present() {
                    without_tls.push(name.clone());
                }
                ports.push(name);
            }
            Some(ServiceConnect {
                enabled: connect.get("enabled").bool()?.unwrap_or(false),
                namespace: connect.get("namespace").str()?.map(str::to_string),
                without_tls,
                ports,
            })
        } else {
            None
        };
        let tags = crate::model::cl::tag_keys(&node.get("tags"))?;
        let balancers = node.get("loadBalancers");
        if balancers.is_omitted() {
            return Err(balancers.error("omitted by CloudTrail"));
        }
        // Absent from an UpdateService request: unchanged; from a trimmed
        // response: unknown. A creation's is filled in by `from_event`.
        let load_balancers = if !balancers.is_present() {
            None
        } else {
            Some(
                balancers
                    .items()?
                    .iter()
                    .map(ServiceLoadBalancer::from_json)
                    .collect::<Result<Vec<_>, _>>()?,
            )
        };
        Ok(ServiceSettings {
            load_balancers,
            platform_family: node.get("platformFamily").str()?.map(str::to_string),
            service_connect,
            tags,
            task_definition: node.get("taskDefinition").str()?.map(str::to_string),
            awsvpc,
            network_configured: network.is_present(),
            enable_execute_command: node.get("enableExecuteCommand").bool()?,
            launch_type: node.get("launchType").str()?.map(str::to_string),
            platform_version: node.get("platformVersion").str()?.map(str::to_string),
        })
    }

    /// Field by field: `self` where it says, else `other`.
    fn or(self, other: &ServiceSettings) -> ServiceSettings {
        let awsvpc = match (self.awsvpc, &other.awsvpc) {
            (Some(mine), Some(theirs)) => Some(mine.or(theirs)),
            (mine, theirs) => mine.or_else(|| theirs.clone()),
        };
        ServiceSettings {
            task_definition: self
                .task_definition
                .or_else(|| other.task_definition.clone()),
            awsvpc,
            network_configured: self.network_configured || other.network_configured,
            enable_execute_command: self.enable_execute_command.or(other.enable_execute_command),
            launch_type: self.launch_type.or_else(|| other.launch_type.clone()),
            platform_version: self
                .platform_version
                .or_else(|| other.platform_version.clone()),
            platform_family: self
                .platform_family
                .or_else(|| other.platform_family.clone()),
            service_connect: self
                .service_connect
                .or_else(|| other.service_connect.clone()),
            tags: self.tags.or_else(|| other.tags.clone()),
            load_balancers: self.load_balancers.or_else(|| other.load_balancers.clone()),
        }
    }
}

/// One call that deploys tasks: a service's creation or update, a task
/// set's, or standalone tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceChange {
    pub subject: Subject,
    pub created: bool,
    /// The service's name; for standalone tasks `task <family:revision>`.
    pub service: String,
    /// `default` when the request names none.
    pub cluster: String,
    /// The task set's id (CreateTaskSet's response, UpdateTaskSet's request).
    pub task_set: Option<String>,
    /// What the request set.
    pub requested: ServiceSettings,
    /// The state after the call: the response field by field, the request
    /// where the response does not carry a field.
    pub effective: ServiceSettings,
    /// RunTask/StartTask `overrides`.
    pub overrides: Option<TaskOverrides>,
    /// RunTask/StartTask `startedBy`.
    pub started_by: Option<String>,
}

impl ServiceChange {
    /// A service as it stands (the sweep): judged as its creation.
    pub fn current(cluster: &str, service: &str, settings: ServiceSettings) -> ServiceChange {
        ServiceChange {
            subject: Subject::Service,
            created: true,
            service: service.to_string(),
            cluster: cluster.to_string(),
            task_set: None,
            requested: settings.clone(),
            effective: settings,
            overrides: None,
            started_by: None,
        }
    }

    /// A task set as it stands (the sweep): judged as its creation.
    pub fn current_task_set(
        cluster: &str,
        service: &str,
        id: &str,
        settings: ServiceSettings,
    ) -> ServiceChange {
        ServiceChange {
            subject: Subject::TaskSet,
            task_set: Some(id.to_string()),
            ..ServiceChange::current(cluster, service, settings)
        }
    }

    /// Reads a service, task-set or standalone-task call of ECS; `Ok(None)`
    /// for any other event (App Runner's CreateService, Cloud Map's UpdateService).
    pub fn from_event(event: &Event) -> Result<Option<ServiceChange>, FieldError> {
        let (subject, created) = match event.name.as_str() {
            CREATE_SERVICE => (Subject::Service, true),
            UPDATE_SERVICE => (Subject::Service, false),
            CREATE_TASK_SET => (Subject::TaskSet, true),
            UPDATE_TASK_SET => (Subject::TaskSet, false),
            RUN_TASK | START_TASK => (Subject::Task, true),
            _ => return Ok(None),
        };
        if !event.is_from("ecs") {
            return Ok(None);
        }
        let request = event.request();
        if request.is_omitted() || !request.is_present() {
            return Err(request.error("missing or omitted by CloudTrail"));
        }
        let response = match subject {
            Subject::Service => event.response().get("service"),
            Subject::TaskSet => event.response().get("taskSet"),
            // Every task of the call runs the same definition and settings.
            Subject::Task => {
                let tasks = event.response().get("tasks");
                if tasks.is_omitted() {
                    // Trimmed by CloudTrail: the request (whole) is judged.
                    tasks.get("(omitted)")
                } else {
                    match tasks.items()?.into_iter().next() {
                        Some(first) => first,
                        // None started (all in `failures`): nothing to add.
                        None => tasks.get("(none)"),
                    }
                }
            }
        };
        let cluster = request
            .get("cluster")
            .str()?
            .or(response.get("clusterArn").str()?)
            .map_or("default".to_string(), last_segment);
        let mut requested = ServiceSettings::from_json(&request, Absent::Default)?;
        if created && subject != Subject::TaskSet {
            // A new service (or task) without the flag has ECS Exec off; a
            // task set has no Exec setting of its own (its service's is
            // judged on the service).
            requested.enable_execute_command = requested.enable_execute_command.or(Some(false));
            // A creation's request is whole: no `tags` is no tags.
            requested.tags = requested.tags.or_else(|| Some(Vec::new()));
        }
        if created {
            // A creation's request is whole: no `loadBalancers` is behind none.
            requested.load_balancers = requested.load_balancers.or_else(|| Some(Vec::new()));
        }
        let mut effective = if response.is_present() && !response.is_omitted() {
            let mut after = ServiceSettings::from_json(&response, Absent::Unknown)?;
            if subject == Subject::Task {
                // A task names its definition `taskDefinitionArn`.
                after.task_definition =
                    response.get("taskDefinitionArn").str()?.map(str::to_string);
            }
            after.or(&requested)
        } else {
            requested.clone()
        };
        if subject == Subject::Task {
            // A task's response carries no network configuration (only its
            // attachments): the request's is the task's.
            effective.awsvpc = requested.awsvpc.clone();
        }
        let service = match subject {
            Subject::Service => {
                let key = if created { "serviceName" } else { "service" };
                let name = request
                    .get(key)
                    .str()?
                    .or(response.get("serviceName").str()?)
                    .ok_or_else(|| request.get(key).error("missing"))?;
                // `service` in UpdateService may be an ARN.
                last_segment(name)
            }
            Subject::TaskSet => {
                let name = request
                    .get("service")
                    .str()?
                    .or(response.get("serviceArn").str()?)
                    .ok_or_else(|| request.get("service").error("missing"))?;
                last_segment(name)
            }
            Subject::Task => format!(
                "task {}",
                effective
                    .task_definition
                    .as_deref()
                    .map(last_segment)
                    .ok_or_else(|| request.get("taskDefinition").error("missing"))?
            ),
        };
        let task_set = match subject {
            // `ecs-svc/123…`, also inside a task set's ARN.
            Subject::TaskSet => request
                .get("taskSet")
                .str()?
                .or(response.get("id").str()?)
                .map(|id| match id.find("ecs-svc/") {
                    Some(at) => id[at..].to_string(),
                    None => last_segment(id),
                }),
            _ => None,
        };
        let (overrides, started_by) = match subject {
            Subject::Task => (
                TaskOverrides::from_json(&request.get("overrides"))?,
                request.get("startedBy").str()?.map(str::to_string),
            ),
            _ => (None, None),
        };
        Ok(Some(ServiceChange {
            subject,
            created,
            service,
            cluster,
            task_set,
            requested,
            effective,
            overrides,
            started_by,
        }))
    }

    /// `cluster/service`, `cluster/service/task-set`, `cluster/task family:revision`,
    /// for messages.
    pub fn resource(&self) -> String {
        match &self.task_set {
            Some(id) => format!("{}/{}/{id}", self.cluster, self.service),
            None => format!("{}/{}", self.cluster, self.service),
        }
    }

    /// The settings a rule about what the call *set* should judge: the whole
    /// service on creation, only the request on update (no re-alert on every
    /// scale-out).
    pub fn set_by_call(&self) -> &ServiceSettings {
        if self.created {
            &self.effective
        } else {
            &self.requested
        }
    }

    /// The state after the call.
    pub fn after(&self) -> &ServiceSettings {
        &self.effective
    }

    /// True when what the service runs or where it is reachable may have
    /// changed: a creation, or an update of the task definition, the
    /// network or the load balancers.
    pub fn changes_exposure(&self) -> bool {
        self.created
            || self.requested.task_definition.is_some()
            || self.requested.network_configured
            || self.requested.load_balancers.is_some()
    }

    /// The load balancers the tasks are registered with after the call;
    /// `None` when the record does not say.
    pub fn load_balancers(&self) -> Option<&[ServiceLoadBalancer]> {
        self.effective.load_balancers.as_deref()
    }

    /// The task definition the service deploys after the call: the
    /// response's revision ARN when present (a bare family in the request
    /// means "latest", which moves), else the request's.
    pub fn task_definition(&self) -> Option<&str> {
        self.effective.task_definition.as_deref()
    }

    /// The security groups the service's tasks get after the call.
    pub fn security_groups(&self) -> &[String] {
        self.effective
            .awsvpc
            .as_ref()
            .map_or(&[], AwsvpcConfiguration::groups)
    }
}

#[cfg(test)]
mod tests;
