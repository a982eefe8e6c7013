//! Rules about IAM scope around ECS (IAM-ECS-*), judged at the IAM calls of
//! [`crate::model::iam::EVENT_NAMES`]. A grant is reported with what narrows
//! it (condition keys, a `Deny` that removes it), never dropped because of it.
//!
//! Offline only the record is known: an inline document, or an attached
//! AWS-managed admin policy by ARN, gives IAM-ECS-002/003 directly; IAM-ECS-001
//! needs to know that ECS tasks assume the role, which only AWS can say
//! ([`IamFacts`] all `None`: not known, never "no").

pub mod admin_on_task_role;
pub mod execute_command_everywhere;
pub mod pass_role_with_launch;

use crate::model::iam::{
    aws_managed_admin_document, GrantKind, IamChange, PolicyDocument, RolePolicies,
};
use crate::policy::Policy;
use crate::rules::ecs_td::Hit;

/// What the IAM guard learned from AWS about a change. `None`: not known
/// (offline, or the read failed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IamFacts {
    /// The role the change is about is trusted by `ecs-tasks.amazonaws.com`
    /// (its trust policy, `GetRole`).
    pub role_trusts_ecs_tasks: Option<bool>,
    /// `Attach*Policy` of a policy that is not an AWS-managed admin one: its
    /// default version (`GetPolicy` + `GetPolicyVersion`), named by ARN.
    pub attached_document: Option<PolicyDocument>,
    /// `CreatePolicyVersion`: the roles the policy is attached to that ECS
    /// tasks assume (`ListEntitiesForPolicy` + their trust policies).
    pub task_roles: Option<Vec<String>>,
    /// `UpdateAssumeRolePolicy` that lets ECS tasks in: the role's policies.
    pub role_policies: Option<RolePolicies>,
}

/// What an IAM rule sees besides the change.
pub struct IamContext<'a> {
    pub policy: &'a Policy,
    pub facts: &'a IamFacts,
}

/// A document the change puts in effect, and how messages name where it is.
pub(crate) struct Judged {
    pub document: PolicyDocument,
    /// An AWS-managed policy judged by ARN: its statements are not named
    /// (they are this crate's summary of it, not the policy's own).
    pub managed: bool,
}

/// The permission documents the change grants, as far as known: the
/// attached policy (AWS-managed admin by ARN, else what the Lambda read),
/// the inline policy, the new version. A trust policy grants none.
pub(crate) fn documents_of(change: &IamChange, facts: &IamFacts) -> Vec<Judged> {
    match change {
        IamChange::Attach { policy_arn, .. } => match aws_managed_admin_document(policy_arn) {
            Some(document) => vec![Judged {
                document,
                managed: true,
            }],
            None => facts
                .attached_document
                .iter()
                .map(|d| Judged {
                    document: d.clone(),
                    managed: false,
                })
                .collect(),
        },
        IamChange::PutInline { document, .. } | IamChange::PolicyVersion { document, .. } => {
            vec![Judged {
                document: document.clone(),
                managed: false,
            }]
        }
        IamChange::Trust { .. } => Vec::new(),
    }
}

/// One hit per grant of a kind `keep` accepts, in every document the change
/// grants: `<subject>: <document>[, <statement>]: <grant>`.
pub(crate) fn grant_hits(
    change: &IamChange,
    facts: &IamFacts,
    subject: Option<&str>,
    keep: impl Fn(GrantKind) -> bool,
) -> Vec<Hit> {
    let mut hits = Vec::new();
    for judged in documents_of(change, facts) {
        let source = judged
            .document
            .name
            .clone()
            .unwrap_or_else(|| "policy document".to_string());
        for grant in judged.document.grants() {
            if !keep(grant.kind) {
                continue;
            }
            let mut detail = String::new();
            if let Some(subject) = subject {
                detail.push_str(subject);
                detail.push_str(": ");
            }
            detail.push_str(&source);
            if !judged.managed {
                detail.push_str(", ");
                detail.push_str(&grant.statement);
            }
            detail.push_str(": ");
            detail.push_str(&grant.describe());
            hits.push(Hit::new(detail));
        }
    }
    hits
}

/// Who holds what the change grants (`role app-task`), for IAM-ECS-002/003;
/// `None` for a policy version (the document is named by the policy's ARN).
pub(crate) fn holder(change: &IamChange) -> Option<String> {
    match change {
        IamChange::Attach { to, .. } | IamChange::PutInline { to, .. } => Some(to.to_string()),
        IamChange::PolicyVersion { .. } | IamChange::Trust { .. } => None,
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::{IamContext, IamFacts};
    use crate::model::event::Event;
    use crate::model::iam::IamChange;
    use crate::policy::Policy;
    use crate::rules::ecs_td::Hit;

    pub fn change(name: &str, request: serde_json::Value) -> IamChange {
        let record = serde_json::json!({"eventID": "e", "eventName": name,
            "eventSource": "iam.amazonaws.com", "awsRegion": "us-east-1", "requestParameters": request});
        IamChange::from_event(&Event::from_value(&record, "t").unwrap())
            .unwrap()
            .unwrap()
    }

    /// A `Put*Policy` of this document text.
    pub fn put(name: &str, who: (&str, &str), document: &str) -> IamChange {
        change(
            name,
            serde_json::json!({who.0: who.1, "policyName": "app", "policyDocument": document}),
        )
    }

    pub fn run_with(
        check: fn(&IamChange, &IamContext) -> Vec<Hit>,
        change: &IamChange,
        facts: &IamFacts,
    ) -> Vec<String> {
        let policy = Policy::embedded();
        check(
            change,
            &IamContext {
                policy: &policy,
                facts,
            },
        )
        .into_iter()
        .map(|h| h.detail)
        .collect()
    }

    pub fn run(check: fn(&IamChange, &IamContext) -> Vec<Hit>, change: &IamChange) -> Vec<String> {
        run_with(check, change, &IamFacts::default())
    }
}
