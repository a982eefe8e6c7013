//! What the tests of each resource kind share: one resource in a plan, the
//! verdict on each record it stands for, and the sample events of a call
//! judged the same way.

use serde_json::{json, Value};

use super::planned;
use crate::guards::offline::evaluate;
use crate::model::event::Event;
use crate::policy::Policy;

/// The parts of a verdict a plan and a record must agree on: the rule ids
/// (each once), the notes of what needs AWS, why it was skipped.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Verdict {
    pub ids: Vec<&'static str>,
    pub notes: Vec<String>,
    pub skipped: Option<String>,
}

fn verdict(event: &Event) -> Verdict {
    let report = evaluate(event, &Policy::embedded(), crate::model::today()).unwrap();
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
    ids.sort_unstable();
    ids.dedup();
    Verdict {
        ids,
        notes: report.notes,
        skipped: report.skipped,
    }
}

/// The verdict on each record one resource of `kind` stands for (`Err`:
/// why it is not judged), with `after_unknown`.
pub(super) fn judge(kind: &str, after: Value, unknown: Value) -> Vec<Result<Verdict, String>> {
    let plan = json!({"format_version": "1.2", "resource_changes": [
        {"address": format!("{kind}.x"), "type": kind,
         "change": {"actions": ["create"], "after": after, "after_unknown": unknown}}]});
    planned(&plan, "plan.json", Some("111122223333"))
        .unwrap()
        .iter()
        .map(|p| p.event.as_ref().map(verdict).map_err(Clone::clone))
        .collect()
}

/// The rule ids of the one record a resource stands for.
pub(super) fn ids(kind: &str, after: Value) -> Vec<&'static str> {
    let mut verdicts = judge(kind, after, json!({}));
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    verdicts.remove(0).unwrap().ids
}

/// Every successful sample record of the `names` calls from `source`
/// (`ecs`), its file name and the record. What a record's response adds
/// (the values AWS answered) a plan cannot know: the response is left out.
pub(super) fn samples(source: &str, names: &[&str]) -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut record = value.get("detail").unwrap_or(&value).clone();
        let named = record["eventName"]
            .as_str()
            .is_some_and(|n| names.contains(&n));
        if !named
            || record["eventSource"] != format!("{source}.amazonaws.com")
            || record["errorCode"].is_string()
        {
            continue;
        }
        record["responseElements"] = Value::Null;
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        out.push((file, record));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The verdict on a sample record.
pub(super) fn judged(record: &Value) -> Verdict {
    verdict(&Event::from_value(record, "sample").unwrap())
}

/// The one verdict of a resource of `kind` written from a sample.
pub(super) fn from_plan(kind: &str, after: Value) -> Verdict {
    let mut verdicts = judge(kind, after, json!({}));
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    verdicts.remove(0).unwrap()
}

/// A Terraform tag map from an ECS/ELB tag list (`[{key, value}]`).
pub(super) fn tag_map(tags: Option<&Value>) -> Value {
    let mut map = serde_json::Map::new();
    for t in tags.and_then(Value::as_array).into_iter().flatten() {
        let key = t.get("key").or(t.get("Key")).and_then(Value::as_str);
        let value = t.get("value").or(t.get("Value"));
        if let (Some(k), Some(v)) = (key, value) {
            map.insert(k.to_string(), v.clone());
        }
    }
    Value::Object(map)
}

#[test]
fn what_aws_gives_a_new_resource_is_not_listed_unknown() {
    let plan = json!({"format_version": "1.2", "resource_changes": [
        {"address": "aws_lb.web", "type": "aws_lb", "change": {"actions": ["create"],
         "after": {"name": "web", "load_balancer_type": "application", "security_groups": ["sg-1"]},
         "after_unknown": {"arn": true, "arn_suffix": true, "dns_name": true, "zone_id": true, "id": true}}},
        {"address": "aws_instance.node", "type": "aws_instance", "change": {"actions": ["create"],
         "after": {"ami": "ami-1", "key_name": "", "associate_public_ip_address": false,
                   "metadata_options": [{"http_tokens": "required", "http_put_response_hop_limit": 1}]},
         "after_unknown": {"public_ip": true, "private_ip": true, "public_dns": true, "private_dns": true,
             "primary_network_interface_id": true, "instance_state": true, "password_data": true}}},
        {"address": "aws_iam_role.task", "type": "aws_iam_role", "change": {"actions": ["create"],
         "after": {"name": "task", "assume_role_policy": "{}"},
         "after_unknown": {"unique_id": true, "create_date": true}}},
        {"address": "aws_launch_template.nodes", "type": "aws_launch_template", "change": {"actions": ["create"],
         "after": {"name": "nodes"}, "after_unknown": {"latest_version": true, "default_version": true}}}
    ]});
    let planned = planned(&plan, "plan.json", None).unwrap();
    assert!(planned.iter().all(|p| p.unknown.is_empty()), "{planned:?}");
}
