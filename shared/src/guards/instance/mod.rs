//! The instance guard: `RunInstances`, `CreateLaunchTemplate(Version)` and
//! `ModifyInstanceMetadataOptions` ▶ the EC2-CI rules ▶ one alert. Notify
//! only. A launch or a template version is judged whole, a metadata update on
//! what it sets. What only AWS can tell — whether the instance is a container
//! instance, the metadata defaults, the subnet's public-IP setting, the
//! groups' live rules, a launch template version the record does not carry —
//! comes in [`CiFacts`], which the Lambda fills in; offline it is empty and
//! the verdict says which checks need AWS.

use tracing::info;

use crate::finding::Finding;
use crate::guards::paths::{self, Address, Exposed, Placement, Traffic};
use crate::guards::{failed_call, notify_if_due, preflight, GuardError, GuardSettings};
use crate::model::ci::{CiCall, InstanceChange, InstanceSettings, Said, TemplateRef};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::model::json::Node;
use crate::model::net::Protocol;
use crate::model::reach::Family;
use crate::model::sg::{PrefixListEntries, SgChange};
use crate::policy::Policy;
use crate::ports::{AwsError, Iam, Instances, Notifier, ProviderGroup, SecurityGroups, Vpcs};
use crate::report::Report;
use crate::rules::ec2_ci::{Evidence, GroupExposure, MetadataDefaults, Sourced};
use crate::rules::{self, ec2_ci::CiContext, ec2_ci::CiFacts};

/// What the offline verdict cannot judge about a launch or a launch template.
pub const NEEDS_AWS: &str = "EC2-CI-003 and EC2-CI-004 (whether these are container instances: the instance profile's role, the capacity providers) and EC2-CI-005 (the groups' live rules) need AWS: the Lambda checks them";

/// What the offline verdict cannot judge about a metadata update that sets the hop limit.
pub const NEEDS_AWS_UPDATE: &str =
    "EC2-CI-004 (whether this is a container instance: its instance profile's role) needs AWS: the Lambda checks it";

/// What the offline verdict cannot judge when a launch does not say whether
/// it wants a public IP.
pub const NEEDS_AWS_SUBNET: &str = "EC2-CI-002 needs AWS: the launch does not say whether the instances get a public IP, so the subnet's MapPublicIpOnLaunch decides; the Lambda reads the subnet";

/// What the offline verdict cannot judge when the record does not carry the
/// launch template version that decides the settings.
pub fn needs_template(template: &TemplateRef, unknown: &[&str]) -> String {
    format!(
        "EC2-CI-001…005 need AWS for what the record does not carry ({}): it comes from {template}, which the Lambda reads",
        unknown.join(", ")
    )
}

/// The verdict on `change` with what the Lambda learned (`facts`; empty offline).
pub(crate) fn report_for(
    event: &Event,
    change: &InstanceChange,
    policy: &Policy,
    facts: &CiFacts,
) -> Report {
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    report.findings = rules::evaluate_ci(change, &CiContext { policy, facts });
    report
}

/// What the offline verdict could not judge about `change`.
fn offline_notes(change: &InstanceChange) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(template) = &change.needs_template {
        notes.push(needs_template(template, &change.effective.unknown()));
    }
    match change.call {
        CiCall::ModifyMetadataOptions => {
            if !change.effective.hop_limit.is_unknown() {
                notes.push(NEEDS_AWS_UPDATE.to_string());
            }
        }
        call => {
            if call == CiCall::RunInstances && change.effective.public_ip == Said::Default {
                notes.push(NEEDS_AWS_SUBNET.to_string());
            }
            notes.push(NEEDS_AWS.to_string());
        }
    }
    notes
}

/// The offline verdict (CLI): only what the event shows.
pub fn evaluate_offline(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    // Dry runs (`Client.DryRunOperation`) and denied calls launched nothing.
    if let Some(reason) = failed_call(event, &[]) {
        return Ok(Report::skipped(event, reason));
    }
    let Some(change) = InstanceChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let mut report = report_for(event, &change, policy, &CiFacts::default());
    report.notes = offline_notes(&change);
    Ok(report)
}

const ACCOUNT_DEFAULT: &str = "the account's metadata default (GetInstanceMetadataDefaults)";

/// The metadata defaults `settings` take for what they leave out (httpTokens,
/// the hop limit), in EC2's order of precedence: the account's default
/// where it sets one, else the AMI's (`ImdsSupport: v2.0` means `required`
/// and a hop limit of 2), else EC2's own. `Ok(None)` when nothing is left
/// out; `on_call` counts the reads. `Err`: the account's defaults could not
/// be read, or the AMI's read may be retried. The guard and the sweep
/// resolve them alike.
pub async fn metadata_defaults(
    instances: &dyn Instances,
    settings: &InstanceSettings,
    on_call: &(dyn Fn() + Send + Sync),
) -> Result<Option<MetadataDefaults>, AwsError> {
    let need_tokens = settings.http_tokens == Said::Default;
    let need_hops = settings.hop_limit == Said::Default;
    if !need_tokens && !need_hops {
        return Ok(None);
    }
    on_call();
    let (tokens, hops) = instances.metadata_defaults().await?;
    let mut defaults = MetadataDefaults {
        http_tokens: tokens.map(|t| Sourced::new(t, ACCOUNT_DEFAULT)),
        hop_limit: hops.map(|h| Sourced::new(h, ACCOUNT_DEFAULT)),
        consulted: "the account's metadata defaults".to_string(),
        ami_unknown: None,
    };
    let ami_decides = (need_tokens && defaults.http_tokens.is_none())
        || (need_hops && defaults.hop_limit.is_none());
    if !ami_decides {
        return Ok(Some(defaults));
    }
    // What the account leaves unset, the AMI decides; when the AMI cannot
    // be told, those fields are unknown (the rules say so), never EC2's own.
    let image = match settings.image.as_deref().map(str::trim) {
        Some(image) if image.starts_with("ami-") => image.to_string(),
        Some(image) => {
            defaults.ami_unknown = Some(format!(
                "the image is {}, resolved only at launch",
                crate::rules::ec2_ci::shown(image)
            ));
            return Ok(Some(defaults));
        }
        None => {
            defaults.ami_unknown = Some("no AMI is named".to_string());
            return Ok(Some(defaults));
        }
    };
    on_call();
    let support = match instances.image_imds_support(&image).await {
        Ok(support) => support,
        Err(e) if e.retryable => return Err(e),
        Err(e) => {
            defaults.ami_unknown = Some(format!("DescribeImages {image}: {}", e.code_or_kind()));
            return Ok(Some(defaults));
        }
    };
    defaults.consulted = format!("the account's metadata defaults or AMI {image}'s ImdsSupport");
    match support {
        Some(Some(version)) if version == "v2.0" => {
            let from = format!("AMI {image} (ImdsSupport v2.0)");
            defaults.http_tokens = defaults
                .http_tokens
                .or_else(|| Some(Sourced::new("required".to_string(), from.clone())));
            defaults.hop_limit = defaults.hop_limit.or(Some(Sourced::new(2, from)));
        }
        Some(_) => {}
        None => defaults.ami_unknown = Some(format!("AMI {image} is not found")),
    }
    Ok(Some(defaults))
}

