//! End to end: the network-guard handler against moto server. The alert is
//! read back from an SQS queue subscribed to the topic.
//! - A route to an internet gateway added to a VPC's main table: the guard
//!   reads the table's VPC and network from moto (DescribeRouteTables,
//!   DescribeSubnets, DescribeNetworkAcls, DescribeInternetGateways) and the
//!   interfaces in the subnets it serves (DescribeNetworkInterfaces), and the
//!   alert names the ECS task's interface there. The same route to a NAT
//!   gateway sends nothing.
//! - A subnet moved onto a public table is alerted; onto a private one not.
//! - An HTTP listener forwarding on an internet-facing ALB: the record names
//!   the load balancer only by ARN; the guard reads its scheme from moto
//!   (DescribeLoadBalancers) and alerts ELB-001. The same on an internal ALB
//!   does not.
//! - An instance registered with a target group that admits the internet on
//!   the port it serves, with a public address: ELB-011.
//! - Two VPCs with the same addresses: an ip target is matched in its target
//!   group's VPC, never by its private address alone (mutation-checked: the
//!   other VPC's public, open interface is otherwise taken for the target).
//!
//! moto does not create interfaces for ECS tasks; the test creates one with
//! the description ECS gives a task's attachment.

use access_guard::config::FunctionConfig;
use access_guard::lambda::network_guard::{handle, Deps};
use access_guard_e2e::{envelope, findings, unique, AlertSink, Emulator};
use aws_sdk_elasticloadbalancingv2 as elbv2;
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

/// Medium findings alert (NET-002, NET-003 and ELB-001 are medium).
fn deps(emu: &Emulator, sink: &AlertSink) -> Deps {
    let topic = sink.topic_arn.clone();
    let config = FunctionConfig::from_lookup(move |name| match name {
        "ACCESS_GUARD_TOPIC_ARN" => Some(topic.clone()),
        "ACCESS_GUARD_NOTIFY_MIN_SEVERITY" => Some("medium".to_string()),
        _ => None,
    })
    .expect("config");
    Deps::new(&emu.sdk, config)
}

/// A VPC with two subnets: `a` on the main table (no route out) with an
/// ECS task's interface in it, `b` on its own table. Returns (vpc, main
/// table, table of b, subnet a, subnet b, the task's interface, igw).
struct Vpc {
    id: String,
    main_table: String,
    other_table: String,
    subnet_a: String,
    task_eni: String,
    igw: String,
}

async fn vpc(emu: &Emulator) -> Vpc {
    let ec2 = &emu.ec2;
    let id = ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .send()
        .await
        .expect("CreateVpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string();
    let subnet = |cidr: &'static str| {
        let id = id.clone();
        async move {
            ec2.create_subnet()
                .vpc_id(id)
                .cidr_block(cidr)
                .send()
                .await
                .expect("CreateSubnet")
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("subnet id")
                .to_string()
        }
    };
    let subnet_a = subnet("10.20.1.0/24").await;
    let subnet_b = subnet("10.20.2.0/24").await;
    let tables = ec2
        .describe_route_tables()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&id)
                .build(),
        )
        .send()
        .await
        .expect("DescribeRouteTables");
    let main_table = tables
        .route_tables()
        .iter()
        .find(|t| t.associations().iter().any(|a| a.main() == Some(true)))
        .and_then(|t| t.route_table_id())
        .expect("the main table")
        .to_string();
    let other_table = ec2
        .create_route_table()
        .vpc_id(&id)
        .send()
        .await
        .expect("CreateRouteTable")
        .route_table()
        .and_then(|t| t.route_table_id())
        .expect("table id")
        .to_string();
    ec2.associate_route_table()
        .route_table_id(&other_table)
        .subnet_id(&subnet_b)
        .send()
        .await
        .expect("AssociateRouteTable");
    let igw = ec2
        .create_internet_gateway()
        .send()
        .await
        .expect("CreateInternetGateway")
        .internet_gateway()
        .and_then(|g| g.internet_gateway_id())
        .expect("igw id")
        .to_string();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&id)
        .send()
        .await
        .expect("AttachInternetGateway");
    let task_eni = ec2
        .create_network_interface()
        .subnet_id(&subnet_a)
        .description(format!(
            "arn:aws:ecs:eu-west-1:{}:attachment/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
            access_guard_e2e::ACCOUNT
        ))
        .send()
        .await
        .expect("CreateNetworkInterface")
        .network_interface()
        .and_then(|n| n.network_interface_id())
        .expect("eni id")
        .to_string();
    Vpc {
        id,
        main_table,
        other_table,
        subnet_a,
        task_eni,
        igw,
    }
}

