use super::SvcContext;
use crate::finding::{Action, Severity};
use crate::model::svc::ServiceChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a service that joins a Service Connect namespace outside the
    /// policy's `[service] allowed_namespaces` (when the list is not empty;
    /// names and ARNs are compared as written),
    /// and Service Connect services exposed without `tls`. A configuration
    /// that names no namespace uses the cluster's default, which the record
    /// does not name: only TLS is judged then.
    ///
    /// ## Why is this bad?
    /// A namespace is a trust zone: every service in it can resolve and call
    /// every other. Joining the wrong one (another team's, another
    /// environment's) opens a path nobody reviewed; without TLS the traffic
    /// between services is plain text inside the VPC.
    ///
    /// ## Example
    /// `"serviceConnectConfiguration": {"enabled": true, "namespace": "shared-dev", "services": [{"portName": "api"}]}`
    ///
    /// ## Fix
    /// Use an allowed namespace, and give each service a `tls` block with an
    /// AWS Private CA issuer.
    ///
    /// ## References
    /// Beyond the peers (seed: namespaces); AWS Service Connect TLS.
    pub static SERVICE_CONNECT = {
        id: "ECS-SVC-007",
        title: "Service Connect namespace outside the allowed list, or without TLS",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["beyond (seed: namespaces)"],
        remediation: "Join an allowed namespace and give each Service Connect service a tls block.",
        check: crate::rules::Check::Service(evaluate),
    }
}

/// Pure check over what the call sets.
pub fn evaluate(change: &ServiceChange, ctx: &SvcContext) -> Vec<Hit> {
    let Some(connect) = &change.set_by_call().service_connect else {
        return Vec::new();
    };
    if !connect.enabled {
        return Vec::new();
    }
    let mut hits = Vec::new();
    let allowed = &ctx.policy.allowed_namespaces;
    if let Some(namespace) = &connect.namespace {
        // Exactly as written: a call names a namespace by its name or by its
        // ARN (whose last segment is its id, not its name), so an allowed
        // namespace is listed in the forms its services use.
        if !allowed.is_empty() && !allowed.iter().any(|a| a == namespace) {
            hits.push(Hit::new(format!(
                "namespace {namespace} is not in the allowed list"
            )));
        }
    }
    if !connect.without_tls.is_empty() {
        hits.push(Hit::new(format!(
            "Service Connect without TLS: {}",
            connect.without_tls.join(", ")
        )));
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ecs_svc::test_support::{change, run, run_with};
    use serde_json::json;

    #[test]
    fn flags_what_it_should() {
        let svc = |c: serde_json::Value| {
            change(
                "CreateService",
                json!({"serviceName": "web", "serviceConnectConfiguration": c}),
            )
        };
        let tls = json!({"issuerCertificateAuthority": {"awsPcaAuthorityArn": "arn:aws:acm-pca:eu-west-1:1:certificate-authority/x"}});
        let good = svc(
            json!({"enabled": true, "namespace": "payments", "services": [{"portName": "api", "tls": tls}]}),
        );
        let plain = svc(
            json!({"enabled": true, "namespace": "shared-dev", "services": [{"portName": "api"}]}),
        );
        assert!(run(evaluate, &good).is_empty());
        assert_eq!(run(evaluate, &plain), ["Service Connect without TLS: api"]);
        assert!(run(
            evaluate,
            &svc(json!({"enabled": false, "services": [{"portName": "api"}]}))
        )
        .is_empty());
        let policy =
            Policy::from_toml("[service]\nallowed_namespaces = [\"payments\"]", "t").unwrap();
        assert!(run_with(evaluate, &good, &policy, None).is_empty());
        assert_eq!(
            run_with(evaluate, &plain, &policy, None),
            [
                "namespace shared-dev is not in the allowed list",
                "Service Connect without TLS: api"
            ]
        );
        let by_arn = svc(
            json!({"enabled": true, "namespace": "arn:aws:servicediscovery:eu-west-1:1:namespace/payments",
            "services": [{"portName": "api", "tls": tls}]}),
        );
        assert_eq!(
            run_with(evaluate, &by_arn, &policy, None).len(),
            1,
            "an ARN's last segment is the namespace's id, not its name"
        );
        let both = Policy::from_toml(
            "[service]\nallowed_namespaces = [\"payments\", \"arn:aws:servicediscovery:eu-west-1:1:namespace/payments\"]",
            "t",
        )
        .unwrap();
        assert!(run_with(evaluate, &by_arn, &both, None).is_empty());
    }
}
