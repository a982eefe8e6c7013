//! The rule catalog (DESIGN §5). One file per rule, each declared with
//! [`rule!`](crate::rule) so that its documentation, metadata and check live
//! together; [`ALL`] is the one explicit registry that everything else reads
//! (`access-guard rules`, the README table, and [`check_policy`], which
//! checks a policy's rule tables against it).
//!
//! Layer: rules, pure functions of an event and the policy. May import the
//! policy and the model.

pub mod ec2_ci;
pub mod ec2_sg;
pub mod ecs_cl;
pub mod ecs_svc;
pub mod ecs_td;
pub mod elb;
pub mod iam_ecs;
pub mod net;

use crate::finding::{Action, Finding, Severity};
use crate::model::ci::InstanceChange;
use crate::model::cl::ClusterChange;
use crate::model::elb::ElbChange;
use crate::model::iam::IamChange;
use crate::model::sg::{Direction, SgChange, SgRule};
use crate::model::svc::ServiceChange;
use crate::model::td::TaskDefinition;
use crate::model::vpc::NetChange;
use crate::policy::{Policy, PolicyError, RuleSetting};
use ec2_ci::CiContext;
use ecs_cl::ClContext;
use ecs_svc::SvcContext;
use ecs_td::{Hit, TdContext};
use elb::ElbContext;
use iam_ecs::IamContext;
use net::NetContext;

/// What a rule looks at, and the pure function that judges it.
#[derive(Clone, Copy)]
pub enum Check {
    /// One ingress rule of a security-group change, in the context of its
    /// group (name, account, the prefix lists read). Returns the hit
    /// (`tcp 22 from 0.0.0.0/0`) when the rule is broken.
    SgIngress(fn(&SgRule, &ec2_sg::SgContext) -> Option<Hit>),
    /// A task definition. Returns one hit per offending container, mount, variable…
    TaskDefinition(fn(&TaskDefinition, &TdContext) -> Vec<Hit>),
    /// A CreateService/UpdateService change, with what the Lambda learned from AWS.
    Service(fn(&ServiceChange, &SvcContext) -> Vec<Hit>),
    /// A cluster, account-setting or capacity-provider change.
    Cluster(fn(&ClusterChange, &ClContext) -> Vec<Hit>),
    /// A launch, a launch template version or a metadata update, with what
    /// the Lambda learned from AWS (container instance? defaults, groups).
    Instance(fn(&InstanceChange, &CiContext) -> Vec<Hit>),
    /// An IAM policy or trust change, with what the Lambda learned from AWS.
    Iam(fn(&IamChange, &IamContext) -> Vec<Hit>),
    /// A load-balancer, listener, attribute or target-group change, with
    /// what the Lambda learned from AWS (the scheme, the listener, …).
    LoadBalancer(fn(&ElbChange, &ElbContext) -> Vec<Hit>),
    /// A VPC change to the way in (routes, network ACLs, subnets), with
    /// what the Lambda learned from AWS.
    Network(fn(&NetChange, &NetContext) -> Vec<Hit>),
}

/// A rule of the catalog.
pub struct Rule {
    /// Stable public id (`EC2-SG-003`), used by policies, alerts and filters.
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub action: Action,
    /// Matching controls elsewhere (Security Hub, CIS, Checkov, Prowler).
    pub anchors: &'static [&'static str],
    /// One sentence on how to fix it, shown in alerts.
    pub remediation: &'static str,
    /// The rule's documentation (What it does / Why is this bad? / Example / Fix / References).
    pub doc: &'static str,
    pub check: Check,
}

impl Rule {
    /// Only rules about security-group ingress may revoke.
    pub fn can_revoke(&self) -> bool {
        matches!(self.check, Check::SgIngress(_))
    }

    /// The severity and action the policy gives this rule.
    pub fn setting(&self, policy: &Policy) -> RuleSetting {
        policy.setting(
            self.id,
            RuleSetting {
                severity: self.severity,
                action: self.action,
            },
        )
    }
}