fn route_event(table: &str, target: (&str, &str)) -> Value {
    let mut request = json!({"routeTableId": table, "destinationCidrBlock": "0.0.0.0/0"});
    request[target.0] = json!(target.1);
    envelope("ec2", "CreateRoute", request, json!({"_return": true}))
}

#[tokio::test]
async fn a_route_to_the_internet_names_the_ecs_tasks_it_exposes() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let deps = deps(&emu, &sink);
    let v = vpc(&emu).await;
    // The task's group (the VPC's default, in moto) admits 443 from anywhere.
    let default_group = emu
        .ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&v.id)
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroups")
        .security_groups()
        .first()
        .and_then(|g| g.group_id())
        .expect("the default group")
        .to_string();
    emu.ec2
        .authorize_security_group_ingress()
        .group_id(&default_group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("AuthorizeSecurityGroupIngress");
    emu.ec2
        .create_route()
        .route_table_id(&v.main_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&v.igw)
        .send()
        .await
        .expect("CreateRoute");

    let verdict = handle(
        LambdaEvent::new(
            route_event(&v.main_table, ("gatewayId", &v.igw)),
            access_guard_e2e::context(),
        ),
        &deps,
    )
    .await
    .expect("handler");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1, "{verdict}");
    let found = findings(&alerts[0].doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "NET-001");
    assert!(
        found[0]
            .1
            .contains(&format!("task interface {}", v.task_eni)),
        "the task in the main table's subnet: {found:?}"
    );
    assert!(
        found[0].1.contains(&format!(
            "open to the internet on tcp 443 ({default_group})"
        )),
        "and the ports its group opens: {found:?}"
    );
    assert!(
        alerts[0].doc["could_not_evaluate"].is_null(),
        "{}",
        alerts[0].doc
    );

    // Outbound through a NAT gateway: not the way in, nothing sent.
    let verdict = handle(
        LambdaEvent::new(
            route_event(&v.main_table, ("natGatewayId", "nat-0123456789abcdef0")),
            access_guard_e2e::context(),
        ),
        &deps,
    )
    .await
    .expect("handler");
    assert!(
        verdict["findings"].as_array().unwrap().is_empty(),
        "{verdict}"
    );
    assert_eq!(sink.alerts(&emu).await.len(), 0);
}

