//! Console pages for a verdict: the resource it is about and the event in
//! CloudTrail's event history, in the event's region and partition. Built
//! from the verdict alone (its event name and resource), so the Lambda, the
//! sweep and the CLI give the same links.

use crate::report::{Link, Report};

/// The console's address for `region`: the partition decides the domain.
fn console(region: &str) -> String {
    if region.starts_with("cn-") {
        format!("https://{region}.console.amazonaws.cn")
    } else if region.starts_with("us-gov-") {
        format!("https://{region}.console.amazonaws-us-gov.com")
    } else {
        format!("https://{region}.console.aws.amazon.com")
    }
}

/// IAM's console is global (one per partition).
fn iam_console(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "https://console.amazonaws.cn/iam/home"
    } else if region.starts_with("us-gov-") {
        "https://console.amazonaws-us-gov.com/iam/home"
    } else {
        "https://console.aws.amazon.com/iam/home"
    }
}

/// `value` for a URL path or fragment: ASCII letters, digits and `-_.~`
/// stay, everything else is percent-encoded.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn link(label: impl Into<String>, url: String) -> Link {
    Link {
        label: label.into(),
        url,
    }
}

/// Words of the resource that look like an id with `prefix` (`i-…`, `lt-…`).
fn ids<'a>(resource: &'a str, prefix: &str) -> Vec<&'a str> {
    resource
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| {
            w.strip_prefix(prefix)
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .collect()
}

