//! Load-balancer records of Elastic Load Balancing v2 (DESIGN §14): load
//! balancers (`CreateLoadBalancer`, `SetSecurityGroups`), listeners and their
//! rules (`Create/ModifyListener`, `Create/ModifyRule`), attributes
//! (`ModifyLoadBalancerAttributes`), target groups (`Create/ModifyTargetGroup`)
//! and their targets (`RegisterTargets`).
//!
//! CloudTrail writes these records in camelCase with plain JSON lists; the
//! response holds the resource after the call (`loadBalancers[0]`,
//! `listeners[0]`, `rules[0]`, `targetGroups[0]`, `attributes`). As with ECS,
//! both are evidence: the response where it carries a field, the request
//! where it does not. A creation is whole (absent = AWS's default, and the
//! change says which fields took it); in a modification an absent field is
//! unchanged, hence unknown.

use std::collections::BTreeMap;

mod parts;

pub use parts::{
    is_encrypted_protocol, load_balancer_arn_of, only_redirects_to_https, short_arn, Action,
    Attributes, LbType, Listener, ListenerRule, LoadBalancer, Redirect, Said, Scheme, Target,
    TargetGroup,
};

use crate::model::event::Event;
use crate::model::json::{FieldError, Node};

pub const CREATE_LOAD_BALANCER: &str = "CreateLoadBalancer";
pub const SET_SECURITY_GROUPS: &str = "SetSecurityGroups";
pub const CREATE_LISTENER: &str = "CreateListener";
pub const MODIFY_LISTENER: &str = "ModifyListener";
pub const CREATE_RULE: &str = "CreateRule";
pub const MODIFY_RULE: &str = "ModifyRule";
pub const MODIFY_LOAD_BALANCER_ATTRIBUTES: &str = "ModifyLoadBalancerAttributes";
pub const CREATE_TARGET_GROUP: &str = "CreateTargetGroup";
pub const MODIFY_TARGET_GROUP: &str = "ModifyTargetGroup";
pub const REGISTER_TARGETS: &str = "RegisterTargets";

/// The service these calls belong to (`elasticloadbalancing.amazonaws.com`).
pub const SERVICE: &str = "elasticloadbalancing";

/// The calls this module reads.
pub const EVENT_NAMES: [&str; 10] = [
    CREATE_LOAD_BALANCER,
    SET_SECURITY_GROUPS,
    CREATE_LISTENER,
    MODIFY_LISTENER,
    CREATE_RULE,
    MODIFY_RULE,
    MODIFY_LOAD_BALANCER_ATTRIBUTES,
    CREATE_TARGET_GROUP,
    MODIFY_TARGET_GROUP,
    REGISTER_TARGETS,
];

/// The attribute keys the rules read, and their AWS defaults (what a load
/// balancer has until someone sets them).
pub const DROP_INVALID_HEADER_FIELDS: &str = "routing.http.drop_invalid_header_fields.enabled";
pub const DESYNC_MITIGATION_MODE: &str = "routing.http.desync_mitigation_mode";
pub const ACCESS_LOGS: &str = "access_logs.s3.enabled";
pub const DELETION_PROTECTION: &str = "deletion_protection.enabled";

/// AWS's default for an attribute a load balancer was never given.
pub fn attribute_default(key: &str) -> Option<&'static str> {
    match key {
        DROP_INVALID_HEADER_FIELDS | ACCESS_LOGS | DELETION_PROTECTION => Some("false"),
        DESYNC_MITIGATION_MODE => Some("defensive"),
        _ => None,
    }
}

/// The TLS policy a listener gets when `CreateListener` names none (the
/// API's default; the console picks a newer one and writes it down).
pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-2016-08";

