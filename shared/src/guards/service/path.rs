//! Where the service's tasks sit and what each exposure lets in: the
//! placement and the traffic that the network path of each finding is
//! judged on.

use crate::finding::Finding;
use crate::guards::paths::{self, Address, Exposed, Placement, Traffic};
use crate::model::net::Protocol;
use crate::model::reach::Family;
use crate::model::svc::ServiceChange;
use crate::model::td::TaskDefinition;
use crate::rules;
use crate::rules::ecs_svc::Enrichment;
use crate::rules::elb::load_balancer_bypassed as bypassed;

/// Where the tasks sit: the subnets of their `awsvpcConfiguration`, and
/// whether they get a public IP (`assignPublicIp`).
pub fn placement(change: &ServiceChange) -> Placement {
    let awsvpc = change.after().awsvpc.as_ref();
    Placement {
        subnets: match awsvpc.and_then(|vpc| vpc.subnets.clone()) {
            Some(subnets) if !subnets.is_empty() => Ok(subnets),
            _ => Err("the event does not name the tasks' subnets".to_string()),
        },
        address: match awsvpc.and_then(|vpc| vpc.assign_public_ip) {
            Some(has) => Address::Has(has),
            None => Address::Unknown,
        },
    }
}
/// The ports the task's containers listen on (`containerPort`, the port on
/// the task's interface in awsvpc mode); tcp unless the mapping says udp.
fn served(td: Option<&TaskDefinition>) -> Vec<(Protocol, u16)> {
    let mapped = td
        .into_iter()
        .flat_map(|td| td.containers.iter())
        .flat_map(|c| c.port_mappings.iter())
        .filter_map(|m| {
            let port = u16::try_from(m.container_port?).ok()?;
            let protocol = match m.protocol.as_deref() {
                Some(p) if p.eq_ignore_ascii_case("udp") => Protocol::Udp,
                _ => Protocol::Tcp,
            };
            Some((protocol, port))
        });
    let mut ports: Vec<(Protocol, u16)> = Vec::new();
    for port in mapped {
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    ports
}
/// The findings about exposure and what each exposes: a public IP
/// (ECS-SVC-001/008/009) the ports the task serves; an open group
/// (ECS-SVC-004) what its open rules let in.
pub fn exposed(
    findings: &[Finding],
    enrichment: Option<&Enrichment>,
    td: Option<&TaskDefinition>,
) -> Vec<Exposed> {
    let public_ip = [
        rules::ecs_svc::public_ip::PUBLIC_IP.id,
        rules::ecs_svc::task_set_public_ip::TASK_SET_PUBLIC_IP.id,
        rules::ecs_svc::task_public_ip::TASK_PUBLIC_IP.id,
    ];
    let served = served(td);
    findings
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let traffic = if public_ip.contains(&f.rule) {
                if served.is_empty() {
                    let why = match td {
                        None => "the task definition was not read",
                        Some(_) => "the task definition maps no container port",
                    };
                    vec![Traffic::Unnamed {
                        family: Family::Ipv4,
                        why: why.to_string(),
                    }]
                } else {
                    served
                        .iter()
                        .map(|(protocol, port)| Traffic::Port {
                            protocol: *protocol,
                            port: *port,
                            family: Family::Ipv4,
                        })
                        .collect()
                }
            } else if f.rule == rules::ecs_svc::open_security_group::OPEN_SECURITY_GROUP.id {
                let group = paths::group_of(f)?;
                let (_, open) = enrichment?.groups.iter().find(|(g, _)| g == group)?;
                paths::open_traffic(open, &served)
            } else if f.rule == bypassed::LOAD_BALANCER_BYPASSED.id {
                // Around the load balancer: whatever the service's open groups let in.
                let open: Vec<Finding> = enrichment?
                    .groups
                    .iter()
                    .flat_map(|(_, open)| open.iter().cloned())
                    .collect();
                paths::open_traffic(&open, &served)
            } else {
                return None;
            };
            Some(Exposed {
                finding: i,
                traffic,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;
    use crate::guards::service::evaluate_offline;
    use crate::guards::service::test_support::*;
    use crate::model::reach::test_support::{public_network, route, table};
    use crate::model::reach::{Fact, Network};
    use crate::policy::Policy;
    use crate::ports::fakes::{MemoryClusters, MemoryTaskDefinitions, MemoryVpcs};
    use crate::ports::AwsError;
    use crate::report::Report;
    use serde_json::json;

    fn vpcs(network: Network) -> MemoryVpcs {
        MemoryVpcs {
            networks: vec![("vpc-1".into(), network)],
            ..MemoryVpcs::default()
        }
    }

    /// `subnet-1` routes the internet to a NAT gateway only.
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

    fn finding<'r>(report: &'r Report, rule: &str) -> &'r Finding {
        report
            .findings
            .iter()
            .find(|f| f.rule == rule)
            .unwrap_or_else(|| panic!("no {rule} in {:?}", rules_of(report)))
    }

    fn lines(f: &Finding) -> Vec<&str> {
        f.fields
            .reachability
            .iter()
            .map(|p| p.line.as_str())
            .collect()
    }

    async fn judged(vpcs: &MemoryVpcs, tds: &MemoryTaskDefinitions) -> (Report, String) {
        let (report, sent) = run_with(
            tds,
            &ssh_open_group(),
            &MemoryClusters::default(),
            vpcs,
            &create(),
        )
        .await;
        let message = sent.first().map(|n| n.message.clone()).unwrap_or_default();
        (report.unwrap(), message)
    }

    #[tokio::test]
    async fn an_open_group_in_a_public_subnet_is_reachable_and_rises_one_level() {
        let vpcs = vpcs(public_network());
        let (report, message) = judged(&vpcs, &privileged_task()).await;
        let open = finding(&report, "ECS-SVC-004");
        assert_eq!(open.severity, Severity::Critical, "high, raised one level");
        assert_eq!(
            rules_of(&report),
            ["ECS-SVC-004", "ECS-SVC-005", "ECS-SVC-001", "ECS-SVC-011"],
            "sorted again, most severe first"
        );
        assert_eq!(
            lines(open),
            ["subnet-1 tcp/22: reachable from the internet on tcp/22 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)"]
        );
        // The public IP without a known port: the route is said, the
        // ACL (per port) is not judged, and nothing rises.
        let public = finding(&report, "ECS-SVC-001");
        assert_eq!(public.severity, Severity::High);
        assert_eq!(
            lines(public),
            ["subnet-1: unknown: subnet-1 routes the IPv4 internet to igw-0ab (route rtb-1 0.0.0.0/0) and the interface has a public address; the network ACL decides per port and the task definition maps no container port"]
        );
        assert!(
            message.contains(r"sg-1: tcp 22 from 0.0.0.0/0 (sgr-ssh) (EC2-SG-003)\n    Path: subnet-1 tcp/22: reachable from the internet on tcp/22 via igw-0ab"),
            "{message}"
        );
        assert!(message.contains("[CRITICAL] ECS-SVC-004"), "{message}");
        let json = report.to_json();
        assert!(
            json.contains(r#""reachability":[{"subnet":"subnet-1","port":"tcp/22","reach":"reachable","traffic":"tcp/22","via":"igw-0ab""#),
            "{json}"
        );
        assert_eq!(
            *vpcs.calls.lock().unwrap(),
            ["subnet subnet-1", "network vpc-1"],
            "one read of the subnet's VPC and one of its network"
        );
    }

    #[tokio::test]
    async fn a_public_ip_is_judged_on_the_ports_the_task_serves() {
        let (report, _) = judged(&vpcs(public_network()), &serving(80)).await;
        let public = finding(&report, "ECS-SVC-001");
        assert_eq!(public.severity, Severity::Critical);
        assert_eq!(
            lines(public),
            ["subnet-1 tcp/80: reachable from the internet on tcp/80 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)"]
        );
        // The open group admits tcp/22 only: its line is about tcp/22.
        assert_eq!(
            lines(finding(&report, "ECS-SVC-004")),
            ["subnet-1 tcp/22: reachable from the internet on tcp/22 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)"]
        );
    }

    #[tokio::test]
    async fn a_private_subnet_is_not_reachable_and_keeps_the_rules_severity() {
        let (report, message) = judged(&vpcs(private_network()), &serving(80)).await;
        let open = finding(&report, "ECS-SVC-004");
        assert_eq!(open.severity, Severity::High, "the rule's own, never lower");
        assert_eq!(
            lines(open),
            ["subnet-1 tcp/22: not reachable now: subnet-1 has no route to an internet gateway (route table rtb-1)"]
        );
        assert_eq!(finding(&report, "ECS-SVC-001").severity, Severity::High);
        assert!(
            message.contains("Path: subnet-1 tcp/22: not reachable now"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_network_that_cannot_be_read_is_unknown_and_the_finding_stays() {
        let denied = MemoryVpcs {
            error: Some(AwsError {
                operation: "DescribeSubnets",
                code: Some("UnauthorizedOperation".into()),
                message: "no".into(),
                retryable: false,
            }),
            ..vpcs(public_network())
        };
        let (report, message) = judged(&denied, &serving(80)).await;
        let open = finding(&report, "ECS-SVC-004");
        assert_eq!(open.severity, Severity::High);
        assert_eq!(
            lines(open),
            ["subnet-1 tcp/22: unknown: the VPC of subnet-1 could not be read (DescribeSubnets: UnauthorizedOperation)"]
        );
        assert!(
            message.contains("Path: subnet-1 tcp/22: unknown: the VPC of subnet-1"),
            "{message}"
        );

        // One kind of fact not read: unknown, saying which and why.
        let mut partial = public_network();
        partial.route_tables.clear();
        partial
            .unread
            .insert(Fact::RouteTables, "UnauthorizedOperation".into());
        let (report, _) = judged(&vpcs(partial), &serving(80)).await;
        let open = finding(&report, "ECS-SVC-004");
        assert_eq!(open.severity, Severity::High);
        assert_eq!(
            lines(open),
            ["subnet-1 tcp/22: unknown: the route table of subnet-1 was not read (DescribeRouteTables: UnauthorizedOperation)"]
        );

        // A subnet EC2 does not know: unknown, never open or closed.
        let (report, _) = judged(&MemoryVpcs::default(), &serving(80)).await;
        assert_eq!(
            lines(finding(&report, "ECS-SVC-004")),
            ["subnet-1 tcp/22: unknown: subnet subnet-1 was not found"]
        );

        // Throttled: the invocation fails so that Lambda retries it.
        let throttled = MemoryVpcs {
            error: Some(AwsError {
                operation: "DescribeSubnets",
                code: Some("RequestLimitExceeded".into()),
                message: "slow".into(),
                retryable: true,
            }),
            ..MemoryVpcs::default()
        };
        let (result, sent) = run_with(
            &serving(80),
            &ssh_open_group(),
            &MemoryClusters::default(),
            &throttled,
            &create(),
        )
        .await;
        assert!(result.is_err());
        assert!(sent.is_empty());
    }

    #[tokio::test]
    async fn nothing_exposed_reads_no_network_and_offline_adds_nothing() {
        let vpcs = vpcs(public_network());
        let scale = event(
            "UpdateService",
            json!({"service": "web", "desiredCount": 5}),
        );
        let (report, _) = run_with(
            &privileged_task(),
            &ssh_open_group(),
            &MemoryClusters::default(),
            &vpcs,
            &scale,
        )
        .await;
        assert!(report.unwrap().findings.is_empty());
        assert!(vpcs.calls.lock().unwrap().is_empty());
        let offline = evaluate_offline(&create(), &Policy::embedded()).unwrap();
        assert!(offline
            .findings
            .iter()
            .all(|f| f.fields.reachability.is_empty()));
    }
}
