//! Rules about load balancers (ELB-*), judged at the ELBv2 calls of
//! DESIGN §14: `CreateLoadBalancer`, `SetSecurityGroups`,
//! `Create/ModifyListener`, `Create/ModifyRule`,
//! `ModifyLoadBalancerAttributes`, `Create/ModifyTargetGroup`, `RegisterTargets`.
//!
//! Many records name a load balancer only by ARN: its kind is in the ARN,
//! its scheme is not. What a rule needs and the record does not carry comes
//! from [`ElbFacts`] (the Lambda reads it); a fact not read makes the
//! rule's verdict unknown, which [`needs_aws`] says — never a pass.

pub mod access_logs_off;
pub mod deletion_protection_off;
pub mod desync_mitigation;
pub mod http_without_redirect;
pub mod invalid_headers_kept;
pub mod listener_not_encrypted;
pub mod load_balancer_bypassed;
pub mod nlb_without_security_groups;
pub mod plain_http_target_group;
pub mod tls_policy;
pub mod unserved_open_ports;

use std::collections::BTreeMap;

use crate::finding::Action as RuleAction;
use crate::model::elb::{short_arn, Action, ElbChange, LbType, Said, Scheme};
use crate::policy::Policy;
use crate::rules::Rule;

/// What the Lambda read about the load balancer the record does not carry.
/// Each `None`: not read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElbFacts {
    /// The load balancer's scheme (only `CreateLoadBalancer` carries it).
    pub scheme: Option<Scheme>,
    /// The load balancer's kind, when no ARN in the record says.
    pub lb_type: Option<LbType>,
    /// The listener's protocol: for a listener rule, or a `ModifyListener`
    /// record that does not say.
    pub listener_protocol: Option<String>,
    /// The listener's default actions, when a `ModifyListener` record does
    /// not carry them.
    pub default_actions: Option<Vec<Action>>,
    /// The load balancer's attributes (key → value) the record does not carry.
    pub attributes: Option<BTreeMap<String, String>>,
    /// The load balancer's listeners, `(protocol, port)` (ELB-010).
    pub listeners: Option<Vec<(String, i64)>>,
    /// The ingress rules of the load balancer's groups that admit the
    /// internet (as the EC2-SG rules judge them) (ELB-010).
    pub open_ingress: Option<Vec<OpenIngress>>,
    /// What was read of each registered target's direct reach (ELB-011).
    pub targets: Option<Vec<TargetReach>>,
}

/// A registered target's own way in from the internet, as the Lambda read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetReach {
    /// The target's id as registered (IP address or instance id).
    pub target: String,
    /// Its public address (task ENI public IP, instance public or Elastic
    /// IP), `Ok(None)` when it has none, `Err(why)` when it could not be read.
    pub public_address: Result<Option<String>, String>,
    /// Its groups' rules that admit the internet on the port it serves
    /// (`sg-…: tcp 8080 from 0.0.0.0/0`), `Err(why)` when they could not be read.
    pub open_rules: Result<Vec<String>, String>,
}

/// An ingress rule of a load balancer's group that admits the internet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenIngress {
    pub group: String,
    /// `tcp`, `udp`, `-1` (all), as the rule writes it.
    pub protocol: String,
    pub from_port: i64,
    pub to_port: i64,
    pub source: String,
}

/// What a load-balancer rule sees besides the change.
pub struct ElbContext<'a> {
    pub policy: &'a Policy,
    pub facts: &'a ElbFacts,
}

impl ElbContext<'_> {
    /// The load balancer's scheme: the record's, else the facts'.
    pub fn scheme(&self, change: &ElbChange) -> Option<Scheme> {
        change.scheme().or(self.facts.scheme)
    }

    /// The load balancer's kind: the record's, else the facts'.
    pub fn lb_type(&self, change: &ElbChange) -> Option<LbType> {
        change.lb_type().or(self.facts.lb_type)
    }

    /// An attribute's value after the call and how it is known (the
    /// record, AWS's default at creation, or read); `None` when unknown.
    pub fn attribute(&self, change: &ElbChange, key: &str) -> Option<(String, &'static str)> {
        let attributes = change.attributes()?;
        if let Some((value, said)) = attributes.value(key) {
            let how = match said {
                Said::Record => "",
                Said::AwsDefault => " (AWS default: CreateLoadBalancer sets no attributes)",
            };
            return Some((value.to_string(), how));
        }
        let read = self.facts.attributes.as_ref()?.get(key)?;
        Some((read.clone(), " (read from the load balancer)"))
    }
}

