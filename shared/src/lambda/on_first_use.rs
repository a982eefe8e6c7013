//! Adapters built the first time a call needs them.
//!
//! A function builds at start only the clients every event uses: each SDK
//! crate's first client costs 0.17–0.40 ms of the cold start (its
//! configuration, its endpoint rules), and ingress-guard's usual event (a
//! group of its own account that no ECS service uses, no exemption by OU)
//! never calls ECS, IAM or Organizations (BENCHMARKS.md). An
//! [`OnFirstUse`] is itself the port its adapter implements, so a guard
//! holding one builds the client only inside a call it makes.

use std::sync::LazyLock;

use async_trait::async_trait;

use crate::ports::{
    AccountAuthorization, AwsError, GroupServices, GroupUsers, Iam, OrganizationUnits, RolePolicies,
};

/// An adapter built at its first call, then kept for the instance's life.
pub struct OnFirstUse<T>(LazyLock<T, Box<dyn FnOnce() -> T + Send>>);

impl<T> OnFirstUse<T> {
    pub fn new(build: impl FnOnce() -> T + Send + 'static) -> OnFirstUse<T> {
        OnFirstUse(LazyLock::new(Box::new(build)))
    }

    /// `adapter(client(sdk))`, built at the first call.
    pub fn client<C>(
        sdk: &aws_config::SdkConfig,
        client: fn(&aws_config::SdkConfig) -> C,
        adapter: impl FnOnce(C) -> T + Send + 'static,
    ) -> OnFirstUse<T>
    where
        T: 'static,
        C: 'static,
    {
        let sdk = sdk.clone();
        OnFirstUse::new(move || adapter(client(&sdk)))
    }

    /// The adapter, built now if no call has built it yet.
    fn get(&self) -> &T {
        &self.0
    }
}

#[async_trait]
impl<T: GroupServices + 'static> GroupServices for OnFirstUse<T> {
    async fn services_using(&self, group: &str, max_calls: usize) -> Result<GroupUsers, AwsError> {
        self.get().services_using(group, max_calls).await
    }
}

#[async_trait]
impl<T: OrganizationUnits + 'static> OrganizationUnits for OnFirstUse<T> {
    async fn ous_of(&self, account: &str) -> Result<Vec<String>, AwsError> {
        self.get().ous_of(account).await
    }
}

#[async_trait]
impl<T: Iam + 'static> Iam for OnFirstUse<T> {
    async fn account_authorization(&self) -> Result<AccountAuthorization, AwsError> {
        self.get().account_authorization().await
    }

    async fn role(&self, role: &str) -> Result<Option<RolePolicies>, AwsError> {
        self.get().role(role).await
    }

    async fn trust_policy(&self, role: &str) -> Result<Option<String>, AwsError> {
        self.get().trust_policy(role).await
    }

    async fn policy_document(&self, arn: &str) -> Result<Option<String>, AwsError> {
        self.get().policy_document(arn).await
    }

    async fn attached_policies(&self, role: &str) -> Result<Option<Vec<String>>, AwsError> {
        self.get().attached_policies(role).await
    }

    async fn roles_with_policy(&self, arn: &str) -> Result<Vec<String>, AwsError> {
        self.get().roles_with_policy(arn).await
    }

    async fn instance_profile_roles(&self, profile: &str) -> Result<Option<Vec<String>>, AwsError> {
        self.get().instance_profile_roles(profile).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    struct Ous;

    #[async_trait]
    impl OrganizationUnits for Ous {
        async fn ous_of(&self, account: &str) -> Result<Vec<String>, AwsError> {
            Ok(vec![format!("ou-of-{account}")])
        }
    }

    #[tokio::test]
    async fn the_adapter_is_built_at_the_first_call_once_and_not_when_lent() {
        let built = Arc::new(AtomicUsize::new(0));
        let counter = built.clone();
        let lazy = OnFirstUse::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Ous
        });
        // Lent to a guard as its port, as the functions do: nothing built.
        let port: &dyn OrganizationUnits = &lazy;
        assert_eq!(built.load(Ordering::SeqCst), 0, "built before a call");
        assert_eq!(port.ous_of("1").await.unwrap(), vec!["ou-of-1"]);
        assert_eq!(port.ous_of("2").await.unwrap(), vec!["ou-of-2"]);
        assert_eq!(built.load(Ordering::SeqCst), 1, "built once");
    }
}
