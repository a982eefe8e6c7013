//! ECS resources in a template, as the calls that would make them. Their
//! properties are the API's request in PascalCase, so each record is the
//! properties re-cased ([`camel`]), a name CloudFormation would make up
//! standing as the logical id.

use serde_json::{Map, Value};

use super::{camel, Resource};
use crate::iac::record::record;

fn ecs(r: &Resource, name: &str, request: Value) -> Vec<Value> {
    vec![record(
        r.id,
        r.account,
        "ecs.amazonaws.com",
        name,
        request,
        Value::Null,
    )]
}

/// The properties re-cased, `name_key` set to the logical id when the
/// template leaves the name to CloudFormation.
fn request(r: &Resource, name_key: Option<(&str, &str)>) -> Map<String, Value> {
    let mut request = match camel(r.properties) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if let Some((cfn, api)) = name_key {
        request.insert(api.into(), r.name(cfn));
    }
    request
}

/// `AWS::ECS::TaskDefinition` as RegisterTaskDefinition.
pub(super) fn task_definition(r: &Resource) -> Result<Vec<Value>, String> {
    if !r.get("ContainerDefinitions").is_some_and(Value::is_array) {
        return Err("Properties.ContainerDefinitions is not a list".into());
    }
    let request = request(r, Some(("Family", "family")));
    Ok(ecs(r, "RegisterTaskDefinition", Value::Object(request)))
}

/// `AWS::ECS::Service` as CreateService.
pub(super) fn service(r: &Resource) -> Result<Vec<Value>, String> {
    let request = request(r, Some(("ServiceName", "serviceName")));
    Ok(ecs(r, "CreateService", Value::Object(request)))
}

/// `AWS::ECS::TaskSet` as CreateTaskSet.
pub(super) fn task_set(r: &Resource) -> Result<Vec<Value>, String> {
    Ok(ecs(r, "CreateTaskSet", Value::Object(request(r, None))))
}

/// `AWS::ECS::Cluster` as CreateCluster (`ClusterSettings` are the API's
/// `settings`).
pub(super) fn cluster(r: &Resource) -> Result<Vec<Value>, String> {
    let request = request(r, Some(("ClusterName", "clusterName")));
    Ok(ecs(r, "CreateCluster", Value::Object(request)))
}

/// `AWS::ECS::CapacityProvider` as CreateCapacityProvider.
pub(super) fn capacity_provider(r: &Resource) -> Result<Vec<Value>, String> {
    let request = request(r, Some(("Name", "name")));
    Ok(ecs(r, "CreateCapacityProvider", Value::Object(request)))
}

/// `AWS::ECS::ClusterCapacityProviderAssociations` as
/// PutClusterCapacityProviders.
pub(super) fn associations(r: &Resource) -> Result<Vec<Value>, String> {
    Ok(ecs(
        r,
        "PutClusterCapacityProviders",
        Value::Object(request(r, None)),
    ))
}
