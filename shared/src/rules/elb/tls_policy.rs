use super::{hits, ElbContext, Verdict};
use crate::finding::{Action, Severity};
use crate::model::elb::ElbChange;
use crate::rules::ecs_td::Hit;

/// The security policies Security Hub ELB.17 accepts (its `sslPolicies`
/// parameter, not customizable), as the Security Hub user guide lists them
/// since the post-quantum policies of 2025-09. The earlier list also held
/// `ELBSecurityPolicy-TLS13-1-2-2021-06` and
/// `ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04`, which ELB.17 no longer accepts.
pub const RECOMMENDED_TLS_POLICIES: [&str; 8] = [
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
];

crate::rule! {
    /// ## What it does
    /// Flags an HTTPS or TLS listener whose security policy (`sslPolicy`) is
    /// not one of Security Hub ELB.17's recommended policies
    /// ([`RECOMMENDED_TLS_POLICIES`]): at `CreateListener` (a listener
    /// created without a policy gets the API's default,
    /// `ELBSecurityPolicy-2016-08`, and the finding says so) and at a
    /// `ModifyListener` that sets the policy or the protocol. Internal load
    /// balancers are judged too: the policy is about the clients, wherever
    /// they are.
    ///
    /// ## Why is this bad?
    /// Older policies accept TLS 1.0/1.1 and CBC or non-forward-secret
    /// ciphers: a client can be talked down to a protocol with known attacks.
    ///
    /// ## Example
    /// `CreateListener {"protocol": "HTTPS", "port": 443, "certificates": […]}` with no `sslPolicy`.
    ///
    /// ## Fix
    /// `aws elbv2 modify-listener --listener-arn … --ssl-policy ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09`
    ///
    /// ## References
    /// Security Hub ELB.17 (AWS Config `elbv2-predefined-security-policy-ssl-check`,
    /// parameter `sslPolicies`); Elastic Load Balancing user guides, "Security policies".
    pub static TLS_POLICY = {
        id: "ELB-003",
        title: "TLS policy outside the recommended list",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH ELB.17"],
        remediation: "Set the listener's sslPolicy to one of Security Hub ELB.17's recommended policies (e.g. ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09).",
        check: crate::rules::Check::LoadBalancer(evaluate),
    }
}

/// Pure check over the change.
pub fn evaluate(change: &ElbChange, ctx: &ElbContext) -> Vec<Hit> {
    hits(judge(change, ctx))
}

/// The verdicts, unknowns included.
pub fn judge(change: &ElbChange, _ctx: &ElbContext) -> Vec<Verdict> {
    let ElbChange::Listener { listener, .. } = change else {
        return Vec::new();
    };
    let encrypted = listener
        .protocol
        .as_deref()
        .map(|p| p.eq_ignore_ascii_case("HTTPS") || p.eq_ignore_ascii_case("TLS"));
    let policy = match (&listener.ssl_policy, encrypted) {
        (_, Some(false)) => return Vec::new(),
        (Some(policy), _) => policy,
        // The call makes it HTTPS/TLS and the record does not say the policy.
        (None, Some(true)) => {
            return vec![Verdict::Unknown(format!(
                "the security policy of {} is not in the record",
                listener.label()
            ))]
        }
        // Neither protocol nor policy set: nothing judged here changed.
        (None, None) => return Vec::new(),
    };
    if RECOMMENDED_TLS_POLICIES
        .iter()
        .any(|p| p.eq_ignore_ascii_case(policy))
    {
        return Vec::new();
    }
    let how = if listener.ssl_policy_defaulted {
        " (the API's default: the request names no policy)"
    } else {
        ""
    };
    vec![Verdict::Broken(format!(
        "{}: sslPolicy {policy}{how} is not one of Security Hub ELB.17's recommended policies",
        listener.label()
    ))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::{CREATE_LISTENER, MODIFY_LISTENER};
    use crate::rules::elb::test_support::{change, run, LB, LISTENER, NLB};
    use crate::rules::elb::ElbFacts;
    use serde_json::json;

    fn create(lb: &str, protocol: &str, policy: Option<&str>) -> ElbChange {
        let mut request = json!({"loadBalancerArn": lb, "protocol": protocol, "port": 443,
            "certificates": [{"certificateArn": "arn:aws:acm:eu-west-1:1:certificate/c"}],
            "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]});
        if let Some(p) = policy {
            request["sslPolicy"] = json!(p);
        }
        change(CREATE_LISTENER, request, json!(null))
    }

    #[test]
    fn flags_policies_outside_the_list_and_the_default() {
        let facts = ElbFacts::default();
        assert_eq!(
            run(judge, &create(LB, "HTTPS", None), &facts).0,
            ["HTTPS:443 on app/web/50dc6c495c0c9188: sslPolicy ELBSecurityPolicy-2016-08 (the API's default: the request names no policy) is not one of Security Hub ELB.17's recommended policies"]
        );
        assert_eq!(
            run(
                judge,
                &create(NLB, "TLS", Some("ELBSecurityPolicy-TLS-1-0-2015-04")),
                &facts
            )
            .0
            .len(),
            1
        );
        // No longer on ELB.17's list.
        assert_eq!(
            run(
                judge,
                &create(LB, "HTTPS", Some("ELBSecurityPolicy-TLS13-1-2-2021-06")),
                &facts
            )
            .0
            .len(),
            1
        );
        for policy in RECOMMENDED_TLS_POLICIES {
            assert_eq!(
                run(judge, &create(LB, "HTTPS", Some(policy)), &facts),
                (vec![], vec![]),
                "{policy}"
            );
        }
    }

    #[test]
    fn modifications_judge_what_they_set() {
        let facts = ElbFacts::default();
        let policy_only = change(
            MODIFY_LISTENER,
            json!({"listenerArn": LISTENER, "sslPolicy": "ELBSecurityPolicy-FS-1-1-2019-08"}),
            json!(null),
        );
        assert_eq!(run(judge, &policy_only, &facts).0.len(), 1);
        let to_http = change(
            MODIFY_LISTENER,
            json!({"listenerArn": LISTENER, "protocol": "HTTP"}),
            json!(null),
        );
        assert_eq!(run(judge, &to_http, &facts), (vec![], vec![]));
        let to_https = change(
            MODIFY_LISTENER,
            json!({"listenerArn": LISTENER, "protocol": "HTTPS"}),
            json!(null),
        );
        assert_eq!(run(judge, &to_https, &facts).1.len(), 1);
    }
}
