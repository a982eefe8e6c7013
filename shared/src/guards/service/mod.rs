//! The service guard: services (`CreateService`/`UpdateService`), task sets
//! (`CreateTaskSet`/`UpdateTaskSet`) and standalone tasks
//! (`RunTask`/`StartTask`) ▶ the ECS-SVC rules, joined with what they deploy
//! (`DescribeTaskDefinition`), the groups in front of them
//! (`DescribeSecurityGroupRules`) and, when the call turns ECS Exec on, the
//! cluster's Exec configuration (`DescribeClusters`) ▶ one alert. Notify only.
//!
//! The steps, one file each:
//! - `read`: what the record leaves out, read live: the deployed task
//!   definition, the groups' live rules, the cluster's Exec configuration;
//! - `report`: the verdict and its lines (who started the tasks, the reach
//!   line), and the offline verdict;
//! - `bypass`: what ELB-011 could not judge about the service's own load
//!   balancers;
//! - `path`: where the tasks sit and what each exposure lets in, for the
//!   network path of each finding;
//! - `opens`: the ways in the change opens, as the access map draws them
//!   from what was read for the event.

mod bypass;
mod opens;
mod path;
mod read;
mod report;
#[cfg(test)]
mod test_support;

use crate::guards::paths;
use crate::guards::{preflight, report_and_notify, GuardError, GuardSettings};
use crate::model::event::Event;
use crate::model::svc::ServiceChange;
use crate::policy::Policy;
use crate::ports::{Clusters, Iam, Notifier, SecurityGroups, StateStore, TaskDefinitions, Vpcs};
use crate::report::Report;
use crate::rules::ecs_svc::Enrichment;

pub use read::not_visible;
pub use report::{evaluate_offline, evaluate_planned, reachability, NEEDS_AWS, NEEDS_AWS_EXEC};

use bypass::bypass_unknown;
pub use path::{exposed, placement};
use report::{report_for, started_by, turns_exec_on};

/// The service guard with its ports.
pub struct ServiceGuard<'a> {
    pub task_definitions: &'a dyn TaskDefinitions,
    pub groups: &'a dyn SecurityGroups,
    pub clusters: &'a dyn Clusters,
    /// The network path of what is exposed (subnets, routes, network ACLs).
    pub vpcs: &'a dyn Vpcs,
    /// The sweep's state table, where the ways in recorded at the last
    /// sweep are read to name those a change closes; `None` without one.
    pub state: Option<&'a dyn StateStore>,
    /// IAM, to read what the task role may do for the ways in an alert
    /// names (one role); `None`: said as not read.
    pub iam: Option<&'a dyn Iam>,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl ServiceGuard<'_> {
    pub async fn handle(&self, event: &Event) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(skipped) = preflight(event, self.settings, &[]) {
            return Ok(skipped);
        }
        let change = match ServiceChange::from_event(event).map_err(GuardError::parse(event))? {
            Some(change) => change,
            None => return Ok(Report::not_handled(event)),
        };
        let notes: Vec<String> = started_by(event, &change).into_iter().collect();
        // Checks that could not run: said in the alert, which goes out.
        let mut unread: Vec<String> = Vec::new();
        let mut task_definition = None;
        let mut read_groups = Vec::new();
        let mut enrichment = if change.changes_exposure() {
            let (enrichment, td, groups) = self
                .enrich(event, &change, &mut unread)
                .await
                .map_err(aws)?;
            task_definition = td;
            read_groups = groups;
            Some(enrichment)
        } else {
            None
        };
        if turns_exec_on(&change) {
            let exec = self
                .cluster_exec(event, &change.cluster, &mut unread)
                .await
                .map_err(aws)?;
            let joined = enrichment.get_or_insert_with(Enrichment::default);
            if exec.is_none() {
                joined.cluster_exec_unknown = Some(change.cluster.clone());
            }
            joined.cluster_exec = exec;
        }
        let mut report = report_for(event, &change, self.policy, enrichment.as_ref());
        report.notes = notes;
        report.notes.extend(bypass_unknown(
            &change,
            self.policy,
            enrichment.as_ref(),
            "not judged",
        ));
        if !unread.is_empty() {
            report.unevaluated = Some(format!("could not check {}", unread.join("; ")));
        }
        report.reachability = Some(reachability(
            &change,
            enrichment.as_ref(),
            task_definition.as_ref(),
        ));
        let exposed = exposed(
            &report.findings,
            enrichment.as_ref(),
            task_definition.as_ref(),
        );
        let placement = placement(&change);
        if !exposed.iter().all(|e| e.traffic.is_empty()) {
            let networks = match &placement.subnets {
                Ok(subnets) => paths::read_networks(self.vpcs, subnets, &event.id)
                    .await
                    .map_err(aws)?,
                Err(_) => paths::Networks::default(),
            };
            paths::add_lines(
                &mut report.findings,
                exposed,
                &placement,
                &networks,
                self.policy.wide,
            );
            // The ways in the change opens (and, against the last sweep's
            // record, closes), drawn from what was read for it.
            let doc = opens::drawn(
                event,
                &change,
                task_definition.as_ref(),
                read_groups,
                &networks,
                self.policy,
                self.iam,
            )
            .await
            .map_err(aws)?;
            report.notes.extend(opens::opened(doc.as_ref()));
            if let (Some(state), Some(doc)) = (self.state, doc.as_ref()) {
                report.notes.extend(opens::closed(state, event, doc).await);
            }
        }
        report_and_notify(event, report, self.policy, self.settings, self.notifier).await
    }
}

