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
        [acl] => match network.subnet(subnet_id) {
            Ok(subnet) if subnet.vpc_id != acl.vpc_id => Err(Unknown::new(format!(
                "network ACL {} of {subnet_id} belongs to {}, the subnet to {}",
                acl.id, acl.vpc_id, subnet.vpc_id
            ))),
            _ => Ok(acl),
        },
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
mod props;
#[cfg(test)]
mod tests;
