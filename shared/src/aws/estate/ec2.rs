//! The sweep's EC2 reads of groups and instances: every security group and
//! its rules, the prefix lists they name, every instance, and the launch
//! template versions the capacity providers launch from.

use super::*;

impl SdkEstate {
    /// Every instance that is not terminated (whether each is a container
    /// instance the sweep decides).
    pub(super) async fn read_instances(&self) -> (Vec<InstanceState>, Part) {
        let mut part = Part::default();
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            match self
                .ec2
                .describe_instances()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("instance-state-name")
                        .set_values(Some(
                            ["pending", "running", "stopping", "stopped"]
                                .map(String::from)
                                .to_vec(),
                        ))
                        .build(),
                )
                .max_results(EC2_PAGE)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(out) => {
                    for instance in out.reservations().iter().flat_map(|r| r.instances()) {
                        found.push(instance_state(instance));
                    }
                    match out.next_token() {
                        Some(next) if !next.is_empty() => token = Some(next.to_string()),
                        _ => break,
                    }
                }
                Err(e) => {
                    part.failed("DescribeInstances", classify("DescribeInstances", &e));
                    return (found, part);
                }
            }
        }
        (found, part)
    }

    /// The launch template versions the capacity providers' Auto Scaling
    /// groups launch from (`DescribeAutoScalingGroups`, then
    /// `DescribeLaunchTemplateVersions`); the metadata defaults their
    /// instances take for what a version leaves out the sweep reads.
    pub(super) async fn provider_templates(
        &self,
        providers: &[CapacityProviderState],
    ) -> (Vec<TemplateState>, Part) {
        let mut part = Part::default();
        let mut found = Vec::new();
        let groups: BTreeMap<String, &str> = providers
            .iter()
            .filter_map(|p| {
                let name = crate::aws::instances::group_name(p.auto_scaling_group.as_deref()?)?;
                Some((name.to_string(), p.name.as_str()))
            })
            .collect();
        let names: Vec<String> = groups.keys().cloned().collect();
        let described =
            crate::aws::instances::group_templates(&self.autoscaling, &names, &|| part.call())
                .await;
        let described = match described {
            Ok(described) => described,
            Err(e) => {
                part.failed("DescribeAutoScalingGroups", e);
                Vec::new()
            }
        };
        let instances = &self.instances;
        for (name, template) in described {
            let Some(template) = template else { continue };
            let what = format!("DescribeLaunchTemplateVersions ({template})");
            part.call();
            let settings = match instances
                .launch_template_data(template.key(), &template.version)
                .await
            {
                Ok(Some(data)) => {
                    match InstanceSettings::from_template_data(&Node::root(
                        &data,
                        "launchTemplateData",
                    )) {
                        Ok(settings) => settings.whole(),
                        Err(field) => {
                            part.failed(
                                what,
                                AwsError {
                                    operation: "DescribeLaunchTemplateVersions",
                                    code: None,
                                    message: field.to_string(),
                                    retryable: false,
                                },
                            );
                            continue;
                        }
                    }
                }
                Ok(None) => {
                    part.failed(
                        what,
                        AwsError {
                            operation: "DescribeLaunchTemplateVersions",
                            code: Some("NotFound".to_string()),
                            message: format!(
                                "{template}, which an Auto Scaling group uses, is not found"
                            ),
                            retryable: false,
                        },
                    );
                    continue;
                }
                Err(e) => {
                    part.failed(what, e);
                    continue;
                }
            };
            found.push(TemplateState {
                used_by: format!(
                    "capacity provider {} (Auto Scaling group {name})",
                    groups.get(&name).copied().unwrap_or_default()
                ),
                template,
                settings,
                metadata_defaults: None,
            });
        }
        (found, part)
    }

    pub(super) async fn network(&self) -> (Vec<GroupState>, Part) {
        let mut part = Part::default();
        let mut groups: Vec<GroupState> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            let out = match self
                .ec2
                .describe_security_groups()
                .max_results(EC2_PAGE)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    part.failed(
                        "DescribeSecurityGroups",
                        classify("DescribeSecurityGroups", &e),
                    );
                    return (Vec::new(), part);
                }
            };
            groups.extend(
                out.security_groups()
                    .iter()
                    .filter(|g| g.group_id().is_some())
                    .map(|g| GroupState {
                        info: group_info(g),
                        rules: Vec::new(),
                        prefix_lists: PrefixLists::new(),
                    }),
            );
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        let index: BTreeMap<String, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.info.group_id.clone(), i))
            .collect();
        loop {
            part.call();
            let out = match self
                .ec2
                .describe_security_group_rules()
                .max_results(EC2_PAGE)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    // Without every rule no group can be judged clean.
                    part.failed(
                        "DescribeSecurityGroupRules",
                        classify("DescribeSecurityGroupRules", &e),
                    );
                    return (Vec::new(), part);
                }
            };
            for r in out.security_group_rules() {
                let (Some(group_id), Some(rule)) = (r.group_id(), stored_rule(r)) else {
                    continue;
                };
                if let Some(&i) = index.get(group_id) {
                    groups[i].rules.push(rule);
                }
            }
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        let list_of = |r: &crate::model::sg::SgRule| match &r.source {
            Source::PrefixList(id) => Some(id.clone()),
            _ => None,
        };
        let referenced: BTreeSet<String> = groups
            .iter()
            .flat_map(|g| g.rules.iter().filter_map(list_of))
            .collect();
        if !referenced.is_empty() {
            let lists = self.prefix_lists(&referenced, &mut part).await;
            for group in &mut groups {
                group.prefix_lists = group
                    .rules
                    .iter()
                    .filter_map(list_of)
                    .filter_map(|id| lists.get(&id).map(|e| (id, e.clone())))
                    .collect();
            }
        }
        (groups, part)
    }

    /// What each referenced prefix list holds: AWS-managed lists (listed by
    /// DescribeManagedPrefixLists) are not read, every other one is read
    /// whole. A list that cannot be read is unknown, and its read is
    /// recorded as failed: nothing is resolved this sweep.
    pub(super) async fn prefix_lists(
        &self,
        referenced: &BTreeSet<String>,
        part: &mut Part,
    ) -> PrefixLists {
        let mut lists = PrefixLists::new();
        let mut aws_managed = BTreeSet::new();
        let mut token: Option<String> = None;
        loop {
            part.call();
            let out = match self
                .ec2
                .describe_managed_prefix_lists()
                .max_results(PREFIX_LIST_PAGE)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    let e = classify("DescribeManagedPrefixLists", &e);
                    for id in referenced {
                        lists.insert(id.clone(), PrefixListEntries::Unknown(e.code_or_kind()));
                    }
                    part.failed("DescribeManagedPrefixLists", e);
                    return lists;
                }
            };
            aws_managed.extend(
                out.prefix_lists()
                    .iter()
                    .filter(|l| is_aws_managed(l))
                    .filter_map(|l| l.prefix_list_id().map(str::to_string)),
            );
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        for id in referenced {
            if aws_managed.contains(id) {
                lists.insert(id.clone(), PrefixListEntries::AwsManaged);
                continue;
            }
            part.call();
            match prefix_list_entries(&self.ec2, id).await {
                Ok(entries) => {
                    lists.insert(id.clone(), entries);
                }
                Err(e) => {
                    lists.insert(id.clone(), PrefixListEntries::Unknown(e.code_or_kind()));
                    part.failed(format!("GetManagedPrefixListEntries ({id})"), e);
                }
            }
        }
        lists
    }
}

