//! The joins inside one plan: a service with the groups and the task
//! definition the same plan makes, named by reference.

use serde_json::{json, Value};

use super::*;
use crate::iac::terraform::planned;

fn group(address: &str, cidr: &str) -> Value {
    json!({"address": address, "type": "aws_security_group",
        "change": {"actions": ["create"], "after": {"name": "web", "ingress": [
            {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": [cidr],
             "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": false}]},
         "after_unknown": {"id": true, "arn": true}}})
}

fn task_definition(privileged: bool) -> Value {
    let containers = json!([{"name": "app", "image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "privileged": privileged, "essential": true}]);
    json!({"address": "aws_ecs_task_definition.app", "type": "aws_ecs_task_definition",
        "change": {"actions": ["create"], "after": {"family": "app", "network_mode": "awsvpc",
            "requires_compatibilities": ["FARGATE"], "container_definitions": containers.to_string()},
         "after_unknown": {"arn": true, "revision": true}}})
}

/// A service in the plan: its groups `groups` as written (known), or, when
/// empty, referring to `aws_security_group.web` (unknown until apply).
fn service(groups: &[&str], task_definition: Value) -> Value {
    let unknown = groups.is_empty();
    json!({"address": "aws_ecs_service.web", "type": "aws_ecs_service",
        "change": {"actions": ["create"], "after": {"name": "web", "launch_type": "FARGATE",
            "task_definition": task_definition, "tags": {"owner": "team"},
            "network_configuration": [{"assign_public_ip": true, "subnets": ["subnet-1"],
                "security_groups": if unknown { Value::Null } else { json!(groups) }}]},
         "after_unknown": if unknown { json!({"network_configuration": [{"security_groups": true}], "id": true}) }
             else { json!({"id": true}) }}})
}

fn configuration() -> Value {
    json!({"root_module": {"resources": [
        {"address": "aws_ecs_service.web", "mode": "managed", "type": "aws_ecs_service", "name": "web",
         "expressions": {
            "task_definition": {"references": ["aws_ecs_task_definition.app.arn", "aws_ecs_task_definition.app"]},
            "network_configuration": [{"security_groups": {"references": ["aws_security_group.web.id", "aws_security_group.web"]}}]}}]}})
}

fn judge_plan(changes: Value) -> Vec<Judged> {
    let plan = json!({"format_version": "1.2", "resource_changes": changes, "configuration": configuration()});
    judge(
        planned(&plan, "plan.json", Some("111122223333")).unwrap(),
        &Policy::embedded(),
        crate::model::today(),
    )
}

fn service_report(judged: &[Judged]) -> &Report {
    judged
        .iter()
        .find(|j| j.planned.address == "aws_ecs_service.web")
        .unwrap()
        .report
        .as_ref()
        .unwrap()
}

fn rules_of(report: &Report) -> Vec<&'static str> {
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[test]
fn a_service_is_joined_with_the_group_and_task_definition_of_its_plan() {
    let judged = judge_plan(json!([
        group("aws_security_group.web", "0.0.0.0/0"),
        task_definition(true),
        service(&[], Value::Null)
    ]));
    let report = service_report(&judged);
    let ids = rules_of(report);
    assert!(ids.contains(&"ECS-SVC-004"), "{ids:?}");
    assert!(ids.contains(&"ECS-SVC-005"), "{ids:?}");
    assert!(
        report.notes.iter().all(|n| !n.contains("need AWS")),
        "{:?}",
        report.notes
    );
    assert_eq!(report.unevaluated, None);
    // The same, secure: nothing of the join fires, and nothing is unknown.
    let judged = judge_plan(json!([
        group("aws_security_group.web", "10.0.0.0/16"),
        task_definition(false),
        service(&[], Value::Null)
    ]));
    let report = service_report(&judged);
    let ids = rules_of(report);
    assert!(!ids.contains(&"ECS-SVC-004"), "{ids:?}");
    assert!(!ids.contains(&"ECS-SVC-005"), "{ids:?}");
    assert_eq!(report.unevaluated, None);
    assert!(
        report
            .reachability
            .as_deref()
            .unwrap()
            .contains("internet-open groups: none"),
        "{:?}",
        report.reachability
    );
}

#[test]
fn a_task_definition_named_by_family_is_the_one_the_plan_registers() {
    let judged = judge_plan(json!([
        group("aws_security_group.web", "10.0.0.0/16"),
        task_definition(true),
        service(&[], json!("app"))
    ]));
    assert!(rules_of(service_report(&judged)).contains(&"ECS-SVC-005"));
    // A revision already deployed is not the one the plan registers.
    let judged = judge_plan(json!([
        group("aws_security_group.web", "10.0.0.0/16"),
        task_definition(true),
        service(&[], json!("app:3"))
    ]));
    let report = service_report(&judged);
    assert!(!rules_of(report).contains(&"ECS-SVC-005"));
    assert!(
        report
            .unevaluated
            .as_deref()
            .unwrap()
            .contains("task definition app:3: not in this plan"),
        "{:?}",
        report.unevaluated
    );
}

#[test]
fn a_group_the_plan_does_not_hold_whole_is_unknown_never_passed() {
    // A group outside the plan.
    let judged = judge_plan(json!([
        task_definition(false),
        service(&["sg-0123"], Value::Null)
    ]));
    let report = service_report(&judged);
    assert!(!rules_of(report).contains(&"ECS-SVC-004"));
    let unevaluated = report.unevaluated.as_deref().unwrap();
    assert!(
        unevaluated.contains("security group sg-0123: not in this plan"),
        "{unevaluated}"
    );
    assert!(
        report
            .reachability
            .as_deref()
            .unwrap()
            .contains("unknown for sg-0123"),
        "{:?}",
        report.reachability
    );
    // An existing group the plan only adds a closed rule to: its other
    // rules are not known, so it is not passed.
    let rule = |cidr: &str| {
        json!({"address": "aws_vpc_security_group_ingress_rule.ssh", "type": "aws_vpc_security_group_ingress_rule",
            "change": {"actions": ["create"], "after": {"security_group_id": "sg-0123", "ip_protocol": "tcp",
                "from_port": 22, "to_port": 22, "cidr_ipv4": cidr}, "after_unknown": {"id": true}}})
    };
    let judged = judge_plan(json!([
        rule("10.0.0.0/8"),
        task_definition(false),
        service(&["sg-0123"], Value::Null)
    ]));
    let report = service_report(&judged);
    assert!(!rules_of(report).contains(&"ECS-SVC-004"));
    assert!(
        report
            .unevaluated
            .as_deref()
            .unwrap()
            .contains("its other rules are not in this plan"),
        "{:?}",
        report.unevaluated
    );
    // The rule the plan adds opens it: that much is known.
    let judged = judge_plan(json!([
        rule("0.0.0.0/0"),
        task_definition(false),
        service(&["sg-0123"], Value::Null)
    ]));
    assert!(rules_of(service_report(&judged)).contains(&"ECS-SVC-004"));
    // A group of the plan whose CIDR is known only after apply.
    let mut unknown = group("aws_security_group.web", "0.0.0.0/0");
    unknown["change"]["after"]["ingress"][0]["cidr_blocks"] = Value::Null;
    unknown["change"]["after_unknown"]["ingress"] = json!([{"cidr_blocks": true}]);
    let judged = judge_plan(json!([
        unknown,
        task_definition(false),
        service(&[], Value::Null)
    ]));
    let report = service_report(&judged);
    assert!(
        report
            .unevaluated
            .as_deref()
            .unwrap()
            .contains("security group aws_security_group.web: aws_security_group.web: ingress[0].cidr_blocks unknown until apply"),
        "{:?}",
        report.unevaluated
    );
}

fn judge_with(changes: Value, configuration: Value) -> Vec<Judged> {
    let plan = json!({"format_version": "1.2", "resource_changes": changes, "configuration": configuration});
    judge(
        planned(&plan, "plan.json", Some("111122223333")).unwrap(),
        &Policy::embedded(),
        crate::model::today(),
    )
}

fn report_of<'a>(judged: &'a [Judged], address: &str, call: &str) -> &'a Report {
    judged
        .iter()
        .find(|j| {
            j.planned.address == address && j.planned.event.as_ref().is_ok_and(|e| e.name == call)
        })
        .unwrap_or_else(|| panic!("{address} {call}"))
        .report
        .as_ref()
        .unwrap()
}

fn role(trusted: &str) -> Value {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": trusted}, "Action": "sts:AssumeRole"}]});
    json!({"address": "aws_iam_role.task", "type": "aws_iam_role",
        "change": {"actions": ["create"], "after": {"name": "task", "path": "/",
            "assume_role_policy": trust.to_string()},
         "after_unknown": {"id": true, "arn": true, "unique_id": true, "create_date": true,
            "inline_policy": true, "managed_policy_arns": true}}})
}

fn attachment(policy_arn: Option<&str>) -> Value {
    json!({"address": "aws_iam_role_policy_attachment.admin", "type": "aws_iam_role_policy_attachment",
        "change": {"actions": ["create"], "after": {"role": "task", "policy_arn": policy_arn},
         "after_unknown": if policy_arn.is_some() { json!({"id": true}) } else { json!({"id": true, "policy_arn": true}) }}})
}

#[test]
fn a_policy_on_a_role_of_the_plan_is_judged_with_the_roles_trust() {
    let admin = Some("arn:aws:iam::aws:policy/AdministratorAccess");
    let judged = judge_with(
        json!([role("ecs-tasks.amazonaws.com"), attachment(admin)]),
        json!({}),
    );
    let report = report_of(
        &judged,
        "aws_iam_role_policy_attachment.admin",
        "AttachRolePolicy",
    );
    assert!(rules_of(report).contains(&"IAM-ECS-001"), "{report:?}");
    assert!(
        report.notes.iter().all(|n| !n.contains("needs AWS")),
        "{:?}",
        report.notes
    );
    // A role the tasks do not assume: no IAM-ECS-001, and nothing left to ask.
    let judged = judge_with(
        json!([role("lambda.amazonaws.com"), attachment(admin)]),
        json!({}),
    );
    let report = report_of(
        &judged,
        "aws_iam_role_policy_attachment.admin",
        "AttachRolePolicy",
    );
    assert!(!rules_of(report).contains(&"IAM-ECS-001"), "{report:?}");
    assert!(
        report.notes.iter().all(|n| !n.contains("needs AWS")),
        "{:?}",
        report.notes
    );
    // A role outside the plan: its trust still needs AWS, said.
    let judged = judge_with(json!([attachment(admin)]), json!({}));
    let report = report_of(
        &judged,
        "aws_iam_role_policy_attachment.admin",
        "AttachRolePolicy",
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("IAM-ECS-001 needs AWS: whether ECS tasks assume role task")),
        "{:?}",
        report.notes
    );
}

