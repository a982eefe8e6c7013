//! Network semantics: protocols, port ranges and traffic sources, computed rather
//! than compared as strings (DESIGN §4).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// An IP protocol as a security-group rule names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `-1`: every protocol and every port.
    All,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    /// Any other protocol number: all "ports" of that protocol are open.
    Other(u8),
}

impl Protocol {
    /// Parses `tcp`, `udp`, `icmp`, `icmpv6`, `-1`/`all` or a protocol number, any case.
    /// Returns `None` for a value that is none of those.
    pub fn parse(raw: &str) -> Option<Protocol> {
        let raw = raw.trim().to_ascii_lowercase();
        Some(match raw.as_str() {
            "-1" | "all" => Protocol::All,
            "tcp" | "6" => Protocol::Tcp,
            "udp" | "17" => Protocol::Udp,
            "icmp" | "1" => Protocol::Icmp,
            "icmpv6" | "58" => Protocol::Icmpv6,
            other => Protocol::Other(other.parse::<u8>().ok()?),
        })
    }

    /// True when the rule opens every port of every protocol, or of a protocol
    /// without ports we could check (any number other than tcp/udp/icmp).
    pub fn is_all_traffic(self) -> bool {
        matches!(self, Protocol::All | Protocol::Other(_))
    }

    /// True when the protocol has ports (tcp, udp) or spans them all (`-1`).
    pub fn carries_ports(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::Udp | Protocol::All)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::All => f.write_str("all traffic"),
            Protocol::Tcp => f.write_str("tcp"),
            Protocol::Udp => f.write_str("udp"),
            Protocol::Icmp => f.write_str("icmp"),
            Protocol::Icmpv6 => f.write_str("icmpv6"),
            Protocol::Other(n) => write!(f, "protocol {n}"),
        }
    }
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    pub from: u16,
    pub to: u16,
}

impl PortRange {
    pub const ALL: PortRange = PortRange { from: 0, to: 65535 };

    /// The ports a rule opens. Absent bounds or `-1` mean every port; a reversed
    /// range is normalised, never trusted to be empty.
    pub fn from_bounds(from: Option<i64>, to: Option<i64>) -> PortRange {
        let clamp = |p: Option<i64>, default: u16| match p {
            Some(p) if (0..=65535).contains(&p) => p as u16,
            _ => default,
        };
        let (from, to) = (clamp(from, 0), clamp(to, 65535));
        if from <= to {
            PortRange { from, to }
        } else {
            PortRange { from: to, to: from }
        }
    }

    pub fn contains(self, port: u16) -> bool {
        self.from <= port && port <= self.to
    }

    /// Number of ports in the range (at least one).
    pub fn count(self) -> u32 {
        u32::from(self.to) - u32::from(self.from) + 1
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

/// Where traffic allowed by a rule may come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// An IP network, host bits cleared.
    Cidr(IpNet),
    PrefixList(String),
    /// Another security group, possibly in another account.
    Group {
        group_id: Option<String>,
        user_id: Option<String>,
    },
    /// A CIDR that does not parse: not safe, reported on its own (EC2-SG-012).
    Unparsed(String),
}

impl Source {
    /// Parses a CIDR and masks it. `8.8.8.8/0` is `0.0.0.0/0`; a bare address is a /32 or /128.
    pub fn cidr(raw: &str) -> Source {
        let text = raw.trim();
        let parsed = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => Source::Cidr(net.trunc()),
            Err(_) => Source::Unparsed(raw.to_string()),
        }
    }

    /// True when the source is the whole address family or a public network at
    /// least as wide as the policy's thresholds.
    pub fn is_internet_wide(&self, wide: WidePrefixes) -> bool {
        match self {
            Source::Cidr(IpNet::V4(net)) => {
                net.prefix_len() == 0 || (net.prefix_len() <= wide.ipv4 && is_public_v4(net))
            }
            Source::Cidr(IpNet::V6(net)) => {
                net.prefix_len() == 0 || (net.prefix_len() <= wide.ipv6 && is_public_v6(net))
            }
            _ => false,
        }
    }

    /// True when the source is a public network at least as wide as
    /// wider than `wide_public` (EC2-SG-009) but not internet-wide (`wide`): those are
    /// the internet already. Private and special-purpose ranges are not public.
    pub fn is_wide_public(&self, wide: WidePrefixes, wide_public: WidePrefixes) -> bool {
        if self.is_internet_wide(wide) {
            return false;
        }
        match self {
            Source::Cidr(IpNet::V4(net)) => {
                net.prefix_len() < wide_public.ipv4 && is_public_v4(net)
            }
            Source::Cidr(IpNet::V6(net)) => {
                net.prefix_len() < wide_public.ipv6 && is_public_v6(net)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Cidr(net) => write!(f, "{net}"),
            Source::PrefixList(id) => write!(f, "prefix list {id}"),
            Source::Group { group_id, user_id } => {
                write!(f, "group {}", group_id.as_deref().unwrap_or("?"))?;
                if let Some(user) = user_id {
                    write!(f, " (account {user})")?;
                }
                Ok(())
            }
            Source::Unparsed(raw) => write!(f, "unparseable CIDR {raw:?}"),
        }
    }
}

/// The prefix lengths at or below which a public network counts as the internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WidePrefixes {
    pub ipv4: u8,
    pub ipv6: u8,
}

