//! The cluster guard: clusters, account settings and capacity providers ▶
//! the ECS-CL rules ▶ one alert. Notify only. A cluster created without
//! saying whether Container Insights is on takes the account default: the
//! Lambda reads the cluster back (`DescribeClusters`) rather than guess.

use tracing::warn;

use crate::guards::{failed_call, preflight, report_and_notify, GuardError, GuardSettings};
use crate::model::cl::{ClusterChange, ClusterSettings};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::policy::Policy;
use crate::ports::{Clusters, Notifier};
use crate::report::Report;
use crate::rules::{self, ecs_cl::ClContext};

/// What the offline verdict cannot judge.
pub const NEEDS_AWS: &str = "ECS-CL-001 needs AWS: the record does not say whether Container Insights is on (the account default applies); the Lambda reads the cluster";

fn report_for(event: &Event, change: &ClusterChange, policy: &Policy) -> Report {
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    report.findings = rules::evaluate_cl(change, &ClContext { policy });
    report
}

/// The cluster a created cluster's Container Insights must be read from:
/// neither the request nor the response says.
fn unsaid_insights(change: &ClusterChange) -> Option<&str> {
    match change {
        ClusterChange::Cluster {
            created: true,
            cluster,
            effective,
            ..
        } if effective.container_insights.is_none() => Some(cluster),
        _ => None,
    }
}

/// The offline verdict (CLI): only what the event shows.
pub fn evaluate_offline(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    if let Some(reason) = failed_call(event, &[]) {
        return Ok(Report::skipped(event, reason));
    }
    let Some(change) = ClusterChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let mut report = report_for(event, &change, policy);
    if unsaid_insights(&change).is_some() {
        report.notes.push(NEEDS_AWS.to_string());
    }
    Ok(report)
}

/// The verdict before deployment (DESIGN §16): a cluster that does not say
/// whether Container Insights is on gets the account default the same plan
/// sets, else AWS's own default for the account (off), said in a note.
pub fn evaluate_planned(
    event: &Event,
    policy: &Policy,
    account_default: Option<&str>,
) -> Result<Report, FieldError> {
    let Some(mut change) = ClusterChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let mut notes = Vec::new();
    if unsaid_insights(&change).is_some() {
        let value = account_default.unwrap_or("disabled");
        if let ClusterChange::Cluster { effective, .. } = &mut change {
            effective.container_insights = Some(value.to_string());
        }
        notes.push(match account_default {
            Some(v) => format!(
                "Container Insights: the cluster does not set it; the account default this plan sets ({v}) applies"
            ),
            None => "Container Insights: neither the cluster nor the account default is set in this plan; judged with AWS's default for the account (disabled)".to_string(),
        });
    }
    let mut report = report_for(event, &change, policy);
    report.notes = notes;
    Ok(report)
}

