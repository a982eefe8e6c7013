//! The access map computed from what the sweep read: every way into each
//! service and container instance, with its evidence, and the cases where
//! exposure tools are known to err answered right (a UDP rule never opens a
//! TCP listener; a private subnet is not reachable whatever the group says;
//! exposure per listener; a network load balancer without groups admits
//! every client; a hop not read makes the path possible, never absent).

use super::network::{forward, lb, listener, target_group, ALB, NLB, TG};
use super::*;
use crate::model::ci::{InstanceSettings, Said};
use crate::model::elb::{LbType, Scheme};
use crate::model::reach::test_support::{public_network, route, subnet, table};
use crate::model::svc::ServiceLoadBalancer;
use crate::model::td::PortMapping;
use crate::output::notify::Notification;
use crate::ports::estate::{InstanceState, LoadBalancerState};
use crate::report::map::{MapDocument, MapPath, PathKind, PathStatus};
use crate::rules::ec2_ci::Evidence;
use crate::rules::ecs_td::TaskRoleAccess;

const ROLE: &str = "arn:aws:iam::111122223333:role/payments";

fn from_group(id: &str, port: i64, group: &str) -> SgRule {
    SgRule {
        source: Source::Group {
            group_id: Some(group.to_string()),
            user_id: None,
        },
        ..rule(id, port, "0.0.0.0/0")
    }
}

fn udp(id: &str, port: i64, cidr: &str) -> SgRule {
    SgRule {
        ip_protocol: "udp".to_string(),
        protocol: Protocol::Udp,
        ..rule(id, port, cidr)
    }
}

/// The task definition serving tcp/8080 from `app`, its role admin.
fn serving_td() -> TaskDefinition {
    let mut td = privileged_td();
    td.containers[0].name = "app".to_string();
    td.containers[0].port_mappings = vec![PortMapping {
        container_port: Some(8080),
        host_port: None,
        container_port_range: None,
        protocol: Some("tcp".to_string()),
    }];
    td.task_role_arn = Some(ROLE.to_string());
    td
}

/// `subnet-1` public (route to igw-0ab, ACL open); `subnet-2` private
/// (its own table sends the internet to a NAT gateway).
fn network() -> crate::model::reach::Network {
    let mut n = public_network();
    n.subnets.push(subnet("subnet-2", "vpc-1"));
    n.route_tables.push(table(
        "rtb-2",
        "vpc-1",
        false,
        &["subnet-2"],
        vec![route("10.0.0.0/16", "local"), route("0.0.0.0/0", "nat-1")],
    ));
    n
}

fn service(name: &str, groups: &[&str], subnet: &str, public: bool) -> ServiceState {
    let mut s = public_service(groups);
    s.name = name.to_string();
    let awsvpc = s.settings.awsvpc.as_mut().unwrap();
    awsvpc.subnets = Some(vec![subnet.to_string()]);
    awsvpc.assign_public_ip = Some(public);
    s
}

fn behind(mut s: ServiceState, tg: &str) -> ServiceState {
    s.settings.load_balancers = Some(vec![ServiceLoadBalancer {
        target_group_arn: Some(tg.to_string()),
        load_balancer_name: None,
        container_name: Some("app".to_string()),
        container_port: Some(8080),
    }]);
    s
}

/// An internet-facing ALB on `sg-alb` (HTTP 80 from anywhere) forwarding
/// to the target group of `prod/web`, whose group admits only the ALB's;
/// `prod/public` with a public IP in the public subnet and 8080 open;
/// `prod/private` the same in the private subnet; the task role admin.
fn map_estate() -> Estate {
    let mut e = estate();
    e.network = network();
    e.groups = vec![
        group("sg-alb", vec![rule("sgr-alb80", 80, "0.0.0.0/0")], &[]),
        group(
            "sg-task",
            vec![from_group("sgr-fromalb", 8080, "sg-alb")],
            &[],
        ),
        group(
            "sg-open",
            vec![rule("sgr-open8080", 8080, "0.0.0.0/0")],
            &[],
        ),
    ];
    e.services = vec![
        behind(service("web", &["sg-task"], "subnet-1", false), TG),
        service("public", &["sg-open"], "subnet-1", true),
        service("private", &["sg-open"], "subnet-2", false),
    ];
    e.task_definitions = [(TD_ARN.to_string(), serving_td())].into();
    e.task_roles.insert(
        ROLE.to_string(),
        TaskRoleAccess {
            role: ROLE.to_string(),
            findings: Ok(vec![
                "arn:aws:iam::aws:policy/AdministratorAccess attached".to_string()
            ]),
        },
    );
    e.load_balancers = vec![LoadBalancerState {
        load_balancer: lb(
            ALB,
            LbType::Application,
            Scheme::InternetFacing,
            &["sg-alb"],
        ),
        attributes: None,
        listeners: Some(vec![listener(ALB, "l-http", "HTTP", 80, forward())]),
    }];
    e.target_groups = vec![target_group("HTTP")];
    e
}

