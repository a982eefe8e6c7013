use super::{hits, ElbContext, TargetReach, Verdict};
use crate::finding::{Action, Severity};
use crate::model::elb::{short_arn, ElbChange};
use crate::model::svc::{ServiceChange, ServiceLoadBalancer};
use crate::rules::ecs_svc::open_security_group::open_groups;
use crate::rules::ecs_svc::{Enrichment, SvcContext};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a target registered with a load balancer's target group
    /// (`RegisterTargets`, which ECS calls for every task of a service with
    /// `loadBalancers`) that the internet can also reach directly: the
    /// target has a public address (the task's ENI, the instance's public or
    /// Elastic IP) and a security group rule that admits the internet on the
    /// port it serves. The Lambda reads both for each target
    /// ([`TargetReach`]); a part it could not read makes the verdict
    /// unknown, and offline every target's is.
    ///
    /// The same is judged when a service is created or its task definition,
    /// network or `loadBalancers` change (`CreateService`, `UpdateService`,
    /// `CreateTaskSet`): a service with a target group or classic load
    /// balancer whose tasks get a public IP (`assignPublicIp: ENABLED`) and
    /// whose own groups admit the internet (as ECS-SVC-004 reads them).
    /// Offline the groups are not read, and the verdict is unknown.
    ///
    /// ## Why is this bad?
    /// Whatever the load balancer enforces (TLS, WAF, authentication,
    /// header hygiene, access logs) is skipped by anyone who calls the task
    /// at its own address.
    ///
    /// ## Example
    /// A Fargate service with `assignPublicIp: ENABLED` whose task group
    /// admits tcp 8080 from 0.0.0.0/0, registered as `10.0.11.27:8080`
    /// behind an internet-facing ALB.
    ///
    /// ## Fix
    /// Give the tasks no public address (private subnets, `assignPublicIp:
    /// DISABLED`) and let their group admit only the load balancer's group.
    ///
    /// ## References
    /// Beyond the peers: they judge services, groups and load balancers
    /// separately, not the path around the load balancer.
    pub static LOAD_BALANCER_BYPASSED = {
        id: "ELB-011",
        title: "Service behind a load balancer also admits the internet directly (the load balancer is bypassed)",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Remove the targets' public addresses and let their security group admit only the load balancer's group.",
        check: crate::rules::Check::LoadBalancer(evaluate),
    }
}

/// Pure check over the change and what the Lambda read of each target.
pub fn evaluate(change: &ElbChange, ctx: &ElbContext) -> Vec<Hit> {
    hits(judge(change, ctx))
}

/// The verdict on one way around a load balancer: `name`, with what was
/// read of its public address and its groups' open rules. `None` when the
/// internet cannot reach it directly.
pub fn judge_reach(name: &str, reach: &TargetReach) -> Option<Verdict> {
    let address = match &reach.public_address {
        Ok(None) => return None,
        Ok(Some(address)) => Some(address),
        Err(_) => None,
    };
    match (&reach.open_rules, address) {
        (Ok(rules), _) if rules.is_empty() => None,
        (Ok(rules), Some(address)) => Some(Verdict::Broken(format!(
            "{name}: public address {address} and {} admit the internet directly, bypassing the load balancer",
            rules.join("; ")
        ))),
        (Ok(_), None) | (Err(_), _) => {
            let why: Vec<&str> = [&reach.public_address.as_ref().err(), &reach.open_rules.as_ref().err()]
                .into_iter()
                .flatten()
                .map(|s| s.as_str())
                .collect();
            Some(Verdict::Unknown(format!("{name}: {}", why.join(", "))))
        }
    }
}

