//! Before deployment (DESIGN §16): the resources of one plan or template
//! judged together. Each is judged by its guard's offline verdict; a
//! service (or task set, or task) is then joined with what the same plan
//! holds beside it, named by id, address or logical id: its groups' ingress
//! (ECS-SVC-004) and its task definition (ECS-SVC-005). A role's policies
//! are joined with the role's trust (IAM-ECS-001), an attachment with the
//! policy the plan creates, and a load balancer's creation with the
//! attributes set right after it. What a resource names that the plan does
//! not hold, or holds with values unknown until apply, is said as not
//! checked, never passed.
//!
//! Layer: guards, beside them (it judges with them). May import the guards
//! and every layer below, `iac` among them.

mod elb;
mod iam;
mod instance;

use std::collections::HashMap;

use time::Date;

use crate::finding::Finding;
use crate::guards::iam as guards_iam;
use crate::guards::{offline, service};
use crate::iac::{Planned, UNKNOWN_UNTIL_APPLY};
use crate::model::svc::ServiceChange;
use crate::model::td::TaskDefinition;
use crate::policy::Policy;
use crate::report::Report;
use crate::rules::ec2_sg::internet_exposure;
use crate::rules::ecs_svc::Enrichment;

/// One resource and its verdict.
#[derive(Debug)]
pub struct Judged {
    pub planned: Planned,
    /// The verdict, or why the resource could not be judged.
    pub report: Result<Report, String>,
}

/// Judges every resource of one plan or template, joined within it.
pub fn judge(planned: Vec<Planned>, policy: &Policy, today: Date) -> Vec<Judged> {
    let mut judged: Vec<Judged> = planned
        .into_iter()
        .map(|p| {
            let report = match &p.event {
                Ok(event) => offline::evaluate(event, policy, today)
                    .map_err(|e| format!("{}: {e}", p.address)),
                Err(e) => Err(e.clone()),
            };
            Judged { planned: p, report }
        })
        .collect();
    elb::set_after_creation(&mut judged);
    elb::with_load_balancer(&mut judged, policy, today);
    let roles = iam::Roles::gather(&judged);
    for j in &mut judged {
        let (Ok(event), Ok(_)) = (&j.planned.event, &j.report) else {
            continue;
        };
        if let Some(facts) = roles.facts(event) {
            j.report = guards_iam::evaluate_planned(event, policy, &facts)
                .map(|mut report| {
                    report.finish(policy, today);
                    report
                })
                .map_err(|field| format!("{}: {}", j.planned.address, event.field_error(field)));
        }
    }
    clusters(&mut judged, policy, today);
    instance::container_instances(&mut judged, policy, today);
    let beside = Beside::gather(&judged);
    // A group the plan creates is never a VPC's default group (AWS makes
    // those with the VPC): EC2-SG-010 is settled for its rules.
    for j in &mut judged {
        let (Ok(event), Ok(report)) = (&j.planned.event, &mut j.report) else {
            continue;
        };
        let made_here = event
            .request
            .get("groupId")
            .and_then(|v| v.as_str())
            .and_then(|id| beside.groups.get(id))
            .is_some_and(|g| g.whole);
        if made_here && event.name == "AuthorizeSecurityGroupIngress" {
            report
                .notes
                .retain(|n| !n.starts_with(crate::guards::ingress::GROUP_NOT_NAMED));
        }
    }
    for j in &mut judged {
        let (Ok(event), Ok(_)) = (&j.planned.event, &j.report) else {
            continue;
        };
        if event.source != "ecs.amazonaws.com" {
            continue;
        }
        let Ok(Some(change)) = ServiceChange::from_event(event) else {
            continue;
        };
        let (enrichment, td, unread) = beside.enrich(&change);
        j.report = service::evaluate_planned(event, policy, &enrichment, td, &unread)
            .map(|mut report| {
                report.finish(policy, today);
                report
            })
            .map_err(|field| format!("{}: {}", j.planned.address, event.field_error(field)));
    }
    judged
}

/// Judges each cluster that does not say whether Container Insights is on
/// with the account default the same plan sets (or AWS's own).
fn clusters(judged: &mut [Judged], policy: &Policy, today: Date) {
    let account_default = judged
        .iter()
        .filter_map(|j| j.planned.event.as_ref().ok())
        .filter(|e| e.name == "PutAccountSettingDefault" && e.source == "ecs.amazonaws.com")
        .filter(|e| e.request.get("name").and_then(|v| v.as_str()) == Some("containerInsights"))
        .find_map(|e| e.request.get("value").and_then(|v| v.as_str()))
        .map(str::to_string);
    for j in judged.iter_mut() {
        let Ok(event) = &j.planned.event else {
            continue;
        };
        let unsaid = j.report.as_ref().is_ok_and(|r| {
            r.notes
                .iter()
                .any(|n| n == crate::guards::cluster::NEEDS_AWS)
        });
        if !unsaid {
            continue;
        }
        j.report =
            crate::guards::cluster::evaluate_planned(event, policy, account_default.as_deref())
                .map(|mut report| {
                    report.finish(policy, today);
                    report
                })
                .map_err(|field| format!("{}: {}", j.planned.address, event.field_error(field)));
    }
}