fn actions(node: &Node<'_>) -> Result<Option<Vec<Action>>, FieldError> {
    if !node.is_present() {
        return Ok(None);
    }
    if node.is_omitted() {
        return Err(node.error("omitted by CloudTrail"));
    }
    node.items()?
        .iter()
        .map(Action::from_json)
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A list of strings (`securityGroups`, `subnets`); `None` when absent.
fn strings(node: &Node<'_>) -> Result<Option<Vec<String>>, FieldError> {
    if !node.is_present() {
        return Ok(None);
    }
    node.items()?
        .iter()
        .map(|n| n.required_str().map(str::to_string))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The first resource a response lists (`loadBalancers`, `listeners`, …);
/// absent when the response does not carry it.
fn first<'a>(response: &Node<'a>, key: &str) -> Result<Node<'a>, FieldError> {
    let list = response.get(key);
    if list.is_omitted() {
        return Err(list.error("omitted by CloudTrail"));
    }
    Ok(list.items()?.into_iter().next().unwrap_or(list))
}

/// A string from the response where it carries it, else from the request.
fn either<'a>(
    after: &Node<'a>,
    request: &Node<'a>,
    key: &str,
) -> Result<Option<&'a str>, FieldError> {
    Ok(after.get(key).str()?.or(request.get(key).str()?))
}

/// One load-balancer call. One is built per event and dropped after
/// judging: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElbChange {
    /// CreateLoadBalancer, with the attributes it starts with (AWS's defaults).
    LoadBalancer {
        load_balancer: LoadBalancer,
        attributes: Attributes,
    },
    /// SetSecurityGroups: the groups the load balancer now has (empty: none).
    SecurityGroups {
        load_balancer: String,
        lb_type: Option<LbType>,
        groups: Vec<String>,
    },
    /// CreateListener, ModifyListener.
    Listener { created: bool, listener: Listener },
    /// CreateRule, ModifyRule.
    Rule { created: bool, rule: ListenerRule },
    /// ModifyLoadBalancerAttributes.
    Attributes(Attributes),
    /// CreateTargetGroup, ModifyTargetGroup.
    TargetGroup(TargetGroup),
    /// RegisterTargets.
    Targets {
        target_group: String,
        targets: Vec<Target>,
    },
}

impl ElbChange {
    /// Reads one of [`EVENT_NAMES`] from Elastic Load Balancing; `Ok(None)`
    /// for anything else.
    pub fn from_event(event: &Event) -> Result<Option<ElbChange>, FieldError> {
        if !EVENT_NAMES.contains(&event.name.as_str()) || !event.is_from(SERVICE) {
            return Ok(None);
        }
        let request = event.request();
        if request.is_omitted() || request.object()?.is_none() {
            return Err(request.error("missing or omitted by CloudTrail"));
        }
        let response = event.response();
        if response.is_omitted() {
            return Err(response.error("omitted by CloudTrail"));
        }
        Ok(Some(match event.name.as_str() {
            CREATE_LOAD_BALANCER => load_balancer(&request, &response)?,
            SET_SECURITY_GROUPS => {
                let arn = request.get("loadBalancerArn").required_str()?;
                let groups = match strings(&response.get("securityGroupIds"))? {
                    Some(groups) => groups,
                    None => strings(&request.get("securityGroups"))?
                        .ok_or_else(|| request.get("securityGroups").error("missing"))?,
                };
                ElbChange::SecurityGroups {
                    load_balancer: arn.to_string(),
                    lb_type: LbType::from_arn(arn),
                    groups,
                }
            }
            CREATE_LISTENER | MODIFY_LISTENER => {
                let created = event.name == CREATE_LISTENER;
                ElbChange::Listener {
                    created,
                    listener: listener(&request, &response, created)?,
                }
            }
            CREATE_RULE | MODIFY_RULE => {
                let created = event.name == CREATE_RULE;
                let after = first(&response, "rules")?;
                let arn = either(&after, &request, "ruleArn")?.map(str::to_string);
                let listener = request.get("listenerArn").str()?.map(str::to_string);
                if created && listener.is_none() {
                    return Err(request.get("listenerArn").error("missing"));
                }
                if !created && arn.is_none() {
                    return Err(request.get("ruleArn").error("missing"));
                }
                let mut rule_actions = actions(&after.get("actions"))?;
                if rule_actions.is_none() {
                    rule_actions = actions(&request.get("actions"))?;
                }
                if created && rule_actions.is_none() {
                    return Err(request.get("actions").error("missing"));
                }
                let lb_type = arn
                    .as_deref()
                    .or(listener.as_deref())
                    .and_then(LbType::from_arn);
                ElbChange::Rule {
                    created,
                    rule: ListenerRule {
                        arn,
                        listener,
                        lb_type,
                        actions: rule_actions,
                    },
                }
            }
            MODIFY_LOAD_BALANCER_ATTRIBUTES => {
                let arn = request.get("loadBalancerArn").required_str()?;
                let requested = request.get("attributes");
                if !requested.is_present() {
                    return Err(requested.error("missing"));
                }
                let mut values = attribute_list(&requested)?;
                // The response where it carries a key: what the load balancer now has.
                values.extend(attribute_list(&response.get("attributes"))?);
                ElbChange::Attributes(Attributes {
                    load_balancer: arn.to_string(),
                    lb_type: LbType::from_arn(arn),
                    at_creation: false,
                    values,
                })
            }
            CREATE_TARGET_GROUP | MODIFY_TARGET_GROUP => {
                ElbChange::TargetGroup(target_group(&request, &response, event)?)
            }
            _ => {
                let target_group = request.get("targetGroupArn").required_str()?.to_string();
                let list = request.get("targets");
                if !list.is_present() {
                    return Err(list.error("missing"));
                }
                let targets = list
                    .items()?
                    .iter()
                    .map(|t| {
                        Ok(Target {
                            id: t.get("id").required_str()?.to_string(),
                            port: t.get("port").port()?,
                            availability_zone: t.get("availabilityZone").str()?.map(str::to_string),
                        })
                    })
                    .collect::<Result<Vec<_>, FieldError>>()?;
                ElbChange::Targets {
                    target_group,
                    targets,
                }
            }
        }))
    }

