use super::{hits, judge_attribute, not_true, ElbContext, Verdict};
use crate::finding::{Action, Severity};
use crate::model::elb::{ElbChange, LbType, DROP_INVALID_HEADER_FIELDS};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an Application Load Balancer whose
    /// `routing.http.drop_invalid_header_fields.enabled` is not `true`: at
    /// `CreateLoadBalancer` (a new load balancer has AWS's default, `false`,
    /// and the finding says so) and at `ModifyLoadBalancerAttributes` (the
    /// value the response lists, else the request's; when neither carries
    /// it the Lambda reads it, offline the verdict says it could not tell).
    ///
    /// ## Why is this bad?
    /// Header names outside `[A-Za-z0-9-]` reach the targets as sent: a
    /// backend that reads them differently from the load balancer is open to
    /// request smuggling and header injection.
    ///
    /// ## Example
    /// `ModifyLoadBalancerAttributes {"attributes": [{"key": "routing.http.drop_invalid_header_fields.enabled", "value": "false"}]}`
    ///
    /// ## Fix
    /// `aws elbv2 modify-load-balancer-attributes --load-balancer-arn … --attributes Key=routing.http.drop_invalid_header_fields.enabled,Value=true`
    ///
    /// ## References
    /// Security Hub ELB.4 (AWS Config `alb-http-drop-invalid-header-enabled`).
    pub static INVALID_HEADERS_KEPT = {
        id: "ELB-004",
        title: "Invalid header fields not dropped (ALB)",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["SH ELB.4"],
        remediation: "Set routing.http.drop_invalid_header_fields.enabled to true on the load balancer.",
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
        DROP_INVALID_HEADER_FIELDS,
        &[LbType::Application],
        not_true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::{CREATE_LOAD_BALANCER, MODIFY_LOAD_BALANCER_ATTRIBUTES};
    use crate::rules::elb::test_support::{change, run, LB, NLB};
    use crate::rules::elb::ElbFacts;
    use serde_json::json;

    fn set(lb: &str, value: &str) -> ElbChange {
        change(
            MODIFY_LOAD_BALANCER_ATTRIBUTES,
            json!({"loadBalancerArn": lb, "attributes": [{"key": DROP_INVALID_HEADER_FIELDS, "value": value}]}),
            json!(null),
        )
    }

    #[test]
    fn flags_what_it_should() {
        let facts = ElbFacts::default();
        assert_eq!(
            run(judge, &set(LB, "false"), &facts).0,
            ["app/web/50dc6c495c0c9188: routing.http.drop_invalid_header_fields.enabled = false"]
        );
        assert_eq!(run(judge, &set(LB, "true"), &facts), (vec![], vec![]));
        // Not an ALB attribute elsewhere.
        assert_eq!(run(judge, &set(NLB, "false"), &facts), (vec![], vec![]));
        let created = change(
            CREATE_LOAD_BALANCER,
            json!({"name": "web", "subnets": ["subnet-1", "subnet-2"], "securityGroups": ["sg-1"]}),
            json!(null),
        );
        assert_eq!(
            run(judge, &created, &facts).0,
            ["web: routing.http.drop_invalid_header_fields.enabled = false (AWS default: CreateLoadBalancer sets no attributes)"]
        );
    }

    #[test]
    fn unsaid_is_unknown_until_read() {
        let other = change(
            MODIFY_LOAD_BALANCER_ATTRIBUTES,
            json!({"loadBalancerArn": LB, "attributes": [{"key": "idle_timeout.timeout_seconds", "value": "120"}]}),
            json!(null),
        );
        let (broken, unknown) = run(judge, &other, &ElbFacts::default());
        assert!(broken.is_empty());
        assert_eq!(
            unknown,
            ["routing.http.drop_invalid_header_fields.enabled of app/web/50dc6c495c0c9188 is not in the record (the call does not set it)"]
        );
        let read = ElbFacts {
            attributes: Some(
                [(DROP_INVALID_HEADER_FIELDS.to_string(), "false".to_string())]
                    .into_iter()
                    .collect(),
            ),
            ..ElbFacts::default()
        };
        assert_eq!(
            run(judge, &other, &read).0,
            ["app/web/50dc6c495c0c9188: routing.http.drop_invalid_header_fields.enabled = false (read from the load balancer)"]
        );
    }
}
