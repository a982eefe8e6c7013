//! Objects in memory, with failures on chosen keys and the reads counted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::ports::{AwsError, Objects};

#[derive(Default)]
pub struct MemoryObjects {
    pub objects: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    /// Keys whose GET fails, and how.
    pub failing: Mutex<BTreeMap<String, AwsError>>,
    pub gets: AtomicUsize,
}

impl MemoryObjects {
    pub fn insert(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
        self.objects
            .lock()
            .unwrap()
            .insert((bucket.to_string(), key.to_string()), body.into());
    }

    pub fn fail(&self, key: &str, code: &str, retryable: bool) {
        self.failing.lock().unwrap().insert(
            key.to_string(),
            AwsError {
                operation: "GetObject",
                code: Some(code.to_string()),
                message: "injected".to_string(),
                retryable,
            },
        );
    }

    /// The keys under `prefix` in `bucket`.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.objects
            .lock()
            .unwrap()
            .keys()
            .filter(|(b, k)| b == bucket && k.starts_with(prefix))
            .map(|(_, k)| k.clone())
            .collect()
    }

    pub fn body(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.objects
            .lock()
            .unwrap()
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
    }
}

#[async_trait]
impl Objects for MemoryObjects {
    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, AwsError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        if let Some(e) = self.failing.lock().unwrap().get(key) {
            return Err(e.clone());
        }
        self.body(bucket, key).ok_or_else(|| AwsError {
            operation: "GetObject",
            code: Some("NoSuchKey".to_string()),
            message: format!("{key}: no such key"),
            retryable: false,
        })
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), AwsError> {
        self.insert(bucket, key, body);
        Ok(())
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, AwsError> {
        Ok(self.keys(bucket, prefix))
    }
}
