use super::*;
use serde_json::json;

fn event(name: &str, request: serde_json::Value, response: serde_json::Value) -> Event {
    Event::from_value(
        &json!({"eventID": "e", "eventName": name, "eventSource": "ecs.amazonaws.com",
                "requestParameters": request, "responseElements": response}),
        "t",
    )
    .unwrap()
}

#[test]
fn create_reads_the_whole_service() {
    let e = event(
        CREATE_SERVICE,
        json!({"serviceName": "web", "taskDefinition": "web:3", "enableExecuteCommand": true,
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}}}),
        json!(null),
    );
    let c = ServiceChange::from_event(&e).unwrap().unwrap();
    assert_eq!(c.resource(), "default/web");
    assert!(c.set_by_call().awsvpc.as_ref().unwrap().public_ip());
    assert_eq!(c.security_groups(), vec!["sg-1"]);
    assert!(c.changes_exposure());
}

#[test]
fn update_keeps_absent_fields_unchanged() {
    let e = event(
        UPDATE_SERVICE,
        json!({"cluster": "prod", "service": "arn:aws:ecs:eu-west-1:1:service/prod/web", "desiredCount": 4}),
        json!({"service": {"serviceName": "web", "taskDefinition": "arn:aws:ecs:eu-west-1:1:task-definition/web:3",
               "enableExecuteCommand": true,
               "networkConfiguration": {"awsvpcConfiguration": {"securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}}}}),
    );
    let c = ServiceChange::from_event(&e).unwrap().unwrap();
    assert_eq!(c.resource(), "prod/web");
    assert_eq!(
        c.set_by_call().enable_execute_command,
        None,
        "a scale-out sets nothing"
    );
    assert!(!c.changes_exposure());
    assert_eq!(c.security_groups(), vec!["sg-1"], "the effective groups");
}

#[test]
fn a_partial_response_is_judged_field_by_field() {
    // The response is trimmed to ARN, name and status: the request still speaks.
    let e = event(
        CREATE_SERVICE,
        json!({"serviceName": "web", "taskDefinition": "web", "enableExecuteCommand": true,
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "ENABLED"}}}),
        json!({"service": {"serviceArn": "arn:aws:ecs:eu-west-1:1:service/default/web", "serviceName": "web", "status": "ACTIVE",
               "taskDefinition": "arn:aws:ecs:eu-west-1:1:task-definition/web:7",
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}}}),
    );
    let c = ServiceChange::from_event(&e).unwrap().unwrap();
    let after = c.set_by_call();
    assert_eq!(after.enable_execute_command, Some(true));
    let vpc = after.awsvpc.as_ref().unwrap();
    assert!(
        vpc.public_ip(),
        "the request's assignPublicIp fills the gap"
    );
    assert_eq!(vpc.security_groups, Some(vec![]), "the request named none");
    assert_eq!(
        c.task_definition(),
        Some("arn:aws:ecs:eu-west-1:1:task-definition/web:7"),
        "the response's revision, not the moving family"
    );

    // Where the response carries a field, it wins.
    let e = event(
        CREATE_SERVICE,
        json!({"serviceName": "web", "enableExecuteCommand": true}),
        json!({"service": {"serviceName": "web", "enableExecuteCommand": false}}),
    );
    let c = ServiceChange::from_event(&e).unwrap().unwrap();
    assert_eq!(c.set_by_call().enable_execute_command, Some(false));
}

#[test]
fn an_omitted_network_configuration_is_an_error_not_a_private_service() {
    let e = event(
        CREATE_SERVICE,
        json!({"serviceName": "web", "networkConfiguration": {"awsvpcConfiguration": {"omitted": true}}}),
        json!(null),
    );
    assert_eq!(
        ServiceChange::from_event(&e).unwrap_err().path,
        "requestParameters.networkConfiguration.awsvpcConfiguration"
    );
}

#[test]
fn other_services_calls_of_the_same_name_are_not_ecs() {
    for source in ["apprunner.amazonaws.com", "servicediscovery.amazonaws.com"] {
        let mut e = event(CREATE_SERVICE, json!({"serviceName": "web"}), json!(null));
        e.source = source.to_string();
        assert_eq!(ServiceChange::from_event(&e).unwrap(), None, "{source}");
    }
}

#[test]
fn a_run_task_is_judged_on_its_request_when_the_response_is_trimmed() {
    let net = json!({"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}});
    for response in [
        json!({"tasks": {"omitted": true}}),
        json!({"tasks": [], "failures": [{"reason": "RESOURCE:MEMORY"}]}),
        json!(null),
    ] {
        let e = event(
            RUN_TASK,
            json!({"cluster": "jobs", "taskDefinition": "migrate:4", "networkConfiguration": net}),
            response.clone(),
        );
        let c = ServiceChange::from_event(&e).unwrap().unwrap();
        assert_eq!(c.resource(), "jobs/task migrate:4", "{response}");
        assert!(c.set_by_call().awsvpc.as_ref().unwrap().public_ip());
    }
}

#[test]
fn load_balancers_are_read_and_a_creation_without_them_is_behind_none() {
    let e = event(
        CREATE_SERVICE,
        json!({"serviceName": "web", "loadBalancers": [
            {"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/api/73e2d6bc24d8a067",
             "containerName": "app", "containerPort": 8080},
            {"loadBalancerName": "legacy", "containerName": "app", "containerPort": "80"}]}),
        json!(null),
    );
    let c = ServiceChange::from_event(&e).unwrap().unwrap();
    let labels: Vec<String> = c
        .load_balancers()
        .unwrap()
        .iter()
        .map(ServiceLoadBalancer::label)
        .collect();
    assert_eq!(
        labels,
        [
            "target group api/73e2d6bc24d8a067 (container app:8080)",
            "classic load balancer legacy (container app:80)"
        ]
    );
    let none = event(CREATE_SERVICE, json!({"serviceName": "web"}), json!(null));
    let c = ServiceChange::from_event(&none).unwrap().unwrap();
    assert_eq!(c.load_balancers(), Some(&[][..]));
}

#[test]
fn an_update_without_load_balancers_leaves_them_unknown_and_one_with_them_changes_exposure() {
    let scale = event(
        UPDATE_SERVICE,
        json!({"service": "web", "desiredCount": 2}),
        json!(null),
    );
    let c = ServiceChange::from_event(&scale).unwrap().unwrap();
    assert_eq!(c.load_balancers(), None, "unchanged, not none");
    assert!(!c.changes_exposure());
    let moved = event(
        UPDATE_SERVICE,
        json!({"service": "web", "loadBalancers": [{"targetGroupArn": "arn:tg", "containerName": "app", "containerPort": 80}]}),
        json!(null),
    );
    let c = ServiceChange::from_event(&moved).unwrap().unwrap();
    assert!(c.changes_exposure(), "a new way in");
    // The response, when it says, is the state after the call.
    let answered = event(
        UPDATE_SERVICE,
        json!({"service": "web", "desiredCount": 2}),
        json!({"service": {"serviceName": "web", "loadBalancers": []}}),
    );
    let c = ServiceChange::from_event(&answered).unwrap().unwrap();
    assert_eq!(c.load_balancers(), Some(&[][..]));
}

#[test]
fn a_malformed_load_balancer_is_an_error_naming_its_path() {
    for (entry, path) in [
        (
            json!({"targetGroupArn": "arn:tg", "containerPort": "eighty"}),
            "requestParameters.loadBalancers[0].containerPort",
        ),
        (
            json!({"targetGroupArn": 7}),
            "requestParameters.loadBalancers[0].targetGroupArn",
        ),
        (
            json!({"containerName": "app", "containerPort": 80}),
            "requestParameters.loadBalancers[0]",
        ),
        (json!("arn:tg"), "requestParameters.loadBalancers[0]"),
    ] {
        let e = event(
            CREATE_SERVICE,
            json!({"serviceName": "web", "loadBalancers": [entry]}),
            json!(null),
        );
        assert_eq!(
            ServiceChange::from_event(&e).unwrap_err().path,
            path,
            "{entry}"
        );
    }
    for list in [json!({"omitted": true}), json!("arn:tg")] {
        let e = event(
            CREATE_SERVICE,
            json!({"serviceName": "web", "loadBalancers": list}),
            json!(null),
        );
        assert_eq!(
            ServiceChange::from_event(&e).unwrap_err().path,
            "requestParameters.loadBalancers"
        );
    }
}

#[test]
fn errors_name_the_field() {
    let e = event(
        CREATE_SERVICE,
        json!({"serviceName": "web", "enableExecuteCommand": "sometimes"}),
        json!(null),
    );
    assert_eq!(
        ServiceChange::from_event(&e).unwrap_err().path,
        "requestParameters.enableExecuteCommand"
    );
}
