//! The sweep's exposure verdicts carry the network path the event path's
//! guards give them, judged on the place's network as read: a group open
//! to the internet where its interfaces sit, a service's public IP and open
//! groups, an instance's. Reachable rises one level; not reachable keeps
//! the rule's own severity; what was not read is unknown.

use super::*;
use crate::finding::Finding;
use crate::model::ci::{InstanceSettings, Said};
use crate::model::reach::test_support::{public_network, route, table};
use crate::model::reach::{Fact, Network};
use crate::ports::estate::{InstanceState, InterfaceState, Unread};
use crate::rules::ec2_ci::Evidence;

const SSH_REACHABLE: &str = "subnet-1 tcp/22: reachable from the internet on tcp/22 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)";

/// `subnet-1` sends everything to a NAT gateway only.
fn private_network() -> Network {
    let mut network = public_network();
    network.route_tables = vec![table(
        "rtb-1",
        "vpc-1",
        false,
        &["subnet-1"],
        vec![route("10.0.0.0/16", "local"), route("0.0.0.0/0", "nat-1")],
    )];
    network
}

/// A task interface in `subnet-1` carrying `sg-open`, with a public IP.
fn task_interface() -> InterfaceState {
    InterfaceState {
        id: "eni-task".to_string(),
        vpc_id: "vpc-1".to_string(),
        subnet_id: "subnet-1".to_string(),
        private_ips: vec!["10.0.1.5".to_string()],
        instance_id: None,
        description: "arn:aws:ecs:eu-west-1:111122223333:attachment/0f1e".to_string(),
        public_ip: Some("54.1.2.3".to_string()),
        groups: vec!["sg-open".to_string()],
    }
}

/// The base estate (a public service on `sg-open`, SSH open) in `network`,
/// its task's interface read.
fn estate_in(network: Network) -> Estate {
    let mut e = estate();
    e.network = network;
    e.interfaces = vec![task_interface()];
    e
}

fn finding<'s>(seen: &'s [Seen], resource: &str, rule: &str) -> &'s Finding {
    seen.iter()
        .find(|s| s.resource() == resource && s.finding.rule == rule)
        .map(|s| &s.finding)
        .unwrap_or_else(|| panic!("no {rule} on {resource}"))
}

fn lines(f: &Finding) -> Vec<&str> {
    f.fields
        .reachability
        .iter()
        .map(|p| p.line.as_str())
        .collect()
}

fn judged(e: &Estate) -> Vec<Seen> {
    judge(ACCOUNT, REGION, e, &Policy::embedded(), &[], TODAY)
}

#[test]
fn a_public_service_and_its_open_group_in_a_public_subnet_are_reachable_and_rise() {
    let seen = judged(&estate_in(public_network()));
    let open = finding(&seen, "prod/web", "ECS-SVC-004");
    assert_eq!(open.severity, Severity::Critical, "high, raised one level");
    assert_eq!(lines(open), [SSH_REACHABLE]);
    // The public IP without a port the task serves: the route is said,
    // the ACL (per port) is not judged, nothing rises.
    let public = finding(&seen, "prod/web", "ECS-SVC-001");
    assert_eq!(public.severity, Severity::High);
    assert_eq!(
        lines(public),
        ["subnet-1: unknown: subnet-1 routes the IPv4 internet to igw-0ab (route rtb-1 0.0.0.0/0) and the interface has a public address; the network ACL decides per port and the task definition maps no container port"]
    );
    // The group where its interface sits.
    let ssh = finding(&seen, "sg-open", "EC2-SG-003");
    assert_eq!(lines(ssh), [SSH_REACHABLE]);
    assert_eq!(ssh.severity, Severity::Critical);
    // A finding that is not about exposure gets no path.
    assert!(lines(finding(&seen, "web:3", "ECS-TD-001")).is_empty());
}

#[test]
fn a_private_subnet_is_not_reachable_and_keeps_the_rules_severity() {
    let seen = judged(&estate_in(private_network()));
    let open = finding(&seen, "prod/web", "ECS-SVC-004");
    assert_eq!(open.severity, Severity::High, "the rule's own, never lower");
    assert_eq!(
        lines(open),
        ["subnet-1 tcp/22: not reachable now: subnet-1 has no route to an internet gateway (route table rtb-1)"]
    );
    let ssh = finding(&seen, "sg-open", "EC2-SG-003");
    assert_eq!(
        lines(ssh),
        ["subnet-1 tcp/22: not reachable now: subnet-1 has no route to an internet gateway (route table rtb-1)"]
    );
    // The service's and the group's findings are the same ones (the same
    // fingerprints: nothing is alerted anew when a route changes); only
    // their paths and severities differ.
    let fingerprints = |seen: &[Seen]| {
        let mut out: Vec<String> = seen
            .iter()
            .filter(|s| ["prod/web", "sg-open"].contains(&s.resource()))
            .map(|s| s.fingerprint.clone())
            .collect();
        out.sort();
        out
    };
    let public = judged(&estate_in(public_network()));
    assert_eq!(fingerprints(&seen), fingerprints(&public));
    assert!(!fingerprints(&seen).is_empty());
}

