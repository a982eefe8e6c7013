//! The subnet's network ACL, and whether it lets a client on the internet
//! reach a port in the subnet and the replies leave.
//!
//! ACLs are stateless: the request is judged by the inbound entries, the
//! reply by the outbound ones, each in rule-number order, first match
//! winning. An entry matches when its protocol covers the asked one (`-1`
//! covers all; tcp never covers udp), its ports cover the port (or, for the
//! reply, the client's ephemeral ports) and its block is the internet as a
//! security group's source would be ([`Source::is_internet_wide`](crate::model::net::Source::is_internet_wide)).
//! A deny of an internet-wide block narrower than `/0` (`0.0.0.0/1`, a
//! public `/8`) keeps out part of the internet only: the entries after it
//! still decide for the rest, and the verdict is then "partly".

use serde::Serialize;

use super::{
    span, AclEntry, EntryRef, Fact, Family, Network, NetworkAcl, Span, Unknown, DEFAULT_RULE,
};
use crate::model::net::{PortRange, Protocol, WidePrefixes};

/// The ports a client on the internet may pick for its side of a
/// connection, to which the replies go (the range AWS tells ACLs to allow).
pub const EPHEMERAL_PORTS: PortRange = PortRange {
    from: 1024,
    to: 65535,
};

/// What a network ACL does to a client on the internet reaching a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum AclVerdict {
    /// In on the port and replies out on every ephemeral port, for the
    /// whole internet: the entries that decided (inbound, then outbound).
    Admits {
        acl: String,
        entries: Vec<EntryRef>,
    },
    /// In and out for part of the internet or of the reply ports: the
    /// entries that decided, and what is kept out.
    Partly {
        acl: String,
        entries: Vec<EntryRef>,
        why: String,
    },
    /// Kept out, or no reply can leave: the deciding entries and why.
    Denies {
        acl: String,
        entries: Vec<EntryRef>,
        why: String,
    },
    Unknown {
        acl: String,
        why: String,
    },
}

/// The network ACL of a subnet: the ACL associated with it, else the
/// default ACL of the subnet's own VPC.
pub fn acl_for<'n>(network: &'n Network, subnet_id: &str) -> Result<&'n NetworkAcl, Unknown> {
    let associated: Vec<&NetworkAcl> = network
        .network_acls
        .iter()
        .filter(|a| a.subnets.iter().any(|s| s == subnet_id))
        .collect();
    match associated.as_slice() {
        [acl] => Ok(acl),
        [] => {
            let subnet = network.subnet(subnet_id)?;
            let default: Vec<&NetworkAcl> = network
                .network_acls
                .iter()
                .filter(|a| a.default && a.vpc_id == subnet.vpc_id)
                .collect();
            match default.as_slice() {
                [acl] => Ok(acl),
                [] => Err(network.not_read(
                    Fact::NetworkAcls,
                    format!("the network ACL of {subnet_id} was not read"),
                )),
                several => Err(Unknown::new(format!(
                    "{} has more than one default network ACL ({})",
                    subnet.vpc_id,
                    acl_ids(several)
                ))),
            }
        }
        several => Err(Unknown::new(format!(
            "{subnet_id} is associated with more than one network ACL ({})",
            acl_ids(several)
        ))),
    }
}