fn mapped(e: &Estate) -> Vec<MapDocument> {
    crate::map::access_map(ACCOUNT, REGION, e, &Policy::embedded())
}

fn doc<'d>(docs: &'d [MapDocument], id: &str) -> &'d MapDocument {
    docs.iter()
        .find(|d| d.target.id == id)
        .unwrap_or_else(|| panic!("no document for {id}"))
}

fn paths(d: &MapDocument, kind: PathKind) -> Vec<&MapPath> {
    d.paths.iter().filter(|p| p.kind == kind).collect()
}

fn hop_ids(p: &MapPath) -> Vec<&str> {
    p.hops.iter().map(|h| h.id.as_str()).collect()
}

#[test]
fn the_load_balancer_path_runs_from_the_internet_to_the_container_with_its_evidence() {
    let docs = mapped(&map_estate());
    let web = doc(&docs, "prod/web");
    assert_eq!(
        web.severity,
        Some(Severity::Critical),
        "its worst end: admin: {web:#?}"
    );
    let lb_paths = paths(web, PathKind::LoadBalancer);
    assert_eq!(lb_paths.len(), 1);
    let p = lb_paths[0];
    assert_eq!(p.status, PathStatus::Open, "{p:?}");
    assert_eq!(
        hop_ids(p),
        [
            "internet",
            "igw-0ab",
            ALB,
            "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/web/50dc6c495c0c9188/l-http",
            TG,
            "sgr-fromalb",
            "prod/web"
        ]
    );
    assert_eq!(
        p.summary,
        "internet → igw-0ab → app/web/50dc6c495c0c9188 (internet-facing) → HTTP:80 → api (HTTP:8080) → sg-task tcp 8080 from sg-alb → service prod/web container app:8080 (task role payments: admin-level or wildcard)"
    );
    assert_eq!(
        p.hops[1].evidence,
        [
            "route rtb-1 0.0.0.0/0 → igw-0ab (subnet-1)",
            "acl acl-1 #100 in, #100 out"
        ]
    );
    assert!(
        p.hops[2].evidence[0].contains("sgr-alb80"),
        "{:?}",
        p.hops[2]
    );
    // No public IP and no group open to the internet: no direct path.
    assert!(paths(web, PathKind::Network).is_empty());
    assert_eq!(web.holds[0].severity, Severity::Critical);
    assert_eq!(
        web.holds[0].evidence,
        ["arn:aws:iam::aws:policy/AdministratorAccess attached"]
    );
}

#[test]
fn a_public_ip_in_a_public_subnet_is_open_and_in_a_private_one_closed() {
    let docs = mapped(&map_estate());
    let public = paths(doc(&docs, "prod/public"), PathKind::Network);
    assert_eq!(public.len(), 1);
    assert_eq!(public[0].status, PathStatus::Open);
    assert_eq!(
        hop_ids(public[0]),
        [
            "internet",
            "igw-0ab",
            "assignPublicIp",
            "sgr-open8080",
            "prod/public"
        ]
    );
    // 0.0.0.0/0 in the group, but the subnet routes nothing from the internet.
    let private = doc(&docs, "prod/private");
    let closed = paths(private, PathKind::Network);
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].status, PathStatus::Closed);
    assert_eq!(
        closed[0].why.as_deref(),
        Some("not reachable now: the interface in subnet-2 has no public address; subnet-2 has no route to an internet gateway (route table rtb-2)")
    );
    assert_eq!(private.severity, None, "nothing open, nothing possible");
}

