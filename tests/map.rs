//! The access map end to end (DESIGN §15), against moto server: the seed's
//! own estate (a cluster with Container Insights, a task definition and a
//! service) in a fresh account, with an internet-facing ALB in front of one
//! service, a public-IP service in a public subnet, one in a private
//! subnet, a container instance with SSH open and a key pair, ECS Exec on
//! the service behind the ALB and a role allowed `ecs:ExecuteCommand` on
//! `*`, and a task role with AdministratorAccess. The sweep's reads run as
//! `access-guard scan` runs them.
//!
//! - The map, as a tree, equals its reviewed snapshot, with moto's ids
//!   replaced by names. The names come from what moto answers to its own
//!   Describe calls (the rules' `sgr-…`, the route tables, the ACL, the
//!   listener), so an id in the map that moto does not hold is left as it
//!   is, and the test fails on it.
//! - The cases where exposure tools err are paths with the right answer:
//!   0.0.0.0/0 in the group of a task in a private subnet, or of a task
//!   without a public IP, is closed; the load balancer's path is per
//!   listener, through the task group's rule that names the load balancer's
//!   group; a network load balancer without groups admits every client; a
//!   UDP rule on port 80 does not open an HTTP listener on 80; a prefix list
//!   holding 0.0.0.0/0, and 0.0.0.0/1 with 128.0.0.0/1, are the internet.
//! - ECS Exec: moto 5.2.5 neither keeps nor returns a service's
//!   `enableExecuteCommand` (DescribeServices leaves it out), so the map of
//!   moto's estate has no shell path; the sweep's own tests draw it from
//!   fakes (`sweep::tests::map`). Here the read it rests on runs against
//!   moto: `GetAccountAuthorizationDetails` through the adapter, every
//!   principal's policies, and who of them may run `ecs:ExecuteCommand`
//!   on the cluster.
//! - The event path, live: an ingress rule on the group of a service
//!   behind nothing but a public IP names the way in it opens, read from
//!   moto within ingress-guard's bound of calls (the services using the
//!   group, their task definitions, the networks of the group's
//!   interfaces).
//! - The HTML report of the same documents is written to
//!   `<target>/tmp/map/report.html` with the counts the browser check
//!   (`tests/browser/check_report.py`, run by the test command) expects.

use std::collections::BTreeMap;

use access_guard::aws::estate::SdkEstate;
use access_guard::guards::GuardSettings;
use access_guard::policy::Policy;
use access_guard::report::map::{MapDocument, PathKind, PathStatus};
use access_guard_e2e::{fresh_account, Emulator};
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, UserIdGroupPair};
use aws_sdk_elasticloadbalancingv2 as elbv2;

const REGION: &str = "eu-west-1";

fn vpc_filter(vpc: &str) -> Filter {
    Filter::builder().name("vpc-id").values(vpc).build()
}

/// moto's ids, each with the name the snapshot shows.
#[derive(Default)]
struct Names(Vec<(String, String)>);

impl Names {
    fn add(&mut self, id: impl Into<String>, name: &str) {
        self.0.push((id.into(), name.to_string()));
    }

    /// `text` with every id replaced by its name, longest ids first (an
    /// ARN before the id inside it).
    fn apply(&self, text: &str) -> String {
        let mut pairs = self.0.clone();
        pairs.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        let mut out = text.to_string();
        for (id, name) in pairs {
            out = out.replace(&id, &name);
        }
        out
    }
}

/// Words that look like an id moto made (`sg-0a1b2c…`, `i-…`).
fn raw_ids(text: &str) -> Vec<String> {
    let prefixes = [
        "sg-", "sgr-", "subnet-", "rtb-", "acl-", "igw-", "vpc-", "i-", "eni-",
    ];
    let mut found: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| {
            prefixes.iter().any(|p| {
                w.strip_prefix(p).is_some_and(|rest| {
                    rest.len() >= 8 && rest.bytes().all(|b| b.is_ascii_hexdigit())
                })
            })
        })
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    found
}

async fn group(emu: &Emulator, vpc: &str, name: &str, names: &mut Names) -> String {
    let id = emu
        .ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .vpc_id(vpc)
        .send()
        .await
        .expect("CreateSecurityGroup")
        .group_id()
        .expect("group id")
        .to_string();
    names.add(&id, &format!("sg-{name}"));
    id
}

