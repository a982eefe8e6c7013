//! Fakes of the ECS and IAM reads, and of the sweep's estate reader.

use super::*;

/// Task definitions held in memory, by ARN.
#[derive(Default)]
pub struct MemoryTaskDefinitions {
    pub by_arn: Vec<(String, crate::model::td::TaskDefinition)>,
    pub calls: Mutex<Vec<String>>,
    /// Answer every call with this error instead.
    pub error: Option<AwsError>,
}

#[async_trait]
impl crate::ports::TaskDefinitions for MemoryTaskDefinitions {
    async fn describe(
        &self,
        task_definition: &str,
    ) -> Result<Option<crate::model::td::TaskDefinition>, AwsError> {
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

/// Clusters held in memory, by name.
#[derive(Default)]
pub struct MemoryClusters {
    pub by_name: Vec<(String, crate::model::cl::ClusterSettings)>,
    pub calls: Mutex<Vec<String>>,
    /// Answer every call with this error instead.
    pub error: Option<AwsError>,
}

#[async_trait]
impl crate::ports::Clusters for MemoryClusters {
    async fn describe(
        &self,
        cluster: &str,
    ) -> Result<Option<crate::model::cl::ClusterSettings>, AwsError> {
        self.calls.lock().unwrap().push(cluster.to_string());
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let name = cluster.rsplit('/').next().unwrap_or(cluster);
        Ok(self
            .by_name
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.clone()))
    }
}

/// IAM in memory: roles by name, managed policy documents by ARN.
#[derive(Default)]
pub struct MemoryIam {
    pub roles: Vec<crate::ports::RolePolicies>,
    pub policies: Vec<(String, String)>,
    /// Instance profiles: name and role names.
    pub profiles: Vec<(String, Vec<String>)>,
    /// What `account_authorization` answers.
    pub authorization: crate::ports::AccountAuthorization,
    pub calls: Mutex<Vec<String>>,
    /// Answer every call with this error instead.
    pub error: Option<AwsError>,
}

impl MemoryIam {
    fn call(&self, what: String) -> Result<(), AwsError> {
        self.calls.lock().unwrap().push(what);
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl crate::ports::Iam for MemoryIam {
    async fn account_authorization(&self) -> Result<crate::ports::AccountAuthorization, AwsError> {
        self.call("account authorization".to_string())?;
        Ok(self.authorization.clone())
    }

    async fn role(&self, role: &str) -> Result<Option<crate::ports::RolePolicies>, AwsError> {
        self.call(format!("role {role}"))?;
        let name = role.rsplit('/').next().unwrap_or(role);
        Ok(self.roles.iter().find(|r| r.role == name).cloned())
    }

    async fn trust_policy(&self, role: &str) -> Result<Option<String>, AwsError> {
        self.call(format!("trust {role}"))?;
        let name = role.rsplit('/').next().unwrap_or(role);
        Ok(self
            .roles
            .iter()
            .find(|r| r.role == name)
            .map(|r| r.trust.clone().unwrap_or_default()))
    }

    async fn policy_document(&self, arn: &str) -> Result<Option<String>, AwsError> {
        self.call(format!("policy {arn}"))?;
        Ok(self
            .policies
            .iter()
            .find(|(a, _)| a == arn)
            .map(|(_, d)| d.clone()))
    }

    async fn attached_policies(&self, role: &str) -> Result<Option<Vec<String>>, AwsError> {
        self.call(format!("attached {role}"))?;
        let name = role.rsplit('/').next().unwrap_or(role);
        Ok(self
            .roles
            .iter()
            .find(|r| r.role == name)
            .map(|r| r.managed.iter().map(|(arn, _)| arn.clone()).collect()))
    }

    async fn roles_with_policy(&self, arn: &str) -> Result<Vec<String>, AwsError> {
        self.call(format!("roles with {arn}"))?;
        Ok(self
            .roles
            .iter()
            .filter(|r| r.managed.iter().any(|(a, _)| a == arn))
            .map(|r| r.role.clone())
            .collect())
    }

    async fn instance_profile_roles(&self, profile: &str) -> Result<Option<Vec<String>>, AwsError> {
        self.call(format!("profile {profile}"))?;
        let name = profile.rsplit('/').next().unwrap_or(profile);
        Ok(self
            .profiles
            .iter()
            .find(|(p, _)| p == name)
            .map(|(_, roles)| roles.clone()))
    }
}

/// An estate read from memory (what the sweep's reader would return).
#[derive(Default)]
pub struct MemoryEstate {
    pub estate: Mutex<crate::ports::estate::Estate>,
}

#[async_trait]
impl crate::ports::EstateReader for MemoryEstate {
    async fn read(&self) -> crate::ports::estate::Estate {
        self.estate.lock().unwrap().clone()
    }
}

/// The services that use groups, in memory: what `services_using` answers
/// for each group, and the calls it was asked with.
#[derive(Default)]
pub struct MemoryGroupServices {
    pub users: Vec<(String, crate::ports::GroupUsers)>,
    pub calls: Mutex<Vec<(String, usize)>>,
    pub error: Option<AwsError>,
}

#[async_trait]
impl crate::ports::GroupServices for MemoryGroupServices {
    async fn services_using(
        &self,
        group: &str,
        max_calls: usize,
    ) -> Result<crate::ports::GroupUsers, AwsError> {
        self.calls
            .lock()
            .unwrap()
            .push((group.to_string(), max_calls));
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        Ok(self
            .users
            .iter()
            .find(|(g, _)| g == group)
            .map(|(_, u)| u.clone())
            .unwrap_or_default())
    }
}
