//! The service guard's reads: what the record leaves out, read live — the
//! deployed task definition, the groups' live rules (with their prefix
//! lists) and the cluster's Exec configuration.

use crate::ports::estate::GroupState;
use tracing::warn;

use super::ServiceGuard;
use crate::guards::task_definition as task_guard;
use crate::model::event::Event;
use crate::model::sg::{PrefixListEntries, SgChange};
use crate::model::svc::ServiceChange;
use crate::model::td::TaskDefinition;
use crate::ports::AwsError;
use crate::rules;
use crate::rules::ecs_svc::Enrichment;

impl ServiceGuard<'_> {
    /// The cluster's Exec configuration; `None` (`unread` says why) when
    /// it cannot be read: unknown, never "protected".
    pub(super) async fn cluster_exec(
        &self,
        event: &Event,
        cluster: &str,
        unread: &mut Vec<String>,
    ) -> Result<Option<(String, crate::model::cl::ExecConfiguration)>, AwsError> {
        match self.clusters.describe(cluster).await {
            Ok(Some(settings)) => {
                if settings.exec.is_none() {
                    unread.push(format!(
                        "cluster {cluster}'s exec configuration: DescribeClusters does not say"
                    ));
                }
                Ok(settings.exec.map(|exec| (cluster.to_string(), exec)))
            }
            Ok(None) => {
                unread.push(format!("cluster {cluster}'s exec configuration: not found"));
                Ok(None)
            }
            Err(e) if e.retryable => Err(e),
            Err(e) => {
                warn!(event_id = %event.id, cluster = %cluster, error = %e, "could not check");
                unread.push(format!(
                    "cluster {cluster}'s exec configuration: {}",
                    e.code_or_kind()
                ));
                Ok(None)
            }
        }
    }

    /// Reads the deployed task definition and the attached groups. What cannot
    /// be read is said in `unread` (`task definition …: code`), which the
    /// alert reports as not evaluated; throttling and outages fail the
    /// invocation so that Lambda retries it.
    pub(super) async fn enrich(
        &self,
        event: &Event,
        change: &ServiceChange,
        unread: &mut Vec<String>,
    ) -> Result<(Enrichment, Option<TaskDefinition>, Vec<GroupState>), AwsError> {
        let mut enrichment = Enrichment::default();
        // The groups' rules as read, for the access map's paths.
        let mut read_groups = Vec::new();
        let mut deployed = None;
        match change.task_definition() {
            None => unread.push("the task definition: the event does not name it".to_string()),
            Some(name) => match self.task_definitions.describe(name).await {
                Ok(Some(td)) => {
                    let findings = task_guard::assess(&td, &event.account, self.policy);
                    enrichment.task_definition = Some((td.label(), findings));
                    deployed = Some(td);
                }
                Ok(None) => unread.push(format!("task definition {name}: not found")),
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    warn!(event_id = %event.id, task_definition = %name, error = %e, "could not check");
                    unread.push(format!("task definition {name}: {}", e.code_or_kind()));
                }
            },
        }
        for group_id in change.security_groups() {
            // DescribeSecurityGroupRules answers an empty list alike for a
            // group without ingress and for one this account cannot see (a
            // shared VPC's group of another account, one deleted): the
            // group itself is read first, and one not seen is unknown.
            match self.groups.group(group_id).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    let why = not_visible(&event.account);
                    warn!(event_id = %event.id, group_id = %group_id, "could not check: {why}");
                    unread.push(format!(
                        "security group {group_id}: could not be read ({why})"
                    ));
                    enrichment
                        .unchecked_groups
                        .push((group_id.clone(), format!("could not be read: {why}")));
                    continue;
                }
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    warn!(event_id = %event.id, group_id = %group_id, error = %e, "could not check");
                    unread.push(format!("security group {group_id}: {}", e.code_or_kind()));
                    enrichment
                        .unchecked_groups
                        .push((group_id.clone(), e.code_or_kind()));
                    continue;
                }
            }
            match self.groups.rules_of_group(group_id).await {
                Ok(stored) => {
                    let mut ingress = SgChange::current_ingress(group_id, stored.clone())
                        .with_account(&event.account);
                    // A prefix list holding an internet-wide entry is the
                    // internet; one that cannot be read is unknown (said).
                    for list in ingress.prefix_list_ids() {
                        let entries = match self.groups.prefix_list(&list).await {
                            Ok(entries) => entries,
                            Err(e) if e.retryable => return Err(e),
                            Err(e) => {
                                unread.push(format!(
                                    "prefix list {list} of {group_id} ({}): whether it opens the group to the internet is unknown",
                                    e.code_or_kind()
                                ));
                                // The reach line says "unknown", never "none".
                                enrichment.unchecked_groups.push((
                                    group_id.clone(),
                                    format!("prefix list {list}: {}", e.code_or_kind()),
                                ));
                                PrefixListEntries::Unknown(e.code_or_kind())
                            }
                        };
                        ingress.prefix_lists.insert(list, entries);
                    }
                    let exposure =
                        rules::ec2_sg::internet_exposure(rules::evaluate_sg(&ingress, self.policy));
                    enrichment.groups.push((group_id.clone(), exposure));
                    read_groups.push(GroupState {
                        info: crate::ports::GroupInfo {
                            group_id: group_id.clone(),
                            name: String::new(),
                            vpc_id: None,
                            tags: Vec::new(),
                        },
                        rules: stored,
                        prefix_lists: ingress.prefix_lists.clone(),
                    });
                }
                Err(e) if e.retryable => return Err(e),
                Err(e) => {
                    warn!(event_id = %event.id, group_id = %group_id, error = %e, "could not check");
                    unread.push(format!("security group {group_id}: {}", e.code_or_kind()));
                    enrichment
                        .unchecked_groups
                        .push((group_id.clone(), e.code_or_kind()));
                }
            }
        }
        Ok((enrichment, deployed, read_groups))
    }
}

