//! Launch templates and instances in a plan, as the CreateLaunchTemplate
//! and RunInstances each would make: metadata options, key pair, public IP
//! at launch, groups, instance profile, user data.
//!
//! What the EC2-CI rules judge (metadata options, key pair, public IP)
//! known only after apply is not judged. `aws_instance` computes
//! `key_name`, `associate_public_ip_address` and `metadata_options` when
//! the configuration leaves them out, so the plan cannot tell "left out"
//! from "set from another resource": both are not judged.

use serde_json::{json, Map, Value};

use super::{text, Resource, UNKNOWN_UNTIL_APPLY};
use crate::iac::record::{items, strings};

const EC2: &str = "ec2.amazonaws.com";

/// The values the rules judge; `network_interfaces`' public IP is checked
/// with them.
const JUDGED: &[&str] = &[
    "metadata_options",
    "key_name",
    "associate_public_ip_address",
];

fn first<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).and_then(Value::as_array).and_then(|a| a.first())
}

/// A tri-state the provider writes as `"true"`, `"false"` or `""` (launch
/// templates), or a bool (instances).
fn flag(v: &Value, key: &str) -> Option<bool> {
    match v.get(key) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn known(r: &Resource) -> Result<(), String> {
    let mut paths: Vec<String> = JUDGED.iter().map(|p| p.to_string()).collect();
    let nics = r
        .after
        .get("network_interfaces")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    paths.extend((0..nics).map(|i| format!("network_interfaces[{i}].associate_public_ip_address")));
    match paths.iter().find(|p| (r.unknown_at)(p)) {
        Some(p) => Err(format!("{}: {p} is not known until apply", r.address)),
        None => Ok(()),
    }
}

/// The instance profile a block names: its name, else its ARN; one made in
/// the same plan stands as unknown until apply.
fn profile(block: &Value) -> (&'static str, String) {
    match (text(block, "name"), text(block, "arn")) {
        (Some(name), _) => ("Name", name.to_string()),
        (None, Some(arn)) => ("Arn", arn.to_string()),
        (None, None) => ("Arn", UNKNOWN_UNTIL_APPLY.to_string()),
    }
}

/// `{"tag": n, "content": id}` items, as the query API numbers a list.
fn tagged(ids: Vec<String>) -> Value {
    Value::Array(
        ids.into_iter()
            .enumerate()
            .map(|(i, id)| json!({"tag": i + 1, "content": id}))
            .collect(),
    )
}

pub(super) fn launch_template(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    known(r)?;
    let mut data = Map::new();
    for (tf, aws) in [
        ("image_id", "ImageId"),
        ("instance_type", "InstanceType"),
        ("key_name", "KeyName"),
        ("user_data", "UserData"),
    ] {
        if let Some(v) = text(after, tf) {
            data.insert(aws.into(), json!(v));
        }
    }
    if let Some(p) = first(after, "iam_instance_profile") {
        let (key, value) = profile(p);
        data.insert("IamInstanceProfile".into(), json!({ key: value }));
    }
    if let Some(m) = first(after, "metadata_options") {
        data.insert("MetadataOptions".into(), metadata(m, "Http"));
    }
    let groups = strings(after.get("vpc_security_group_ids"));
    if !groups.is_empty() {
        data.insert("SecurityGroupId".into(), tagged(groups));
    }
    let nics: Vec<Value> = after
        .get("network_interfaces")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, nic)| {
            let mut n = Map::new();
            n.insert("tag".into(), json!(i + 1));
            n.insert(
                "DeviceIndex".into(),
                nic.get("device_index").cloned().unwrap_or(json!(i)),
            );
            if let Some(public) = flag(nic, "associate_public_ip_address") {
                n.insert("AssociatePublicIpAddress".into(), json!(public));
            }
            if let Some(subnet) = text(nic, "subnet_id") {
                n.insert("SubnetId".into(), json!(subnet));
            }
            let groups = strings(nic.get("security_groups"));
            if !groups.is_empty() {
                n.insert("SecurityGroupId".into(), tagged(groups));
            }
            Value::Object(n)
        })
        .collect();
    if !nics.is_empty() {
        data.insert("NetworkInterface".into(), Value::Array(nics));
    }
    let request = json!({"CreateLaunchTemplateRequest": {
        "LaunchTemplateName": text(after, "name").unwrap_or(r.address),
        "LaunchTemplateData": data,
    }});
    Ok(vec![crate::iac::record::record(
        r.address,
        r.account,
        EC2,
        "CreateLaunchTemplate",
        request,
        Value::Null,
    )])
}