/// The resource's pages, by the guard that judged it.
fn resource_links(report: &Report) -> Vec<Link> {
    let region = report.region.as_str();
    let c = console(region);
    let Some(resource) = report.resource.as_deref() else {
        return Vec::new();
    };
    let ec2 = format!("{c}/ec2/home?region={region}");
    match report.event_name.as_str() {
        _ if resource.starts_with("sg-") => vec![link(
            format!("security group {resource}"),
            format!("{ec2}#SecurityGroup:groupId={}", encode(resource)),
        )],
        _ if resource.starts_with("prefix list pl-") => {
            let list = resource.trim_start_matches("prefix list ");
            vec![link(
                format!("prefix list {list}"),
                format!(
                    "{c}/vpcconsole/home?region={region}#PrefixListDetails:prefixListId={}",
                    encode(list)
                ),
            )]
        }
        "RegisterTaskDefinition" => match resource.rsplit_once(':') {
            Some((family, revision)) => vec![link(
                format!("task definition {resource}"),
                format!(
                    "{c}/ecs/v2/task-definitions/{}/{}/containers?region={region}",
                    encode(family),
                    encode(revision)
                ),
            )],
            None => Vec::new(),
        },
        "CreateService" | "UpdateService" | "CreateTaskSet" | "UpdateTaskSet" => {
            let mut parts = resource.splitn(3, '/');
            match (parts.next(), parts.next()) {
                (Some(cluster), Some(service)) => vec![link(
                    format!("service {service} in cluster {cluster}"),
                    format!(
                        "{c}/ecs/v2/clusters/{}/services/{}/health?region={region}",
                        encode(cluster),
                        encode(service)
                    ),
                )],
                _ => Vec::new(),
            }
        }
        "RunTask" | "StartTask" => match resource.split_once('/') {
            Some((cluster, _)) => vec![link(
                format!("tasks of cluster {cluster}"),
                format!(
                    "{c}/ecs/v2/clusters/{}/tasks?region={region}",
                    encode(cluster)
                ),
            )],
            None => Vec::new(),
        },
        "CreateCluster" | "UpdateCluster" | "UpdateClusterSettings" => vec![link(
            format!("cluster {resource}"),
            format!(
                "{c}/ecs/v2/clusters/{}/services?region={region}",
                encode(resource)
            ),
        )],
        "CreateCapacityProvider" | "UpdateCapacityProvider" => vec![link(
            "clusters and their capacity providers".to_string(),
            format!("{c}/ecs/v2/clusters?region={region}"),
        )],
        "PutAccountSetting" | "PutAccountSettingDefault" => vec![link(
            "ECS account settings".to_string(),
            format!("{c}/ecs/v2/account-settings?region={region}"),
        )],
        "CreateRoute"
        | "ReplaceRoute"
        | "AssociateRouteTable"
        | "ReplaceRouteTableAssociation"
        | "CreateNetworkAclEntry"
        | "ReplaceNetworkAclEntry"
        | "ModifySubnetAttribute"
        | "AttachInternetGateway" => {
            let vpc = format!("{c}/vpcconsole/home?region={region}");
            let pages = [
                ("subnet-", "subnet", "SubnetDetails:subnetId"),
                ("rtb-", "route table", "RouteTableDetails:RouteTableId"),
                ("acl-", "network ACL", "NetworkAclDetails:networkAclId"),
                (
                    "igw-",
                    "internet gateway",
                    "InternetGateway:internetGatewayId",
                ),
            ];
            pages
                .iter()
                .flat_map(|(prefix, what, page)| {
                    ids(resource, prefix)
                        .into_iter()
                        .take(1)
                        .map(|id| link(format!("{what} {id}"), format!("{vpc}#{page}={id}")))
                        .collect::<Vec<_>>()
                })
                .collect()
        }
        "CreateLoadBalancer"
        | "SetSecurityGroups"
        | "CreateListener"
        | "ModifyListener"
        | "CreateRule"
        | "ModifyRule"
        | "ModifyLoadBalancerAttributes" => {
            // `app/<name>/<id>[/…]`: the load balancer's page, found by name.
            match resource.split('/').nth(1) {
                Some(name) if !name.is_empty() => vec![link(
                    format!("load balancer {name}"),
                    format!("{ec2}#LoadBalancers:search={}", encode(name)),
                )],
                _ => Vec::new(),
            }
        }
        "CreateTargetGroup" | "ModifyTargetGroup" | "RegisterTargets" => {
            match resource.split('/').next() {
                Some(name) if !name.is_empty() => vec![link(
                    format!("target group {name}"),
                    format!("{ec2}#TargetGroups:search={}", encode(name)),
                )],
                _ => Vec::new(),
            }
        }
        "RunInstances"
        | "ModifyInstanceMetadataOptions"
        | "CreateLaunchTemplate"
        | "CreateLaunchTemplateVersion" => {
            let mut links: Vec<Link> = ids(resource, "i-")
                .into_iter()
                .take(3)
                .map(|id| {
                    link(
                        format!("instance {id}"),
                        format!("{ec2}#InstanceDetails:instanceId={id}"),
                    )
                })
                .collect();
            links.extend(ids(resource, "lt-").into_iter().take(1).map(|id| {
                link(
                    format!("launch template {id}"),
                    format!("{ec2}#LaunchTemplateDetails:launchTemplateId={id}"),
                )
            }));
            links
        }
        _ => {
            let iam = iam_console(region);
            let kinds = [("role ", "roles"), ("user ", "users"), ("group ", "groups")];
            if let Some(policy) = resource.strip_prefix("policy ") {
                return vec![link(
                    format!("policy {policy}"),
                    format!("{iam}#/policies/details/{}", encode(policy)),
                )];
            }
            kinds
                .iter()
                .find_map(|(word, page)| {
                    let name = resource.strip_prefix(word)?;
                    Some(vec![link(
                        format!("{}{name}", word),
                        format!("{iam}#/{page}/details/{}", encode(name)),
                    )])
                })
                .unwrap_or_default()
        }
    }
}

/// What a console page shows, for [`page`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    SecurityGroup,
    Subnet,
    RouteTable,
    NetworkAcl,
    InternetGateway,
    LoadBalancer,
    TargetGroup,
    /// `cluster/service`.
    Service,
    Instance,
    /// A role's name or ARN.
    Role,
}

