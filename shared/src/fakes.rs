//! Hand-written fakes of the ports, for unit tests of the domain code.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::notify::Notification;
use crate::ports::{
    AwsError, GroupInfo, IngressRemediator, Notifier, RevokeTarget, Revoked, SecurityGroups,
};
use crate::sg::SgRule;

/// One security group held in memory; revoking removes the rule.
#[derive(Default)]
pub struct MemoryGroups {
    pub info: Option<GroupInfo>,
    pub rules: Mutex<Vec<SgRule>>,
    /// Answer every revoke with this error instead.
    pub revoke_error: Option<AwsError>,
    /// `group/rule` of every revoke asked for.
    /// `group/rule` of every revoke asked for.
    pub revoke_calls: Mutex<Vec<String>>,
}

#[async_trait]
impl SecurityGroups for MemoryGroups {
    async fn group(&self, group_id: &str) -> Result<Option<GroupInfo>, AwsError> {
        Ok(self.info.clone().filter(|g| g.group_id == group_id))
    }

    async fn rules_of_group(&self, _group_id: &str) -> Result<Vec<SgRule>, AwsError> {
        Ok(self.rules.lock().unwrap().clone())
    }
}

#[async_trait]
impl IngressRemediator for MemoryGroups {
    async fn revoke_ingress(
        &self,
        group_id: &str,
        target: RevokeTarget<'_>,
    ) -> Result<Revoked, AwsError> {
        let label = match target {
            RevokeTarget::RuleId(id) => id.to_string(),
            RevokeTarget::Permission(rule) => rule.to_string(),
        };
        self.revoke_calls
            .lock()
            .unwrap()
            .push(format!("{group_id}/{label}"));
        if let Some(e) = &self.revoke_error {
            return Err(e.clone());
        }
        let mut rules = self.rules.lock().unwrap();
        let before = rules.len();
        rules.retain(|r| match target {
            RevokeTarget::RuleId(id) => r.rule_id.as_deref() != Some(id),
            RevokeTarget::Permission(p) => {
                !(r.protocol == p.protocol && r.source == p.source && r.ports() == p.ports())
            }
        });
        Ok(if rules.len() < before {
            Revoked::Revoked
        } else {
            Revoked::AlreadyAbsent
        })
    }
}

/// Keeps what it was asked to publish.
#[derive(Default)]
pub struct MemoryNotifier {
    pub sent: Mutex<Vec<Notification>>,
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), AwsError> {
        self.sent.lock().unwrap().push(notification.clone());
        Ok(())
    }
}

/// Task definitions held in memory, by ARN.
#[derive(Default)]
pub struct MemoryTaskDefinitions {
    pub by_arn: Vec<(String, crate::td::TaskDefinition)>,
    pub calls: Mutex<Vec<String>>,
    /// Answer every call with this error instead.
    pub error: Option<AwsError>,
}

#[async_trait]
impl crate::ports::TaskDefinitions for MemoryTaskDefinitions {
    async fn describe(
        &self,
        task_definition: &str,
    ) -> Result<Option<crate::td::TaskDefinition>, AwsError> {
        self.calls.lock().unwrap().push(task_definition.to_string());
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        Ok(self
            .by_arn
            .iter()
            .find(|(arn, _)| arn == task_definition)
            .map(|(_, td)| td.clone()))
    }
}
