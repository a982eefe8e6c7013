use super::{hits, lb_label, ElbContext, OpenIngress, Verdict};
use crate::finding::{Action, Severity};
use crate::model::elb::ElbChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a load balancer whose security groups admit the internet on
    /// ports (or protocols) that none of its listeners serves: judged when
    /// `SetSecurityGroups` gives it groups and when `ModifyListener` moves a
    /// listener to another port or protocol (the request sets either). A listener serves TCP (HTTP,
    /// HTTPS, TCP, TLS), UDP (UDP, QUIC) or both (TCP_UDP, TCP_QUIC) on its
    /// port; ICMP is not judged. The groups' rules and the listeners are
    /// read by the Lambda (the rules that admit the internet as the EC2-SG
    /// rules judge them); offline the verdict says it could not tell. At
    /// `CreateLoadBalancer` there are no listeners yet: not judged there.
    ///
    /// ## Why is this bad?
    /// A port open on the load balancer's group with no listener behind it
    /// serves nothing today, and whatever listener is added on it tomorrow
    /// is public at once, unreviewed. Groups shared with other resources
    /// open those too.
    ///
    /// ## Example
    /// An ALB with one HTTPS listener on 443 whose group admits tcp 0-65535 from 0.0.0.0/0.
    ///
    /// ## Fix
    /// Narrow the group's ingress to the listeners' protocols and ports, and
    /// give the load balancer a group of its own.
    ///
    /// ## References
    /// Beyond the peers: they judge groups and listeners separately.
    pub static UNSERVED_OPEN_PORTS = {
        id: "ELB-010",
        title: "Load balancer group open to the internet on ports no listener serves",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["beyond"],
        remediation: "Narrow the load balancer's security group to its listeners' protocols and ports.",
        check: crate::rules::Check::LoadBalancer(evaluate),
    }
}

/// Pure check over the change and the facts.
pub fn evaluate(change: &ElbChange, ctx: &ElbContext) -> Vec<Hit> {
    hits(judge(change, ctx))
}

/// The transports a listener protocol serves: (tcp, udp).
fn transports(protocol: &str) -> (bool, bool) {
    match protocol.to_ascii_uppercase().as_str() {
        "UDP" | "QUIC" => (false, true),
        "TCP_UDP" | "TCP_QUIC" => (true, true),
        // HTTP, HTTPS, TCP, TLS; GENEVE (a gateway's) is UDP 6081 but a
        // gateway has no security groups.
        _ => (true, false),
    }
}

