//! Control-plane paths: who may open a shell in a service's tasks through
//! ECS Exec — the users and roles whose identity policies allow
//! `ecs:ExecuteCommand` on its cluster or tasks, on a service with
//! `enableExecuteCommand` — and whether sessions are logged. A grant under
//! conditions, or that a boundary or a conditional Deny may narrow, is a
//! possible path, never taken as a pass or as a denial.

use super::Place;
use crate::model::iam::access::{who_may_exec, Allowance};
use crate::ports::estate::ServiceState;
use crate::report::links::Page;
use crate::report::map::{path, Hop, HopKind, MapDocument, PathKind};

impl Place<'_> {
    pub(super) fn service_exec(&self, doc: &mut MapDocument, service: &ServiceState, id: &str) {
        if service.settings.enable_execute_command != Some(true) {
            return;
        }
        let end = doc.holds.first().cloned();
        let severity = doc.worst_end();
        let target = Hop::new(
            HopKind::Service,
            id,
            format!("shell in the tasks of service {id}"),
        )
        .console(doc.target.console.clone());
        let exec = self.exec_hop(&service.cluster);
        let principals = match &self.estate.principals {
            Some(Ok(principals)) => principals,
            Some(Err(why)) => {
                let hop = Hop::new(HopKind::Principal, "?", "who may run ecs:ExecuteCommand?")
                    .unknown(Some(format!(
                        "the account's principals could not be read ({why})"
                    )));
                doc.push(path(
                    PathKind::Exec,
                    vec![hop, exec, target],
                    None,
                    end.as_ref(),
                    severity,
                ));
                return;
            }
            None => return,
        };
        for a in who_may_exec(self.region, self.account, &service.cluster, principals) {
            let hop = principal_hop(self, &a);
            doc.push(path(
                PathKind::Exec,
                vec![hop, exec.clone(), target.clone()],
                None,
                end.as_ref(),
                severity,
            ));
        }
    }

    /// The ECS Exec hop: the cluster, and whether sessions are logged.
    fn exec_hop(&self, cluster: &str) -> Hop {
        let logging = self
            .estate
            .clusters
            .iter()
            .find(|c| c.name == cluster)
            .map(|c| match &c.settings.exec {
                Some(e) if e.logging_off() => "sessions are not logged (logging NONE)".to_string(),
                Some(e) => match (&e.log_group, &e.s3_bucket) {
                    (Some(g), _) => format!("sessions logged to log group {g}"),
                    (None, Some(b)) => format!("sessions logged to bucket {b}"),
                    _ => "sessions logged as the task definition's awslogs (DEFAULT)".to_string(),
                },
                None => "sessions logged as the task definition's awslogs (DEFAULT)".to_string(),
            })
            .unwrap_or_else(|| {
                format!("cluster {cluster} was not read: whether sessions are logged is unknown")
            });
        Hop::new(
            HopKind::Service,
            format!("exec:{cluster}"),
            format!("ECS Exec in cluster {cluster}"),
        )
        .evidence("enableExecuteCommand on the service")
        .evidence(logging)
    }
}

/// The principal's hop: the statement that grants it, the resource, and
/// what may narrow it (conditions, a boundary, a conditional Deny) as an
/// unknown: the path is then possible.
fn principal_hop(place: &Place<'_>, a: &Allowance) -> Hop {
    let mut hop = Hop::new(HopKind::Principal, &a.arn, a.principal.clone())
        .evidence(format!(
            "{} allows ecs:ExecuteCommand on {}",
            a.statement, a.resource
        ))
        .console(
            place
                .console(Page::Role, &a.arn)
                .filter(|_| a.arn.contains(":role/")),
        );
    if let Some(group) = &a.via_group {
        hop = hop.evidence(format!("through group {group}"));
    }
    let mut narrowed: Vec<String> = a
        .conditions
        .iter()
        .map(|c| format!("only when {c}"))
        .collect();
    narrowed.extend(a.notes.iter().cloned());
    if !narrowed.is_empty() {
        hop = hop.unknown(Some(narrowed.join("; ")));
    }
    hop
}
