//! Where the benchmarked functions send their alerts (an SNS topic whose only
//! subscriber is an SQS queue, as in a deployment), what they left in moto,
//! and moto's own time for the calls a guard makes.

use std::time::{Duration, Instant};

use access_guard_e2e::Emulator;
use aws_sdk_ec2::error::DisplayErrorContext;
use aws_sdk_ec2::types::Filter;
use aws_sdk_sns::types::MessageAttributeValue;

/// An SNS topic with one SQS subscription.
pub struct Sink {
    pub topic_arn: String,
    queue_url: String,
}

/// An AWS call's error with its cause, named by the call.
fn fail<E: std::error::Error>(call: &str) -> impl Fn(E) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{call}: {}", DisplayErrorContext(e))
}

impl Sink {
    pub async fn new(emu: &Emulator) -> Sink {
        let (topic_arn, queue_url) = emu.topic_to_queue("bench-alerts").await;
        Sink {
            topic_arn,
            queue_url,
        }
    }

    /// Takes every message in the queue (waiting up to a second for the
    /// first); returns how many there were.
    pub async fn take(&self, emu: &Emulator) -> anyhow::Result<usize> {
        self.take_waiting(emu, 1).await
    }

    /// Takes the messages already in the queue. moto's Publish to an SQS
    /// subscriber slows down as its queue fills (7.8 ms per call with an
    /// empty queue, 23.8 ms with 1,000 messages), so the benchmark empties it
    /// between events, outside the timed part.
    pub async fn take_now(&self, emu: &Emulator) -> anyhow::Result<usize> {
        self.take_waiting(emu, 0).await
    }

    async fn take_waiting(&self, emu: &Emulator, first_wait: i32) -> anyhow::Result<usize> {
        let mut taken = 0;
        loop {
            let out = emu
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(if taken == 0 { first_wait } else { 0 })
                .send()
                .await
                .map_err(fail("ReceiveMessage"))?;
            if out.messages().is_empty() {
                return Ok(taken);
            }
            for m in out.messages() {
                taken += 1;
                if let Some(handle) = m.receipt_handle() {
                    emu.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .map_err(fail("DeleteMessage"))?;
                }
            }
        }
    }
}

/// How many of `groups` still have an ingress rule.
pub async fn groups_with_ingress(emu: &Emulator, groups: &[String]) -> anyhow::Result<usize> {
    let mut open = 0;
    for chunk in groups.chunks(200) {
        let out = emu
            .ec2
            .describe_security_groups()
            .filters(
                Filter::builder()
                    .name("group-id")
                    .set_values(Some(chunk.to_vec()))
                    .build(),
            )
            .send()
            .await
            .map_err(fail("DescribeSecurityGroups"))?;
        anyhow::ensure!(
            out.security_groups().len() == chunk.len(),
            "DescribeSecurityGroups: {} of {} groups found",
            out.security_groups().len(),
            chunk.len()
        );
        open += out
            .security_groups()
            .iter()
            .filter(|g| !g.ip_permissions().is_empty())
            .count();
    }
    Ok(open)
}

/// moto's own time for what ingress-guard asks of it per event, made from
/// here: DescribeSecurityGroups, RevokeSecurityGroupIngress by rule id, and a
/// Publish of an alert-sized message with its five attributes.
pub async fn moto_floor(
    emu: &Emulator,
    sink: &Sink,
    count: usize,
) -> anyhow::Result<Vec<Duration>> {
    let text = "x".repeat(1500);
    let doc = format!("{{\"findings\":\"{}\"}}", "y".repeat(1000));
    let message = serde_json::json!({"default": text, "email": text, "sqs": doc, "lambda": doc, "https": doc})
        .to_string();
    let attribute = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
    };
    let mut latencies = Vec::new();
    for _ in 0..count {
        let group = emu.group(&[]).await;
        let rules = emu.open_to_world(&group, &[22]).await;
        let started = Instant::now();
        emu.ec2
            .describe_security_groups()
            .group_ids(&group)
            .send()
            .await
            .map_err(fail("DescribeSecurityGroups"))?;
        emu.ec2
            .revoke_security_group_ingress()
            .group_id(&group)
            .set_security_group_rule_ids(Some(rules.iter().map(|r| r.1.clone()).collect()))
            .send()
            .await
            .map_err(fail("RevokeSecurityGroupIngress"))?;
        let mut publish = emu
            .sns
            .publish()
            .topic_arn(&sink.topic_arn)
            .subject("[CRITICAL] SSH open to the internet")
            .message_structure("json")
            .message(&message);
        for (name, value) in [
            ("severity", attribute("critical")),
            ("action", attribute("revoked")),
            ("account", attribute("123456789012")),
            ("region", attribute("us-east-1")),
        ] {
            publish = publish.message_attributes(name, value?);
        }
        publish = publish.message_attributes(
            "rule_ids",
            MessageAttributeValue::builder()
                .data_type("String.Array")
                .string_value("[\"EC2-SG-003\"]")
                .build()?,
        );
        publish.send().await.map_err(fail("Publish"))?;
        latencies.push(started.elapsed());
        sink.take_now(emu).await?;
    }
    Ok(latencies)
}
