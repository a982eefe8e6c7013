//! Load balancers within a plan or template. A load balancer is two calls:
//! its creation, which sets no attributes, and the attributes set right
//! after it. The creation's verdict on an attribute the plan sets is the
//! verdict on AWS's default, which the plan overrides at once: it is left
//! to the attributes' own verdict, which judges the value the plan sets.
//! A listener or a rule on a load balancer of the same plan is judged with
//! the load balancer's scheme and kind (ELB-001, ELB-002 need them).

use std::collections::HashMap;

use time::Date;

use crate::guards::network::elb::report_for;
use crate::model::elb::{
    ElbChange, ACCESS_LOGS, DELETION_PROTECTION, DESYNC_MITIGATION_MODE, DROP_INVALID_HEADER_FIELDS,
};
use crate::policy::Policy;
use crate::rules::elb::ElbFacts;
use crate::rules::elb::{
    access_logs_off::ACCESS_LOGS_OFF, deletion_protection_off::DELETION_PROTECTION_OFF,
    desync_mitigation::DESYNC_MITIGATION, invalid_headers_kept::INVALID_HEADERS_KEPT,
};

use super::Judged;

/// Leaves out of each creation's verdict the attribute rules whose
/// attribute the same resource sets right after.
pub(super) fn set_after_creation(judged: &mut [Judged]) {
    let rules = [
        (DROP_INVALID_HEADER_FIELDS, INVALID_HEADERS_KEPT.id),
        (DESYNC_MITIGATION_MODE, DESYNC_MITIGATION.id),
        (ACCESS_LOGS, ACCESS_LOGS_OFF.id),
        (DELETION_PROTECTION, DELETION_PROTECTION_OFF.id),
    ];
    let mut set: HashMap<String, Vec<String>> = HashMap::new();
    for j in judged.iter() {
        let (Ok(event), Ok(_)) = (&j.planned.event, &j.report) else {
            continue;
        };
        if event.name != "ModifyLoadBalancerAttributes" {
            continue;
        }
        let keys = event
            .request
            .get("attributes")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("key").and_then(|k| k.as_str()))
            .map(str::to_string);
        set.entry(j.planned.address.clone())
            .or_default()
            .extend(keys);
    }
    for j in judged.iter_mut() {
        let (Ok(event), Ok(report)) = (&j.planned.event, &mut j.report) else {
            continue;
        };
        let Some(keys) = set.get(&j.planned.address) else {
            continue;
        };
        if event.name == "ModifyLoadBalancerAttributes" {
            // What the attributes' record does not set, the creation's
            // verdict judged as AWS's default: nothing is left to ask.
            report.notes.retain(|n| {
                !rules
                    .iter()
                    .any(|(_, rule)| n.starts_with(&format!("{rule} needs AWS: ")))
            });
            continue;
        }
        if event.name != "CreateLoadBalancer" {
            continue;
        }
        report.findings.retain(|f| {
            !rules
                .iter()
                .any(|(key, rule)| f.rule == *rule && keys.iter().any(|k| k == key))
        });
    }
}

/// Judges again, with the load balancer's scheme and kind, each listener
/// and rule whose load balancer the same plan creates.
pub(super) fn with_load_balancer(judged: &mut [Judged], policy: &Policy, today: Date) {
    let change = |j: &Judged| -> Option<ElbChange> {
        let event = j.planned.event.as_ref().ok()?;
        (event.source == "elasticloadbalancing.amazonaws.com")
            .then(|| ElbChange::from_event(event).ok().flatten())
            .flatten()
    };
    // The plan's load balancers: their facts by address, their ARNs (the
    // attributes' record names it) to their addresses.
    let mut facts: HashMap<String, ElbFacts> = HashMap::new();
    let mut addresses: HashMap<String, String> = HashMap::new();
    for j in judged.iter() {
        let Some(change) = change(j) else {
            continue;
        };
        match &change {
            ElbChange::LoadBalancer { .. } => {
                let f = facts.entry(j.planned.address.clone()).or_default();
                f.scheme = change.scheme();
                f.lb_type = change.lb_type();
            }
            ElbChange::Attributes(_) => {
                if let Some(arn) = change.load_balancer_arn() {
                    addresses.insert(arn, j.planned.address.clone());
                }
            }
            _ => {}
        }
    }
    for j in judged.iter_mut() {
        let Some(change) = change(j) else {
            continue;
        };
        if !matches!(change, ElbChange::Listener { .. } | ElbChange::Rule { .. })
            || j.report.is_err()
        {
            continue;
        }
        // The load balancer by the ARN its attributes' record names, else by
        // the address or logical id that stands in its ARN until apply.
        let Some(f) = change.load_balancer_arn().and_then(|arn| {
            addresses
                .get(&arn)
                .and_then(|address| facts.get(address))
                .or_else(|| {
                    facts
                        .iter()
                        .find(|(address, _)| {
                            arn.ends_with(&format!("/{address}"))
                                || arn.contains(&format!("/{address}/"))
                        })
                        .map(|(_, f)| f)
                })
        }) else {
            continue;
        };
        let Ok(event) = &j.planned.event else {
            continue;
        };
        let mut report = report_for(event, &change, policy, f);
        report.finish(policy, today);
        j.report = Ok(report);
    }
}
