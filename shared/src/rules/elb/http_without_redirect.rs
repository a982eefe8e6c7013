use super::{hits, lb_label, unknown_scheme, unknown_type, ElbContext, Verdict};
use crate::finding::{Action, Severity};
use crate::model::elb::{only_redirects_to_https, ElbChange, LbType, Scheme};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags an HTTP listener of an internet-facing Application Load
    /// Balancer whose default action does anything but redirect to HTTPS
    /// (forward, fixed-response, a redirect that keeps `#{protocol}`), at
    /// `CreateListener` and at a `ModifyListener` that changes the protocol
    /// or the default actions; and a listener rule (`CreateRule`,
    /// `ModifyRule`) on such a listener whose actions serve instead of
    /// redirecting. The listener's record names the load balancer only by
    /// ARN: its scheme is read by the Lambda; offline the verdict says it
    /// could not tell.
    ///
    /// ## Why is this bad?
    /// Whatever the load balancer serves over HTTP crosses the internet in
    /// clear: session cookies, tokens, forms. A redirect sends clients to
    /// HTTPS before anything is served.
    ///
    /// ## Example
    /// `CreateListener {"protocol": "HTTP", "port": 80, "defaultActions": [{"type": "forward", "targetGroupArn": "…"}]}`
    /// on `loadbalancer/app/web/…`, internet-facing.
    ///
    /// ## Fix
    /// Make the HTTP listener's default action
    /// `{"type": "redirect", "redirectConfig": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}`
    /// and serve from an HTTPS listener.
    ///
    /// ## References
    /// Security Hub ELB.1 (AWS Config `alb-http-to-https-redirection-check`).
    pub static HTTP_WITHOUT_REDIRECT = {
        id: "ELB-001",
        title: "HTTP listener on an internet-facing ALB without redirect to HTTPS",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH ELB.1"],
        remediation: "Make the HTTP listener redirect to HTTPS (redirectConfig protocol HTTPS, HTTP_301) and serve from an HTTPS listener.",
        check: crate::rules::Check::LoadBalancer(evaluate),
    }
}

/// Pure check over the change and the facts.
pub fn evaluate(change: &ElbChange, ctx: &ElbContext) -> Vec<Hit> {
    hits(judge(change, ctx))
}