#[test]
fn a_udp_rule_never_opens_a_tcp_listener_and_exposure_is_per_listener() {
    let mut e = map_estate();
    e.groups[0].rules = vec![
        udp("sgr-udp80", 80, "0.0.0.0/0"),
        rule("sgr-443", 443, "0.0.0.0/0"),
    ];
    e.load_balancers[0].listeners = Some(vec![
        listener(ALB, "l-http", "HTTP", 80, forward()),
        listener(ALB, "l-https", "HTTPS", 443, forward()),
    ]);
    let docs = mapped(&e);
    let lb_paths = paths(doc(&docs, "prod/web"), PathKind::LoadBalancer);
    let by_status: Vec<(&str, PathStatus)> = lb_paths
        .iter()
        .map(|p| (p.hops[3].label.as_str(), p.status))
        .collect();
    assert_eq!(
        by_status,
        [
            ("HTTPS:443", PathStatus::Open),
            ("HTTP:80", PathStatus::Closed)
        ]
    );
    assert_eq!(
        lb_paths[1].why.as_deref(),
        Some("no group of web (sg-alb) admits the internet on tcp/80")
    );
}

#[test]
fn an_internal_load_balancer_is_closed_and_an_nlb_without_groups_admits_every_client() {
    let mut e = map_estate();
    e.load_balancers[0].load_balancer.scheme = Scheme::Internal;
    let docs = mapped(&e);
    let p = paths(doc(&docs, "prod/web"), PathKind::LoadBalancer)[0];
    assert_eq!(p.status, PathStatus::Closed);
    assert_eq!(
        p.why.as_deref(),
        Some("web is internal: only its VPC reaches it")
    );

    // An NLB without groups passes the client's address: the task's group
    // must admit the internet itself.
    let mut e = map_estate();
    e.load_balancers = vec![LoadBalancerState {
        load_balancer: lb(NLB, LbType::Network, Scheme::InternetFacing, &[]),
        attributes: None,
        listeners: Some(vec![listener(NLB, "l-tcp", "TCP", 8080, forward())]),
    }];
    let docs = mapped(&e);
    let p = paths(doc(&docs, "prod/web"), PathKind::LoadBalancer)[0];
    assert_eq!(p.status, PathStatus::Closed, "{p:?}");
    assert_eq!(
        p.why.as_deref(),
        Some("the service's groups (sg-task) admit neither the internet (the load balancer passes the client's address) on tcp/8080")
    );
    assert_eq!(
        p.hops[2].evidence,
        ["no security groups: every client reaches every listener"]
    );
    e.groups[1]
        .rules
        .push(rule("sgr-task-open", 8080, "0.0.0.0/0"));
    let docs = mapped(&e);
    let p = paths(doc(&docs, "prod/web"), PathKind::LoadBalancer)[0];
    assert_eq!(p.status, PathStatus::Open, "{p:?}");
    assert_eq!(p.hops[5].id, "sgr-task-open");
}

#[test]
fn a_hop_not_read_makes_the_path_possible_never_absent() {
    // The ALB's group was not among those read.
    let mut e = map_estate();
    e.groups.remove(0);
    let docs = mapped(&e);
    let p = paths(doc(&docs, "prod/web"), PathKind::LoadBalancer)[0];
    assert_eq!(p.status, PathStatus::Possible, "{p:?}");
    assert_eq!(
        p.why.as_deref(),
        Some("sg-alb was not among the account's groups read")
    );
    assert_eq!(doc(&docs, "prod/web").severity, Some(Severity::Critical));

    // The route tables could not be read.
    let mut e = map_estate();
    e.network.route_tables.clear();
    e.network.unread.insert(
        crate::model::reach::Fact::RouteTables,
        "UnauthorizedOperation".to_string(),
    );
    let docs = mapped(&e);
    let public = paths(doc(&docs, "prod/public"), PathKind::Network);
    assert_eq!(public[0].status, PathStatus::Possible);
    assert!(
        public[0]
            .why
            .as_deref()
            .is_some_and(|w| w.contains("DescribeRouteTables: UnauthorizedOperation")),
        "{:?}",
        public[0].why
    );

    // A listener's rules not read, its default action elsewhere.
    let mut e = map_estate();
    let mut l = listener(ALB, "l-http", "HTTP", 80, forward());
    l.listener.default_actions = Some(Vec::new());
    l.rules = None;
    e.load_balancers[0].listeners = Some(vec![l]);
    let docs = mapped(&e);
    let p = paths(doc(&docs, "prod/web"), PathKind::LoadBalancer)[0];
    assert_eq!(p.status, PathStatus::Possible);
    assert!(
        p.why.as_deref().unwrap().contains("rules of listener"),
        "{p:?}"
    );
}