/// A `metadata_options` block as the API's, its keys `HttpTokens`
/// (`prefix` `Http`) or `httpTokens` (`http`).
fn metadata(m: &Value, prefix: &str) -> Value {
    let mut out = Map::new();
    for (tf, aws) in [
        ("http_tokens", "Tokens"),
        ("http_put_response_hop_limit", "PutResponseHopLimit"),
        ("http_endpoint", "Endpoint"),
    ] {
        if let Some(v) = m.get(tf).filter(|v| !v.is_null() && v.as_str() != Some("")) {
            out.insert(format!("{prefix}{aws}"), v.clone());
        }
    }
    Value::Object(out)
}

pub(super) fn instance(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    known(r)?;
    let mut request = Map::new();
    let mut one = Map::new();
    if let Some(ami) = text(after, "ami") {
        one.insert("imageId".into(), json!(ami));
    }
    one.insert("minCount".into(), json!(1));
    one.insert("maxCount".into(), json!(1));
    if let Some(key) = text(after, "key_name") {
        one.insert("keyName".into(), json!(key));
    }
    request.insert("instancesSet".into(), items(vec![Value::Object(one)]));
    if let Some(t) = text(after, "instance_type") {
        request.insert("instanceType".into(), json!(t));
    }
    if let Some(u) = text(after, "user_data_base64").or(text(after, "user_data")) {
        request.insert("userData".into(), json!(u));
    }
    let groups: Vec<Value> = strings(after.get("vpc_security_group_ids"))
        .into_iter()
        .map(|g| json!({"groupId": g}))
        .collect();
    let subnet = text(after, "subnet_id");
    match flag(after, "associate_public_ip_address") {
        // The public IP is asked for on the primary interface.
        Some(public) => {
            let mut nic = json!({"deviceIndex": 0, "associatePublicIpAddress": public,
                "groupSet": items(groups)});
            if let Some(s) = subnet {
                nic["subnetId"] = json!(s);
            }
            request.insert("networkInterfaceSet".into(), items(vec![nic]));
        }
        None => {
            if !groups.is_empty() {
                request.insert("groupSet".into(), items(groups));
            }
            if let Some(s) = subnet {
                request.insert("subnetId".into(), json!(s));
            }
        }
    }
    if let Some(p) = text(after, "iam_instance_profile") {
        request.insert("iamInstanceProfile".into(), json!({"name": p}));
    }
    if let Some(m) = first(after, "metadata_options") {
        request.insert("metadataOptions".into(), metadata(m, "http"));
    }
    if let Some(t) = first(after, "launch_template") {
        let mut lt = Map::new();
        // A template made in the same plan: its address stands for it.
        match (text(t, "id"), text(t, "name")) {
            (Some(id), _) => lt.insert("launchTemplateId".into(), json!(id)),
            (None, Some(name)) => lt.insert("launchTemplateName".into(), json!(name)),
            (None, None) => lt.insert("launchTemplateName".into(), json!(UNKNOWN_UNTIL_APPLY)),
        };
        if let Some(v) = text(t, "version") {
            lt.insert("version".into(), json!(v));
        }
        request.insert("launchTemplate".into(), Value::Object(lt));
    }
    Ok(vec![crate::iac::record::record(
        r.address,
        r.account,
        EC2,
        "RunInstances",
        Value::Object(request),
        Value::Null,
    )])
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::tests_kinds::{from_plan, ids, judge, judged, samples};

    fn template(tokens: &str, hops: i64, key: &str, public: &str) -> Value {
        json!({"name": "ecs-nodes", "image_id": "ami-1", "key_name": key, "user_data": "IyEvYmluL3NoCg==",
            "iam_instance_profile": [{"arn": "arn:aws:iam::111122223333:instance-profile/ecsInstanceRole", "name": ""}],
            "metadata_options": [{"http_tokens": tokens, "http_put_response_hop_limit": hops, "http_endpoint": "enabled"}],
            "network_interfaces": [{"device_index": 0, "associate_public_ip_address": public,
                "subnet_id": "subnet-1", "security_groups": ["sg-1"]}],
            "vpc_security_group_ids": []})
    }

    #[test]
    fn a_launch_template_and_an_instance_are_judged_as_their_calls() {
        assert_eq!(
            ids(
                "aws_launch_template",
                template("optional", 2, "ops-shared", "true")
            ),
            ["EC2-CI-001", "EC2-CI-002"]
        );
        assert_eq!(
            ids("aws_launch_template", template("required", 1, "", "false")),
            Vec::<&str>::new()
        );
        let instance = |tokens: &str, public: bool| {
            json!({"ami": "ami-1", "instance_type": "m6i.large", "subnet_id": "subnet-1",
                "vpc_security_group_ids": ["sg-1"], "associate_public_ip_address": public,
                "iam_instance_profile": "ecsInstanceRole",
                "metadata_options": [{"http_tokens": tokens, "http_put_response_hop_limit": 1, "http_endpoint": "enabled"}]})
        };
        assert_eq!(
            ids("aws_instance", instance("optional", true)),
            ["EC2-CI-001", "EC2-CI-002"]
        );
        assert_eq!(
            ids("aws_instance", instance("required", false)),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn metadata_options_or_a_public_ip_known_only_after_apply_are_not_judged() {
        for (kind, after, unknown) in [
            (
                "aws_launch_template",
                json!({"name": "t", "metadata_options": [{"http_endpoint": "enabled"}]}),
                json!({"metadata_options": [{"http_tokens": true}]}),
            ),
            (
                "aws_launch_template",
                json!({"name": "t", "metadata_options": [{"http_tokens": "required"}]}),
                json!({"metadata_options": [{"http_put_response_hop_limit": true}]}),
            ),
            (
                "aws_launch_template",
                json!({"name": "t", "metadata_options": [{"http_tokens": "required", "http_put_response_hop_limit": 1}],
                       "network_interfaces": [{"device_index": 0}]}),
                json!({"network_interfaces": [{"associate_public_ip_address": true}]}),
            ),
            (
                "aws_instance",
                json!({"ami": "ami-1"}),
                json!({"metadata_options": true}),
            ),
        ] {
            let v = judge(kind, after, unknown);
            let err = v[0].as_ref().unwrap_err();
            assert!(err.contains("not judged"), "{kind}: {err}");
        }
    }

    /// An EC2 call's request as Terraform writes the resource.
    fn as_resource(name: &str, r: &Value) -> (&'static str, Value) {
        if name == "CreateLaunchTemplate" {
            let req = &r["CreateLaunchTemplateRequest"];
            let d = &req["LaunchTemplateData"];
            let m = &d["MetadataOptions"];
            let nic = &d["NetworkInterface"];
            let mut after = json!({"name": req["LaunchTemplateName"], "image_id": d.get("ImageId"),
                "key_name": d.get("KeyName").cloned().unwrap_or(json!("")),
                "metadata_options": [{"http_tokens": m.get("HttpTokens"),
                    "http_put_response_hop_limit": m.get("HttpPutResponseHopLimit"),
                    "http_endpoint": m.get("HttpEndpoint")}]});
            if let Some(p) = d.get("IamInstanceProfile") {
                after["iam_instance_profile"] =
                    json!([{"arn": p.get("Arn"), "name": p.get("Name")}]);
            }
            if nic.is_object() {
                let public = match nic.get("AssociatePublicIpAddress") {
                    Some(Value::Bool(b)) => json!(b.to_string()),
                    _ => json!(""),
                };
                after["network_interfaces"] = json!([{"device_index": nic.get("DeviceIndex"),
                    "associate_public_ip_address": public, "subnet_id": nic.get("SubnetId"),
                    "security_groups": [nic.pointer("/SecurityGroupId/content")]}]);
            }
            return ("aws_launch_template", after);
        }
        let one = &r["instancesSet"]["items"][0];
        let m = &r["metadataOptions"];
        let nic = &r["networkInterfaceSet"]["items"][0];
        let mut after = json!({"ami": one.get("imageId"), "instance_type": r.get("instanceType"),
            "key_name": one.get("keyName"),
            "subnet_id": nic.get("subnetId"),
            "associate_public_ip_address": nic.get("associatePublicIpAddress"),
            "vpc_security_group_ids": nic.pointer("/groupSet/items").and_then(Value::as_array)
                .map(|g| g.iter().map(|g| g["groupId"].clone()).collect::<Vec<_>>()),
            "iam_instance_profile": r.pointer("/iamInstanceProfile/arn")});
        if m.is_object() {
            after["metadata_options"] = json!([{"http_tokens": m.get("httpTokens"),
                "http_put_response_hop_limit": m.get("httpPutResponseHopLimit"),
                "http_endpoint": m.get("httpEndpoint")}]);
        }
        if let Some(lt) = r.get("launchTemplate") {
            after["launch_template"] = json!([{"id": lt.get("launchTemplateId"),
                "name": lt.get("launchTemplateName"), "version": lt.get("version")}]);
        }
        ("aws_instance", after)
    }

    #[test]
    fn an_instance_resource_from_a_plan_gets_the_verdict_of_its_call() {
        let mut compared = 0;
        for (file, record) in samples("ec2", &["CreateLaunchTemplate", "RunInstances"]) {
            let name = record["eventName"].as_str().unwrap();
            let (kind, after) = as_resource(name, &record["requestParameters"]);
            assert_eq!(from_plan(kind, after), judged(&record), "{file}");
            compared += 1;
        }
        assert!(compared >= 5, "only {compared} sample calls compared");
    }
}
