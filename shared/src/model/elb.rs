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

/// The kind of load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbType {
    Application,
    Network,
    Gateway,
}

impl LbType {
    /// `application`, `network`, `gateway` as the API writes them.
    pub fn parse(text: &str) -> Option<LbType> {
        match text.to_ascii_lowercase().as_str() {
            "application" => Some(LbType::Application),
            "network" => Some(LbType::Network),
            "gateway" => Some(LbType::Gateway),
            _ => None,
        }
    }

    /// The kind an ARN of a load balancer, listener or listener rule names
    /// (`…:loadbalancer/app/web/50dc…`, `…:listener/net/…`, `…:listener-rule/app/…`).
    pub fn from_arn(arn: &str) -> Option<LbType> {
        let (_, path) = arn.rsplit_once(':')?;
        let mut parts = path.split('/');
        match parts.next()? {
            "loadbalancer" | "listener" | "listener-rule" => {}
            _ => return None,
        }
        match parts.next()? {
            "app" => Some(LbType::Application),
            "net" => Some(LbType::Network),
            "gwy" => Some(LbType::Gateway),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LbType::Application => "application",
            LbType::Network => "network",
            LbType::Gateway => "gateway",
        }
    }
}

/// Whether the load balancer's nodes have public addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    InternetFacing,
    Internal,
}

impl Scheme {
    pub fn parse(text: &str) -> Option<Scheme> {
        match text.to_ascii_lowercase().as_str() {
            "internet-facing" => Some(Scheme::InternetFacing),
            "internal" => Some(Scheme::Internal),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::InternetFacing => "internet-facing",
            Scheme::Internal => "internal",
        }
    }
}

/// The load balancer an ARN of one of its listeners or rules belongs to:
/// `…:listener/app/web/50dc…/f2f7…` → `…:loadbalancer/app/web/50dc…`.
pub fn load_balancer_arn_of(arn: &str) -> Option<String> {
    let (head, path) = arn.rsplit_once(':')?;
    let mut parts = path.split('/');
    let kind = parts.next()?;
    if !matches!(kind, "loadbalancer" | "listener" | "listener-rule") {
        return None;
    }
    let (ty, name, id) = (parts.next()?, parts.next()?, parts.next()?);
    Some(format!("{head}:loadbalancer/{ty}/{name}/{id}"))
}

/// `arn:…:loadbalancer/app/web/50dc…` → `app/web/50dc…`, for messages.
pub fn short_arn(arn: &str) -> &str {
    arn.rsplit_once(':')
        .map(|(_, path)| path.split_once('/').map_or(path, |(_, rest)| rest))
        .unwrap_or(arn)
}

/// A protocol that encrypts what the client sends.
pub fn is_encrypted_protocol(protocol: &str) -> bool {
    ["HTTPS", "TLS", "QUIC", "TCP_QUIC"]
        .iter()
        .any(|p| p.eq_ignore_ascii_case(protocol))
}

/// `redirectConfig` of a redirect action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redirect {
    /// `HTTP`, `HTTPS` or `#{protocol}` (the request's own, the default).
    pub protocol: Option<String>,
    pub port: Option<String>,
    pub status_code: Option<String>,
}

/// One action of a listener or a listener rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// `forward`, `redirect`, `fixed-response`, `authenticate-oidc`,
    /// `authenticate-cognito`, …
    pub kind: String,
    /// The target groups it forwards to (`targetGroupArn` and `forwardConfig`).
    pub target_groups: Vec<String>,
    pub redirect: Option<Redirect>,
}

impl Action {
    fn from_json(node: &Node<'_>) -> Result<Action, FieldError> {
        let kind = node.get("type").required_str()?.to_ascii_lowercase();
        let mut target_groups = Vec::new();
        if let Some(arn) = node.get("targetGroupArn").str()? {
            target_groups.push(arn.to_string());
        }
        for group in node.get("forwardConfig").get("targetGroups").items()? {
            let arn = group.get("targetGroupArn").required_str()?;
            if !target_groups.iter().any(|g| g == arn) {
                target_groups.push(arn.to_string());
            }
        }
        let config = node.get("redirectConfig");
        let redirect = if config.is_present() {
            Some(Redirect {
                protocol: config.get("protocol").str()?.map(str::to_string),
                port: config.get("port").str()?.map(str::to_string),
                status_code: config.get("statusCode").str()?.map(str::to_string),
            })
        } else if kind == "redirect" {
            return Err(config.error("missing (a redirect action carries its redirectConfig)"));
        } else {
            None
        };
        Ok(Action {
            kind,
            target_groups,
            redirect,
        })
    }