/// The cluster guard with its ports.
pub struct ClusterGuard<'a> {
    pub clusters: &'a dyn Clusters,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl ClusterGuard<'_> {
    pub async fn handle(&self, event: &Event) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(skipped) = preflight(event, self.settings, &[]) {
            return Ok(skipped);
        }
        let Some(mut change) =
            ClusterChange::from_event(event).map_err(GuardError::parse(event))?
        else {
            return Ok(Report::not_handled(event));
        };
        // A check that could not run: said in the alert, which goes out.
        let mut unread = Vec::new();
        if let Some(cluster) = unsaid_insights(&change).map(str::to_string) {
            match self.clusters.describe(&cluster).await {
                Ok(Some(read)) if read.container_insights.is_some() => {
                    if let ClusterChange::Cluster { effective, .. } = &mut change {
                        *effective = ClusterSettings {
                            container_insights: read.container_insights,
                            ..effective.clone()
                        };
                    }
                }
                Ok(Some(_)) => unread.push(format!(
                    "Container Insights on cluster {cluster}: DescribeClusters does not say"
                )),
                Ok(None) => unread.push(format!(
                    "Container Insights on cluster {cluster}: not found"
                )),
                Err(e) if e.retryable => return Err(aws(e)),
                Err(e) => {
                    warn!(event_id = %event.id, cluster = %cluster, error = %e, "could not check");
                    unread.push(format!(
                        "Container Insights on cluster {cluster}: {}",
                        e.code_or_kind()
                    ));
                }
            }
        }
        let mut report = report_for(event, &change, self.policy);
        if !unread.is_empty() {
            report.unevaluated = Some(format!("could not check {}", unread.join("; ")));
        }
        report_and_notify(event, report, self.policy, self.settings, self.notifier).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::fakes::{MemoryClusters, MemoryNotifier};
    use crate::ports::AwsError;
    use serde_json::json;

    fn event(name: &str, request: serde_json::Value, response: serde_json::Value) -> Event {
        let record = json!({"eventID": "ev-cl", "eventName": name, "eventSource": "ecs.amazonaws.com",
            "recipientAccountId": "111122223333", "awsRegion": "eu-west-1",
            "requestParameters": request, "responseElements": response});
        Event::from_value(&record, "test").unwrap()
    }

    async fn run(
        clusters: &MemoryClusters,
        policy: &Policy,
        e: &Event,
    ) -> (Result<Report, GuardError>, usize) {
        let notifier = MemoryNotifier::default();
        let settings = GuardSettings::default();
        let result = ClusterGuard {
            clusters,
            notifier: &notifier,
            policy,
            settings: &settings,
        }
        .handle(e)
        .await;
        let sent = notifier.sent.lock().unwrap().len();
        (result, sent)
    }

    fn rules_of(report: &Report) -> Vec<&str> {
        report.findings.iter().map(|f| f.rule).collect()
    }

    #[tokio::test]
    async fn an_unsaid_setting_is_read_back_never_assumed() {
        let create = event(
            "CreateCluster",
            json!({"clusterName": "prod"}),
            json!({"cluster": {"clusterName": "prod"}}),
        );
        // Offline: not judged, and the verdict says so.
        let offline = evaluate_offline(&create, &Policy::embedded()).unwrap();
        assert!(!rules_of(&offline).contains(&"ECS-CL-001"));
        assert_eq!(offline.notes, [NEEDS_AWS]);
        // The Lambda reads it: off by the account default → ECS-CL-001.
        let off = ClusterSettings {
            container_insights: Some("disabled".into()),
            ..ClusterSettings::default()
        };
        let clusters = MemoryClusters {
            by_name: vec![("prod".into(), off)],
            ..MemoryClusters::default()
        };
        let (report, _) = run(&clusters, &Policy::embedded(), &create).await;
        let report = report.unwrap();
        assert!(rules_of(&report).contains(&"ECS-CL-001"), "{report:?}");
        assert_eq!(*clusters.calls.lock().unwrap(), ["prod"]);
        // Denied: unknown, said, never "on".
        let denied = MemoryClusters {
            error: Some(AwsError {
                operation: "DescribeClusters",
                code: Some("AccessDeniedException".into()),
                message: "no".into(),
                retryable: false,
            }),
            ..MemoryClusters::default()
        };
        let (report, sent) = run(&denied, &Policy::embedded(), &create).await;
        let report = report.unwrap();
        assert_eq!(
            report.unevaluated.as_deref(),
            Some("could not check Container Insights on cluster prod: AccessDeniedException")
        );
        assert!(!rules_of(&report).contains(&"ECS-CL-001"), "{report:?}");
        assert_eq!(
            sent, 1,
            "a check that could not run is alerted, beside medium findings that alone would not be"
        );
        // Throttled: the invocation fails so that Lambda retries.
        let throttled = MemoryClusters {
            error: Some(AwsError {
                operation: "DescribeClusters",
                code: Some("ThrottlingException".into()),
                message: "slow down".into(),
                retryable: true,
            }),
            ..MemoryClusters::default()
        };
        assert!(run(&throttled, &Policy::embedded(), &create)
            .await
            .0
            .is_err());
    }

    #[tokio::test]
    async fn a_said_setting_needs_no_read_and_medium_findings_do_not_alert_alone() {
        let create = event(
            "CreateCluster",
            json!({"clusterName": "prod", "settings": [{"name": "containerInsights", "value": "disabled"}]}),
            json!(null),
        );
        let clusters = MemoryClusters::default();
        let (report, sent) = run(&clusters, &Policy::embedded(), &create).await;
        let report = report.unwrap();
        assert_eq!(
            rules_of(&report),
            ["ECS-CL-001", "ECS-CL-002", "ECS-CL-003"]
        );
        assert!(clusters.calls.lock().unwrap().is_empty());
        assert_eq!(
            sent, 0,
            "medium and low findings are below notify_min_severity"
        );
        let loud = Policy::from_toml("notify_min_severity = \"low\"", "t").unwrap();
        assert_eq!(run(&clusters, &loud, &create).await.1, 1);
    }

    #[tokio::test]
    async fn failed_calls_and_other_services_are_not_judged() {
        let mut failed = event(
            "PutAccountSettingDefault",
            json!({"name": "containerInsights", "value": "disabled"}),
            json!(null),
        );
        failed.error_code = Some("AccessDeniedException".into());
        let report = run(&MemoryClusters::default(), &Policy::embedded(), &failed)
            .await
            .0
            .unwrap();
        assert_eq!(
            report.skipped.as_deref(),
            Some("failed call: AccessDeniedException")
        );
        let mut other = event("CreateCluster", json!({"clusterName": "c"}), json!(null));
        other.source = "eks.amazonaws.com".into();
        assert!(run(&MemoryClusters::default(), &Policy::embedded(), &other)
            .await
            .0
            .unwrap()
            .is_not_handled());
    }
}
