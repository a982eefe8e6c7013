use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags port mappings that publish SSH or RDP (22, 3389), a static host port
    /// below 1024 in `host` or `bridge` network mode, or a `containerPortRange` of
    /// 1000 ports or more.
    ///
    /// ## Why is this bad?
    /// A mapping is a hole in the instance: SSH and RDP inside a container are
    /// admin access paths; low static host ports collide and bypass the load
    /// balancer; a port range opens far more than the application serves.
    ///
    /// ## Example
    /// `{"containerPort": 22, "hostPort": 22}`; `{"containerPortRange":
    /// "10000-20000"}`.
    ///
    /// ## Fix
    /// Remove admin ports; use `hostPort: 0` (dynamic) in bridge mode, or awsvpc.
    ///
    /// ## References
    /// Beyond the peers (are all ports open?).
    pub static RISKY_PORT_MAPPING = {
        id: "ECS-TD-017",
        title: "Risky port mapping (host port 22/3389, static host port < 1024 in host/bridge mode, ≥ 1000-port range)",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["beyond (seed)"],
        remediation: "Map only the application port; use dynamic host ports behind a load balancer.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    let mode = td.network_mode();
    let static_mode = mode == "host" || mode == "bridge";
    let mut hits = Vec::new();
    for c in &td.containers {
        for p in &c.port_mappings {
            // In host mode the host port is the container port.
            let host = p.host_port.filter(|&h| h > 0).or(if mode == "host" {
                p.container_port
            } else {
                None
            });
            let exposed = [p.container_port, host];
            if let Some(port) = exposed
                .iter()
                .flatten()
                .find(|&&port| port == 22 || port == 3389)
            {
                hits.push(Hit::new(format!(
                    "container {}: maps admin port {port}",
                    c.name
                )));
            } else if let Some(h) = host.filter(|&h| static_mode && h < 1024) {
                hits.push(Hit::new(format!(
                    "container {}: static host port {h} in {mode} mode",
                    c.name
                )));
            }
            if let Some(range) = p.container_port_range.as_deref() {
                if let Some((from, to)) = range.split_once('-') {
                    let (from, to) = (
                        from.trim().parse::<i64>().unwrap_or(0),
                        to.trim().parse::<i64>().unwrap_or(0),
                    );
                    if to - from + 1 >= 1000 {
                        hits.push(Hit::new(format!(
                            "container {}: containerPortRange {range} ({} ports)",
                            c.name,
                            to - from + 1
                        )));
                    }
                }
            }
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::td::PortMapping;
    use crate::rules::ecs_td::test_support::{container, run, task};

    #[test]
    fn flags_what_it_should() {
        let mapping = |c: i64, h: Option<i64>| PortMapping {
            container_port: Some(c),
            host_port: h,
            container_port_range: None,
            protocol: None,
        };
        let mut c = container("app");
        c.port_mappings = vec![mapping(8080, Some(8080)), mapping(22, None)];
        let mut td = task(vec![c.clone()]);
        assert_eq!(run(evaluate, &td), ["container app: maps admin port 22"]);
        c.port_mappings = vec![mapping(80, Some(80)), mapping(8080, Some(0))];
        td.containers = vec![c.clone()];
        assert!(
            run(evaluate, &td).is_empty(),
            "awsvpc has no static host ports"
        );
        td.network_mode = Some("bridge".into());
        assert_eq!(
            run(evaluate, &td),
            ["container app: static host port 80 in bridge mode"]
        );
        c.port_mappings = vec![PortMapping {
            container_port: None,
            host_port: None,
            container_port_range: Some("10000-10999".into()),
            protocol: None,
        }];
        td.containers = vec![c];
        assert_eq!(
            run(evaluate, &td),
            ["container app: containerPortRange 10000-10999 (1000 ports)"]
        );
    }
}