    /// True for the actions that end a request: forward, redirect, fixed-response.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "forward" | "redirect" | "fixed-response"
        )
    }

    /// True for a redirect whose target protocol is HTTPS (`#{protocol}`,
    /// the default, keeps the request's own).
    pub fn redirects_to_https(&self) -> bool {
        self.kind == "redirect"
            && self
                .redirect
                .as_ref()
                .and_then(|r| r.protocol.as_deref())
                .is_some_and(|p| p.eq_ignore_ascii_case("HTTPS"))
    }

    /// How a message names it: `forward`, `redirect to HTTP`, `fixed-response`.
    pub fn describe(&self) -> String {
        match (&self.kind[..], &self.redirect) {
            ("redirect", Some(r)) => format!(
                "redirect to {}",
                r.protocol.as_deref().unwrap_or("#{protocol}")
            ),
            _ => self.kind.clone(),
        }
    }
}

/// True when every action that ends a request redirects to HTTPS (and
/// there is one): whatever arrives is sent to HTTPS, nothing is served.
pub fn only_redirects_to_https(actions: &[Action]) -> bool {
    let mut terminal = actions.iter().filter(|a| a.is_terminal()).peekable();
    terminal.peek().is_some() && terminal.all(Action::redirects_to_https)
}

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

/// A load balancer as `CreateLoadBalancer` made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancer {
    pub arn: Option<String>,
    pub name: String,
    pub lb_type: LbType,
    /// The request did not say and the response did not either: AWS's
    /// default (`application`) applies.
    pub type_defaulted: bool,
    pub scheme: Scheme,
    /// AWS's default (`internet-facing`) applies.
    pub scheme_defaulted: bool,
    /// Empty: none (a network load balancer created without groups can
    /// never be given any).
    pub security_groups: Vec<String>,
    pub vpc_id: Option<String>,
}

impl LoadBalancer {
    /// The ARN where the record gives it, else the name.
    pub fn label(&self) -> String {
        self.arn
            .as_deref()
            .map_or_else(|| self.name.clone(), |a| short_arn(a).to_string())
    }
}

/// A listener after the call, as far as the record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub arn: Option<String>,
    pub load_balancer: Option<String>,
    /// From the load balancer's or the listener's ARN.
    pub lb_type: Option<LbType>,
    /// `None`: a modification that does not change it.
    pub protocol: Option<String>,
    pub port: Option<i64>,
    pub ssl_policy: Option<String>,
    /// A creation of an HTTPS or TLS listener that named no policy: the
    /// API's default ([`DEFAULT_SSL_POLICY`]) applies.
    pub ssl_policy_defaulted: bool,
    /// `None`: a modification that does not change them.
    pub default_actions: Option<Vec<Action>>,
    /// The request sets the port or the protocol (always, for a creation):
    /// the listener serves something else than before.
    pub moves: bool,
}

impl Listener {
    /// `HTTP:80 on app/web/50dc…` (or the listener's ARN when it says more).
    pub fn label(&self) -> String {
        let what = match (&self.protocol, self.port) {
            (Some(p), Some(port)) => format!("{p}:{port}"),
            (Some(p), None) => p.clone(),
            (None, Some(port)) => format!("port {port}"),
            (None, None) => "listener".to_string(),
        };
        match (&self.load_balancer, &self.arn) {
            (Some(lb), _) => format!("{what} on {}", short_arn(lb)),
            (None, Some(arn)) => format!("{what} ({})", short_arn(arn)),
            (None, None) => what,
        }
    }

    /// True when the listener speaks plain HTTP.
    pub fn is_http(&self) -> bool {
        self.protocol
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("HTTP"))
    }
}

/// A listener rule after the call, as far as the record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerRule {
    pub arn: Option<String>,
    /// `CreateRule` names it; a `ModifyRule` record may not.
    pub listener: Option<String>,
    /// From the rule's or the listener's ARN.
    pub lb_type: Option<LbType>,
    /// `None`: a modification that does not change them.
    pub actions: Option<Vec<Action>>,
}

impl ListenerRule {
    pub fn label(&self) -> String {
        self.arn
            .as_deref()
            .or(self.listener.as_deref())
            .map_or_else(|| "listener rule".to_string(), |a| short_arn(a).to_string())
    }
}

/// Where an attribute's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// The record sets or lists it.
    Record,
    /// A new load balancer's: AWS's default, nobody set it yet.
    AwsDefault,
}

