//! A role's policies joined with the role of the same plan or template: an
//! inline policy or an attachment is for a role whose trust policy the plan
//! holds, so whether ECS tasks assume it (IAM-ECS-001) is known; an
//! attachment of a policy the plan creates is judged by its document.

use std::collections::HashMap;

use crate::model::event::Event;
use crate::model::iam::{Identity, PolicyDocument};
use crate::rules::iam_ecs::IamFacts;

use super::Judged;

/// What the plan holds of IAM: its roles' trust and its policies' documents.
#[derive(Default)]
pub(super) struct Roles {
    /// Whether ECS tasks assume the role, by role name and by address.
    trusts: HashMap<String, bool>,
    /// A policy's document, by the ARN that stands for it (its own, or the
    /// one that names its address or its name in the account).
    documents: HashMap<String, PolicyDocument>,
}

impl Roles {
    pub(super) fn gather(judged: &[Judged]) -> Roles {
        let mut roles = Roles::default();
        for j in judged {
            let Ok(event) = &j.planned.event else {
                continue;
            };
            if event.source != "iam.amazonaws.com" {
                continue;
            }
            let text = |key: &str| event.request.get(key).and_then(|v| v.as_str());
            match event.name.as_str() {
                "CreateRole" => {
                    let (Some(name), Some(trust)) =
                        (text("roleName"), text("assumeRolePolicyDocument"))
                    else {
                        continue;
                    };
                    // A trust policy that cannot be read is not a trust
                    // policy that keeps ECS tasks out: the role stays unknown.
                    let Ok(document) =
                        PolicyDocument::parse_text(trust, "assumeRolePolicyDocument")
                    else {
                        continue;
                    };
                    let trusts = document.trusts_ecs_tasks();
                    roles.trusts.insert(name.to_string(), trusts);
                    roles.trusts.insert(event.id.clone(), trusts);
                }
                "CreatePolicy" => {
                    let (Some(name), Some(text)) = (text("policyName"), text("policyDocument"))
                    else {
                        continue;
                    };
                    let Ok(document) = PolicyDocument::parse_text(text, "policyDocument") else {
                        continue;
                    };
                    for arn in [
                        format!("arn:aws:iam::{}:policy/{}", event.account, event.id),
                        format!("arn:aws:iam::{}:policy/{name}", event.account),
                    ] {
                        roles
                            .documents
                            .insert(arn, document.clone().named(format!("policy {name}")));
                    }
                }
                _ => {}
            }
        }
        roles
    }

    /// What the plan says of the role or policy an IAM record is about;
    /// `None` when it holds nothing of it.
    pub(super) fn facts(&self, event: &Event) -> Option<IamFacts> {
        if event.source != "iam.amazonaws.com" {
            return None;
        }
        let change = crate::model::iam::IamChange::from_event(event).ok()??;
        let mut facts = IamFacts::default();
        match &change {
            crate::model::iam::IamChange::Attach { to, policy_arn } => {
                facts.attached_document = self.documents.get(policy_arn).cloned();
                if let Identity::Role(role) = to {
                    facts.role_trusts_ecs_tasks = self.trusts.get(role).copied();
                }
            }
            crate::model::iam::IamChange::PutInline {
                to: Identity::Role(role),
                ..
            } => facts.role_trusts_ecs_tasks = self.trusts.get(role).copied(),
            _ => return None,
        }
        (facts.attached_document.is_some() || facts.role_trusts_ecs_tasks.is_some())
            .then_some(facts)
    }
}
