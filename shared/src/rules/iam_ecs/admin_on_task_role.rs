use super::{grant_hits, IamContext};
use crate::finding::{Action, Severity};
use crate::model::iam::{role_findings, GrantKind, IamChange, Identity};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an admin-level or wildcard grant — every action (`*`, `*:*`,
    /// `NotAction`) on all resources, `ecs:*` or `iam:*` on all resources, or
    /// an AWS-managed admin policy (`AdministratorAccess`, `PowerUserAccess`,
    /// `IAMFullAccess`, `AmazonECS_FullAccess`) — that reaches a role ECS
    /// tasks assume (trusted by `ecs-tasks.amazonaws.com`): attached to it
    /// (`AttachRolePolicy`), put on it (`PutRolePolicy`), in a new version of
    /// a policy attached to such a role (`CreatePolicyVersion`), or a role
    /// with such rights newly trusting ECS tasks (`UpdateAssumeRolePolicy`).
    /// Conditions and `Deny` statements that narrow the grant are named in
    /// the finding, never a reason to stay silent. Whether ECS tasks assume
    /// the role only AWS can say: offline the verdict says the check needs AWS.
    ///
    /// ## Why is this bad?
    /// Every process in a task can read the task role's credentials from the
    /// container credentials endpoint. One foothold in one container — a
    /// vulnerable dependency, an exposed debug port, ECS Exec — becomes the
    /// account.
    ///
    /// ## Example
    /// `aws iam attach-role-policy --role-name orders-api-task --policy-arn arn:aws:iam::aws:policy/AdministratorAccess`
    ///
    /// ## Fix
    /// Detach the policy; give the task role only the actions its code calls,
    /// on its own resources (IAM Access Analyzer can generate the policy from
    /// CloudTrail).
    ///
    /// ## References
    /// Beyond the peers (the seed's IAM scope); AWS ECS best practices: task
    /// IAM roles with least privilege.
    pub static ADMIN_ON_TASK_ROLE = {
        id: "IAM-ECS-001",
        title: "Admin-level or wildcard policy on a role ECS tasks assume",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond (seed: IAM scope)"],
        remediation: "Remove the admin-level or wildcard policy from the task role; grant only the actions and resources the task needs.",
        check: crate::rules::Check::Iam(evaluate),
    }
}

