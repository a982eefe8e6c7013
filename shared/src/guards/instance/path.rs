//! Where the instances sit and what each exposure lets in: the placement
//! and the traffic that the network path of each finding is judged on.

use crate::finding::Finding;
use crate::guards::paths::{self, Address, Exposed, Placement, Traffic};
use crate::model::ci::{InstanceChange, Said};
use crate::model::net::Protocol;
use crate::model::reach::Family;
use crate::rules;
use crate::rules::ec2_ci::CiFacts;

/// Where the instances sit: the subnet the launch (or template) names,
/// and whether they get a public IPv4 address — the launch's setting, else
/// the subnet's `MapPublicIpOnLaunch` (read, or read with the network).
pub fn placement(change: &InstanceChange, facts: &CiFacts) -> Placement {
    let settings = &change.effective;
    Placement {
        subnets: settings
            .subnet
            .clone()
            .map(|subnet| vec![subnet])
            .ok_or_else(|| "the record names no subnet".to_string()),
        address: match (&settings.public_address, &settings.public_ip) {
            (Some(_), _) | (None, Said::Set(true)) => Address::Has(true),
            (None, Said::Set(false)) => Address::Has(false),
            (None, Said::Default) => facts
                .subnet_public_ip
                .map_or(Address::SubnetDefault, Address::Has),
            (None, Said::Unknown) => Address::Unknown,
        },
    }
}

