use super::ClContext;
use crate::finding::{Action, Severity};
use crate::model::cl::ClusterChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a cluster created with Container Insights off, and an
    /// `UpdateCluster`/`UpdateClusterSettings` that turns it off. A creation
    /// that does not say takes the account default: the Lambda reads the
    /// cluster back (`DescribeClusters`); offline the verdict says it could
    /// not tell.
    ///
    /// ## Why is this bad?
    /// Without Container Insights a cluster has no task-level CPU, memory and
    /// network metrics: a crypto-miner or a crash loop goes unseen, and an
    /// incident has nothing to look back on.
    ///
    /// ## Example
    /// `CreateCluster {"clusterName": "prod", "settings": [{"name": "containerInsights", "value": "disabled"}]}`
    ///
    /// ## Fix
    /// `aws ecs update-cluster-settings --cluster prod --settings name=containerInsights,value=enhanced`
    ///
    /// ## References
    /// Security Hub ECS.12.
    pub static CONTAINER_INSIGHTS_OFF = {
        id: "ECS-CL-001",
        title: "Cluster without Container Insights",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH ECS.12"],
        remediation: "Turn Container Insights on for the cluster (`containerInsights` = `enabled` or `enhanced`).",
        check: crate::rules::Check::Cluster(evaluate),
    }
}

/// Pure check over the change.
pub fn evaluate(change: &ClusterChange, _ctx: &ClContext) -> Vec<Hit> {
    let ClusterChange::Cluster {
        created,
        cluster,
        requested,
        effective,
    } = change
    else {
        return Vec::new();
    };
    let judged = if *created { effective } else { requested };
    match judged.insights_on() {
        Some(false) => vec![Hit::new(format!(
            "cluster {cluster}: containerInsights {}",
            judged.container_insights.as_deref().unwrap_or("disabled")
        ))],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cl::{CREATE_CLUSTER, UPDATE_CLUSTER_SETTINGS};
    use crate::rules::ecs_cl::test_support::{change, run};
    use serde_json::json;

    #[test]
    fn flags_what_it_should() {
        let on = |v: &str| json!([{"name": "containerInsights", "value": v}]);
        for (name, request, expected) in [
            (
                CREATE_CLUSTER,
                json!({"clusterName": "prod", "settings": on("disabled")}),
                1,
            ),
            (
                CREATE_CLUSTER,
                json!({"clusterName": "prod", "settings": on("enhanced")}),
                0,
            ),
            (
                CREATE_CLUSTER,
                json!({"clusterName": "prod", "settings": on("enabled")}),
                0,
            ),
            (
                UPDATE_CLUSTER_SETTINGS,
                json!({"cluster": "prod", "settings": on("disabled")}),
                1,
            ),
            (
                UPDATE_CLUSTER_SETTINGS,
                json!({"cluster": "prod", "settings": on("enabled")}),
                0,
            ),
            // The account default applies: the guard reads the cluster, the rule does not guess.
            (CREATE_CLUSTER, json!({"clusterName": "prod"}), 0),
        ] {
            let hits = run(evaluate, &change(name, request.clone()));
            assert_eq!(hits.len(), expected, "{name} {request}: {hits:?}");
        }
        assert_eq!(
            run(
                evaluate,
                &change(
                    CREATE_CLUSTER,
                    json!({"clusterName": "prod", "settings": on("disabled")})
                )
            ),
            ["cluster prod: containerInsights disabled"]
        );
    }
}
