//! The optional sinks (DESIGN §13): Security Hub (every finding in ASFF, one
//! per fingerprint, resolved when its rule is revoked or the sweep finds it
//! gone) and a topic for AWS Chatbot (the alert as a custom notification).
//! SNS stays the one required sink: a sink that fails is logged with the
//! event id and the error code, and neither fails the invocation nor stops
//! the alert (which is published before the sinks are called).

use std::sync::Arc;

use async_trait::async_trait;
use tracing::{error, info, warn};

use crate::output::asff::{self, Product};
use crate::output::chatbot::ChatMessage;
use crate::output::notify::Notification;
use crate::ports::{AwsError, ChatChannel, FindingsHub, Notifier};
use crate::report::Report;

/// Security Hub and where findings go in it.
pub struct SecurityHubSink {
    pub hub: Arc<dyn FindingsHub>,
    pub product: Product,
}

/// The sinks a deployment switched on; none by default.
#[derive(Default)]
pub struct Sinks {
    pub security_hub: Option<SecurityHubSink>,
    pub chat: Option<Arc<dyn ChatChannel>>,
}

impl Sinks {
    /// Records `findings` in Security Hub and posts `alert` (when the SNS
    /// alert went out) to chat, with `now` (RFC 3339) as the findings'
    /// update time. Failures are logged, never returned.
    pub async fn deliver(&self, findings: &Report, alert: Option<&Report>, now: &str) {
        if let Some(hub) = &self.security_hub {
            hub.record(findings, now).await;
        }
        if let (Some(chat), Some(alert)) = (&self.chat, alert) {
            let message = ChatMessage::render(alert).to_json();
            match chat.post(&message).await {
                Ok(()) => info!(event_id = %alert.event_id, sink = "chatbot", "posted to chat"),
                Err(e) => failed(&alert.event_id, "chatbot", &e),
            }
        }
    }
}

/// Logs a sink's failure: the event, the sink, the call and its error code.
fn failed(event_id: &str, sink: &'static str, e: &AwsError) {
    error!(event_id = %event_id, sink, operation = e.operation, error_code = %e.code_or_kind(),
        error = %e.message, "sink failed: the SNS alert is not affected");
}

impl SecurityHubSink {
    /// Imports the report's findings (batches of 100), then sets the
    /// resolved ones' workflow status to RESOLVED (an import cannot).
    async fn record(&self, report: &Report, now: &str) {
        let rendered = asff::render(report, &self.product, now);
        if rendered.findings.is_empty() {
            return;
        }
        let event_id = report.event_id.as_str();
        let mut imported = 0;
        for batch in rendered.findings.chunks(asff::BATCH) {
            match self.hub.import(batch).await {
                Ok(refused) => {
                    imported += batch.len() - refused.len();
                    for r in refused {
                        warn!(event_id = %event_id, sink = "security_hub", finding_id = %r.id,
                            error_code = %r.code, "finding refused by BatchImportFindings");
                    }
                }
                Err(e) => failed(event_id, "security_hub", &e),
            }
        }
        info!(event_id = %event_id, sink = "security_hub", imported,
            resolved = rendered.resolved.len(), "findings recorded");
        let note = asff::resolved_note(report);
        for batch in rendered.resolved.chunks(asff::BATCH) {
            match self.hub.resolve(&self.product.arn, batch, &note).await {
                Ok(refused) => {
                    for r in refused {
                        warn!(event_id = %event_id, sink = "security_hub", finding_id = %r.id,
                            error_code = %r.code, "finding not resolved by BatchUpdateFindings");
                    }
                }
                Err(e) => failed(event_id, "security_hub", &e),
            }
        }
    }
}

/// A notifier (SNS) with the optional sinks behind it: what the functions
/// alert through. `publish` is the notifier's; `deliver` goes to the sinks.
pub struct WithSinks<N> {
    pub notifier: N,
    pub sinks: Sinks,
    /// What the sinks of one report may take together: [`SINKS_BUDGET`] for
    /// a guard, [`SWEEP_SINKS_BUDGET`] for the sweep's larger reports.
    pub budget: std::time::Duration,
}

#[async_trait]
impl<N: Notifier> Notifier for WithSinks<N> {
    async fn publish(&self, notification: &Notification) -> Result<(), AwsError> {
        self.notifier.publish(notification).await
    }

    async fn deliver(&self, findings: &Report, alert: Option<&Report>) {
        let now = now();
        let delivery = self.sinks.deliver(findings, alert, &now);
        #[cfg(feature = "aws")]
        if tokio::time::timeout(self.budget, delivery).await.is_err() {
            error!(event_id = %findings.event_id, budget_s = self.budget.as_secs(),
                "sink failed: cut off after its time budget; the SNS alert is not affected");
        }
        #[cfg(not(feature = "aws"))]
        delivery.await;
    }
}

