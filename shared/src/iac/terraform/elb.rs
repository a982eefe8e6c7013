//! The ways in through load balancers in a plan: load balancers (`aws_lb`,
//! `aws_alb`) as CreateLoadBalancer and the ModifyLoadBalancerAttributes
//! the provider makes right after it, listeners, listener rules and target
//! groups as CreateListener, CreateRule and CreateTargetGroup.

use serde_json::{json, Map, Value};

use super::{known, text, Resource, UNKNOWN_UNTIL_APPLY};
use crate::iac::record::record;

/// Elastic Load Balancing's service.
const ELB: &str = "elasticloadbalancing.amazonaws.com";

/// A load balancer's attributes its Terraform arguments set, as the keys
/// ModifyLoadBalancerAttributes writes.
fn lb_attributes(after: &Value, application: bool) -> Vec<Value> {
    let mut out = Vec::new();
    let mut put = |key: &str, value: String| out.push(json!({"key": key, "value": value}));
    let logs = after
        .get("access_logs")
        .and_then(Value::as_array)
        .and_then(|a| a.first());
    let logging = logs.and_then(|l| l.get("enabled")).and_then(Value::as_bool) == Some(true);
    put("access_logs.s3.enabled", logging.to_string());
    if let Some(l) = logs.filter(|_| logging) {
        for (tf, key) in [
            ("bucket", "access_logs.s3.bucket"),
            ("prefix", "access_logs.s3.prefix"),
        ] {
            if let Some(v) = text(l, tf) {
                put(key, v.to_string());
            }
        }
    }
    if let Some(b) = after
        .get("enable_deletion_protection")
        .and_then(Value::as_bool)
    {
        put("deletion_protection.enabled", b.to_string());
    }
    if application {
        if let Some(m) = text(after, "desync_mitigation_mode") {
            put("routing.http.desync_mitigation_mode", m.to_string());
        }
        if let Some(b) = after
            .get("drop_invalid_header_fields")
            .and_then(Value::as_bool)
        {
            put(
                "routing.http.drop_invalid_header_fields.enabled",
                b.to_string(),
            );
        }
    }
    out
}

pub(super) fn load_balancer(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    let judged: Vec<String> = [
        "internal",
        "load_balancer_type",
        "security_groups",
        "access_logs",
        "enable_deletion_protection",
        "drop_invalid_header_fields",
        "desync_mitigation_mode",
    ]
    .map(String::from)
    .to_vec();
    known(r, &judged)?;
    let lb_type = text(after, "load_balancer_type").unwrap_or("application");
    let internal = after.get("internal").and_then(Value::as_bool) == Some(true);
    let mut request = Map::new();
    request.insert(
        "name".into(),
        json!(text(after, "name").unwrap_or(r.address)),
    );
    let subnets = crate::iac::record::strings(after.get("subnets"));
    if !subnets.is_empty() {
        request.insert("subnets".into(), json!(subnets));
    }
    let mut groups = crate::iac::record::strings(after.get("security_groups"));
    if groups.is_empty() {
        // Groups of the same plan, by their addresses.
        groups = (r.refers_to)("security_groups");
    }
    if !groups.is_empty() {
        request.insert("securityGroups".into(), json!(groups));
    }
    request.insert(
        "scheme".into(),
        json!(if internal {
            "internal"
        } else {
            "internet-facing"
        }),
    );
    request.insert("type".into(), json!(lb_type));
    if let Some(t) = text(after, "ip_address_type") {
        request.insert("ipAddressType".into(), json!(t));
    }
    let create = record(
        r.address,
        r.account,
        ELB,
        "CreateLoadBalancer",
        Value::Object(request),
        Value::Null,
    );
    // The provider sets the attributes right after the creation. A load
    // balancer made in the same plan has no ARN yet: its address stands
    // for it, in an ARN's form that says its kind as an ARN does.
    let arn = load_balancer_arn(r.account, r.address, after);
    let attributes = json!({
        "loadBalancerArn": arn,
        "attributes": lb_attributes(after, lb_type == "application"),
    });
    let modify = record(
        r.address,
        r.account,
        ELB,
        "ModifyLoadBalancerAttributes",
        attributes,
        Value::Null,
    );
    Ok(vec![create, modify])
}

/// A load balancer's ARN; one made in the same plan has none yet, so its
/// address stands for it, in an ARN's form that says its kind as an ARN
/// does (the rules tell an application load balancer by its ARN).
fn load_balancer_arn(account: &str, address: &str, after: &Value) -> String {
    let kind = match text(after, "load_balancer_type").unwrap_or("application") {
        "network" => "net",
        "gateway" => "gwy",
        _ => "app",
    };
    text(after, "arn").map_or_else(
        || format!("arn:aws:elasticloadbalancing:plan:{account}:loadbalancer/{kind}/{address}"),
        str::to_string,
    )
}

