//! Security-group ingress changes read from `AuthorizeSecurityGroupIngress` and
//! `ModifySecurityGroupRules` records (DESIGN §3), the managed prefix lists
//! their rules may reference, and the entries `ModifyManagedPrefixList` adds.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use crate::model::event::Event;
use crate::model::json::{FieldError, Node};
use crate::model::net::{PortRange, Protocol, Source, WidePrefixes};

pub const AUTHORIZE_INGRESS: &str = "AuthorizeSecurityGroupIngress";
pub const MODIFY_RULES: &str = "ModifySecurityGroupRules";
pub const MODIFY_PREFIX_LIST: &str = "ModifyManagedPrefixList";

/// The name EC2 gives every VPC's default security group (no other group may take it).
pub const DEFAULT_GROUP_NAME: &str = "default";

/// Whether a rule lets traffic in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Ingress,
    Egress,
    /// `ModifySecurityGroupRules` does not say; only `DescribeSecurityGroupRules` can.
    Unverified,
}

/// Which API call made the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Authorize,
    Modify,
}

/// One security-group rule: one protocol, one port range, one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SgRule {
    pub rule_id: Option<String>,
    pub direction: Direction,
    /// The protocol as written (`tcp`, `6`, `-1`), kept to revoke the exact permission.
    pub ip_protocol: String,
    pub protocol: Protocol,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    pub source: Source,
    /// The rule's description, as EC2 holds it (read with the group's
    /// rules, for the command that restores a revoked rule); never judged.
    pub description: Option<String>,
}

impl SgRule {
    /// The ports the rule opens (all of them for `-1`; meaningless for ICMP).
    pub fn ports(&self) -> PortRange {
        if self.protocol.is_all_traffic() {
            PortRange::ALL
        } else {
            PortRange::from_bounds(self.from_port, self.to_port)
        }
    }

    /// Same protocol, ports and source: the same permission, whatever the ids.
    pub fn same_permission(&self, other: &SgRule) -> bool {
        self.protocol == other.protocol
            && self.source == other.source
            && (self.protocol.is_all_traffic() || self.ports() == other.ports())
    }

    /// The ports it opens, when the protocol has ports.
    pub fn port_range(&self) -> Option<PortRange> {
        self.protocol.carries_ports().then(|| self.ports())
    }
}

impl fmt::Display for SgRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.protocol {
            Protocol::Tcp | Protocol::Udp => {
                write!(f, "{} {} from {}", self.protocol, self.ports(), self.source)?
            }
            Protocol::Icmp | Protocol::Icmpv6 => {
                let part = |p: Option<i64>| match p {
                    Some(n) if n >= 0 => n.to_string(),
                    _ => "all".to_string(),
                };
                write!(
                    f,
                    "{} type {} code {} from {}",
                    self.protocol,
                    part(self.from_port),
                    part(self.to_port),
                    self.source
                )?
            }
            _ => write!(f, "{} from {}", self.protocol, self.source)?,
        }
        if let Some(id) = &self.rule_id {
            write!(f, " ({id})")?;
        }
        Ok(())
    }
}

/// What the guard knows of a managed prefix list that a rule references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixListEntries {
    /// A customer-managed list (the account's own, or shared with it), read
    /// whole: its entries, masked.
    Read(Vec<Source>),
    /// An AWS-managed list (owner `AWS`, `com.amazonaws.*`): AWS's own
    /// service ranges, not read.
    AwsManaged,
    /// The list could not be read: why (the AWS error code). Unknown, never clean.
    Unknown(String),
}

impl PrefixListEntries {
    /// The first entry that is the internet (DESIGN §4): a rule through such
    /// a list is open to the internet, for every EC2-SG rule.
    pub fn internet_entry(&self, wide: WidePrefixes) -> Option<&Source> {
        match self {
            PrefixListEntries::Read(entries) => entries.iter().find(|e| e.is_internet_wide(wide)),
            _ => None,
        }
    }

    /// The first entry that is a wide public network (EC2-SG-009).
    pub fn wide_public_entry(
        &self,
        wide: WidePrefixes,
        wide_public: WidePrefixes,
    ) -> Option<&Source> {
        match self {
            PrefixListEntries::Read(entries) => {
                entries.iter().find(|e| e.is_wide_public(wide, wide_public))
            }
            _ => None,
        }
    }
}

/// Prefix lists by id, as far as they were read.
pub type PrefixLists = BTreeMap<String, PrefixListEntries>;