#[test]
fn a_listener_rule_that_forwards_is_a_hop_with_its_arn() {
    let mut e = map_estate();
    let rule_arn = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener-rule/app/web/50dc6c495c0c9188/l-http/r-1";
    let mut l = listener(ALB, "l-http", "HTTP", 80, forward());
    l.listener.default_actions = Some(Vec::new());
    l.rules = Some(vec![crate::model::elb::ListenerRule {
        arn: Some(rule_arn.to_string()),
        listener: l.listener.arn.clone(),
        lb_type: Some(LbType::Application),
        actions: Some(vec![forward()]),
    }]);
    e.load_balancers[0].listeners = Some(vec![l]);
    let docs = mapped(&e);
    let p = paths(doc(&docs, "prod/web"), PathKind::LoadBalancer)[0];
    assert_eq!(p.status, PathStatus::Open);
    assert_eq!(p.hops[4].id, rule_arn);
    assert_eq!(p.hops[4].label, "rule app/web/50dc6c495c0c9188/l-http/r-1");
}

#[test]
fn a_container_instance_with_ssh_open_is_a_host_path_to_every_task_on_it() {
    let mut e = map_estate();
    e.groups
        .push(group("sg-ssh", vec![rule("sgr-ssh", 22, "0.0.0.0/0")], &[]));
    e.instances.push(InstanceState {
        id: "i-0abc".to_string(),
        settings: InstanceSettings {
            http_tokens: Said::Set("optional".to_string()),
            hop_limit: Said::Set(2),
            public_ip: Said::Set(true),
            public_address: Some("203.0.113.7".to_string()),
            key_name: Said::Set("ops".to_string()),
            instance_profile: Said::Set(
                "arn:aws:iam::111122223333:instance-profile/ecs".to_string(),
            ),
            security_groups: Said::Set(vec!["sg-ssh".to_string()]),
            subnet: Some("subnet-1".to_string()),
            ..InstanceSettings::default()
        }
        .whole(),
        container_instance: Some(Evidence("registered in cluster prod".to_string())),
        auto_scaling_group: None,
    });
    let docs = mapped(&e);
    let host = doc(&docs, "i-0abc");
    let p = &host.paths[0];
    assert_eq!((p.kind, p.status), (PathKind::Host, PathStatus::Open));
    assert_eq!(
        hop_ids(p),
        ["internet", "igw-0ab", "203.0.113.7", "sgr-ssh", "i-0abc"]
    );
    assert_eq!(
        p.hops[4].evidence,
        ["key pair ops", "registered in cluster prod"]
    );
    assert_eq!(host.severity, Some(Severity::High));
    assert_eq!(host.paths.len(), 1, "{:?}", host.paths);
}

