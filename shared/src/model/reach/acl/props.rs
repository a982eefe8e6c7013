//! `acl_admits` and the reply ports it lets out, checked against a naive
//! evaluation that scans every entry for every port.

use proptest::prelude::*;

use super::super::test_support::{defaults, entry};
use super::*;
use crate::model::net::Source;

const WIDE: WidePrefixes = WidePrefixes { ipv4: 8, ipv6: 16 };

fn r(acl: &str, rule_number: u16, egress: bool) -> EntryRef {
    EntryRef {
        acl: acl.to_string(),
        rule_number,
        egress,
    }
}

/// A naive evaluation to check against: every entry scanned for each
/// port, no ranges.
mod reference {
    use super::*;
    use ipnet::IpNet;

    /// What an entry does to a client on the family's internet.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Does {
        Allow,
        Deny,
        DenyPart,
        Nothing,
        Unplaceable,
    }

    pub fn does(entry: &AclEntry, family: Family, wide: WidePrefixes) -> Does {
        let net = match &entry.cidr {
            Source::Cidr(net) => *net,
            _ => return Does::Unplaceable,
        };
        let same_family = matches!(
            (net, family),
            (IpNet::V4(_), Family::Ipv4) | (IpNet::V6(_), Family::Ipv6)
        );
        if !same_family {
            Does::Nothing
        } else if net.prefix_len() == 0 {
            if entry.allow {
                Does::Allow
            } else {
                Does::Deny
            }
        } else if entry.cidr.is_internet_wide(wide) {
            if entry.allow {
                Does::Allow
            } else {
                Does::DenyPart
            }
        } else {
            Does::Nothing
        }
    }

    fn applies(entry: &AclEntry, protocol: Protocol, port: u16) -> bool {
        let protocol_ok = match entry.protocol {
            Protocol::All => true,
            other => other == protocol,
        };
        let port_ok = match entry.ports {
            None => true,
            Some(range) => range.from <= port && port <= range.to,
        };
        protocol_ok && port_ok
    }

    #[derive(Debug, PartialEq, Eq)]
    pub enum Kind {
        Admits,
        Partly,
        Denies,
        Unknown,
    }

    /// The outbound ports let out, one by one, and whether a deny of
    /// part of the internet or an unplaceable entry came first for any.
    pub struct Out {
        pub allowed: Vec<u16>,
        pub allowed_by: Vec<u16>,
        pub part_denied_by: Vec<u16>,
        pub unplaceable: bool,
    }

    pub fn out(acl: &NetworkAcl, protocol: Protocol, family: Family, wide: WidePrefixes) -> Out {
        let mut entries: Vec<(&AclEntry, Does)> = acl
            .entries
            .iter()
            .filter(|e| e.egress)
            .map(|e| (e, does(e, family, wide)))
            .collect();
        entries.sort_by_key(|(e, _)| e.rule_number);
        let mut result = Out {
            allowed: Vec::new(),
            allowed_by: Vec::new(),
            part_denied_by: Vec::new(),
            unplaceable: false,
        };
        for port in 1024..=65535u16 {
            for (entry, does) in &entries {
                if !applies(entry, protocol, port) {
                    continue;
                }
                match does {
                    Does::Nothing => continue,
                    Does::DenyPart => {
                        if !result.part_denied_by.contains(&entry.rule_number) {
                            result.part_denied_by.push(entry.rule_number);
                        }
                        continue;
                    }
                    Does::Unplaceable => result.unplaceable = true,
                    Does::Allow => {
                        result.allowed.push(port);
                        if !result.allowed_by.contains(&entry.rule_number) {
                            result.allowed_by.push(entry.rule_number);
                        }
                    }
                    Does::Deny => {}
                }
                break;
            }
        }
        result.allowed_by.sort();
        result.part_denied_by.sort();
        result
    }

    /// The verdict's kind, the inbound rule that decided (if any), and
    /// the rules an admitting verdict names: inbound, outbound.
    pub fn judge(
        acl: &NetworkAcl,
        protocol: Protocol,
        port: u16,
        family: Family,
        wide: WidePrefixes,
    ) -> (Kind, Option<u16>, Vec<u16>, Vec<u16>) {
        let has_default = |egress: bool| {
            acl.entries
                .iter()
                .any(|e| e.egress == egress && e.rule_number == 32767)
        };
        if !has_default(false) {
            return (Kind::Unknown, None, vec![], vec![]);
        }
        let mut inbound: Vec<&AclEntry> = acl.entries.iter().filter(|e| !e.egress).collect();
        inbound.sort_by_key(|e| e.rule_number);
        let mut part_denied = Vec::new();
        let mut decided = None;
        for entry in inbound {
            if !applies(entry, protocol, port) {
                continue;
            }
            match does(entry, family, wide) {
                Does::Nothing => {}
                Does::DenyPart => part_denied.push(entry.rule_number),
                Does::Unplaceable => return (Kind::Unknown, None, vec![], vec![]),
                Does::Allow => {
                    decided = Some(entry.rule_number);
                    break;
                }
                Does::Deny => return (Kind::Denies, Some(entry.rule_number), vec![], vec![]),
            }
        }
        let Some(allow) = decided else {
            return (Kind::Denies, None, vec![], vec![]);
        };
        if !has_default(true) {
            return (Kind::Unknown, None, vec![], vec![]);
        }
        let out = out(acl, protocol, family, wide);
        if out.unplaceable {
            return (Kind::Unknown, None, vec![], vec![]);
        }
        if out.allowed.is_empty() {
            return (Kind::Denies, None, vec![], vec![]);
        }
        let whole = out.allowed.len() == usize::from(u16::MAX - 1023);
        let kind = if whole && part_denied.is_empty() && out.part_denied_by.is_empty() {
            Kind::Admits
        } else {
            Kind::Partly
        };
        let mut named_in = part_denied;
        named_in.push(allow);
        named_in.sort();
        let mut named_out = out.allowed_by;
        named_out.extend(out.part_denied_by);
        named_out.sort();
        (kind, Some(allow), named_in, named_out)
    }
}