/// The verdicts, unknowns included.
pub fn judge(change: &ElbChange, ctx: &ElbContext) -> Vec<Verdict> {
    let ElbChange::Targets {
        target_group,
        targets,
    } = change
    else {
        return Vec::new();
    };
    let group = short_arn(target_group);
    let Some(read) = &ctx.facts.targets else {
        return vec![Verdict::Unknown(format!(
            "whether the targets registered with {group} have public addresses and groups open to the internet is not in the record"
        ))];
    };
    targets
        .iter()
        .filter_map(|target| {
            let name = match target.port {
                Some(port) => format!("target {}:{port} of {group}", target.id),
                None => format!("target {} of {group}", target.id),
            };
            match read.iter().find(|r| r.target == target.id) {
                Some(reach) => judge_reach(&name, reach),
                None => Some(Verdict::Unknown(format!("{name}: not read"))),
            }
        })
        .collect()
}

/// Pure check over a service change and what service-guard read of its
/// groups (`None` offline).
pub fn evaluate_service(change: &ServiceChange, ctx: &SvcContext) -> Vec<Hit> {
    hits(judge_service(change, ctx.enrichment))
}

/// The verdict on a service change: behind a load balancer (its
/// `loadBalancers`), with a public IP and its own groups open to the
/// internet. Unknown, with why, wherever one of the three is not known
/// and the others do not already clear it.
pub fn judge_service(change: &ServiceChange, enrichment: Option<&Enrichment>) -> Vec<Verdict> {
    if !change.changes_exposure() {
        return Vec::new();
    }
    let behind: Result<&[ServiceLoadBalancer], String> = match change.load_balancers() {
        Some([]) => return Vec::new(),
        Some(lbs) => Ok(lbs),
        None => Err(
            "whether it is behind a load balancer (its loadBalancers) is not in the record"
                .to_string(),
        ),
    };
    let public_address = match change
        .after()
        .awsvpc
        .as_ref()
        .map(|vpc| vpc.assign_public_ip)
    {
        Some(Some(false)) => return Vec::new(),
        Some(Some(true)) => Ok(Some(
            "assigned at launch (assignPublicIp: ENABLED)".to_string(),
        )),
        Some(None) => Err("whether its tasks get a public IP is not in the record".to_string()),
        None => Err(
            "its tasks are not in awsvpc mode: the container instances' addresses and groups apply"
                .to_string(),
        ),
    };
    let open_rules = match enrichment {
        None => Err("whether its security groups admit the internet is not in the record (the Lambda reads them)".to_string()),
        Some(e) => {
            let open = open_groups(e);
            if open.is_empty() && !e.unchecked_groups.is_empty() {
                let unread: Vec<String> = e
                    .unchecked_groups
                    .iter()
                    .map(|(group, why)| format!("{group} ({why})"))
                    .collect();
                Err(format!("its security groups could not be read: {}", unread.join(", ")))
            } else {
                Ok(open)
            }
        }
    };
    let name = match &behind {
        Ok(lbs) => format!(
            "service {} behind {}",
            change.resource(),
            lbs.iter()
                .map(ServiceLoadBalancer::label)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(_) => format!("service {}", change.resource()),
    };
    let reach = TargetReach {
        target: change.resource(),
        public_address,
        open_rules,
    };
    match (behind, judge_reach(&name, &reach)) {
        (_, None) => Vec::new(),
        (Ok(_), Some(verdict)) => vec![verdict],
        (Err(why), Some(Verdict::Broken(_))) => {
            vec![Verdict::Unknown(format!("{name}: {why}"))]
        }
        (Err(why), Some(Verdict::Unknown(more))) => {
            let prefix = format!("{name}: ");
            let more = more.strip_prefix(&prefix).unwrap_or(&more);
            vec![Verdict::Unknown(format!("{prefix}{why}, {more}"))]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::REGISTER_TARGETS;
    use crate::rules::elb::test_support::{change, run};
    use crate::rules::elb::ElbFacts;
    use serde_json::json;

    fn register() -> ElbChange {
        change(
            REGISTER_TARGETS,
            json!({"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/api/73e2d6bc24d8a067",
                "targets": [{"id": "10.0.11.27", "port": 8080}]}),
            json!(null),
        )
    }

    fn reach(address: Result<Option<&str>, &str>, rules: Result<Vec<&str>, &str>) -> ElbFacts {
        ElbFacts {
            targets: Some(vec![TargetReach {
                target: "10.0.11.27".into(),
                public_address: address
                    .map(|a| a.map(str::to_string))
                    .map_err(str::to_string),
                open_rules: rules
                    .map(|r| r.into_iter().map(str::to_string).collect())
                    .map_err(str::to_string),
            }]),
            ..ElbFacts::default()
        }
    }

    #[test]
    fn flags_targets_the_internet_reaches_directly() {
        let open = vec!["sg-0a1: tcp 8080 from 0.0.0.0/0"];
        assert_eq!(
            run(judge, &register(), &reach(Ok(Some("203.0.113.7")), Ok(open.clone()))).0,
            ["target 10.0.11.27:8080 of api/73e2d6bc24d8a067: public address 203.0.113.7 and sg-0a1: tcp 8080 from 0.0.0.0/0 admit the internet directly, bypassing the load balancer"]
        );
        assert_eq!(
            run(judge, &register(), &reach(Ok(None), Ok(open.clone()))),
            (vec![], vec![])
        );
        assert_eq!(
            run(
                judge,
                &register(),
                &reach(Ok(Some("203.0.113.7")), Ok(vec![]))
            ),
            (vec![], vec![])
        );
        // Whatever could not be read is unknown, never clean.
        assert_eq!(
            run(
                judge,
                &register(),
                &reach(Ok(Some("203.0.113.7")), Err("its groups: AccessDenied"))
            )
            .1,
            ["target 10.0.11.27:8080 of api/73e2d6bc24d8a067: its groups: AccessDenied"]
        );
        assert_eq!(
            run(
                judge,
                &register(),
                &reach(Err("its address: not found"), Ok(open))
            )
            .1,
            ["target 10.0.11.27:8080 of api/73e2d6bc24d8a067: its address: not found"]
        );
        assert_eq!(
            run(judge, &register(), &ElbFacts::default()).1,
            ["whether the targets registered with api/73e2d6bc24d8a067 have public addresses and groups open to the internet is not in the record"]
        );
        let other = ElbFacts {
            targets: Some(vec![]),
            ..ElbFacts::default()
        };
        assert_eq!(
            run(judge, &register(), &other).1,
            ["target 10.0.11.27:8080 of api/73e2d6bc24d8a067: not read"]
        );
    }

    mod service {
        use super::super::*;
        use crate::finding::{Fields, Finding};
        use crate::rules::ecs_svc::test_support::change;
        use serde_json::json;

        const TG: &str =
            "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/api/73e2d6bc24d8a067";

        fn service(public_ip: &str, lbs: serde_json::Value) -> ServiceChange {
            change(
                "CreateService",
                json!({"serviceName": "web", "loadBalancers": lbs,
                    "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"],
                        "securityGroups": ["sg-1"], "assignPublicIp": public_ip}}}),
            )
        }

        fn behind_tg(public_ip: &str) -> ServiceChange {
            service(
                public_ip,
                json!([{"targetGroupArn": TG, "containerName": "app", "containerPort": 8080}]),
            )
        }

        fn open_sg() -> Enrichment {
            Enrichment {
                groups: vec![(
                    "sg-1".into(),
                    vec![Finding {
                        rule: "EC2-SG-007",
                        severity: Severity::High,
                        title: "port",
                        detail: "tcp 8080 from 0.0.0.0/0 (sgr-1)".into(),
                        remediation: "",
                        action: Action::Notify,
                        resource: None,
                        target: None,
                        fields: Fields::default(),
                    }],
                )],
                ..Enrichment::default()
            }
        }

        fn split(verdicts: Vec<Verdict>) -> (Vec<String>, Vec<String>) {
            let (mut broken, mut unknown) = (Vec::new(), Vec::new());
            for v in verdicts {
                match v {
                    Verdict::Broken(d) => broken.push(d),
                    Verdict::Unknown(d) => unknown.push(d),
                }
            }
            (broken, unknown)
        }

        #[test]
        fn a_service_behind_a_target_group_with_a_public_ip_and_an_open_group_bypasses_it() {
            assert_eq!(
                split(judge_service(&behind_tg("ENABLED"), Some(&open_sg()))).0,
                ["service default/web behind target group api/73e2d6bc24d8a067 (container app:8080): public address assigned at launch (assignPublicIp: ENABLED) and sg-1: tcp 8080 from 0.0.0.0/0 (sgr-1) (EC2-SG-007) admit the internet directly, bypassing the load balancer"]
            );
            // A classic load balancer counts alike.
            let classic = service(
                "ENABLED",
                json!([{"loadBalancerName": "legacy", "containerName": "app", "containerPort": 80}]),
            );
            assert_eq!(split(judge_service(&classic, Some(&open_sg()))).0.len(), 1);
        }

        #[test]
        fn a_service_change_reports_it_among_the_service_rules_most_severe_first() {
            let policy = crate::policy::Policy::embedded();
            let findings = crate::rules::evaluate_svc(
                &behind_tg("ENABLED"),
                &SvcContext {
                    policy: &policy,
                    enrichment: Some(&open_sg()),
                },
            );
            let rules: Vec<(&str, Severity)> =
                findings.iter().map(|f| (f.rule, f.severity)).collect();
            assert_eq!(
                rules,
                [
                    ("ECS-SVC-001", Severity::High),
                    ("ECS-SVC-004", Severity::High),
                    ("ELB-011", Severity::High),
                    ("ECS-SVC-011", Severity::Low),
                ]
            );
        }

        #[test]
        fn no_public_ip_no_load_balancer_or_no_open_group_is_no_bypass() {
            let nothing = (vec![], vec![]);
            assert_eq!(
                split(judge_service(&behind_tg("DISABLED"), Some(&open_sg()))),
                nothing
            );
            assert_eq!(
                split(judge_service(
                    &service("ENABLED", json!([])),
                    Some(&open_sg())
                )),
                nothing
            );
            assert_eq!(
                split(judge_service(
                    &behind_tg("ENABLED"),
                    Some(&Enrichment::default())
                )),
                nothing
            );
            // A scale-out changes no way in.
            let scale = change(
                "UpdateService",
                json!({"service": "web", "desiredCount": 3}),
            );
            assert_eq!(split(judge_service(&scale, Some(&open_sg()))), nothing);
        }

        #[test]
        fn what_is_not_known_is_unknown_never_clean() {
            assert_eq!(
                split(judge_service(&behind_tg("ENABLED"), None)).1,
                ["service default/web behind target group api/73e2d6bc24d8a067 (container app:8080): whether its security groups admit the internet is not in the record (the Lambda reads them)"]
            );
            let unread = Enrichment {
                unchecked_groups: vec![("sg-1".into(), "UnauthorizedOperation".into())],
                ..Enrichment::default()
            };
            assert_eq!(
                split(judge_service(&behind_tg("ENABLED"), Some(&unread))).1,
                ["service default/web behind target group api/73e2d6bc24d8a067 (container app:8080): its security groups could not be read: sg-1 (UnauthorizedOperation)"]
            );
            let bridge = change(
                "CreateService",
                json!({"serviceName": "web", "loadBalancers": [{"targetGroupArn": TG, "containerName": "app", "containerPort": 80}]}),
            );
            assert_eq!(
                split(judge_service(&bridge, Some(&open_sg()))).1,
                ["service default/web behind target group api/73e2d6bc24d8a067 (container app:80): its tasks are not in awsvpc mode: the container instances' addresses and groups apply"]
            );
            // A new task definition, the response trimmed: whether the
            // service is behind a load balancer is not known.
            let update = change(
                "UpdateService",
                json!({"service": "web", "taskDefinition": "web:4",
                    "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}}}),
            );
            assert_eq!(
                split(judge_service(&update, Some(&open_sg()))).1,
                ["service default/web: whether it is behind a load balancer (its loadBalancers) is not in the record"]
            );
            assert_eq!(
                split(judge_service(&update, None)).1,
                ["service default/web: whether it is behind a load balancer (its loadBalancers) is not in the record, whether its security groups admit the internet is not in the record (the Lambda reads them)"]
            );
        }
    }
}
