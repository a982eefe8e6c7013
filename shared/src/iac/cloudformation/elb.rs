//! Load balancers, listeners, target groups and listener rules in a
//! template, as the ELBv2 calls that would make them: the properties are
//! the request in PascalCase, re-cased; a load balancer's attributes are
//! the ModifyLoadBalancerAttributes that follows its creation.

use serde_json::{json, Map, Value};

use super::resolve::load_balancer_arn;
use super::{camel, Resource};
use crate::iac::record::record;

fn elb(r: &Resource, name: &str, request: Value) -> Value {
    record(
        r.id,
        r.account,
        "elasticloadbalancing.amazonaws.com",
        name,
        request,
        Value::Null,
    )
}

fn recased(r: &Resource) -> Map<String, Value> {
    match camel(r.properties) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `AWS::ElasticLoadBalancingV2::LoadBalancer`: CreateLoadBalancer, and
/// ModifyLoadBalancerAttributes when it sets attributes.
pub(super) fn load_balancer(r: &Resource) -> Result<Vec<Value>, String> {
    let mut request = recased(r);
    request.insert("name".into(), r.name("Name"));
    let attributes = request.remove("loadBalancerAttributes");
    let mut out = vec![elb(r, "CreateLoadBalancer", Value::Object(request))];
    if let Some(attributes) = attributes {
        out.push(elb(
            r,
            "ModifyLoadBalancerAttributes",
            json!({"loadBalancerArn": load_balancer_arn(r.id, r.get("Type"), Some(r.account))
                       .unwrap_or_else(|| r.id.to_string()),
                   "attributes": attributes}),
        ));
    }
    Ok(out)
}

/// `AWS::ElasticLoadBalancingV2::Listener` as CreateListener.
pub(super) fn listener(r: &Resource) -> Result<Vec<Value>, String> {
    Ok(vec![elb(r, "CreateListener", Value::Object(recased(r)))])
}

/// `AWS::ElasticLoadBalancingV2::TargetGroup` as CreateTargetGroup.
pub(super) fn target_group(r: &Resource) -> Result<Vec<Value>, String> {
    let mut request = recased(r);
    request.insert("name".into(), r.name("Name"));
    Ok(vec![elb(r, "CreateTargetGroup", Value::Object(request))])
}

/// `AWS::ElasticLoadBalancingV2::ListenerRule` as CreateRule.
pub(super) fn rule(r: &Resource) -> Result<Vec<Value>, String> {
    Ok(vec![elb(r, "CreateRule", Value::Object(recased(r)))])
}
