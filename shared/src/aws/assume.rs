//! A member account's role, assumed when first needed and kept until
//! shortly before its credentials expire.

use super::classify;

use crate::ports::AwsError;

/// A role of a member account, the way a function assumes it: a session
/// named after the function, STS in the function's home region, clients in
/// the place's region.
#[derive(Debug, Clone)]
pub(crate) struct AssumedRole {
    pub(super) base: aws_config::SdkConfig,
    pub(super) role_arn: String,
    pub(super) session: String,
    pub(super) home_region: String,
    pub(super) region: String,
}

impl AssumedRole {
    /// The SDK configuration carrying the role's credentials. The role is
    /// assumed once here, so that a denied AssumeRole is an error with its
    /// code and the role's ARN, not a credentials failure at the first call.
    pub(super) async fn config(&self) -> Result<aws_config::SdkConfig, AwsError> {
        aws_sdk_sts::Client::new(&self.base)
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session)
            .send()
            .await
            .map_err(|e| {
                let e = classify("AssumeRole", &e);
                AwsError {
                    message: format!("{}: {}", self.role_arn, e.message),
                    ..e
                }
            })?;
        // STS in the home region, as the check above: the event's region
        // may not be enabled for STS in the central account.
        let provider = aws_config::sts::AssumeRoleProvider::builder(&self.role_arn)
            .session_name(&self.session)
            .region(aws_config::Region::new(self.home_region.clone()))
            .configure(&self.base)
            .build()
            .await;
        Ok(self
            .base
            .to_builder()
            .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
                provider,
            ))
            .region(aws_config::Region::new(self.region.clone()))
            .build())
    }
}
