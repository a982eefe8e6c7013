//! `CreateService` and `UpdateService` records: what the call set, and the
//! service's effective state after it (DESIGN §3: in UpdateService an absent
//! field means "unchanged").

use crate::event::Event;
use crate::json::{FieldError, Node};

pub const CREATE_SERVICE: &str = "CreateService";
pub const UPDATE_SERVICE: &str = "UpdateService";

/// `networkConfiguration.awsvpcConfiguration` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsvpcConfiguration {
    pub security_groups: Vec<String>,
    pub subnets: Vec<String>,
    /// `assignPublicIp: ENABLED` (absent means DISABLED).
    pub assign_public_ip: bool,
}

/// The settings of a service the rules judge. Each is `None` when the source
/// (the request of an UpdateService, say) does not say.
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

impl ServiceSettings {
    fn from_json(node: &Node<'_>) -> Result<ServiceSettings, FieldError> {
        let network = node.get("networkConfiguration");
        let awsvpc = network.get("awsvpcConfiguration");
        let strings = |n: Node<'_>| -> Result<Vec<String>, FieldError> {
            n.items()?
                .iter()
                .map(|i| i.required_str().map(str::to_string))
                .collect()
        };
        let awsvpc = if awsvpc.is_present() {
            Some(AwsvpcConfiguration {
                security_groups: strings(awsvpc.get("securityGroups"))?,
                subnets: strings(awsvpc.get("subnets"))?,
                assign_public_ip: awsvpc
                    .get("assignPublicIp")
                    .str()?
                    .is_some_and(|v| v.eq_ignore_ascii_case("ENABLED")),
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
    /// The service after the call (`responseElements.service`), when the record has it.
    pub effective: Option<ServiceSettings>,
}

impl ServiceChange {
    /// Reads a CreateService or UpdateService record; `Ok(None)` for any other event.
    pub fn from_event(event: &Event) -> Result<Option<ServiceChange>, FieldError> {
        let created = match event.name.as_str() {
            CREATE_SERVICE => true,
            UPDATE_SERVICE => false,
            _ => return Ok(None),
        };
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
        let effective = if response.is_present() && !response.is_omitted() {
            Some(ServiceSettings::from_json(&response)?)
        } else {
            None
        };
        Ok(Some(ServiceChange {
            created,
            service,
            cluster,
            requested: ServiceSettings::from_json(&request)?,
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
        match (&self.effective, self.created) {
            (Some(effective), true) => effective,
            _ => &self.requested,
        }
    }

    /// The state after the call: the response when present, else the request.
    pub fn after(&self) -> &ServiceSettings {
        self.effective.as_ref().unwrap_or(&self.requested)
    }

    /// True when what the service runs or where it is reachable may have
    /// changed: a creation, or an update of the task definition or network.
    pub fn changes_exposure(&self) -> bool {
        self.created
            || self.requested.task_definition.is_some()
            || self.requested.network_configured
    }

    /// The task definition the service deploys after the call.
    pub fn task_definition(&self) -> Option<&str> {
        self.requested
            .task_definition
            .as_deref()
            .or(self.after().task_definition.as_deref())
    }

    /// The security groups the service's tasks get after the call.
    pub fn security_groups(&self) -> Vec<String> {
        match (&self.requested.awsvpc, &self.after().awsvpc) {
            (Some(req), _) if self.requested.network_configured => req.security_groups.clone(),
            (_, Some(after)) => after.security_groups.clone(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, request: serde_json::Value, response: serde_json::Value) -> Event {
        Event::from_value(
            &json!({"eventID": "e", "eventName": name, "requestParameters": request, "responseElements": response}),
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
        assert!(c.set_by_call().awsvpc.as_ref().unwrap().assign_public_ip);
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
