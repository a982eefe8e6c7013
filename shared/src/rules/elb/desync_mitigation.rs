use super::{hits, judge_attribute, ElbContext, Verdict};
use crate::finding::{Action, Severity};
use crate::model::elb::{ElbChange, LbType, DESYNC_MITIGATION_MODE};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an Application Load Balancer whose
    /// `routing.http.desync_mitigation_mode` is neither `defensive` nor
    /// `strictest` (that is `monitor`, or a value AWS does not document):
    /// at `ModifyLoadBalancerAttributes`, the value the response lists, else
    /// the request's. A new load balancer has AWS's default, `defensive`.
    /// When the record does not carry it the Lambda reads it; offline the
    /// verdict says it could not tell.
    ///
    /// ## Why is this bad?
    /// In `monitor` mode the load balancer forwards requests with ambiguous
    /// framing (conflicting `Content-Length` and `Transfer-Encoding`), the
    /// raw material of HTTP desync (request smuggling) attacks on the targets.
    ///
    /// ## Example
    /// `{"key": "routing.http.desync_mitigation_mode", "value": "monitor"}`
    ///
    /// ## Fix
    /// `aws elbv2 modify-load-balancer-attributes --load-balancer-arn … --attributes Key=routing.http.desync_mitigation_mode,Value=defensive`
    ///
    /// ## References
    /// Security Hub ELB.12 (AWS Config `alb-desync-mode-check`).
    pub static DESYNC_MITIGATION = {
        id: "ELB-005",
        title: "Desync mitigation not defensive or strictest (ALB)",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["SH ELB.12"],
        remediation: "Set routing.http.desync_mitigation_mode to defensive or strictest.",
        check: crate::rules::Check::LoadBalancer(evaluate),
    }
}

/// Pure check over the change and the facts.
pub fn evaluate(change: &ElbChange, ctx: &ElbContext) -> Vec<Hit> {
    hits(judge(change, ctx))
}

/// True unless the mode is `defensive` or `strictest`.
fn weak(mode: &str) -> bool {
    !["defensive", "strictest"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(mode.trim()))
}

/// The verdicts, unknowns included.
pub fn judge(change: &ElbChange, ctx: &ElbContext) -> Vec<Verdict> {
    judge_attribute(
        change,
        ctx,
        DESYNC_MITIGATION_MODE,
        &[LbType::Application],
        weak,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::{CREATE_LOAD_BALANCER, MODIFY_LOAD_BALANCER_ATTRIBUTES};
    use crate::rules::elb::test_support::{change, run, LB};
    use crate::rules::elb::ElbFacts;
    use serde_json::json;

    #[test]
    fn flags_monitor_and_unknown_modes() {
        let facts = ElbFacts::default();
        let set = |mode: &str| {
            change(
                MODIFY_LOAD_BALANCER_ATTRIBUTES,
                json!({"loadBalancerArn": LB, "attributes": [{"key": DESYNC_MITIGATION_MODE, "value": mode}]}),
                json!({"attributes": [{"key": DESYNC_MITIGATION_MODE, "value": mode}]}),
            )
        };
        assert_eq!(
            run(judge, &set("monitor"), &facts).0,
            ["app/web/50dc6c495c0c9188: routing.http.desync_mitigation_mode = monitor"]
        );
        assert_eq!(run(judge, &set("lenient"), &facts).0.len(), 1);
        assert_eq!(run(judge, &set("defensive"), &facts), (vec![], vec![]));
        assert_eq!(run(judge, &set("strictest"), &facts), (vec![], vec![]));
        // A new load balancer starts defensive.
        let created = change(
            CREATE_LOAD_BALANCER,
            json!({"name": "web", "subnets": ["subnet-1"]}),
            json!(null),
        );
        assert_eq!(run(judge, &created, &facts), (vec![], vec![]));
    }
}
