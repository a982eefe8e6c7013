use super::*;
use serde_json::json;

const LB: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188";
const LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2";

fn read(
    name: &str,
    request: serde_json::Value,
    response: serde_json::Value,
) -> Result<Option<ElbChange>, FieldError> {
    let record = json!({"eventID": "e", "eventName": name,
        "eventSource": "elasticloadbalancing.amazonaws.com",
        "requestParameters": request, "responseElements": response});
    ElbChange::from_event(&Event::from_value(&record, "t").unwrap())
}

fn change(name: &str, request: serde_json::Value, response: serde_json::Value) -> ElbChange {
    read(name, request, response).unwrap().unwrap()
}

#[test]
fn arns_name_the_kind_and_the_load_balancer() {
    assert_eq!(LbType::from_arn(LB), Some(LbType::Application));
    assert_eq!(LbType::from_arn(LISTENER), Some(LbType::Application));
    assert_eq!(
        LbType::from_arn("arn:aws:elasticloadbalancing:r:1:loadbalancer/net/n/1"),
        Some(LbType::Network)
    );
    assert_eq!(
        LbType::from_arn("arn:aws:elasticloadbalancing:r:1:targetgroup/tg/1"),
        None
    );
    assert_eq!(load_balancer_arn_of(LISTENER).as_deref(), Some(LB));
    assert_eq!(
        load_balancer_arn_of("arn:aws:elasticloadbalancing:eu-west-1:1:listener-rule/net/n/1/2/3")
            .as_deref(),
        Some("arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/n/1")
    );
    assert_eq!(short_arn(LB), "app/web/50dc6c495c0c9188");
}

#[test]
fn a_creation_takes_aws_defaults_and_says_so() {
    let c = change(
        CREATE_LOAD_BALANCER,
        json!({"name": "web", "subnets": ["subnet-1", "subnet-2"]}),
        json!(null),
    );
    let ElbChange::LoadBalancer {
        load_balancer,
        attributes,
    } = &c
    else {
        panic!("{c:?}")
    };
    assert_eq!(load_balancer.lb_type, LbType::Application);
    assert!(load_balancer.type_defaulted && load_balancer.scheme_defaulted);
    assert_eq!(load_balancer.scheme, Scheme::InternetFacing);
    assert!(load_balancer.security_groups.is_empty());
    assert_eq!(
        attributes.value(DESYNC_MITIGATION_MODE),
        Some(("defensive", Said::AwsDefault))
    );
    assert_eq!(
        attributes.enabled(DELETION_PROTECTION),
        Some((false, Said::AwsDefault))
    );
    // The response wins where it speaks.
    let c = change(
        CREATE_LOAD_BALANCER,
        json!({"name": "nlb", "type": "network", "scheme": "internal", "securityGroups": ["sg-1"]}),
        json!({"loadBalancers": [{"loadBalancerArn": "arn:aws:elasticloadbalancing:r:1:loadbalancer/net/nlb/1",
            "type": "network", "scheme": "internet-facing", "securityGroups": ["sg-2"]}]}),
    );
    let ElbChange::LoadBalancer { load_balancer, .. } = c else {
        panic!()
    };
    assert_eq!(
        (load_balancer.scheme, load_balancer.scheme_defaulted),
        (Scheme::InternetFacing, false)
    );
    assert_eq!(load_balancer.security_groups, ["sg-2"]);
}