/// Admits tcp `port` from `cidr` or from `from` (a group); the rule's
/// `sgr-…` is named from moto's DescribeSecurityGroupRules.
async fn admit(
    emu: &Emulator,
    group: &str,
    port: i32,
    source: Result<&str, &str>,
    name: &str,
    names: &mut Names,
) {
    let mut permission = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port);
    permission = match source {
        Ok(cidr) => permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
        Err(from) => {
            permission.user_id_group_pairs(UserIdGroupPair::builder().group_id(from).build())
        }
    };
    emu.ec2
        .authorize_security_group_ingress()
        .group_id(group)
        .ip_permissions(permission.build())
        .send()
        .await
        .expect("AuthorizeSecurityGroupIngress");
    let rules = emu
        .ec2
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(group).build())
        .send()
        .await
        .expect("DescribeSecurityGroupRules");
    let rule = rules
        .security_group_rules()
        .iter()
        .find(|r| r.is_egress() == Some(false) && r.from_port() == Some(port))
        .and_then(|r| r.security_group_rule_id())
        .expect("the rule, read back");
    names.add(rule, name);
}

/// What a rule admits.
enum Permit<'a> {
    Cidr(&'a str),
    List(&'a str),
}

/// Admits `protocol` `port` from a CIDR or a prefix list; the new rule's
/// `sgr-…`, read back from moto, gets the next of `names_of`.
async fn permit(
    emu: &Emulator,
    group: &str,
    protocol: &str,
    port: i32,
    from: Permit<'_>,
    names: &mut Names,
    names_of: &[&str],
) {
    let before: Vec<String> = rule_ids(emu, group).await;
    let mut permission = IpPermission::builder()
        .ip_protocol(protocol)
        .from_port(port)
        .to_port(port);
    permission = match from {
        Permit::Cidr(cidr) => permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
        Permit::List(list) => permission.prefix_list_ids(
            aws_sdk_ec2::types::PrefixListId::builder()
                .prefix_list_id(list)
                .build(),
        ),
    };
    emu.ec2
        .authorize_security_group_ingress()
        .group_id(group)
        .ip_permissions(permission.build())
        .send()
        .await
        .expect("AuthorizeSecurityGroupIngress");
    let added: Vec<String> = rule_ids(emu, group)
        .await
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    assert_eq!(added.len(), names_of.len(), "{added:?}");
    for (id, name) in added.iter().zip(names_of) {
        names.add(id, name);
    }
}

/// The ingress rules of a group, as moto holds them.
async fn rule_ids(emu: &Emulator, group: &str) -> Vec<String> {
    emu.ec2
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(group).build())
        .send()
        .await
        .expect("DescribeSecurityGroupRules")
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .filter_map(|r| r.security_group_rule_id().map(str::to_string))
        .collect()
}

/// An internet-facing load balancer in two subnets, on `group` when given;
/// its ARN and its `type/name/id` form named.
#[allow(clippy::too_many_arguments)]
async fn load_balancer(
    elb: &elbv2::Client,
    name: &str,
    kind: elbv2::types::LoadBalancerTypeEnum,
    subnets: &[&String; 2],
    group: Option<&String>,
    label: &str,
    short_label: &str,
    names: &mut Names,
) -> String {
    let arn = elb
        .create_load_balancer()
        .name(name)
        .subnets(subnets[0])
        .subnets(subnets[1])
        .set_security_groups(group.map(|g| vec![g.clone()]))
        .scheme(elbv2::types::LoadBalancerSchemeEnum::InternetFacing)
        .r#type(kind)
        .send()
        .await
        .expect("CreateLoadBalancer")
        .load_balancers()
        .first()
        .and_then(|l| l.load_balancer_arn())
        .expect("lb arn")
        .to_string();
    names.add(&arn, label);
    if let Some((_, short)) = arn.split_once(":loadbalancer/") {
        names.add(short, short_label);
    }
    arn
}

/// A target group of ip targets on 8080.
async fn target_group(
    elb: &elbv2::Client,
    vpc: &str,
    name: &str,
    protocol: elbv2::types::ProtocolEnum,
    names: &mut Names,
) -> String {
    let arn = elb
        .create_target_group()
        .name(name)
        .protocol(protocol)
        .port(8080)
        .vpc_id(vpc)
        .target_type(elbv2::types::TargetTypeEnum::Ip)
        .send()
        .await
        .expect("CreateTargetGroup")
        .target_groups()
        .first()
        .and_then(|t| t.target_group_arn())
        .expect("tg arn")
        .to_string();
    names.add(&arn, &format!("TG-{}", name.to_uppercase()));
    if let Some((_, short)) = arn.split_once(":targetgroup/") {
        names.add(short, &format!("{name}/TG"));
    }
    arn
}

