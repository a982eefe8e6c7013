use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags a task definition whose `taskRoleArn` and `executionRoleArn` name
    /// the same role.
    ///
    /// ## Why is this bad?
    /// The execution role is for the ECS agent (pull images, read secrets,
    /// write logs); the task role is for the application. One role for both
    /// hands the application every secret and registry the agent can read,
    /// and grants the agent whatever the application needs.
    ///
    /// ## Example
    /// `"taskRoleArn": "arn:aws:iam::111122223333:role/app"` and
    /// `"executionRoleArn": "arn:aws:iam::111122223333:role/app"`.
    ///
    /// ## Fix
    /// Give the task its own role with only the application's permissions, and
    /// keep the execution role to `AmazonECSTaskExecutionRolePolicy` and the
    /// task's secrets.
    ///
    /// ## References
    /// Checkov CKV_AWS_249.
    pub static TASK_ROLE_IS_EXECUTION_ROLE = {
        id: "ECS-TD-019",
        title: "Task role equals execution role",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["CKV_AWS_249"],
        remediation: "Use separate roles: a task role for the application and an execution role for the ECS agent.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    fn set(arn: Option<&str>) -> Option<&str> {
        arn.map(str::trim).filter(|a| !a.is_empty())
    }
    match (
        set(td.task_role_arn.as_deref()),
        set(td.execution_role_arn.as_deref()),
    ) {
        (Some(task), Some(execution)) if task == execution => vec![Hit::new(format!(
            "taskRoleArn and executionRoleArn are both {task}"
        ))],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_td::test_support::{container, run, task};

    const APP: &str = "arn:aws:iam::111122223333:role/app";

    #[test]
    fn flags_what_it_should() {
        let mut td = task(vec![container("app")]);
        assert!(run(evaluate, &td).is_empty());
        td.task_role_arn = Some(APP.into());
        assert!(run(evaluate, &td).is_empty(), "no execution role");
        td.execution_role_arn = Some("arn:aws:iam::111122223333:role/ecsTaskExecutionRole".into());
        assert!(run(evaluate, &td).is_empty(), "different roles");
        td.execution_role_arn = Some("arn:aws:iam::111122223333:role/api".into());
        assert!(run(evaluate, &td).is_empty(), "same length, different role");
        td.execution_role_arn = Some(format!(" {APP} "));
        assert_eq!(
            run(evaluate, &td),
            [format!("taskRoleArn and executionRoleArn are both {APP}")]
        );
        td.task_role_arn = None;
        assert!(run(evaluate, &td).is_empty(), "no task role");
        td.task_role_arn = Some(" ".into());
        td.execution_role_arn = Some(String::new());
        assert!(run(evaluate, &td).is_empty(), "blank is absent");
    }
}
