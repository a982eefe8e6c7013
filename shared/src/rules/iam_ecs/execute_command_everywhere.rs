use super::{grant_hits, holder, IamContext};
use crate::finding::{Action, Severity};
use crate::model::iam::{GrantKind, IamChange};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an identity policy change — attached, put on a role, user or
    /// group, or a new policy version — that grants `ecs:ExecuteCommand` on
    /// all tasks: by name, or through `ecs:Execute*`, `ecs:*`, `*`, or a
    /// `NotAction` that leaves it in, on `*` (or every task of an account).
    /// Conditions and `Deny` statements that narrow it are named in the finding.
    ///
    /// ## Why is this bad?
    /// ECS Exec is an interactive shell in any running task with Exec turned
    /// on, as the container's user, with the task role's credentials at hand.
    /// Granted on all resources, whoever holds it can enter every such task
    /// in the account, bypassing the application entirely.
    ///
    /// ## Example
    /// `{"Effect": "Allow", "Action": "ecs:ExecuteCommand", "Resource": "*"}`
    ///
    /// ## Fix
    /// Grant `ecs:ExecuteCommand` on named clusters and tasks only, with
    /// conditions on `ecs:container-name` or resource tags; keep Exec off
    /// where it is not needed (ECS-SVC-002).
    ///
    /// ## References
    /// Beyond the peers (the seed's ways to access); AWS ECS Exec
    /// documentation: limiting access with IAM.
    pub static EXECUTE_COMMAND_EVERYWHERE = {
        id: "IAM-ECS-002",
        title: "`ecs:ExecuteCommand` granted on all resources",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["beyond (seed: ways to access)"],
        remediation: "Scope ecs:ExecuteCommand to named clusters and tasks, with conditions on container name or tags.",
        check: crate::rules::Check::Iam(evaluate),
    }
}

/// Pure check over the change (and, for an attached customer-managed
/// policy, the document the guard read).
pub fn evaluate(change: &IamChange, ctx: &IamContext) -> Vec<Hit> {
    grant_hits(change, ctx.facts, holder(change).as_deref(), |k| {
        k == GrantKind::ExecuteCommand
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::iam::{
        ATTACH_GROUP_POLICY, ATTACH_USER_POLICY, CREATE_POLICY_VERSION, PUT_USER_POLICY,
        UPDATE_ASSUME_ROLE_POLICY,
    };
    use crate::rules::iam_ecs::test_support::{change, put, run};
    use serde_json::json;

    #[test]
    fn exec_on_everything() {
        let user = put(
            PUT_USER_POLICY,
            ("userName", "dev"),
            r#"{"Statement":[{"Sid":"Debug","Effect":"Allow","Action":["ecs:ExecuteCommand","ecs:DescribeTasks"],"Resource":"*"}]}"#,
        );
        assert_eq!(
            run(evaluate, &user),
            ["user dev: inline policy app, Sid Debug: ecs:ExecuteCommand on *"]
        );
        let power = change(
            ATTACH_USER_POLICY,
            json!({"userName": "dev", "policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}),
        );
        assert_eq!(
            run(evaluate, &power),
            ["user dev: arn:aws:iam::aws:policy/PowerUserAccess attached: ecs:ExecuteCommand on * (through NotAction [iam:*, organizations:*, account:*])"]
        );
        let version = change(
            CREATE_POLICY_VERSION,
            json!({"policyArn": "arn:aws:iam::111122223333:policy/ci", "setAsDefault": false,
                   "policyDocument": r#"{"Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}}"#}),
        );
        let hits = run(evaluate, &version);
        assert_eq!(
            hits,
            ["arn:aws:iam::111122223333:policy/ci new version (not the default: in effect once made default), Statement[0]: ecs:ExecuteCommand on * (through ecs:*), with a condition on aws:SourceIp (IpAddress)"]
        );
        assert!(
            !hits[0].contains("203.0.113"),
            "condition values are never repeated"
        );
    }

    #[test]
    fn not_when_scoped_not_granted_or_not_a_permission_policy() {
        for document in [
            r#"{"Statement":{"Effect":"Allow","Action":"ecs:ExecuteCommand","Resource":"arn:aws:ecs:eu-west-1:111122223333:task/prod/*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Deny","Action":"ecs:ExecuteCommand","Resource":"*"}}"#,
        ] {
            assert!(
                run(
                    evaluate,
                    &put(PUT_USER_POLICY, ("userName", "dev"), document)
                )
                .is_empty(),
                "{document}"
            );
        }
        let ro = change(
            ATTACH_GROUP_POLICY,
            json!({"groupName": "ops", "policyArn": "arn:aws:iam::aws:policy/IAMFullAccess"}),
        );
        assert!(run(evaluate, &ro).is_empty());
        let trust = change(
            UPDATE_ASSUME_ROLE_POLICY,
            json!({"roleName": "r", "policyDocument": r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*"}}"#}),
        );
        assert!(run(evaluate, &trust).is_empty());
    }
}