/// A `default_action` or `action` block as the API's action.
fn action(a: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), a.get("type").cloned().unwrap_or(Value::Null));
    if let Some(tg) = text(a, "target_group_arn") {
        out.insert("targetGroupArn".into(), json!(tg));
    }
    if let Some(order) = a.get("order").filter(|o| !o.is_null()) {
        out.insert("order".into(), order.clone());
    }
    let block = |key: &str| a.get(key).and_then(Value::as_array).and_then(|b| b.first());
    if let Some(rd) = block("redirect") {
        let mut c = Map::new();
        for (tf, aws) in [
            ("protocol", "protocol"),
            ("port", "port"),
            ("host", "host"),
            ("path", "path"),
            ("query", "query"),
            ("status_code", "statusCode"),
        ] {
            if let Some(v) = text(rd, tf) {
                c.insert(aws.into(), json!(v));
            }
        }
        out.insert("redirectConfig".into(), Value::Object(c));
    }
    if let Some(f) = block("fixed_response") {
        out.insert(
            "fixedResponseConfig".into(),
            json!({"contentType": f.get("content_type"), "messageBody": f.get("message_body"),
                   "statusCode": f.get("status_code")}),
        );
    }
    if let Some(f) = block("forward") {
        let groups: Vec<Value> = f
            .get("target_group")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|g| json!({"targetGroupArn": g.get("arn"), "weight": g.get("weight")}))
            .collect();
        out.insert("forwardConfig".into(), json!({"targetGroups": groups}));
    }
    Value::Object(out)
}

fn actions(after: &Value, key: &str) -> Value {
    Value::Array(
        after
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(action)
            .collect(),
    )
}

pub(super) fn listener(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    known(r, &["protocol", "port", "default_action"].map(String::from))?;
    let mut request = Map::new();
    let load_balancer = text(after, "load_balancer_arn").map_or_else(
        || {
            r.referred("load_balancer_arn").map_or_else(
                || UNKNOWN_UNTIL_APPLY.to_string(),
                |(address, lb)| load_balancer_arn(r.account, &address, &lb),
            )
        },
        str::to_string,
    );
    request.insert("loadBalancerArn".into(), json!(load_balancer));
    if let Some(p) = text(after, "protocol") {
        request.insert("protocol".into(), json!(p));
    }
    if let Some(p) = after.get("port").filter(|p| !p.is_null()) {
        request.insert("port".into(), p.clone());
    }
    // Left out, the provider leaves it to AWS, which picks its default:
    // as the model reads a creation without one.
    if let Some(p) = text(after, "ssl_policy") {
        request.insert("sslPolicy".into(), json!(p));
    }
    if let Some(c) = text(after, "certificate_arn") {
        request.insert("certificates".into(), json!([{"certificateArn": c}]));
    }
    let mut defaults = actions(after, "default_action");
    // A target group of the same plan, by its address.
    let groups = (r.refers_to)("default_action.target_group_arn");
    if let ([group], Some(list)) = (groups.as_slice(), defaults.as_array_mut()) {
        for a in list.iter_mut().filter(|a| a["type"] == "forward") {
            if a.get("targetGroupArn").is_none() {
                a["targetGroupArn"] = json!(group);
            }
        }
    }
    request.insert("defaultActions".into(), defaults);
    Ok(vec![record(
        r.address,
        r.account,
        ELB,
        "CreateListener",
        Value::Object(request),
        Value::Null,
    )])
}

pub(super) fn listener_rule(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    known(r, &["action".to_string()])?;
    let mut request = Map::new();
    request.insert(
        "listenerArn".into(),
        json!(text(after, "listener_arn").unwrap_or(UNKNOWN_UNTIL_APPLY)),
    );
    if let Some(p) = after.get("priority").filter(|p| !p.is_null()) {
        request.insert("priority".into(), p.clone());
    }
    request.insert("conditions".into(), json!([]));
    request.insert("actions".into(), actions(after, "action"));
    Ok(vec![record(
        r.address,
        r.account,
        ELB,
        "CreateRule",
        Value::Object(request),
        Value::Null,
    )])
}

