//! The failure queue written to by the function itself (SQS `SendMessage`).

use async_trait::async_trait;

use crate::ports::{AwsError, FailureQueue};

/// The module's failure queue, by URL.
pub struct SqsFailureQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsFailureQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> Self {
        SqsFailureQueue { client, url }
    }
}

#[async_trait]
impl FailureQueue for SqsFailureQueue {
    async fn send(&self, body: &str) -> Result<(), AwsError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| super::classify("SendMessage", &e))
    }
}