/// Whether the ACL lets a client on the family's internet reach
/// `protocol`/`port` in its subnet: the inbound entries on the port, and the
/// outbound entries on the ephemeral reply ports ([`EPHEMERAL_PORTS`]).
/// Judged for tcp and udp, the protocols with ports.
pub fn acl_admits(
    acl: &NetworkAcl,
    protocol: Protocol,
    port: u16,
    family: Family,
    wide: WidePrefixes,
) -> AclVerdict {
    let unknown = |why: String| AclVerdict::Unknown {
        acl: acl.id.clone(),
        why,
    };
    if !matches!(protocol, Protocol::Tcp | Protocol::Udp) {
        return unknown(format!(
            "the path is judged for tcp and udp, not {protocol}"
        ));
    }
    let asked = format!("{protocol}/{port}");
    let inbound = match inbound(acl, protocol, port, family, wide) {
        Ok(inbound) => inbound,
        Err(why) => return unknown(why),
    };
    let (allow, kept_out) = match inbound {
        Inbound::Allowed { entry, kept_out } => (entry, kept_out),
        Inbound::Denied(entry) => {
            return AclVerdict::Denies {
                acl: acl.id.clone(),
                why: format!(
                    "network ACL {} denies {asked} from the {family} internet (rule {})",
                    acl.id,
                    entry.rule()
                ),
                entries: vec![entry],
            }
        }
        Inbound::Unmatched => {
            return AclVerdict::Denies {
                acl: acl.id.clone(),
                entries: Vec::new(),
                why: format!(
                    "no inbound rule of network ACL {} admits {asked} from the {family} internet",
                    acl.id
                ),
            }
        }
    };
    let replies = match outbound(acl, protocol, family, wide) {
        Ok(replies) => replies,
        Err(why) => return unknown(why),
    };
    if replies.allowed.is_empty() {
        return AclVerdict::Denies {
            acl: acl.id.clone(),
            why: format!(
                "network ACL {} lets no reply out: {protocol} to ports {EPHEMERAL_PORTS} on the {family} internet is denied{}",
                acl.id,
                match replies.denied_by.first() {
                    Some(entry) => format!(" (rule {})", entry.rule()),
                    None => String::new(),
                }
            ),
            entries: replies.denied_by,
        };
    }
    let mut entries = kept_out.clone();
    entries.push(allow);
    entries.extend(replies.allowed_by.iter().cloned());
    let mut partly = Vec::new();
    if !kept_out.is_empty() {
        partly.push(format!(
            "part of the internet is denied first (rule {})",
            rules(&kept_out)
        ));
    }
    if replies.allowed != [EPHEMERAL_PORTS] {
        partly.push(format!(
            "replies leave only to ports {} (rule {} out)",
            ranges(&replies.allowed),
            rules(&replies.allowed_by)
        ));
    }
    if !replies.kept_out.is_empty() {
        partly.push(format!(
            "replies to part of the internet are denied first (rule {} out)",
            rules(&replies.kept_out)
        ));
        entries.extend(replies.kept_out);
    }
    if partly.is_empty() {
        AclVerdict::Admits {
            acl: acl.id.clone(),
            entries,
        }
    } else {
        AclVerdict::Partly {
            acl: acl.id.clone(),
            entries,
            why: partly.join("; "),
        }
    }
}

enum Inbound {
    /// The allow that admits the internet, and the denies of a part of it
    /// that came first.
    Allowed {
        entry: EntryRef,
        kept_out: Vec<EntryRef>,
    },
    Denied(EntryRef),
    /// No entry matched: the default `*` denies it.
    Unmatched,
}

/// The entries of one direction in rule-number order, or why they are not
/// all there (every direction holds its default `*` entry).
fn in_order(acl: &NetworkAcl, egress: bool) -> Result<Vec<&AclEntry>, String> {
    let mut entries: Vec<&AclEntry> = acl.entries.iter().filter(|e| e.egress == egress).collect();
    if !entries.iter().any(|e| e.rule_number == DEFAULT_RULE) {
        return Err(format!(
            "the {} entries of network ACL {} were not all read (no default rule *)",
            if egress { "outbound" } else { "inbound" },
            acl.id
        ));
    }
    entries.sort_by_key(|e| e.rule_number);
    Ok(entries)
}

fn covers(entry: &AclEntry, protocol: Protocol) -> bool {
    entry.protocol == Protocol::All || entry.protocol == protocol
}

fn unreadable(acl: &NetworkAcl, entry: &AclEntry) -> String {
    format!(
        "network ACL {} rule {}: {} cannot be placed",
        acl.id,
        EntryRef::of(acl, entry).label(),
        entry.cidr
    )
}

fn inbound(
    acl: &NetworkAcl,
    protocol: Protocol,
    port: u16,
    family: Family,
    wide: WidePrefixes,
) -> Result<Inbound, String> {
    let mut kept_out = Vec::new();
    for entry in in_order(acl, false)? {
        if !covers(entry, protocol) || !entry.ports.is_none_or(|p| p.contains(port)) {
            continue;
        }
        let this = EntryRef::of(acl, entry);
        match (span(&entry.cidr, family, wide), entry.allow) {
            (Span::Unreadable, _) => return Err(unreadable(acl, entry)),
            (Span::Outside, _) => {}
            (Span::Whole | Span::Wide, true) => {
                return Ok(Inbound::Allowed {
                    entry: this,
                    kept_out,
                })
            }
            (Span::Whole, false) => return Ok(Inbound::Denied(this)),
            (Span::Wide, false) => kept_out.push(this),
        }
    }
    Ok(Inbound::Unmatched)
}

