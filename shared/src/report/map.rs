//! The access map (DESIGN §15): for each ECS service and container
//! instance, every way in as a path of hops, each hop with its evidence, and
//! what an intruder holds at the end. One document per target: the JSON of
//! `access-guard scan --format map` (schema [`SCHEMA`], described in the
//! README), the text tree and the HTML report render the same documents.

use serde::Serialize;

use crate::finding::{Action, Finding, Severity};

/// The documents' schema, written into each.
pub const SCHEMA: &str = "access-guard/map/1";

/// The id the sweep records and alerts a way in under when it opens (and
/// lists as resolved when it closes). Not a rule of the catalog: a path,
/// judged by nothing but its being there.
pub const PATH_RULE: &str = "MAP-PATH";

/// What a map document is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    Service,
    Task,
    ContainerInstance,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Service => "service",
            TargetKind::Task => "task",
            TargetKind::ContainerInstance => "container instance",
        }
    }
}

/// A service (`cluster/service`), a task or a container instance (`i-…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapTarget {
    pub kind: TargetKind,
    pub id: String,
    pub arn: Option<String>,
    pub console: Option<String>,
}

/// How a path gets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathKind {
    /// From the internet straight to the task's or instance's address.
    Network,
    /// Through a load balancer's listener and target group.
    LoadBalancer,
    /// SSH, RDP or any port of a container instance.
    Host,
    /// A shell through ECS Exec.
    Exec,
    /// A Service Connect peer.
    ServiceConnect,
}

impl PathKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PathKind::Network => "network",
            PathKind::LoadBalancer => "load-balancer",
            PathKind::Host => "host",
            PathKind::Exec => "exec",
            PathKind::ServiceConnect => "service-connect",
        }
    }
}

/// Whether a path is open now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathStatus {
    /// Every hop was read and lets the traffic through.
    Open,
    /// No hop is closed and one could not be read: possible, never absent.
    Possible,
    /// A hop keeps the traffic out (why says which).
    Closed,
}

impl PathStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PathStatus::Open => "open",
            PathStatus::Possible => "possible",
            PathStatus::Closed => "closed",
        }
    }
}

/// What a hop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HopKind {
    Internet,
    InternetGateway,
    Subnet,
    PublicAddress,
    SecurityGroupRule,
    LoadBalancer,
    Listener,
    ListenerRule,
    TargetGroup,
    Service,
    Task,
    ContainerInstance,
    ContainerPort,
    Principal,
    Peer,
}

/// One hop of a path, with the ids that prove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub kind: HopKind,
    pub id: String,
    pub label: String,
    /// The facts read that make the hop pass (route, ACL entries, `sgr-…`,
    /// listener and rule ARNs), one line each.
    pub evidence: Vec<String>,
    pub console: Option<String>,
    /// Why the hop could not be read: the path is then possible.
    pub unknown: Option<String>,
}

impl Hop {
    pub fn new(kind: HopKind, id: impl Into<String>, label: impl Into<String>) -> Hop {
        Hop {
            kind,
            id: id.into(),
            label: label.into(),
            evidence: Vec::new(),
            console: None,
            unknown: None,
        }
    }

    pub fn evidence(mut self, line: impl Into<String>) -> Hop {
        self.evidence.push(line.into());
        self
    }

    pub fn console(mut self, url: Option<String>) -> Hop {
        self.console = url;
        self
    }

    pub fn unknown(mut self, why: Option<String>) -> Hop {
        self.unknown = why;
        self
    }
}

/// One way in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapPath {
    pub kind: PathKind,
    pub status: PathStatus,
    /// The worst end it reaches: the worst of the target's holds.
    pub severity: Severity,
    /// `internet → igw-… → sg-… tcp/8080 → service prod/web (task role: admin)`.
    pub summary: String,
    /// The hops alone (the summary without what the end holds): what names
    /// the way in, whatever is read of the end.
    #[serde(skip)]
    pub route: String,
    /// Closed: what keeps the traffic out; possible: what was not read.
    pub why: Option<String>,
    pub hops: Vec<Hop>,
}