/// Declares a rule: its doc comment becomes both rustdoc and [`Rule::doc`].
#[macro_export]
macro_rules! rule {
    ($(#[doc = $doc:literal])* pub static $name:ident = { $($field:ident: $value:expr),* $(,)? }) => {
        $(#[doc = $doc])*
        pub static $name: $crate::rules::Rule = $crate::rules::Rule {
            doc: concat!($($doc, "\n"),*),
            $($field: $value),*
        };
    };
}

/// Every rule, in catalog order.
pub static ALL: &[&Rule] = &[
    &ec2_sg::all_traffic::ALL_TRAFFIC,
    &ec2_sg::wide_port_range::WIDE_PORT_RANGE,
    &ec2_sg::ssh::SSH,
    &ec2_sg::rdp::RDP,
    &ec2_sg::high_risk_port::HIGH_RISK_PORT,
    &ec2_sg::data_plane_port::DATA_PLANE_PORT,
    &ec2_sg::unauthorized_port::UNAUTHORIZED_PORT,
    &ec2_sg::udp_amplification::UDP_AMPLIFICATION,
    &ec2_sg::wide_public_cidr::WIDE_PUBLIC_CIDR,
    &ec2_sg::default_group::DEFAULT_GROUP,
    &ec2_sg::external_source::EXTERNAL_SOURCE,
    &ec2_sg::unparsed_cidr::UNPARSED_CIDR,
    &ec2_ci::imdsv1::IMDSV1,
    &ec2_ci::public_ip::PUBLIC_IP,
    &ec2_ci::ssh_key_pair::SSH_KEY_PAIR,
    &ec2_ci::hop_limit::HOP_LIMIT,
    &ec2_ci::open_security_group::OPEN_SECURITY_GROUP,
    &ecs_td::privileged::PRIVILEGED,
    &ecs_td::writable_root_filesystem::WRITABLE_ROOT_FILESYSTEM,
    &ecs_td::host_pid::HOST_PID,
    &ecs_td::host_ipc::HOST_IPC,
    &ecs_td::host_network::HOST_NETWORK,
    &ecs_td::root_user::ROOT_USER,
    &ecs_td::aws_credentials_in_env::AWS_CREDENTIALS_IN_ENV,
    &ecs_td::secret_value_in_env::SECRET_VALUE_IN_ENV,
    &ecs_td::secret_name_literal::SECRET_NAME_LITERAL,
    &ecs_td::no_log_configuration::NO_LOG_CONFIGURATION,
    &ecs_td::dangerous_capability::DANGEROUS_CAPABILITY,
    &ecs_td::host_device::HOST_DEVICE,
    &ecs_td::host_path_mount::HOST_PATH_MOUNT,
    &ecs_td::isolation_weakened::ISOLATION_WEAKENED,
    &ecs_td::untrusted_registry::UNTRUSTED_REGISTRY,
    &ecs_td::mutable_image::MUTABLE_IMAGE,
    &ecs_td::risky_port_mapping::RISKY_PORT_MAPPING,
    &ecs_td::efs_transit_encryption::EFS_TRANSIT_ENCRYPTION,
    &ecs_td::task_role_is_execution_role::TASK_ROLE_IS_EXECUTION_ROLE,
    &ecs_td::windows_container_administrator::WINDOWS_CONTAINER_ADMINISTRATOR,
    &ecs_td::task_role_admin::TASK_ROLE_ADMIN,
    &ecs_td::no_memory_limit::NO_MEMORY_LIMIT,
    &ecs_td::capabilities_not_dropped::CAPABILITIES_NOT_DROPPED,
    &ecs_td::blocking_log_mode::BLOCKING_LOG_MODE,
    &ecs_td::not_awsvpc::NOT_AWSVPC,
    &ecs_td::required_tags::REQUIRED_TAGS,
    &ecs_svc::public_ip::PUBLIC_IP,
    &ecs_svc::exec_enabled::EXEC_ENABLED,
    &ecs_svc::no_security_groups::NO_SECURITY_GROUPS,
    &ecs_svc::open_security_group::OPEN_SECURITY_GROUP,
    &ecs_svc::inherits_task_findings::INHERITS_TASK_FINDINGS,
    &ecs_svc::platform_version::PLATFORM_VERSION,
    &ecs_svc::service_connect::SERVICE_CONNECT,
    &ecs_svc::task_set_public_ip::TASK_SET_PUBLIC_IP,
    &ecs_svc::task_public_ip::TASK_PUBLIC_IP,
    &ecs_svc::task_overrides::TASK_OVERRIDES,
    &ecs_svc::service_tags_missing::SERVICE_TAGS_MISSING,
    &ecs_svc::exec_on_unprotected_cluster::EXEC_ON_UNPROTECTED_CLUSTER,
    &ecs_cl::container_insights_off::CONTAINER_INSIGHTS_OFF,
    &ecs_cl::exec_sessions_unprotected::EXEC_SESSIONS_UNPROTECTED,
    &ecs_cl::cluster_tags_missing::CLUSTER_TAGS_MISSING,
    &ecs_cl::account_insights_off::ACCOUNT_INSIGHTS_OFF,
    &ecs_cl::no_termination_protection::NO_TERMINATION_PROTECTION,
    &iam_ecs::admin_on_task_role::ADMIN_ON_TASK_ROLE,
    &iam_ecs::execute_command_everywhere::EXECUTE_COMMAND_EVERYWHERE,
    &iam_ecs::pass_role_with_launch::PASS_ROLE_WITH_LAUNCH,
    &elb::http_without_redirect::HTTP_WITHOUT_REDIRECT,
    &elb::listener_not_encrypted::LISTENER_NOT_ENCRYPTED,
    &elb::tls_policy::TLS_POLICY,
    &elb::invalid_headers_kept::INVALID_HEADERS_KEPT,
    &elb::desync_mitigation::DESYNC_MITIGATION,
    &elb::access_logs_off::ACCESS_LOGS_OFF,
    &elb::deletion_protection_off::DELETION_PROTECTION_OFF,
    &elb::plain_http_target_group::PLAIN_HTTP_TARGET_GROUP,
    &elb::nlb_without_security_groups::NLB_WITHOUT_SECURITY_GROUPS,
    &elb::unserved_open_ports::UNSERVED_OPEN_PORTS,
    &elb::load_balancer_bypassed::LOAD_BALANCER_BYPASSED,
    &net::route_to_internet::ROUTE_TO_INTERNET,
    &net::acl_admin_ports::ACL_ADMIN_PORTS,
    &net::public_ip_on_launch::PUBLIC_IP_ON_LAUNCH,
];

/// Rules that report only what no other rule reported about the same target.
const FALLBACK_RULES: [&str; 1] = [ec2_sg::unauthorized_port::UNAUTHORIZED_PORT.id];

/// The rule with this id, if the catalog has it.
pub fn find(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.id == id)
}

/// Checks the policy's `[rules."ID"]` tables against the catalog: every id
/// is a rule's, and only a rule that may revoke is set to revoke. `origin`
/// names the policy in the error, as [`Policy::from_toml`] does.
pub fn check_policy(policy: &Policy, origin: &str) -> Result<(), PolicyError> {
    let err = |key: String, problem: &str| PolicyError {
        origin: origin.to_string(),
        key,
        problem: problem.to_string(),
    };
    for (id, over) in &policy.rules {
        let key = format!("rules.\"{id}\"");
        let rule = find(id).ok_or_else(|| {
            err(
                key.clone(),
                "unknown rule id (run `access-guard rules` for the catalog)",
            )
        })?;
        if over.action == Some(Action::Revoke) && !rule.can_revoke() {
            return Err(err(
                format!("{key}.action"),
                "revoke applies only to security-group ingress rules",
            ));
        }
    }
    Ok(())
}

/// A policy for use: parsed and validated ([`Policy::from_toml`]), and its
/// rule tables checked against the catalog ([`check_policy`]). What the
/// functions and the CLI load.
pub fn policy_from_toml(text: &str, origin: &str) -> Result<Policy, PolicyError> {
    let policy = Policy::from_toml(text, origin)?;
    check_policy(&policy, origin)?;
    Ok(policy)
}

/// Evaluates every enabled ingress rule against every rule the change added.
/// Findings come most severe first.
pub fn evaluate_sg(change: &SgChange, policy: &Policy) -> Vec<Finding> {
    let ctx = ec2_sg::SgContext::of(change, policy);
    let mut findings = Vec::new();
    for rule in ALL {
        let Check::SgIngress(check) = rule.check else {
            continue;
        };
        let setting = rule.setting(policy);
        if setting.action == Action::Off {
            continue;
        }
        for (i, sg_rule) in change.rules.iter().enumerate() {
            if sg_rule.direction == Direction::Egress {
                continue;
            }
            if let Some(hit) = check(sg_rule, &ctx) {
                findings.push(Finding {
                    resource: None,
                    rule: rule.id,
                    severity: hit.exactly.unwrap_or_else(|| {
                        hit.escalate_to
                            .map_or(setting.severity, |s| s.max(setting.severity))
                    }),
                    title: rule.title,
                    detail: hit.detail,
                    remediation: rule.remediation,
                    action: setting.action,
                    target: Some(i),
                    fields: crate::finding::Fields {
                        protocol: Some(sg_rule.ip_protocol.clone()),
                        // Ports mean nothing for every protocol (`-1`).
                        from_port: sg_rule
                            .from_port
                            .filter(|_| !sg_rule.protocol.is_all_traffic()),
                        to_port: sg_rule
                            .to_port
                            .filter(|_| !sg_rule.protocol.is_all_traffic()),
                        source: Some(sg_rule.source.to_string()),
                        sg_rule_id: sg_rule.rule_id.clone(),
                        ..crate::finding::Fields::default()
                    },
                });
            }
        }
    }
    // EC2-SG-007 is the catch-all: a rule already reported as something more
    // specific is not reported again as "outside the authorized ports". Where
    // the rule sits or whom it trusts (default group, prefix list, another
    // account) says nothing about its ports: no stand-in for the catch-all.
    let specific: Vec<Option<usize>> = findings
        .iter()
        .filter(|f| !FALLBACK_RULES.contains(&f.rule) && !ec2_sg::CONTEXT_RULES.contains(&f.rule))
        .map(|f| f.target)
        .collect();
    findings.retain(|f| !FALLBACK_RULES.contains(&f.rule) || !specific.contains(&f.target));
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.rule.cmp(b.rule))
            .then(a.target.cmp(&b.target))
    });
    findings
}

