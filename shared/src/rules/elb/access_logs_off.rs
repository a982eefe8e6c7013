use super::{hits, judge_attribute, not_true, ElbContext, Verdict};
use crate::finding::{Action, Severity};
use crate::model::elb::{ElbChange, LbType, ACCESS_LOGS};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an Application Load Balancer whose `access_logs.s3.enabled` is
    /// not `true`: at `CreateLoadBalancer` (AWS's default, `false`, and the
    /// finding says so) and at `ModifyLoadBalancerAttributes` (the value the
    /// response lists, else the request's; when neither carries it the
    /// Lambda reads it, offline the verdict says it could not tell). Network
    /// Load Balancers log only their TLS listeners' requests and Gateway Load
    /// Balancers none: like Security Hub ELB.5, the rule judges Application
    /// Load Balancers.
    ///
    /// ## Why is this bad?
    /// Without access logs there is no record of who called what through the
    /// load balancer: an intrusion through it leaves nothing to look back on.
    ///
    /// ## Example
    /// `{"key": "access_logs.s3.enabled", "value": "false"}`
    ///
    /// ## Fix
    /// `aws elbv2 modify-load-balancer-attributes --load-balancer-arn … --attributes Key=access_logs.s3.enabled,Value=true Key=access_logs.s3.bucket,Value=…`
    ///
    /// ## References
    /// Security Hub ELB.5 (AWS Config `elb-logging-enabled`).
    pub static ACCESS_LOGS_OFF = {
        id: "ELB-006",
        title: "Access logs off",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["SH ELB.5"],
        remediation: "Turn access logs on (access_logs.s3.enabled true, with a bucket the load balancer may write to).",
        check: crate::rules::Check::LoadBalancer(evaluate),
    }
}

/// Pure check over the change and the facts.
pub fn evaluate(change: &ElbChange, ctx: &ElbContext) -> Vec<Hit> {
    hits(judge(change, ctx))
}

/// The verdicts, unknowns included.
pub fn judge(change: &ElbChange, ctx: &ElbContext) -> Vec<Verdict> {
    judge_attribute(change, ctx, ACCESS_LOGS, &[LbType::Application], not_true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::{CREATE_LOAD_BALANCER, MODIFY_LOAD_BALANCER_ATTRIBUTES};
    use crate::rules::elb::test_support::{change, run, LB, NLB};
    use crate::rules::elb::ElbFacts;
    use serde_json::json;

    #[test]
    fn flags_what_it_should() {
        let facts = ElbFacts::default();
        let set = |lb: &str, value: &str| {
            change(
                MODIFY_LOAD_BALANCER_ATTRIBUTES,
                json!({"loadBalancerArn": lb, "attributes": [{"key": ACCESS_LOGS, "value": value}]}),
                json!(null),
            )
        };
        assert_eq!(
            run(judge, &set(LB, "false"), &facts).0,
            ["app/web/50dc6c495c0c9188: access_logs.s3.enabled = false"]
        );
        assert_eq!(run(judge, &set(LB, "true"), &facts), (vec![], vec![]));
        assert_eq!(run(judge, &set(NLB, "false"), &facts), (vec![], vec![]));
        let created = change(
            CREATE_LOAD_BALANCER,
            json!({"name": "web", "subnets": ["subnet-1"]}),
            json!(null),
        );
        assert_eq!(run(judge, &created, &facts).0.len(), 1);
        let nlb = change(
            CREATE_LOAD_BALANCER,
            json!({"name": "edge", "type": "network", "subnets": ["subnet-1"]}),
            json!(null),
        );
        assert_eq!(run(judge, &nlb, &facts), (vec![], vec![]));
    }
}
