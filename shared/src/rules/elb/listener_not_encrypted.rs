use super::{hits, unknown_scheme, unknown_type, ElbContext, Verdict};
use crate::finding::{Action, Severity};
use crate::model::elb::{is_encrypted_protocol, ElbChange, LbType, Scheme};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a listener of an internet-facing Network Load Balancer that is
    /// not TLS (or QUIC): `TCP`, `UDP`, `TCP_UDP`, at `CreateListener` and at
    /// a `ModifyListener` that sets the protocol. An Application Load
    /// Balancer's listeners are HTTP or HTTPS, and an HTTP one is ELB-001's
    /// (which also says whether it redirects): this rule does not report it
    /// twice. Gateway Load Balancers are never internet-facing. The scheme
    /// is read by the Lambda; offline the verdict says it could not tell.
    ///
    /// ## Why is this bad?
    /// The internet's traffic to the listener travels in clear to the load
    /// balancer and on to the targets, unless every service behind it does
    /// its own TLS, which nothing here can see.
    ///
    /// ## Example
    /// `CreateListener {"loadBalancerArn": "…:loadbalancer/net/edge/…", "protocol": "TCP", "port": 5432}`
    /// on an internet-facing load balancer.
    ///
    /// ## Fix
    /// Make the listener TLS with a certificate and a recommended policy, or
    /// make the load balancer internal.
    ///
    /// ## References
    /// Security Hub ELB.18 (AWS Config `elbv2-listener-encryption-in-transit`).
    pub static LISTENER_NOT_ENCRYPTED = {
        id: "ELB-002",
        title: "Listener not HTTPS/TLS on an internet-facing load balancer",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH ELB.18"],
        remediation: "Use a TLS listener (HTTPS on an ALB) with a certificate, or make the load balancer internal.",
        check: crate::rules::Check::LoadBalancer(evaluate),
    }
}

/// Pure check over the change and the facts.
pub fn evaluate(change: &ElbChange, ctx: &ElbContext) -> Vec<Hit> {
    hits(judge(change, ctx))
}

/// The verdicts, unknowns included.
pub fn judge(change: &ElbChange, ctx: &ElbContext) -> Vec<Verdict> {
    let ElbChange::Listener { listener, .. } = change else {
        return Vec::new();
    };
    // Only what the call sets: a modification that leaves the protocol is not judged here.
    let Some(protocol) = listener.protocol.as_deref() else {
        return Vec::new();
    };
    if is_encrypted_protocol(protocol) || protocol.eq_ignore_ascii_case("HTTP") {
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
        "{}: {protocol}, not TLS, on an internet-facing load balancer",
        listener.label()
    ))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::{CREATE_LISTENER, MODIFY_LISTENER};
    use crate::rules::elb::test_support::{change, run, LB, NLB};
    use crate::rules::elb::ElbFacts;
    use serde_json::json;

    fn listener(lb: &str, protocol: &str, port: i64) -> ElbChange {
        change(
            CREATE_LISTENER,
            json!({"loadBalancerArn": lb, "protocol": protocol, "port": port,
                "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]}),
            json!(null),
        )
    }

    #[test]
    fn flags_clear_listeners_of_internet_facing_network_load_balancers() {
        let facing = ElbFacts {
            scheme: Some(Scheme::InternetFacing),
            ..ElbFacts::default()
        };
        assert_eq!(
            run(judge, &listener(NLB, "TCP", 5432), &facing).0,
            ["TCP:5432 on net/edge/7a1b2c3d4e5f6a7b: TCP, not TLS, on an internet-facing load balancer"]
        );
        assert_eq!(run(judge, &listener(NLB, "UDP", 53), &facing).0.len(), 1);
        for (lb, protocol) in [(NLB, "TLS"), (NLB, "QUIC"), (LB, "HTTP"), (LB, "HTTPS")] {
            assert_eq!(
                run(judge, &listener(lb, protocol, 443), &facing),
                (vec![], vec![]),
                "{protocol}"
            );
        }
        let internal = ElbFacts {
            scheme: Some(Scheme::Internal),
            ..ElbFacts::default()
        };
        assert_eq!(
            run(judge, &listener(NLB, "TCP", 5432), &internal),
            (vec![], vec![])
        );
    }

    #[test]
    fn unknown_scheme_is_said_and_unset_protocols_not_judged() {
        let (broken, unknown) = run(judge, &listener(NLB, "TCP", 80), &ElbFacts::default());
        assert!(broken.is_empty());
        assert_eq!(
            unknown,
            ["the scheme of net/edge/7a1b2c3d4e5f6a7b (internet-facing or internal) is not in the record"]
        );
        let port_only = change(
            MODIFY_LISTENER,
            json!({"listenerArn": format!("{}/1", NLB.replace("loadbalancer/", "listener/")), "port": 81}),
            json!(null),
        );
        assert_eq!(
            run(judge, &port_only, &ElbFacts::default()),
            (vec![], vec![])
        );
    }
}