/// Evaluates every enabled task-definition rule. Findings come most severe first.
pub fn evaluate_td(td: &TaskDefinition, ctx: &TdContext) -> Vec<Finding> {
    findings_from_hits(ctx.policy, |check| match check {
        Check::TaskDefinition(f) => Some(f(td, ctx)),
        _ => None,
    })
}

/// Evaluates every enabled service rule. Findings come most severe first.
/// ELB-011, a load-balancer rule, is also judged on the service's own
/// `loadBalancers`.
pub fn evaluate_svc(change: &ServiceChange, ctx: &SvcContext) -> Vec<Finding> {
    let mut findings = findings_from_hits(ctx.policy, |check| match check {
        Check::Service(f) => Some(f(change, ctx)),
        _ => None,
    });
    let bypassed = &elb::load_balancer_bypassed::LOAD_BALANCER_BYPASSED;
    findings.extend(findings_of(
        bypassed,
        ctx.policy,
        elb::load_balancer_bypassed::evaluate_service(change, ctx),
    ));
    sort(&mut findings);
    findings
}

/// Evaluates every enabled cluster rule. Findings come most severe first.
pub fn evaluate_cl(change: &ClusterChange, ctx: &ClContext) -> Vec<Finding> {
    findings_from_hits(ctx.policy, |check| match check {
        Check::Cluster(f) => Some(f(change, ctx)),
        _ => None,
    })
}