/// Why a group named by a service is not seen in `account`.
pub fn not_visible(account: &str) -> String {
    format!(
        "not found in account {account}: another account's group, as in a shared VPC, or one deleted"
    )
}

#[cfg(test)]
mod tests {
    use crate::guards::service::test_support::*;
    use crate::guards::service::{evaluate_offline, NEEDS_AWS_EXEC};
    use crate::policy::Policy;
    use crate::ports::fakes::{MemoryClusters, MemoryGroups, MemoryTaskDefinitions};
    use crate::ports::AwsError;
    use serde_json::json;

    #[tokio::test]
    async fn exec_on_a_cluster_that_does_not_log_sessions_is_read_and_judged() {
        use crate::model::cl::{ClusterSettings, ExecConfiguration};
        let exec_on = event(
            "UpdateService",
            json!({"cluster": "prod", "service": "web", "enableExecuteCommand": true}),
        );
        let unlogged = MemoryClusters {
            by_name: vec![(
                "prod".into(),
                ClusterSettings {
                    exec: Some(ExecConfiguration {
                        logging: Some("NONE".into()),
                        ..ExecConfiguration::default()
                    }),
                    ..ClusterSettings::default()
                },
            )],
            ..MemoryClusters::default()
        };
        let none = MemoryGroups::default();
        let (report, sent) = run_in(
            &MemoryTaskDefinitions::default(),
            &none,
            &unlogged,
            &exec_on,
        )
        .await;
        let report = report.unwrap();
        assert_eq!(rules_of(&report), ["ECS-SVC-012", "ECS-SVC-002"]);
        assert_eq!(*unlogged.calls.lock().unwrap(), ["prod"]);
        assert_eq!(sent.len(), 1, "high: alerted");
        // Unreadable: unknown, said, and no ECS-SVC-012 on a guess.
        let denied = MemoryClusters {
            error: Some(AwsError {
                operation: "DescribeClusters",
                code: Some("AccessDeniedException".into()),
                message: "no".into(),
                retryable: false,
            }),
            ..MemoryClusters::default()
        };
        let (report, sent) =
            run_in(&MemoryTaskDefinitions::default(), &none, &denied, &exec_on).await;
        let report = report.unwrap();
        assert_eq!(rules_of(&report), ["ECS-SVC-012", "ECS-SVC-002"]);
        assert!(report.findings[0].detail.contains("is unknown"));
        assert_eq!(sent.len(), 1, "an unknown at high alerts");
        assert_eq!(
            report.unevaluated.as_deref(),
            Some("could not check cluster prod's exec configuration: AccessDeniedException")
        );
        // Offline the verdict says what it could not judge.
        let offline = evaluate_offline(&exec_on, &Policy::embedded()).unwrap();
        assert!(offline.notes.contains(&NEEDS_AWS_EXEC.to_string()));
    }
    #[tokio::test]
    async fn what_cannot_be_checked_is_said() {
        let mut tds = privileged_task();
        tds.error = Some(AwsError {
            operation: "DescribeTaskDefinition",
            code: Some("AccessDeniedException".into()),
            message: "no".into(),
            retryable: false,
        });
        let (report, sent) = run(&tds, &ssh_open_group(), &create()).await;
        let report = report.unwrap();
        assert_eq!(
            report.unevaluated.as_deref(),
            Some("could not check task definition web:3: AccessDeniedException")
        );
        assert!(sent[0]
            .message
            .contains("could not check task definition web:3: AccessDeniedException"));

        // A group that cannot be read is "unknown" in the reach line, never "none".
        let mut denied = ssh_open_group();
        denied.rules_error = Some(AwsError {
            operation: "DescribeSecurityGroupRules",
            code: Some("UnauthorizedOperation".into()),
            message: "no".into(),
            retryable: false,
        });
        let (report, _) = run(&privileged_task(), &denied, &create()).await;
        let report = report.unwrap();
        assert_eq!(
            report.unevaluated.as_deref(),
            Some("could not check security group sg-1: UnauthorizedOperation")
        );
        let reach = report.reachability.unwrap();
        assert!(
            reach.contains("internet-open groups: unknown for sg-1 (UnauthorizedOperation)"),
            "{reach}"
        );

        tds.error = Some(AwsError {
            operation: "DescribeTaskDefinition",
            code: Some("ThrottlingException".into()),
            message: "slow".into(),
            retryable: true,
        });
        let (result, sent) = run(&tds, &ssh_open_group(), &create()).await;
        assert!(
            result.is_err(),
            "throttling fails the invocation so Lambda retries"
        );
        assert!(sent.is_empty());
    }
    #[tokio::test]
    async fn a_group_this_account_cannot_see_is_unknown_and_a_group_without_ingress_is_none() {
        // The service names sg-1; the account holds no such group (a shared
        // VPC's group of another account): its empty rule list is no evidence.
        let unseen = MemoryGroups {
            info: None,
            ..MemoryGroups::default()
        };
        let (report, sent) = run(&privileged_task(), &unseen, &create()).await;
        let report = report.unwrap();
        let unevaluated = report.unevaluated.clone().unwrap_or_default();
        assert!(
            unevaluated.contains(
                "security group sg-1: could not be read (not found in account 111122223333"
            ),
            "{unevaluated}"
        );
        let reach = report.reachability.clone().unwrap();
        assert!(
            reach.contains("internet-open groups: unknown for sg-1 (could not be read: not found"),
            "{reach}"
        );
        assert!(!rules_of(&report).contains(&"ECS-SVC-004"));
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].message.contains("could_not_evaluate"),
            "{}",
            sent[0].message
        );
        assert!(sent[0].message.contains("sg-1: could not be read"));

        // The group exists and admits nothing: none.
        let closed = ssh_open_group();
        closed.rules.lock().unwrap().clear();
        let (report, _) = run(&privileged_task(), &closed, &create()).await;
        let report = report.unwrap();
        assert_eq!(report.unevaluated, None);
        assert!(
            report
                .reachability
                .unwrap()
                .contains("internet-open groups: none;"),
            "a group read and found closed is none"
        );
    }
}
