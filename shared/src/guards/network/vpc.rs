//! The VPC side of the network guard (DESIGN §14): routes, route-table
//! associations, network ACL entries, subnets' public addresses and
//! internet gateways ▶ the NET rules. What a record cannot show (which
//! subnets a route table serves, what runs in them, whether a table routes
//! to the internet) the Lambda reads; offline it is named as not judged.

use tracing::warn;

use crate::guards::{failed_call, preflight, report_and_notify, GuardError, GuardSettings};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::model::reach::{internet_route, Family, Network, RouteTable, RouteVerdict};
use crate::model::vpc::NetChange;
use crate::policy::Policy;
use crate::ports::{AwsError, Notifier, SecurityGroups, Vpcs, Workload};
use crate::report::Report;
use crate::rules::net::{NetContext, NetFacts};
use crate::rules::{self};

/// The VPC calls the network guard judges.
pub const CALLS: [(&str, &str); 8] = [
    ("ec2", crate::model::vpc::CREATE_ROUTE),
    ("ec2", crate::model::vpc::REPLACE_ROUTE),
    ("ec2", crate::model::vpc::ASSOCIATE_ROUTE_TABLE),
    ("ec2", crate::model::vpc::REPLACE_ROUTE_TABLE_ASSOCIATION),
    ("ec2", crate::model::vpc::CREATE_NETWORK_ACL_ENTRY),
    ("ec2", crate::model::vpc::REPLACE_NETWORK_ACL_ENTRY),
    ("ec2", crate::model::vpc::MODIFY_SUBNET_ATTRIBUTE),
    ("ec2", crate::model::vpc::ATTACH_INTERNET_GATEWAY),
];

/// The verdict on a change with what was read about it.
pub fn report_for(event: &Event, change: &NetChange, policy: &Policy, facts: &NetFacts) -> Report {
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    report.findings = rules::evaluate_net(change, &NetContext { policy, facts });
    report
}

/// What NET-001 needs that the record does not say, for this change.
pub fn needs_aws(change: &NetChange, facts: &NetFacts) -> Vec<String> {
    let mut notes = Vec::new();
    let table_unread = facts.internet_route.is_none();
    match change {
        NetChange::Association { route_table, .. } if table_unread => notes.push(format!(
            "NET-001 needs AWS: whether {route_table} routes to an internet gateway (the Lambda reads the table)"
        )),
        NetChange::AttachGateway { vpc, .. } if table_unread => notes.push(format!(
            "NET-001 needs AWS: whether {vpc}'s route tables send everything to the gateway (the Lambda reads them)"
        )),
        _ => {}
    }
    notes
}

/// The offline verdict (CLI): only what the event shows.
pub fn evaluate_offline(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    if let Some(reason) = failed_call(event, &[]) {
        return Ok(Report::skipped(event, reason));
    }
    let Some(change) = NetChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let facts = NetFacts::default();
    let mut report = report_for(event, &change, policy, &facts);
    report.notes = needs_aws(&change, &facts);
    Ok(report)
}

/// The subnets a route table serves: those explicitly associated with it
/// and, for the main table, every subnet of its VPC that no other table
/// claims.
pub fn served_subnets(network: &Network, table: &RouteTable) -> Vec<String> {
    let mut subnets = table.subnets.clone();
    if table.main {
        let claimed: Vec<&String> = network
            .route_tables
            .iter()
            .flat_map(|t| t.subnets.iter())
            .collect();
        subnets.extend(
            network
                .subnets
                .iter()
                .filter(|s| s.vpc_id == table.vpc_id && !claimed.contains(&&s.id))
                .map(|s| s.id.clone()),
        );
    }
    subnets.sort();
    subnets.dedup();
    subnets
}

/// The internet gateway a table sends either family's internet to, if any;
/// `Err` with why when that cannot be told.
fn gateway_of(
    network: &Network,
    table: &RouteTable,
    policy: &Policy,
) -> Result<Option<String>, String> {
    let mut unknown = None;
    for family in [Family::Ipv4, Family::Ipv6] {
        match internet_route(network, table, family, policy.wide) {
            RouteVerdict::Internet(route) => return Ok(Some(route.gateway)),
            RouteVerdict::NoRoute { .. } => {}
            RouteVerdict::Unknown(why) => unknown = Some(why.why),
        }
    }
    match unknown {
        Some(why) => Err(why),
        None => Ok(None),
    }
}