pub(super) fn target_group(r: &Resource) -> Result<Vec<Value>, String> {
    let after = r.after;
    known(r, &["protocol", "health_check"].map(String::from))?;
    let mut request = Map::new();
    request.insert(
        "name".into(),
        json!(text(after, "name").unwrap_or(r.address)),
    );
    for (tf, aws) in [
        ("protocol", "protocol"),
        ("vpc_id", "vpcId"),
        ("target_type", "targetType"),
    ] {
        if let Some(v) = text(after, tf) {
            request.insert(aws.into(), json!(v));
        }
    }
    if let Some(p) = after.get("port").filter(|p| !p.is_null()) {
        request.insert("port".into(), p.clone());
    }
    if let Some(h) = after
        .get("health_check")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        if let Some(b) = h.get("enabled").and_then(Value::as_bool) {
            request.insert("healthCheckEnabled".into(), json!(b));
        }
        for (tf, aws) in [
            ("protocol", "healthCheckProtocol"),
            ("path", "healthCheckPath"),
            ("port", "healthCheckPort"),
        ] {
            if let Some(v) = text(h, tf) {
                request.insert(aws.into(), json!(v));
            }
        }
    }
    Ok(vec![record(
        r.address,
        r.account,
        ELB,
        "CreateTargetGroup",
        Value::Object(request),
        Value::Null,
    )])
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::tests_kinds::{ids, judge, judged, samples};

    fn alb(secure: bool) -> Value {
        json!({"name": "web", "internal": false, "load_balancer_type": "application",
            "subnets": ["subnet-1", "subnet-2"], "security_groups": ["sg-1"], "ip_address_type": "ipv4",
            "access_logs": [{"bucket": "logs", "prefix": "web", "enabled": secure}],
            "enable_deletion_protection": secure, "drop_invalid_header_fields": secure,
            "desync_mitigation_mode": if secure { "strictest" } else { "monitor" }})
    }

    #[test]
    fn a_load_balancer_is_its_creation_and_the_attributes_set_after_it() {
        let ids_of = |after: Value| -> Vec<Vec<&'static str>> {
            judge("aws_lb", after, json!({"arn": true}))
                .into_iter()
                .map(|v| v.unwrap().ids)
                .collect()
        };
        // The creation is judged as AWS starts the load balancer (no
        // attributes); the attributes as the provider then sets them.
        let defaults = vec!["ELB-004", "ELB-006", "ELB-007"];
        assert_eq!(
            ids_of(alb(false)),
            [
                defaults.clone(),
                vec!["ELB-004", "ELB-005", "ELB-006", "ELB-007"]
            ]
        );
        assert_eq!(ids_of(alb(true)), [defaults, vec![]]);
        let nlb = json!({"name": "edge", "internal": false, "load_balancer_type": "network",
            "subnets": ["subnet-1"], "security_groups": [], "enable_deletion_protection": true,
            "access_logs": [{"bucket": "logs", "enabled": true}]});
        let v = ids_of(nlb);
        assert!(v[0].contains(&"ELB-009"), "{v:?}");
        assert_eq!(v[1], Vec::<&str>::new(), "no ALB attribute on an NLB");
    }

    #[test]
    fn listeners_rules_and_target_groups_are_judged_as_their_calls() {
        let lb = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/1";
        let https = |policy: &str| {
            json!({"load_balancer_arn": lb, "protocol": "HTTPS", "port": 443, "ssl_policy": policy,
                "certificate_arn": "arn:aws:acm:eu-west-1:111122223333:certificate/c",
                "default_action": [{"type": "forward", "target_group_arn": "arn:tg"}]})
        };
        assert_eq!(
            ids("aws_lb_listener", https("ELBSecurityPolicy-2016-08")),
            ["ELB-003"]
        );
        assert_eq!(
            ids(
                "aws_lb_listener",
                https("ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09")
            ),
            Vec::<&str>::new()
        );
        let group = |protocol: &str| {
            json!({"name": "api", "protocol": protocol, "port": 8443, "vpc_id": "vpc-1", "target_type": "ip",
                "health_check": [{"enabled": true, "protocol": protocol, "path": "/healthz", "port": "traffic-port"}]})
        };
        assert_eq!(ids("aws_lb_target_group", group("HTTP")), ["ELB-008"]);
        assert_eq!(
            ids("aws_lb_target_group", group("HTTPS")),
            Vec::<&str>::new()
        );
        let rule = json!({"listener_arn": format!("{lb}/l"), "priority": 10,
            "action": [{"type": "forward", "target_group_arn": "arn:tg"}], "condition": []});
        let v = judge("aws_lb_listener_rule", rule, json!({}));
        assert!(v[0].is_ok(), "{v:?}");
    }

    #[test]
    fn what_the_load_balancer_rules_need_unknown_until_apply_is_not_judged() {
        for (kind, after, unknown) in [
            (
                "aws_lb",
                json!({"name": "web", "load_balancer_type": "application"}),
                json!({"security_groups": true}),
            ),
            (
                "aws_lb",
                json!({"name": "web", "load_balancer_type": "application"}),
                json!({"drop_invalid_header_fields": true}),
            ),
            (
                "aws_lb_listener",
                json!({"port": 80, "default_action": [{"type": "forward"}]}),
                json!({"protocol": true}),
            ),
            (
                "aws_lb_target_group",
                json!({"name": "api", "port": 80}),
                json!({"protocol": true}),
            ),
        ] {
            let v = judge(kind, after, unknown);
            let err = v[0].as_ref().unwrap_err();
            assert!(err.contains("not judged"), "{kind}: {err}");
        }
    }

    /// A load-balancing call's request as Terraform writes the resource,
    /// and which of the resource's records stands for it.
    fn as_lb_resource(name: &str, r: &Value) -> (&'static str, Value, usize) {
        let action = |a: &Value| {
            let mut b = json!({"type": a["type"], "target_group_arn": a.get("targetGroupArn")});
            if let Some(c) = a.get("redirectConfig") {
                b["redirect"] = json!([{"protocol": c.get("protocol"), "port": c.get("port"),
                    "status_code": c.get("statusCode")}]);
            }
            b
        };
        let list =
            |v: &Value| -> Vec<Value> { v.as_array().into_iter().flatten().map(action).collect() };
        match name {
            "CreateLoadBalancer" => (
                "aws_lb",
                json!({"name": r["name"], "internal": r.get("scheme") == Some(&json!("internal")),
                    "load_balancer_type": r.get("type"), "subnets": r.get("subnets"),
                    "security_groups": r.get("securityGroups").cloned().unwrap_or(json!([])),
                    "ip_address_type": r.get("ipAddressType")}),
                0,
            ),
            "ModifyLoadBalancerAttributes" => {
                let value = |key: &str| {
                    r["attributes"]
                        .as_array()
                        .and_then(|a| a.iter().find(|x| x["key"] == key))
                        .map(|x| x["value"].clone())
                        .unwrap_or(Value::Null)
                };
                let on = |key: &str| value(key) == json!("true");
                (
                    "aws_lb",
                    json!({"name": "web", "arn": r["loadBalancerArn"], "load_balancer_type": "application",
                        "access_logs": [{"enabled": on("access_logs.s3.enabled"),
                            "bucket": value("access_logs.s3.bucket"), "prefix": value("access_logs.s3.prefix")}],
                        "enable_deletion_protection": on("deletion_protection.enabled"),
                        "drop_invalid_header_fields": on("routing.http.drop_invalid_header_fields.enabled"),
                        "desync_mitigation_mode": value("routing.http.desync_mitigation_mode")}),
                    1,
                )
            }
            "CreateListener" => (
                "aws_lb_listener",
                json!({"load_balancer_arn": r["loadBalancerArn"], "protocol": r["protocol"], "port": r["port"],
                    "ssl_policy": r.get("sslPolicy"),
                    "certificate_arn": r.pointer("/certificates/0/certificateArn"),
                    "default_action": list(&r["defaultActions"])}),
                0,
            ),
            "CreateRule" => (
                "aws_lb_listener_rule",
                json!({"listener_arn": r["listenerArn"], "priority": r["priority"],
                    "action": list(&r["actions"])}),
                0,
            ),
            _ => {
                let mut after = json!({"name": r["name"], "protocol": r.get("protocol"), "port": r.get("port"),
                    "vpc_id": r.get("vpcId"), "target_type": r.get("targetType")});
                if r.get("healthCheckProtocol").is_some() || r.get("healthCheckPath").is_some() {
                    after["health_check"] = json!([{"protocol": r.get("healthCheckProtocol"),
                        "path": r.get("healthCheckPath")}]);
                }
                ("aws_lb_target_group", after, 0)
            }
        }
    }

    #[test]
    fn a_load_balancing_resource_from_a_plan_gets_the_verdict_of_its_call() {
        let mut compared = 0;
        for (file, record) in samples(
            "elasticloadbalancing",
            &[
                "CreateLoadBalancer",
                "ModifyLoadBalancerAttributes",
                "CreateListener",
                "CreateRule",
                "CreateTargetGroup",
            ],
        ) {
            let name = record["eventName"].as_str().unwrap();
            let (kind, after, at) = as_lb_resource(name, &record["requestParameters"]);
            let mut verdicts = judge(kind, after, json!({}));
            let from_plan = verdicts.remove(at).unwrap();
            assert_eq!(from_plan, judged(&record), "{file}");
            compared += 1;
        }
        assert!(compared >= 12, "only {compared} sample calls compared");
    }
}