/// A load balancer's attributes after the call, as far as the record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    pub load_balancer: String,
    pub lb_type: Option<LbType>,
    /// `CreateLoadBalancer` sets no attribute: every one is AWS's default.
    pub at_creation: bool,
    /// key → value as the record says (response over request).
    pub values: BTreeMap<String, String>,
}

impl Attributes {
    /// The value of `key` and where it comes from; `None` when the record
    /// does not say and the call left it unchanged (unknown).
    pub fn value(&self, key: &str) -> Option<(&str, Said)> {
        if let Some(v) = self.values.get(key) {
            return Some((v.as_str(), Said::Record));
        }
        if self.at_creation {
            return attribute_default(key).map(|v| (v, Said::AwsDefault));
        }
        None
    }

    /// `true`/`false` of a boolean attribute: `None` when unknown, an
    /// error-free `Some(value)` otherwise (a value other than true/false is
    /// kept as not true).
    pub fn enabled(&self, key: &str) -> Option<(bool, Said)> {
        self.value(key)
            .map(|(v, said)| (v.trim().eq_ignore_ascii_case("true"), said))
    }
}

/// A target group after the call, as far as the record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    pub created: bool,
    pub arn: Option<String>,
    pub name: String,
    /// `None` for a Lambda target group, or a modification's record that
    /// does not say.
    pub protocol: Option<String>,
    pub port: Option<i64>,
    /// `instance`, `ip`, `lambda`, `alb`.
    pub target_type: Option<String>,
    pub health_check_protocol: Option<String>,
    /// The creation named no health-check protocol: AWS's default applies
    /// (HTTP for an HTTP/HTTPS group, TCP otherwise).
    pub health_check_defaulted: bool,
    /// `healthCheckEnabled`; a Lambda group's are off unless enabled.
    pub health_check_enabled: Option<bool>,
    pub vpc_id: Option<String>,
}

impl TargetGroup {
    pub fn label(&self) -> String {
        self.arn
            .as_deref()
            .map_or_else(|| self.name.clone(), |a| short_arn(a).to_string())
    }

    pub fn is_lambda(&self) -> bool {
        self.target_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("lambda"))
    }
}

/// One target `RegisterTargets` adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// An instance id, an IP address, a Lambda function's or an ALB's ARN.
    pub id: String,
    pub port: Option<i64>,
    pub availability_zone: Option<String>,
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
        },
    })
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
mod tests {
    use super::*;
    use serde_json::json;

    const LB: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188";
    const LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2";

    fn read(
        name: &str,
        request: serde_json::Value,
        response: serde_json::Value,
    ) -> Result<Option<ElbChange>, FieldError> {
        let record = json!({"eventID": "e", "eventName": name,
            "eventSource": "elasticloadbalancing.amazonaws.com",
            "requestParameters": request, "responseElements": response});
        ElbChange::from_event(&Event::from_value(&record, "t").unwrap())
    }

    fn change(name: &str, request: serde_json::Value, response: serde_json::Value) -> ElbChange {
        read(name, request, response).unwrap().unwrap()
    }

    #[test]
    fn arns_name_the_kind_and_the_load_balancer() {
        assert_eq!(LbType::from_arn(LB), Some(LbType::Application));
        assert_eq!(LbType::from_arn(LISTENER), Some(LbType::Application));
        assert_eq!(
            LbType::from_arn("arn:aws:elasticloadbalancing:r:1:loadbalancer/net/n/1"),
            Some(LbType::Network)
        );
        assert_eq!(
            LbType::from_arn("arn:aws:elasticloadbalancing:r:1:targetgroup/tg/1"),
            None
        );
        assert_eq!(load_balancer_arn_of(LISTENER).as_deref(), Some(LB));
        assert_eq!(
            load_balancer_arn_of(
                "arn:aws:elasticloadbalancing:eu-west-1:1:listener-rule/net/n/1/2/3"
            )
            .as_deref(),
            Some("arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/n/1")
        );
        assert_eq!(short_arn(LB), "app/web/50dc6c495c0c9188");
    }

