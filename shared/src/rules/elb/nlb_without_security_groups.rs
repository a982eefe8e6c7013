use super::{hits, scheme_said, unknown_scheme, unknown_type, ElbContext, Verdict};
use crate::finding::{Action, Severity};
use crate::model::elb::{ElbChange, LbType, Scheme};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an internet-facing Network Load Balancer without security
    /// groups: created without any (`CreateLoadBalancer` with `type:
    /// network` and no `securityGroups`; a request that names no scheme
    /// gets AWS's default, internet-facing, and the finding says so), or
    /// left without any by `SetSecurityGroups`. The scheme of the latter is
    /// read by the Lambda; offline the verdict says it could not tell. The
    /// ECS services behind it are registered later: the rule judges the
    /// load balancer, whatever it will front.
    ///
    /// ## Why is this bad?
    /// A Network Load Balancer without security groups admits every client
    /// to every listener, and its targets' groups must then admit the
    /// clients' addresses themselves (it preserves them): the tasks' groups
    /// end up open to the internet, and nothing can narrow it at the load
    /// balancer. Groups cannot be added to an NLB created without them.
    ///
    /// ## Example
    /// `CreateLoadBalancer {"name": "edge", "type": "network", "scheme": "internet-facing", "subnets": ["subnet-…"]}`
    ///
    /// ## Fix
    /// Recreate the load balancer with security groups that admit only the
    /// listeners' ports, and let the tasks' groups admit the load balancer's group.
    ///
    /// ## References
    /// Beyond the peers; Elastic Load Balancing user guide, "Security groups
    /// for your Network Load Balancer".
    pub static NLB_WITHOUT_SECURITY_GROUPS = {
        id: "ELB-009",
        title: "Internet-facing NLB without security groups in front of ECS",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Recreate the Network Load Balancer with security groups (they cannot be added later) and admit only its listeners' ports.",
        check: crate::rules::Check::LoadBalancer(evaluate),
    }
}

/// Pure check over the change and the facts.
pub fn evaluate(change: &ElbChange, ctx: &ElbContext) -> Vec<Hit> {
    hits(judge(change, ctx))
}

/// The verdicts, unknowns included.
pub fn judge(change: &ElbChange, ctx: &ElbContext) -> Vec<Verdict> {
    let groups = match change {
        ElbChange::LoadBalancer { load_balancer, .. } => &load_balancer.security_groups,
        ElbChange::SecurityGroups { groups, .. } => groups,
        _ => return Vec::new(),
    };
    if !groups.is_empty() {
        return Vec::new();
    }
    let mut missing = Vec::new();
    match ctx.lb_type(change) {
        Some(LbType::Network) => {}
        Some(_) => return Vec::new(),
        None => missing.push(unknown_type(change)),
    }
    match ctx.scheme(change) {
        Some(Scheme::Internal) => return Vec::new(),
        Some(Scheme::InternetFacing) => {}
        None => missing.push(unknown_scheme(change)),
    }
    if !missing.is_empty() {
        return vec![Verdict::Unknown(missing.join(", "))];
    }
    vec![Verdict::Broken(format!(
        "network load balancer {}: {} with no security groups: every client reaches every listener",
        super::lb_label(change),
        scheme_said(change)
    ))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::{CREATE_LOAD_BALANCER, SET_SECURITY_GROUPS};
    use crate::rules::elb::test_support::{change, run, LB, NLB};
    use crate::rules::elb::ElbFacts;
    use serde_json::json;

    fn create(request: serde_json::Value) -> ElbChange {
        change(CREATE_LOAD_BALANCER, request, json!(null))
    }

    #[test]
    fn flags_internet_facing_network_load_balancers_without_groups() {
        let facts = ElbFacts::default();
        assert_eq!(
            run(
                judge,
                &create(json!({"name": "edge", "type": "network", "scheme": "internet-facing", "subnets": ["subnet-1"]})),
                &facts
            )
            .0,
            ["network load balancer edge: internet-facing with no security groups: every client reaches every listener"]
        );
        // No scheme named: AWS's default, said.
        assert_eq!(
            run(
                judge,
                &create(json!({"name": "edge", "type": "network", "subnets": ["subnet-1"], "securityGroups": []})),
                &facts
            )
            .0,
            ["network load balancer edge: internet-facing (AWS default: the request names no scheme) with no security groups: every client reaches every listener"]
        );
        for request in [
            json!({"name": "edge", "type": "network", "scheme": "internet-facing", "securityGroups": ["sg-1"]}),
            json!({"name": "edge", "type": "network", "scheme": "internal"}),
            json!({"name": "web", "scheme": "internet-facing"}),
        ] {
            assert_eq!(
                run(judge, &create(request.clone()), &facts),
                (vec![], vec![]),
                "{request}"
            );
        }
    }

    #[test]
    fn groups_removed_by_set_security_groups() {
        let cleared = change(
            SET_SECURITY_GROUPS,
            json!({"loadBalancerArn": NLB, "securityGroups": []}),
            json!({"securityGroupIds": []}),
        );
        let (broken, unknown) = run(judge, &cleared, &ElbFacts::default());
        assert!(broken.is_empty());
        assert_eq!(
            unknown,
            ["the scheme of net/edge/7a1b2c3d4e5f6a7b (internet-facing or internal) is not in the record"]
        );
        let facing = ElbFacts {
            scheme: Some(Scheme::InternetFacing),
            ..ElbFacts::default()
        };
        assert_eq!(
            run(judge, &cleared, &facing).0,
            ["network load balancer net/edge/7a1b2c3d4e5f6a7b: internet-facing (read from the load balancer) with no security groups: every client reaches every listener"]
        );
        let alb = change(
            SET_SECURITY_GROUPS,
            json!({"loadBalancerArn": LB, "securityGroups": []}),
            json!(null),
        );
        assert_eq!(run(judge, &alb, &facing), (vec![], vec![]));
    }
}
