//! SNS adapters: the alert topic and the Chatbot topic.

use super::classify;
use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::output::notify::Notification;
use crate::ports::{AwsError, Notifier};

/// Publishes alerts to an SNS topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), AwsError> {
        let mut call = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&notification.subject)
            .message_structure("json")
            .message(&notification.message);
        for attr in &notification.attributes {
            let value = MessageAttributeValue::builder()
                .data_type(attr.data_type)
                .string_value(&attr.value)
                .build()
                .map_err(|e| AwsError {
                    operation: "Publish",
                    code: None,
                    message: format!("message attribute {}: {e}", attr.name),
                    retryable: false,
                })?;
            call = call.message_attributes(attr.name, value);
        }
        call.send().await.map_err(|e| classify("Publish", &e))?;
        Ok(())
    }
}

/// Posts the alert's chat message (AWS Chatbot's custom notification) to
/// the Chatbot topic: a plain message, which Chatbot reads as it is.
#[derive(Debug, Clone)]
pub struct SnsChatChannel {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsChatChannel {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsChatChannel {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl crate::ports::ChatChannel for SnsChatChannel {
    async fn post(&self, message: &str) -> Result<(), AwsError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(message)
            .send()
            .await
            .map_err(|e| classify("Publish", &e))?;
        Ok(())
    }
}

/// What the functions call when the Chatbot topic is on: publish to it
/// (granted on that topic alone; a test compares them).
pub const CHATBOT_ACTIONS: &[&str] = &["sns:Publish"];
