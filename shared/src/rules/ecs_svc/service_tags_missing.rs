use super::SvcContext;
use crate::finding::{Action, Severity};
use crate::model::svc::{ServiceChange, Subject};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a service created without the tag keys the policy requires
    /// (`[required_tags] service`), or without any tag when the list is empty.
    ///
    /// ## Why is this bad?
    /// Tags name the owner and the environment: an untagged service has
    /// nobody to call at 3 a.m., and tag-based access control cannot protect it.
    ///
    /// ## Example
    /// `CreateService {"serviceName": "web", …}` (no `tags`).
    ///
    /// ## Fix
    /// `aws ecs tag-resource --resource-arn <service-arn> --tags key=owner,value=payments`
    ///
    /// ## References
    /// Security Hub ECS.13.
    pub static SERVICE_TAGS_MISSING = {
        id: "ECS-SVC-011",
        title: "Required tags missing on a service",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["SH ECS.13"],
        remediation: "Tag the service with the keys the policy requires (owner, environment, …).",
        check: crate::rules::Check::Service(evaluate),
    }
}

/// Pure check over the created service.
pub fn evaluate(change: &ServiceChange, ctx: &SvcContext) -> Vec<Hit> {
    if change.subject != Subject::Service || !change.created {
        return Vec::new();
    }
    // Unknown (a sweep that did not read them) is not "none".
    let Some(tags) = &change.after().tags else {
        return Vec::new();
    };
    crate::rules::missing_tags(tags, &ctx.policy.required_tags.service)
        .map(Hit::new)
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ecs_svc::test_support::{change, run, run_with};
    use serde_json::json;

    #[test]
    fn flags_what_it_should() {
        assert_eq!(
            run(
                evaluate,
                &change("CreateService", json!({"serviceName": "web"}))
            ),
            ["no tags"]
        );
        let tagged = change(
            "CreateService",
            json!({"serviceName": "web", "tags": [{"key": "owner", "value": "payments"}]}),
        );
        assert!(run(evaluate, &tagged).is_empty());
        assert!(run(
            evaluate,
            &change("UpdateService", json!({"service": "web"}))
        )
        .is_empty());
        assert!(run(
            evaluate,
            &change("RunTask", json!({"taskDefinition": "job:1"}))
        )
        .is_empty());
        let policy = Policy::from_toml(
            "[required_tags]\nservice = [\"owner\", \"cost-center\"]",
            "t",
        )
        .unwrap();
        assert_eq!(
            run_with(evaluate, &tagged, &policy, None),
            ["missing tag keys: cost-center"]
        );
    }
}