const BOUNDS: [u16; 13] = [
    0, 22, 80, 443, 1023, 1024, 1025, 30000, 32767, 32768, 49152, 65534, 65535,
];
const BLOCKS: [&str; 12] = [
    "0.0.0.0/0",
    "1.2.3.4/0",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "52.0.0.0/8",
    "10.0.0.0/8",
    "203.0.113.0/24",
    "::/0",
    "2000::/3",
    "2001:db8::/32",
    "fd00::/8",
    "0.0.0.0/33",
];

fn an_entry() -> impl Strategy<Value = AclEntry> {
    (
        1u16..=120,
        any::<bool>(),
        prop::sample::select(vec!["-1", "6", "17", "47"]),
        prop::option::of((
            prop::sample::select(BOUNDS.to_vec()),
            prop::sample::select(BOUNDS.to_vec()),
        )),
        prop::sample::select(BLOCKS.to_vec()),
        any::<bool>(),
    )
        .prop_map(|(rule, egress, protocol, ports, block, allow)| {
            let ports = ports.map(|(a, b)| (a.min(b), a.max(b)));
            entry(rule, egress, protocol, ports, block, allow)
        })
}

/// An ACL of random entries (one per rule number and direction, as EC2
/// keeps them), usually with its default entries.
fn an_acl() -> impl Strategy<Value = NetworkAcl> {
    (
        prop::collection::vec(an_entry(), 0..8),
        prop::bool::weighted(0.9),
    )
        .prop_map(|(mut entries, with_defaults)| {
            let mut seen = std::collections::BTreeSet::new();
            entries.retain(|e| seen.insert((e.rule_number, e.egress)));
            if with_defaults {
                entries.extend(defaults());
            }
            NetworkAcl {
                id: "acl-1".to_string(),
                vpc_id: "vpc-1".to_string(),
                default: true,
                subnets: vec![],
                entries,
            }
        })
}

fn a_question() -> impl Strategy<Value = (Protocol, u16, Family)> {
    (
        prop::sample::select(vec![Protocol::Tcp, Protocol::Udp]),
        prop_oneof![prop::sample::select(BOUNDS.to_vec()), any::<u16>()],
        prop::sample::select(vec![Family::Ipv4, Family::Ipv6]),
    )
}

fn rules_of(entries: &[EntryRef], egress: bool) -> Vec<u16> {
    let mut rules: Vec<u16> = entries
        .iter()
        .filter(|e| e.egress == egress)
        .map(|e| e.rule_number)
        .collect();
    rules.sort();
    rules
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn acl_admits_agrees_with_a_naive_evaluation(acl in an_acl(), (protocol, port, family) in a_question()) {
        let got = acl_admits(&acl, protocol, port, family, WIDE);
        let (kind, inbound, named_in, named_out) = reference::judge(&acl, protocol, port, family, WIDE);
        match (&got, kind) {
            (AclVerdict::Unknown { .. }, reference::Kind::Unknown) => {}
            (AclVerdict::Denies { entries, .. }, reference::Kind::Denies) => {
                if let Some(rule) = inbound {
                    prop_assert_eq!(entries.clone(), vec![r("acl-1", rule, false)]);
                }
            }
            (AclVerdict::Admits { entries, .. }, reference::Kind::Admits)
            | (AclVerdict::Partly { entries, .. }, reference::Kind::Partly) => {
                prop_assert_eq!(rules_of(entries, false), named_in);
                prop_assert_eq!(rules_of(entries, true), named_out);
            }
            (got, kind) => prop_assert!(false, "got {got:?}, the reference says {kind:?}"),
        }
    }

    #[test]
    fn the_reply_ports_let_out_are_those_a_port_by_port_scan_finds(
        acl in an_acl(),
        (protocol, _port, family) in a_question(),
    ) {
        let reference = reference::out(&acl, protocol, family, WIDE);
        if let Ok(replies) = outbound(&acl, protocol, family, WIDE) {
            prop_assert!(!reference.unplaceable);
            let ports: Vec<u16> = replies
                .allowed
                .iter()
                .flat_map(|r| r.from..=r.to)
                .collect();
            prop_assert_eq!(ports, reference.allowed);
            prop_assert_eq!(rules_of(&replies.allowed_by, true), reference.allowed_by);
            prop_assert_eq!(rules_of(&replies.kept_out, true), reference.part_denied_by);
        }
    }
}