/// What an intruder holds at a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HoldKind {
    /// The task role's credentials (the task's credentials endpoint).
    TaskRole,
    /// A secret the task definition pulls into the container (`valueFrom`).
    Secret,
    /// The instance role, through the instance metadata service.
    InstanceRole,
    /// The container itself: its code, data and network position.
    Container,
    /// The host: every task on the instance.
    Host,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    pub kind: HoldKind,
    pub id: String,
    pub label: String,
    pub severity: Severity,
    pub evidence: Vec<String>,
}

/// The access map of one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapDocument {
    pub schema: &'static str,
    pub account: String,
    pub region: String,
    pub target: MapTarget,
    /// The worst open or possible path's; `None` when no path is open or
    /// possible.
    pub severity: Option<Severity>,
    pub paths: Vec<MapPath>,
    pub holds: Vec<Hold>,
}

impl MapDocument {
    pub fn new(account: &str, region: &str, target: MapTarget, holds: Vec<Hold>) -> MapDocument {
        MapDocument {
            schema: SCHEMA,
            account: account.to_string(),
            region: region.to_string(),
            target,
            severity: None,
            paths: Vec::new(),
            holds,
        }
    }

    /// The worst end: the worst hold's severity (low when it holds nothing
    /// more than the container).
    pub fn worst_end(&self) -> Severity {
        self.holds
            .iter()
            .map(|h| h.severity)
            .max()
            .unwrap_or(Severity::Low)
    }

    /// Adds a path; the document's severity follows its open and possible
    /// paths. Paths stay in order: open, possible, closed, then by kind.
    pub fn push(&mut self, path: MapPath) {
        if path.status != PathStatus::Closed {
            self.severity = self.severity.max(Some(path.severity));
        }
        self.paths.push(path);
        self.paths.sort_by(|a, b| {
            a.status
                .cmp(&b.status)
                .then(b.severity.cmp(&a.severity))
                .then(a.kind.cmp(&b.kind))
                .then(a.summary.cmp(&b.summary))
        });
    }

    /// Paths by status: open, possible, closed.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |s: PathStatus| self.paths.iter().filter(|p| p.status == s).count();
        (
            n(PathStatus::Open),
            n(PathStatus::Possible),
            n(PathStatus::Closed),
        )
    }

    /// Each open or possible path as a finding about the target, under
    /// [`PATH_RULE`] (its detail `<kind>: <summary>`, see [`path_detail`];
    /// one per detail): what the sweep records, alerts when new, and
    /// resolves when it closes.
    pub fn path_findings(&self) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        for p in self.paths.iter().filter(|p| p.status != PathStatus::Closed) {
            let detail = path_detail(p);
            if out.iter().any(|f| f.detail == detail) {
                continue;
            }
            out.push(Finding {
                rule: PATH_RULE,
                severity: p.severity,
                title: "NEW PATH",
                detail,
                remediation: "Close the hop that should not be open (each hop names its id), or keep the path if this way in is meant to be.",
                action: Action::Notify,
                resource: None,
                target: None,
                fields: Default::default(),
            });
        }
        out
    }

    /// The JSON document, one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"schema":"{SCHEMA}","error":"the map could not be written: {e}"}}"#)
        })
    }
}

/// How the state table records a path: `network: internet → … (what the
/// end holds)`.
pub fn path_detail(p: &MapPath) -> String {
    format!("{}: {}", p.kind.as_str(), p.summary)
}

/// Whether a recorded path's detail ([`path_detail`]) is the way in of
/// `kind` along `route`, whatever its end was read to hold.
pub fn records_route(detail: &str, kind: PathKind, route: &str) -> bool {
    let Some(rest) = detail
        .strip_prefix(kind.as_str())
        .and_then(|r| r.strip_prefix(": "))
        .and_then(|r| r.strip_prefix(route))
    else {
        return false;
    };
    rest.is_empty() || rest.starts_with(" (")
}

/// A path's summary: its hops' labels joined by arrows, then the worst
/// hold in brackets.
pub fn summary(hops: &[Hop], end: Option<&Hold>) -> String {
    let mut text = hops
        .iter()
        .map(|h| h.label.as_str())
        .collect::<Vec<_>>()
        .join(" → ");
    if let Some(end) = end {
        text.push_str(&format!(" ({})", end.label));
    }
    text
}

