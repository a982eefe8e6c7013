//! The policy kept in S3 (DESIGN §6): read once, when a function starts.

use crate::policy::location::PolicyLocation;
use crate::ports::AwsError;

/// A policy larger than this is not a policy: the start fails.
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// The text of the policy object at `location` (its pinned version when
/// the location names one).
pub async fn read(
    client: &aws_sdk_s3::Client,
    location: &PolicyLocation,
) -> Result<String, AwsError> {
    let failed = |code: &str, message: String| AwsError {
        operation: "GetObject",
        code: Some(code.to_string()),
        message,
        retryable: false,
    };
    let out = client
        .get_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .set_version_id(location.version_id.clone())
        .send()
        .await
        .map_err(|e| super::classify("GetObject", &e))?;
    if out
        .content_length()
        .is_some_and(|n| n > MAX_POLICY_BYTES as i64)
    {
        return Err(failed(
            "PolicyTooLarge",
            format!("{location} is larger than {MAX_POLICY_BYTES} bytes"),
        ));
    }
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| AwsError {
            operation: "GetObject",
            code: None,
            message: format!("reading {location}: {e}"),
            retryable: true,
        })?
        .into_bytes();
    if bytes.len() > MAX_POLICY_BYTES {
        return Err(failed(
            "PolicyTooLarge",
            format!("{location} is larger than {MAX_POLICY_BYTES} bytes"),
        ));
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|_| failed("PolicyNotText", format!("{location} is not UTF-8 text")))
}