impl Default for WidePrefixes {
    fn default() -> Self {
        WidePrefixes { ipv4: 8, ipv6: 16 }
    }
}

/// Private and special-purpose IPv4 networks: a source inside one is not public.
const NON_PUBLIC_V4: [(Ipv4Addr, u8); 7] = [
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(0, 0, 0, 0), 8),
];

const NON_PUBLIC_V6: [(Ipv6Addr, u8); 4] = [
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1), 128),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96),
];

/// A network is public unless it lies wholly inside a private or special range.
fn is_public_v4(net: &Ipv4Net) -> bool {
    !NON_PUBLIC_V4
        .iter()
        .any(|&(addr, len)| Ipv4Net::new(addr, len).is_ok_and(|range| range.contains(net)))
}

fn is_public_v6(net: &Ipv6Net) -> bool {
    !NON_PUBLIC_V6
        .iter()
        .any(|&(addr, len)| Ipv6Net::new(addr, len).is_ok_and(|range| range.contains(net)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(raw: &str) -> bool {
        Source::cidr(raw).is_internet_wide(WidePrefixes::default())
    }

    #[test]
    fn protocols_by_name_and_number() {
        assert_eq!(Protocol::parse("TCP"), Some(Protocol::Tcp));
        assert_eq!(Protocol::parse("6"), Some(Protocol::Tcp));
        assert_eq!(Protocol::parse("17"), Some(Protocol::Udp));
        assert_eq!(Protocol::parse("1"), Some(Protocol::Icmp));
        assert_eq!(Protocol::parse("58"), Some(Protocol::Icmpv6));
        assert_eq!(Protocol::parse("-1"), Some(Protocol::All));
        assert_eq!(Protocol::parse("47"), Some(Protocol::Other(47)));
        assert!(Protocol::parse("47").unwrap().is_all_traffic());
        assert_eq!(Protocol::parse("gre-ish"), None);
    }

    #[test]
    fn port_ranges() {
        assert_eq!(PortRange::from_bounds(None, None), PortRange::ALL);
        assert_eq!(PortRange::from_bounds(Some(-1), Some(-1)), PortRange::ALL);
        let r = PortRange::from_bounds(Some(20), Some(23));
        assert!(r.contains(22) && r.contains(20) && r.contains(23) && !r.contains(24));
        assert_eq!(r.count(), 4);
        assert_eq!(PortRange::from_bounds(Some(23), Some(20)), r);
    }

    #[test]
    fn cidrs_are_masked_not_compared() {
        assert_eq!(Source::cidr("8.8.8.8/0"), Source::cidr("0.0.0.0/0"));
        assert!(wide("208.236.235.254/0"));
        assert!(wide("0.0.0.0/1") && wide("128.0.0.0/1"));
        assert!(wide("::/0") && wide("2000::/3") && wide("2001:db8::1/0"));
        assert!(!wide("10.0.0.0/8"), "private /8 is not the internet");
        assert!(!wide("203.0.113.0/24"));
        assert!(!wide("fd00::/8"));
        assert!(!wide("2001:db8::/32"));
        assert!(matches!(Source::cidr("0.0.0.0/33"), Source::Unparsed(_)));
        assert!(matches!(Source::cidr("anywhere"), Source::Unparsed(_)));
        assert_eq!(Source::cidr("203.0.113.7"), Source::cidr("203.0.113.7/32"));
    }

    #[test]
    fn wide_public_sources_are_public_and_narrower_than_the_internet() {
        let wide_public = |raw: &str| {
            Source::cidr(raw)
                .is_wide_public(WidePrefixes::default(), WidePrefixes { ipv4: 16, ipv6: 32 })
        };
        assert!(wide_public("52.0.0.0/10") && wide_public("203.0.0.0/15"));
        assert!(wide_public("2600:1f00::/24") && wide_public("2a05::/31"));
        assert!(!wide_public("203.0.0.0/16"), "not wider than /16");
        assert!(!wide_public("2a05::/32"));
        assert!(
            !wide_public("0.0.0.0/0") && !wide_public("0.0.0.0/1"),
            "internet-wide"
        );
        assert!(!wide_public("2000::/3"));
        assert!(!wide_public("10.0.0.0/8") && !wide_public("172.16.0.0/12"));
        assert!(!wide_public("100.64.0.0/10") && !wide_public("fd00::/8"));
        assert!(!wide_public("0.0.0.0/33"), "not a network at all");
    }
}
