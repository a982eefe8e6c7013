use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags a task definition without the tags the policy requires
    /// (`required_tags.task_definition`): with an empty list, at least one tag;
    /// otherwise every listed key (keys are case-sensitive). When the tags
    /// could not be read (a record that carries only the response, without
    /// them), it says so rather than passing.
    ///
    /// ## Why is this bad?
    /// Untagged definitions have no owner, cost centre or data class on record:
    /// alerts about them cannot be routed, and tag-based access control (ABAC)
    /// and exemptions cannot apply.
    ///
    /// ## Example
    /// A `RegisterTaskDefinition` without `tags`, or without the `owner` key the
    /// policy requires.
    ///
    /// ## Fix
    /// Register the definition with `"tags": [{"key": "owner", "value": "…"}]`,
    /// or tag the revision with `aws ecs tag-resource`.
    ///
    /// ## References
    /// Security Hub ECS.15.
    pub static REQUIRED_TAGS = {
        id: "ECS-TD-026",
        title: "Required tags missing (policy-configurable keys)",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["SH ECS.15"],
        remediation: "Tag the task definition with the keys the policy requires (`required_tags.task_definition`).",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, ctx: &TdContext) -> Vec<Hit> {
    let required = &ctx.policy.required_tags.task_definition;
    let Some(tags) = &td.tags else {
        return vec![Hit::new(
            "tags unknown (not read with the definition): required tags unverified",
        )];
    };
    if required.is_empty() {
        return if tags.is_empty() {
            vec![Hit::new("no tags")]
        } else {
            Vec::new()
        };
    }
    let missing: Vec<&str> = required
        .iter()
        .map(|k| k.as_str())
        .filter(|k| !tags.iter().any(|t| t.key == *k))
        .collect();
    if missing.is_empty() {
        Vec::new()
    } else {
        vec![Hit::new(format!(
            "missing tag keys: {}",
            missing.join(", ")
        ))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::td::Tag;
    use crate::policy::Policy;
    use crate::rules::ecs_td::test_support::{container, task};

    fn tag(key: &str) -> Tag {
        Tag {
            key: key.to_string(),
            value: "x".to_string(),
        }
    }

    fn run(td: &TaskDefinition, required: &[&str]) -> Vec<String> {
        let mut policy = Policy::embedded();
        policy.required_tags.task_definition = required.iter().map(|k| k.to_string()).collect();
        let ctx = TdContext {
            task_role: None,
            policy: &policy,
            account: "111122223333",
        };
        evaluate(td, &ctx).into_iter().map(|h| h.detail).collect()
    }

    #[test]
    fn an_empty_list_asks_for_any_tag() {
        let mut td = task(vec![container("app")]);
        td.tags = Some(vec![]);
        assert_eq!(run(&td, &[]), ["no tags"]);
        td.tags = Some(vec![tag("anything")]);
        assert!(run(&td, &[]).is_empty());
    }

    #[test]
    fn listed_keys_must_all_be_there_case_sensitively() {
        let mut td = task(vec![container("app")]);
        td.tags = Some(vec![tag("owner"), tag("Team")]);
        assert!(run(&td, &["owner"]).is_empty());
        assert_eq!(
            run(&td, &["owner", "team", "cost-center"]),
            ["missing tag keys: team, cost-center"]
        );
        td.tags = Some(vec![]);
        assert_eq!(run(&td, &["owner"]), ["missing tag keys: owner"]);
    }

    #[test]
    fn unknown_tags_are_not_a_pass() {
        let mut td = task(vec![container("app")]);
        td.tags = None;
        for required in [&[][..], &["owner"][..]] {
            assert_eq!(
                run(&td, required),
                ["tags unknown (not read with the definition): required tags unverified"]
            );
        }
    }
}