/// The rules one event added to (or changed in) one security group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SgChange {
    pub kind: ChangeKind,
    pub group_id: Option<String>,
    /// The group's name, when the record or EC2 said it (`default` is a VPC's
    /// default group, EC2-SG-010). `None`: not known, never "not default".
    pub group_name: Option<String>,
    /// The Lambda asked EC2 for the name and could not read it: whether the
    /// group is a default group is unknown (EC2-SG-010 says so).
    pub group_name_unread: bool,
    /// The account that owns the group (the event's): a referenced group
    /// owned by another account is cross-account (EC2-SG-011).
    pub account: Option<String>,
    /// The customer-managed prefix lists the rules reference, as the Lambda
    /// read them; empty offline (not read).
    pub prefix_lists: PrefixLists,
    pub rules: Vec<SgRule>,
}

impl SgChange {
    /// Reads the change from an `AuthorizeSecurityGroupIngress` or
    /// `ModifySecurityGroupRules` record of EC2. `Ok(None)` for any other
    /// event. A successful record that yields no rule to judge is an error
    /// naming the field, never an empty change.
    pub fn from_event(event: &Event) -> Result<Option<SgChange>, FieldError> {
        if !event.is_from("ec2") {
            return Ok(None);
        }
        let change = match event.name.as_str() {
            AUTHORIZE_INGRESS => authorize(event)?,
            MODIFY_RULES => modify(event)?,
            _ => return Ok(None),
        };
        Ok(Some(change.with_account(&event.account)))
    }

    /// The ingress rules a group has now (read from EC2; a rule whose
    /// direction EC2 did not give counts), judged as if just added: what the
    /// live checks and the fallbacks evaluate.
    pub fn current_ingress(group_id: &str, stored: Vec<SgRule>) -> SgChange {
        SgChange {
            kind: ChangeKind::Authorize,
            group_id: Some(group_id.to_string()),
            group_name: None,
            group_name_unread: false,
            account: None,
            prefix_lists: PrefixLists::new(),
            rules: stored
                .into_iter()
                .filter(|r| r.direction != Direction::Egress)
                .collect(),
        }
    }

    /// The same change in the group named `name` (an empty name is not a name).
    pub fn with_group_name(mut self, name: &str) -> SgChange {
        self.group_name = (!name.is_empty()).then(|| name.to_string());
        self
    }

    /// The same change in a group of `account` (an empty account is not known).
    pub fn with_account(mut self, account: &str) -> SgChange {
        self.account = (!account.is_empty()).then(|| account.to_string());
        self
    }

    /// The same change with what is known of the prefix lists its rules reference.
    pub fn with_prefix_lists(mut self, lists: PrefixLists) -> SgChange {
        self.prefix_lists = lists;
        self
    }

    /// The same group, account and prefix lists with other rules (a rule read
    /// back before revoking is judged in the context of its group).
    pub fn with_rules(&self, rules: Vec<SgRule>) -> SgChange {
        SgChange {
            rules,
            ..self.clone()
        }
    }

    /// The prefix lists the change's rules reference.
    pub fn prefix_list_ids(&self) -> BTreeSet<String> {
        self.rules
            .iter()
            .filter_map(|r| match &r.source {
                Source::PrefixList(id) => Some(id.clone()),
                _ => None,
            })
            .collect()
    }

    /// The group named by the event, for messages.
    pub fn resource(&self) -> String {
        match (&self.group_id, &self.group_name) {
            (Some(id), _) => id.clone(),
            (None, Some(name)) => format!("group {name}"),
            (None, None) => "unknown group".to_string(),
        }
    }
}

/// The group an ingress record names, read leniently (for a record that
/// could not be read whole): the request's group id, else the response's.
pub fn group_named(event: &Event) -> Option<String> {
    let text = |n: Node<'_>| n.str().ok().flatten().map(str::to_string);
    let request = event.request();
    text(request.get("groupId"))
        .or_else(|| {
            text(
                request
                    .get("ModifySecurityGroupRulesRequest")
                    .get("GroupId"),
            )
        })
        .or_else(|| {
            let items = event.response().get("securityGroupRuleSet").items().ok()?;
            text(items.first()?.get("groupId"))
        })
        .filter(|id| id.starts_with("sg-"))
}

/// The prefix list a `ModifyManagedPrefixList` record names, read leniently
/// (for a record that could not be read whole).
pub fn prefix_list_named(event: &Event) -> Option<String> {
    let request = event.request();
    [
        request
            .get("ModifyManagedPrefixListRequest")
            .get("PrefixListId"),
        request.get("PrefixListId"),
        request.get("prefixListId"),
    ]
    .into_iter()
    .find_map(|n| n.str().ok().flatten().map(str::to_string))
    .filter(|id| id.starts_with("pl-"))
}

