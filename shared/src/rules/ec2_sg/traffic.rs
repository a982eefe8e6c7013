//! What the internet-open rules of groups (their EC2-SG findings) let in,
//! as the traffic a network path is judged on: one port of one protocol
//! from one family's internet, or, when no port is known, why.

use crate::finding::Finding;
use crate::model::net::{PortRange, Protocol, Source};
use crate::model::reach::Family;

/// What the internet is asked to reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traffic {
    /// One port of one protocol, from one family's internet.
    Port {
        protocol: Protocol,
        port: u16,
        family: Family,
    },
    /// No port is known (why): the address and the route are judged, the
    /// network ACL (which decides per port) is not.
    Unnamed { family: Family, why: String },
}

/// The families a security-group rule's source admits: its CIDR's, or both
/// when the source is not a CIDR (a prefix list holds either).
fn families(source: Option<&str>) -> Vec<Family> {
    match source.map(Source::cidr) {
        Some(Source::Cidr(net)) => vec![Family::of(&net)],
        _ => vec![Family::Ipv4, Family::Ipv6],
    }
}

/// What the internet-open rules of groups (their EC2-SG findings) let in:
/// a single port as it is; a range, or every port, as the ports `served`
/// in it (what the workload listens on), else unnamed.
pub fn open_traffic(open: &[Finding], served: &[(Protocol, u16)]) -> Vec<Traffic> {
    let mut traffic = Vec::new();
    for f in open {
        let families = families(f.fields.source.as_deref());
        let raw = f.fields.protocol.as_deref().unwrap_or_default();
        let asked: Result<Vec<(Protocol, u16)>, String> = match Protocol::parse(raw) {
            Some(protocol @ (Protocol::Tcp | Protocol::Udp)) => {
                let range = PortRange::from_bounds(f.fields.from_port, f.fields.to_port);
                if range.from == range.to {
                    Ok(vec![(protocol, range.from)])
                } else {
                    let inside: Vec<(Protocol, u16)> = served
                        .iter()
                        .copied()
                        .filter(|(p, port)| *p == protocol && range.contains(*port))
                        .collect();
                    if inside.is_empty() {
                        Err(format!(
                            "{protocol} {range} is a range and no port served in it is known"
                        ))
                    } else {
                        Ok(inside)
                    }
                }
            }
            Some(protocol @ (Protocol::All | Protocol::Other(_))) => {
                if served.is_empty() {
                    Err(format!(
                        "{protocol} opens every port and no port served is known"
                    ))
                } else {
                    Ok(served.to_vec())
                }
            }
            Some(protocol) => Err(format!("{protocol} has no ports")),
            None => Err(format!("protocol {raw:?} does not parse")),
        };
        for family in families {
            match &asked {
                Ok(ports) => traffic.extend(ports.iter().map(|(protocol, port)| Traffic::Port {
                    protocol: *protocol,
                    port: *port,
                    family,
                })),
                Err(why) => traffic.push(Traffic::Unnamed {
                    family,
                    why: why.clone(),
                }),
            }
        }
    }
    dedup(traffic)
}

/// Each kind of traffic once; one unnamed line per family (the first why).
pub fn dedup(traffic: Vec<Traffic>) -> Vec<Traffic> {
    let mut out: Vec<Traffic> = Vec::new();
    for t in traffic {
        let seen = out.iter().any(|o| match (o, &t) {
            (Traffic::Unnamed { family: a, .. }, Traffic::Unnamed { family: b, .. }) => a == b,
            (a, b) => a == b,
        });
        if !seen {
            out.push(t);
        }
    }
    out
}