/// The console page of one resource (a map's hop or target); `None` when
/// the region is not a plain word or the id does not fit the page.
pub fn page(region: &str, what: Page, id: &str) -> Option<String> {
    if !crate::report::is_plain_word(region) || id.is_empty() {
        return None;
    }
    let c = console(region);
    let ec2 = format!("{c}/ec2/home?region={region}");
    let vpc = format!("{c}/vpcconsole/home?region={region}");
    let e = encode(id);
    Some(match what {
        Page::SecurityGroup => format!("{ec2}#SecurityGroup:groupId={e}"),
        Page::Subnet => format!("{vpc}#SubnetDetails:subnetId={e}"),
        Page::RouteTable => format!("{vpc}#RouteTableDetails:RouteTableId={e}"),
        Page::NetworkAcl => format!("{vpc}#NetworkAclDetails:networkAclId={e}"),
        Page::InternetGateway => format!("{vpc}#InternetGateway:internetGatewayId={e}"),
        Page::Instance => format!("{ec2}#InstanceDetails:instanceId={e}"),
        // `app/<name>/<id>` or its ARN: found by name.
        Page::LoadBalancer => {
            let name = id.rsplit(":loadbalancer/").next().unwrap_or(id);
            format!(
                "{ec2}#LoadBalancers:search={}",
                encode(name.split('/').nth(1)?)
            )
        }
        Page::TargetGroup => {
            let name = id.rsplit(":targetgroup/").next().unwrap_or(id);
            format!(
                "{ec2}#TargetGroups:search={}",
                encode(name.split('/').next()?)
            )
        }
        Page::Service => {
            let (cluster, service) = id.split_once('/')?;
            format!(
                "{c}/ecs/v2/clusters/{}/services/{}/health?region={region}",
                encode(cluster),
                encode(service)
            )
        }
        Page::Role => {
            let name = id.rsplit(":role/").next().unwrap_or(id);
            format!("{}#/roles/details/{}", iam_console(region), encode(name))
        }
    })
}