#[cfg(test)]
mod tests {
    use crate::guards::service::test_support::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_task_set_and_a_standalone_task_get_the_live_join_a_service_gets() {
        let net = json!({"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}});
        let task_set = event(
            "CreateTaskSet",
            json!({"cluster": "prod", "service": "web", "taskDefinition": "web:3", "networkConfiguration": net}),
        );
        let (report, sent) = run(&privileged_task(), &ssh_open_group(), &task_set).await;
        let report = report.unwrap();
        assert_eq!(
            rules_of(&report),
            ["ECS-SVC-005", "ECS-SVC-004", "ECS-SVC-008"]
        );
        assert_eq!(report.resource.as_deref(), Some("prod/web"));
        assert_eq!(sent.len(), 1);
        // RunTask by an EventBridge rule: judged the same, and the alert says who started it.
        let mut run_task = event(
            "RunTask",
            json!({"cluster": "prod", "taskDefinition": "web:3", "networkConfiguration": net,
                   "startedBy": "events-rule/nightly-job"}),
        );
        run_task.actor.invoked_by = Some("events.amazonaws.com".into());
        let (report, sent) = run(&privileged_task(), &ssh_open_group(), &run_task).await;
        let report = report.unwrap();
        assert_eq!(
            rules_of(&report),
            ["ECS-SVC-005", "ECS-SVC-004", "ECS-SVC-009"]
        );
        assert_eq!(report.resource.as_deref(), Some("prod/task web:3"));
        assert!(
            report.notes.iter().any(|n| n
                == "RunTask invoked by EventBridge (events.amazonaws.com), startedBy events-rule/nightly-job"),
            "{:?}",
            report.notes
        );
        assert!(
            sent[0].message.contains("invoked by EventBridge"),
            "{}",
            sent[0].message
        );
    }
    #[tokio::test]
    async fn a_scale_out_reads_nothing_and_sends_nothing() {
        let tds = privileged_task();
        let (report, sent) = run(
            &tds,
            &ssh_open_group(),
            &event(
                "UpdateService",
                json!({"service": "web", "desiredCount": 5}),
            ),
        )
        .await;
        let report = report.unwrap();
        assert!(report.findings.is_empty());
        assert!(sent.is_empty());
        assert!(tds.calls.lock().unwrap().is_empty());
        assert!(
            report
                .reachability
                .unwrap()
                .contains("internet-open groups: unknown (not checked)"),
            "a check that did not run is unknown, never none"
        );
    }
}