fn authorize(event: &Event) -> Result<SgChange, FieldError> {
    let request = event.request();
    let rule_set = event.response().get("securityGroupRuleSet");
    let created = rule_set.items()?;
    let request_readable = request.is_present() && !request.is_omitted();
    if !request_readable && created.is_empty() {
        return Err(request.error("missing or omitted by CloudTrail, and no securityGroupRuleSet"));
    }
    let mut group_id = request.get("groupId").str()?.map(str::to_string);
    let group_name = request.get("groupName").str()?.map(str::to_string);

    // The response's rules carry ids; the request's permissions are judged
    // too, so a response that lists fewer rules than the request opened
    // (trimmed) hides none of them.
    let mut rules = Vec::with_capacity(created.len());
    for item in &created {
        if group_id.is_none() {
            group_id = item.get("groupId").str()?.map(str::to_string);
        }
        rules.push(response_rule(item)?);
    }
    if request_readable {
        let (requested, sourceless) = requested_rules(&request)?;
        // A permission that lost its sources is never "safe": unless the
        // response lists a rule it could have created, it is an error.
        if let Some(lost) = sourceless
            .into_iter()
            .find(|lost| !rules.iter().any(|r| lost.created_as(r)))
        {
            return Err(lost.field);
        }
        for wanted in requested {
            if !rules.iter().any(|r| r.same_permission(&wanted)) {
                rules.push(wanted);
            }
        }
    }
    if rules.is_empty() {
        return Err(request
            .get("ipPermissions")
            .error("no rule to judge: the request lists no permission and the response no securityGroupRuleSet"));
    }
    Ok(SgChange {
        kind: ChangeKind::Authorize,
        group_id,
        group_name,
        group_name_unread: false,
        account: None,
        prefix_lists: PrefixLists::new(),
        rules,
    })
}

/// A requested permission that names no source: the record lost them.
struct Sourceless {
    protocol: Protocol,
    ports: PortRange,
    field: FieldError,
}

impl Sourceless {
    /// True when `rule` (from the response) could be what this permission created.
    fn created_as(&self, rule: &SgRule) -> bool {
        rule.protocol == self.protocol
            && (self.protocol.is_all_traffic() || rule.ports() == self.ports)
    }
}

/// The permissions an `AuthorizeSecurityGroupIngress` request asked for, in
/// the flat form (`cidrIp`, `ipProtocol`, ports at the top) and the nested
/// one (`ipPermissions.items[]`), one rule per source, without rule ids;
/// and the permissions that name no source at all.
fn requested_rules(request: &Node<'_>) -> Result<(Vec<SgRule>, Vec<Sourceless>), FieldError> {
    let mut sourceless = Vec::new();
    let mut rules = Vec::new();
    let flat_source = request.get("cidrIp");
    let flat_group = request.get("sourceSecurityGroupName");
    if flat_source.is_present() || request.get("ipProtocol").is_present() || flat_group.is_present()
    {
        let (ip_protocol, protocol) = protocol_of(&request.get("ipProtocol"), true)?;
        let rule = SgRule {
            rule_id: None,
            direction: Direction::Ingress,
            ip_protocol,
            protocol,
            from_port: request.get("fromPort").port()?,
            to_port: request.get("toPort").port()?,
            source: Source::Unparsed(String::new()),
            description: None,
        };
        let source = match (flat_source.str()?, flat_group.str()?) {
            (Some(cidr), _) => Some(Source::cidr(cidr)),
            (None, Some(group)) => Some(Source::Group {
                group_id: Some(group.to_string()),
                user_id: request
                    .get("sourceSecurityGroupOwnerId")
                    .str()?
                    .map(str::to_string),
            }),
            (None, None) => None,
        };
        match source {
            Some(source) => rules.push(SgRule { source, ..rule }),
            None => sourceless.push(Sourceless {
                protocol: rule.protocol,
                ports: rule.ports(),
                field: flat_source.error("missing: no cidrIp or sourceSecurityGroupName"),
            }),
        }
    }
    for perm in request.get("ipPermissions").items()? {
        let (ip_protocol, protocol) = protocol_of(&perm.get("ipProtocol"), false)?;
        let from_port = perm.get("fromPort").port()?;
        let to_port = perm.get("toPort").port()?;
        let rule = SgRule {
            rule_id: None,
            direction: Direction::Ingress,
            ip_protocol,
            protocol,
            from_port,
            to_port,
            source: Source::Unparsed(String::new()),
            description: None,
        };
        let mut sources = Vec::new();
        for range in perm.get("ipRanges").items()? {
            sources.push(Source::cidr(range.get("cidrIp").required_str()?));
        }
        for range in perm.get("ipv6Ranges").items()? {
            sources.push(Source::cidr(range.get("cidrIpv6").required_str()?));
        }
        for list in perm.get("prefixListIds").items()? {
            sources.push(Source::PrefixList(
                list.get("prefixListId").required_str()?.to_string(),
            ));
        }
        for group in perm.get("groups").items()? {
            let group_id = group
                .get("groupId")
                .str()?
                .or(group.get("groupName").str()?)
                .map(str::to_string);
            let user_id = group.get("userId").str()?.map(str::to_string);
            // A group pair that names nothing is a lost source, not a safe one.
            if group_id.is_some() || user_id.is_some() {
                sources.push(Source::Group { group_id, user_id });
            }
        }
        if sources.is_empty() {
            sourceless.push(Sourceless {
                protocol: rule.protocol,
                ports: rule.ports(),
                field: perm.error("no source (ipRanges, ipv6Ranges, prefixListIds or groups)"),
            });
        }
        rules.extend(sources.into_iter().map(|source| SgRule {
            source,
            ..rule.clone()
        }));
    }
    Ok((rules, sourceless))
}