/// Evaluates every enabled network rule. Findings come most severe first.
pub fn evaluate_net(change: &NetChange, ctx: &NetContext) -> Vec<Finding> {
    findings_from_hits(ctx.policy, |check| match check {
        Check::Network(f) => Some(f(change, ctx)),
        _ => None,
    })
}

/// Evaluates every enabled instance rule. Findings come most severe first.
pub fn evaluate_ci(change: &InstanceChange, ctx: &CiContext) -> Vec<Finding> {
    findings_from_hits(ctx.policy, |check| match check {
        Check::Instance(f) => Some(f(change, ctx)),
        _ => None,
    })
}

/// Evaluates every enabled IAM rule. Findings come most severe first.
pub fn evaluate_iam(change: &IamChange, ctx: &IamContext) -> Vec<Finding> {
    findings_from_hits(ctx.policy, |check| match check {
        Check::Iam(f) => Some(f(change, ctx)),
        _ => None,
    })
}

/// Evaluates every enabled load-balancer rule. Findings come most severe first.
pub fn evaluate_elb(change: &ElbChange, ctx: &ElbContext) -> Vec<Finding> {
    findings_from_hits(ctx.policy, |check| match check {
        Check::LoadBalancer(f) => Some(f(change, ctx)),
        _ => None,
    })
}

/// What a resource's tags lack (ECS-TD-026, ECS-SVC-011, ECS-CL-003): with
/// no required keys, any tag at all; else every required key. `None` when
/// nothing is missing.
pub fn missing_tags(keys: &[String], required: &[String]) -> Option<String> {
    if required.is_empty() {
        return keys.is_empty().then(|| "no tags".to_string());
    }
    let missing: Vec<&str> = required
        .iter()
        .filter(|r| !keys.iter().any(|k| k == *r))
        .map(String::as_str)
        .collect();
    (!missing.is_empty()).then(|| format!("missing tag keys: {}", missing.join(", ")))
}

/// Runs `run` on every enabled rule it applies to and turns the hits into
/// findings with the policy's severity (raised where the hit says so).
fn findings_from_hits(policy: &Policy, run: impl Fn(Check) -> Option<Vec<Hit>>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in ALL {
        if rule.setting(policy).action == Action::Off {
            continue;
        }
        findings.extend(findings_of(
            rule,
            policy,
            run(rule.check).unwrap_or_default(),
        ));
    }
    sort(&mut findings);
    findings
}