#[test]
fn an_attached_policy_of_the_plan_is_judged_by_its_document() {
    let document = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let policy = json!({"address": "aws_iam_policy.everything", "type": "aws_iam_policy",
        "change": {"actions": ["create"], "after": {"name": "everything", "path": "/", "policy": document.to_string()},
         "after_unknown": {"id": true, "arn": true, "policy_id": true, "attachment_count": true}}});
    let configuration = json!({"root_module": {"resources": [
        {"address": "aws_iam_role_policy_attachment.admin", "mode": "managed", "expressions": {
            "role": {"constant_value": "task"},
            "policy_arn": {"references": ["aws_iam_policy.everything.arn", "aws_iam_policy.everything"]}}}]}});
    let judged = judge_with(
        json!([role("ecs-tasks.amazonaws.com"), policy, attachment(None)]),
        configuration,
    );
    let report = report_of(
        &judged,
        "aws_iam_role_policy_attachment.admin",
        "AttachRolePolicy",
    );
    assert!(rules_of(report).contains(&"IAM-ECS-001"), "{report:?}");
    assert!(
        report.notes.iter().all(|n| !n.contains("needs AWS")),
        "{:?}",
        report.notes
    );
}

#[test]
fn a_load_balancers_creation_leaves_the_attributes_the_plan_sets_to_their_own_verdict() {
    let lb = |drop_headers: bool| {
        json!({"address": "aws_lb.web", "type": "aws_lb",
            "change": {"actions": ["create"], "after": {"name": "web", "internal": false,
                "load_balancer_type": "application", "security_groups": ["sg-0123"],
                "subnets": ["subnet-1", "subnet-2"], "drop_invalid_header_fields": drop_headers,
                "desync_mitigation_mode": "defensive", "enable_deletion_protection": true,
                "access_logs": [{"bucket": "logs", "enabled": true, "prefix": null}]},
             "after_unknown": {"id": true, "arn": true, "dns_name": true, "zone_id": true,
                "arn_suffix": true, "vpc_id": true}}})
    };
    let judged = judge_with(json!([lb(true)]), json!({}));
    let create = report_of(&judged, "aws_lb.web", "CreateLoadBalancer");
    assert!(create.findings.is_empty(), "{:?}", rules_of(create));
    let judged = judge_with(json!([lb(false)]), json!({}));
    let create = report_of(&judged, "aws_lb.web", "CreateLoadBalancer");
    let modify = report_of(&judged, "aws_lb.web", "ModifyLoadBalancerAttributes");
    assert!(create.findings.is_empty(), "{:?}", rules_of(create));
    assert_eq!(rules_of(modify), ["ELB-004"]);
}

