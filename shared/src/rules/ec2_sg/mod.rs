//! Rules about security-group ingress (EC2-SG-*).

pub mod all_traffic;
pub mod data_plane_port;
pub mod high_risk_port;
pub mod rdp;
pub mod ssh;
pub mod unauthorized_port;
pub mod unparsed_cidr;
pub mod wide_port_range;

use crate::model::sg::SgRule;
use crate::policy::Policy;

/// True when the rule lets the internet in (DESIGN §4).
fn from_internet(rule: &SgRule, policy: &Policy) -> bool {
    rule.source.is_internet_wide(policy.wide)
}

/// The ports of `list` that an internet-open rule exposes, in list order.
fn exposed_ports(rule: &SgRule, policy: &Policy, list: &[u16]) -> Vec<u16> {
    match rule.port_range() {
        Some(range) if from_internet(rule, policy) => list
            .iter()
            .copied()
            .filter(|&p| range.contains(p))
            .collect(),
        _ => Vec::new(),
    }
}

/// `tcp 22 from 0.0.0.0/0 (sgr-…)`, plus which of `ports` it covers when the range is wider.
fn describe(rule: &SgRule, ports: &[u16]) -> String {
    let exact = rule.port_range().is_some_and(|r| r.count() == 1);
    if ports.is_empty() || exact {
        return rule.to_string();
    }
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    format!("{rule}, exposing port {}", list.join(", "))
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::model::net::{Protocol, Source};
    use crate::model::sg::{Direction, SgRule};

    /// An ingress rule from a protocol, port bounds and a CIDR.
    pub fn rule(protocol: &str, from: i64, to: i64, cidr: &str) -> SgRule {
        SgRule {
            rule_id: None,
            direction: Direction::Ingress,
            ip_protocol: protocol.to_string(),
            protocol: Protocol::parse(protocol).unwrap(),
            from_port: Some(from),
            to_port: Some(to),
            source: Source::cidr(cidr),
        }
    }
}