/// Most severe first, then by rule id.
fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(b.rule)));
}

/// The findings of one rule's hits, with the policy's severity (raised
/// where the hit says so); none when the policy turns the rule off.
fn findings_of(rule: &'static Rule, policy: &Policy, hits: Vec<Hit>) -> Vec<Finding> {
    let setting = rule.setting(policy);
    if setting.action == Action::Off {
        return Vec::new();
    }
    hits.into_iter()
        .map(|mut hit| {
            if hit.fields.container.is_none() {
                hit.fields.container = crate::finding::Fields::container_of(&hit.detail);
            }
            Finding {
                resource: None,
                rule: rule.id,
                severity: hit.exactly.unwrap_or_else(|| {
                    hit.escalate_to
                        .map_or(setting.severity, |s| s.max(setting.severity))
                }),
                title: rule.title,
                detail: hit.detail,
                remediation: rule.remediation,
                action: setting.action,
                target: None,
                fields: hit.fields,
            }
        })
        .collect()
}

/// The catalog as a Markdown table (README, `access-guard rules --markdown`).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| ID | title | severity | default action | anchors |\n| --- | --- | --- | --- | --- |\n",
    );
    for rule in ALL {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            rule.id,
            rule.title,
            rule.severity,
            rule.action,
            rule.anchors.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_embedded_policy_names_only_rules_of_the_catalog() {
        check_policy(&Policy::embedded(), "(embedded)").unwrap();
    }

    #[test]
    fn a_policy_is_checked_against_the_catalog_naming_the_key() {
        let load = |text: &str| policy_from_toml(text, "test.toml").map_err(|e| e.to_string());
        assert_eq!(
            load("[rules.\"EC2-SG-03\"]\nenabled = false\n").unwrap_err(),
            "policy test.toml: rules.\"EC2-SG-03\": unknown rule id (run `access-guard rules` for the catalog)"
        );
        assert_eq!(
            load("[rules.\"ECS-TD-001\"]\naction = \"revoke\"\n").unwrap_err(),
            "policy test.toml: rules.\"ECS-TD-001\".action: revoke applies only to security-group ingress rules"
        );
        // Off, yet still asked to revoke: the request is wrong all the same.
        assert!(load("[rules.\"ECS-TD-001\"]\nenabled = false\naction = \"revoke\"\n").is_err());
        let policy =
            load("[rules.\"EC2-SG-003\"]\naction = \"revoke\"\nseverity = \"low\"\n").unwrap();
        let ssh = find("EC2-SG-003").unwrap();
        assert_eq!(
            ssh.setting(&policy),
            RuleSetting {
                severity: Severity::Low,
                action: Action::Revoke
            }
        );
        let off = load("[rules.\"ECS-TD-001\"]\nenabled = false\n").unwrap();
        assert_eq!(
            find("ECS-TD-001").unwrap().setting(&off).action,
            Action::Off
        );
    }

    #[test]
    fn ids_are_unique_and_every_rule_is_documented() {
        let mut seen = HashSet::new();
        for rule in ALL {
            assert!(seen.insert(rule.id), "duplicate id {}", rule.id);
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Fix",
                "## References",
            ] {
                assert!(rule.doc.contains(section), "{} lacks {section}", rule.id);
            }
            assert!(
                !rule.title.is_empty() && !rule.remediation.is_empty() && !rule.anchors.is_empty()
            );
        }
    }

    #[test]
    fn every_security_hub_ecs_control_and_ec2_2_has_a_rule() {
        // Security Hub's ECS controls for these resources, and the default
        // security group's (EC2.2).
        let controls = [
            "ECS.2", "ECS.3", "ECS.4", "ECS.5", "ECS.8", "ECS.9", "ECS.10", "ECS.12", "ECS.13",
            "ECS.14", "ECS.15", "ECS.16", "ECS.17", "ECS.18", "ECS.19", "ECS.20", "ECS.21",
            "EC2.2",
        ];
        for control in controls {
            let anchor = format!("SH {control}");
            assert!(
                ALL.iter().any(|r| r.anchors.contains(&anchor.as_str())),
                "no rule anchors {anchor}"
            );
        }
    }

    #[test]
    fn readme_table_is_generated_from_the_registry() {
        let readme = include_str!("../../../README.md");
        assert!(
            readme.contains(&markdown_table()),
            "README rule table is stale: run `make readme` (access-guard rules --markdown)"
        );
    }
}
