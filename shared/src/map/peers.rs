//! Service Connect peers: every service with Service Connect on in a
//! namespace can call the ports the others expose there. Such a path is as
//! open as the caller is from the internet: open when the caller has an open
//! way in, possible when only a possible one, closed (saying so) when none.

use super::Place;
use crate::report::map::{path, Hop, HopKind, MapDocument, PathKind, PathStatus};

/// The namespace a service's Service Connect uses: its own, else its
/// cluster's default (named by the cluster, as the read does not say it).
fn namespace(place: &Place<'_>, index: usize) -> Option<(String, Vec<String>, Vec<String>)> {
    let service = place.estate.services.get(index)?;
    let connect = service.settings.service_connect.as_ref()?;
    if !connect.enabled {
        return None;
    }
    let ns = connect
        .namespace
        .clone()
        .unwrap_or_else(|| format!("the default namespace of cluster {}", service.cluster));
    Some((ns, connect.ports.clone(), connect.without_tls.clone()))
}

/// Adds to each service that exposes Service Connect ports a path from
/// each other service in its namespace.
pub(super) fn add_peers(place: &Place<'_>, docs: &mut [MapDocument]) {
    let n = place.estate.services.len().min(docs.len());
    let connect: Vec<_> = (0..n).map(|i| namespace(place, i)).collect();
    // The best status of each service's own ways in, and its summary.
    let reach: Vec<Option<(PathStatus, String)>> = docs
        .iter()
        .map(|d| {
            d.paths
                .iter()
                .filter(|p| p.kind != PathKind::ServiceConnect)
                .min_by_key(|p| p.status)
                .map(|p| (p.status, p.summary.clone()))
        })
        .collect();
    for server in 0..n {
        let Some((ns, ports, without_tls)) = &connect[server] else {
            continue;
        };
        if ports.is_empty() {
            continue;
        }
        let end = docs[server].holds.first().cloned();
        let severity = docs[server].worst_end();
        let target = docs[server].target.clone();
        for client in (0..n).filter(|c| *c != server) {
            let Some((client_ns, ..)) = &connect[client] else {
                continue;
            };
            if client_ns != ns {
                continue;
            }
            let caller = docs[client].target.id.clone();
            let mut caller_hop = Hop::new(HopKind::Peer, &caller, format!("service {caller}"))
                .console(docs[client].target.console.clone());
            let closed = match &reach[client] {
                Some((PathStatus::Closed, _)) | None => Some(format!(
                    "no way in from the internet reaches {caller}: only a caller inside the namespace gets here"
                )),
                Some((PathStatus::Possible, summary)) => {
                    caller_hop = caller_hop
                        .evidence(format!("possible way in: {summary}"))
                        .unknown(Some(format!("a way into {caller} could not be read")));
                    None
                }
                Some((PathStatus::Open, summary)) => {
                    caller_hop = caller_hop.evidence(format!("open way in: {summary}"));
                    None
                }
            };
            let tls = |p: &String| {
                if without_tls.contains(p) {
                    format!("{p} (no TLS)")
                } else {
                    format!("{p} (TLS)")
                }
            };
            let ns_hop = Hop::new(
                HopKind::Peer,
                ns.clone(),
                format!(
                    "Service Connect {}",
                    ports.iter().map(tls).collect::<Vec<_>>().join(", ")
                ),
            )
            .evidence(format!("both in namespace {ns}"));
            let service = Hop::new(
                HopKind::Service,
                &target.id,
                format!("service {}", target.id),
            )
            .console(target.console.clone());
            docs[server].push(path(
                PathKind::ServiceConnect,
                vec![
                    Hop::new(HopKind::Internet, "internet", "internet"),
                    caller_hop,
                    ns_hop,
                    service,
                ],
                closed,
                end.as_ref(),
                severity,
            ));
        }
    }
}
