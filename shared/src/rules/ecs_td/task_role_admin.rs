use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags a task definition whose task role grants admin-level or
    /// wildcard rights: an AWS-managed admin policy (`AdministratorAccess`,
    /// `PowerUserAccess`, `IAMFullAccess`, `AmazonECS_FullAccess`), or a
    /// statement allowing `*`, `NotAction`, `ecs:*` or `iam:*` on all
    /// resources. The Lambda reads the role's policies; offline the verdict
    /// says the check needs AWS. A role that cannot be read is reported as
    /// unknown, never as narrow.
    ///
    /// ## Why is this bad?
    /// Every process in every container of the task holds the role's
    /// credentials (through the task metadata endpoint): one remote code
    /// execution in the application is the whole account.
    ///
    /// ## Example
    /// `"taskRoleArn": "arn:aws:iam::111122223333:role/app"` with
    /// `AdministratorAccess` attached.
    ///
    /// ## Fix
    /// Give each task definition a role of its own with only the actions and
    /// resources the application calls.
    ///
    /// ## References
    /// Beyond the peers (seed: IAM scope); AWS ECS task IAM role best practices.
    pub static TASK_ROLE_ADMIN = {
        id: "ECS-TD-021",
        title: "Task role with admin-level or wildcard permissions",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond (seed: IAM scope)"],
        remediation: "Give the task a least-privilege role of its own: only the actions and resources the application calls.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Check over the definition and what the Lambda read of its task role.
pub fn evaluate(_td: &TaskDefinition, ctx: &TdContext) -> Vec<Hit> {
    let Some(access) = ctx.task_role else {
        return Vec::new();
    };
    match &access.findings {
        Ok(findings) => findings
            .iter()
            .map(|f| Hit::new(format!("task role {}: {f}", access.role)))
            .collect(),
        Err(why) => vec![Hit::new(format!(
            "task role {}: its permissions are unknown (the role could not be read: {why})",
            access.role
        ))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ecs_td::test_support::{container, task};
    use crate::rules::ecs_td::TaskRoleAccess;

    fn run(access: Option<&TaskRoleAccess>) -> Vec<String> {
        let policy = Policy::embedded();
        let ctx = TdContext {
            policy: &policy,
            account: "111122223333",
            task_role: access,
        };
        evaluate(&task(vec![container("app")]), &ctx)
            .into_iter()
            .map(|h| h.detail)
            .collect()
    }

    #[test]
    fn flags_what_it_should() {
        let role = "arn:aws:iam::111122223333:role/app".to_string();
        let admin = TaskRoleAccess {
            role: role.clone(),
            findings: Ok(vec![
                "arn:aws:iam::aws:policy/AdministratorAccess attached".to_string()
            ]),
        };
        assert_eq!(
            run(Some(&admin)),
            ["task role arn:aws:iam::111122223333:role/app: arn:aws:iam::aws:policy/AdministratorAccess attached"]
        );
        let narrow = TaskRoleAccess {
            role: role.clone(),
            findings: Ok(Vec::new()),
        };
        assert!(run(Some(&narrow)).is_empty());
        assert!(run(None).is_empty(), "offline: not judged");
        let unread = TaskRoleAccess {
            role,
            findings: Err("AccessDenied".to_string()),
        };
        assert_eq!(run(Some(&unread)).len(), 1, "unknown is said, never narrow");
    }
}