#[test]
fn listeners_in_both_halves_of_the_record() {
    let c = change(
        CREATE_LISTENER,
        json!({"loadBalancerArn": LB, "protocol": "HTTPS", "port": 443,
            "certificates": [{"certificateArn": "arn:aws:acm:r:1:certificate/c"}],
            "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]}),
        json!(null),
    );
    let ElbChange::Listener { listener, .. } = &c else {
        panic!()
    };
    assert_eq!(listener.ssl_policy.as_deref(), Some(DEFAULT_SSL_POLICY));
    assert!(listener.ssl_policy_defaulted);
    assert_eq!(listener.lb_type, Some(LbType::Application));
    assert_eq!(listener.label(), "HTTPS:443 on app/web/50dc6c495c0c9188");
    // A modification: the response's listener is the listener after the call.
    let c = change(
        MODIFY_LISTENER,
        json!({"listenerArn": LISTENER, "port": 8080}),
        json!({"listeners": [{"listenerArn": LISTENER, "loadBalancerArn": LB, "protocol": "HTTP", "port": 8080,
            "defaultActions": [{"type": "redirect", "redirectConfig": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]}]}),
    );
    let ElbChange::Listener { listener, .. } = &c else {
        panic!()
    };
    assert!(listener.is_http());
    assert!(only_redirects_to_https(
        listener.default_actions.as_deref().unwrap()
    ));
    assert_eq!(c.load_balancer_arn().as_deref(), Some(LB));
    // Without the response, what the request leaves out is unknown.
    let c = change(
        MODIFY_LISTENER,
        json!({"listenerArn": LISTENER, "sslPolicy": "ELBSecurityPolicy-TLS-1-0-2015-04"}),
        json!(null),
    );
    let ElbChange::Listener { listener, .. } = &c else {
        panic!()
    };
    assert_eq!(
        (listener.protocol.as_ref(), listener.ssl_policy_defaulted),
        (None, false)
    );
    assert_eq!(c.load_balancer_arn().as_deref(), Some(LB));
}

#[test]
fn redirects_only_count_when_they_go_to_https() {
    let act = |v: serde_json::Value| Action::from_json(&Node::root(&v, "a")).unwrap();
    let https = act(json!({"type": "redirect", "redirectConfig": {"protocol": "HTTPS"}}));
    let same = act(json!({"type": "redirect", "redirectConfig": {"protocol": "#{protocol}"}}));
    let forward = act(
        json!({"type": "forward", "forwardConfig": {"targetGroups": [{"targetGroupArn": "arn:tg", "weight": 1}]}}),
    );
    assert_eq!(forward.target_groups, ["arn:tg"]);
    assert!(only_redirects_to_https(std::slice::from_ref(&https)));
    assert!(!only_redirects_to_https(std::slice::from_ref(&same)));
    assert!(!only_redirects_to_https(&[https.clone(), forward]));
    assert!(!only_redirects_to_https(&[]));
    assert_eq!(same.describe(), "redirect to #{protocol}");
    let err = Action::from_json(&Node::root(&json!({"type": "redirect"}), "a")).unwrap_err();
    assert_eq!(err.path, "a.redirectConfig");
}

#[test]
fn attributes_response_over_request_and_unknown_when_unsaid() {
    let c = change(
        MODIFY_LOAD_BALANCER_ATTRIBUTES,
        json!({"loadBalancerArn": LB, "attributes": [{"key": ACCESS_LOGS, "value": "true"}]}),
        json!({"attributes": [{"key": ACCESS_LOGS, "value": "false"}, {"key": DELETION_PROTECTION, "value": "true"}]}),
    );
    let a = c.attributes().unwrap();
    assert_eq!(a.enabled(ACCESS_LOGS), Some((false, Said::Record)));
    assert_eq!(a.enabled(DELETION_PROTECTION), Some((true, Said::Record)));
    assert_eq!(a.value(DESYNC_MITIGATION_MODE), None);
    assert_eq!(a.lb_type, Some(LbType::Application));
}

#[test]
fn target_groups_and_targets() {
    let c = change(
        CREATE_TARGET_GROUP,
        json!({"name": "web", "protocol": "HTTPS", "port": 443, "vpcId": "vpc-1"}),
        json!(null),
    );
    let ElbChange::TargetGroup(tg) = &c else {
        panic!()
    };
    assert_eq!(
        (
            tg.health_check_protocol.as_deref(),
            tg.health_check_defaulted
        ),
        (Some("HTTP"), true)
    );
    let c = change(
        CREATE_TARGET_GROUP,
        json!({"name": "fn", "targetType": "lambda"}),
        json!(null),
    );
    let ElbChange::TargetGroup(tg) = &c else {
        panic!()
    };
    assert!(tg.is_lambda() && tg.health_check_protocol.is_none());
    assert_eq!(tg.health_check_enabled, Some(false));
    let c = change(
        REGISTER_TARGETS,
        json!({"targetGroupArn": "arn:aws:elasticloadbalancing:r:1:targetgroup/web/1",
            "targets": [{"id": "10.0.1.7", "port": "8080", "availabilityZone": "eu-west-1a"}]}),
        json!(null),
    );
    let ElbChange::Targets { targets, .. } = c else {
        panic!()
    };
    assert_eq!(targets[0].port, Some(8080));
}

#[test]
fn errors_name_the_field() {
    for (name, request, response, path) in [
        (
            CREATE_LISTENER,
            json!({"loadBalancerArn": LB, "port": 80, "defaultActions": []}),
            json!(null),
            "requestParameters.protocol",
        ),
        (
            CREATE_LISTENER,
            json!({"loadBalancerArn": LB, "protocol": "HTTP", "port": 80}),
            json!(null),
            "requestParameters.defaultActions",
        ),
        (
            CREATE_LISTENER,
            json!({"loadBalancerArn": LB, "protocol": "HTTP", "port": "eighty", "defaultActions": []}),
            json!(null),
            "requestParameters.port",
        ),
        (
            CREATE_LOAD_BALANCER,
            json!({"name": "x", "scheme": "public"}),
            json!(null),
            "requestParameters.scheme",
        ),
        (
            CREATE_LOAD_BALANCER,
            json!({"name": "x", "securityGroups": [7]}),
            json!(null),
            "requestParameters.securityGroups[0]",
        ),
        (
            SET_SECURITY_GROUPS,
            json!({"loadBalancerArn": LB}),
            json!(null),
            "requestParameters.securityGroups",
        ),
        (
            MODIFY_LOAD_BALANCER_ATTRIBUTES,
            json!({"loadBalancerArn": LB, "attributes": [{"key": ACCESS_LOGS}]}),
            json!(null),
            "requestParameters.attributes[0].value",
        ),
        (
            MODIFY_RULE,
            json!({"actions": []}),
            json!(null),
            "requestParameters.ruleArn",
        ),
        (
            CREATE_LISTENER,
            json!({"loadBalancerArn": LB, "protocol": "HTTP", "defaultActions": []}),
            json!({"listeners": {"omitted": true}}),
            "responseElements.listeners",
        ),
        (
            REGISTER_TARGETS,
            json!({"targetGroupArn": "arn:tg", "targets": [{"port": 80}]}),
            json!(null),
            "requestParameters.targets[0].id",
        ),
    ] {
        let err = read(name, request, response).unwrap_err();
        assert_eq!(err.path, path, "{name}: {err}");
    }
}

#[test]
fn other_services_and_names_are_not_read() {
    let record = json!({"eventID": "e", "eventName": CREATE_LOAD_BALANCER,
        "eventSource": "lightsail.amazonaws.com", "requestParameters": {"name": "x"}});
    assert_eq!(
        ElbChange::from_event(&Event::from_value(&record, "t").unwrap()).unwrap(),
        None
    );
    assert_eq!(
        read("DeleteLoadBalancer", json!({}), json!(null)).unwrap(),
        None
    );
}