/// The network guard's VPC side, with its ports.
pub struct VpcGuard<'a> {
    pub vpcs: &'a dyn Vpcs,
    pub groups: &'a dyn SecurityGroups,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl VpcGuard<'_> {
    pub async fn handle(&self, event: &Event) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(skipped) = preflight(event, self.settings, &[]) {
            return Ok(skipped);
        }
        let Some(change) = NetChange::from_event(event).map_err(GuardError::parse(event))? else {
            return Ok(Report::not_handled(event));
        };
        let mut unread = Vec::new();
        let facts = match self.read(&change, &mut unread).await {
            Ok(facts) => facts,
            Err(e) => return Err(aws(e)),
        };
        let mut report = report_for(event, &change, self.policy, &facts);
        if !unread.is_empty() {
            report.unevaluated = Some(format!("could not check {}", unread.join("; ")));
        }
        report_and_notify(event, report, self.policy, self.settings, self.notifier).await
    }

    /// What NET-001 needs: whether the table routes to the internet, and
    /// what runs in the subnets it serves. A read that may pass on a retry
    /// is an error (Lambda retries); any other failure is said in `unread`
    /// and the facts stay unknown.
    async fn read(
        &self,
        change: &NetChange,
        unread: &mut Vec<String>,
    ) -> Result<NetFacts, AwsError> {
        let mut facts = NetFacts::default();
        let (vpc, table_id) = match change {
            NetChange::Route {
                route_table,
                destination,
                target,
                ..
            } if destination.is_everything() && target.starts_with("igw-") => {
                (None, Some(route_table.as_str()))
            }
            NetChange::Association { route_table, .. } => (None, Some(route_table.as_str())),
            NetChange::AttachGateway { vpc, .. } => (Some(vpc.clone()), None),
            _ => return Ok(facts),
        };
        let vpc = match (vpc, table_id) {
            (Some(vpc), _) => vpc,
            (None, Some(table)) => match self.vpcs.route_table_vpc(table).await {
                Ok(Some(vpc)) => vpc,
                Ok(None) => {
                    unread.push(format!("route table {table}: not found"));
                    return Ok(facts);
                }
                Err(e) => return self.unread(e, format!("route table {table}"), unread, facts),
            },
            (None, None) => return Ok(facts),
        };
        let network = match self.vpcs.network(&vpc).await {
            Ok(network) => network,
            Err(e) => return self.unread(e, format!("the network of {vpc}"), unread, facts),
        };
        // The tables the change concerns, and the subnets they serve.
        let tables: Vec<&RouteTable> = match (change, table_id) {
            (NetChange::AttachGateway { .. }, _) => network.route_tables.iter().collect(),
            (_, Some(id)) => network.route_tables.iter().filter(|t| t.id == id).collect(),
            _ => Vec::new(),
        };
        if tables.is_empty() {
            unread.push(format!("the route tables of {vpc}: none read"));
            return Ok(facts);
        }
        let mut subnets = Vec::new();
        let mut route = Some(None);
        for table in tables {
            let gateway = match change {
                NetChange::Route { target, .. } => Ok(Some(target.clone())),
                _ => gateway_of(&network, table, self.policy),
            };
            match gateway {
                Ok(Some(gateway)) => {
                    if let NetChange::AttachGateway {
                        gateway: attached, ..
                    } = change
                    {
                        if &gateway != attached {
                            continue;
                        }
                    }
                    route = Some(Some(gateway));
                    subnets.extend(match change {
                        NetChange::Association {
                            subnet: Some(s), ..
                        } => vec![s.clone()],
                        _ => served_subnets(&network, table),
                    });
                }
                Ok(None) => {}
                Err(why) => {
                    unread.push(why);
                    route = None;
                }
            }
        }
        facts.internet_route = route;
        if subnets.is_empty() {
            facts.workloads = Some(Vec::new());
            return Ok(facts);
        }
        match self.vpcs.workloads(&subnets).await {
            Ok(workloads) => facts.workloads = Some(self.with_ports(&workloads).await?),
            Err(e) => {
                return self.unread(
                    e,
                    format!("what runs in {}", subnets.join(", ")),
                    unread,
                    facts,
                )
            }
        }
        Ok(facts)
    }

    /// Each workload with what its groups let in from the internet: the
    /// ports a public route now exposes (`… : open to the internet on tcp
    /// 443 (sg-…)`), or that its groups admit nothing from it, or why that
    /// is unknown.
    async fn with_ports(&self, workloads: &[Workload]) -> Result<Vec<String>, AwsError> {
        let mut open: std::collections::BTreeMap<&str, Result<Vec<String>, String>> =
            std::collections::BTreeMap::new();
        for group in workloads.iter().flat_map(|w| w.groups.iter()) {
            if open.contains_key(group.as_str()) {
                continue;
            }
            let read = match self.groups.rules_of_group(group).await {
                Ok(rules) => Ok(rules
                    .iter()
                    .filter(|r| {
                        r.direction != crate::model::sg::Direction::Egress
                            && r.source.is_internet_wide(self.policy.wide)
                    })
                    .map(|r| {
                        if matches!(
                            r.protocol,
                            crate::model::net::Protocol::Tcp | crate::model::net::Protocol::Udp
                        ) {
                            format!("{} {}", r.protocol, r.ports())
                        } else {
                            r.protocol.to_string()
                        }
                    })
                    .collect()),
                Err(e) if e.retryable => return Err(e),
                Err(e) => Err(format!("{}: {}", e.operation, e.code_or_kind())),
            };
            open.insert(group, read);
        }
        Ok(workloads
            .iter()
            .map(|w| {
                let mut ports = Vec::new();
                let mut unread = Vec::new();
                for group in &w.groups {
                    match open.get(group.as_str()) {
                        Some(Ok(found)) => {
                            ports.extend(found.iter().map(|p| format!("{p} ({group})")))
                        }
                        Some(Err(why)) => unread.push(format!("{group}: {why}")),
                        None => {}
                    }
                }
                match (ports.is_empty(), unread.is_empty()) {
                    (false, _) => {
                        format!("{} open to the internet on {}", w.what, ports.join(", "))
                    }
                    (true, true) => {
                        format!("{} (its groups admit nothing from the internet)", w.what)
                    }
                    (true, false) => {
                        format!("{} (its groups not read: {})", w.what, unread.join("; "))
                    }
                }
            })
            .collect())
    }

    fn unread(
        &self,
        e: AwsError,
        what: String,
        unread: &mut Vec<String>,
        facts: NetFacts,
    ) -> Result<NetFacts, AwsError> {
        if e.retryable {
            return Err(e);
        }
        warn!(what = %what, error = %e, "could not check");
        unread.push(format!("{what}: {}", e.code_or_kind()));
        Ok(facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Event {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        Event::from_value(&value, name).unwrap()
    }

    fn rules_of(report: &Report) -> Vec<&str> {
        report.findings.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn the_sample_events_give_the_net_rules_offline() {
        let policy = Policy::embedded();
        for (file, rules, notes) in [
            ("net-create-route-to-igw.json", vec!["NET-001"], 0),
            ("net-create-route-to-nat.json", vec![], 0),
            ("net-acl-entry-ssh-world.json", vec!["NET-002"], 0),
            ("net-acl-entry-udp-22.json", vec![], 0),
            ("net-subnet-map-public-ip.json", vec!["NET-003"], 0),
            ("net-associate-route-table.json", vec![], 1),
            ("net-replace-route-ipv6-to-igw.json", vec!["NET-001"], 0),
            ("net-replace-route-table-association.json", vec![], 1),
            ("net-attach-internet-gateway.json", vec![], 1),
        ] {
            let report = evaluate_offline(&sample(file), &policy).unwrap();
            assert_eq!(rules_of(&report), rules, "{file}");
            assert_eq!(report.notes.len(), notes, "{file}: {:?}", report.notes);
        }
    }

    #[test]
    fn a_failed_call_is_skipped_and_other_events_are_not_handled() {
        let policy = Policy::embedded();
        let mut value: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/../events/net-create-route-to-igw.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        value["detail"]["errorCode"] = serde_json::json!("Client.UnauthorizedOperation");
        let report = evaluate_offline(&Event::from_value(&value, "t").unwrap(), &policy).unwrap();
        assert!(report.findings.is_empty());
        assert!(report.skipped.is_some(), "{report:?}");
    }

    mod with_reads {
        use super::super::*;
        use crate::model::net::{Protocol, Source};
        use crate::model::reach::test_support::{igw, route, subnet, table};
        use crate::model::sg::{Direction, SgRule};
        use crate::ports::fakes::{MemoryGroups, MemoryNotifier, MemoryVpcs};
        use serde_json::json;

        /// vpc-1: a main table (no route out) serving subnet-a, a public
        /// table rtb-pub (0.0.0.0/0 to igw-1) serving subnet-b; a task in
        /// subnet-a and an instance in subnet-b.
        fn vpcs() -> MemoryVpcs {
            let network = Network {
                subnets: vec![subnet("subnet-a", "vpc-1"), subnet("subnet-b", "vpc-1")],
                route_tables: vec![
                    table(
                        "rtb-main",
                        "vpc-1",
                        true,
                        &[],
                        vec![route("10.0.0.0/16", "local")],
                    ),
                    table(
                        "rtb-pub",
                        "vpc-1",
                        false,
                        &["subnet-b"],
                        vec![route("10.0.0.0/16", "local"), route("0.0.0.0/0", "igw-1")],
                    ),
                ],
                internet_gateways: vec![igw("igw-1", &["vpc-1"])],
                ..Network::default()
            };
            MemoryVpcs {
                networks: vec![("vpc-1".to_string(), network)],
                workloads: vec![
                    (
                        "subnet-a".to_string(),
                        vec![workload("task eni-a (service web)", "sg-web")],
                    ),
                    (
                        "subnet-b".to_string(),
                        vec![workload("instance i-b", "sg-i")],
                    ),
                ],
                ..MemoryVpcs::default()
            }
        }

        fn workload(what: &str, group: &str) -> Workload {
            Workload {
                what: what.to_string(),
                groups: vec![group.to_string()],
            }
        }

        /// Every group admits tcp 443 from anywhere (the fake answers the
        /// same rules for every group).
        fn groups() -> MemoryGroups {
            MemoryGroups {
                rules: std::sync::Mutex::new(vec![SgRule {
                    rule_id: Some("sgr-1".to_string()),
                    direction: Direction::Ingress,
                    ip_protocol: "tcp".to_string(),
                    protocol: Protocol::Tcp,
                    from_port: Some(443),
                    to_port: Some(443),
                    source: Source::cidr("0.0.0.0/0"),
                    description: None,
                }]),
                ..MemoryGroups::default()
            }
        }

        fn event(name: &str, request: serde_json::Value) -> Event {
            let record = json!({"eventID": "ev-net", "eventName": name, "eventSource": "ec2.amazonaws.com",
                "recipientAccountId": "111122223333", "awsRegion": "eu-west-1",
                "requestParameters": request, "responseElements": {"_return": true}});
            Event::from_value(&record, "test").unwrap()
        }

        async fn run(vpcs: &MemoryVpcs, e: &Event) -> Result<Report, GuardError> {
            let notifier = MemoryNotifier::default();
            let settings = GuardSettings::default();
            VpcGuard {
                vpcs,
                groups: &groups(),
                notifier: &notifier,
                policy: &Policy::embedded(),
                settings: &settings,
            }
            .handle(e)
            .await
        }

        fn details(report: &Report) -> Vec<String> {
            report
                .findings
                .iter()
                .map(|f| format!("{} {}", f.rule, f.detail))
                .collect()
        }

        #[tokio::test]
        async fn a_default_route_on_the_main_table_reaches_what_runs_in_its_subnets() {
            let vpcs = vpcs();
            let e = event(
                "CreateRoute",
                json!({"routeTableId": "rtb-main", "destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}),
            );
            let report = run(&vpcs, &e).await.unwrap();
            // The main table serves subnet-a only: subnet-b has its own table.
            assert_eq!(
                details(&report),
                ["NET-001 rtb-main routes 0.0.0.0/0 to igw-1: reaches task eni-a (service web) open to the internet on tcp 443 (sg-web)"]
            );
            assert!(report.unevaluated.is_none());
            assert!(vpcs
                .calls
                .lock()
                .unwrap()
                .contains(&"workloads subnet-a".to_string()));
        }

        #[tokio::test]
        async fn a_subnet_moved_onto_the_public_table_is_flagged_and_onto_a_private_one_is_not() {
            let vpcs = vpcs();
            let onto = |table: &str| {
                event(
                    "AssociateRouteTable",
                    json!({"routeTableId": table, "subnetId": "subnet-a"}),
                )
            };
            let report = run(&vpcs, &onto("rtb-pub")).await.unwrap();
            assert_eq!(
                details(&report),
                ["NET-001 subnet-a now uses rtb-pub, which routes everything to igw-1: reaches task eni-a (service web) open to the internet on tcp 443 (sg-web)"]
            );
            let report = run(&vpcs, &onto("rtb-main")).await.unwrap();
            assert!(report.findings.is_empty(), "{:?}", report.findings);
            assert!(report.unevaluated.is_none());
        }

        #[tokio::test]
        async fn an_attached_gateway_reaches_the_subnets_of_the_tables_routing_to_it() {
            let vpcs = vpcs();
            let e = event(
                "AttachInternetGateway",
                json!({"internetGatewayId": "igw-1", "vpcId": "vpc-1"}),
            );
            let report = run(&vpcs, &e).await.unwrap();
            assert_eq!(
                details(&report),
                ["NET-001 igw-1 attached to vpc-1, whose route tables send everything to it: reaches instance i-b open to the internet on tcp 443 (sg-i)"]
            );
        }

        #[tokio::test]
        async fn a_read_that_fails_is_said_and_the_route_is_still_alerted_never_dropped() {
            let denied = MemoryVpcs {
                error: Some(AwsError {
                    operation: "DescribeRouteTables",
                    code: Some("UnauthorizedOperation".to_string()),
                    message: "denied".to_string(),
                    retryable: false,
                }),
                ..vpcs()
            };
            let route = event(
                "CreateRoute",
                json!({"routeTableId": "rtb-main", "destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}),
            );
            let report = run(&denied, &route).await.unwrap();
            assert_eq!(
                details(&report),
                ["NET-001 rtb-main routes 0.0.0.0/0 to igw-1: which ECS tasks and container instances sit in its subnets was not read"]
            );
            assert_eq!(
                report.unevaluated.as_deref(),
                Some("could not check route table rtb-main: UnauthorizedOperation")
            );
            let association = event(
                "AssociateRouteTable",
                json!({"routeTableId": "rtb-pub", "subnetId": "subnet-a"}),
            );
            let report = run(&denied, &association).await.unwrap();
            assert!(report.findings.is_empty());
            assert!(report.unevaluated.is_some(), "unknown is said, never none");
            // Throttling is retried by Lambda rather than reported.
            let throttled = MemoryVpcs {
                error: Some(AwsError {
                    operation: "DescribeRouteTables",
                    code: Some("RequestLimitExceeded".to_string()),
                    message: "slow down".to_string(),
                    retryable: true,
                }),
                ..vpcs()
            };
            assert!(run(&throttled, &route).await.is_err());
        }

        #[tokio::test]
        async fn acl_entries_and_subnet_attributes_need_no_read() {
            let vpcs = MemoryVpcs::default();
            let e = event(
                "CreateNetworkAclEntry",
                json!({"networkAclId": "acl-1", "ruleNumber": 100, "egress": false,
                    "ruleAction": "allow", "aclProtocol": "6", "portRange": {"from": 3389, "to": 3389},
                    "cidrBlock": "0.0.0.0/0"}),
            );
            let report = run(&vpcs, &e).await.unwrap();
            assert_eq!(
                details(&report),
                ["NET-002 acl-1 #100 inbound tcp 3389 from 0.0.0.0/0 allow: admits RDP (3389)"]
            );
            assert!(vpcs.calls.lock().unwrap().is_empty());
        }
    }
}