/// The verdicts, unknowns included.
pub fn judge(change: &ElbChange, ctx: &ElbContext) -> Vec<Verdict> {
    let (what, protocol, actions) = match change {
        ElbChange::Listener { listener, .. } => {
            // A modification of neither protocol nor actions changes nothing judged here.
            if listener.protocol.is_none() && listener.default_actions.is_none() {
                return Vec::new();
            }
            (
                format!("{}: default action", listener.label()),
                listener
                    .protocol
                    .clone()
                    .or_else(|| ctx.facts.listener_protocol.clone()),
                listener
                    .default_actions
                    .as_ref()
                    .or(ctx.facts.default_actions.as_ref()),
            )
        }
        ElbChange::Rule { rule, .. } => {
            let Some(actions) = &rule.actions else {
                return Vec::new();
            };
            (
                format!("listener rule {} on an HTTP listener:", rule.label()),
                ctx.facts.listener_protocol.clone(),
                Some(actions),
            )
        }
        _ => return Vec::new(),
    };
    let mut missing = Vec::new();
    match ctx.lb_type(change) {
        Some(LbType::Application) => {}
        Some(_) => return Vec::new(),
        None => missing.push(unknown_type(change)),
    }
    match protocol.as_deref() {
        Some(p) if !p.eq_ignore_ascii_case("HTTP") => return Vec::new(),
        Some(_) => {}
        None => missing.push(format!(
            "the protocol of the listener on {} is not in the record",
            lb_label(change)
        )),
    }
    match actions {
        Some(actions) if only_redirects_to_https(actions) => return Vec::new(),
        Some(_) => {}
        None => missing.push(format!(
            "the default actions of the listener on {} are not in the record",
            lb_label(change)
        )),
    }
    match ctx.scheme(change) {
        Some(Scheme::Internal) => return Vec::new(),
        Some(Scheme::InternetFacing) => {}
        None => missing.push(unknown_scheme(change)),
    }
    if !missing.is_empty() {
        return vec![Verdict::Unknown(missing.join(", "))];
    }
    let served: Vec<String> = actions
        .into_iter()
        .flatten()
        .filter(|a| a.is_terminal())
        .map(|a| a.describe())
        .collect();
    let served = if served.is_empty() {
        "none that ends a request".to_string()
    } else {
        served.join(", ")
    };
    vec![Verdict::Broken(format!(
        "{what} {served}, not a redirect to HTTPS, on an internet-facing load balancer"
    ))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::{CREATE_LISTENER, CREATE_RULE, MODIFY_LISTENER};
    use crate::rules::elb::test_support::{change, run, LB, LISTENER, NLB};
    use crate::rules::elb::ElbFacts;
    use serde_json::json;

    fn facing() -> ElbFacts {
        ElbFacts {
            scheme: Some(Scheme::InternetFacing),
            ..ElbFacts::default()
        }
    }

    fn http(lb: &str, actions: serde_json::Value) -> ElbChange {
        change(
            CREATE_LISTENER,
            json!({"loadBalancerArn": lb, "protocol": "HTTP", "port": 80, "defaultActions": actions}),
            json!(null),
        )
    }

    #[test]
    fn flags_an_http_listener_that_serves() {
        let forward = json!([{"type": "forward", "targetGroupArn": "arn:tg"}]);
        assert_eq!(
            run(judge, &http(LB, forward.clone()), &facing()),
            (
                vec!["HTTP:80 on app/web/50dc6c495c0c9188: default action forward, not a redirect to HTTPS, on an internet-facing load balancer".to_string()],
                vec![]
            )
        );
        // A redirect that keeps the protocol, or one among forwards, does not count.
        for actions in [
            json!([{"type": "redirect", "redirectConfig": {"protocol": "#{protocol}", "statusCode": "HTTP_301"}}]),
            json!([{"type": "fixed-response", "fixedResponseConfig": {"statusCode": "200"}}]),
        ] {
            assert_eq!(
                run(judge, &http(LB, actions.clone()), &facing()).0.len(),
                1,
                "{actions}"
            );
        }
    }

    #[test]
    fn passes_redirects_https_internal_and_network() {
        let redirect = json!([{"type": "redirect", "redirectConfig": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]);
        assert_eq!(run(judge, &http(LB, redirect), &facing()), (vec![], vec![]));
        let forward = json!([{"type": "forward", "targetGroupArn": "arn:tg"}]);
        let internal = ElbFacts {
            scheme: Some(Scheme::Internal),
            ..ElbFacts::default()
        };
        assert_eq!(
            run(judge, &http(LB, forward.clone()), &internal),
            (vec![], vec![])
        );
        let https = change(
            CREATE_LISTENER,
            json!({"loadBalancerArn": LB, "protocol": "HTTPS", "port": 443, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
                "defaultActions": forward.clone()}),
            json!(null),
        );
        assert_eq!(run(judge, &https, &facing()), (vec![], vec![]));
        let tcp = change(
            CREATE_LISTENER,
            json!({"loadBalancerArn": NLB, "protocol": "TCP", "port": 80, "defaultActions": forward}),
            json!(null),
        );
        assert_eq!(run(judge, &tcp, &facing()), (vec![], vec![]));
    }

    #[test]
    fn unknown_scheme_is_said_never_passed() {
        let forward = json!([{"type": "forward", "targetGroupArn": "arn:tg"}]);
        let (broken, unknown) = run(judge, &http(LB, forward), &ElbFacts::default());
        assert!(broken.is_empty());
        assert_eq!(
            unknown,
            ["the scheme of app/web/50dc6c495c0c9188 (internet-facing or internal) is not in the record"]
        );
        // A modification that changes the actions of a listener whose protocol it does not say.
        let modify = change(
            MODIFY_LISTENER,
            json!({"listenerArn": LISTENER, "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]}),
            json!(null),
        );
        let (_, unknown) = run(judge, &modify, &facing());
        assert_eq!(
            unknown,
            ["the protocol of the listener on app/web/50dc6c495c0c9188 is not in the record"]
        );
        let read = ElbFacts {
            listener_protocol: Some("HTTP".into()),
            ..facing()
        };
        assert_eq!(run(judge, &modify, &read).0.len(), 1);
    }

    #[test]
    fn listener_rules_that_serve_on_an_http_listener() {
        let rule = change(
            CREATE_RULE,
            json!({"listenerArn": LISTENER, "priority": 10,
                "conditions": [{"field": "path-pattern", "pathPatternConfig": {"values": ["/admin/*"]}}],
                "actions": [{"type": "forward", "targetGroupArn": "arn:tg"}]}),
            json!(null),
        );
        let (_, unknown) = run(judge, &rule, &facing());
        assert_eq!(
            unknown,
            ["the protocol of the listener on app/web/50dc6c495c0c9188 is not in the record"]
        );
        let http_listener = ElbFacts {
            listener_protocol: Some("HTTP".into()),
            ..facing()
        };
        assert_eq!(
            run(judge, &rule, &http_listener).0,
            ["listener rule app/web/50dc6c495c0c9188/f2f7dc8efc522ab2 on an HTTP listener: forward, not a redirect to HTTPS, on an internet-facing load balancer"]
        );
    }
}
