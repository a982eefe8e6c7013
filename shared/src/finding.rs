//! Severities, actions and the findings rules produce.
//!
//! Layer: model (with `model` and `secrets`). Imports nothing of
//! the crate outside its layer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::reach::Reachability;

/// `info < low < medium < high < critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// One level up (`medium` → `high`); `critical` stays.
    pub fn raised(self) -> Severity {
        match self {
            Severity::Info => Severity::Low,
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            Severity::High | Severity::Critical => Severity::Critical,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown severity {s:?}, expected one of info, low, medium, high, critical")
            })
    }
}

/// What the guard does about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Revoke the offending ingress rule (ingress-guard only), and notify.
    Revoke,
    /// Notify only.
    Notify,
    /// The rule does not run.
    Off,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Revoke => "revoke",
            Action::Notify => "notify",
            Action::Off => "off",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about, field by field, for machines (a SIEM filters on
/// these without parsing `detail`). Only what the rule knows is set; a
/// value is never a secret (`value` is the redacted form `detail` shows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Fields {
    /// The security-group rule's protocol as written (`tcp`, `6`, `-1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i64>,
    /// The source: a CIDR, `prefix list pl-…`, `group sg-…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The security-group rule id (`sgr-…`), when the record names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sg_rule_id: Option<String>,
    /// The container of a task definition the finding is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The environment variable (its name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// The variable's value, redacted (`AKIA…(20 chars)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The network path from the internet to what the finding exposes, one
    /// subnet and port each (DESIGN §4, §14): read by the Lambda, never offline.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reachability: Vec<PathLine>,
}

/// Whether the internet reaches one port (or, with none named, the
/// interface at all) in one subnet, as far as the address, the route and
/// the network ACL go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathLine {
    /// The subnet; `None` when the record does not name it.
    pub subnet: Option<String>,
    /// What was asked: `tcp/22`; `None` when no port is known.
    pub port: Option<String>,
    #[serde(flatten)]
    pub reach: Reachability,
    /// The line the alert shows.
    pub line: String,
}

impl PathLine {
    pub fn new(subnet: Option<&str>, port: Option<String>, reach: Reachability) -> PathLine {
        let about: Vec<&str> = subnet.into_iter().chain(port.as_deref()).collect();
        let line = if about.is_empty() {
            reach.line()
        } else {
            format!("{}: {}", about.join(" "), reach.line())
        };
        PathLine {
            subnet: subnet.map(str::to_string),
            port,
            reach,
            line,
        }
    }

    /// True when the internet reaches it.
    pub fn is_reachable(&self) -> bool {
        matches!(self.reach, Reachability::Reachable { .. })
    }
}

impl Fields {
    /// The container a task-definition detail names by the rules' convention
    /// (`container <name>: …`; ECS container names hold no `:` or space).
    pub fn container_of(detail: &str) -> Option<String> {
        let rest = detail.strip_prefix("container ")?;
        let (name, _) = rest.split_once(':')?;
        (!name.is_empty() && !name.contains(' ')).then(|| name.to_string())
    }
}

/// One rule broken by one part of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// What exactly broke the rule (`tcp 22 from 0.0.0.0/0`); never a secret value.
    pub detail: String,
    pub remediation: &'static str,
    /// The action the policy gives this rule.
    #[serde(skip)]
    pub action: Action,
    /// The resource it is about, when the verdict covers several (a sweep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Which security-group rule of the event (index into the change's rules) this is about.
    #[serde(skip)]
    pub target: Option<usize>,
    /// The same, field by field.
    #[serde(flatten)]
    pub fields: Fields,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order_and_names() {
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn raised_is_one_level_up_and_critical_stays() {
        let raised: Vec<Severity> = Severity::ALL.iter().map(|s| s.raised()).collect();
        assert_eq!(
            raised,
            [
                Severity::Low,
                Severity::Medium,
                Severity::High,
                Severity::Critical,
                Severity::Critical
            ]
        );
    }

    #[test]
    fn a_path_line_names_its_subnet_and_port_and_serializes_its_facts() {
        let path = PathLine::new(
            Some("subnet-1"),
            Some("tcp/22".into()),
            Reachability::NotReachable {
                why: "subnet-1 has no route to an internet gateway (route table rtb-1)".into(),
            },
        );
        assert_eq!(
            path.line,
            "subnet-1 tcp/22: not reachable now: subnet-1 has no route to an internet gateway (route table rtb-1)"
        );
        assert!(!path.is_reachable());
        assert_eq!(
            serde_json::to_value(&path).unwrap(),
            serde_json::json!({"subnet": "subnet-1", "port": "tcp/22", "reach": "not_reachable",
                "why": "subnet-1 has no route to an internet gateway (route table rtb-1)",
                "line": path.line})
        );
        let bare = PathLine::new(None, None, Reachability::Unknown { why: "x".into() });
        assert_eq!(bare.line, "unknown: x");
        // None: the finding's JSON is as it was.
        let json = serde_json::to_value(Fields::default()).unwrap();
        assert_eq!(json, serde_json::json!({}));
    }

    #[test]
    fn the_container_is_read_from_the_rules_convention_only() {
        assert_eq!(
            Fields::container_of("container web: privileged: true").as_deref(),
            Some("web")
        );
        assert_eq!(Fields::container_of("task role app: admin"), None);
        assert_eq!(Fields::container_of("container : x"), None);
        assert_eq!(Fields::container_of("container a b: x"), None);
    }
}