/// A rule's verdict on one part of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Broken, with what broke it.
    Broken(String),
    /// Could not be judged: what is missing.
    Unknown(String),
}

/// The hits of a rule's verdicts (its `evaluate`).
pub fn hits(verdicts: Vec<Verdict>) -> Vec<crate::rules::ecs_td::Hit> {
    verdicts
        .into_iter()
        .filter_map(|v| match v {
            Verdict::Broken(detail) => Some(crate::rules::ecs_td::Hit::new(detail)),
            Verdict::Unknown(_) => None,
        })
        .collect()
}

/// How a message names the scheme and why it is known.
pub fn scheme_said(change: &ElbChange) -> &'static str {
    match change {
        ElbChange::LoadBalancer { load_balancer, .. } if load_balancer.scheme_defaulted => {
            "internet-facing (AWS default: the request names no scheme)"
        }
        ElbChange::LoadBalancer { .. } => "internet-facing",
        _ => "internet-facing (read from the load balancer)",
    }
}

/// How a message names the load balancer of the change.
pub fn lb_label(change: &ElbChange) -> String {
    change
        .load_balancer_arn()
        .map_or_else(|| change.resource(), |a| short_arn(&a).to_string())
}

/// What is missing when the scheme is.
pub fn unknown_scheme(change: &ElbChange) -> String {
    format!(
        "the scheme of {} (internet-facing or internal) is not in the record",
        lb_label(change)
    )
}

/// What is missing when the kind is.
pub fn unknown_type(change: &ElbChange) -> String {
    format!(
        "the kind of load balancer {} (application, network, gateway) is not in the record",
        lb_label(change)
    )
}

/// The verdict of an attribute rule (ELB-004 to ELB-007): on the load
/// balancers of the kinds in `applies`, `key`'s value after the call is
/// broken when `broken` says so. Unknown when the record does not say and
/// the facts do not either.
pub fn judge_attribute(
    change: &ElbChange,
    ctx: &ElbContext,
    key: &str,
    applies: &[LbType],
    broken: fn(&str) -> bool,
) -> Vec<Verdict> {
    if change.attributes().is_none() {
        return Vec::new();
    }
    let mut missing = Vec::new();
    match ctx.lb_type(change) {
        Some(t) if !applies.contains(&t) => return Vec::new(),
        Some(_) => {}
        None => missing.push(unknown_type(change)),
    }
    let value = ctx.attribute(change, key);
    if value.is_none() {
        missing.push(format!(
            "{key} of {} is not in the record (the call does not set it)",
            lb_label(change)
        ));
    }
    match value {
        Some((value, _)) if !broken(&value) => Vec::new(),
        _ if !missing.is_empty() => vec![Verdict::Unknown(missing.join(", "))],
        Some((value, how)) => vec![Verdict::Broken(format!(
            "{}: {key} = {value}{how}",
            lb_label(change)
        ))],
        None => Vec::new(),
    }
}

/// True unless the value is `true`: a boolean attribute left off.
pub fn not_true(value: &str) -> bool {
    !value.trim().eq_ignore_ascii_case("true")
}

/// Judges one rule with the facts it has: what it found broken and what
/// it could not judge.
type Judge = fn(&ElbChange, &ElbContext) -> Vec<Verdict>;

/// Every load-balancer rule and its judge, for [`needs_aws`].
const JUDGES: [(&Rule, Judge); 11] = [
    (
        &http_without_redirect::HTTP_WITHOUT_REDIRECT,
        http_without_redirect::judge,
    ),
    (
        &listener_not_encrypted::LISTENER_NOT_ENCRYPTED,
        listener_not_encrypted::judge,
    ),
    (&tls_policy::TLS_POLICY, tls_policy::judge),
    (
        &invalid_headers_kept::INVALID_HEADERS_KEPT,
        invalid_headers_kept::judge,
    ),
    (
        &desync_mitigation::DESYNC_MITIGATION,
        desync_mitigation::judge,
    ),
    (&access_logs_off::ACCESS_LOGS_OFF, access_logs_off::judge),
    (
        &deletion_protection_off::DELETION_PROTECTION_OFF,
        deletion_protection_off::judge,
    ),
    (
        &plain_http_target_group::PLAIN_HTTP_TARGET_GROUP,
        plain_http_target_group::judge,
    ),
    (
        &nlb_without_security_groups::NLB_WITHOUT_SECURITY_GROUPS,
        nlb_without_security_groups::judge,
    ),
    (
        &unserved_open_ports::UNSERVED_OPEN_PORTS,
        unserved_open_ports::judge,
    ),
    (
        &load_balancer_bypassed::LOAD_BALANCER_BYPASSED,
        load_balancer_bypassed::judge,
    ),
];

