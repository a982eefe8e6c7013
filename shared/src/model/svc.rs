//! `CreateService` and `UpdateService` records: what the call set, and the
//! service's effective state after it (DESIGN §3). Request and response are
//! both evidence and either may be partial: the state after the call is judged
//! field by field, the response where it carries the field, the request where
//! it does not. In UpdateService an absent field means "unchanged".

use crate::model::event::Event;
use crate::model::json::{FieldError, Node};

pub const CREATE_SERVICE: &str = "CreateService";
pub const UPDATE_SERVICE: &str = "UpdateService";

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
        Ok(ServiceSettings {
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
        }
    }
}

/// One CreateService or UpdateService call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceChange {
    pub created: bool,
    pub service: String,
    /// `default` when the request names none.
    pub cluster: String,
    /// What the request set.
    pub requested: ServiceSettings,
    /// The service after the call: `responseElements.service` field by field,
    /// the request where the response does not carry a field.
    pub effective: ServiceSettings,
}

impl ServiceChange {
    /// Reads a CreateService or UpdateService record of ECS; `Ok(None)` for
    /// any other event (App Runner's CreateService, Cloud Map's UpdateService).
    pub fn from_event(event: &Event) -> Result<Option<ServiceChange>, FieldError> {
        let created = match event.name.as_str() {
            CREATE_SERVICE => true,
            UPDATE_SERVICE => false,
            _ => return Ok(None),
        };
        if !event.is_from("ecs") {
            return Ok(None);
        }
        let request = event.request();
        if request.is_omitted() || !request.is_present() {
            return Err(request.error("missing or omitted by CloudTrail"));
        }
        let response = event.response().get("service");
        let name_key = if created { "serviceName" } else { "service" };
        let service = request
            .get(name_key)
            .str()?
            .or(response.get("serviceName").str()?)
            .ok_or_else(|| request.get(name_key).error("missing"))?;
        // `service` in UpdateService may be an ARN: keep the last path segment.
        let service = service.rsplit('/').next().unwrap_or(service).to_string();
        let cluster = request
            .get("cluster")
            .str()?
            .or(response.get("clusterArn").str()?)
            .map_or("default".to_string(), |c| {
                c.rsplit('/').next().unwrap_or(c).to_string()
            });
        let mut requested = ServiceSettings::from_json(&request, Absent::Default)?;
        if created {
            // A new service without the flag has ECS Exec off.
            requested.enable_execute_command = requested.enable_execute_command.or(Some(false));
        }
        let effective = if response.is_present() && !response.is_omitted() {
            ServiceSettings::from_json(&response, Absent::Unknown)?.or(&requested)
        } else {
            requested.clone()
        };
        Ok(Some(ServiceChange {
            created,
            service,
            cluster,
            requested,
            effective,
        }))
    }

    /// `cluster/service`, for messages.
    pub fn resource(&self) -> String {
        format!("{}/{}", self.cluster, self.service)
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
    /// changed: a creation, or an update of the task definition or network.
    pub fn changes_exposure(&self) -> bool {
        self.created
            || self.requested.task_definition.is_some()
            || self.requested.network_configured
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
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, request: serde_json::Value, response: serde_json::Value) -> Event {
        Event::from_value(
            &json!({"eventID": "e", "eventName": name, "eventSource": "ecs.amazonaws.com",
                    "requestParameters": request, "responseElements": response}),
            "t",
        )
        .unwrap()
    }

    #[test]
    fn create_reads_the_whole_service() {
        let e = event(
            CREATE_SERVICE,
            json!({"serviceName": "web", "taskDefinition": "web:3", "enableExecuteCommand": true,
                   "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}}}),
            json!(null),
        );
        let c = ServiceChange::from_event(&e).unwrap().unwrap();
        assert_eq!(c.resource(), "default/web");
        assert!(c.set_by_call().awsvpc.as_ref().unwrap().public_ip());
        assert_eq!(c.security_groups(), vec!["sg-1"]);
        assert!(c.changes_exposure());
    }

    #[test]
    fn update_keeps_absent_fields_unchanged() {
        let e = event(
            UPDATE_SERVICE,
            json!({"cluster": "prod", "service": "arn:aws:ecs:eu-west-1:1:service/prod/web", "desiredCount": 4}),
            json!({"service": {"serviceName": "web", "taskDefinition": "arn:aws:ecs:eu-west-1:1:task-definition/web:3",
                   "enableExecuteCommand": true,
                   "networkConfiguration": {"awsvpcConfiguration": {"securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}}}}),
        );
        let c = ServiceChange::from_event(&e).unwrap().unwrap();
        assert_eq!(c.resource(), "prod/web");
        assert_eq!(
            c.set_by_call().enable_execute_command,
            None,
            "a scale-out sets nothing"
        );
        assert!(!c.changes_exposure());
        assert_eq!(c.security_groups(), vec!["sg-1"], "the effective groups");
    }

    #[test]
    fn a_partial_response_is_judged_field_by_field() {
        // The response is trimmed to ARN, name and status: the request still speaks.
        let e = event(
            CREATE_SERVICE,
            json!({"serviceName": "web", "taskDefinition": "web", "enableExecuteCommand": true,
                   "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "ENABLED"}}}),
            json!({"service": {"serviceArn": "arn:aws:ecs:eu-west-1:1:service/default/web", "serviceName": "web", "status": "ACTIVE",
                   "taskDefinition": "arn:aws:ecs:eu-west-1:1:task-definition/web:7",
                   "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}}}),
        );
        let c = ServiceChange::from_event(&e).unwrap().unwrap();
        let after = c.set_by_call();
        assert_eq!(after.enable_execute_command, Some(true));
        let vpc = after.awsvpc.as_ref().unwrap();
        assert!(
            vpc.public_ip(),
            "the request's assignPublicIp fills the gap"
        );
        assert_eq!(vpc.security_groups, Some(vec![]), "the request named none");
        assert_eq!(
            c.task_definition(),
            Some("arn:aws:ecs:eu-west-1:1:task-definition/web:7"),
            "the response's revision, not the moving family"
        );

        // Where the response carries a field, it wins.
        let e = event(
            CREATE_SERVICE,
            json!({"serviceName": "web", "enableExecuteCommand": true}),
            json!({"service": {"serviceName": "web", "enableExecuteCommand": false}}),
        );
        let c = ServiceChange::from_event(&e).unwrap().unwrap();
        assert_eq!(c.set_by_call().enable_execute_command, Some(false));
    }

    #[test]
    fn an_omitted_network_configuration_is_an_error_not_a_private_service() {
        let e = event(
            CREATE_SERVICE,
            json!({"serviceName": "web", "networkConfiguration": {"awsvpcConfiguration": {"omitted": true}}}),
            json!(null),
        );
        assert_eq!(
            ServiceChange::from_event(&e).unwrap_err().path,
            "requestParameters.networkConfiguration.awsvpcConfiguration"
        );
    }

    #[test]
    fn other_services_calls_of_the_same_name_are_not_ecs() {
        for source in ["apprunner.amazonaws.com", "servicediscovery.amazonaws.com"] {
            let mut e = event(CREATE_SERVICE, json!({"serviceName": "web"}), json!(null));
            e.source = source.to_string();
            assert_eq!(ServiceChange::from_event(&e).unwrap(), None, "{source}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let e = event(
            CREATE_SERVICE,
            json!({"serviceName": "web", "enableExecuteCommand": "sometimes"}),
            json!(null),
        );
        assert_eq!(
            ServiceChange::from_event(&e).unwrap_err().path,
            "requestParameters.enableExecuteCommand"
        );
    }
}
