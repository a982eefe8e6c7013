use super::ClContext;
use crate::finding::{Action, Severity};
use crate::model::cl::ClusterChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a cluster created without the tag keys the policy requires
    /// (`[required_tags] cluster`), or without any tag when the list is empty.
    ///
    /// ## Why is this bad?
    /// Tags name the owner and the environment. At 3 a.m. an untagged cluster
    /// has nobody to call, and tag-based access control (ABAC) cannot protect it.
    ///
    /// ## Example
    /// `CreateCluster {"clusterName": "prod"}` (no `tags`).
    ///
    /// ## Fix
    /// `aws ecs tag-resource --resource-arn <cluster-arn> --tags key=owner,value=payments`
    ///
    /// ## References
    /// Security Hub ECS.14.
    pub static CLUSTER_TAGS_MISSING = {
        id: "ECS-CL-003",
        title: "Required tags missing on a cluster",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["SH ECS.14"],
        remediation: "Tag the cluster with the keys the policy requires (owner, environment, …).",
        check: crate::rules::Check::Cluster(evaluate),
    }
}

/// Pure check over the change.
pub fn evaluate(change: &ClusterChange, ctx: &ClContext) -> Vec<Hit> {
    let ClusterChange::Cluster {
        created: true,
        cluster,
        effective,
        ..
    } = change
    else {
        return Vec::new();
    };
    let Some(tags) = &effective.tags else {
        return Vec::new();
    };
    crate::rules::missing_tags(tags, &ctx.policy.required_tags.cluster)
        .map(|missing| Hit::new(format!("cluster {cluster}: {missing}")))
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cl::{CREATE_CLUSTER, UPDATE_CLUSTER};
    use crate::policy::Policy;
    use crate::rules::ecs_cl::test_support::{change, run, run_with};
    use serde_json::json;

    #[test]
    fn flags_what_it_should() {
        let tagged =
            json!({"clusterName": "prod", "tags": [{"key": "owner", "value": "payments"}]});
        assert!(run(evaluate, &change(CREATE_CLUSTER, tagged.clone())).is_empty());
        assert_eq!(
            run(
                evaluate,
                &change(CREATE_CLUSTER, json!({"clusterName": "prod"}))
            ),
            ["cluster prod: no tags"]
        );
        assert!(run(
            evaluate,
            &change(UPDATE_CLUSTER, json!({"cluster": "prod"}))
        )
        .is_empty());
        let policy = Policy::from_toml(
            "[required_tags]\ncluster = [\"owner\", \"environment\"]",
            "t",
        )
        .unwrap();
        assert_eq!(
            run_with(evaluate, &change(CREATE_CLUSTER, tagged), &policy),
            ["cluster prod: missing tag keys: environment"]
        );
    }
}
