//! EC2 adapters: security groups and their rules, prefix lists, and the
//! revocation (with the function's credentials or a member's revoke role).

use super::{classify, GONE_CODES};
use async_trait::async_trait;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Filter;

use super::assume::AssumedRole;
use crate::model::net::{Protocol, Source};
use crate::model::sg::{Direction, PrefixListEntries, SgRule};
use crate::ports::{AwsError, GroupInfo, IngressRemediator, Revoked, SecurityGroups};

/// Security groups read through EC2.
#[derive(Debug, Clone)]
pub struct Ec2SecurityGroups {
    client: aws_sdk_ec2::Client,
}

impl Ec2SecurityGroups {
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Ec2SecurityGroups { client }
    }
}

#[async_trait]
impl SecurityGroups for Ec2SecurityGroups {
    async fn group(&self, group_id: &str) -> Result<Option<GroupInfo>, AwsError> {
        let out = match self
            .client
            .describe_security_groups()
            .group_ids(group_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.code() == Some("InvalidGroup.NotFound") => return Ok(None),
            Err(e) => return Err(classify("DescribeSecurityGroups", &e)),
        };
        Ok(out.security_groups().first().map(|g| GroupInfo {
            group_id: g.group_id().unwrap_or(group_id).to_string(),
            ..group_info(g)
        }))
    }

    async fn rules_of_group(&self, group_id: &str) -> Result<Vec<SgRule>, AwsError> {
        let mut rules = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_security_group_rules()
                .filters(Filter::builder().name("group-id").values(group_id).build())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("DescribeSecurityGroupRules", &e))?;
            rules.extend(out.security_group_rules().iter().filter_map(stored_rule));
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(rules),
            }
        }
    }

    async fn prefix_list(&self, list_id: &str) -> Result<PrefixListEntries, AwsError> {
        let out = self
            .client
            .describe_managed_prefix_lists()
            .prefix_list_ids(list_id)
            .send()
            .await
            .map_err(|e| classify("DescribeManagedPrefixLists", &e))?;
        if out.prefix_lists().iter().any(is_aws_managed) {
            return Ok(PrefixListEntries::AwsManaged);
        }
        prefix_list_entries(&self.client, list_id).await
    }

    async fn groups_referencing(&self, list_id: &str) -> Result<Vec<String>, AwsError> {
        let mut groups = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .get_managed_prefix_list_associations()
                .prefix_list_id(list_id)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("GetManagedPrefixListAssociations", &e))?;
            groups.extend(
                out.prefix_list_associations()
                    .iter()
                    .filter_map(|a| a.resource_id())
                    .filter(|id| id.starts_with("sg-"))
                    .map(str::to_string),
            );
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(groups),
            }
        }
    }
}

/// An AWS-managed prefix list (owner `AWS`, `com.amazonaws.*`): AWS's own
/// service ranges, which the guard does not read.
pub(crate) fn is_aws_managed(list: &aws_sdk_ec2::types::ManagedPrefixList) -> bool {
    list.owner_id() == Some("AWS")
        || list
            .prefix_list_name()
            .is_some_and(|n| n.starts_with("com.amazonaws."))
}

/// Every entry of a customer-managed prefix list, all pages. An entry that
/// is not a CIDR makes the list unknown (never a list without it).
pub(crate) async fn prefix_list_entries(
    client: &aws_sdk_ec2::Client,
    list_id: &str,
) -> Result<PrefixListEntries, AwsError> {
    let mut entries = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .get_managed_prefix_list_entries()
            .prefix_list_id(list_id)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| classify("GetManagedPrefixListEntries", &e))?;
        for entry in out.entries() {
            let raw = entry.cidr().unwrap_or_default();
            match Source::cidr(raw) {
                Source::Unparsed(_) => {
                    return Ok(PrefixListEntries::Unknown(format!(
                        "entry {raw:?} is not a CIDR"
                    )))
                }
                cidr => entries.push(cidr),
            }
        }
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(PrefixListEntries::Read(entries)),
        }
    }
}