/// One item of `securityGroupRuleSet` (also the shape `DescribeSecurityGroupRules` returns).
fn response_rule(item: &Node<'_>) -> Result<SgRule, FieldError> {
    let (ip_protocol, protocol) = protocol_of(&item.get("ipProtocol"), false)?;
    let direction = match item.get("isEgress").bool()? {
        Some(true) => Direction::Egress,
        _ => Direction::Ingress,
    };
    let referenced = item.get("referencedGroupInfo");
    let source = if let Some(cidr) = item.get("cidrIpv4").str()? {
        Source::cidr(cidr)
    } else if let Some(cidr) = item.get("cidrIpv6").str()? {
        Source::cidr(cidr)
    } else if let Some(list) = item.get("prefixListId").str()? {
        Source::PrefixList(list.to_string())
    } else if referenced.is_present() {
        Source::Group {
            group_id: referenced.get("groupId").str()?.map(str::to_string),
            user_id: referenced.get("userId").str()?.map(str::to_string),
        }
    } else {
        return Err(
            item.error("no source (cidrIpv4, cidrIpv6, prefixListId or referencedGroupInfo)")
        );
    };
    Ok(SgRule {
        rule_id: item.get("securityGroupRuleId").str()?.map(str::to_string),
        direction,
        ip_protocol,
        protocol,
        from_port: item.get("fromPort").port()?,
        to_port: item.get("toPort").port()?,
        source,
        description: None,
    })
}

fn modify(event: &Event) -> Result<SgChange, FieldError> {
    let request = event.request().get("ModifySecurityGroupRulesRequest");
    if !request.is_present() || request.is_omitted() {
        return Err(request.error("missing or omitted by CloudTrail"));
    }
    let group_id = request.get("GroupId").str()?.map(str::to_string);
    let entries = request.get("SecurityGroupRule");
    if entries.is_omitted() {
        return Err(entries.error("omitted by CloudTrail"));
    }
    let entries = entries.one_or_many()?;
    if entries.is_empty() {
        return Err(request
            .get("SecurityGroupRule")
            .error("missing: no rule to judge"));
    }
    let mut rules = Vec::new();
    for entry in entries {
        let rule = entry.get("SecurityGroupRule");
        if entry.is_omitted() || rule.is_omitted() || !rule.is_present() {
            return Err(rule.error("missing or omitted by CloudTrail"));
        }
        let rule_id = entry.get("SecurityGroupRuleId").required_str()?.to_string();
        let (ip_protocol, protocol) = protocol_of(&rule.get("IpProtocol"), false)?;
        let source = if let Some(cidr) = rule.get("CidrIpv4").str()? {
            Source::cidr(cidr)
        } else if let Some(cidr) = rule.get("CidrIpv6").str()? {
            Source::cidr(cidr)
        } else if let Some(list) = rule.get("PrefixListId").str()? {
            Source::PrefixList(list.to_string())
        } else if let Some(group) = rule.get("ReferencedGroupId").str()? {
            Source::Group {
                group_id: Some(group.to_string()),
                user_id: None,
            }
        } else {
            return Err(
                rule.error("no source (CidrIpv4, CidrIpv6, PrefixListId or ReferencedGroupId)")
            );
        };
        rules.push(SgRule {
            rule_id: Some(rule_id),
            direction: Direction::Unverified,
            ip_protocol,
            protocol,
            from_port: rule.get("FromPort").port()?,
            to_port: rule.get("ToPort").port()?,
            source,
            description: None,
        });
    }
    Ok(SgChange {
        kind: ChangeKind::Modify,
        group_id,
        group_name: None,
        group_name_unread: false,
        account: None,
        prefix_lists: PrefixLists::new(),
        rules,
    })
}