/// A listener forwarding `protocol` `port` to `tg`; its ARN as moto lists it.
async fn listen(
    elb: &elbv2::Client,
    lb: &str,
    protocol: elbv2::types::ProtocolEnum,
    port: i32,
    tg: &str,
) -> String {
    elb.create_listener()
        .load_balancer_arn(lb)
        .protocol(protocol)
        .port(port)
        .default_actions(
            elbv2::types::Action::builder()
                .r#type(elbv2::types::ActionTypeEnum::Forward)
                .target_group_arn(tg)
                .build(),
        )
        .send()
        .await
        .expect("CreateListener");
    elb.describe_listeners()
        .load_balancer_arn(lb)
        .send()
        .await
        .expect("DescribeListeners")
        .listeners()
        .iter()
        .find(|l| l.port() == Some(port))
        .and_then(|l| l.listener_arn())
        .expect("listener, read back")
        .to_string()
}

async fn subnet(
    emu: &Emulator,
    vpc: &str,
    cidr: &str,
    zone: &str,
    name: &str,
    names: &mut Names,
) -> String {
    let id = emu
        .ec2
        .create_subnet()
        .vpc_id(vpc)
        .cidr_block(cidr)
        .availability_zone(zone)
        .send()
        .await
        .expect("CreateSubnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_string();
    names.add(&id, name);
    id
}

/// The seed's estate and the ways into it; the names of moto's ids.
async fn build(emu: &Emulator, account: &str) -> Names {
    let mut names = Names::default();
    names.add(account, "ACCOUNT");
    let ec2 = &emu.ec2;
    let iam = aws_sdk_iam::Client::new(&emu.sdk);
    let elb = elbv2::Client::new(&emu.sdk);

    // The network: public-a and public-b route the internet to the igw,
    // private sits on the main table (local only).
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.40.0.0/16")
        .send()
        .await
        .expect("CreateVpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string();
    names.add(&vpc, "vpc-MAP");
    let public_a = subnet(
        emu,
        &vpc,
        "10.40.1.0/24",
        "eu-west-1a",
        "subnet-PUBLIC-A",
        &mut names,
    )
    .await;
    let public_b = subnet(
        emu,
        &vpc,
        "10.40.2.0/24",
        "eu-west-1b",
        "subnet-PUBLIC-B",
        &mut names,
    )
    .await;
    let private = subnet(
        emu,
        &vpc,
        "10.40.3.0/24",
        "eu-west-1a",
        "subnet-PRIVATE",
        &mut names,
    )
    .await;
    let igw = ec2
        .create_internet_gateway()
        .send()
        .await
        .expect("CreateInternetGateway")
        .internet_gateway()
        .and_then(|g| g.internet_gateway_id())
        .expect("igw")
        .to_string();
    names.add(&igw, "igw-MAP");
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .expect("AttachInternetGateway");
    let public_table = ec2
        .create_route_table()
        .vpc_id(&vpc)
        .send()
        .await
        .expect("CreateRouteTable")
        .route_table()
        .and_then(|t| t.route_table_id())
        .expect("table")
        .to_string();
    ec2.create_route()
        .route_table_id(&public_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .expect("CreateRoute");
    for s in [&public_a, &public_b] {
        ec2.associate_route_table()
            .route_table_id(&public_table)
            .subnet_id(s)
            .send()
            .await
            .expect("AssociateRouteTable");
    }
    // The tables and the ACL as moto holds them.
    let tables = ec2
        .describe_route_tables()
        .filters(vpc_filter(&vpc))
        .send()
        .await
        .expect("DescribeRouteTables");
    for t in tables.route_tables() {
        let id = t.route_table_id().expect("table id");
        let main = t.associations().iter().any(|a| a.main() == Some(true));
        names.add(id, if main { "rtb-MAIN" } else { "rtb-PUBLIC" });
    }
    let acls = ec2
        .describe_network_acls()
        .filters(vpc_filter(&vpc))
        .send()
        .await
        .expect("DescribeNetworkAcls");
    for a in acls.network_acls() {
        names.add(a.network_acl_id().expect("acl id"), "acl-DEFAULT");
    }

    // Groups: the ALB's (80 from anywhere), the service behind it (8080
    // from the ALB's group only), the public and private services' (8080
    // from anywhere), the container instance's (SSH from anywhere).
    let sg_alb = group(emu, &vpc, "alb", &mut names).await;
    admit(emu, &sg_alb, 80, Ok("0.0.0.0/0"), "sgr-ALB-80", &mut names).await;
    let sg_web = group(emu, &vpc, "web", &mut names).await;
    admit(
        emu,
        &sg_web,
        8080,
        Err(&sg_alb),
        "sgr-WEB-FROM-ALB",
        &mut names,
    )
    .await;
    let sg_open = group(emu, &vpc, "open", &mut names).await;
    admit(
        emu,
        &sg_open,
        8080,
        Ok("0.0.0.0/0"),
        "sgr-OPEN-8080",
        &mut names,
    )
    .await;
    let sg_ssh = group(emu, &vpc, "ssh", &mut names).await;
    admit(emu, &sg_ssh, 22, Ok("0.0.0.0/0"), "sgr-SSH", &mut names).await;

    // IAM: the task role with AdministratorAccess, a role allowed ECS Exec
    // on everything, the container instances' role and profile.
    let trust = |service: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
        )
    };
    let role = |name: &'static str, service: &'static str| {
        let iam = iam.clone();
        let doc = trust(service);
        async move {
            iam.create_role()
                .role_name(name)
                .assume_role_policy_document(doc)
                .send()
                .await
                .expect("CreateRole")
                .role()
                .map(|r| r.arn().to_string())
                .expect("role arn")
        }
    };
    let task_role = role("payments", "ecs-tasks.amazonaws.com").await;
    iam.attach_role_policy()
        .role_name("payments")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .expect("AttachRolePolicy");
    role("ops", "ec2.amazonaws.com").await;
    iam.put_role_policy()
        .role_name("ops")
        .policy_name("exec")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Sid":"Exec","Effect":"Allow","Action":"ecs:ExecuteCommand","Resource":"*"}]}"#)
        .send()
        .await
        .expect("PutRolePolicy");
    role("ecsInstanceRole", "ec2.amazonaws.com").await;
    iam.attach_role_policy()
        .role_name("ecsInstanceRole")
        .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
        .send()
        .await
        .expect("AttachRolePolicy");
    iam.create_instance_profile()
        .instance_profile_name("ecsInstanceProfile")
        .send()
        .await
        .expect("CreateInstanceProfile");
    iam.add_role_to_instance_profile()
        .instance_profile_name("ecsInstanceProfile")
        .role_name("ecsInstanceRole")
        .send()
        .await
        .expect("AddRoleToInstanceProfile");

    // The seed: a cluster with Container Insights, a task definition, a
    // service; here three services on the same definition.
    let ecs = &emu.ecs;
    ecs.create_cluster()
        .cluster_name("prod")
        .settings(
            aws_sdk_ecs::types::ClusterSetting::builder()
                .name(aws_sdk_ecs::types::ClusterSettingName::ContainerInsights)
                .value("enabled")
                .build(),
        )
        .send()
        .await
        .expect("CreateCluster");
    let td = ecs
        .register_task_definition()
        .family("payments")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .task_role_arn(&task_role)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("app")
                .image(format!(
                    "{account}.dkr.ecr.eu-west-1.amazonaws.com/payments@sha256:{}",
                    "a".repeat(64)
                ))
                .essential(true)
                .readonly_root_filesystem(true)
                .user("1000")
                .port_mappings(
                    aws_sdk_ecs::types::PortMapping::builder()
                        .container_port(8080)
                        .protocol(aws_sdk_ecs::types::TransportProtocol::Tcp)
                        .build(),
                )
                .secrets(
                    aws_sdk_ecs::types::Secret::builder()
                        .name("DB_PASSWORD")
                        .value_from(format!(
                            "arn:aws:secretsmanager:eu-west-1:{account}:secret:payments-db"
                        ))
                        .build()
                        .expect("secret"),
                )
                .build(),
        )
        .send()
        .await
        .expect("RegisterTaskDefinition")
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("td arn")
        .to_string();

    // The ALB in front of `web`.
    let lb = load_balancer(
        &elb,
        "web",
        elbv2::types::LoadBalancerTypeEnum::Application,
        &[&public_a, &public_b],
        Some(&sg_alb),
        "LB-WEB",
        "app/web/LB",
        &mut names,
    )
    .await;
    let tg = elb
        .create_target_group()
        .name("web-tg")
        .protocol(elbv2::types::ProtocolEnum::Http)
        .port(8080)
        .vpc_id(&vpc)
        .target_type(elbv2::types::TargetTypeEnum::Ip)
        .send()
        .await
        .expect("CreateTargetGroup")
        .target_groups()
        .first()
        .and_then(|t| t.target_group_arn())
        .expect("tg arn")
        .to_string();
    names.add(&tg, "TG-WEB");
    if let Some((_, short)) = tg.split_once(":targetgroup/") {
        names.add(short, "web-tg/TG");
    }
    elb.create_listener()
        .load_balancer_arn(&lb)
        .protocol(elbv2::types::ProtocolEnum::Http)
        .port(80)
        .default_actions(
            elbv2::types::Action::builder()
                .r#type(elbv2::types::ActionTypeEnum::Forward)
                .target_group_arn(&tg)
                .build(),
        )
        .send()
        .await
        .expect("CreateListener");
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(&lb)
        .send()
        .await
        .expect("DescribeListeners");
    for l in listeners.listeners() {
        names.add(l.listener_arn().expect("listener arn"), "LISTENER-WEB-80");
    }

    let service = |name: &'static str,
                   subnet: String,
                   group: String,
                   public: bool,
                   behind: Option<String>| {
        let ecs = ecs.clone();
        let td = td.clone();
        async move {
            let mut call = ecs
                .create_service()
                .cluster("prod")
                .service_name(name)
                .task_definition(td)
                .desired_count(1)
                .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
                .network_configuration(
                    aws_sdk_ecs::types::NetworkConfiguration::builder()
                        .awsvpc_configuration(
                            aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                                .subnets(subnet)
                                .security_groups(group)
                                .assign_public_ip(if public {
                                    aws_sdk_ecs::types::AssignPublicIp::Enabled
                                } else {
                                    aws_sdk_ecs::types::AssignPublicIp::Disabled
                                })
                                .build()
                                .expect("awsvpc"),
                        )
                        .build(),
                );
            if name == "web" {
                call = call.enable_execute_command(true);
            }
            if let Some(tg) = behind {
                call = call.load_balancers(
                    aws_sdk_ecs::types::LoadBalancer::builder()
                        .target_group_arn(tg)
                        .container_name("app")
                        .container_port(8080)
                        .build(),
                );
            }
            call.send().await.expect("CreateService");
        }
    };
    service(
        "web",
        public_a.clone(),
        sg_web.clone(),
        false,
        Some(tg.clone()),
    )
    .await;
    service("public", public_a.clone(), sg_open.clone(), true, None).await;
    service("private", private.clone(), sg_open.clone(), true, None).await;

    // Where exposure tools err, each with the right answer in the map:
    // a network load balancer without groups admits every client (`edge`);
    // a UDP rule never opens a TCP listener (`udp`); a prefix list holding
    // 0.0.0.0/0 and two halves of the internet are the internet (`listed`,
    // `split`).
    let nlb = load_balancer(
        &elb,
        "edge",
        elbv2::types::LoadBalancerTypeEnum::Network,
        &[&public_a, &public_b],
        None,
        "LB-EDGE",
        "net/edge/LB",
        &mut names,
    )
    .await;
    let edge_tg = target_group(
        &elb,
        &vpc,
        "edge-tg",
        elbv2::types::ProtocolEnum::Tcp,
        &mut names,
    )
    .await;
    let listener = listen(&elb, &nlb, elbv2::types::ProtocolEnum::Tcp, 8080, &edge_tg).await;
    names.add(listener, "LISTENER-EDGE-8080");
    service(
        "edge",
        public_a.clone(),
        sg_open.clone(),
        false,
        Some(edge_tg),
    )
    .await;

    let sg_udp = group(emu, &vpc, "udp-lb", &mut names).await;
    permit(
        emu,
        &sg_udp,
        "udp",
        80,
        Permit::Cidr("0.0.0.0/0"),
        &mut names,
        &["sgr-UDP-80"],
    )
    .await;
    let sg_udp_task = group(emu, &vpc, "udp-task", &mut names).await;
    admit(
        emu,
        &sg_udp_task,
        8080,
        Err(&sg_udp),
        "sgr-UDP-TASK-FROM-LB",
        &mut names,
    )
    .await;
    let udp_lb = load_balancer(
        &elb,
        "udp",
        elbv2::types::LoadBalancerTypeEnum::Application,
        &[&public_a, &public_b],
        Some(&sg_udp),
        "LB-UDP",
        "app/udp/LB",
        &mut names,
    )
    .await;
    let udp_tg = target_group(
        &elb,
        &vpc,
        "udp-tg",
        elbv2::types::ProtocolEnum::Http,
        &mut names,
    )
    .await;
    let listener = listen(&elb, &udp_lb, elbv2::types::ProtocolEnum::Http, 80, &udp_tg).await;
    names.add(listener, "LISTENER-UDP-80");
    service(
        "udp",
        public_a.clone(),
        sg_udp_task.clone(),
        false,
        Some(udp_tg),
    )
    .await;

    let list = ec2
        .create_managed_prefix_list()
        .prefix_list_name("world")
        .max_entries(2)
        .address_family("IPv4")
        .entries(
            aws_sdk_ec2::types::AddPrefixListEntry::builder()
                .cidr("0.0.0.0/0")
                .build(),
        )
        .send()
        .await
        .expect("CreateManagedPrefixList")
        .prefix_list()
        .and_then(|p| p.prefix_list_id())
        .expect("prefix list id")
        .to_string();
    names.add(&list, "pl-WORLD");
    let sg_listed = group(emu, &vpc, "listed", &mut names).await;
    permit(
        emu,
        &sg_listed,
        "tcp",
        8080,
        Permit::List(&list),
        &mut names,
        &["sgr-LISTED-8080"],
    )
    .await;
    service("listed", public_a.clone(), sg_listed, true, None).await;
    let sg_split = group(emu, &vpc, "split", &mut names).await;
    permit(
        emu,
        &sg_split,
        "tcp",
        8080,
        Permit::Cidr("0.0.0.0/1"),
        &mut names,
        &["sgr-SPLIT-LOW"],
    )
    .await;
    permit(
        emu,
        &sg_split,
        "tcp",
        8080,
        Permit::Cidr("128.0.0.0/1"),
        &mut names,
        &["sgr-SPLIT-HIGH"],
    )
    .await;
    service("split", public_a.clone(), sg_split, true, None).await;

    // The container instance: SSH open, a key pair, a public address.
    ec2.create_key_pair()
        .key_name("ops")
        .send()
        .await
        .expect("CreateKeyPair");
    let reservation = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .key_name("ops")
        .iam_instance_profile(
            aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
                .name("ecsInstanceProfile")
                .build(),
        )
        .network_interfaces(
            aws_sdk_ec2::types::InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&public_a)
                .groups(&sg_ssh)
                .associate_public_ip_address(true)
                .build(),
        )
        .send()
        .await
        .expect("RunInstances");
    let instance = reservation.instances().first().expect("instance");
    names.add(
        instance.instance_id().expect("instance id"),
        "i-CONTAINER-INSTANCE",
    );
    // Its public address as moto reads it back.
    let described = ec2
        .describe_instances()
        .instance_ids(instance.instance_id().expect("instance id"))
        .send()
        .await
        .expect("DescribeInstances");
    if let Some(ip) = described
        .reservations()
        .first()
        .and_then(|r| r.instances().first())
        .and_then(|i| i.public_ip_address())
    {
        names.add(ip, "PUBLIC-IP");
    }
    names
}