    #[test]
    fn a_creation_takes_aws_defaults_and_says_so() {
        let c = change(
            CREATE_LOAD_BALANCER,
            json!({"name": "web", "subnets": ["subnet-1", "subnet-2"]}),
            json!(null),
        );
        let ElbChange::LoadBalancer {
            load_balancer,
            attributes,
        } = &c
        else {
            panic!("{c:?}")
        };
        assert_eq!(load_balancer.lb_type, LbType::Application);
        assert!(load_balancer.type_defaulted && load_balancer.scheme_defaulted);
        assert_eq!(load_balancer.scheme, Scheme::InternetFacing);
        assert!(load_balancer.security_groups.is_empty());
        assert_eq!(
            attributes.value(DESYNC_MITIGATION_MODE),
            Some(("defensive", Said::AwsDefault))
        );
        assert_eq!(
            attributes.enabled(DELETION_PROTECTION),
            Some((false, Said::AwsDefault))
        );
        // The response wins where it speaks.
        let c = change(
            CREATE_LOAD_BALANCER,
            json!({"name": "nlb", "type": "network", "scheme": "internal", "securityGroups": ["sg-1"]}),
            json!({"loadBalancers": [{"loadBalancerArn": "arn:aws:elasticloadbalancing:r:1:loadbalancer/net/nlb/1",
                "type": "network", "scheme": "internet-facing", "securityGroups": ["sg-2"]}]}),
        );
        let ElbChange::LoadBalancer { load_balancer, .. } = c else {
            panic!()
        };
        assert_eq!(
            (load_balancer.scheme, load_balancer.scheme_defaulted),
            (Scheme::InternetFacing, false)
        );
        assert_eq!(load_balancer.security_groups, ["sg-2"]);
    }