/// The ECS container-instance policy: a role that carries it is a
/// container instance's.
const ECS_INSTANCE_POLICY: &str = "AmazonEC2ContainerServiceforEC2Role";

/// Why the instances of an instance profile are container instances (a
/// role of the profile carries the ECS instance policy); `None`: not shown.
/// The guard and the sweep decide it the same way.
pub async fn container_instance(
    iam: &dyn Iam,
    profile: &str,
) -> Result<Option<Evidence>, AwsError> {
    let Some(roles) = iam.instance_profile_roles(profile).await? else {
        return Ok(None);
    };
    for role in roles {
        let attached = iam.attached_policies(&role).await?.unwrap_or_default();
        if let Some(policy) = attached.iter().find(|a| a.ends_with(ECS_INSTANCE_POLICY)) {
            return Ok(Some(Evidence(format!(
                "instance profile {profile}'s role {role} carries {policy}"
            ))));
        }
    }
    Ok(None)
}

/// Why the instances of `change` are container instances by way of a
/// capacity provider: the Auto Scaling group that launched them is one's,
/// or the launch template they come from is what one's group launches.
pub fn provider_evidence(change: &InstanceChange, groups: &[ProviderGroup]) -> Option<Evidence> {
    if let Some(name) = &change.auto_scaling_group {
        if let Some(g) = groups.iter().find(|g| &g.group == name) {
            return Some(Evidence(format!(
                "launched by Auto Scaling group {} of capacity provider {}",
                g.group, g.provider
            )));
        }
    }
    let template = change.template.as_ref()?;
    let g = groups.iter().find(|g| g.launches_from(template))?;
    Some(Evidence(format!(
        "launch template {} is what capacity provider {}'s Auto Scaling group {} launches from",
        template.key(),
        g.provider,
        g.group
    )))
}