/// The verdict's links: the resource's pages, then the event in CloudTrail
/// (in the event's region; none without an event id, as for a sweep). None
/// at all when the region is not a plain word: it names the console's host.
pub fn for_report(report: &Report) -> Vec<Link> {
    if report.skipped.is_some() || !crate::report::is_plain_word(&report.region) {
        return Vec::new();
    }
    let mut links = resource_links(report);
    // A sweep's report has a run id, not a CloudTrail event.
    let event = report.event_name != crate::report::SWEEP;
    if event && !report.event_id.is_empty() && !report.region.is_empty() {
        let region = report.region.as_str();
        links.push(link(
            format!("event {} in CloudTrail", report.event_id),
            format!(
                "{}/cloudtrailv2/home?region={region}#/events/{}",
                console(region),
                encode(&report.event_id)
            ),
        ));
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(event_name: &str, region: &str, resource: &str) -> Report {
        let record = serde_json::json!({"eventID": "ev-1", "eventName": event_name,
            "recipientAccountId": "111122223333", "awsRegion": region});
        let event = crate::model::event::Event::from_value(&record, "t").unwrap();
        let mut r = Report::for_event(&event);
        r.resource = Some(resource.to_string());
        r
    }

    fn urls(r: &Report) -> Vec<String> {
        for_report(r).into_iter().map(|l| l.url).collect()
    }

    #[test]
    fn the_way_in_links_to_its_vpc_and_load_balancer_pages() {
        let moved = report(
            "AssociateRouteTable",
            "eu-west-1",
            "subnet-0b1c2d3e (rtb-0a1b2c3d)",
        );
        let got = urls(&moved);
        assert_eq!(
            &got[..2],
            [
                "https://eu-west-1.console.aws.amazon.com/vpcconsole/home?region=eu-west-1#SubnetDetails:subnetId=subnet-0b1c2d3e",
                "https://eu-west-1.console.aws.amazon.com/vpcconsole/home?region=eu-west-1#RouteTableDetails:RouteTableId=rtb-0a1b2c3d",
            ]
        );
        let listener = report(
            "CreateListener",
            "us-gov-west-1",
            "app/web/50dc6c495c0c9188/f2f7dc8efc522ab2",
        );
        assert_eq!(
            urls(&listener)[0],
            "https://us-gov-west-1.console.amazonaws-us-gov.com/ec2/home?region=us-gov-west-1#LoadBalancers:search=web"
        );
        let targets = report("RegisterTargets", "eu-west-1", "api/73e2d6bc24d8a067");
        assert!(urls(&targets)[0].ends_with("#TargetGroups:search=api"));
    }

    #[test]
    fn each_guard_links_its_resource_and_the_event() {
        assert_eq!(
            urls(&report("AuthorizeSecurityGroupIngress", "eu-west-1", "sg-0abc")),
            [
                "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-0abc",
                "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/ev-1",
            ]
        );
        assert_eq!(
            urls(&report("RegisterTaskDefinition", "eu-west-1", "web:3"))[0],
            "https://eu-west-1.console.aws.amazon.com/ecs/v2/task-definitions/web/3/containers?region=eu-west-1"
        );
        assert_eq!(
            urls(&report("UpdateService", "eu-west-1", "prod/web"))[0],
            "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/web/health?region=eu-west-1"
        );
        assert_eq!(
            urls(&report("CreateLaunchTemplateVersion", "eu-west-1", "launch template ecs (lt-0a1b) version 2"))[0],
            "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#LaunchTemplateDetails:launchTemplateId=lt-0a1b"
        );
        assert_eq!(
            urls(&report("AttachRolePolicy", "us-east-1", "role app/task"))[0],
            "https://console.aws.amazon.com/iam/home#/roles/details/app%2Ftask"
        );
    }

    #[test]
    fn partitions_and_skipped_events() {
        assert!(urls(&report(
            "AuthorizeSecurityGroupIngress",
            "cn-north-1",
            "sg-1"
        ))[0]
            .starts_with("https://cn-north-1.console.amazonaws.cn/"));
        assert!(urls(&report(
            "AuthorizeSecurityGroupIngress",
            "us-gov-west-1",
            "sg-1"
        ))[0]
            .starts_with("https://us-gov-west-1.console.amazonaws-us-gov.com/"));
        let mut skipped = report("AuthorizeSecurityGroupIngress", "eu-west-1", "sg-1");
        skipped.skipped = Some("failed call".into());
        assert!(for_report(&skipped).is_empty());
        let odd = report("AuthorizeSecurityGroupIngress", "evil.example/x", "sg-1");
        assert!(
            for_report(&odd).is_empty(),
            "a region that would change the host"
        );
        let sweep = report(crate::report::SWEEP, "eu-west-1", "sg-1");
        assert_eq!(
            urls(&sweep).len(),
            1,
            "a run, not an event: no CloudTrail link"
        );
    }

    #[test]
    fn a_maps_hops_link_to_their_pages() {
        let lb = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/50dc";
        assert_eq!(
            page("eu-west-1", Page::LoadBalancer, lb).as_deref(),
            Some("https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#LoadBalancers:search=web")
        );
        let tg = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/api/73e2";
        assert_eq!(
            page("eu-west-1", Page::TargetGroup, tg).as_deref(),
            Some("https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#TargetGroups:search=api")
        );
        assert_eq!(
            page(
                "cn-north-1",
                Page::Role,
                "arn:aws-cn:iam::111122223333:role/app/task"
            )
            .as_deref(),
            Some("https://console.amazonaws.cn/iam/home#/roles/details/app%2Ftask")
        );
        assert_eq!(
            page("eu-west-1", Page::Service, "prod/web").as_deref(),
            Some("https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/web/health?region=eu-west-1")
        );
        assert_eq!(page("eu-west-1", Page::Service, "web"), None);
        assert_eq!(page("eu west", Page::Subnet, "subnet-1"), None);
    }

    #[test]
    fn odd_names_are_encoded_never_pasted() {
        let r = report("CreateCluster", "eu-west-1", "a b#c");
        assert!(
            urls(&r)[0].contains("/clusters/a%20b%23c/"),
            "{:?}",
            urls(&r)
        );
    }
}
