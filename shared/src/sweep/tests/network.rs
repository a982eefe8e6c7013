//! The way in as the sweep reads it (load balancers, target groups, routes,
//! network ACLs, subnets): each ELB and NET rule fires with the id its event
//! gives, its secure counterpart gives nothing, and a kind that could not be
//! read leaves the place incomplete and nothing resolved.

use std::collections::BTreeMap;

use super::*;
use crate::model::elb::{
    Action as LbAction, LbType, Listener, ListenerRule, LoadBalancer, Redirect, Scheme, Target,
    TargetGroup, ACCESS_LOGS, DELETION_PROTECTION, DESYNC_MITIGATION_MODE,
    DROP_INVALID_HEADER_FIELDS,
};
use crate::model::reach::test_support::{acl, entry, igw, route, subnet, table};
use crate::model::reach::{Fact, Network};
use crate::ports::estate::{
    InterfaceState, ListenerState, LoadBalancerState, TargetGroupState, Unread,
};

pub(super) const ALB: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188";
pub(super) const NLB: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/net/edge/7a1b2c3d4e5f6a7b";
pub(super) const TG: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/api/73e2d6bc24d8a067";

pub(super) fn lb(arn: &str, lb_type: LbType, scheme: Scheme, groups: &[&str]) -> LoadBalancer {
    LoadBalancer {
        arn: Some(arn.to_string()),
        name: arn.rsplit('/').nth(1).unwrap_or_default().to_string(),
        lb_type,
        type_defaulted: false,
        scheme,
        scheme_defaulted: false,
        security_groups: groups.iter().map(|g| g.to_string()).collect(),
        vpc_id: Some("vpc-1".to_string()),
        subnets: vec!["subnet-1".to_string()],
    }
}