/// The reply ports the outbound entries let out to the internet.
struct Replies {
    /// Disjoint, in order.
    allowed: Vec<PortRange>,
    allowed_by: Vec<EntryRef>,
    denied_by: Vec<EntryRef>,
    /// Denies of part of the internet met before a port was decided.
    kept_out: Vec<EntryRef>,
}

fn outbound(
    acl: &NetworkAcl,
    protocol: Protocol,
    family: Family,
    wide: WidePrefixes,
) -> Result<Replies, String> {
    let mut open = vec![EPHEMERAL_PORTS];
    let mut replies = Replies {
        allowed: Vec::new(),
        allowed_by: Vec::new(),
        denied_by: Vec::new(),
        kept_out: Vec::new(),
    };
    for entry in in_order(acl, true)? {
        if open.is_empty() {
            break;
        }
        if !covers(entry, protocol) {
            continue;
        }
        let ports = entry.ports.unwrap_or(PortRange::ALL);
        let hit = intersect(&open, ports);
        if hit.is_empty() {
            continue;
        }
        let this = EntryRef::of(acl, entry);
        match (span(&entry.cidr, family, wide), entry.allow) {
            (Span::Unreadable, _) => return Err(unreadable(acl, entry)),
            (Span::Outside, _) => continue,
            (Span::Wide, false) => {
                replies.kept_out.push(this);
                continue;
            }
            (Span::Whole | Span::Wide, true) => {
                replies.allowed.extend(hit);
                replies.allowed_by.push(this);
            }
            (Span::Whole, false) => replies.denied_by.push(this),
        }
        open = subtract(&open, ports);
    }
    replies.allowed = merged(replies.allowed);
    Ok(replies)
}

/// The ranges sorted, those that touch or overlap joined.
fn merged(mut ranges: Vec<PortRange>) -> Vec<PortRange> {
    ranges.sort_by_key(|r| r.from);
    let mut joined: Vec<PortRange> = Vec::new();
    for r in ranges {
        match joined.last_mut() {
            Some(last) if u32::from(r.from) <= u32::from(last.to) + 1 => {
                last.to = last.to.max(r.to);
            }
            _ => joined.push(r),
        }
    }
    joined
}

/// The parts of `ranges` inside `by`.
fn intersect(ranges: &[PortRange], by: PortRange) -> Vec<PortRange> {
    ranges
        .iter()
        .filter_map(|r| {
            let from = r.from.max(by.from);
            let to = r.to.min(by.to);
            (from <= to).then_some(PortRange { from, to })
        })
        .collect()
}

/// The parts of `ranges` outside `by`.
fn subtract(ranges: &[PortRange], by: PortRange) -> Vec<PortRange> {
    let mut left = Vec::new();
    for r in ranges {
        if by.to < r.from || r.to < by.from {
            left.push(*r);
            continue;
        }
        if r.from < by.from {
            left.push(PortRange {
                from: r.from,
                to: by.from - 1,
            });
        }
        if by.to < r.to {
            left.push(PortRange {
                from: by.to + 1,
                to: r.to,
            });
        }
    }
    left
}

