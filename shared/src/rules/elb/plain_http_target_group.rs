use super::{hits, ElbContext, Verdict};
use crate::finding::{Action, Severity};
use crate::model::elb::ElbChange;
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags a target group that sends traffic (`protocol`) or health checks
    /// (`healthCheckProtocol`) to its targets over plain HTTP: at
    /// `CreateTargetGroup` (a group created without a health-check protocol
    /// gets AWS's default, HTTP for an HTTP or HTTPS group, and the finding
    /// says so) and at `ModifyTargetGroup` (the response's group, else what
    /// the request sets). Lambda target groups, and health checks turned off
    /// (`healthCheckEnabled: false`), are not judged. TCP and UDP groups pass
    /// bytes through untouched: whether they are encrypted is the service's
    /// own business, not plain HTTP by the load balancer.
    ///
    /// ## Why is this bad?
    /// Behind a load balancer that terminates TLS, requests travel on in
    /// clear to the tasks: anyone who can read the VPC's traffic (a mirrored
    /// interface, a compromised neighbour) reads them, cookies and tokens
    /// included.
    ///
    /// ## Example
    /// `CreateTargetGroup {"name": "web", "protocol": "HTTP", "port": 8080, "targetType": "ip"}`
    ///
    /// ## Fix
    /// Create the target group with `protocol: HTTPS` (the tasks serve TLS)
    /// and `healthCheckProtocol: HTTPS`.
    ///
    /// ## References
    /// Security Hub ELB.21 (health checks) and ELB.22 (target groups), AWS
    /// Config `elbv2-targetgroup-healthcheck-protocol-encrypted` and
    /// `elbv2-targetgroup-protocol-encrypted`.
    pub static PLAIN_HTTP_TARGET_GROUP = {
        id: "ELB-008",
        title: "Target group or health check over plain HTTP",
        severity: Severity::Low,
        action: Action::Notify,
        anchors: &["SH ELB.21", "SH ELB.22"],
        remediation: "Use HTTPS for the target group's protocol and health checks (the targets serve TLS).",
        check: crate::rules::Check::LoadBalancer(evaluate),
    }
}

/// Pure check over the change.
pub fn evaluate(change: &ElbChange, ctx: &ElbContext) -> Vec<Hit> {
    hits(judge(change, ctx))
}

fn is_http(protocol: Option<&str>) -> bool {
    protocol.is_some_and(|p| p.eq_ignore_ascii_case("HTTP"))
}

/// The verdicts (this rule needs no fact).
pub fn judge(change: &ElbChange, _ctx: &ElbContext) -> Vec<Verdict> {
    let ElbChange::TargetGroup(group) = change else {
        return Vec::new();
    };
    if group.is_lambda() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if is_http(group.protocol.as_deref()) {
        out.push(Verdict::Broken(format!(
            "target group {}: protocol HTTP",
            group.label()
        )));
    }
    if group.health_check_enabled != Some(false) && is_http(group.health_check_protocol.as_deref())
    {
        let how = if group.health_check_defaulted {
            " (AWS default: the request names no health-check protocol)"
        } else {
            ""
        };
        out.push(Verdict::Broken(format!(
            "target group {}: healthCheckProtocol HTTP{how}",
            group.label()
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::{CREATE_TARGET_GROUP, MODIFY_TARGET_GROUP};
    use crate::rules::elb::test_support::{change, run};
    use crate::rules::elb::ElbFacts;
    use serde_json::json;

    #[test]
    fn flags_plain_http_traffic_and_health_checks() {
        let facts = ElbFacts::default();
        let create = |request: serde_json::Value| change(CREATE_TARGET_GROUP, request, json!(null));
        assert_eq!(
            run(
                judge,
                &create(json!({"name": "web", "protocol": "HTTP", "port": 8080, "targetType": "ip"})),
                &facts
            )
            .0,
            [
                "target group web: protocol HTTP",
                "target group web: healthCheckProtocol HTTP (AWS default: the request names no health-check protocol)"
            ]
        );
        assert_eq!(
            run(
                judge,
                &create(
                    json!({"name": "web", "protocol": "HTTPS", "port": 8443, "healthCheckProtocol": "HTTPS"})
                ),
                &facts
            ),
            (vec![], vec![])
        );
        assert_eq!(
            run(
                judge,
                &create(json!({"name": "db", "protocol": "TCP", "port": 5432})),
                &facts
            ),
            (vec![], vec![])
        );
        assert_eq!(
            run(
                judge,
                &create(
                    json!({"name": "fn", "targetType": "lambda", "healthCheckEnabled": true, "healthCheckProtocol": "HTTP"})
                ),
                &facts
            ),
            (vec![], vec![])
        );
        assert_eq!(
            run(
                judge,
                &create(json!({"name": "tcp", "protocol": "TCP", "port": 80, "healthCheckProtocol": "HTTP"})),
                &facts
            )
            .0,
            ["target group tcp: healthCheckProtocol HTTP"]
        );
    }

    #[test]
    fn a_modification_judges_the_group_after_it() {
        let arn =
            "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/web/73e2d6bc24d8a067";
        let modify = change(
            MODIFY_TARGET_GROUP,
            json!({"targetGroupArn": arn, "healthCheckProtocol": "HTTP"}),
            json!({"targetGroups": [{"targetGroupArn": arn, "targetGroupName": "web", "protocol": "HTTPS",
                "healthCheckProtocol": "HTTP", "healthCheckEnabled": true, "targetType": "ip"}]}),
        );
        assert_eq!(
            run(judge, &modify, &ElbFacts::default()).0,
            ["target group web/73e2d6bc24d8a067: healthCheckProtocol HTTP"]
        );
    }
}