fn attributes(secure: bool) -> Option<BTreeMap<String, String>> {
    let on = if secure { "true" } else { "false" };
    Some(
        [
            (DROP_INVALID_HEADER_FIELDS, on),
            (ACCESS_LOGS, on),
            (DELETION_PROTECTION, on),
            (DESYNC_MITIGATION_MODE, "defensive"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    )
}

pub(super) fn forward() -> LbAction {
    LbAction {
        kind: "forward".to_string(),
        target_groups: vec![TG.to_string()],
        redirect: None,
    }
}

fn to_https() -> LbAction {
    LbAction {
        kind: "redirect".to_string(),
        target_groups: Vec::new(),
        redirect: Some(Redirect {
            protocol: Some("HTTPS".to_string()),
            port: Some("443".to_string()),
            status_code: Some("HTTP_301".to_string()),
        }),
    }
}

pub(super) fn listener(
    lb: &str,
    id: &str,
    protocol: &str,
    port: i64,
    action: LbAction,
) -> ListenerState {
    let arn = lb.replace(":loadbalancer/", ":listener/") + "/" + id;
    let encrypted = protocol == "HTTPS" || protocol == "TLS";
    ListenerState {
        listener: Listener {
            arn: Some(arn),
            load_balancer: Some(lb.to_string()),
            lb_type: LbType::from_arn(lb),
            protocol: Some(protocol.to_string()),
            port: Some(port),
            ssl_policy: encrypted.then(|| "ELBSecurityPolicy-TLS13-1-2-Res-2021-06".to_string()),
            ssl_policy_defaulted: false,
            default_actions: Some(vec![action]),
            moves: true,
        },
        rules: Some(Vec::new()),
    }
}

pub(super) fn target_group(protocol: &str) -> TargetGroupState {
    TargetGroupState {
        group: TargetGroup {
            created: true,
            arn: Some(TG.to_string()),
            name: "api".to_string(),
            protocol: Some(protocol.to_string()),
            port: Some(8080),
            target_type: Some("ip".to_string()),
            health_check_protocol: Some(protocol.to_string()),
            health_check_defaulted: false,
            health_check_enabled: Some(true),
            vpc_id: Some("vpc-1".to_string()),
        },
        targets: Some(vec![Target {
            id: "10.0.1.5".to_string(),
            port: Some(8080),
            availability_zone: None,
        }]),
    }
}

/// The task behind the target group, in subnet-1: its address, and a
/// public IP when `public`.
fn task_interface(public: bool) -> InterfaceState {
    InterfaceState {
        id: "eni-task".to_string(),
        vpc_id: "vpc-1".to_string(),
        subnet_id: "subnet-1".to_string(),
        private_ips: vec!["10.0.1.5".to_string()],
        instance_id: None,
        description: "arn:aws:ecs:eu-west-1:111122223333:attachment/0f1e".to_string(),
        public_ip: public.then(|| "54.1.2.3".to_string()),
        groups: vec!["sg-task".to_string()],
    }
}

/// vpc-1: subnet-1 maps public IPs and sits on the main table, which
/// sends everything to the attached igw-1; acl-1 admits SSH from anywhere.
fn open_network() -> Network {
    let mut public = subnet("subnet-1", "vpc-1");
    public.map_public_ip_on_launch = Some(true);
    Network {
        subnets: vec![public],
        route_tables: vec![table(
            "rtb-main",
            "vpc-1",
            true,
            &[],
            vec![route("10.0.0.0/16", "local"), route("0.0.0.0/0", "igw-1")],
        )],
        network_acls: vec![acl(
            "acl-1",
            "vpc-1",
            true,
            &[],
            vec![entry(100, false, "6", Some((22, 22)), "0.0.0.0/0", true)],
        )],
        internet_gateways: vec![igw("igw-1", &["vpc-1"])],
        unread: BTreeMap::new(),
    }
}

/// The same VPC with nothing open: no public IPs at launch, the route out
/// through a NAT gateway, SSH only from the office.
fn closed_network() -> Network {
    let mut private = subnet("subnet-1", "vpc-1");
    private.map_public_ip_on_launch = Some(false);
    Network {
        subnets: vec![private],
        route_tables: vec![table(
            "rtb-main",
            "vpc-1",
            true,
            &[],
            vec![route("10.0.0.0/16", "local"), route("0.0.0.0/0", "nat-1")],
        )],
        network_acls: vec![acl(
            "acl-1",
            "vpc-1",
            true,
            &[],
            vec![entry(100, false, "6", Some((22, 22)), "10.0.0.0/8", true)],
        )],
        internet_gateways: vec![igw("igw-1", &["vpc-1"])],
        unread: BTreeMap::new(),
    }
}

/// An internet-facing ALB with an HTTP listener that forwards, its
/// attributes off, a group open on 22 (no listener serves it); an NLB
/// without groups; a plain-HTTP target group whose task has a public IP
/// and a group open on its port; the open VPC.
fn open_estate() -> Estate {
    let mut e = estate();
    e.groups
        .push(group("sg-alb", vec![rule("sgr-alb", 22, "0.0.0.0/0")], &[]));
    e.groups.push(group(
        "sg-task",
        vec![rule("sgr-task", 8080, "0.0.0.0/0")],
        &[],
    ));
    e.load_balancers = vec![
        LoadBalancerState {
            load_balancer: lb(
                ALB,
                LbType::Application,
                Scheme::InternetFacing,
                &["sg-alb"],
            ),
            attributes: attributes(false),
            listeners: Some(vec![listener(ALB, "l-http", "HTTP", 80, forward())]),
        },
        LoadBalancerState {
            load_balancer: lb(NLB, LbType::Network, Scheme::InternetFacing, &[]),
            attributes: attributes(true),
            listeners: Some(Vec::new()),
        },
    ];
    e.target_groups = vec![target_group("HTTP")];
    e.interfaces = vec![task_interface(true)];
    e.network = open_network();
    e
}

/// The secure counterpart of each: an HTTP listener that only redirects,
/// attributes on, an NLB with a group, an HTTPS target group whose task
/// has no public IP, the closed VPC.
fn closed_estate() -> Estate {
    let mut e = estate();
    e.groups.push(group(
        "sg-alb",
        vec![rule("sgr-alb", 443, "0.0.0.0/0")],
        &[],
    ));
    e.groups.push(group(
        "sg-nlb",
        vec![rule("sgr-nlb", 443, "10.0.0.0/8")],
        &[],
    ));
    e.groups.push(group(
        "sg-task",
        vec![rule("sgr-task", 8080, "10.0.0.0/16")],
        &[],
    ));
    e.load_balancers = vec![
        LoadBalancerState {
            load_balancer: lb(
                ALB,
                LbType::Application,
                Scheme::InternetFacing,
                &["sg-alb"],
            ),
            attributes: attributes(true),
            listeners: Some(vec![
                listener(ALB, "l-http", "HTTP", 80, to_https()),
                listener(ALB, "l-https", "HTTPS", 443, forward()),
            ]),
        },
        LoadBalancerState {
            load_balancer: lb(NLB, LbType::Network, Scheme::InternetFacing, &["sg-nlb"]),
            attributes: attributes(true),
            listeners: Some(vec![listener(NLB, "l-tls", "TLS", 443, forward())]),
        },
    ];
    e.target_groups = vec![target_group("HTTPS")];
    e.interfaces = vec![task_interface(false)];
    e.network = closed_network();
    e
}

fn network_rules(seen: &[Seen]) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &str)> = seen
        .iter()
        .filter(|s| s.finding.rule.starts_with("ELB-") || s.finding.rule.starts_with("NET-"))
        .map(|s| (s.resource().to_string(), s.finding.rule))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn detail<'s>(seen: &'s [Seen], rule: &str) -> &'s str {
    seen.iter()
        .find(|s| s.finding.rule == rule)
        .map(|s| s.finding.detail.as_str())
        .unwrap_or_default()
}

