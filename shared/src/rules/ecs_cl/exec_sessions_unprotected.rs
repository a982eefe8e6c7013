use super::ClContext;
use crate::finding::{Action, Severity};
use crate::model::cl::ClusterChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a cluster whose ECS Exec configuration
    /// (`configuration.executeCommandConfiguration`) logs no session
    /// (`logging: NONE`, or `OVERRIDE` without a log group or bucket) or does
    /// not encrypt sessions with a KMS key (`kmsKeyId` absent). A cluster
    /// created without the configuration has no key. An update is judged
    /// only when it sets the configuration.
    ///
    /// ## Why is this bad?
    /// ECS Exec is an interactive shell in a running task. Unlogged sessions
    /// leave no record of what was typed; without a customer key the session
    /// data is protected by TLS only and no key policy decides who may open one.
    ///
    /// ## Example
    /// `{"configuration": {"executeCommandConfiguration": {"logging": "NONE"}}}`
    ///
    /// ## Fix
    /// Set `kmsKeyId` and `logging: OVERRIDE` with an encrypted CloudWatch
    /// log group or S3 bucket.
    ///
    /// ## References
    /// Checkov CKV_AWS_223 and CKV_AWS_224; AWS ECS Exec documentation.
    pub static EXEC_SESSIONS_UNPROTECTED = {
        id: "ECS-CL-002",
        title: "ECS Exec logging off or sessions not KMS-encrypted",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["CKV_AWS_223", "CKV_AWS_224"],
        remediation: "Set executeCommandConfiguration.kmsKeyId and logging OVERRIDE to an encrypted log group or bucket.",
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
    let Some(exec) = &judged.exec else {
        return Vec::new();
    };
    let weaknesses = exec.weaknesses();
    if weaknesses.is_empty() {
        return Vec::new();
    }
    vec![Hit::new(format!(
        "cluster {cluster}: {}",
        weaknesses.join("; ")
    ))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cl::{CREATE_CLUSTER, UPDATE_CLUSTER};
    use crate::rules::ecs_cl::test_support::{change, run};
    use serde_json::json;

    #[test]
    fn flags_what_it_should() {
        let exec = |e: serde_json::Value| json!({"executeCommandConfiguration": e});
        let good = exec(
            json!({"kmsKeyId": "arn:aws:kms:eu-west-1:1:key/k", "logging": "OVERRIDE",
            "logConfiguration": {"cloudWatchLogGroupName": "/ecs/exec", "cloudWatchEncryptionEnabled": true}}),
        );
        assert!(run(
            evaluate,
            &change(
                CREATE_CLUSTER,
                json!({"clusterName": "prod", "configuration": good})
            )
        )
        .is_empty());
        assert_eq!(
            run(
                evaluate,
                &change(CREATE_CLUSTER, json!({"clusterName": "prod"}))
            ),
            ["cluster prod: exec sessions not encrypted with a KMS key"]
        );
        assert_eq!(
            run(
                evaluate,
                &change(
                    UPDATE_CLUSTER,
                    json!({"cluster": "prod",
                "configuration": exec(json!({"kmsKeyId": "k", "logging": "NONE"}))})
                )
            ),
            ["cluster prod: exec session logging NONE"]
        );
        assert_eq!(
            run(
                evaluate,
                &change(
                    UPDATE_CLUSTER,
                    json!({"cluster": "prod",
                "configuration": exec(json!({"kmsKeyId": "k", "logging": "OVERRIDE"}))})
                )
            ),
            ["cluster prod: exec session logging OVERRIDE without a log group or bucket"]
        );
        // An update that does not touch the configuration says nothing about it.
        assert!(run(
            evaluate,
            &change(
                UPDATE_CLUSTER,
                json!({"cluster": "prod",
            "settings": [{"name": "containerInsights", "value": "enabled"}]})
            )
        )
        .is_empty());
    }
}