/// The entries a `ModifyManagedPrefixList` call added to a customer-managed
/// prefix list (AWS-managed lists cannot be modified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixListChange {
    pub list_id: String,
    /// The list's name, when the record carries it.
    pub list_name: Option<String>,
    /// Every CIDR added, masked; one that does not parse is kept as written.
    pub added: Vec<Source>,
}

impl PrefixListChange {
    /// Reads the change from a `ModifyManagedPrefixList` record of EC2;
    /// `Ok(None)` for any other event. CloudTrail writes the request nested
    /// (`ModifyManagedPrefixListRequest.{PrefixListId, AddEntry}`, an entry
    /// being one object or a list of `{Cidr|cidr, Description}`); the flat
    /// form (`prefixListId`, `addEntry`) is read too. A record whose request
    /// is missing or omitted, or whose added entry has no CIDR, is an error
    /// naming the field, never "nothing added".
    pub fn from_event(event: &Event) -> Result<Option<PrefixListChange>, FieldError> {
        if !event.is_from("ec2") || event.name != MODIFY_PREFIX_LIST {
            return Ok(None);
        }
        let top = event.request();
        let nested = top.get("ModifyManagedPrefixListRequest");
        let request = if nested.is_present() { nested } else { top };
        if !request.is_present() || request.is_omitted() {
            return Err(request.error("missing or omitted by CloudTrail"));
        }
        let field = |names: &[&str]| {
            names
                .iter()
                .map(|n| request.get(n))
                .find(Node::is_present)
                .unwrap_or_else(|| request.get(names[0]))
        };
        let list_id = field(&["PrefixListId", "prefixListId"])
            .required_str()?
            .to_string();
        let response = event.response();
        let listed = [
            response
                .get("ModifyManagedPrefixListResponse")
                .get("prefixList"),
            response.get("prefixList"),
        ];
        let mut list_name = field(&["PrefixListName", "prefixListName"])
            .str()?
            .map(str::to_string);
        for list in listed {
            if list_name.is_none() {
                list_name = list.get("prefixListName").str()?.map(str::to_string);
            }
        }
        let entries = field(&["AddEntry", "addEntry", "AddEntries", "addEntries"]);
        if entries.is_omitted() {
            return Err(entries.error("omitted by CloudTrail"));
        }
        // `{"items": [...]}` or `{}` (CloudTrail's lists), else one object or an array.
        let listed = entries.get("items").is_present()
            || entries
                .value()
                .and_then(Value::as_object)
                .is_some_and(serde_json::Map::is_empty);
        let entries = match listed {
            true => entries.items()?,
            false => entries.one_or_many()?,
        };
        let mut added = Vec::with_capacity(entries.len());
        for entry in entries {
            let cidr = [entry.get("Cidr"), entry.get("cidr")]
                .into_iter()
                .find(Node::is_present)
                .unwrap_or_else(|| entry.get("Cidr"));
            added.push(Source::cidr(cidr.required_str()?));
        }
        Ok(Some(PrefixListChange {
            list_id,
            list_name,
            added,
        }))
    }

    /// The added entries that open whatever references the list to the
    /// internet: internet-wide ones, and ones that do not parse (not safe).
    pub fn internet_entries(&self, wide: WidePrefixes) -> Vec<&Source> {
        self.added
            .iter()
            .filter(|s| s.is_internet_wide(wide) || matches!(s, Source::Unparsed(_)))
            .collect()
    }

    /// `prefix list pl-… (name)`, for messages.
    pub fn resource(&self) -> String {
        match &self.list_name {
            Some(name) => format!("prefix list {} ({name})", self.list_id),
            None => format!("prefix list {}", self.list_id),
        }
    }
}

