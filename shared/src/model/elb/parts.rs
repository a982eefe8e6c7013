//! The parts of a load-balancer change: kinds and schemes, actions and
//! redirects, load balancers, listeners and their rules, attributes, target
//! groups and targets, and how their ARNs read.

use std::collections::BTreeMap;

use super::attribute_default;
use crate::model::json::{FieldError, Node};

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
    pub(super) fn from_json(node: &Node<'_>) -> Result<Action, FieldError> {
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
    /// The subnets its nodes sit in (one per zone); empty when not known.
    pub subnets: Vec<String>,
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

    /// True when the listener may have rules besides its default one (an
    /// application load balancer's HTTP and HTTPS listeners).
    pub fn has_rules(&self) -> bool {
        self.protocol
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("HTTP") || p.eq_ignore_ascii_case("HTTPS"))
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