#[test]
fn a_group_no_interface_uses_is_not_reachable_and_unread_interfaces_are_unknown() {
    let mut e = estate_in(public_network());
    e.interfaces.clear();
    let seen = judged(&e);
    let ssh = finding(&seen, "sg-open", "EC2-SG-003");
    assert_eq!(
        lines(ssh),
        ["tcp/22: not reachable now: no network interface uses sg-open now"]
    );
    assert_eq!(ssh.severity, Severity::Critical, "the rule's own");
    // The service's own path does not depend on the interfaces' read.
    assert_eq!(
        lines(finding(&seen, "prod/web", "ECS-SVC-004")),
        [SSH_REACHABLE]
    );

    e.unread.push(Unread {
        what: "DescribeNetworkInterfaces".to_string(),
        error: AwsError {
            operation: "DescribeNetworkInterfaces",
            code: Some("UnauthorizedOperation".to_string()),
            message: "no".to_string(),
            retryable: false,
        },
    });
    let seen = judged(&e);
    assert_eq!(
        lines(finding(&seen, "sg-open", "EC2-SG-003")),
        ["tcp/22: unknown: the network interfaces using sg-open could not be read (DescribeNetworkInterfaces: UnauthorizedOperation)"]
    );
}

#[test]
fn a_network_not_read_makes_every_line_unknown_never_closed() {
    let mut network = public_network();
    network.route_tables.clear();
    network
        .unread
        .insert(Fact::RouteTables, "UnauthorizedOperation".to_string());
    let seen = judged(&estate_in(network));
    let open = finding(&seen, "prod/web", "ECS-SVC-004");
    assert_eq!(open.severity, Severity::High);
    assert_eq!(
        lines(open),
        ["subnet-1 tcp/22: unknown: the route table of subnet-1 was not read (DescribeRouteTables: UnauthorizedOperation)"]
    );

    let mut network = public_network();
    network.subnets.clear();
    network
        .unread
        .insert(Fact::Subnets, "UnauthorizedOperation".to_string());
    let seen = judged(&estate_in(network));
    let line = lines(finding(&seen, "prod/web", "ECS-SVC-004")).join("\n");
    assert!(
        line.starts_with("subnet-1 tcp/22: unknown: ") && line.contains("DescribeSubnets"),
        "{line}"
    );
}

#[test]
fn an_instance_with_a_public_ip_and_ssh_open_is_reachable_on_ssh() {
    let mut e = estate_in(public_network());
    let settings = InstanceSettings {
        http_tokens: Said::Set("required".to_string()),
        hop_limit: Said::Set(1),
        public_ip: Said::Set(true),
        public_address: Some("203.0.113.7".to_string()),
        key_name: Said::Set("ops".to_string()),
        security_groups: Said::Set(vec!["sg-open".to_string()]),
        subnet: Some("subnet-1".to_string()),
        ..InstanceSettings::default()
    }
    .whole();
    e.instances.push(InstanceState {
        id: "i-1".to_string(),
        settings,
        container_instance: Some(Evidence(
            "instance profile ecs's role ecs carries AmazonEC2ContainerServiceforEC2Role"
                .to_string(),
        )),
        auto_scaling_group: None,
    });
    let seen = judged(&e);
    let on_instance: Vec<&Finding> = seen
        .iter()
        .filter(|s| s.resource().contains("i-1"))
        .map(|s| &s.finding)
        .collect();
    let rule = |id: &str| {
        *on_instance
            .iter()
            .find(|f| f.rule == id)
            .unwrap_or_else(|| panic!("no {id} in {on_instance:?}"))
    };
    assert_eq!(lines(rule("EC2-CI-005")), [SSH_REACHABLE]);
    assert_eq!(rule("EC2-CI-005").severity, Severity::Critical);
    assert_eq!(lines(rule("EC2-CI-002")), [SSH_REACHABLE]);
    assert_eq!(lines(rule("EC2-CI-003")), [SSH_REACHABLE]);
    assert_eq!(
        rule("EC2-CI-003").severity,
        Severity::High,
        "medium, raised"
    );
}