    /// The load balancer the call is about, when the record names it (by
    /// ARN, or by the ARN of its listener or rule).
    pub fn load_balancer_arn(&self) -> Option<String> {
        match self {
            ElbChange::LoadBalancer { load_balancer, .. } => load_balancer.arn.clone(),
            ElbChange::SecurityGroups { load_balancer, .. } => Some(load_balancer.clone()),
            ElbChange::Listener { listener, .. } => listener
                .load_balancer
                .clone()
                .or_else(|| listener.arn.as_deref().and_then(load_balancer_arn_of)),
            ElbChange::Rule { rule, .. } => rule
                .arn
                .as_deref()
                .or(rule.listener.as_deref())
                .and_then(load_balancer_arn_of),
            ElbChange::Attributes(a) => Some(a.load_balancer.clone()),
            ElbChange::TargetGroup(_) | ElbChange::Targets { .. } => None,
        }
    }

    /// The kind of load balancer, when the record or an ARN in it says.
    pub fn lb_type(&self) -> Option<LbType> {
        match self {
            ElbChange::LoadBalancer { load_balancer, .. } => Some(load_balancer.lb_type),
            ElbChange::SecurityGroups { lb_type, .. } => *lb_type,
            ElbChange::Listener { listener, .. } => listener.lb_type,
            ElbChange::Rule { rule, .. } => rule.lb_type,
            ElbChange::Attributes(a) => a.lb_type,
            ElbChange::TargetGroup(_) | ElbChange::Targets { .. } => None,
        }
    }

    /// The load balancer's scheme, when the record says (only a creation does).
    pub fn scheme(&self) -> Option<Scheme> {
        match self {
            ElbChange::LoadBalancer { load_balancer, .. } => Some(load_balancer.scheme),
            _ => None,
        }
    }

    /// The attributes the call leaves the load balancer with, as far as it says.
    pub fn attributes(&self) -> Option<&Attributes> {
        match self {
            ElbChange::LoadBalancer { attributes, .. } | ElbChange::Attributes(attributes) => {
                Some(attributes)
            }
            _ => None,
        }
    }

    /// What the call is about, for messages.
    pub fn resource(&self) -> String {
        match self {
            ElbChange::LoadBalancer { load_balancer, .. } => load_balancer.label(),
            ElbChange::SecurityGroups { load_balancer, .. } => short_arn(load_balancer).to_string(),
            ElbChange::Listener { listener, .. } => listener
                .arn
                .as_deref()
                .map_or_else(|| listener.label(), |a| short_arn(a).to_string()),
            ElbChange::Rule { rule, .. } => rule.label(),
            ElbChange::Attributes(a) => short_arn(&a.load_balancer).to_string(),
            ElbChange::TargetGroup(tg) => tg.label(),
            ElbChange::Targets { target_group, .. } => short_arn(target_group).to_string(),
        }
    }
}