/// Builds a path from its hops: open when no hop is unknown and `closed` is
/// `None`; closed (why) when it is `Some`; otherwise possible, naming the
/// unread hops.
pub fn path(
    kind: PathKind,
    hops: Vec<Hop>,
    closed: Option<String>,
    end: Option<&Hold>,
    severity: Severity,
) -> MapPath {
    let unknown: Vec<String> = hops.iter().filter_map(|h| h.unknown.clone()).collect();
    let (status, why) = match closed {
        Some(why) => (PathStatus::Closed, Some(why)),
        None if unknown.is_empty() => (PathStatus::Open, None),
        None => (PathStatus::Possible, Some(unknown.join("; "))),
    };
    MapPath {
        kind,
        status,
        severity,
        summary: summary(&hops, end),
        route: summary(&hops, None),
        why,
        hops,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(severity: Severity) -> Hold {
        Hold {
            kind: HoldKind::TaskRole,
            id: "arn:aws:iam::111122223333:role/app".into(),
            label: "task role app: admin".into(),
            severity,
            evidence: Vec::new(),
        }
    }

    fn target() -> MapTarget {
        MapTarget {
            kind: TargetKind::Service,
            id: "prod/web".into(),
            arn: None,
            console: None,
        }
    }

    #[test]
    fn a_recorded_path_is_known_by_its_kind_and_route_whatever_its_end() {
        let route = "internet → igw-1 → sg-1 tcp 80 from 0.0.0.0/0 → service prod/web";
        let detail = format!("network: {route} (task role app: admin-level or wildcard)");
        assert!(records_route(&detail, PathKind::Network, route));
        assert!(records_route(
            &format!("network: {route}"),
            PathKind::Network,
            route
        ));
        assert!(!records_route(&detail, PathKind::LoadBalancer, route));
        // A longer route that begins with this one is another way in.
        assert!(!records_route(
            &format!("network: {route} → more"),
            PathKind::Network,
            route
        ));
        assert!(!records_route(
            &detail,
            PathKind::Network,
            "internet → igw-2"
        ));
    }

    #[test]
    fn a_path_is_open_possible_or_closed_and_the_document_takes_the_worst_open_one() {
        let end = hold(Severity::Critical);
        let internet = Hop::new(HopKind::Internet, "internet", "internet");
        let service = Hop::new(HopKind::Service, "prod/web", "service prod/web");
        let unread = Hop::new(HopKind::SecurityGroupRule, "sg-1", "sg-1")
            .unknown(Some("the rules of sg-1: not read".into()));
        let mut doc = MapDocument::new("1", "eu-west-1", target(), vec![end.clone()]);
        assert_eq!(doc.worst_end(), Severity::Critical);
        doc.push(path(
            PathKind::Network,
            vec![internet.clone(), service.clone()],
            Some("subnet-1 has no route to an internet gateway".into()),
            Some(&end),
            Severity::Critical,
        ));
        assert_eq!(doc.severity, None, "a closed path opens nothing");
        doc.push(path(
            PathKind::Network,
            vec![internet.clone(), unread, service.clone()],
            None,
            Some(&end),
            Severity::Critical,
        ));
        assert_eq!(doc.paths[0].status, PathStatus::Possible);
        assert_eq!(
            doc.paths[0].why.as_deref(),
            Some("the rules of sg-1: not read")
        );
        assert_eq!(doc.severity, Some(Severity::Critical));
        doc.push(path(
            PathKind::LoadBalancer,
            vec![internet, service],
            None,
            Some(&end),
            Severity::Critical,
        ));
        assert_eq!(
            doc.paths
                .iter()
                .map(|p| p.status.as_str())
                .collect::<Vec<_>>(),
            ["open", "possible", "closed"]
        );
        assert_eq!(
            doc.paths[0].summary,
            "internet → service prod/web (task role app: admin)"
        );
        assert_eq!(doc.counts(), (1, 1, 1));
        let json = doc.to_json();
        assert!(
            json.starts_with(r#"{"schema":"access-guard/map/1","account":"1""#),
            "{json}"
        );
        assert!(
            json.contains(r#""kind":"load-balancer","status":"open","severity":"critical""#),
            "{json}"
        );
    }
}