/// What the enabled rules could not judge for want of a fact, one line per
/// rule: `ELB-001 needs AWS: …`. Empty when every verdict was reached.
pub fn needs_aws(change: &ElbChange, ctx: &ElbContext) -> Vec<String> {
    let mut out = Vec::new();
    for (rule, judge) in JUDGES {
        if rule.setting(ctx.policy).action == RuleAction::Off {
            continue;
        }
        let mut missing: Vec<String> = judge(change, ctx)
            .into_iter()
            .filter_map(|v| match v {
                Verdict::Unknown(what) => Some(what),
                Verdict::Broken(_) => None,
            })
            .collect();
        missing.dedup();
        if !missing.is_empty() {
            out.push(format!("{} needs AWS: {}", rule.id, missing.join("; ")));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::{ElbContext, ElbFacts, Verdict};
    use crate::model::elb::ElbChange;
    use crate::model::event::Event;
    use crate::policy::Policy;

    pub const LB: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188";
    pub const NLB: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/net/edge/7a1b2c3d4e5f6a7b";
    pub const LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2";

    pub fn change(
        name: &str,
        request: serde_json::Value,
        response: serde_json::Value,
    ) -> ElbChange {
        let record = serde_json::json!({"eventID": "e", "eventName": name,
            "eventSource": "elasticloadbalancing.amazonaws.com",
            "requestParameters": request, "responseElements": response});
        ElbChange::from_event(&Event::from_value(&record, "t").unwrap())
            .unwrap()
            .unwrap()
    }

    /// The details of the broken verdicts, and the unknowns, apart.
    pub fn run(
        judge: fn(&ElbChange, &ElbContext) -> Vec<Verdict>,
        change: &ElbChange,
        facts: &ElbFacts,
    ) -> (Vec<String>, Vec<String>) {
        let policy = Policy::embedded();
        let (mut broken, mut unknown) = (Vec::new(), Vec::new());
        for v in judge(
            change,
            &ElbContext {
                policy: &policy,
                facts,
            },
        ) {
            match v {
                Verdict::Broken(d) => broken.push(d),
                Verdict::Unknown(d) => unknown.push(d),
            }
        }
        (broken, unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{change, LB, LISTENER};
    use super::*;
    use crate::model::elb::{CREATE_LISTENER, MODIFY_LISTENER};
    use serde_json::json;

    #[test]
    fn every_load_balancer_rule_has_a_judge_and_is_in_the_catalog() {
        let in_catalog: Vec<&str> = crate::rules::ALL
            .iter()
            .filter(|r| matches!(r.check, crate::rules::Check::LoadBalancer(_)))
            .map(|r| r.id)
            .collect();
        let judged: Vec<&str> = JUDGES.iter().map(|(r, _)| r.id).collect();
        assert_eq!(in_catalog, judged);
    }

    #[test]
    fn unknowns_are_said_per_rule_and_disabled_rules_say_nothing() {
        let http = change(
            CREATE_LISTENER,
            json!({"loadBalancerArn": LB, "protocol": "HTTP", "port": 80,
                "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]}),
            json!(null),
        );
        let facts = ElbFacts::default();
        let policy = Policy::embedded();
        let notes = needs_aws(
            &http,
            &ElbContext {
                policy: &policy,
                facts: &facts,
            },
        );
        assert_eq!(
            notes,
            ["ELB-001 needs AWS: the scheme of app/web/50dc6c495c0c9188 (internet-facing or internal) is not in the record"]
        );
        let off = Policy::from_toml("[rules.\"ELB-001\"]\nenabled = false\n", "t").unwrap();
        assert!(needs_aws(
            &http,
            &ElbContext {
                policy: &off,
                facts: &facts
            }
        )
        .is_empty());
        // Read: nothing left to say.
        let read = ElbFacts {
            scheme: Some(Scheme::Internal),
            ..ElbFacts::default()
        };
        assert!(needs_aws(
            &http,
            &ElbContext {
                policy: &policy,
                facts: &read
            }
        )
        .is_empty());
        // A listener moved to another port: only whether its old port stays open is unknown.
        let port = change(
            MODIFY_LISTENER,
            json!({"listenerArn": LISTENER, "port": 8080}),
            json!(null),
        );
        assert_eq!(
            needs_aws(
                &port,
                &ElbContext {
                    policy: &policy,
                    facts: &facts
                }
            ),
            ["ELB-010 needs AWS: the listeners of app/web/50dc6c495c0c9188 and its groups' rules are not in the record"]
        );
    }
}