#[tokio::test]
async fn a_subnet_moved_onto_a_public_table_is_alerted_and_onto_a_private_one_is_not() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let deps = deps(&emu, &sink);
    let v = vpc(&emu).await;
    emu.ec2
        .create_route()
        .route_table_id(&v.other_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&v.igw)
        .send()
        .await
        .expect("CreateRoute");
    let associate = |table: &str| {
        envelope(
            "ec2",
            "AssociateRouteTable",
            json!({"routeTableId": table, "subnetId": v.subnet_a}),
            json!({"associationId": "rtbassoc-0123456789abcdef0"}),
        )
    };
    handle(
        LambdaEvent::new(associate(&v.other_table), access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        findings(&alerts[0].doc),
        [(
            "NET-001".to_string(),
            format!(
                "{} now uses {}, which routes everything to {}: reaches task interface {} (arn:aws:ecs:eu-west-1:{}:attachment/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b) (its groups admit nothing from the internet)",
                v.subnet_a, v.other_table, v.igw, v.task_eni, access_guard_e2e::ACCOUNT
            )
        )]
    );

    let verdict = handle(
        LambdaEvent::new(associate(&v.main_table), access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");
    assert!(
        verdict["findings"].as_array().unwrap().is_empty(),
        "{verdict}"
    );
    assert!(verdict["could_not_evaluate"].is_null(), "{verdict}");
    assert_eq!(sink.alerts(&emu).await.len(), 0);
    let _ = &v.id;
}

/// An ALB in `v`, in subnet a and a second subnet `10.20.<octet>.0/24` (an
/// ALB needs two zones).
async fn load_balancer(
    emu: &Emulator,
    v: &Vpc,
    scheme: elbv2::types::LoadBalancerSchemeEnum,
    octet: u8,
) -> String {
    let client = elbv2::Client::new(&emu.sdk);
    let second = emu
        .ec2
        .create_subnet()
        .vpc_id(&v.id)
        .cidr_block(format!("10.20.{octet}.0/24"))
        .availability_zone("eu-west-1b")
        .send()
        .await
        .expect("CreateSubnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet")
        .to_string();
    client
        .create_load_balancer()
        .name(
            unique("web")
                .replace('_', "-")
                .chars()
                .take(30)
                .collect::<String>(),
        )
        .subnets(&v.subnet_a)
        .subnets(second)
        .scheme(scheme)
        .r#type(elbv2::types::LoadBalancerTypeEnum::Application)
        .send()
        .await
        .expect("CreateLoadBalancer")
        .load_balancers()
        .first()
        .and_then(|l| l.load_balancer_arn())
        .expect("arn")
        .to_string()
}

fn listener_event(load_balancer: &str) -> Value {
    envelope(
        "elasticloadbalancing",
        "CreateListener",
        json!({"loadBalancerArn": load_balancer, "protocol": "HTTP", "port": 80,
            "defaultActions": [{"type": "forward",
                "targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/web/73e2d6bc24d8a067"}]}),
        json!({"listeners": [{"listenerArn": format!("{}/0123456789abcdef",
            load_balancer.replace(":loadbalancer/", ":listener/")),
            "loadBalancerArn": load_balancer, "protocol": "HTTP", "port": 80,
            "defaultActions": [{"type": "forward",
                "targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/web/73e2d6bc24d8a067"}]}]}),
    )
}

#[tokio::test]
async fn an_http_listener_is_judged_by_the_scheme_read_from_the_load_balancer() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let deps = deps(&emu, &sink);
    let v = vpc(&emu).await;
    let public = load_balancer(
        &emu,
        &v,
        elbv2::types::LoadBalancerSchemeEnum::InternetFacing,
        30,
    )
    .await;
    handle(
        LambdaEvent::new(listener_event(&public), access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    let found = findings(&alerts[0].doc);
    assert!(
        found
            .iter()
            .any(|(rule, detail)| rule == "ELB-001" && detail.contains("internet-facing")),
        "{found:?}"
    );
    assert!(
        alerts[0].doc["could_not_evaluate"].is_null(),
        "{}",
        alerts[0].doc
    );

    let internal =
        load_balancer(&emu, &v, elbv2::types::LoadBalancerSchemeEnum::Internal, 31).await;
    let verdict = handle(
        LambdaEvent::new(listener_event(&internal), access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");
    let rules: Vec<&str> = verdict["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(!rules.contains(&"ELB-001"), "{verdict}");
    assert!(verdict["could_not_evaluate"].is_null(), "{verdict}");

    // Gone by the time the event arrives: said, never taken for a pass.
    let id = public.rsplit('/').next().unwrap_or_default();
    let gone = public.replace(id, "ffffffffffffffff");
    let verdict = handle(
        LambdaEvent::new(listener_event(&gone), access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");
    assert!(
        verdict["could_not_evaluate"]
            .as_str()
            .is_some_and(|u| u.contains("ELB-001")),
        "{verdict}"
    );
}

#[tokio::test]
async fn a_target_the_internet_reaches_around_the_load_balancer_is_alerted() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let deps = deps(&emu, &sink);
    let v = vpc(&emu).await;
    let ec2 = &emu.ec2;
    let group = group_open_on(&emu, &v, 8080, "0.0.0.0/0").await;
    let instance = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .network_interfaces(
            aws_sdk_ec2::types::InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&v.subnet_a)
                .groups(&group)
                .associate_public_ip_address(true)
                .build(),
        )
        .send()
        .await
        .expect("RunInstances")
        .instances()
        .first()
        .and_then(|i| i.instance_id())
        .expect("instance id")
        .to_string();
    let target_group = target_group(&emu, &v, elbv2::types::TargetTypeEnum::Instance).await;
    let event = envelope(
        "elasticloadbalancing",
        "RegisterTargets",
        json!({"targetGroupArn": target_group, "targets": [{"id": instance, "port": 8080}]}),
        json!(null),
    );
    let verdict = handle(LambdaEvent::new(event, access_guard_e2e::context()), &deps)
        .await
        .expect("handler");
    let found = findings(&verdict);
    assert!(
        found.iter().any(|(rule, detail)| rule == "ELB-011"
            && detail.contains(&instance)
            && detail.contains(&format!("{group}: tcp 8080 from 0.0.0.0/0"))),
        "{verdict}"
    );
    assert!(verdict["could_not_evaluate"].is_null(), "{verdict}");
    assert_eq!(sink.alerts(&emu).await.len(), 1, "high: alerted");
}

/// A VPC's interface at `ip` in subnet a, in `group`; with an Elastic IP
/// when `public`.
async fn interface_at(emu: &Emulator, v: &Vpc, ip: &str, group: &str, public: bool) {
    let eni = emu
        .ec2
        .create_network_interface()
        .subnet_id(&v.subnet_a)
        .private_ip_address(ip)
        .groups(group)
        .send()
        .await
        .expect("CreateNetworkInterface")
        .network_interface()
        .and_then(|n| n.network_interface_id())
        .expect("eni id")
        .to_string();
    if public {
        let allocation = emu
            .ec2
            .allocate_address()
            .domain(aws_sdk_ec2::types::DomainType::Vpc)
            .send()
            .await
            .expect("AllocateAddress")
            .allocation_id()
            .expect("allocation")
            .to_string();
        emu.ec2
            .associate_address()
            .allocation_id(allocation)
            .network_interface_id(eni)
            .send()
            .await
            .expect("AssociateAddress");
    }
}

/// An HTTP target group on port 8080 in `v`.
async fn target_group(emu: &Emulator, v: &Vpc, kind: elbv2::types::TargetTypeEnum) -> String {
    elbv2::Client::new(&emu.sdk)
        .create_target_group()
        .name(
            unique("tg")
                .replace('_', "-")
                .chars()
                .take(30)
                .collect::<String>(),
        )
        .protocol(elbv2::types::ProtocolEnum::Http)
        .port(8080)
        .vpc_id(&v.id)
        .target_type(kind)
        .send()
        .await
        .expect("CreateTargetGroup")
        .target_groups()
        .first()
        .and_then(|t| t.target_group_arn())
        .expect("arn")
        .to_string()
}

/// A group of `v` admitting tcp `port` from `cidr`.
async fn group_open_on(emu: &Emulator, v: &Vpc, port: i32, cidr: &str) -> String {
    let group = emu
        .ec2
        .create_security_group()
        .group_name(unique("svc"))
        .description("svc")
        .vpc_id(&v.id)
        .send()
        .await
        .expect("CreateSecurityGroup")
        .group_id()
        .expect("group id")
        .to_string();
    emu.ec2
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port)
                .to_port(port)
                .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(cidr).build())
                .build(),
        )
        .send()
        .await
        .expect("AuthorizeSecurityGroupIngress");
    group
}

#[tokio::test]
async fn an_ip_target_is_matched_in_its_target_groups_vpc_never_by_its_address_alone() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let deps = deps(&emu, &sink);
    // Two VPCs with the same addresses. In the target group's VPC the
    // target is private and closed; in the other, the same address is
    // public and open to the internet.
    let ours = vpc(&emu).await;
    let other = vpc(&emu).await;
    let closed = group_open_on(&emu, &ours, 8080, "10.0.0.0/8").await;
    interface_at(&emu, &ours, "10.20.1.77", &closed, false).await;
    let open = group_open_on(&emu, &other, 8080, "0.0.0.0/0").await;
    interface_at(&emu, &other, "10.20.1.77", &open, true).await;
    let target_group = target_group(&emu, &ours, elbv2::types::TargetTypeEnum::Ip).await;
    let register = envelope(
        "elasticloadbalancing",
        "RegisterTargets",
        json!({"targetGroupArn": target_group, "targets": [{"id": "10.20.1.77", "port": 8080}]}),
        json!(null),
    );
    let verdict = handle(
        LambdaEvent::new(register, access_guard_e2e::context()),
        &deps,
    )
    .await
    .expect("handler");
    assert!(
        verdict["findings"].as_array().unwrap().is_empty(),
        "the other VPC's interface is not the target: {verdict}"
    );
    assert!(verdict["could_not_evaluate"].is_null(), "{verdict}");
}
