use super::{hits, ElbContext, TargetReach, Verdict};
use crate::finding::{Action, Severity};
use crate::model::elb::{short_arn, ElbChange};
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

fn judge_one(name: &str, reach: &TargetReach) -> Option<Verdict> {
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
                Some(reach) => judge_one(&name, reach),
                None => Some(Verdict::Unknown(format!("{name}: not read"))),
            }
        })
        .collect()
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
}