/// The instance guard with its ports.
pub struct InstanceGuard<'a> {
    pub instances: &'a dyn Instances,
    pub iam: &'a dyn Iam,
    pub groups: &'a dyn SecurityGroups,
    /// The network path of what is exposed (subnets, routes, network ACLs).
    pub vpcs: &'a dyn Vpcs,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl InstanceGuard<'_> {
    pub async fn handle(&self, event: &Event) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(skipped) = preflight(event, self.settings, &[]) {
            return Ok(skipped);
        }
        let Some(mut change) =
            InstanceChange::from_event(event).map_err(GuardError::parse(event))?
        else {
            return Ok(Report::not_handled(event));
        };
        let mut notes = Vec::new();
        // Checks that could not run: said in the alert, which goes out.
        let mut unread: Vec<String> = Vec::new();
        let mut facts = CiFacts::default();
        if let Some(template) = change.needs_template.clone() {
            match self
                .instances
                .launch_template_data(template.key(), &template.version)
                .await
            {
                Ok(Some(data)) => {
                    let node = Node::root(&data, "launchTemplateData");
                    match InstanceSettings::from_template_data(&node) {
                        Ok(settings) => change = change.with_template(&settings),
                        Err(field) => facts.template_unread = Some(field.to_string()),
                    }
                }
                Ok(None) => facts.template_unread = Some("not found".to_string()),
                Err(e) if e.retryable => return Err(aws(e)),
                Err(e) => facts.template_unread = Some(e.code_or_kind()),
            }
            if let Some(why) = &facts.template_unread {
                notes.push(format!("could not read {template}: {why}"));
            }
        }
        let effective = change.effective.clone();
        match metadata_defaults(self.instances, &effective, &|| {}).await {
            Ok(defaults) => {
                let unknown_fields = defaults.as_ref().is_some_and(|d| {
                    (effective.http_tokens == Said::Default && d.http_tokens.is_none())
                        || (effective.hop_limit == Said::Default && d.hop_limit.is_none())
                });
                if let Some(why) = defaults.as_ref().and_then(|d| d.ami_unknown.as_ref()) {
                    if unknown_fields {
                        unread.push(format!("the AMI's ImdsSupport ({why})"));
                    }
                }
                facts.metadata_defaults = defaults;
            }
            Err(e) if e.retryable => return Err(aws(e)),
            Err(e) => unread.push(format!(
                "the instance metadata defaults ({}: {})",
                e.operation,
                e.code_or_kind()
            )),
        }
        if change.call == CiCall::RunInstances && effective.public_ip == Said::Default {
            match effective.subnet.as_deref() {
                Some(subnet) => match self.instances.subnet_maps_public_ip(subnet).await {
                    Ok(Some(maps)) => facts.subnet_public_ip = Some(maps),
                    Ok(None) => unread.push(format!(
                        "whether subnet {subnet} gives public IPs (not found)"
                    )),
                    Err(e) if e.retryable => return Err(aws(e)),
                    Err(e) => unread.push(format!(
                        "whether subnet {subnet} gives public IPs ({})",
                        e.code_or_kind()
                    )),
                },
                None => unread.push(
                    "whether the instances get a public IP (the launch names no subnet: the default subnet's setting applies)"
                        .to_string(),
                ),
            }
        }
        // A metadata update names the instance, not its profile: read it.
        let mut profile = effective.instance_profile.set().cloned();
        if change.call == CiCall::ModifyMetadataOptions && profile.is_none() {
            for instance in &change.instance_ids {
                match self.instances.instance_profile(instance).await {
                    Ok(Some(found)) => profile = profile.or(found),
                    Ok(None) => notes.push(format!("instance {instance} no longer exists")),
                    Err(e) if e.retryable => return Err(aws(e)),
                    Err(e) => unread.push(format!(
                        "the instance profile of {instance} ({})",
                        e.code_or_kind()
                    )),
                }
            }
        }
        if let Some(profile) = &profile {
            match self.container_instance(profile).await {
                Ok(evidence) => facts.container_instance = evidence,
                Err(e) if e.retryable => return Err(aws(e)),
                Err(e) => unread.push(format!(
                    "whether these are container instances (instance profile {profile}: {})",
                    e.code_or_kind()
                )),
            }
        }
        // Else a capacity provider's Auto Scaling group: the group that
        // launched the instances, or the template it launches from. (A new
        // template cannot be any group's yet.)
        let by_group = change.call == CiCall::RunInstances
            && (change.auto_scaling_group.is_some() || change.template.is_some());
        let by_template =
            change.call == CiCall::CreateLaunchTemplateVersion && change.template.is_some();
        if facts.container_instance.is_none() && (by_group || by_template) {
            match self.instances.provider_groups().await {
                Ok(groups) => facts.container_instance = provider_evidence(&change, &groups),
                Err(e) if e.retryable => return Err(aws(e)),
                Err(e) => unread.push(format!(
                    "whether these are container instances (the capacity providers' Auto Scaling groups: {}: {})",
                    e.operation,
                    e.code_or_kind()
                )),
            }
        }
        if change.call != CiCall::ModifyMetadataOptions {
            let mut exposure = GroupExposure::default();
            for group_id in effective.groups() {
                if !group_id.starts_with("sg-") {
                    // Named by its name (a default VPC launch): its rules are
                    // not read by name here, so it is unknown.
                    exposure
                        .unchecked
                        .push((group_id.clone(), "named by name, not read".to_string()));
                    continue;
                }
                match self.groups.rules_of_group(group_id).await {
                    Ok(stored) => {
                        let mut ingress = SgChange::current_ingress(group_id, stored)
                            .with_account(&event.account);
                        for list in ingress.prefix_list_ids() {
                            let entries = match self.groups.prefix_list(&list).await {
                                Ok(entries) => entries,
                                Err(e) if e.retryable => return Err(aws(e)),
                                Err(e) => {
                                    exposure.unchecked.push((
                                        group_id.clone(),
                                        format!("prefix list {list}: {}", e.code_or_kind()),
                                    ));
                                    PrefixListEntries::Unknown(e.code_or_kind())
                                }
                            };
                            ingress.prefix_lists.insert(list, entries);
                        }
                        let findings = rules::ec2_sg::internet_exposure(rules::evaluate_sg(
                            &ingress,
                            self.policy,
                        ));
                        exposure.groups.push((group_id.clone(), findings));
                    }
                    Err(e) if e.retryable => return Err(aws(e)),
                    Err(e) => {
                        notes.push(format!(
                            "could not check security group {group_id}: {}",
                            e.code_or_kind()
                        ));
                        exposure
                            .unchecked
                            .push((group_id.clone(), e.code_or_kind()));
                    }
                }
            }
            facts.groups = Some(exposure);
        }
        let mut report = report_for(event, &change, self.policy, &facts);
        if !unread.is_empty() {
            report.unevaluated = Some(format!("could not check {}", unread.join("; ")));
        }
        report.notes = notes;
        let exposed = exposed(&report.findings, &facts);
        paths::add_paths(
            self.vpcs,
            &mut report.findings,
            exposed,
            &placement(&change, &facts),
            self.policy.wide,
            &event.id,
        )
        .await
        .map_err(aws)?;
        for f in &report.findings {
            info!(event_id = %event.id, rule = f.rule, severity = %f.severity, detail = %f.detail, "finding");
        }
        notify_if_due(&mut report, self.policy, self.settings, self.notifier)
            .await
            .map_err(aws)?;
        Ok(report)
    }

    async fn container_instance(&self, profile: &str) -> Result<Option<Evidence>, AwsError> {
        container_instance(self.iam, profile).await
    }
}

/// Where the instances sit: the subnet the launch (or template) names,
/// and whether they get a public IPv4 address — the launch's setting, else
/// the subnet's `MapPublicIpOnLaunch` (read, or read with the network).
fn placement(change: &InstanceChange, facts: &CiFacts) -> Placement {
    let settings = &change.effective;
    Placement {
        subnets: settings
            .subnet
            .clone()
            .map(|subnet| vec![subnet])
            .ok_or_else(|| "the record names no subnet".to_string()),
        address: match (&settings.public_address, &settings.public_ip) {
            (Some(_), _) | (None, Said::Set(true)) => Address::Has(true),
            (None, Said::Set(false)) => Address::Has(false),
            (None, Said::Default) => facts
                .subnet_public_ip
                .map_or(Address::SubnetDefault, Address::Has),
            (None, Said::Unknown) => Address::Unknown,
        },
    }
}