fn ranges(ranges: &[PortRange]) -> String {
    ranges
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn rules(entries: &[EntryRef]) -> String {
    entries
        .iter()
        .map(EntryRef::rule)
        .collect::<Vec<_>>()
        .join(", ")
}

fn acl_ids(acls: &[&NetworkAcl]) -> String {
    acls.iter()
        .map(|a| a.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{acl, defaults, entry, open_entries, public_network, subnet};
    use super::*;

    const WIDE: WidePrefixes = WidePrefixes { ipv4: 8, ipv6: 16 };

    fn r(acl: &str, rule_number: u16, egress: bool) -> EntryRef {
        EntryRef {
            acl: acl.to_string(),
            rule_number,
            egress,
        }
    }

    /// Replies allowed out on every port to the whole internet, rule 100.
    fn replies_out() -> Vec<AclEntry> {
        vec![
            entry(100, true, "-1", None, "0.0.0.0/0", true),
            entry(101, true, "-1", None, "::/0", true),
        ]
    }

    fn judge(inbound: Vec<AclEntry>, protocol: Protocol, port: u16, family: Family) -> AclVerdict {
        let mut entries = inbound;
        entries.extend(replies_out());
        acl_admits(
            &acl("acl-1", "vpc-1", true, &[], entries),
            protocol,
            port,
            family,
            WIDE,
        )
    }

    fn admits(entries: Vec<EntryRef>) -> AclVerdict {
        AclVerdict::Admits {
            acl: "acl-1".to_string(),
            entries,
        }
    }

    #[test]
    fn an_open_acl_admits_and_names_both_entries() {
        let v = judge(
            vec![entry(100, false, "6", Some((22, 22)), "0.0.0.0/0", true)],
            Protocol::Tcp,
            22,
            Family::Ipv4,
        );
        assert_eq!(
            v,
            admits(vec![r("acl-1", 100, false), r("acl-1", 100, true)])
        );
    }

    #[test]
    fn the_first_match_wins_a_deny_before_an_allow() {
        let v = judge(
            vec![
                entry(100, false, "6", Some((22, 22)), "0.0.0.0/0", true),
                entry(90, false, "6", Some((22, 22)), "0.0.0.0/0", false),
            ],
            Protocol::Tcp,
            22,
            Family::Ipv4,
        );
        assert_eq!(
            v,
            AclVerdict::Denies {
                acl: "acl-1".to_string(),
                entries: vec![r("acl-1", 90, false)],
                why: "network ACL acl-1 denies tcp/22 from the IPv4 internet (rule #90)"
                    .to_string(),
            }
        );
        let v = judge(
            vec![
                entry(110, false, "6", Some((22, 22)), "0.0.0.0/0", false),
                entry(100, false, "6", Some((22, 22)), "0.0.0.0/0", true),
            ],
            Protocol::Tcp,
            22,
            Family::Ipv4,
        );
        assert_eq!(
            v,
            admits(vec![r("acl-1", 100, false), r("acl-1", 100, true)])
        );
    }

    #[test]
    fn the_default_entry_denies() {
        let v = judge(vec![], Protocol::Tcp, 22, Family::Ipv4);
        assert_eq!(
            v,
            AclVerdict::Denies {
                acl: "acl-1".to_string(),
                entries: vec![r("acl-1", DEFAULT_RULE, false)],
                why: "network ACL acl-1 denies tcp/22 from the IPv4 internet (rule *)".to_string(),
            }
        );
    }

    #[test]
    fn udp_does_not_open_tcp_and_all_protocols_open_both() {
        let udp = vec![entry(100, false, "17", Some((443, 443)), "0.0.0.0/0", true)];
        assert!(matches!(
            judge(udp.clone(), Protocol::Tcp, 443, Family::Ipv4),
            AclVerdict::Denies { .. }
        ));
        assert!(matches!(
            judge(udp, Protocol::Udp, 443, Family::Ipv4),
            AclVerdict::Admits { .. }
        ));
        let other = vec![entry(100, false, "47", None, "0.0.0.0/0", true)];
        assert!(matches!(
            judge(other, Protocol::Tcp, 443, Family::Ipv4),
            AclVerdict::Denies { .. }
        ));
        let all = vec![entry(100, false, "-1", None, "0.0.0.0/0", true)];
        assert!(matches!(
            judge(all.clone(), Protocol::Tcp, 443, Family::Ipv4),
            AclVerdict::Admits { .. }
        ));
        assert!(matches!(
            judge(all, Protocol::Udp, 53, Family::Ipv4),
            AclVerdict::Admits { .. }
        ));
    }

    #[test]
    fn the_port_must_be_in_the_range() {
        let range = vec![entry(
            100,
            false,
            "6",
            Some((8000, 8080)),
            "0.0.0.0/0",
            true,
        )];
        assert!(matches!(
            judge(range.clone(), Protocol::Tcp, 8080, Family::Ipv4),
            AclVerdict::Admits { .. }
        ));
        assert!(matches!(
            judge(range.clone(), Protocol::Tcp, 8000, Family::Ipv4),
            AclVerdict::Admits { .. }
        ));
        assert!(matches!(
            judge(range, Protocol::Tcp, 8081, Family::Ipv4),
            AclVerdict::Denies { .. }
        ));
    }

    #[test]
    fn private_and_narrow_blocks_are_not_an_internet_client() {
        let private = vec![entry(100, false, "6", Some((22, 22)), "10.0.0.0/8", true)];
        assert!(matches!(
            judge(private, Protocol::Tcp, 22, Family::Ipv4),
            AclVerdict::Denies { .. }
        ));
        let narrow = vec![
            entry(90, false, "6", Some((22, 22)), "203.0.113.0/24", false),
            entry(100, false, "6", Some((22, 22)), "0.0.0.0/0", true),
        ];
        assert_eq!(
            judge(narrow, Protocol::Tcp, 22, Family::Ipv4),
            admits(vec![r("acl-1", 100, false), r("acl-1", 100, true)])
        );
        let host_bits = vec![entry(100, false, "6", Some((22, 22)), "8.8.8.8/0", true)];
        assert!(matches!(
            judge(host_bits, Protocol::Tcp, 22, Family::Ipv4),
            AclVerdict::Admits { .. }
        ));
    }

    #[test]
    fn ipv6_entries_decide_for_ipv6_only() {
        let v6 = vec![entry(100, false, "6", Some((443, 443)), "::/0", true)];
        assert!(matches!(
            judge(v6.clone(), Protocol::Tcp, 443, Family::Ipv6),
            AclVerdict::Admits { .. }
        ));
        assert!(matches!(
            judge(v6, Protocol::Tcp, 443, Family::Ipv4),
            AclVerdict::Denies { .. }
        ));
        let v4 = vec![entry(100, false, "6", Some((443, 443)), "0.0.0.0/0", true)];
        assert!(matches!(
            judge(v4, Protocol::Tcp, 443, Family::Ipv6),
            AclVerdict::Denies { .. }
        ));
        let deny6 = vec![
            entry(90, false, "6", Some((443, 443)), "::/0", false),
            entry(100, false, "-1", None, "::/0", true),
        ];
        assert!(matches!(
            judge(deny6, Protocol::Tcp, 443, Family::Ipv6),
            AclVerdict::Denies { .. }
        ));
    }

    #[test]
    fn a_deny_of_part_of_the_internet_makes_it_partly() {
        let v = judge(
            vec![
                entry(90, false, "6", Some((22, 22)), "0.0.0.0/1", false),
                entry(100, false, "6", Some((22, 22)), "0.0.0.0/0", true),
            ],
            Protocol::Tcp,
            22,
            Family::Ipv4,
        );
        assert_eq!(
            v,
            AclVerdict::Partly {
                acl: "acl-1".to_string(),
                entries: vec![
                    r("acl-1", 90, false),
                    r("acl-1", 100, false),
                    r("acl-1", 100, true)
                ],
                why: "part of the internet is denied first (rule #90)".to_string(),
            }
        );
    }

    fn with_outbound(outbound: Vec<AclEntry>) -> NetworkAcl {
        let mut entries = vec![entry(100, false, "6", Some((22, 22)), "0.0.0.0/0", true)];
        entries.extend(outbound);
        acl("acl-1", "vpc-1", true, &[], entries)
    }

    #[test]
    fn replies_denied_on_the_ephemeral_ports_close_the_path() {
        let v = acl_admits(
            &with_outbound(vec![entry(
                100,
                true,
                "6",
                Some((80, 443)),
                "0.0.0.0/0",
                true,
            )]),
            Protocol::Tcp,
            22,
            Family::Ipv4,
            WIDE,
        );
        assert_eq!(
            v,
            AclVerdict::Denies {
                acl: "acl-1".to_string(),
                entries: vec![r("acl-1", DEFAULT_RULE, true)],
                why: "network ACL acl-1 lets no reply out: tcp to ports 1024-65535 on the IPv4 internet is denied (rule *)".to_string(),
            }
        );
        let v = acl_admits(
            &with_outbound(vec![
                entry(90, true, "6", None, "0.0.0.0/0", false),
                entry(100, true, "6", None, "0.0.0.0/0", true),
            ]),
            Protocol::Tcp,
            22,
            Family::Ipv4,
            WIDE,
        );
        assert!(
            matches!(&v, AclVerdict::Denies { entries, .. } if entries == &vec![r("acl-1", 90, true)]),
            "{v:?}"
        );
    }

    #[test]
    fn replies_allowed_on_part_of_the_ephemeral_ports_are_partly() {
        let v = acl_admits(
            &with_outbound(vec![entry(
                100,
                true,
                "6",
                Some((32768, 65535)),
                "0.0.0.0/0",
                true,
            )]),
            Protocol::Tcp,
            22,
            Family::Ipv4,
            WIDE,
        );
        assert_eq!(
            v,
            AclVerdict::Partly {
                acl: "acl-1".to_string(),
                entries: vec![r("acl-1", 100, false), r("acl-1", 100, true)],
                why: "replies leave only to ports 32768-65535 (rule #100 out)".to_string(),
            }
        );
    }

    #[test]
    fn adjoining_allows_cover_the_ephemeral_ports_whole() {
        let v = acl_admits(
            &with_outbound(vec![
                entry(100, true, "6", Some((1024, 30000)), "0.0.0.0/0", true),
                entry(110, true, "6", Some((30001, 65535)), "0.0.0.0/0", true),
            ]),
            Protocol::Tcp,
            22,
            Family::Ipv4,
            WIDE,
        );
        assert_eq!(
            v,
            admits(vec![
                r("acl-1", 100, false),
                r("acl-1", 100, true),
                r("acl-1", 110, true)
            ])
        );
    }

    #[test]
    fn an_acl_without_its_default_entry_is_unknown() {
        let mut incomplete = acl("acl-1", "vpc-1", true, &[], open_entries());
        incomplete
            .entries
            .retain(|e| e.rule_number != DEFAULT_RULE || e.egress);
        assert_eq!(
            acl_admits(&incomplete, Protocol::Tcp, 22, Family::Ipv4, WIDE),
            AclVerdict::Unknown {
                acl: "acl-1".to_string(),
                why:
                    "the inbound entries of network ACL acl-1 were not all read (no default rule *)"
                        .to_string(),
            }
        );
    }

    #[test]
    fn a_block_that_does_not_parse_is_unknown_when_reached() {
        let v = judge(
            vec![
                entry(90, false, "6", Some((22, 22)), "0.0.0.0/33", false),
                entry(100, false, "6", Some((22, 22)), "0.0.0.0/0", true),
            ],
            Protocol::Tcp,
            22,
            Family::Ipv4,
        );
        assert!(matches!(v, AclVerdict::Unknown { .. }), "{v:?}");
        let v = judge(
            vec![
                entry(90, false, "6", Some((22, 22)), "0.0.0.0/0", true),
                entry(100, false, "6", Some((22, 22)), "0.0.0.0/33", false),
            ],
            Protocol::Tcp,
            22,
            Family::Ipv4,
        );
        assert!(
            matches!(v, AclVerdict::Admits { .. }),
            "decided before: {v:?}"
        );
    }

    #[test]
    fn the_acl_of_a_subnet_is_its_association_else_its_vpcs_default() {
        let mut network = public_network();
        network.subnets.push(subnet("subnet-b", "vpc-b"));
        network
            .network_acls
            .insert(0, acl("acl-b", "vpc-b", true, &[], vec![]));
        network
            .network_acls
            .push(acl("acl-2", "vpc-1", false, &["subnet-2"], vec![]));
        assert_eq!(
            acl_for(&network, "subnet-1").map(|a| a.id.as_str()),
            Ok("acl-1")
        );
        assert_eq!(
            acl_for(&network, "subnet-b").map(|a| a.id.as_str()),
            Ok("acl-b")
        );
        assert_eq!(
            acl_for(&network, "subnet-2").map(|a| a.id.as_str()),
            Ok("acl-2")
        );
        network.network_acls.retain(|a| a.vpc_id != "vpc-b");
        network
            .unread
            .insert(Fact::NetworkAcls, "Throttling".to_string());
        assert_eq!(
            acl_for(&network, "subnet-b"),
            Err(Unknown::new(
                "the network ACL of subnet-b was not read (DescribeNetworkAcls: Throttling)"
            ))
        );
    }

    #[test]
    fn protocols_without_ports_are_not_judged() {
        let v = judge(defaults(), Protocol::Icmp, 8, Family::Ipv4);
        assert!(matches!(v, AclVerdict::Unknown { .. }), "{v:?}");
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

        pub fn out(
            acl: &NetworkAcl,
            protocol: Protocol,
            family: Family,
            wide: WidePrefixes,
        ) -> Out {
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

    use crate::model::net::Source;
    use proptest::prelude::*;

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
}
