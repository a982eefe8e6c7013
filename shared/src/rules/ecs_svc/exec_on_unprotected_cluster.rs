use super::SvcContext;
use crate::finding::{Action, Severity};
use crate::model::svc::ServiceChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a service, task set or standalone task that turns ECS Exec on
    /// (`enableExecuteCommand: true`) in a cluster whose Exec configuration
    /// logs no session or does not encrypt sessions with a KMS key. The
    /// Lambda reads the cluster (`DescribeClusters`); offline it is not judged.
    ///
    /// ## Why is this bad?
    /// A shell into a running task, with nothing recorded of what was typed
    /// and no key policy deciding who may open one: the one way in that
    /// leaves no trace.
    ///
    /// ## Example
    /// `CreateService {"enableExecuteCommand": true, "cluster": "prod"}` with
    /// `prod`'s `executeCommandConfiguration.logging: NONE`.
    ///
    /// ## Fix
    /// Give the cluster `executeCommandConfiguration` with a `kmsKeyId` and
    /// `logging: OVERRIDE` to an encrypted log group or bucket, or turn Exec off.
    ///
    /// ## References
    /// Beyond the peers (joins ECS-SVC-002 with ECS-CL-002; Checkov CKV_AWS_223/224 judge the cluster alone).
    pub static EXEC_ON_UNPROTECTED_CLUSTER = {
        id: "ECS-SVC-012",
        title: "ECS Exec on a cluster that does not log or encrypt exec sessions",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond (ECS-SVC-002 with ECS-CL-002)"],
        remediation: "Log and KMS-encrypt the cluster's exec sessions (executeCommandConfiguration), or turn Exec off.",
        check: crate::rules::Check::Service(evaluate),
    }
}

/// Check over the change and the cluster the Lambda read.
pub fn evaluate(change: &ServiceChange, ctx: &SvcContext) -> Vec<Hit> {
    if change.set_by_call().enable_execute_command != Some(true) {
        return Vec::new();
    }
    let Some(enrichment) = ctx.enrichment else {
        return Vec::new();
    };
    if let Some(cluster) = &enrichment.cluster_exec_unknown {
        return vec![Hit::new(format!(
            "enableExecuteCommand: true in cluster {cluster}: whether exec sessions are logged and encrypted is unknown (the cluster could not be read)"
        ))];
    }
    let Some((cluster, exec)) = &enrichment.cluster_exec else {
        return Vec::new();
    };
    let weaknesses = exec.weaknesses();
    if weaknesses.is_empty() {
        return Vec::new();
    }
    vec![Hit::new(format!(
        "enableExecuteCommand: true in cluster {cluster}: {}",
        weaknesses.join("; ")
    ))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cl::ExecConfiguration;
    use crate::policy::Policy;
    use crate::rules::ecs_svc::test_support::{change, run_with};
    use crate::rules::ecs_svc::Enrichment;
    use serde_json::json;

    #[test]
    fn flags_what_it_should() {
        let policy = Policy::embedded();
        let with = |exec: ExecConfiguration| Enrichment {
            cluster_exec: Some(("prod".to_string(), exec)),
            ..Enrichment::default()
        };
        let open = with(ExecConfiguration {
            logging: Some("NONE".into()),
            ..ExecConfiguration::default()
        });
        let guarded = with(ExecConfiguration {
            logging: Some("DEFAULT".into()),
            kms_key_id: Some("arn:aws:kms:eu-west-1:1:key/k".into()),
            ..ExecConfiguration::default()
        });
        let on = change(
            "CreateService",
            json!({"serviceName": "web", "cluster": "prod", "enableExecuteCommand": true}),
        );
        let off = change(
            "CreateService",
            json!({"serviceName": "web", "cluster": "prod"}),
        );
        assert_eq!(
            run_with(evaluate, &on, &policy, Some(&open)),
            ["enableExecuteCommand: true in cluster prod: exec session logging NONE; exec sessions not encrypted with a KMS key"]
        );
        assert!(run_with(evaluate, &on, &policy, Some(&guarded)).is_empty());
        assert!(run_with(evaluate, &off, &policy, Some(&open)).is_empty());
        assert!(
            run_with(evaluate, &on, &policy, None).is_empty(),
            "offline: not judged"
        );
        let unread = Enrichment {
            cluster_exec_unknown: Some("prod".to_string()),
            ..Enrichment::default()
        };
        assert_eq!(
            run_with(evaluate, &on, &policy, Some(&unread)),
            ["enableExecuteCommand: true in cluster prod: whether exec sessions are logged and encrypted is unknown (the cluster could not be read)"]
        );
        assert!(run_with(evaluate, &off, &policy, Some(&unread)).is_empty());
        let task = change(
            "RunTask",
            json!({"taskDefinition": "debug:1", "cluster": "prod", "enableExecuteCommand": true}),
        );
        assert_eq!(run_with(evaluate, &task, &policy, Some(&open)).len(), 1);
    }
}