/// The findings about exposure and what each exposes: an open group
/// (EC2-CI-005) what its open rules let in; a public IP (EC2-CI-002) what
/// the open groups let in, else no port; an SSH key pair (EC2-CI-003)
/// tcp/22 where an open group lets it in (the key is for SSH), else nothing
/// is said.
fn exposed(findings: &[Finding], facts: &CiFacts) -> Vec<Exposed> {
    let groups = facts.groups.as_ref();
    let open_all: Vec<Finding> = groups
        .into_iter()
        .flat_map(|g| g.groups.iter())
        .flat_map(|(_, open)| open.iter().cloned())
        .collect();
    findings
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let traffic = if f.rule == rules::ec2_ci::open_security_group::OPEN_SECURITY_GROUP.id {
                let group = paths::group_of(f)?;
                let (_, open) = groups?.groups.iter().find(|(g, _)| g == group)?;
                paths::open_traffic(open, &[])
            } else if f.rule == rules::ec2_ci::public_ip::PUBLIC_IP.id {
                let traffic = paths::open_traffic(&open_all, &[]);
                if traffic.is_empty() {
                    vec![Traffic::Unnamed {
                        family: Family::Ipv4,
                        why: "no security group is known to let the internet in".to_string(),
                    }]
                } else {
                    traffic
                }
            } else if f.rule == rules::ec2_ci::ssh_key_pair::SSH_KEY_PAIR.id {
                let ssh: Vec<Traffic> = paths::open_traffic(&open_all, &[(Protocol::Tcp, 22)])
                    .into_iter()
                    .filter(|t| {
                        matches!(
                            t,
                            Traffic::Port {
                                protocol: Protocol::Tcp,
                                port: 22,
                                ..
                            }
                        )
                    })
                    .collect();
                if ssh.is_empty() {
                    return None;
                }
                ssh
            } else {
                return None;
            };
            Some(Exposed {
                finding: i,
                traffic,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ec2_ci::{Evidence, GroupExposure, MetadataDefaults};
    use serde_json::json;

    fn event(name: &str, request: serde_json::Value, response: serde_json::Value) -> Event {
        let record = json!({"eventID": "ev-ci", "eventName": name, "eventSource": "ec2.amazonaws.com",
            "recipientAccountId": "111122223333", "awsRegion": "eu-west-1",
            "requestParameters": request, "responseElements": response});
        Event::from_value(&record, "test").unwrap()
    }

    fn rules_of(report: &Report) -> Vec<&str> {
        report.findings.iter().map(|f| f.rule).collect()
    }

    fn imdsv1_public_launch() -> Event {
        event(
            "RunInstances",
            json!({"instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": 1, "keyName": "ops"}]},
                   "networkInterfaceSet": {"items": [{"deviceIndex": 0, "subnetId": "subnet-1", "associatePublicIpAddress": true,
                       "groupSet": {"items": [{"groupId": "sg-1"}]}}]},
                   "metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 2}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1"}]}}),
        )
    }

    #[test]
    fn offline_judges_what_the_record_shows_and_says_what_needs_aws() {
        let report = evaluate_offline(&imdsv1_public_launch(), &Policy::embedded()).unwrap();
        assert_eq!(rules_of(&report), ["EC2-CI-001", "EC2-CI-002"]);
        assert_eq!(report.resource.as_deref(), Some("i-1"));
        assert_eq!(report.notes, [NEEDS_AWS]);
        // A launch that does not say about public IPs: the subnet decides.
        let bare = event(
            "RunInstances",
            json!({"instancesSet": {"items": [{"imageId": "ami-1"}]}, "metadataOptions": {"httpTokens": "required"}}),
            json!(null),
        );
        let report = evaluate_offline(&bare, &Policy::embedded()).unwrap();
        assert!(report.findings.is_empty());
        assert_eq!(report.notes, [NEEDS_AWS_SUBNET, NEEDS_AWS]);
        // A metadata update that sets the hop limit: whether it matters needs AWS.
        let update = event(
            "ModifyInstanceMetadataOptions",
            json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-1", "HttpPutResponseHopLimit": 3}}),
            json!(null),
        );
        let report = evaluate_offline(&update, &Policy::embedded()).unwrap();
        assert!(report.findings.is_empty());
        assert_eq!(report.notes, [NEEDS_AWS_UPDATE]);
    }

    #[test]
    fn a_launch_template_the_record_does_not_carry_is_never_judged_clean() {
        let launch = event(
            "RunInstances",
            json!({"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
                   "launchTemplate": {"launchTemplateId": "lt-1", "version": "4"}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1",
                   "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}}]}}),
        );
        let report = evaluate_offline(&launch, &Policy::embedded()).unwrap();
        assert!(report.findings.is_empty());
        assert_eq!(
            report.notes[0],
            "EC2-CI-001…005 need AWS for what the record does not carry (associatePublicIpAddress, keyName, iamInstanceProfile, securityGroups): it comes from launch template lt-1 version 4, which the Lambda reads"
        );
        // The Lambda could not read it: unknown, reported, alerting.
        let change = InstanceChange::from_event(&launch).unwrap().unwrap();
        let facts = CiFacts {
            template_unread: Some("UnauthorizedOperation".into()),
            ..CiFacts::default()
        };
        let report = report_for(&launch, &change, &Policy::embedded(), &facts);
        assert_eq!(rules_of(&report), ["EC2-CI-002"]);
        assert!(report.findings[0].detail.contains("is unknown"));
        assert!(report.should_notify(Policy::embedded().notify_min_severity));
        // It read it: judged on the template's settings.
        let read = crate::model::ci::InstanceSettings {
            public_ip: Said::Set(true),
            key_name: Said::Set("ops".into()),
            ..Default::default()
        };
        let filled = change.with_template(&read);
        let facts = CiFacts {
            container_instance: Some(Evidence(
                "launch template lt-1 used by capacity provider cp".into(),
            )),
            metadata_defaults: None,
            ..CiFacts::default()
        };
        let report = report_for(&launch, &filled, &Policy::embedded(), &facts);
        assert_eq!(rules_of(&report), ["EC2-CI-002", "EC2-CI-003"]);
    }

    #[test]
    fn with_everything_read_every_rule_can_fire() {
        let change = InstanceChange::from_event(&imdsv1_public_launch())
            .unwrap()
            .unwrap();
        let open = Finding {
            fields: Default::default(),
            resource: None,
            rule: "EC2-SG-003",
            severity: crate::finding::Severity::Critical,
            title: "SSH",
            detail: "tcp 22 from 0.0.0.0/0 (sgr-1)".into(),
            remediation: "",
            action: crate::finding::Action::Revoke,
            target: None,
        };
        let facts = CiFacts {
            container_instance: Some(Evidence(
                "instance profile role ecsInstanceRole carries AmazonEC2ContainerServiceforEC2Role"
                    .into(),
            )),
            metadata_defaults: Some(MetadataDefaults {
                http_tokens: None,
                hop_limit: None,
                consulted: "the account's metadata defaults".into(),
                ami_unknown: None,
            }),
            subnet_public_ip: Some(false),
            groups: Some(GroupExposure {
                groups: vec![("sg-1".into(), vec![open])],
                unchecked: vec![],
            }),
            template_unread: None,
        };
        let report = report_for(
            &imdsv1_public_launch(),
            &change,
            &Policy::embedded(),
            &facts,
        );
        assert_eq!(
            rules_of(&report),
            [
                "EC2-CI-001",
                "EC2-CI-002",
                "EC2-CI-005",
                "EC2-CI-003",
                "EC2-CI-004"
            ]
        );
    }

    #[test]
    fn dry_runs_denied_calls_and_other_services_are_not_judged() {
        let mut dry = imdsv1_public_launch();
        dry.error_code = Some("Client.DryRunOperation".into());
        assert_eq!(
            evaluate_offline(&dry, &Policy::embedded())
                .unwrap()
                .skipped
                .as_deref(),
            Some("failed call: Client.DryRunOperation")
        );
        let mut other = imdsv1_public_launch();
        other.source = "ecs.amazonaws.com".into();
        assert!(evaluate_offline(&other, &Policy::embedded())
            .unwrap()
            .is_not_handled());
        let omitted = event("RunInstances", json!({"omitted": true}), json!(null));
        assert_eq!(
            evaluate_offline(&omitted, &Policy::embedded())
                .unwrap_err()
                .path,
            "requestParameters"
        );
    }

    mod lambda_side {
        use super::*;
        use crate::model::ci::TemplateRef;
        use crate::ports::fakes::{
            MemoryGroups, MemoryIam, MemoryInstances, MemoryNotifier, MemoryVpcs,
        };
        use crate::ports::{AwsError, ProviderGroup, RolePolicies};

        fn denied(operation: &'static str) -> AwsError {
            AwsError {
                operation,
                code: Some("UnauthorizedOperation".into()),
                message: "no".into(),
                retryable: false,
            }
        }

        async fn run(
            instances: &MemoryInstances,
            iam: &MemoryIam,
            e: &Event,
        ) -> (Result<Report, GuardError>, usize) {
            let notifier = MemoryNotifier::default();
            let policy = Policy::embedded();
            let settings = GuardSettings::default();
            let groups = MemoryGroups::default();
            let vpcs = MemoryVpcs::default();
            let result = InstanceGuard {
                instances,
                iam,
                groups: &groups,
                vpcs: &vpcs,
                notifier: &notifier,
                policy: &policy,
                settings: &settings,
            }
            .handle(e)
            .await;
            let sent = notifier.sent.lock().unwrap().len();
            (result, sent)
        }

        fn from_template() -> Event {
            event(
                "RunInstances",
                json!({"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
                       "launchTemplate": {"launchTemplateId": "lt-1", "version": "3"}}),
                json!(null),
            )
        }

        #[tokio::test]
        async fn a_metadata_update_reads_the_instances_profile_and_says_when_it_cannot() {
            let update = event(
                "ModifyInstanceMetadataOptions",
                json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-1", "HttpPutResponseHopLimit": 3}}),
                json!(null),
            );
            let instances = MemoryInstances {
                profiles: vec![(
                    "i-1".into(),
                    Some("arn:aws:iam::111122223333:instance-profile/ecs".into()),
                )],
                ..MemoryInstances::default()
            };
            let iam = MemoryIam {
                profiles: vec![("ecs".into(), vec!["ecs".into()])],
                roles: vec![RolePolicies {
                    role: "ecs".into(),
                    managed: vec![(
                        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
                            .into(),
                        None,
                    )],
                    ..RolePolicies::default()
                }],
                ..MemoryIam::default()
            };
            let (report, _) = run(&instances, &iam, &update).await;
            let report = report.unwrap();
            assert_eq!(rules_of(&report), ["EC2-CI-004"], "{report:?}");
            assert!(report.unevaluated.is_none());

            let denied = MemoryInstances {
                error: Some(denied("DescribeInstances")),
                ..MemoryInstances::default()
            };
            let (report, sent) = run(&denied, &iam, &update).await;
            let report = report.unwrap();
            assert!(
                report
                    .unevaluated
                    .as_deref()
                    .is_some_and(|u| u.contains("UnauthorizedOperation")),
                "{report:?}"
            );
            assert_eq!(sent, 1, "a check that could not run is alerted");
        }

        #[tokio::test]
        async fn the_template_version_is_read_and_an_unreadable_one_is_unknown_never_clean() {
            let data = json!({"MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 3},
                "KeyName": "ops", "IamInstanceProfile": {"Name": "ecsInstanceRole"}});
            let instances = MemoryInstances {
                templates: vec![(("lt-1".into(), "3".into()), data)],
                ..MemoryInstances::default()
            };
            let iam = MemoryIam {
                profiles: vec![("ecsInstanceRole".into(), vec!["ecsInstanceRole".into()])],
                roles: vec![RolePolicies {
                    role: "ecsInstanceRole".into(),
                    managed: vec![(
                        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
                            .into(),
                        None,
                    )],
                    ..RolePolicies::default()
                }],
                ..MemoryIam::default()
            };
            let (report, sent) = run(&instances, &iam, &from_template()).await;
            let report = report.unwrap();
            let rules = rules_of(&report);
            for rule in ["EC2-CI-001", "EC2-CI-003", "EC2-CI-004"] {
                assert!(rules.contains(&rule), "{rule}: {rules:?}");
            }
            assert!(
                report.findings.iter().any(|f| f.rule == "EC2-CI-003"
                    && f.detail.contains("AmazonEC2ContainerServiceforEC2Role")),
                "the evidence is named: {:?}",
                report.findings
            );
            assert_eq!(sent, 1);

            let unreadable = MemoryInstances {
                error: Some(denied("DescribeLaunchTemplateVersions")),
                ..MemoryInstances::default()
            };
            let (report, sent) = run(&unreadable, &MemoryIam::default(), &from_template()).await;
            let report = report.unwrap();
            assert!(
                report
                    .findings
                    .iter()
                    .any(|f| f.rule == "EC2-CI-001" && f.detail.contains("unknown")),
                "{:?}",
                report.findings
            );
            assert!(report
                .notes
                .iter()
                .any(|n| n.contains("UnauthorizedOperation")));
            assert_eq!(sent, 1, "an unknown at high alerts");
        }

        fn settings(image: Option<&str>) -> InstanceSettings {
            InstanceSettings {
                image: image.map(str::to_string),
                ..InstanceSettings::default()
            }
            .whole()
        }

        async fn resolve(
            instances: &MemoryInstances,
            image: Option<&str>,
        ) -> Result<Option<MetadataDefaults>, AwsError> {
            metadata_defaults(instances, &settings(image), &|| {}).await
        }

        #[tokio::test]
        async fn the_account_default_comes_first_then_the_ami_then_ec2s_own() {
            let v2 = |defaults: (Option<&str>, Option<i64>)| MemoryInstances {
                defaults: (defaults.0.map(str::to_string), defaults.1),
                images: vec![
                    ("ami-2".into(), Some("v2.0".into())),
                    ("ami-1".into(), None),
                ],
                ..MemoryInstances::default()
            };
            // No account default: the AMI's ImdsSupport v2.0 gives required and 2.
            let d = resolve(&v2((None, None)), Some("ami-2"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                d.http_tokens,
                Some(Sourced::new(
                    "required".to_string(),
                    "AMI ami-2 (ImdsSupport v2.0)"
                ))
            );
            assert_eq!(
                d.hop_limit,
                Some(Sourced::new(2, "AMI ami-2 (ImdsSupport v2.0)"))
            );
            // The account's default wins over the AMI, field by field.
            let d = resolve(&v2((Some("optional"), None)), Some("ami-2"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(d.http_tokens.unwrap().value, "optional");
            assert_eq!(d.hop_limit.unwrap().value, 2);
            // Both set by the account: the AMI is not read.
            let both = v2((Some("required"), Some(1)));
            let d = resolve(&both, Some("ami-2")).await.unwrap().unwrap();
            assert_eq!(d.hop_limit.unwrap().value, 1);
            assert_eq!(*both.calls.lock().unwrap(), ["defaults"]);
            // An AMI without ImdsSupport: EC2's own defaults, and the alert says what was consulted.
            let d = resolve(&v2((None, None)), Some("ami-1"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!((d.http_tokens, d.hop_limit), (None, None));
            assert_eq!(
                d.consulted,
                "the account's metadata defaults or AMI ami-1's ImdsSupport"
            );
            // Nothing left out: nothing read.
            let none = MemoryInstances::default();
            let whole = InstanceSettings {
                http_tokens: Said::Set("required".into()),
                hop_limit: Said::Set(1),
                ..InstanceSettings::default()
            };
            assert!(metadata_defaults(&none, &whole, &|| {})
                .await
                .unwrap()
                .is_none());
            assert!(none.calls.lock().unwrap().is_empty());
        }

        #[tokio::test]
        async fn an_ami_that_cannot_be_told_or_read_is_never_taken_for_imdsv2() {
            let none = MemoryInstances::default();
            let alias =
                "resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";
            let unknown = |d: Option<MetadataDefaults>| {
                let d = d.unwrap();
                assert_eq!((d.http_tokens.clone(), d.hop_limit.clone()), (None, None));
                d.ami_unknown.unwrap()
            };
            assert!(unknown(resolve(&none, Some(alias)).await.unwrap())
                .contains("resolved only at launch"));
            assert_eq!(
                unknown(resolve(&none, None).await.unwrap()),
                "no AMI is named"
            );
            assert_eq!(
                unknown(resolve(&none, Some("ami-404")).await.unwrap()),
                "AMI ami-404 is not found"
            );
            // What the account's default says is kept when the AMI cannot be told.
            let hardened = MemoryInstances {
                defaults: (Some("required".into()), None),
                ..MemoryInstances::default()
            };
            let d = resolve(&hardened, Some(alias)).await.unwrap().unwrap();
            assert_eq!(d.http_tokens.unwrap().value, "required");
            assert!(d.hop_limit.is_none() && d.ami_unknown.is_some());
            // An AMI not found never clears EC2-CI-004 on a container instance.
            let version = event(
                "CreateLaunchTemplateVersion",
                json!({"CreateLaunchTemplateVersionRequest": {"LaunchTemplateId": "lt-7",
                    "LaunchTemplateData": {"ImageId": "ami-404", "MetadataOptions": {"HttpTokens": "required"}}}}),
                json!({"CreateLaunchTemplateVersionResponse": {"launchTemplateVersion": {
                    "launchTemplateId": "lt-7", "versionNumber": 2}}}),
            );
            let ecs = MemoryInstances {
                provider_groups: vec![ProviderGroup {
                    provider: "p".into(),
                    group: "g".into(),
                    template: Some(TemplateRef {
                        id: Some("lt-7".into()),
                        name: None,
                        version: "$Latest".into(),
                    }),
                }],
                ..MemoryInstances::default()
            };
            let (report, _) = run(&ecs, &MemoryIam::default(), &version).await;
            let report = report.unwrap();
            assert_eq!(rules_of(&report), ["EC2-CI-004"], "{report:?}");
            assert!(report.findings[0]
                .detail
                .contains("could not be told (AMI ami-404 is not found)"));
            assert!(report
                .unevaluated
                .as_deref()
                .is_some_and(|u| u.contains("the AMI's ImdsSupport (AMI ami-404 is not found)")));
            // In the guard: EC2-CI-001 stands and the alert says what could not be checked.
            let template = event(
                "CreateLaunchTemplate",
                json!({"CreateLaunchTemplateRequest": {"LaunchTemplateName": "ecs",
                    "LaunchTemplateData": {"ImageId": alias}}}),
                json!({"CreateLaunchTemplateResponse": {"launchTemplate": {"launchTemplateId": "lt-9", "latestVersionNumber": 1}}}),
            );
            let (report, sent) = run(&none, &MemoryIam::default(), &template).await;
            let report = report.unwrap();
            assert_eq!(rules_of(&report), ["EC2-CI-001"]);
            assert!(
                report
                    .unevaluated
                    .as_deref()
                    .is_some_and(|u| u.contains("the AMI's ImdsSupport")),
                "{report:?}"
            );
            assert_eq!(sent, 1);
        }

        #[tokio::test]
        async fn an_ami_requiring_imdsv2_clears_ec2_ci_001_and_raises_the_hop_limit() {
            let template = event(
                "CreateLaunchTemplateVersion",
                json!({"CreateLaunchTemplateVersionRequest": {"LaunchTemplateId": "lt-7",
                    "LaunchTemplateData": {"ImageId": "ami-2"}}}),
                json!({"CreateLaunchTemplateVersionResponse": {"launchTemplateVersion": {
                    "launchTemplateId": "lt-7", "launchTemplateName": "ecs", "versionNumber": 5}}}),
            );
            let instances = MemoryInstances {
                images: vec![("ami-2".into(), Some("v2.0".into()))],
                provider_groups: vec![ProviderGroup {
                    provider: "al2023".into(),
                    group: "al2023-asg".into(),
                    template: Some(TemplateRef {
                        id: Some("lt-7".into()),
                        name: None,
                        version: "$Latest".into(),
                    }),
                }],
                ..MemoryInstances::default()
            };
            let (report, _) = run(&instances, &MemoryIam::default(), &template).await;
            let report = report.unwrap();
            assert_eq!(rules_of(&report), ["EC2-CI-004"], "{report:?}");
            assert_eq!(
                report.findings[0].detail,
                "httpPutResponseHopLimit not set: 2 by AMI ami-2 (ImdsSupport v2.0), on a container instance (launch template lt-7 is what capacity provider al2023's Auto Scaling group al2023-asg launches from)"
            );
            assert!(report.unevaluated.is_none(), "{report:?}");
        }

        fn from_group() -> Event {
            event(
                "RunInstances",
                json!({"instancesSet": {"items": [{"imageId": "ami-1", "keyName": "ops"}]},
                       "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
                       "networkInterfaceSet": {"items": [{"deviceIndex": 0, "subnetId": "subnet-1", "associatePublicIpAddress": false}]},
                       "tagSpecificationSet": {"items": [{"resourceType": "instance",
                           "tags": [{"key": "aws:autoscaling:groupName", "value": "prod-asg"}]}]}}),
                json!(null),
            )
        }

        #[tokio::test]
        async fn a_launch_by_a_capacity_providers_group_is_a_container_instance() {
            let group = |name: &str| ProviderGroup {
                provider: "prod-ec2".into(),
                group: name.into(),
                template: None,
            };
            let instances = MemoryInstances {
                provider_groups: vec![group("prod-asg")],
                ..MemoryInstances::default()
            };
            let (report, _) = run(&instances, &MemoryIam::default(), &from_group()).await;
            let report = report.unwrap();
            assert_eq!(rules_of(&report), ["EC2-CI-003"], "{report:?}");
            assert!(
                report.findings[0].detail.contains(
                    "launched by Auto Scaling group prod-asg of capacity provider prod-ec2"
                ),
                "{:?}",
                report.findings
            );
            // Another group: not shown to be one.
            let other = MemoryInstances {
                provider_groups: vec![group("batch-asg")],
                ..MemoryInstances::default()
            };
            let (report, _) = run(&other, &MemoryIam::default(), &from_group()).await;
            assert!(report.unwrap().findings.is_empty());
            // The groups could not be read: said, and alerted.
            let denied = MemoryInstances {
                error: Some(denied("ListClusters")),
                ..MemoryInstances::default()
            };
            let (report, sent) = run(&denied, &MemoryIam::default(), &from_group()).await;
            let report = report.unwrap();
            assert!(
                report
                    .unevaluated
                    .as_deref()
                    .is_some_and(|u| u.contains("capacity providers")),
                "{report:?}"
            );
            assert_eq!(sent, 1);
        }

        #[test]
        fn a_template_is_matched_by_id_or_name_never_by_a_missing_one() {
            let by_id = ProviderGroup {
                provider: "p".into(),
                group: "g".into(),
                template: Some(TemplateRef {
                    id: Some("lt-1".into()),
                    name: None,
                    version: "$Default".into(),
                }),
            };
            let named = |id: Option<&str>, name: Option<&str>| TemplateRef {
                id: id.map(str::to_string),
                name: name.map(str::to_string),
                version: "2".into(),
            };
            assert!(by_id.launches_from(&named(Some("lt-1"), Some("ecs"))));
            assert!(!by_id.launches_from(&named(Some("lt-2"), None)));
            assert!(
                !by_id.launches_from(&named(None, None)),
                "two missing ids are not the same template"
            );
            let by_name = ProviderGroup {
                template: Some(named(None, Some("ecs"))),
                ..by_id
            };
            assert!(by_name.launches_from(&named(Some("lt-9"), Some("ecs"))));
        }
    }

    mod paths {
        use super::*;
        use crate::finding::Severity;
        use crate::model::net::Source;
        use crate::model::reach::test_support::{public_network, route, table};
        use crate::model::reach::Network;
        use crate::model::sg::{Direction, SgRule};
        use crate::ports::fakes::{
            MemoryGroups, MemoryIam, MemoryInstances, MemoryNotifier, MemoryVpcs,
        };
        use crate::ports::RolePolicies;

        fn ssh_open() -> MemoryGroups {
            MemoryGroups {
                rules: std::sync::Mutex::new(vec![SgRule {
                    rule_id: Some("sgr-ssh".into()),
                    direction: Direction::Ingress,
                    ip_protocol: "tcp".into(),
                    protocol: Protocol::Tcp,
                    from_port: Some(22),
                    to_port: Some(22),
                    source: Source::cidr("0.0.0.0/0"),
                    description: None,
                }]),
                ..MemoryGroups::default()
            }
        }

        /// The instance profile `ecs` is a container instance's.
        fn ecs_profile() -> MemoryIam {
            MemoryIam {
                profiles: vec![("ecs".into(), vec!["ecs".into()])],
                roles: vec![RolePolicies {
                    role: "ecs".into(),
                    managed: vec![(
                        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
                            .into(),
                        None,
                    )],
                    ..RolePolicies::default()
                }],
                ..MemoryIam::default()
            }
        }

        fn launch(public_ip: serde_json::Value) -> Event {
            let mut nic = json!({"deviceIndex": 0, "subnetId": "subnet-1",
                "groupSet": {"items": [{"groupId": "sg-1"}]}});
            if !public_ip.is_null() {
                nic["associatePublicIpAddress"] = public_ip;
            }
            event(
                "RunInstances",
                json!({"instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": 1, "keyName": "ops"}]},
                       "iamInstanceProfile": {"name": "ecs"},
                       "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
                       "networkInterfaceSet": {"items": [nic]}}),
                json!(null),
            )
        }

        async fn judged(network: Option<Network>, e: &Event) -> (Report, Vec<String>) {
            let vpcs = MemoryVpcs {
                networks: network.map(|n| ("vpc-1".into(), n)).into_iter().collect(),
                ..MemoryVpcs::default()
            };
            let notifier = MemoryNotifier::default();
            let policy = Policy::embedded();
            let settings = GuardSettings::default();
            let report = InstanceGuard {
                instances: &MemoryInstances::default(),
                iam: &ecs_profile(),
                groups: &ssh_open(),
                vpcs: &vpcs,
                notifier: &notifier,
                policy: &policy,
                settings: &settings,
            }
            .handle(e)
            .await
            .unwrap();
            let calls = vpcs.calls.lock().unwrap().clone();
            (report, calls)
        }

        fn finding<'r>(report: &'r Report, rule: &str) -> &'r Finding {
            report
                .findings
                .iter()
                .find(|f| f.rule == rule)
                .unwrap_or_else(|| panic!("no {rule} in {:?}", report.findings))
        }

        fn lines(f: &Finding) -> Vec<&str> {
            f.fields
                .reachability
                .iter()
                .map(|p| p.line.as_str())
                .collect()
        }

        const SSH_REACHABLE: &str = "subnet-1 tcp/22: reachable from the internet on tcp/22 via igw-0ab (route rtb-1 0.0.0.0/0, acl acl-1 #100 in, #100 out)";

        #[tokio::test]
        async fn a_public_launch_in_a_public_subnet_is_reachable_on_ssh() {
            let (report, calls) = judged(Some(public_network()), &launch(json!(true))).await;
            assert_eq!(calls, ["subnet subnet-1", "network vpc-1"]);
            let open = finding(&report, "EC2-CI-005");
            assert_eq!(open.severity, Severity::Critical, "high, raised one level");
            assert_eq!(lines(open), [SSH_REACHABLE]);
            let public = finding(&report, "EC2-CI-002");
            assert_eq!(public.severity, Severity::Critical);
            assert_eq!(lines(public), [SSH_REACHABLE]);
            let key = finding(&report, "EC2-CI-003");
            assert_eq!(key.severity, Severity::High, "medium, raised one level");
            assert_eq!(lines(key), [SSH_REACHABLE]);
            assert_eq!(
                report.findings[0].severity,
                Severity::Critical,
                "sorted again, most severe first"
            );
        }

        #[tokio::test]
        async fn a_launch_that_does_not_say_takes_the_subnets_setting() {
            // MapPublicIpOnLaunch on (the network's subnet says so).
            let (report, _) = judged(Some(public_network()), &launch(json!(null))).await;
            assert_eq!(lines(finding(&report, "EC2-CI-005")), [SSH_REACHABLE]);
            // Off: no public address, not reachable, nothing rises.
            let mut off = public_network();
            off.subnets[0].map_public_ip_on_launch = Some(false);
            let (report, _) = judged(Some(off), &launch(json!(null))).await;
            let open = finding(&report, "EC2-CI-005");
            assert_eq!(open.severity, Severity::High);
            assert_eq!(
                lines(open),
                ["subnet-1 tcp/22: not reachable now: the interface in subnet-1 has no public address"]
            );
        }

        #[tokio::test]
        async fn a_private_subnet_or_an_unread_one_keeps_the_rules_severity() {
            let mut private = public_network();
            private.route_tables = vec![table(
                "rtb-1",
                "vpc-1",
                false,
                &["subnet-1"],
                vec![route("10.0.0.0/16", "local")],
            )];
            let (report, _) = judged(Some(private), &launch(json!(true))).await;
            let open = finding(&report, "EC2-CI-005");
            assert_eq!(open.severity, Severity::High);
            assert_eq!(
                lines(open),
                ["subnet-1 tcp/22: not reachable now: subnet-1 has no route to an internet gateway (route table rtb-1)"]
            );
            assert_eq!(finding(&report, "EC2-CI-003").severity, Severity::Medium);
            let (report, _) = judged(None, &launch(json!(true))).await;
            let open = finding(&report, "EC2-CI-005");
            assert_eq!(open.severity, Severity::High);
            assert_eq!(
                lines(open),
                ["subnet-1 tcp/22: unknown: subnet subnet-1 was not found"]
            );
        }
    }
}
