//! Where a deployed policy is kept, when it is not in the package.

/// An S3 object that holds the policy: `s3://bucket/key`, optionally
/// `?versionId=…` (the module pins the version it wrote, so that a changed
/// policy is a changed configuration and every instance starts anew).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLocation {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

impl std::fmt::Display for PolicyLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)?;
        match &self.version_id {
            Some(v) => write!(f, "?versionId={v}"),
            None => Ok(()),
        }
    }
}
