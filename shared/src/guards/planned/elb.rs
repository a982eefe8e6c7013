//! A load balancer of a plan is two calls: its creation, which sets no
//! attributes, and the attributes set right after it. The creation's
//! verdict on an attribute the plan sets is the verdict on AWS's default,
//! which the plan overrides at once: it is left to the attributes' own
//! verdict, which judges the value the plan sets.

use std::collections::HashMap;

use crate::model::elb::{
    ACCESS_LOGS, DELETION_PROTECTION, DESYNC_MITIGATION_MODE, DROP_INVALID_HEADER_FIELDS,
};
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