/// What of `rule` no listener serves, or `None` when the listeners cover it.
fn unserved(rule: &OpenIngress, listeners: &[(String, i64)]) -> Option<String> {
    let udp = match rule.protocol.to_ascii_lowercase().as_str() {
        "tcp" | "6" => false,
        "udp" | "17" => true,
        "icmp" | "1" | "icmpv6" | "58" => return None,
        // All traffic, or a protocol no listener speaks.
        _ => {
            return Some(format!(
                "{}: protocol {} from {}: no listener serves every protocol",
                rule.group, rule.protocol, rule.source
            ))
        }
    };
    let (from, to) = (rule.from_port.max(0), rule.to_port.min(65535));
    let mut served: Vec<i64> = listeners
        .iter()
        .filter(|(protocol, port)| {
            let (t, u) = transports(protocol);
            (if udp { u } else { t }) && (from..=to).contains(port)
        })
        .map(|(_, port)| *port)
        .collect();
    served.sort_unstable();
    served.dedup();
    if served.len() as i64 > to - from {
        return None;
    }
    let proto = if udp { "udp" } else { "tcp" };
    let ports = if from == to {
        from.to_string()
    } else {
        format!("{from}-{to}")
    };
    let by = if served.is_empty() {
        "no listener serves it".to_string()
    } else {
        format!(
            "listeners serve {proto} {} only",
            served
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Some(format!(
        "{}: {proto} {ports} from {}: {by}",
        rule.group, rule.source
    ))
}

/// The verdicts, unknowns included.
pub fn judge(change: &ElbChange, ctx: &ElbContext) -> Vec<Verdict> {
    match change {
        ElbChange::SecurityGroups { groups, .. } if !groups.is_empty() => {}
        ElbChange::Listener {
            created: false,
            listener,
        } if listener.moves => {}
        _ => return Vec::new(),
    }
    let lb = lb_label(change);
    let (Some(listeners), Some(open)) = (&ctx.facts.listeners, &ctx.facts.open_ingress) else {
        return vec![Verdict::Unknown(format!(
            "the listeners of {lb} and its groups' rules are not in the record"
        ))];
    };
    open.iter()
        .filter_map(|rule| unserved(rule, listeners))
        .map(|gap| Verdict::Broken(format!("{lb}: {gap}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::{CREATE_LOAD_BALANCER, SET_SECURITY_GROUPS};
    use crate::rules::elb::test_support::{change, run, LB};
    use crate::rules::elb::ElbFacts;
    use serde_json::json;

    fn open(protocol: &str, from: i64, to: i64) -> OpenIngress {
        OpenIngress {
            group: "sg-0a1".into(),
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            source: "0.0.0.0/0".into(),
        }
    }

    fn facts(listeners: &[(&str, i64)], rules: Vec<OpenIngress>) -> ElbFacts {
        ElbFacts {
            listeners: Some(listeners.iter().map(|(p, n)| (p.to_string(), *n)).collect()),
            open_ingress: Some(rules),
            ..ElbFacts::default()
        }
    }

    #[test]
    fn flags_open_ports_no_listener_serves() {
        let set = change(
            SET_SECURITY_GROUPS,
            json!({"loadBalancerArn": LB, "securityGroups": ["sg-0a1"]}),
            json!(null),
        );
        let https = [("HTTPS", 443)];
        assert_eq!(
            run(judge, &set, &facts(&https, vec![open("tcp", 0, 65535)])).0,
            ["app/web/50dc6c495c0c9188: sg-0a1: tcp 0-65535 from 0.0.0.0/0: listeners serve tcp 443 only"]
        );
        assert_eq!(
            run(judge, &set, &facts(&https, vec![open("tcp", 8080, 8080)])).0,
            ["app/web/50dc6c495c0c9188: sg-0a1: tcp 8080 from 0.0.0.0/0: no listener serves it"]
        );
        assert_eq!(
            run(judge, &set, &facts(&https, vec![open("-1", -1, -1)]))
                .0
                .len(),
            1
        );
        // A TCP listener does not serve UDP.
        assert_eq!(
            run(judge, &set, &facts(&https, vec![open("udp", 443, 443)]))
                .0
                .len(),
            1
        );
        // Covered: nothing.
        for (listeners, rule) in [
            (&[("HTTPS", 443), ("HTTP", 80)][..], open("tcp", 80, 80)),
            (&[("HTTPS", 443), ("HTTP", 80)][..], open("tcp", 443, 443)),
            (&[("TCP_UDP", 53)][..], open("udp", 53, 53)),
            (&[("HTTPS", 443)][..], open("icmp", -1, -1)),
        ] {
            assert_eq!(
                run(judge, &set, &facts(listeners, vec![rule.clone()])),
                (vec![], vec![]),
                "{rule:?}"
            );
        }
    }

    #[test]
    fn unknown_without_the_facts_and_not_judged_at_creation() {
        let set = change(
            SET_SECURITY_GROUPS,
            json!({"loadBalancerArn": LB, "securityGroups": ["sg-0a1"]}),
            json!(null),
        );
        assert_eq!(
            run(judge, &set, &ElbFacts::default()).1,
            ["the listeners of app/web/50dc6c495c0c9188 and its groups' rules are not in the record"]
        );
        let created = change(
            CREATE_LOAD_BALANCER,
            json!({"name": "web", "securityGroups": ["sg-0a1"]}),
            json!(null),
        );
        assert_eq!(run(judge, &created, &ElbFacts::default()), (vec![], vec![]));
    }
}
