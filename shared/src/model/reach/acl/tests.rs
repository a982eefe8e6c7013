//! Which network ACL a subnet has and what it lets in and out.

use super::super::test_support::{acl, defaults, entry, open_entries, public_network, subnet};
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
            why: "network ACL acl-1 denies tcp/22 from the IPv4 internet (rule #90)".to_string(),
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
fn a_deny_of_a_zero_prefix_denies_all_even_unmasked() {
    for raw in ["1.2.3.4/0", "2001:db8::1/0"] {
        let mut deny = entry(90, false, "6", Some((22, 22)), "0.0.0.0/0", false);
        deny.cidr = raw
            .parse()
            .map(Source::Cidr)
            .unwrap_or(Source::Unparsed(raw.to_string()));
        let family = if raw.contains(':') {
            Family::Ipv6
        } else {
            Family::Ipv4
        };
        let allow = entry(100, false, "-1", None, "0.0.0.0/0", true);
        let allow6 = entry(101, false, "-1", None, "::/0", true);
        let v = judge(vec![deny, allow, allow6], Protocol::Tcp, 22, family);
        assert!(
            matches!(&v, AclVerdict::Denies { entries, .. } if entries == &vec![r("acl-1", 90, false)]),
            "{raw}: {v:?}"
        );
    }
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
            why: "the inbound entries of network ACL acl-1 were not all read (no default rule *)"
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
    network
        .network_acls
        .push(acl("acl-x", "vpc-1", false, &["subnet-b"], vec![]));
    assert_eq!(
        acl_for(&network, "subnet-b"),
        Err(Unknown::new(
            "network ACL acl-x of subnet-b belongs to vpc-1, the subnet to vpc-b"
        ))
    );
    network
        .network_acls
        .retain(|a| a.vpc_id != "vpc-b" && a.id != "acl-x");
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