/// The model's view of an instance as `DescribeInstances` shows it: its
/// effective settings, each said (what AWS leaves out is AWS's default).
pub(super) fn instance_state(i: &aws_sdk_ec2::types::Instance) -> InstanceState {
    let metadata = i.metadata_options();
    let said = |v: Option<String>| v.map_or(Said::Default, Said::Set);
    let settings = InstanceSettings {
        image: i.image_id().map(str::to_string),
        http_tokens: said(
            metadata
                .and_then(|m| m.http_tokens())
                .map(|t| t.as_str().to_string()),
        ),
        hop_limit: metadata
            .and_then(|m| m.http_put_response_hop_limit())
            .map_or(Said::Default, |h| Said::Set(i64::from(h))),
        http_endpoint: said(
            metadata
                .and_then(|m| m.http_endpoint())
                .map(|e| e.as_str().to_string()),
        ),
        public_ip: Said::Set(i.public_ip_address().is_some()),
        public_address: i.public_ip_address().map(str::to_string),
        key_name: said(i.key_name().map(str::to_string)),
        instance_profile: said(
            i.iam_instance_profile()
                .and_then(|p| p.arn())
                .map(str::to_string),
        ),
        // The instance's groups and its interfaces' (an interface's groups
        // let traffic in as much as the instance's).
        security_groups: Said::Set({
            let mut groups: Vec<String> = i
                .security_groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .chain(
                    i.network_interfaces()
                        .iter()
                        .flat_map(|n| n.groups())
                        .filter_map(|g| g.group_id().map(str::to_string)),
                )
                .collect();
            groups.sort();
            groups.dedup();
            groups
        }),
        subnet: i.subnet_id().map(str::to_string),
    };
    InstanceState {
        id: i.instance_id().unwrap_or_default().to_string(),
        settings,
        container_instance: None,
        auto_scaling_group: i
            .tags()
            .iter()
            .find(|t| t.key() == Some("aws:autoscaling:groupName"))
            .and_then(|t| t.value())
            .map(str::to_string),
    }
}