fn load_balancer(request: &Node<'_>, response: &Node<'_>) -> Result<ElbChange, FieldError> {
    let after = first(response, "loadBalancers")?;
    let name = after
        .get("loadBalancerName")
        .str()?
        .or(request.get("name").str()?)
        .ok_or_else(|| request.get("name").error("missing"))?
        .to_string();
    let arn = after.get("loadBalancerArn").str()?.map(str::to_string);
    let (lb_type, type_defaulted) = match (after.get("type").str()?, request.get("type").str()?) {
        (Some(t), _) => (
            LbType::parse(t)
                .ok_or_else(|| after.get("type").error(format!("unknown type {t:?}")))?,
            false,
        ),
        (None, Some(t)) => (
            LbType::parse(t)
                .ok_or_else(|| request.get("type").error(format!("unknown type {t:?}")))?,
            false,
        ),
        (None, None) => (
            arn.as_deref()
                .and_then(LbType::from_arn)
                .unwrap_or(LbType::Application),
            arn.as_deref().and_then(LbType::from_arn).is_none(),
        ),
    };
    let (scheme, scheme_defaulted) =
        match (after.get("scheme").str()?, request.get("scheme").str()?) {
            (Some(s), _) => (
                Scheme::parse(s)
                    .ok_or_else(|| after.get("scheme").error(format!("unknown scheme {s:?}")))?,
                false,
            ),
            (None, Some(s)) => (
                Scheme::parse(s)
                    .ok_or_else(|| request.get("scheme").error(format!("unknown scheme {s:?}")))?,
                false,
            ),
            (None, None) => (Scheme::InternetFacing, true),
        };
    let security_groups = match strings(&after.get("securityGroups"))? {
        Some(groups) => groups,
        None => strings(&request.get("securityGroups"))?.unwrap_or_default(),
    };
    let subnets = subnets_of(&after, request)?;
    let label = arn.clone().unwrap_or_else(|| name.clone());
    Ok(ElbChange::LoadBalancer {
        attributes: Attributes {
            load_balancer: label,
            lb_type: Some(lb_type),
            at_creation: true,
            values: BTreeMap::new(),
        },
        load_balancer: LoadBalancer {
            arn,
            name,
            lb_type,
            type_defaulted,
            scheme,
            scheme_defaulted,
            security_groups,
            vpc_id: after.get("vpcId").str()?.map(str::to_string),
            subnets,
        },
    })
}

/// The subnets of a new load balancer's nodes: the response's
/// `availabilityZones`, else the request's `subnets` or `subnetMappings`.
fn subnets_of(after: &Node<'_>, request: &Node<'_>) -> Result<Vec<String>, FieldError> {
    let zones = after.get("availabilityZones").items()?;
    let mut subnets = Vec::new();
    for zone in &zones {
        if let Some(subnet) = zone.get("subnetId").str()? {
            subnets.push(subnet.to_string());
        }
    }
    if subnets.is_empty() {
        subnets = strings(&request.get("subnets"))?.unwrap_or_default();
    }
    if subnets.is_empty() {
        for mapping in request.get("subnetMappings").items()? {
            if let Some(subnet) = mapping.get("subnetId").str()? {
                subnets.push(subnet.to_string());
            }
        }
    }
    Ok(subnets)
}