/// A group of the plan: the findings of its ingress that admit the
/// internet, and what of it is unknown until apply.
#[derive(Default)]
struct Group {
    exposure: Vec<Finding>,
    unknown: Vec<String>,
    /// The plan makes the group itself, so it holds all its ingress; a
    /// group only given rules by the plan has others it does not show.
    whole: bool,
}

/// What the plan holds that a service may name.
struct Beside {
    /// By group id, or the address or logical id standing for it.
    groups: HashMap<String, Group>,
    /// By address or logical id, with their findings.
    task_definitions: HashMap<String, (TaskDefinition, Vec<Finding>)>,
    /// Address by family, for a service that names the family alone (its
    /// latest revision: the one the plan registers).
    families: HashMap<String, Vec<String>>,
}

impl Beside {
    fn gather(judged: &[Judged]) -> Beside {
        let mut beside = Beside {
            groups: HashMap::new(),
            task_definitions: HashMap::new(),
            families: HashMap::new(),
        };
        for j in judged {
            let p = &j.planned;
            let event = match &p.event {
                Ok(event) => event,
                // A group that could not be made stands for itself, unknown.
                Err(why) if is_group_itself(&p.kind) => {
                    let group = beside.groups.entry(p.address.clone()).or_default();
                    group.unknown.push(why.clone());
                    continue;
                }
                Err(_) => continue,
            };
            match event.name.as_str() {
                "CreateSecurityGroup" => {
                    if let Some(id) = event.response.get("groupId").and_then(|v| v.as_str()) {
                        let group = beside.groups.entry(id.to_string()).or_default();
                        group.whole |= is_group_itself(&p.kind);
                    }
                }
                "AuthorizeSecurityGroupIngress" => {
                    let Some(id) = event.request.get("groupId").and_then(|v| v.as_str()) else {
                        continue;
                    };
                    let group = beside.groups.entry(id.to_string()).or_default();
                    group.whole |= is_group_itself(&p.kind);
                    if let Ok(report) = &j.report {
                        group
                            .exposure
                            .extend(internet_exposure(report.findings.clone()));
                    }
                    if !p.unknown.is_empty() {
                        group.unknown.push(format!(
                            "{}: {} unknown until apply",
                            p.address,
                            p.unknown.join(", ")
                        ));
                    } else if let Err(why) = &j.report {
                        group.unknown.push(why.clone());
                    }
                }
                "RegisterTaskDefinition" => {
                    let (Ok(Some(td)), Ok(report)) = (TaskDefinition::from_event(event), &j.report)
                    else {
                        continue;
                    };
                    beside
                        .families
                        .entry(td.family.clone())
                        .or_default()
                        .push(event.id.clone());
                    beside
                        .task_definitions
                        .insert(event.id.clone(), (td, report.findings.clone()));
                }
                _ => {}
            }
        }
        beside
    }

    /// What the plan says of the service's groups and task definition, and
    /// what it cannot say.
    fn enrich(&self, change: &ServiceChange) -> (Enrichment, Option<&TaskDefinition>, Vec<String>) {
        let mut enrichment = Enrichment::default();
        let mut unread = Vec::new();
        for id in change.security_groups() {
            let group = self.groups.get(id);
            // Ingress of the plan that admits the internet is judged even
            // where the rest of the group is not known.
            if let Some(group) = group.filter(|g| g.whole || !g.exposure.is_empty()) {
                enrichment.groups.push((id.clone(), group.exposure.clone()));
            }
            let why = match group {
                Some(group) if !group.unknown.is_empty() => group.unknown.join("; "),
                Some(group) if group.whole => continue,
                Some(_) => "its other rules are not in this plan: the Lambda reads its live rules"
                    .to_string(),
                None if id == UNKNOWN_UNTIL_APPLY => {
                    "which groups is known after apply".to_string()
                }
                None => "not in this plan: the Lambda reads its live rules".to_string(),
            };
            unread.push(format!("security group {id}: {why}"));
            enrichment.unchecked_groups.push((id.clone(), why));
        }
        let mut deployed = None;
        match change.task_definition() {
            None => unread
                .push("the task definition: not named in the plan (known after apply)".to_string()),
            Some(name) => match self.task_definition(name) {
                Some((td, findings)) => {
                    enrichment.task_definition = Some((td.label(), findings.clone()));
                    deployed = Some(td);
                }
                None => unread.push(format!(
                    "task definition {name}: not in this plan (the Lambda reads the deployed one)"
                )),
            },
        }
        (enrichment, deployed, unread)
    }

    /// The task definition a service names: by address or logical id, or by
    /// family when the plan registers exactly one of that family.
    fn task_definition(&self, name: &str) -> Option<&(TaskDefinition, Vec<Finding>)> {
        if let Some(found) = self.task_definitions.get(name) {
            return Some(found);
        }
        match self.families.get(name).map(Vec::as_slice) {
            Some([only]) => self.task_definitions.get(only),
            _ => None,
        }
    }
}

/// A resource that makes the group itself, with all its ingress.
fn is_group_itself(kind: &str) -> bool {
    matches!(kind, "aws_security_group" | "AWS::EC2::SecurityGroup")
}

#[cfg(test)]
mod tests;
