//! Rules about services (ECS-SVC-*), judged at `CreateService`/`UpdateService`.
//! ECS-SVC-004 and ECS-SVC-005 judge what only AWS can tell (the groups'
//! live rules, the deployed task definition): offline they never fire.

pub mod exec_enabled;
pub mod exec_on_unprotected_cluster;
pub mod inherits_task_findings;
pub mod no_security_groups;
pub mod open_security_group;
pub mod platform_version;
pub mod public_ip;
pub mod service_connect;
pub mod service_tags_missing;
pub mod task_overrides;
pub mod task_public_ip;
pub mod task_set_public_ip;

use crate::finding::Finding;
use crate::model::cl::ExecConfiguration;
use crate::policy::Policy;

/// What the service guard learned from AWS about the service's reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enrichment {
    /// Each attached group with the EC2-SG findings of its live ingress rules.
    pub groups: Vec<(String, Vec<Finding>)>,
    /// Groups whose rules could not be read, with the AWS error code.
    pub unchecked_groups: Vec<(String, String)>,
    /// The deployed task definition (`family:revision`) with its findings.
    pub task_definition: Option<(String, Vec<Finding>)>,
    /// The cluster's ECS Exec configuration, read when the call turns Exec on.
    pub cluster_exec: Option<(String, ExecConfiguration)>,
    /// The cluster whose Exec configuration could not be read (ECS-SVC-012
    /// reports it unknown, never "protected").
    pub cluster_exec_unknown: Option<String>,
}

/// What a service rule sees besides the change.
pub struct SvcContext<'a> {
    pub policy: &'a Policy,
    /// `None` offline: the checks that need AWS do not run.
    pub enrichment: Option<&'a Enrichment>,
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::SvcContext;
    use crate::model::event::Event;
    use crate::model::svc::ServiceChange;
    use crate::policy::Policy;
    use crate::rules::ecs_td::Hit;

    pub fn change(name: &str, request: serde_json::Value) -> ServiceChange {
        let record =
            serde_json::json!({"eventID": "e", "eventName": name, "requestParameters": request});
        ServiceChange::from_event(&Event::from_value(&record, "t").unwrap())
            .unwrap()
            .unwrap()
    }

    pub fn run(
        check: fn(&ServiceChange, &SvcContext) -> Vec<Hit>,
        change: &ServiceChange,
    ) -> Vec<String> {
        run_with(check, change, &Policy::embedded(), None)
    }

    pub fn run_with(
        check: fn(&ServiceChange, &SvcContext) -> Vec<Hit>,
        change: &ServiceChange,
        policy: &Policy,
        enrichment: Option<&super::Enrichment>,
    ) -> Vec<String> {
        check(change, &SvcContext { policy, enrichment })
            .into_iter()
            .map(|h| h.detail)
            .collect()
    }
}
