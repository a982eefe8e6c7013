use super::{hits, judge_attribute, not_true, ElbContext, Verdict};
use crate::finding::{Action, Severity};
use crate::model::elb::{ElbChange, LbType, DELETION_PROTECTION};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an Application, Network or Gateway Load Balancer whose
    /// `deletion_protection.enabled` is not `true`: at `CreateLoadBalancer`
    /// (AWS's default, `false`, and the finding says so) and at
    /// `ModifyLoadBalancerAttributes` (the value the response lists, else the
    /// request's; when neither carries it the Lambda reads it, offline the
    /// verdict says it could not tell).
    ///
    /// ## Why is this bad?
    /// One mistaken or malicious `DeleteLoadBalancer` takes the service off
    /// the internet, and its DNS name and static addresses with it.
    ///
    /// ## Example
    /// `{"key": "deletion_protection.enabled", "value": "false"}`
    ///
    /// ## Fix
    /// `aws elbv2 modify-load-balancer-attributes --load-balancer-arn … --attributes Key=deletion_protection.enabled,Value=true`
    ///
    /// ## References
    /// Security Hub ELB.6 (AWS Config `elb-deletion-protection-enabled`).
    pub static DELETION_PROTECTION_OFF = {
        id: "ELB-007",
        title: "Deletion protection off",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["SH ELB.6"],
        remediation: "Set deletion_protection.enabled to true on the load balancer.",
        check: crate::rules::Check::LoadBalancer(evaluate),
    }
}

/// Pure check over the change and the facts.
pub fn evaluate(change: &ElbChange, ctx: &ElbContext) -> Vec<Hit> {
    hits(judge(change, ctx))
}

/// The verdicts, unknowns included.
pub fn judge(change: &ElbChange, ctx: &ElbContext) -> Vec<Verdict> {
    judge_attribute(
        change,
        ctx,
        DELETION_PROTECTION,
        &[LbType::Application, LbType::Network, LbType::Gateway],
        not_true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::{CREATE_LOAD_BALANCER, MODIFY_LOAD_BALANCER_ATTRIBUTES};
    use crate::rules::elb::test_support::{change, run, NLB};
    use crate::rules::elb::ElbFacts;
    use serde_json::json;

    #[test]
    fn flags_what_it_should_on_every_kind() {
        let facts = ElbFacts::default();
        let set = |value: &str| {
            change(
                MODIFY_LOAD_BALANCER_ATTRIBUTES,
                json!({"loadBalancerArn": NLB, "attributes": [{"key": DELETION_PROTECTION, "value": value}]}),
                json!(null),
            )
        };
        assert_eq!(
            run(judge, &set("false"), &facts).0,
            ["net/edge/7a1b2c3d4e5f6a7b: deletion_protection.enabled = false"]
        );
        assert_eq!(run(judge, &set("true"), &facts), (vec![], vec![]));
        let gateway = change(
            CREATE_LOAD_BALANCER,
            json!({"name": "inspect", "type": "gateway", "subnets": ["subnet-1"]}),
            json!(null),
        );
        assert_eq!(
            run(judge, &gateway, &facts).0,
            ["inspect: deletion_protection.enabled = false (AWS default: CreateLoadBalancer sets no attributes)"]
        );
    }
}