/// The alert's text (the message's `default`).
fn text(n: &Notification) -> String {
    serde_json::from_str::<serde_json::Value>(&n.message).unwrap()["default"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_sweep_records_each_way_in_alerts_it_when_it_opens_and_says_when_it_closes() {
    let mut h = Harness::new(map_estate());
    // The sweep reads the task role: AdministratorAccess attached.
    h.iam.roles = vec![crate::ports::RolePolicies {
        role: "payments".into(),
        managed: vec![("arn:aws:iam::aws:policy/AdministratorAccess".into(), None)],
        ..crate::ports::RolePolicies::default()
    }];
    let policy = Policy::embedded();
    let first = h.sweep(&policy, "2026-12-01T00:00:00Z", false).await;
    assert_eq!(first.map.len(), 3);
    let alert = text(&h.sent()[0]);
    assert!(
        alert.contains("[CRITICAL] MAP-PATH NEW PATH\n    prod/web: load-balancer: internet → igw-0ab → app/web/50dc6c495c0c9188 (internet-facing) → HTTP:80"),
        "{alert}"
    );
    assert!(
        alert.contains("service prod/public container app:8080"),
        "{alert}"
    );
    // Closed paths are not ways in: prod/private has none recorded.
    let recorded = h.state.records.lock().unwrap().clone();
    let mut paths: Vec<&str> = recorded
        .values()
        .filter(|r| r.rule == "MAP-PATH")
        .map(|r| r.resource.as_str())
        .collect();
    paths.sort_unstable();
    assert_eq!(paths, ["prod/public", "prod/web"], "{recorded:?}");

    h.sweep(&policy, "2026-12-01T06:00:00Z", false).await;
    assert_eq!(h.sent().len(), 1, "a path still open is not alerted again");

    // The ALB's group stops admitting the internet: that path closes.
    h.estate.estate.lock().unwrap().groups[0].rules.clear();
    let third = h.sweep(&policy, "2026-12-01T12:00:00Z", false).await;
    let closed: Vec<(&str, &str)> = third
        .report
        .resolved
        .iter()
        .map(|r| (r.rule.as_str(), r.resource.as_str()))
        .collect();
    assert_eq!(closed, [("MAP-PATH", "prod/web")]);
    let alert = text(&h.sent()[1]);
    assert!(
        alert.contains("- PATH CLOSED on prod/web: load-balancer: internet → igw-0ab → app/web/50dc6c495c0c9188"),
        "{alert}"
    );
}

#[tokio::test]
async fn the_cli_scan_keeps_the_map_out_of_its_findings() {
    // Without a state table (access-guard scan) the map is printed as the
    // map, never listed again as findings.
    let settings = GuardSettings::default();
    let estate = MemoryEstate {
        estate: std::sync::Mutex::new(map_estate()),
    };
    let policy = Policy::embedded();
    let result = PlaceSweep {
        account: ACCOUNT,
        region: REGION,
        run: "2026-12-01T00:00:00Z",
        estate: &estate,
        iam: &MemoryIam::default(),
        instances: &MemoryInstances::default(),
        state: None,
        notifier: None,
        organizations: None,
        remediation: None,
        policy: &policy,
        settings: &settings,
        now: "2026-12-01T00:00:00Z",
        today: TODAY,
    }
    .run()
    .await
    .unwrap();
    assert_eq!(result.map.len(), 3);
    assert!(result.report.findings.iter().all(|f| f.rule != "MAP-PATH"));
}

#[test]
fn a_service_connect_peer_is_a_way_in_as_open_as_the_caller() {
    let mut e = map_estate();
    let connect = |ports: &[&str]| {
        Some(crate::model::svc::ServiceConnect {
            enabled: true,
            namespace: Some("shop".to_string()),
            without_tls: ports.iter().map(|p| p.to_string()).collect(),
            ports: ports.iter().map(|p| p.to_string()).collect(),
        })
    };
    // prod/private serves `api` in the namespace; prod/public (open from
    // the internet) and prod/web call it; a fourth, with no way in, too.
    e.services[2].settings.service_connect = connect(&["api"]);
    e.services[1].settings.service_connect = connect(&[]);
    e.services[0].settings.service_connect = connect(&[]);
    let mut quiet = service("batch", &["sg-task"], "subnet-2", false);
    quiet.settings.service_connect = connect(&[]);
    e.services.push(quiet);
    let docs = mapped(&e);
    let private = doc(&docs, "prod/private");
    let peers: Vec<(&str, PathStatus)> = paths(private, PathKind::ServiceConnect)
        .iter()
        .map(|p| (p.hops[1].id.as_str(), p.status))
        .collect();
    assert_eq!(
        peers,
        [
            ("prod/public", PathStatus::Open),
            ("prod/web", PathStatus::Open),
            ("prod/batch", PathStatus::Closed)
        ]
    );
    let from_public = paths(private, PathKind::ServiceConnect)[0];
    assert_eq!(
        from_public.summary,
        "internet → service prod/public → Service Connect api (no TLS) → service prod/private (task role payments: admin-level or wildcard)"
    );
    assert!(from_public.hops[1].evidence[0].starts_with("open way in: internet → igw-0ab"));
    assert_eq!(
        private.severity,
        Some(Severity::Critical),
        "reached through its peers"
    );
    // A client-only service exposes nothing: nobody gets in through it.
    assert!(paths(doc(&docs, "prod/public"), PathKind::ServiceConnect).is_empty());
}

fn exec_principal(
    kind: crate::model::iam::access::PrincipalKind,
    name: &str,
    statement: &str,
) -> crate::model::iam::access::PrincipalPolicies {
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#);
    crate::model::iam::access::PrincipalPolicies {
        kind,
        name: name.to_string(),
        arn: format!("arn:aws:iam::111122223333:role/{name}"),
        documents: vec![crate::model::iam::PolicyDocument::parse_text(&text, "exec")
            .unwrap()
            .named(format!("inline policy {name}-exec"))],
        groups: Vec::new(),
        boundary: crate::model::iam::access::Boundary::None,
    }
}

#[test]
fn who_may_open_a_shell_is_a_path_and_conditions_make_it_possible() {
    use crate::model::iam::access::PrincipalKind;
    let mut e = map_estate();
    e.services[0].settings.enable_execute_command = Some(true);
    e.principals = Some(Ok(vec![
        exec_principal(
            PrincipalKind::Role,
            "ops",
            r#"{"Sid":"Exec","Effect":"Allow","Action":"ecs:ExecuteCommand","Resource":"*"}"#,
        ),
        exec_principal(
            PrincipalKind::Role,
            "dev",
            r#"{"Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/env":"dev"}}}"#,
        ),
        exec_principal(
            PrincipalKind::Role,
            "reader",
            r#"{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}"#,
        ),
        exec_principal(
            PrincipalKind::Role,
            "other-cluster",
            r#"{"Effect":"Allow","Action":"ecs:ExecuteCommand","Resource":"arn:aws:ecs:eu-west-1:111122223333:task/batch/*"}"#,
        ),
    ]));
    let docs = mapped(&e);
    let web = doc(&docs, "prod/web");
    let exec: Vec<(&str, PathStatus)> = paths(web, PathKind::Exec)
        .iter()
        .map(|p| (p.hops[0].label.as_str(), p.status))
        .collect();
    assert_eq!(
        exec,
        [
            ("role ops", PathStatus::Open),
            ("role dev", PathStatus::Possible)
        ]
    );
    let ops = paths(web, PathKind::Exec)[0];
    assert_eq!(
        ops.summary,
        "role ops → ECS Exec in cluster prod → shell in the tasks of service prod/web (task role payments: admin-level or wildcard)"
    );
    assert_eq!(
        ops.hops[0].evidence,
        ["inline policy ops-exec, Sid Exec allows ecs:ExecuteCommand on *"]
    );
    assert_eq!(
        ops.hops[1].evidence,
        [
            "enableExecuteCommand on the service",
            "cluster prod was not read: whether sessions are logged is unknown"
        ]
    );
    let dev = paths(web, PathKind::Exec)[1];
    assert_eq!(
        dev.why.as_deref(),
        Some("only when StringEquals aws:ResourceTag/env")
    );
    assert!(
        !dev.summary.contains("\"dev\""),
        "a condition's value is never shown"
    );
    // Exec off: no shell path, whoever is allowed.
    assert!(paths(doc(&docs, "prod/public"), PathKind::Exec).is_empty());

    // The principals could not be read: possible, saying why.
    e.principals = Some(Err(
        "GetAccountAuthorizationDetails: AccessDenied".to_string()
    ));
    let docs = mapped(&e);
    let p = paths(doc(&docs, "prod/web"), PathKind::Exec)[0];
    assert_eq!(p.status, PathStatus::Possible);
    assert_eq!(
        p.why.as_deref(),
        Some("the account's principals could not be read (GetAccountAuthorizationDetails: AccessDenied)")
    );
}

#[test]
fn an_ipv6_only_opening_is_possible_never_taken_for_the_ipv4_address() {
    // assignPublicIp gives an IPv4 address: whether the task has an IPv6
    // one is not known, so the IPv6 internet's path is possible.
    let mut e = map_estate();
    e.groups[2].rules = vec![rule("sgr-v6", 8080, "::/0")];
    let docs = mapped(&e);
    let p = paths(doc(&docs, "prod/public"), PathKind::Network)[0];
    assert_eq!(p.status, PathStatus::Possible, "{p:?}");
    assert_eq!(p.hops[3].id, "sgr-v6");
    // A udp rule on the port the task serves over tcp lets nothing in.
    e.groups[2].rules = vec![udp("sgr-udp", 8080, "0.0.0.0/0")];
    let docs = mapped(&e);
    let p = paths(doc(&docs, "prod/public"), PathKind::Network)[0];
    assert_eq!(p.status, PathStatus::Closed, "{p:?}");
    assert_eq!(
        p.why.as_deref(),
        Some("no group of the service (sg-open) admits the internet on tcp/8080")
    );
}

fn task(
    arn_id: &str,
    group: &str,
    interface: Option<&str>,
    instance: Option<&str>,
) -> crate::ports::estate::TaskState {
    crate::ports::estate::TaskState {
        cluster: "prod".to_string(),
        arn: format!("arn:aws:ecs:eu-west-1:111122223333:task/prod/{arn_id}"),
        group: Some(group.to_string()),
        task_definition: Some(TD_ARN.to_string()),
        launch_type: Some("FARGATE".to_string()),
        interface: interface.map(str::to_string),
        instance: instance.map(str::to_string),
    }
}

fn interface(id: &str, public: bool) -> crate::ports::estate::InterfaceState {
    crate::ports::estate::InterfaceState {
        id: id.to_string(),
        vpc_id: "vpc-1".to_string(),
        subnet_id: "subnet-1".to_string(),
        private_ips: vec!["10.0.1.9".to_string()],
        instance_id: None,
        description: "arn:aws:ecs:eu-west-1:111122223333:attachment/0a1b".to_string(),
        public_ip: public.then(|| "54.9.9.9".to_string()),
        groups: vec!["sg-open".to_string()],
    }
}

#[test]
fn a_standalone_task_with_a_public_ip_is_a_target_of_its_own() {
    let mut e = map_estate();
    e.tasks = vec![
        task("job1", "family:web", Some("eni-job1"), None),
        task("job2", "family:web", Some("eni-job2"), None),
        task("svc1", "service:public", Some("eni-job1"), None),
    ];
    e.interfaces = vec![interface("eni-job1", true), interface("eni-job2", false)];
    let docs = mapped(&e);
    let tasks: Vec<&str> = docs
        .iter()
        .filter(|d| d.target.kind == crate::report::map::TargetKind::Task)
        .map(|d| d.target.id.as_str())
        .collect();
    assert_eq!(
        tasks,
        ["prod/job1"],
        "no public IP, or a service's task: none"
    );
    let job = doc(&docs, "prod/job1");
    let p = paths(job, PathKind::Network)[0];
    assert_eq!(p.status, PathStatus::Open);
    assert_eq!(
        hop_ids(p),
        [
            "internet",
            "igw-0ab",
            "assignPublicIp",
            "sgr-open8080",
            "prod/job1"
        ]
    );
    assert_eq!(
        job.severity,
        Some(Severity::Critical),
        "its task role: admin"
    );
}

#[test]
fn a_service_on_instances_whose_metadata_its_containers_reach_holds_the_instance_role() {
    let mut e = map_estate();
    e.tasks = vec![task("w1", "service:web", None, Some("i-host"))];
    let host = |tokens: &str, hops: i64| InstanceState {
        id: "i-host".to_string(),
        settings: InstanceSettings {
            http_tokens: Said::Set(tokens.to_string()),
            hop_limit: Said::Set(hops),
            instance_profile: Said::Set(
                "arn:aws:iam::111122223333:instance-profile/ecs".to_string(),
            ),
            subnet: Some("subnet-2".to_string()),
            ..InstanceSettings::default()
        }
        .whole(),
        container_instance: Some(Evidence("registered in cluster prod".to_string())),
        auto_scaling_group: None,
    };
    e.instances = vec![host("required", 2)];
    let docs = mapped(&e);
    let web = doc(&docs, "prod/web");
    let imds: Vec<&crate::report::map::Hold> = web
        .holds
        .iter()
        .filter(|h| h.kind == crate::report::map::HoldKind::InstanceRole)
        .collect();
    assert_eq!(imds.len(), 1);
    assert_eq!(imds[0].label, "instance role of i-host (ecs) through IMDS");
    assert_eq!(imds[0].evidence, ["hop limit 2: a container reaches it"]);
    // The instance's own map names the tasks on it.
    let on_host = doc(&docs, "i-host");
    assert_eq!(
        on_host.holds[0].evidence,
        ["task prod/w1 of service prod/web"]
    );

    // IMDSv2 required and one hop: the containers cannot reach it.
    e.instances = vec![host("required", 1)];
    let docs = mapped(&e);
    assert!(doc(&docs, "prod/web")
        .holds
        .iter()
        .all(|h| h.kind != crate::report::map::HoldKind::InstanceRole));
    // IMDSv1 on: reached whatever the hop limit.
    e.instances = vec![host("optional", 1)];
    let docs = mapped(&e);
    assert!(doc(&docs, "prod/web")
        .holds
        .iter()
        .any(|h| h.kind == crate::report::map::HoldKind::InstanceRole));
}

#[test]
fn a_bridge_mode_service_is_reached_through_its_instances_host_ports() {
    let mut e = map_estate();
    let mut td = serving_td();
    td.network_mode = Some("bridge".to_string());
    td.containers[0].port_mappings[0].host_port = Some(8080);
    e.task_definitions = [(TD_ARN.to_string(), td.clone())].into();
    e.services[0].settings.awsvpc = None;
    e.tasks = vec![task("w1", "service:web", None, Some("i-host"))];
    e.groups.push(group(
        "sg-all",
        vec![SgRule {
            ip_protocol: "-1".to_string(),
            protocol: Protocol::All,
            from_port: None,
            to_port: None,
            ..rule("sgr-all", 0, "0.0.0.0/0")
        }],
        &[],
    ));
    let host = |group: &str| InstanceState {
        id: "i-host".to_string(),
        settings: InstanceSettings {
            http_tokens: Said::Set("required".to_string()),
            hop_limit: Said::Set(1),
            public_ip: Said::Set(true),
            public_address: Some("203.0.113.9".to_string()),
            security_groups: Said::Set(vec![group.to_string()]),
            subnet: Some("subnet-1".to_string()),
            ..InstanceSettings::default()
        }
        .whole(),
        container_instance: Some(Evidence("registered in cluster prod".to_string())),
        auto_scaling_group: None,
    };
    e.instances = vec![host("sg-open")];
    let docs = mapped(&e);
    let web = doc(&docs, "prod/web");
    let p = paths(web, PathKind::Host)[0];
    assert_eq!(p.status, PathStatus::Open, "{p:?}");
    assert_eq!(
        hop_ids(p),
        [
            "internet",
            "igw-0ab",
            "203.0.113.9",
            "sgr-open8080",
            "i-host",
            "prod/web"
        ]
    );
    assert_eq!(p.hops[4].label, "container instance i-host tcp/8080");

    // A dynamic host port, reached through a group that opens everything.
    let mut dynamic = td;
    dynamic.containers[0].port_mappings[0].host_port = Some(0);
    e.task_definitions = [(TD_ARN.to_string(), dynamic)].into();
    e.instances = vec![host("sg-all")];
    let docs = mapped(&e);
    let p = paths(doc(&docs, "prod/web"), PathKind::Host)[0];
    assert_eq!(
        p.hops[4].label,
        "container instance i-host tcp/32768 (dynamic host ports 32768-65535)"
    );
    // The group opens only 8080: the dynamic range is not reached.
    e.instances = vec![host("sg-open")];
    let docs = mapped(&e);
    assert!(paths(doc(&docs, "prod/web"), PathKind::Host).is_empty());
}