#[test]
fn each_load_balancer_and_vpc_rule_fires_with_its_events_id() {
    let seen = judge(
        ACCOUNT,
        REGION,
        &open_estate(),
        &Policy::embedded(),
        &[],
        TODAY,
    );
    let found = network_rules(&seen);
    let alb = "app/web/50dc6c495c0c9188".to_string();
    let nlb = "net/edge/7a1b2c3d4e5f6a7b".to_string();
    let tg = "api/73e2d6bc24d8a067".to_string();
    let http = "app/web/50dc6c495c0c9188/l-http".to_string();
    assert_eq!(
        found,
        [
            ("acl-1".to_string(), "NET-002"),
            (tg.clone(), "ELB-008"),
            (tg, "ELB-011"),
            (alb.clone(), "ELB-004"),
            (alb.clone(), "ELB-006"),
            (alb.clone(), "ELB-007"),
            (alb, "ELB-010"),
            (http, "ELB-001"),
            (nlb, "ELB-009"),
            ("rtb-main".to_string(), "NET-001"),
            ("subnet-1".to_string(), "NET-003"),
        ]
    );
    // What the route reaches is read from the interfaces in the subnets
    // the main table serves.
    assert_eq!(
        detail(&seen, "NET-001"),
        "rtb-main routes 0.0.0.0/0 to igw-1: reaches task interface eni-task (arn:aws:ecs:eu-west-1:111122223333:attachment/0f1e)"
    );
    assert!(
        detail(&seen, "ELB-011").contains("public address 54.1.2.3 and sg-task: tcp 8080"),
        "{}",
        detail(&seen, "ELB-011")
    );
    assert!(detail(&seen, "ELB-010").contains("sg-alb"), "{seen:?}");
}

#[test]
fn the_secure_counterparts_give_nothing() {
    let seen = judge(
        ACCOUNT,
        REGION,
        &closed_estate(),
        &Policy::embedded(),
        &[],
        TODAY,
    );
    assert_eq!(network_rules(&seen), []);
}

#[test]
fn a_listener_rule_that_forwards_on_an_http_listener_is_its_create_rule() {
    let mut e = closed_estate();
    let forwarding = ListenerRule {
        arn: Some(format!(
            "{}/r-api",
            ALB.replace(":loadbalancer/", ":listener-rule/") + "/l-http"
        )),
        listener: e.load_balancers[0].listeners.as_ref().unwrap()[0]
            .listener
            .arn
            .clone(),
        lb_type: None,
        actions: Some(vec![forward()]),
    };
    e.load_balancers[0].listeners.as_mut().unwrap()[0].rules = Some(vec![forwarding]);
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    assert_eq!(
        network_rules(&seen),
        [(
            "app/web/50dc6c495c0c9188/l-http/r-api".to_string(),
            "ELB-001"
        )]
    );
}