fn listener(
    request: &Node<'_>,
    response: &Node<'_>,
    created: bool,
) -> Result<Listener, FieldError> {
    let after = first(response, "listeners")?;
    let arn = either(&after, request, "listenerArn")?.map(str::to_string);
    let load_balancer = either(&after, request, "loadBalancerArn")?.map(str::to_string);
    if created && load_balancer.is_none() {
        return Err(request.get("loadBalancerArn").error("missing"));
    }
    if !created && arn.is_none() {
        return Err(request.get("listenerArn").error("missing"));
    }
    let lb_type = load_balancer
        .as_deref()
        .or(arn.as_deref())
        .and_then(LbType::from_arn);
    let protocol = either(&after, request, "protocol")?.map(str::to_string);
    if created && protocol.is_none() && lb_type != Some(LbType::Gateway) {
        return Err(request.get("protocol").error("missing"));
    }
    let port = match after.get("port").port()? {
        Some(p) => Some(p),
        None => request.get("port").port()?,
    };
    let mut ssl_policy = either(&after, request, "sslPolicy")?.map(str::to_string);
    let encrypted = protocol
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("HTTPS") || p.eq_ignore_ascii_case("TLS"));
    let ssl_policy_defaulted = created && encrypted && ssl_policy.is_none();
    if ssl_policy_defaulted {
        ssl_policy = Some(DEFAULT_SSL_POLICY.to_string());
    }
    let mut default_actions = actions(&after.get("defaultActions"))?;
    if default_actions.is_none() {
        default_actions = actions(&request.get("defaultActions"))?;
    }
    if created && default_actions.is_none() {
        return Err(request.get("defaultActions").error("missing"));
    }
    let moves = created || request.get("port").is_present() || request.get("protocol").is_present();
    Ok(Listener {
        arn,
        load_balancer,
        lb_type,
        protocol,
        port,
        ssl_policy,
        ssl_policy_defaulted,
        default_actions,
        moves,
    })
}

fn attribute_list(node: &Node<'_>) -> Result<BTreeMap<String, String>, FieldError> {
    if node.is_omitted() {
        return Err(node.error("omitted by CloudTrail"));
    }
    let mut values = BTreeMap::new();
    for attribute in node.items()? {
        let key = attribute.get("key").required_str()?;
        let value = attribute.get("value");
        let value = match value.value() {
            Some(serde_json::Value::Bool(b)) => b.to_string(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => value.required_str()?.to_string(),
        };
        values.insert(key.to_string(), value);
    }
    Ok(values)
}

fn target_group(
    request: &Node<'_>,
    response: &Node<'_>,
    event: &Event,
) -> Result<TargetGroup, FieldError> {
    let created = event.name == CREATE_TARGET_GROUP;
    let after = first(response, "targetGroups")?;
    let arn = either(&after, request, "targetGroupArn")?.map(str::to_string);
    let name = after
        .get("targetGroupName")
        .str()?
        .or(request.get("name").str()?)
        .map(str::to_string);
    let name = match (name, &arn) {
        (Some(name), _) => name,
        (None, Some(arn)) => short_arn(arn).to_string(),
        (None, None) if created => return Err(request.get("name").error("missing")),
        (None, None) => return Err(request.get("targetGroupArn").error("missing")),
    };
    let protocol = either(&after, request, "protocol")?.map(str::to_string);
    let target_type = either(&after, request, "targetType")?
        .map(str::to_string)
        .or_else(|| created.then(|| "instance".to_string()));
    let health_check_enabled = match after.get("healthCheckEnabled").bool()? {
        Some(b) => Some(b),
        None => request.get("healthCheckEnabled").bool()?,
    };
    let mut health_check_protocol =
        either(&after, request, "healthCheckProtocol")?.map(str::to_string);
    let is_lambda = target_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("lambda"));
    let health_check_defaulted = created && health_check_protocol.is_none() && !is_lambda;
    if health_check_defaulted {
        // The API's default: HTTP for an Application Load Balancer's group
        // (HTTP, HTTPS), TCP for the others.
        let http = protocol
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("HTTP") || p.eq_ignore_ascii_case("HTTPS"));
        health_check_protocol = Some(if http { "HTTP" } else { "TCP" }.to_string());
    }
    Ok(TargetGroup {
        created,
        arn,
        name,
        protocol,
        port: match after.get("port").port()? {
            Some(p) => Some(p),
            None => request.get("port").port()?,
        },
        target_type,
        health_check_protocol,
        health_check_defaulted,
        health_check_enabled: health_check_enabled
            .or_else(|| (created && is_lambda).then_some(false)),
        vpc_id: either(&after, request, "vpcId")?.map(str::to_string),
    })
}

#[cfg(test)]
mod tests;
