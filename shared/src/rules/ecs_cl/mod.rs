//! Rules about clusters, account settings and capacity providers (ECS-CL-*),
//! judged at `CreateCluster`, `UpdateCluster`, `UpdateClusterSettings`,
//! `PutAccountSetting(Default)` and `Create/UpdateCapacityProvider`.

pub mod account_insights_off;
pub mod cluster_tags_missing;
pub mod container_insights_off;
pub mod exec_sessions_unprotected;
pub mod no_termination_protection;

use crate::policy::Policy;

/// What a cluster rule sees besides the change.
pub struct ClContext<'a> {
    pub policy: &'a Policy,
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::ClContext;
    use crate::model::cl::ClusterChange;
    use crate::model::event::Event;
    use crate::policy::Policy;
    use crate::rules::ecs_td::Hit;

    pub fn change(name: &str, request: serde_json::Value) -> ClusterChange {
        let record = serde_json::json!({"eventID": "e", "eventName": name,
            "eventSource": "ecs.amazonaws.com", "requestParameters": request});
        ClusterChange::from_event(&Event::from_value(&record, "t").unwrap())
            .unwrap()
            .unwrap()
    }

    pub fn run_with(
        check: fn(&ClusterChange, &ClContext) -> Vec<Hit>,
        change: &ClusterChange,
        policy: &Policy,
    ) -> Vec<String> {
        check(change, &ClContext { policy })
            .into_iter()
            .map(|h| h.detail)
            .collect()
    }

    pub fn run(
        check: fn(&ClusterChange, &ClContext) -> Vec<Hit>,
        change: &ClusterChange,
    ) -> Vec<String> {
        run_with(check, change, &Policy::embedded())
    }
}