#[test]
fn what_was_not_read_is_never_taken_for_aws_defaults_or_for_none() {
    let mut e = open_estate();
    // The attributes and listeners of the ALB could not be read: no
    // attribute finding from AWS's defaults, no ELB-010 without listeners.
    e.load_balancers[0].attributes = None;
    e.load_balancers[0].listeners = None;
    e.unread.push(Unread {
        what: "DescribeNetworkInterfaces".to_string(),
        error: AwsError {
            operation: "DescribeNetworkInterfaces",
            code: Some("UnauthorizedOperation".to_string()),
            message: "denied".to_string(),
            retryable: false,
        },
    });
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    let alb: Vec<&str> = network_rules(&seen)
        .into_iter()
        .filter(|(r, _)| r == "app/web/50dc6c495c0c9188")
        .map(|(_, rule)| rule)
        .collect();
    assert!(alb.is_empty(), "{alb:?}");
    // What the route reaches is not known: said, never "nothing".
    assert_eq!(
        detail(&seen, "NET-001"),
        "rtb-main routes 0.0.0.0/0 to igw-1: which ECS tasks and container instances sit in its subnets was not read"
    );
    // Whether the target is reached directly is not known: no finding.
    assert!(detail(&seen, "ELB-011").is_empty());
}

#[test]
fn a_route_to_a_gateway_not_attached_to_its_vpc_or_a_blackhole_is_no_way_in() {
    let mut e = open_estate();
    e.network.internet_gateways = vec![igw("igw-1", &["vpc-2"])];
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    assert!(detail(&seen, "NET-001").is_empty());
    let mut e = open_estate();
    e.network.route_tables[0].routes[1].active = false;
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    assert!(detail(&seen, "NET-001").is_empty());
    // A main table whose VPC's subnets were not read: what it serves is unknown.
    let mut e = open_estate();
    e.network.subnets.clear();
    e.network
        .unread
        .insert(Fact::Subnets, "UnauthorizedOperation".to_string());
    let seen = judge(ACCOUNT, REGION, &e, &Policy::embedded(), &[], TODAY);
    assert!(
        detail(&seen, "NET-001").ends_with("was not read"),
        "{}",
        detail(&seen, "NET-001")
    );
}

#[tokio::test]
async fn an_unread_kind_leaves_the_place_incomplete_and_resolves_nothing() {
    let policy = Policy::embedded();
    let h = Harness::new(open_estate());
    let first = h.sweep(&policy, "2026-12-01T10:00:00Z", false).await;
    assert!(first.seen.iter().any(|s| s.finding.rule == "NET-002"));
    // The ACLs could not be read: their list is empty, and that is not "none".
    {
        let mut e = h.estate.estate.lock().unwrap();
        e.network.network_acls.clear();
        e.network
            .unread
            .insert(Fact::NetworkAcls, "UnauthorizedOperation".to_string());
        e.unread.push(Unread {
            what: "DescribeNetworkAcls".to_string(),
            error: AwsError {
                operation: "DescribeNetworkAcls",
                code: Some("UnauthorizedOperation".to_string()),
                message: "denied".to_string(),
                retryable: false,
            },
        });
    }
    let second = h.sweep(&policy, "2026-12-01T11:00:00Z", false).await;
    assert!(!second.unread.is_empty());
    assert!(!second.seen.iter().any(|s| s.finding.rule == "NET-002"));
    let status_of = |records: &[crate::state::Record]| {
        records
            .iter()
            .find(|r| r.rule == "NET-002")
            .map(|r| r.status)
    };
    let (records, _) = crate::ports::StateStore::everything(&h.state)
        .await
        .unwrap();
    assert_eq!(status_of(&records), Some(Status::Open));
    // Read again and closed: now it resolves.
    {
        let mut e = h.estate.estate.lock().unwrap();
        *e = open_estate();
        e.network.network_acls = closed_network().network_acls;
    }
    h.sweep(&policy, "2026-12-01T12:00:00Z", false).await;
    let (records, _) = crate::ports::StateStore::everything(&h.state)
        .await
        .unwrap();
    assert_eq!(status_of(&records), Some(Status::Resolved));
}