/// Reads `ipProtocol`. In the flat form an absent protocol means all traffic;
/// elsewhere it is required. A name we do not know is an error, never a pass.
fn protocol_of(node: &Node<'_>, absent_means_all: bool) -> Result<(String, Protocol), FieldError> {
    let raw = match node.value() {
        None if absent_means_all => return Ok(("-1".to_string(), Protocol::All)),
        None => return Err(node.error("missing")),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => node.required_str()?.to_string(),
    };
    let protocol =
        Protocol::parse(&raw).ok_or_else(|| node.error(format!("unknown protocol {raw:?}")))?;
    Ok((raw, protocol))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, request: Value, response: Value) -> Event {
        let value = json!({"eventID": "e", "eventName": name, "eventSource": "ec2.amazonaws.com",
                           "requestParameters": request, "responseElements": response});
        Event::from_value(&value, "test").unwrap()
    }

    #[test]
    fn nested_form_yields_one_rule_per_source() {
        let e = event(
            AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]},
                "prefixListIds": {"items": [{"prefixListId": "pl-1"}]}, "groups": {}}]}}),
            json!({"_return": true}),
        );
        let change = SgChange::from_event(&e).unwrap().unwrap();
        assert_eq!(change.group_id.as_deref(), Some("sg-1"));
        assert_eq!(change.rules.len(), 3);
        assert_eq!(change.rules[1].to_string(), "tcp 22 from ::/0");
        assert!(change.rules.iter().all(|r| r.rule_id.is_none()));
    }

    #[test]
    fn flat_form_and_bare_arrays() {
        let e = event(
            AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1", "cidrIp": "1.2.3.4/0", "ipProtocol": "tcp", "fromPort": "22", "toPort": "22", "ipPermissions": {}}),
            json!({"_return": true}),
        );
        let change = SgChange::from_event(&e).unwrap().unwrap();
        assert_eq!(change.rules.len(), 1);
        assert_eq!(change.rules[0].to_string(), "tcp 22 from 0.0.0.0/0");

        let e = event(
            AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1", "ipPermissions": [{"ipProtocol": "6", "fromPort": 80, "toPort": 80, "ipRanges": [{"cidrIp": "0.0.0.0/0"}]}]}),
            json!({"return": true}),
        );
        let change = SgChange::from_event(&e).unwrap().unwrap();
        assert_eq!(change.rules[0].protocol, Protocol::Tcp);
    }

    #[test]
    fn response_rule_set_carries_ids_and_direction() {
        let e = event(
            AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1", "ipPermissions": {}}),
            json!({"securityGroupRuleSet": {"items": [
                {"groupId": "sg-1", "securityGroupRuleId": "sgr-1", "isEgress": false, "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"},
                {"groupId": "sg-1", "securityGroupRuleId": "sgr-2", "isEgress": false, "ipProtocol": "-1", "referencedGroupInfo": {"groupId": "sg-9", "userId": "999"}}]}}),
        );
        let change = SgChange::from_event(&e).unwrap().unwrap();
        assert_eq!(change.rules[0].rule_id.as_deref(), Some("sgr-1"));
        assert!(matches!(change.rules[1].source, Source::Group { .. }));
    }

    #[test]
    fn modify_as_object_or_list() {
        let one = json!({"ModifySecurityGroupRulesRequest": {"GroupId": "sg-1", "SecurityGroupRule": {
            "SecurityGroupRuleId": "sgr-1", "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "CidrIpv4": "0.0.0.0/0"}}}});
        let change = SgChange::from_event(&event(MODIFY_RULES, one, json!({"_return": true})))
            .unwrap()
            .unwrap();
        assert_eq!(change.rules[0].direction, Direction::Unverified);
        let list = json!({"ModifySecurityGroupRulesRequest": {"GroupId": "sg-1", "SecurityGroupRule": [
            {"SecurityGroupRuleId": "sgr-1", "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "CidrIpv6": "::/0"}},
            {"SecurityGroupRuleId": "sgr-2", "SecurityGroupRule": {"IpProtocol": "udp", "FromPort": 1, "ToPort": 2, "PrefixListId": "pl-1"}}]}});
        let change = SgChange::from_event(&event(MODIFY_RULES, list, json!({})))
            .unwrap()
            .unwrap();
        assert_eq!(change.rules.len(), 2);
    }

    #[test]
    fn errors_name_the_field() {
        let e = event(
            AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": "ssh", "toPort": 22}]}}),
            json!({}),
        );
        let err = SgChange::from_event(&e).unwrap_err();
        assert_eq!(
            err.path,
            "requestParameters.ipPermissions.items[0].fromPort"
        );
        let e = event(AUTHORIZE_INGRESS, json!({"omitted": true}), json!({}));
        assert!(
            SgChange::from_event(&e).is_err(),
            "a half event is never clean"
        );
    }

    #[test]
    fn request_and_response_are_judged_together() {
        // The response lists one of the two rules the request opened.
        let e = event(
            AUTHORIZE_INGRESS,
            json!({"groupId": "sg-1", "ipPermissions": {"items": [
                {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}},
                {"ipProtocol": "6", "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
            json!({"securityGroupRuleSet": {"items": [
                {"groupId": "sg-1", "securityGroupRuleId": "sgr-443", "isEgress": false, "ipProtocol": "tcp",
                 "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}]}}),
        );
        let change = SgChange::from_event(&e).unwrap().unwrap();
        let rules: Vec<String> = change.rules.iter().map(ToString::to_string).collect();
        assert_eq!(
            rules,
            ["tcp 443 from 0.0.0.0/0 (sgr-443)", "tcp 22 from 0.0.0.0/0"]
        );
    }

    #[test]
    fn the_group_name_and_account_come_with_the_change() {
        let e = event(
            AUTHORIZE_INGRESS,
            json!({"groupName": "default", "cidrIp": "10.0.0.0/8", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443}),
            json!({"_return": true}),
        );
        let change = SgChange::from_event(&e).unwrap().unwrap();
        assert_eq!(change.group_name.as_deref(), Some(DEFAULT_GROUP_NAME));
        assert_eq!(change.resource(), "group default");
        let value = json!({"eventID": "e", "eventName": AUTHORIZE_INGRESS, "eventSource": "ec2.amazonaws.com",
            "recipientAccountId": "111122223333", "requestParameters": {"groupId": "sg-1", "ipPermissions": {"items": [
                {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "prefixListIds": {"items": [{"prefixListId": "pl-1"}, {"prefixListId": "pl-2"}]}}]}}});
        let change = SgChange::from_event(&Event::from_value(&value, "test").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(change.account.as_deref(), Some("111122223333"));
        assert_eq!(
            change.group_name, None,
            "not named: unknown, not \"not default\""
        );
        assert_eq!(
            change.prefix_list_ids().into_iter().collect::<Vec<_>>(),
            ["pl-1", "pl-2"]
        );
        let stored = SgChange::current_ingress("sg-1", change.rules.clone());
        assert_eq!((stored.account, stored.group_name), (None, None));
        let named = SgChange::current_ingress("sg-1", Vec::new()).with_group_name("");
        assert_eq!(named.group_name, None, "an empty name is no name");
    }

    fn modify_list(request: Value) -> Result<Option<PrefixListChange>, FieldError> {
        PrefixListChange::from_event(&event(MODIFY_PREFIX_LIST, request, json!({})))
    }

    #[test]
    fn modify_prefix_list_in_every_shape() {
        let wide = WidePrefixes::default();
        // As CloudTrail records it: one entry, lower-case `cidr`.
        let one = modify_list(
            json!({"ModifyManagedPrefixListRequest": {"PrefixListId": "pl-1",
            "AddEntry": {"Description": "everyone", "cidr": "0.0.0.0/0", "tag": "1"}}}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(one.list_id, "pl-1");
        assert_eq!(one.internet_entries(wide), [&Source::cidr("0.0.0.0/0")]);
        // Several entries, `Cidr`, as a list or CloudTrail's items; the flat form.
        for request in [
            json!({"ModifyManagedPrefixListRequest": {"PrefixListId": "pl-1", "AddEntry": [
                {"Cidr": "198.51.100.0/24"}, {"Cidr": "::/0"}]}}),
            json!({"ModifyManagedPrefixListRequest": {"PrefixListId": "pl-1", "AddEntry": {"items": [
                {"Cidr": "198.51.100.0/24"}, {"Cidr": "::/0"}]}}}),
            json!({"prefixListId": "pl-1", "addEntry": [{"cidr": "198.51.100.0/24"}, {"cidr": "::/0"}]}),
        ] {
            let change = modify_list(request.clone()).unwrap().unwrap();
            assert_eq!(change.added.len(), 2, "{request}");
            assert_eq!(
                change.internet_entries(wide),
                [&Source::cidr("::/0")],
                "{request}"
            );
        }
        // A rename, or removals only: nothing added.
        let rename = modify_list(
            json!({"ModifyManagedPrefixListRequest": {"PrefixListId": "pl-1",
            "PrefixListName": "office", "RemoveEntry": {"Cidr": "0.0.0.0/0"}}}),
        )
        .unwrap()
        .unwrap();
        assert!(rename.added.is_empty());
        assert_eq!(rename.resource(), "prefix list pl-1 (office)");
        let empty = modify_list(
            json!({"ModifyManagedPrefixListRequest": {"PrefixListId": "pl-1", "AddEntry": {}}}),
        );
        assert!(empty.unwrap().unwrap().added.is_empty());
        // An entry that does not parse is not safe.
        let odd = modify_list(
            json!({"ModifyManagedPrefixListRequest": {"PrefixListId": "pl-1",
            "AddEntry": {"Cidr": "anywhere"}}}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(odd.internet_entries(wide).len(), 1);
        // Other events are not this one.
        let other = event(MODIFY_RULES, json!({"PrefixListId": "pl-1"}), json!({}));
        assert_eq!(PrefixListChange::from_event(&other).unwrap(), None);
    }

    #[test]
    fn a_modify_prefix_list_record_that_cannot_be_read_is_an_error_naming_the_field() {
        let cases = [
            (json!(null), "requestParameters"),
            (
                json!({"ModifyManagedPrefixListRequest": {"omitted": true}}),
                "requestParameters.ModifyManagedPrefixListRequest",
            ),
            (
                json!({"ModifyManagedPrefixListRequest": {"AddEntry": {"Cidr": "0.0.0.0/0"}}}),
                "requestParameters.ModifyManagedPrefixListRequest.PrefixListId",
            ),
            (
                json!({"ModifyManagedPrefixListRequest": {"PrefixListId": "pl-1", "AddEntry": {"omitted": true}}}),
                "requestParameters.ModifyManagedPrefixListRequest.AddEntry",
            ),
            (
                json!({"ModifyManagedPrefixListRequest": {"PrefixListId": "pl-1", "AddEntry": [{"Description": "lost"}]}}),
                "requestParameters.ModifyManagedPrefixListRequest.AddEntry[0].Cidr",
            ),
            (
                json!({"ModifyManagedPrefixListRequest": {"PrefixListId": "pl-1", "AddEntry": "0.0.0.0/0"}}),
                "requestParameters.ModifyManagedPrefixListRequest.AddEntry",
            ),
        ];
        for (request, path) in cases {
            let err = modify_list(request.clone()).expect_err(&request.to_string());
            assert_eq!(err.path, path, "{request}: {err}");
        }
        let lenient = event(
            MODIFY_PREFIX_LIST,
            json!({"ModifyManagedPrefixListRequest": {"PrefixListId": "pl-1", "AddEntry": "x"}}),
            json!({}),
        );
        assert_eq!(prefix_list_named(&lenient).as_deref(), Some("pl-1"));
    }

    #[test]
    fn a_record_with_no_rule_to_judge_is_an_error_naming_the_field() {
        let cases = [
            (AUTHORIZE_INGRESS, json!({"groupId": "sg-1", "ipPermissions": {}}), "requestParameters.ipPermissions"),
            (AUTHORIZE_INGRESS, json!({"groupId": "sg-1"}), "requestParameters.ipPermissions"),
            (AUTHORIZE_INGRESS, json!({"groupId": "sg-1", "ipPermissions": {"item": []}}), "requestParameters.ipPermissions"),
            (AUTHORIZE_INGRESS, json!({"groupId": "sg-1", "ipPermissions": {"items": [
                {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {}, "ipv6Ranges": {}, "groups": {}, "prefixListIds": {}}]}}),
                "requestParameters.ipPermissions.items[0]"),
            (MODIFY_RULES, json!({"ModifySecurityGroupRulesRequest": {"GroupId": "sg-1"}}),
                "requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule"),
            (MODIFY_RULES, json!({"ModifySecurityGroupRulesRequest": {"GroupId": "sg-1", "SecurityGroupRule": {"omitted": true}}}),
                "requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule"),
            (MODIFY_RULES, json!({"ModifySecurityGroupRulesRequest": {"GroupId": "sg-1", "SecurityGroupRule": [
                {"SecurityGroupRuleId": "sgr-1", "SecurityGroupRule": {"omitted": true}}]}}),
                "requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule[0].SecurityGroupRule"),
        ];
        for (name, request, path) in cases {
            let e = event(name, request.clone(), json!({"_return": true}));
            let err = SgChange::from_event(&e).expect_err(&request.to_string());
            assert_eq!(err.path, path, "{request}: {err}");
        }
        // A lost source is not hidden by a response that lists another rule,
        // nor by a flat form or a group pair that names nothing.
        let https = json!({"securityGroupRuleSet": {"items": [{"groupId": "sg-1", "securityGroupRuleId": "sgr-443",
            "isEgress": false, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}]}});
        let lost = [
            (
                json!({"groupId": "sg-1", "ipPermissions": {"items": [
                {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {}},
                {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
                https.clone(),
                "requestParameters.ipPermissions.items[0]",
            ),
            (
                json!({"groupId": "sg-1", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipPermissions": {}}),
                https.clone(),
                "requestParameters.cidrIp",
            ),
            (
                json!({"groupId": "sg-1", "ipPermissions": {"items": [
                {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {"items": [{}]}}]}}),
                json!({"_return": true}),
                "requestParameters.ipPermissions.items[0]",
            ),
        ];
        for (request, response, path) in lost {
            let e = event(AUTHORIZE_INGRESS, request.clone(), response);
            let err = SgChange::from_event(&e).expect_err(&request.to_string());
            assert_eq!(err.path, path, "{request}: {err}");
        }
    }
}