/// A described group as the guard models it (id empty when EC2 gave none).
pub(crate) fn group_info(g: &aws_sdk_ec2::types::SecurityGroup) -> GroupInfo {
    GroupInfo {
        group_id: g.group_id().unwrap_or_default().to_string(),
        name: g.group_name().unwrap_or_default().to_string(),
        vpc_id: g.vpc_id().map(str::to_string),
        tags: g
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    }
}

/// A stored rule as the guard models it; `None` for a rule with no source we know.
pub(crate) fn stored_rule(r: &aws_sdk_ec2::types::SecurityGroupRule) -> Option<SgRule> {
    let ip_protocol = r.ip_protocol()?.to_string();
    let protocol = Protocol::parse(&ip_protocol).unwrap_or(Protocol::All);
    let source = if let Some(cidr) = r.cidr_ipv4().or(r.cidr_ipv6()) {
        Source::cidr(cidr)
    } else if let Some(list) = r.prefix_list_id() {
        Source::PrefixList(list.to_string())
    } else {
        let group = r.referenced_group_info()?;
        Source::Group {
            group_id: group.group_id().map(str::to_string),
            user_id: group.user_id().map(str::to_string),
        }
    };
    Some(SgRule {
        rule_id: r.security_group_rule_id().map(str::to_string),
        direction: match r.is_egress() {
            Some(true) => Direction::Egress,
            Some(false) => Direction::Ingress,
            // EC2 did not say: never revoked as ingress, still judged.
            None => Direction::Unverified,
        },
        ip_protocol,
        protocol,
        from_port: r.from_port().map(i64::from),
        to_port: r.to_port().map(i64::from),
        source,
        description: r
            .description()
            .filter(|d| !d.is_empty())
            .map(str::to_string),
    })
}

/// Revokes ingress rules through EC2: with the function's own credentials,
/// or in a member account through the revoke role (DESIGN §7.13), assumed
/// at the first revoke and for nothing else.
#[derive(Debug, Clone)]
pub struct Ec2Remediator {
    client: RevokeClient,
}

#[derive(Debug, Clone)]
enum RevokeClient {
    Ready(aws_sdk_ec2::Client),
    Role(std::sync::Arc<RevokeRole>),
}

/// The revoke role of one place, and its client once assumed.
#[derive(Debug)]
struct RevokeRole {
    role: AssumedRole,
    client: std::sync::Mutex<Option<aws_sdk_ec2::Client>>,
}

impl Ec2Remediator {
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Ec2Remediator {
            client: RevokeClient::Ready(client),
        }
    }

    /// Revokes through `role`, assumed on the first revoke.
    pub(super) fn through(role: AssumedRole) -> Self {
        Ec2Remediator {
            client: RevokeClient::Role(std::sync::Arc::new(RevokeRole {
                role,
                client: std::sync::Mutex::new(None),
            })),
        }
    }

    async fn client(&self) -> Result<aws_sdk_ec2::Client, AwsError> {
        let revoke = match &self.client {
            RevokeClient::Ready(client) => return Ok(client.clone()),
            RevokeClient::Role(revoke) => revoke,
        };
        let kept = revoke
            .client
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(client) = kept {
            return Ok(client);
        }
        let client = aws_sdk_ec2::Client::new(&revoke.role.config().await?);
        *revoke.client.lock().unwrap_or_else(|p| p.into_inner()) = Some(client.clone());
        Ok(client)
    }
}

#[async_trait]
impl IngressRemediator for Ec2Remediator {
    async fn revoke_ingress(&self, group_id: &str, rule_ids: &[&str]) -> Result<Revoked, AwsError> {
        let call = self
            .client()
            .await?
            .revoke_security_group_ingress()
            .group_id(group_id)
            .set_security_group_rule_ids(Some(rule_ids.iter().map(|id| id.to_string()).collect()));
        match call.send().await {
            // AWS may answer success and list what it did not find.
            Ok(out) if !out.unknown_ip_permissions().is_empty() => Ok(Revoked::AlreadyAbsent),
            Ok(_) => Ok(Revoked::Revoked),
            Err(e) if e.code().is_some_and(|c| GONE_CODES.contains(&c)) => {
                Ok(Revoked::AlreadyAbsent)
            }
            Err(e) => Err(classify("RevokeSecurityGroupIngress", &e)),
        }
    }
}