    #[test]
    fn listeners_in_both_halves_of_the_record() {
        let c = change(
            CREATE_LISTENER,
            json!({"loadBalancerArn": LB, "protocol": "HTTPS", "port": 443,
                "certificates": [{"certificateArn": "arn:aws:acm:r:1:certificate/c"}],
                "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]}),
            json!(null),
        );
        let ElbChange::Listener { listener, .. } = &c else {
            panic!()
        };
        assert_eq!(listener.ssl_policy.as_deref(), Some(DEFAULT_SSL_POLICY));
        assert!(listener.ssl_policy_defaulted);
        assert_eq!(listener.lb_type, Some(LbType::Application));
        assert_eq!(listener.label(), "HTTPS:443 on app/web/50dc6c495c0c9188");
        // A modification: the response's listener is the listener after the call.
        let c = change(
            MODIFY_LISTENER,
            json!({"listenerArn": LISTENER, "port": 8080}),
            json!({"listeners": [{"listenerArn": LISTENER, "loadBalancerArn": LB, "protocol": "HTTP", "port": 8080,
                "defaultActions": [{"type": "redirect", "redirectConfig": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]}]}),
        );
        let ElbChange::Listener { listener, .. } = &c else {
            panic!()
        };
        assert!(listener.is_http());
        assert!(only_redirects_to_https(
            listener.default_actions.as_deref().unwrap()
        ));
        assert_eq!(c.load_balancer_arn().as_deref(), Some(LB));
        // Without the response, what the request leaves out is unknown.
        let c = change(
            MODIFY_LISTENER,
            json!({"listenerArn": LISTENER, "sslPolicy": "ELBSecurityPolicy-TLS-1-0-2015-04"}),
            json!(null),
        );
        let ElbChange::Listener { listener, .. } = &c else {
            panic!()
        };
        assert_eq!(
            (listener.protocol.as_ref(), listener.ssl_policy_defaulted),
            (None, false)
        );
        assert_eq!(c.load_balancer_arn().as_deref(), Some(LB));
    }

    #[test]
    fn redirects_only_count_when_they_go_to_https() {
        let act = |v: serde_json::Value| Action::from_json(&Node::root(&v, "a")).unwrap();
        let https = act(json!({"type": "redirect", "redirectConfig": {"protocol": "HTTPS"}}));
        let same = act(json!({"type": "redirect", "redirectConfig": {"protocol": "#{protocol}"}}));
        let forward = act(
            json!({"type": "forward", "forwardConfig": {"targetGroups": [{"targetGroupArn": "arn:tg", "weight": 1}]}}),
        );
        assert_eq!(forward.target_groups, ["arn:tg"]);
        assert!(only_redirects_to_https(std::slice::from_ref(&https)));
        assert!(!only_redirects_to_https(std::slice::from_ref(&same)));
        assert!(!only_redirects_to_https(&[https.clone(), forward]));
        assert!(!only_redirects_to_https(&[]));
        assert_eq!(same.describe(), "redirect to #{protocol}");
        let err = Action::from_json(&Node::root(&json!({"type": "redirect"}), "a")).unwrap_err();
        assert_eq!(err.path, "a.redirectConfig");
    }

    #[test]
    fn attributes_response_over_request_and_unknown_when_unsaid() {
        let c = change(
            MODIFY_LOAD_BALANCER_ATTRIBUTES,
            json!({"loadBalancerArn": LB, "attributes": [{"key": ACCESS_LOGS, "value": "true"}]}),
            json!({"attributes": [{"key": ACCESS_LOGS, "value": "false"}, {"key": DELETION_PROTECTION, "value": "true"}]}),
        );
        let a = c.attributes().unwrap();
        assert_eq!(a.enabled(ACCESS_LOGS), Some((false, Said::Record)));
        assert_eq!(a.enabled(DELETION_PROTECTION), Some((true, Said::Record)));
        assert_eq!(a.value(DESYNC_MITIGATION_MODE), None);
        assert_eq!(a.lb_type, Some(LbType::Application));
    }

    #[test]
    fn target_groups_and_targets() {
        let c = change(
            CREATE_TARGET_GROUP,
            json!({"name": "web", "protocol": "HTTPS", "port": 443, "vpcId": "vpc-1"}),
            json!(null),
        );
        let ElbChange::TargetGroup(tg) = &c else {
            panic!()
        };
        assert_eq!(
            (
                tg.health_check_protocol.as_deref(),
                tg.health_check_defaulted
            ),
            (Some("HTTP"), true)
        );
        let c = change(
            CREATE_TARGET_GROUP,
            json!({"name": "fn", "targetType": "lambda"}),
            json!(null),
        );
        let ElbChange::TargetGroup(tg) = &c else {
            panic!()
        };
        assert!(tg.is_lambda() && tg.health_check_protocol.is_none());
        assert_eq!(tg.health_check_enabled, Some(false));
        let c = change(
            REGISTER_TARGETS,
            json!({"targetGroupArn": "arn:aws:elasticloadbalancing:r:1:targetgroup/web/1",
                "targets": [{"id": "10.0.1.7", "port": "8080", "availabilityZone": "eu-west-1a"}]}),
            json!(null),
        );
        let ElbChange::Targets { targets, .. } = c else {
            panic!()
        };
        assert_eq!(targets[0].port, Some(8080));
    }

    #[test]
    fn errors_name_the_field() {
        for (name, request, response, path) in [
            (
                CREATE_LISTENER,
                json!({"loadBalancerArn": LB, "port": 80, "defaultActions": []}),
                json!(null),
                "requestParameters.protocol",
            ),
            (
                CREATE_LISTENER,
                json!({"loadBalancerArn": LB, "protocol": "HTTP", "port": 80}),
                json!(null),
                "requestParameters.defaultActions",
            ),
            (
                CREATE_LISTENER,
                json!({"loadBalancerArn": LB, "protocol": "HTTP", "port": "eighty", "defaultActions": []}),
                json!(null),
                "requestParameters.port",
            ),
            (
                CREATE_LOAD_BALANCER,
                json!({"name": "x", "scheme": "public"}),
                json!(null),
                "requestParameters.scheme",
            ),
            (
                CREATE_LOAD_BALANCER,
                json!({"name": "x", "securityGroups": [7]}),
                json!(null),
                "requestParameters.securityGroups[0]",
            ),
            (
                SET_SECURITY_GROUPS,
                json!({"loadBalancerArn": LB}),
                json!(null),
                "requestParameters.securityGroups",
            ),
            (
                MODIFY_LOAD_BALANCER_ATTRIBUTES,
                json!({"loadBalancerArn": LB, "attributes": [{"key": ACCESS_LOGS}]}),
                json!(null),
                "requestParameters.attributes[0].value",
            ),
            (
                MODIFY_RULE,
                json!({"actions": []}),
                json!(null),
                "requestParameters.ruleArn",
            ),
            (
                CREATE_LISTENER,
                json!({"loadBalancerArn": LB, "protocol": "HTTP", "defaultActions": []}),
                json!({"listeners": {"omitted": true}}),
                "responseElements.listeners",
            ),
            (
                REGISTER_TARGETS,
                json!({"targetGroupArn": "arn:tg", "targets": [{"port": 80}]}),
                json!(null),
                "requestParameters.targets[0].id",
            ),
        ] {
            let err = read(name, request, response).unwrap_err();
            assert_eq!(err.path, path, "{name}: {err}");
        }
    }

    #[test]
    fn other_services_and_names_are_not_read() {
        let record = json!({"eventID": "e", "eventName": CREATE_LOAD_BALANCER,
            "eventSource": "lightsail.amazonaws.com", "requestParameters": {"name": "x"}});
        assert_eq!(
            ElbChange::from_event(&Event::from_value(&record, "t").unwrap()).unwrap(),
            None
        );
        assert_eq!(
            read("DeleteLoadBalancer", json!({}), json!(null)).unwrap(),
            None
        );
    }
}