/// What all the sinks of a guard's report may take together, after the SNS
/// alert went out: each call has its own timeouts (`sink_timeouts`), and this
/// bounds their sum, so that a slow Security Hub and chat topic cannot push
/// an invocation past its deadline (which would fail it, and Lambda's retry
/// would alert twice). ingress-guard keeps it in reserve before its deadline.
pub const SINKS_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// The same for one sweep report, which may carry hundreds of findings
/// (batches of 100): the sweep's timeout is minutes.
pub const SWEEP_SINKS_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// Now, RFC 3339 in milliseconds: an update must carry a later `UpdatedAt`
/// than the one before, and a retry can come within the same second.
pub fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let millis = now
        .replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap_or(now);
    millis
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::{json, Value};

    use super::*;
    use crate::guards::ingress::IngressGuard;
    use crate::guards::task_definition::TaskDefinitionGuard;
    use crate::guards::GuardSettings;
    use crate::model::event::Event;
    use crate::policy::Policy;
    use crate::ports::fakes::{
        CapturedLogs, MemoryChat, MemoryGroups, MemoryHub, MemoryNotifier, MemoryTaskDefinitions,
    };

    fn product() -> Product {
        Product::default_of("aws", "eu-west-1", "111122223333")
    }

    fn with_sinks(hub: &Arc<MemoryHub>, chat: &Arc<MemoryChat>) -> WithSinks<MemoryNotifier> {
        WithSinks {
            notifier: MemoryNotifier::default(),
            sinks: Sinks {
                security_hub: Some(SecurityHubSink {
                    hub: hub.clone(),
                    product: product(),
                }),
                chat: Some(chat.clone()),
            },
            budget: SINKS_BUDGET,
        }
    }

    fn td_event(request: Value) -> Event {
        let record = json!({"eventID": "ev-td", "eventName": "RegisterTaskDefinition", "eventSource": "ecs.amazonaws.com",
            "recipientAccountId": "111122223333", "awsRegion": "eu-west-1", "eventTime": "2026-12-01T09:00:00Z",
            "userIdentity": {"arn": "arn:aws:iam::111122223333:user/alice"},
            "requestParameters": request,
            "responseElements": {"taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7", "revision": 7}}});
        Event::from_value(&record, "test").unwrap()
    }

    async fn register(notifier: &dyn Notifier, policy: &Policy, request: Value) -> Report {
        TaskDefinitionGuard {
            task_definitions: &MemoryTaskDefinitions::default(),
            iam: None,
            notifier,
            policy,
            settings: &GuardSettings::default(),
        }
        .handle(&td_event(request))
        .await
        .expect("the invocation succeeds")
    }

    fn privileged() -> Value {
        json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "privileged": true,
            "environment": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}]}]})
    }

    #[tokio::test]
    async fn a_failing_sink_is_logged_with_the_event_and_code_and_never_stops_the_alert() {
        let denied = |operation, code: &str| AwsError {
            operation,
            code: Some(code.to_string()),
            message: "denied by the fake".to_string(),
            retryable: false,
        };
        let hub = Arc::new(MemoryHub {
            import_error: Some(denied("BatchImportFindings", "AccessDeniedException")),
            ..MemoryHub::default()
        });
        let chat = Arc::new(MemoryChat {
            error: Some(denied("Publish", "AuthorizationError")),
            ..MemoryChat::default()
        });
        let notifier = with_sinks(&hub, &chat);
        let captured = CapturedLogs::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let report = register(&notifier, &Policy::embedded(), privileged()).await;

        assert!(!report.findings.is_empty());
        assert_eq!(
            notifier.notifier.sent.lock().unwrap().len(),
            1,
            "the SNS alert went out"
        );
        assert_eq!(hub.imports.lock().unwrap().len(), 1, "the import was tried");
        let logs = captured.text();
        for needle in [
            "sink failed",
            "ev-td",
            "security_hub",
            "AccessDeniedException",
            "chatbot",
            "AuthorizationError",
        ] {
            assert!(logs.contains(needle), "{needle} not logged:\n{logs}");
        }
        assert!(!logs.contains("wJalrXUtnFEMI"), "a secret reached the logs");
    }

    /// A Security Hub that answers after ten seconds.
    #[cfg(feature = "aws")]
    struct SlowHub;

    #[cfg(feature = "aws")]
    #[async_trait]
    impl FindingsHub for SlowHub {
        async fn import(
            &self,
            _: &[crate::output::asff::AsffFinding],
        ) -> Result<Vec<crate::ports::Refused>, AwsError> {
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            Ok(Vec::new())
        }
        async fn resolve(
            &self,
            _: &str,
            _: &[String],
            _: &str,
        ) -> Result<Vec<crate::ports::Refused>, AwsError> {
            Ok(Vec::new())
        }
    }

    #[cfg(feature = "aws")]
    #[tokio::test]
    async fn slow_sinks_are_cut_off_at_their_budget_after_the_alert_went_out() {
        let chat = Arc::new(MemoryChat::default());
        let unused = Arc::new(MemoryHub::default());
        let mut notifier = with_sinks(&unused, &chat);
        notifier.sinks.security_hub = Some(SecurityHubSink {
            hub: Arc::new(SlowHub),
            product: product(),
        });
        notifier.budget = std::time::Duration::from_millis(200);
        let captured = CapturedLogs::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let started = std::time::Instant::now();
        let report = register(&notifier, &Policy::embedded(), privileged()).await;

        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(!report.findings.is_empty());
        assert_eq!(
            notifier.notifier.sent.lock().unwrap().len(),
            1,
            "the SNS alert went out"
        );
        assert!(
            chat.posted.lock().unwrap().is_empty(),
            "chat came after the cut"
        );
        let logs = captured.text();
        assert!(
            logs.contains("cut off after its time budget") && logs.contains("ev-td"),
            "{logs}"
        );
    }

    #[tokio::test]
    async fn below_the_threshold_the_findings_go_to_security_hub_alone() {
        let hub = Arc::new(MemoryHub::default());
        let chat = Arc::new(MemoryChat::default());
        let notifier = with_sinks(&hub, &chat);
        let policy = Policy::from_toml("notify_min_severity = \"critical\"", "test").unwrap();
        let report = register(
            &notifier,
            &policy,
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx:latest"}]}),
        )
        .await;
        assert!(!report.findings.is_empty());
        assert!(report
            .findings
            .iter()
            .all(|f| f.severity < crate::finding::Severity::Critical));
        assert!(
            notifier.notifier.sent.lock().unwrap().is_empty(),
            "no alert"
        );
        assert!(
            chat.posted.lock().unwrap().is_empty(),
            "no chat without the alert"
        );
        let held = hub.findings.lock().unwrap();
        assert!(!held.is_empty());
        assert!(held.iter().all(|f| f.record_state == "ACTIVE"));
    }

    #[tokio::test]
    async fn a_revoked_rules_finding_is_resolved_and_a_retry_updates_it() {
        let path = format!(
            "{}/../events/sg-ssh-open-nested.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let event = Event::from_value(&value, "sg-ssh-open-nested.json").unwrap();
        let change = crate::model::sg::SgChange::from_event(&event)
            .unwrap()
            .unwrap();
        let group_id = change.group_id.clone().unwrap();
        let groups = MemoryGroups {
            info: Some(crate::ports::GroupInfo {
                group_id: group_id.clone(),
                name: "web".to_string(),
                vpc_id: Some("vpc-1".to_string()),
                tags: Vec::new(),
            }),
            rules: Mutex::new(change.rules.clone()),
            ..MemoryGroups::default()
        };
        let hub = Arc::new(MemoryHub::default());
        let chat = Arc::new(MemoryChat::default());
        let notifier = with_sinks(&hub, &chat);
        let policy = Policy::from_toml("dry_run = false", "test").unwrap();
        let settings = GuardSettings::default();
        let guard = IngressGuard {
            groups: &groups,
            organizations: None,
            remediator: &groups,
            revocations: None,
            notifier: &notifier,
            policy: &policy,
            settings: &settings,
            deadline: None,
            visibility: None,
            vpcs: None,
            services: None,
            iam: None,
        };
        for attempt in 0..2 {
            let report = guard.handle(&event, crate::model::today()).await.unwrap();
            let revoked = report.outcomes.iter().map(|o| o.result).collect::<Vec<_>>();
            assert_eq!(revoked.len(), 1, "attempt {attempt}: {revoked:?}");
            let held = hub.findings.lock().unwrap().clone();
            let ssh: Vec<_> = held
                .iter()
                .filter(|f| f.generator_id == "EC2-SG-003")
                .collect();
            assert_eq!(ssh.len(), 1, "attempt {attempt}: one finding, updated");
            assert_eq!(
                (ssh[0].compliance_status, ssh[0].record_state),
                ("PASSED", "ARCHIVED"),
                "attempt {attempt}"
            );
            let resolves = hub.resolves.lock().unwrap().clone();
            assert_eq!(resolves.len(), attempt + 1);
            assert_eq!(resolves[attempt].0, product().arn);
            assert!(resolves[attempt].1.contains(&ssh[0].id));
            assert!(resolves[attempt].2.contains(&event.id));
        }
        let posted = chat.posted.lock().unwrap().clone();
        assert_eq!(posted.len(), 2, "one chat message per alert");
        let doc = crate::output::chatbot::assert_chatbot_schema(&posted[0]);
        let description = doc["content"]["description"].as_str().unwrap();
        assert!(description.contains("revoked"), "{description}");
        assert!(description.contains(&group_id));
    }
}