/// The findings about exposure and what each exposes: an open group
/// (EC2-CI-005) what its open rules let in; a public IP (EC2-CI-002) what
/// the open groups let in, else no port; an SSH key pair (EC2-CI-003)
/// tcp/22 where an open group lets it in (the key is for SSH), else nothing
/// is said.
pub fn exposed(findings: &[Finding], facts: &CiFacts) -> Vec<Exposed> {
    let groups = facts.groups.as_ref();
    let open_all: Vec<Finding> = groups
        .into_iter()
        .flat_map(|g| g.groups.iter())
        .flat_map(|(_, open)| open.iter().cloned())
        .collect();
    findings
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let traffic = if f.rule == rules::ec2_ci::open_security_group::OPEN_SECURITY_GROUP.id {
                let group = paths::group_of(f)?;
                let (_, open) = groups?.groups.iter().find(|(g, _)| g == group)?;
                paths::open_traffic(open, &[])
            } else if f.rule == rules::ec2_ci::public_ip::PUBLIC_IP.id {
                let traffic = paths::open_traffic(&open_all, &[]);
                if traffic.is_empty() {
                    vec![Traffic::Unnamed {
                        family: Family::Ipv4,
                        why: "no security group is known to let the internet in".to_string(),
                    }]
                } else {
                    traffic
                }
            } else if f.rule == rules::ec2_ci::ssh_key_pair::SSH_KEY_PAIR.id {
                let ssh: Vec<Traffic> = paths::open_traffic(&open_all, &[(Protocol::Tcp, 22)])
                    .into_iter()
                    .filter(|t| {
                        matches!(
                            t,
                            Traffic::Port {
                                protocol: Protocol::Tcp,
                                port: 22,
                                ..
                            }
                        )
                    })
                    .collect();
                if ssh.is_empty() {
                    return None;
                }
                ssh
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
    use crate::guards::instance::test_support::*;
    use crate::guards::instance::InstanceGuard;
    use crate::guards::GuardSettings;
    use crate::model::event::Event;
    use crate::model::net::Source;
    use crate::model::reach::test_support::{public_network, route, table};
    use crate::model::reach::Network;
    use crate::model::sg::{Direction, SgRule};
    use crate::policy::Policy;
    use crate::ports::fakes::{
        MemoryGroups, MemoryIam, MemoryInstances, MemoryNotifier, MemoryVpcs,
    };
    use crate::ports::RolePolicies;
    use crate::report::Report;
    use serde_json::json;

    fn ssh_open() -> MemoryGroups {
        MemoryGroups {
            rules: std::sync::Mutex::new(vec![SgRule {
                rule_id: Some("sgr-ssh".into()),
                direction: Direction::Ingress,
                ip_protocol: "tcp".into(),
                protocol: Protocol::Tcp,
                from_port: Some(22),
                to_port: Some(22),
                source: Source::cidr("0.0.0.0/0"),
                description: None,
            }]),
            ..MemoryGroups::default()
        }
    }

    /// The instance profile `ecs` is a container instance's.
    fn ecs_profile() -> MemoryIam {
        MemoryIam {
            profiles: vec![("ecs".into(), vec!["ecs".into()])],
            roles: vec![RolePolicies {
                role: "ecs".into(),
                managed: vec![(
                    "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
                        .into(),
                    None,
                )],
                ..RolePolicies::default()
            }],
            ..MemoryIam::default()
        }
    }

    fn launch(public_ip: serde_json::Value) -> Event {
        let mut nic = json!({"deviceIndex": 0, "subnetId": "subnet-1",
            "groupSet": {"items": [{"groupId": "sg-1"}]}});
        if !public_ip.is_null() {
            nic["associatePublicIpAddress"] = public_ip;
        }
        event(
            "RunInstances",
            json!({"instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": 1, "keyName": "ops"}]},
                   "iamInstanceProfile": {"name": "ecs"},
                   "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
                   "networkInterfaceSet": {"items": [nic]}}),
            json!(null),
        )
    }

    async fn judged(network: Option<Network>, e: &Event) -> (Report, Vec<String>) {
        let vpcs = MemoryVpcs {
            networks: network.map(|n| ("vpc-1".into(), n)).into_iter().collect(),
            ..MemoryVpcs::default()
        };
        let notifier = MemoryNotifier::default();
        let policy = Policy::embedded();
        let settings = GuardSettings::default();
        let report = InstanceGuard {
            instances: &MemoryInstances::default(),
            iam: &ecs_profile(),
            groups: &ssh_open(),
            vpcs: &vpcs,
            notifier: &notifier,
            policy: &policy,
            settings: &settings,
        }
        .handle(e)
        .await
        .unwrap();
        let calls = vpcs.calls.lock().unwrap().clone();
        (report, calls)
    }

    fn finding<'r>(report: &'r Report, rule: &str) -> &'r Finding {
        report
            .findings
            .iter()
            .find(|f| f.rule == rule)
            .unwrap_or_else(|| panic!("no {rule} in {:?}", report.findings))
    }

    fn lines(f: &Finding) -> Vec<&str> {
        f.fields
            .reachability
            .iter()
            .map(|p| p.line.as_str())
            .collect()
    }

    const SSH_REACHABLE: &str = "subnet-1 tcp/22: reachable from the internet on tcp/22 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)";

    #[tokio::test]
    async fn a_public_launch_in_a_public_subnet_is_reachable_on_ssh() {
        let (report, calls) = judged(Some(public_network()), &launch(json!(true))).await;
        assert_eq!(calls, ["subnet subnet-1", "network vpc-1"]);
        let open = finding(&report, "EC2-CI-005");
        assert_eq!(open.severity, Severity::Critical, "high, raised one level");
        assert_eq!(lines(open), [SSH_REACHABLE]);
        let public = finding(&report, "EC2-CI-002");
        assert_eq!(public.severity, Severity::Critical);
        assert_eq!(lines(public), [SSH_REACHABLE]);
        let key = finding(&report, "EC2-CI-003");
        assert_eq!(key.severity, Severity::High, "medium, raised one level");
        assert_eq!(lines(key), [SSH_REACHABLE]);
        assert_eq!(
            report.findings[0].severity,
            Severity::Critical,
            "sorted again, most severe first"
        );
    }

    #[tokio::test]
    async fn a_launch_that_does_not_say_takes_the_subnets_setting() {
        // MapPublicIpOnLaunch on (the network's subnet says so).
        let (report, _) = judged(Some(public_network()), &launch(json!(null))).await;
        assert_eq!(lines(finding(&report, "EC2-CI-005")), [SSH_REACHABLE]);
        // Off: no public address, not reachable, nothing rises.
        let mut off = public_network();
        off.subnets[0].map_public_ip_on_launch = Some(false);
        let (report, _) = judged(Some(off), &launch(json!(null))).await;
        let open = finding(&report, "EC2-CI-005");
        assert_eq!(open.severity, Severity::High);
        assert_eq!(
            lines(open),
            ["subnet-1 tcp/22: not reachable now: the interface in subnet-1 has no public address"]
        );
    }

    #[tokio::test]
    async fn a_private_subnet_or_an_unread_one_keeps_the_rules_severity() {
        let mut private = public_network();
        private.route_tables = vec![table(
            "rtb-1",
            "vpc-1",
            false,
            &["subnet-1"],
            vec![route("10.0.0.0/16", "local")],
        )];
        let (report, _) = judged(Some(private), &launch(json!(true))).await;
        let open = finding(&report, "EC2-CI-005");
        assert_eq!(open.severity, Severity::High);
        assert_eq!(
            lines(open),
            ["subnet-1 tcp/22: not reachable now: subnet-1 has no route to an internet gateway (route table rtb-1)"]
        );
        assert_eq!(finding(&report, "EC2-CI-003").severity, Severity::Medium);
        let (report, _) = judged(None, &launch(json!(true))).await;
        let open = finding(&report, "EC2-CI-005");
        assert_eq!(open.severity, Severity::High);
        assert_eq!(
            lines(open),
            ["subnet-1 tcp/22: unknown: subnet subnet-1 was not found"]
        );
    }
}
