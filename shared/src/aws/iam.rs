//! IAM reads (feature `aws`): what a role may do and who may assume it, the
//! default version of a managed policy, the roles a policy is attached to,
//! and the roles of an instance profile. Documents are returned as IAM
//! returns them (URL-encoded JSON); the model decodes and judges them.

use async_trait::async_trait;
use aws_sdk_iam::types::EntityType;

use super::classify;
use crate::ports::{AwsError, Iam, RolePolicies};

/// IAM through the SDK.
#[derive(Debug, Clone)]
pub struct IamClient {
    client: aws_sdk_iam::Client,
}

impl IamClient {
    pub fn new(client: aws_sdk_iam::Client) -> Self {
        IamClient { client }
    }
}

/// `NoSuchEntity`: the role, policy or profile is gone.
fn gone(e: &AwsError) -> bool {
    e.code.as_deref() == Some("NoSuchEntity")
}

/// The last path segment of a role ARN (`arn:aws:iam::1:role/path/app` → `app`).
pub fn role_name(role: &str) -> &str {
    role.rsplit('/').next().unwrap_or(role)
}

#[async_trait]
impl Iam for IamClient {
    async fn account_authorization(&self) -> Result<crate::ports::AccountAuthorization, AwsError> {
        use crate::model::iam::access::PrincipalKind;
        use crate::ports::AccountPrincipal;
        let mut out = crate::ports::AccountAuthorization::default();
        let mut marker: Option<String> = None;
        loop {
            out.calls += 1;
            let page = self
                .client
                .get_account_authorization_details()
                .filter(EntityType::User)
                .filter(EntityType::Role)
                .filter(EntityType::Group)
                .filter(EntityType::LocalManagedPolicy)
                .max_items(1000)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify("GetAccountAuthorizationDetails", &e))?;
            let attached = |list: &[aws_sdk_iam::types::AttachedPolicy]| -> Vec<String> {
                list.iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string))
                    .collect()
            };
            let inline = |list: &[aws_sdk_iam::types::PolicyDetail]| -> Vec<(String, String)> {
                list.iter()
                    .filter_map(|p| {
                        Some((
                            p.policy_name()?.to_string(),
                            p.policy_document()?.to_string(),
                        ))
                    })
                    .collect()
            };
            for u in page.user_detail_list() {
                out.principals.push(AccountPrincipal {
                    kind: PrincipalKind::User,
                    name: u.user_name().unwrap_or_default().to_string(),
                    arn: u.arn().unwrap_or_default().to_string(),
                    managed: attached(u.attached_managed_policies()),
                    inline: inline(u.user_policy_list()),
                    groups: u.group_list().to_vec(),
                    boundary: u
                        .permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .map(str::to_string),
                });
            }
            for r in page.role_detail_list() {
                out.principals.push(AccountPrincipal {
                    kind: PrincipalKind::Role,
                    name: r.role_name().unwrap_or_default().to_string(),
                    arn: r.arn().unwrap_or_default().to_string(),
                    managed: attached(r.attached_managed_policies()),
                    inline: inline(r.role_policy_list()),
                    groups: Vec::new(),
                    boundary: r
                        .permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .map(str::to_string),
                });
            }
            for g in page.group_detail_list() {
                out.principals.push(AccountPrincipal {
                    kind: PrincipalKind::Group,
                    name: g.group_name().unwrap_or_default().to_string(),
                    arn: g.arn().unwrap_or_default().to_string(),
                    managed: attached(g.attached_managed_policies()),
                    inline: inline(g.group_policy_list()),
                    groups: Vec::new(),
                    boundary: None,
                });
            }
            for p in page.policies() {
                let Some(arn) = p.arn() else {
                    continue;
                };
                let default = p
                    .policy_version_list()
                    .iter()
                    .find(|v| v.is_default_version())
                    .and_then(|v| v.document());
                if let Some(document) = default {
                    out.local_policies
                        .insert(arn.to_string(), document.to_string());
                }
            }
            match page.marker() {
                Some(next) if page.is_truncated() && !next.is_empty() => {
                    marker = Some(next.to_string());
                }
                _ => return Ok(out),
            }
        }
    }

    async fn role(&self, role: &str) -> Result<Option<RolePolicies>, AwsError> {
        let name = role_name(role);
        let trust = match self.client.get_role().role_name(name).send().await {
            Ok(out) => out
                .role()
                .and_then(|r| r.assume_role_policy_document())
                .map(str::to_string),
            Err(e) => {
                let e = classify("GetRole", &e);
                return if gone(&e) { Ok(None) } else { Err(e) };
            }
        };
        let mut managed = Vec::new();
        let mut pages = self
            .client
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page.map_err(|e| classify("ListAttachedRolePolicies", &e))?;
            for p in out.attached_policies() {
                if let Some(arn) = p.policy_arn() {
                    managed.push((arn.to_string(), self.policy_document(arn).await?));
                }
            }
        }
        let mut inline = Vec::new();
        let mut pages = self
            .client
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page.map_err(|e| classify("ListRolePolicies", &e))?;
            for policy in out.policy_names() {
                let document = self
                    .client
                    .get_role_policy()
                    .role_name(name)
                    .policy_name(policy)
                    .send()
                    .await
                    .map_err(|e| classify("GetRolePolicy", &e))?;
                inline.push((policy.clone(), document.policy_document().to_string()));
            }
        }
        Ok(Some(RolePolicies {
            role: name.to_string(),
            trust,
            managed,
            inline,
        }))
    }

    async fn trust_policy(&self, role: &str) -> Result<Option<String>, AwsError> {
        match self
            .client
            .get_role()
            .role_name(role_name(role))
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.role()
                    .and_then(|r| r.assume_role_policy_document())
                    .unwrap_or_default()
                    .to_string(),
            )),
            Err(e) => {
                let e = classify("GetRole", &e);
                if gone(&e) {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn policy_document(&self, arn: &str) -> Result<Option<String>, AwsError> {
        let version = match self.client.get_policy().policy_arn(arn).send().await {
            Ok(out) => out
                .policy()
                .and_then(|p| p.default_version_id())
                .map(str::to_string),
            Err(e) => {
                let e = classify("GetPolicy", &e);
                return if gone(&e) { Ok(None) } else { Err(e) };
            }
        };
        let Some(version) = version else {
            return Ok(None);
        };
        match self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .policy_version()
                .and_then(|v| v.document())
                .map(str::to_string)),
            Err(e) => {
                let e = classify("GetPolicyVersion", &e);
                if gone(&e) {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn attached_policies(&self, role: &str) -> Result<Option<Vec<String>>, AwsError> {
        let name = role_name(role);
        let mut arns = Vec::new();
        let mut pages = self
            .client
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = match page {
                Ok(out) => out,
                Err(e) => {
                    let e = classify("ListAttachedRolePolicies", &e);
                    return if gone(&e) { Ok(None) } else { Err(e) };
                }
            };
            arns.extend(
                out.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string)),
            );
        }
        Ok(Some(arns))
    }

    async fn roles_with_policy(&self, arn: &str) -> Result<Vec<String>, AwsError> {
        let mut roles = Vec::new();
        let mut pages = self
            .client
            .list_entities_for_policy()
            .policy_arn(arn)
            .entity_filter(EntityType::Role)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page.map_err(|e| classify("ListEntitiesForPolicy", &e))?;
            roles.extend(
                out.policy_roles()
                    .iter()
                    .filter_map(|r| r.role_name().map(str::to_string)),
            );
        }
        Ok(roles)
    }

    async fn instance_profile_roles(&self, profile: &str) -> Result<Option<Vec<String>>, AwsError> {
        let name = role_name(profile);
        match self
            .client
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.instance_profile()
                    .map(|p| {
                        p.roles()
                            .iter()
                            .map(|r| r.role_name().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            )),
            Err(e) => {
                let e = classify("GetInstanceProfile", &e);
                if gone(&e) {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }
}
