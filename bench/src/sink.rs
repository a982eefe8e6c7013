//! Where the benchmarked functions send their alerts (an SNS topic whose only
//! subscriber is an SQS queue, as in a deployment), what they left in moto,
//! and moto's own time for the calls a guard makes.

use std::time::{Duration, Instant};

use access_guard::aws::SnsNotifier;
use access_guard::model::event::Event;
use access_guard::output::notify::Notification;
use access_guard::ports::Notifier;
use access_guard::report::{Outcome, OutcomeKind};
use access_guard_e2e::authorize_event;
use access_guard_e2e::Emulator;
use aws_sdk_ec2::error::DisplayErrorContext;
use aws_sdk_ec2::types::Filter;

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

/// moto's own time for what ingress-guard asks of it for one event, made
/// from here in the same order on a group of its own with SSH just opened:
/// DescribeSecurityGroups (tags, name) and, beside it, the rules read back
/// (DescribeSecurityGroupRules); then RevokeSecurityGroupIngress by rule id
/// and, beside it, DescribeNetworkInterfaces of the group (where it is in
/// use, for the alert's path lines); then the Publish of the alert as the
/// guard renders it for the same event (`Notification::render` of its
/// verdict with the rule revoked and its restore command; the guard's own
/// also names where the group is in use). Returns the time and the Publish
/// body's size; the alert is taken from the queue and the group deleted, so
/// that moto is no bigger for what is measured after.
pub async fn moto_floor(emu: &Emulator, sink: &Sink) -> anyhow::Result<(Duration, usize)> {
    let notifier = SnsNotifier::new(emu.sns.clone(), sink.topic_arn.clone());
    let policy = access_guard::policy::Policy::embedded();
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22]).await;
    let event = Event::from_value(&authorize_event(&group, &rules), "floor")?;
    let mut report =
        access_guard::guards::offline::evaluate(&event, &policy, access_guard::model::today())?;
    for (port, id) in &rules {
        report.outcomes.push(Outcome {
            restore: Some(format!(
                "aws ec2 authorize-security-group-ingress --region us-east-1 --group-id {group} --ip-permissions IpProtocol=tcp,FromPort={port},ToPort={port},IpRanges=[{{CidrIp=0.0.0.0/0}}]"
            )),
            rule_id: id.clone(),
            result: OutcomeKind::Revoked,
            error_code: None,
            earlier_attempt: false,
        });
    }
    let alert = Notification::render(&report);
    let started = Instant::now();
    let describe = emu.ec2.describe_security_groups().group_ids(&group).send();
    let read_back = emu
        .ec2
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(&group).build())
        .send();
    let (described, read_back) = tokio::join!(describe, read_back);
    described.map_err(fail("DescribeSecurityGroups"))?;
    read_back.map_err(fail("DescribeSecurityGroupRules"))?;
    let revoke = emu
        .ec2
        .revoke_security_group_ingress()
        .group_id(&group)
        .set_security_group_rule_ids(Some(rules.iter().map(|r| r.1.clone()).collect()))
        .send();
    let interfaces = emu
        .ec2
        .describe_network_interfaces()
        .filters(Filter::builder().name("group-id").values(&group).build())
        .send();
    let (revoked, read) = tokio::join!(revoke, interfaces);
    revoked.map_err(fail("RevokeSecurityGroupIngress"))?;
    read.map_err(fail("DescribeNetworkInterfaces"))?;
    notifier
        .publish(&alert)
        .await
        .map_err(|e| anyhow::anyhow!("Publish: {e}"))?;
    let took = started.elapsed();
    sink.take_now(emu).await?;
    emu.ec2
        .delete_security_group()
        .group_id(&group)
        .send()
        .await
        .map_err(fail("DeleteSecurityGroup"))?;
    Ok((took, alert.message.len()))
}