#[test]
fn a_cluster_without_the_setting_takes_the_account_default_the_plan_sets_or_aws() {
    let cluster = json!({"address": "aws_ecs_cluster.main", "type": "aws_ecs_cluster",
        "change": {"actions": ["create"], "after": {"name": "main", "tags": {"owner": "team"}},
         "after_unknown": {"id": true, "arn": true}}});
    let default = |value: &str| {
        json!({"address": "aws_ecs_account_setting_default.insights", "type": "aws_ecs_account_setting_default",
            "change": {"actions": ["create"], "after": {"name": "containerInsights", "value": value},
             "after_unknown": {"id": true}}})
    };
    let of = |changes: Value| {
        let judged = judge_with(changes, json!({}));
        report_of(&judged, "aws_ecs_cluster.main", "CreateCluster").clone()
    };
    let alone = of(json!([cluster.clone()]));
    assert!(rules_of(&alone).contains(&"ECS-CL-001"), "{alone:?}");
    assert!(alone
        .notes
        .iter()
        .any(|n| n.contains("judged with AWS's default for the account (disabled)")));
    let enabled = of(json!([cluster.clone(), default("enabled")]));
    assert!(!rules_of(&enabled).contains(&"ECS-CL-001"), "{enabled:?}");
    assert!(
        enabled.notes.iter().all(|n| !n.contains("needs AWS")),
        "{:?}",
        enabled.notes
    );
    let disabled = of(json!([cluster, default("disabled")]));
    assert!(rules_of(&disabled).contains(&"ECS-CL-001"));
}