/// Pure check over the change and what the guard learned.
pub fn evaluate(change: &IamChange, ctx: &IamContext) -> Vec<Hit> {
    let facts = ctx.facts;
    let keep = GrantKind::is_admin_or_wildcard;
    match change {
        IamChange::Attach {
            to: Identity::Role(role),
            ..
        }
        | IamChange::PutInline {
            to: Identity::Role(role),
            ..
        } if facts.role_trusts_ecs_tasks == Some(true) => {
            let subject = format!("role {role} (trusted by ecs-tasks.amazonaws.com)");
            grant_hits(change, facts, Some(&subject), keep)
        }
        IamChange::PolicyVersion { .. } => match &facts.task_roles {
            Some(roles) if !roles.is_empty() => {
                let subject = format!("attached to task roles {}", roles.join(", "));
                grant_hits(change, facts, Some(&subject), keep)
            }
            _ => Vec::new(),
        },
        IamChange::Trust { role, document } if document.trusts_ecs_tasks() => facts
            .role_policies
            .iter()
            .flat_map(|p| role_findings(&p.documents, &p.attached_arns))
            .map(|f| {
                Hit::new(format!(
                    "role {role} now trusted by ecs-tasks.amazonaws.com: {f}"
                ))
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::iam::{
        PolicyDocument, RolePolicies, ATTACH_ROLE_POLICY, ATTACH_USER_POLICY,
        CREATE_POLICY_VERSION, PUT_ROLE_POLICY, UPDATE_ASSUME_ROLE_POLICY,
    };
    use crate::rules::iam_ecs::test_support::{change, put, run, run_with};
    use crate::rules::iam_ecs::IamFacts;
    use serde_json::json;

    const ADMIN: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    const NARROW: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::orders/*"}]}"#;

    fn trusted() -> IamFacts {
        IamFacts {
            role_trusts_ecs_tasks: Some(true),
            ..IamFacts::default()
        }
    }

    #[test]
    fn admin_policy_on_a_task_role() {
        let attach = change(
            ATTACH_ROLE_POLICY,
            json!({"roleName": "orders-api-task", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        );
        assert_eq!(
            run_with(evaluate, &attach, &trusted()),
            ["role orders-api-task (trusted by ecs-tasks.amazonaws.com): arn:aws:iam::aws:policy/AdministratorAccess attached: Action * on *"]
        );
        let inline = put(PUT_ROLE_POLICY, ("roleName", "orders-api-task"), ADMIN);
        assert_eq!(
            run_with(evaluate, &inline, &trusted()),
            ["role orders-api-task (trusted by ecs-tasks.amazonaws.com): inline policy app, Statement[0]: Action * on *"]
        );
        // A customer-managed policy: judged on the default version the Lambda read.
        let customer = change(
            ATTACH_ROLE_POLICY,
            json!({"roleName": "orders-api-task", "policyArn": "arn:aws:iam::111122223333:policy/ops"}),
        );
        let facts = IamFacts {
            attached_document: Some(
                PolicyDocument::parse_text(
                    r#"{"Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"*"}}"#,
                    "p",
                )
                .unwrap()
                .named("arn:aws:iam::111122223333:policy/ops (default version)"),
            ),
            ..trusted()
        };
        assert_eq!(
            run_with(evaluate, &customer, &facts),
            ["role orders-api-task (trusted by ecs-tasks.amazonaws.com): arn:aws:iam::111122223333:policy/ops (default version), Statement[0]: ecs:* on *"]
        );
    }

    #[test]
    fn not_without_knowing_the_trust_nor_on_other_roles_users_or_narrow_policies() {
        let attach = change(
            ATTACH_ROLE_POLICY,
            json!({"roleName": "ci", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        );
        assert!(run(evaluate, &attach).is_empty(), "unknown trust: offline");
        let not_trusted = IamFacts {
            role_trusts_ecs_tasks: Some(false),
            ..IamFacts::default()
        };
        assert!(run_with(evaluate, &attach, &not_trusted).is_empty());
        let user = change(
            ATTACH_USER_POLICY,
            json!({"userName": "dev", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        );
        assert!(run_with(evaluate, &user, &trusted()).is_empty());
        let narrow = put(PUT_ROLE_POLICY, ("roleName", "orders-api-task"), NARROW);
        assert!(run_with(evaluate, &narrow, &trusted()).is_empty());
        // A customer-managed policy whose document is unknown: nothing claimed.
        let customer = change(
            ATTACH_ROLE_POLICY,
            json!({"roleName": "orders-api-task", "policyArn": "arn:aws:iam::111122223333:policy/ops"}),
        );
        assert!(run_with(evaluate, &customer, &trusted()).is_empty());
    }

    #[test]
    fn a_new_version_of_a_policy_task_roles_use() {
        let version = change(
            CREATE_POLICY_VERSION,
            json!({"policyArn": "arn:aws:iam::111122223333:policy/ops", "setAsDefault": true,
                   "policyDocument": r#"{"Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#}),
        );
        assert!(run(evaluate, &version).is_empty());
        let facts = IamFacts {
            task_roles: Some(vec!["orders-api-task".into(), "billing-task".into()]),
            ..IamFacts::default()
        };
        assert_eq!(
            run_with(evaluate, &version, &facts),
            ["attached to task roles orders-api-task, billing-task: arn:aws:iam::111122223333:policy/ops new version (default), Statement[0]: iam:* on *, with a condition on aws:MultiFactorAuthPresent (Bool)"]
        );
        let none = IamFacts {
            task_roles: Some(Vec::new()),
            ..IamFacts::default()
        };
        assert!(run_with(evaluate, &version, &none).is_empty());
    }

    #[test]
    fn a_role_with_admin_rights_newly_trusting_ecs_tasks() {
        let trust = |principal: &str| {
            change(
                UPDATE_ASSUME_ROLE_POLICY,
                json!({"roleName": "ops-admin", "policyDocument": format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#)}),
            )
        };
        let facts = IamFacts {
            role_policies: Some(RolePolicies {
                attached_arns: vec!["arn:aws:iam::aws:policy/PowerUserAccess".into()],
                documents: Vec::new(),
            }),
            ..IamFacts::default()
        };
        assert_eq!(
            run_with(evaluate, &trust("ecs-tasks.amazonaws.com"), &facts),
            ["role ops-admin now trusted by ecs-tasks.amazonaws.com: arn:aws:iam::aws:policy/PowerUserAccess attached"]
        );
        assert!(run_with(evaluate, &trust("ec2.amazonaws.com"), &facts).is_empty());
        assert!(run(evaluate, &trust("ecs-tasks.amazonaws.com")).is_empty());
    }
}