fn hop_ids(doc: &MapDocument, kind: PathKind) -> Vec<(PathStatus, Vec<String>)> {
    doc.paths
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| (p.status, p.hops.iter().map(|h| h.id.clone()).collect()))
        .collect()
}

#[tokio::test]
async fn the_map_of_the_seed_estate_equals_its_reviewed_snapshot() {
    let root = Emulator::connect().await;
    let account = fresh_account('4');
    let emu = root.member(&account, REGION).await;
    let names = build(&emu, &account).await;

    let estate = SdkEstate::new(
        aws_sdk_ec2::Client::new(&emu.sdk),
        aws_sdk_ecs::Client::new(&emu.sdk),
        aws_sdk_iam::Client::new(&emu.sdk),
        aws_sdk_autoscaling::Client::new(&emu.sdk),
        elbv2::Client::new(&emu.sdk),
    );
    let policy = Policy::embedded();
    let settings = GuardSettings::default();
    let now = "2026-12-07T10:00:00Z";
    let result = estate
        .scan(
            &account,
            REGION,
            now,
            &policy,
            &settings,
            access_guard::model::today(),
        )
        .await
        .expect("the sweep");
    assert!(result.unread.is_empty(), "{:?}", result.unread);
    let docs = result.map;

    // The right answer where exposure tools err.
    let by_id: BTreeMap<&str, &MapDocument> =
        docs.iter().map(|d| (d.target.id.as_str(), d)).collect();
    let web = by_id["prod/web"];
    let lb_paths = hop_ids(web, PathKind::LoadBalancer);
    assert_eq!(lb_paths.len(), 1, "one listener forwards: {lb_paths:?}");
    assert_eq!(lb_paths[0].0, PathStatus::Open);
    assert!(
        hop_ids(web, PathKind::Network).is_empty(),
        "no public IP, no open group"
    );
    let private = hop_ids(by_id["prod/private"], PathKind::Network);
    assert_eq!(private.len(), 1);
    assert_eq!(
        private[0].0,
        PathStatus::Closed,
        "0.0.0.0/0 in a private subnet"
    );
    assert_eq!(
        hop_ids(by_id["prod/public"], PathKind::Network)[0].0,
        PathStatus::Open
    );

    // The map as a tree, moto's ids named: every id in it is one moto
    // answered for, read back.
    let trees: Vec<String> = docs.iter().map(access_guard::output::map::tree).collect();
    let text = names.apply(&trees.join("\n"));
    let json = names.apply(
        &docs
            .iter()
            .map(MapDocument::to_json)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    assert_eq!(
        raw_ids(&json),
        Vec::<String>::new(),
        "ids not read back from moto"
    );
    insta::assert_snapshot!("seed_estate_map", text);

    // The HTML report of the same documents, for the browser check.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("map");
    std::fs::create_dir_all(&dir).expect("map folder");
    let page = access_guard::output::map::html(&docs, now);
    std::fs::write(dir.join("report.html"), &page).expect("report.html");
    let paths: usize = docs.iter().map(|d| d.paths.len()).sum();
    std::fs::write(
        dir.join("expected.json"),
        serde_json::json!({"targets": docs.len(), "paths": paths, "bytes": page.len()}).to_string(),
    )
    .expect("expected.json");
}

#[tokio::test]
async fn who_may_open_a_shell_is_read_from_the_accounts_principals() {
    use access_guard::model::iam::access::who_may_exec;
    use access_guard::ports::Iam;
    let root = Emulator::connect().await;
    let account = fresh_account('4');
    let emu = root.member(&account, REGION).await;
    build(&emu, &account).await;
    let mut estate = access_guard::ports::estate::Estate::default();
    estate
        .services
        .push(access_guard::ports::estate::ServiceState {
            cluster: "prod".to_string(),
            name: "web".to_string(),
            settings: access_guard::model::svc::ServiceSettings {
                enable_execute_command: Some(true),
                ..Default::default()
            },
            task_sets: Vec::new(),
        });
    let iam = access_guard::aws::iam::IamClient::new(aws_sdk_iam::Client::new(&emu.sdk));
    let read = iam
        .account_authorization()
        .await
        .expect("GetAccountAuthorizationDetails");
    let names: Vec<&str> = read.principals.iter().map(|p| p.name.as_str()).collect();
    for name in ["payments", "ops", "ecsInstanceRole"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    access_guard::sweep::complete_principals(&mut estate, &iam).await;
    let principals = estate
        .principals
        .clone()
        .expect("read")
        .expect("every document read");
    let allowed: Vec<(String, String)> = who_may_exec(REGION, &account, "prod", &principals)
        .into_iter()
        .map(|a| (a.principal, a.statement))
        .collect();
    assert_eq!(
        allowed,
        [
            (
                "role ops".to_string(),
                "inline policy exec, Sid Exec".to_string()
            ),
            (
                "role payments".to_string(),
                "arn:aws:iam::aws:policy/AdministratorAccess (default version), Statement[0]"
                    .to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn an_ingress_rule_on_a_services_group_names_the_way_in_it_opens() {
    let root = Emulator::connect().await;
    let account = fresh_account('4');
    let emu = root.member(&account, REGION).await;
    let names = build(&emu, &account).await;
    let id_of = |name: &str| -> String {
        names
            .0
            .iter()
            .find(|(_, n)| n == name)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("{name} was not made"))
    };
    let (group, subnet) = (id_of("sg-open"), id_of("subnet-PUBLIC-A"));
    // moto makes no interface for a task: one with the group and a public
    // address stands for the public service's task.
    let eni = emu
        .ec2
        .create_network_interface()
        .subnet_id(&subnet)
        .groups(&group)
        .send()
        .await
        .expect("CreateNetworkInterface")
        .network_interface()
        .and_then(|n| n.network_interface_id())
        .expect("eni")
        .to_string();
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
        .network_interface_id(&eni)
        .send()
        .await
        .expect("AssociateAddress");
    // The change: tcp 8080 from half of the internet, kept (dry run).
    let before = rule_ids(&emu, &group).await;
    emu.ec2
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(8080)
                .to_port(8080)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/1").build())
                .build(),
        )
        .send()
        .await
        .expect("AuthorizeSecurityGroupIngress");
    let rule = rule_ids(&emu, &group)
        .await
        .into_iter()
        .find(|id| !before.contains(id))
        .expect("the new rule");
    let mut event = access_guard_e2e::authorize_event(&group, &[(8080, rule)]);
    event["account"] = account.clone().into();
    event["detail"]["recipientAccountId"] = account.clone().into();
    event["detail"]["requestParameters"]["ipPermissions"]["items"][0]["ipRanges"]["items"][0]
        ["cidrIp"] = "0.0.0.0/1".into();
    event["detail"]["responseElements"]["securityGroupRuleSet"]["items"][0]["cidrIpv4"] =
        "0.0.0.0/1".into();
    event["detail"]["responseElements"]["securityGroupRuleSet"]["items"][0]["groupOwnerId"] =
        account.clone().into();
    // The guard itself, through the SDK in the member account (moto
    // delivers no member account's topic): the published alert is kept.
    let policy = access_guard::policy::Policy::embedded();
    let settings = access_guard::guards::GuardSettings::default();
    let notifier = Kept::default();
    let ec2 = aws_sdk_ec2::Client::new(&emu.sdk);
    let groups = access_guard::aws::Ec2SecurityGroups::new(ec2.clone());
    let remediator = access_guard::aws::Ec2Remediator::new(ec2.clone());
    let vpcs = access_guard::aws::vpc::Ec2Vpcs::new(ec2);
    let services =
        access_guard::aws::estate::EcsGroupServices::new(aws_sdk_ecs::Client::new(&emu.sdk));
    let iam = access_guard::aws::iam::IamClient::new(aws_sdk_iam::Client::new(&emu.sdk));
    let event = access_guard::model::event::Event::from_value(&event, "test").expect("event");
    let report = access_guard::guards::ingress::IngressGuard {
        groups: &groups,
        organizations: None,
        remediator: &remediator,
        revocations: None,
        notifier: &notifier,
        policy: &policy,
        settings: &settings,
        deadline: None,
        visibility: None,
        vpcs: Some(&vpcs),
        services: Some(&services),
        iam: Some(&iam),
    }
    .handle(&event, access_guard::model::today())
    .await
    .expect("handled");
    let alerts = notifier.0.lock().expect("kept").clone();
    assert_eq!(alerts.len(), 1, "one alert");
    assert!(alerts[0].contains("Opens: internet"), "the alert says it");
    let notes: Vec<String> = report.notes.iter().map(|n| names.apply(n)).collect();
    let text = notes.join("\n");
    let opens: Vec<&String> = notes
        .iter()
        .filter(|l| l.contains("Opens: ") || l.contains("May open: "))
        .collect();
    assert_eq!(opens.len(), 1, "only the public service is reached: {text}");
    assert!(
        opens[0].contains("Opens: internet → igw-MAP → public IP of each task → sg-open tcp 8080 from 0.0.0.0/1 → service prod/public container app:8080 (task role payments: admin-level or wildcard)"),
        "{text}"
    );
}

/// A notifier that keeps each alert's text.
#[derive(Default)]
struct Kept(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl access_guard::ports::Notifier for Kept {
    async fn publish(
        &self,
        notification: &access_guard::output::notify::Notification,
    ) -> Result<(), access_guard::ports::AwsError> {
        self.0
            .lock()
            .expect("kept")
            .push(notification.message.clone());
        Ok(())
    }
}