#[test]
fn a_launch_template_whose_user_data_joins_a_cluster_is_for_container_instances() {
    use base64::Engine;
    let template = |user_data: &str| {
        json!({"address": "aws_launch_template.hosts", "type": "aws_launch_template",
            "change": {"actions": ["create"], "after": {"name": "hosts", "key_name": "ops",
                "user_data": base64::engine::general_purpose::STANDARD.encode(user_data),
                "metadata_options": [{"http_tokens": "required", "http_put_response_hop_limit": 2,
                    "http_endpoint": "enabled"}]},
             "after_unknown": {"id": true, "arn": true, "latest_version": true, "default_version": true}}})
    };
    let judged = judge_with(
        json!([template(
            "#!/bin/bash\necho ECS_CLUSTER=prod >> /etc/ecs/ecs.config\n"
        )]),
        json!({}),
    );
    let report = report_of(&judged, "aws_launch_template.hosts", "CreateLaunchTemplate");
    assert_eq!(rules_of(report), ["EC2-CI-003", "EC2-CI-004"]);
    // Not shown to be a container instance: not judged, and said.
    let judged = judge_with(json!([template("#!/bin/bash\nyum update -y\n")]), json!({}));
    let report = report_of(&judged, "aws_launch_template.hosts", "CreateLaunchTemplate");
    assert!(rules_of(report).is_empty(), "{report:?}");
    assert!(report
        .notes
        .iter()
        .any(|n| n == crate::guards::instance::NEEDS_AWS));
}
