use super::{grant_hits, holder, IamContext};
use crate::finding::{Action, Severity};
use crate::model::iam::{GrantKind, IamChange};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an identity policy change whose document grants `iam:PassRole`
    /// on all roles (`*`, or every role of an account) together with any of
    /// `ecs:RunTask`, `ecs:StartTask`, `ecs:RegisterTaskDefinition`,
    /// `ecs:CreateService` or `ecs:UpdateService` (on any resource), directly
    /// or through wildcards. Conditions (such as `iam:PassedToService`) and
    /// `Deny` statements that narrow it are named in the finding.
    ///
    /// ## Why is this bad?
    /// Whoever holds both can register a task definition (or override one at
    /// `RunTask`) with any role ECS tasks may assume as its task role, run it,
    /// and act with that role's rights: a well-known privilege escalation
    /// path from "can deploy" to "can be anyone ECS can be".
    ///
    /// ## Example
    /// `[{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
    ///   {"Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*"}]`
    ///
    /// ## Fix
    /// Scope `iam:PassRole` to the few task and execution roles the
    /// deployment needs, by ARN, with `iam:PassedToService:
    /// ecs-tasks.amazonaws.com`.
    ///
    /// ## References
    /// Beyond the peers (a known escalation path: passing a privileged role
    /// to compute one controls); AWS IAM User Guide: granting a user
    /// permissions to pass a role to an AWS service.
    pub static PASS_ROLE_WITH_LAUNCH = {
        id: "IAM-ECS-003",
        title: "`iam:PassRole` on all resources together with ECS task launch or registration",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond (known escalation path)"],
        remediation: "Scope iam:PassRole to the named task and execution roles the deployment needs.",
        check: crate::rules::Check::Iam(evaluate),
    }
}

/// Pure check over the change (and, for an attached customer-managed
/// policy, the document the guard read).
pub fn evaluate(change: &IamChange, ctx: &IamContext) -> Vec<Hit> {
    grant_hits(change, ctx.facts, holder(change).as_deref(), |k| {
        k == GrantKind::PassRoleWithLaunch
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::iam::{ATTACH_ROLE_POLICY, ATTACH_USER_POLICY, PUT_GROUP_POLICY};
    use crate::rules::iam_ecs::test_support::{change, put, run};
    use serde_json::json;

    #[test]
    fn pass_role_with_launch_in_one_document() {
        let group = put(
            PUT_GROUP_POLICY,
            ("groupName", "deployers"),
            r#"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"},
                {"Effect":"Allow","Action":["ecs:RunTask","ecs:DescribeTasks"],"Resource":"*"}]}"#,
        );
        assert_eq!(
            run(evaluate, &group),
            ["group deployers: inline policy app, Statement[0] + Statement[1]: iam:PassRole on * with ecs:RunTask"]
        );
        let admin = change(
            ATTACH_USER_POLICY,
            json!({"userName": "dev", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        );
        assert_eq!(
            run(evaluate, &admin),
            ["user dev: arn:aws:iam::aws:policy/AdministratorAccess attached: iam:PassRole on * (through *) with ecs:RunTask, ecs:StartTask, ecs:RegisterTaskDefinition, ecs:CreateService, ecs:UpdateService"]
        );
        // AmazonECS_FullAccess passes roles only to ECS tasks: reported, with the condition.
        let ecs_full = change(
            ATTACH_ROLE_POLICY,
            json!({"roleName": "ci", "policyArn": "arn:aws:iam::aws:policy/AmazonECS_FullAccess"}),
        );
        let hits = run(evaluate, &ecs_full);
        assert_eq!(hits.len(), 1);
        assert!(
            hits[0]
                .ends_with("with a condition on iam:PassedToService (StringLike) (Statement[1])"),
            "{hits:?}"
        );
    }

    #[test]
    fn not_without_both_halves_or_with_scoped_roles() {
        for document in [
            r#"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"ecs:RunTask","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":["iam:PassRole","ecs:RunTask"],"Resource":"arn:aws:iam::111122223333:role/orders-api-task"}]}"#,
            r#"{"Statement":[{"Effect":"Deny","Action":["iam:PassRole","ecs:RunTask"],"Resource":"*"}]}"#,
        ] {
            assert!(
                run(
                    evaluate,
                    &put(PUT_GROUP_POLICY, ("groupName", "g"), document)
                )
                .is_empty(),
                "{document}"
            );
        }
        let iam_full = change(
            ATTACH_USER_POLICY,
            json!({"userName": "dev", "policyArn": "arn:aws:iam::aws:policy/IAMFullAccess"}),
        );
        assert!(
            run(evaluate, &iam_full).is_empty(),
            "PassRole without launch"
        );
    }
}
