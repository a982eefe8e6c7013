//! The network guard's load-balancer half (DESIGN §14): the ELBv2 calls ▶
//! the ELB rules ▶ one report. Notify only. Most records name the load
//! balancer only by ARN: what a rule needs beyond the record (the scheme,
//! the listener, the groups' rules) is a fact the Lambda reads; offline,
//! every rule that could not be judged is named in the report's notes.

use tracing::warn;

use crate::guards::{failed_call, preflight, report_and_notify, GuardError, GuardSettings};
use crate::model::elb::{self, ElbChange};
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::model::sg::{Direction, SgRule};
use crate::policy::Policy;
use crate::ports::{AwsError, LoadBalancers, Notifier, SecurityGroups, Vpcs};
use crate::report::Report;
use crate::rules::elb::{OpenIngress, TargetReach};
use crate::rules::{self, elb::ElbContext, elb::ElbFacts};

/// (service, event name) of every call this guard judges.
pub const CALLS: &[(&str, &str)] = &[
    (elb::SERVICE, elb::CREATE_LOAD_BALANCER),
    (elb::SERVICE, elb::SET_SECURITY_GROUPS),
    (elb::SERVICE, elb::CREATE_LISTENER),
    (elb::SERVICE, elb::MODIFY_LISTENER),
    (elb::SERVICE, elb::CREATE_RULE),
    (elb::SERVICE, elb::MODIFY_RULE),
    (elb::SERVICE, elb::MODIFY_LOAD_BALANCER_ATTRIBUTES),
    (elb::SERVICE, elb::CREATE_TARGET_GROUP),
    (elb::SERVICE, elb::MODIFY_TARGET_GROUP),
    (elb::SERVICE, elb::REGISTER_TARGETS),
];

/// The report on one change judged with `facts`: its findings, and a note
/// per rule that could not be judged for want of a fact.
pub fn report_for(event: &Event, change: &ElbChange, policy: &Policy, facts: &ElbFacts) -> Report {
    let ctx = ElbContext { policy, facts };
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    report.findings = rules::evaluate_elb(change, &ctx);
    report.notes.extend(rules::elb::needs_aws(change, &ctx));
    report
}

/// The offline verdict (CLI): only what the event shows.
pub fn evaluate_offline(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    if let Some(reason) = failed_call(event, &[]) {
        return Ok(Report::skipped(event, reason));
    }
    let Some(change) = ElbChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    Ok(report_for(event, &change, policy, &ElbFacts::default()))
}

/// The listener a listener rule belongs to, from the rule's ARN
/// (`…:listener-rule/app/web/<lb>/<listener>/<rule>`).
fn listener_of_rule(rule_arn: &str) -> Option<String> {
    let (head, path) = rule_arn.rsplit_once(':')?;
    let rest = path.strip_prefix("listener-rule/")?;
    let (listener, _rule) = rest.rsplit_once('/')?;
    Some(format!("{head}:listener/{listener}"))
}

/// Says a failed read in `unread`; a failure that may pass on a retry is
/// an error instead (Lambda retries).
fn noted(unread: &mut Vec<String>, e: AwsError, what: String) -> Result<(), AwsError> {
    if e.retryable {
        return Err(e);
    }
    warn!(what = %what, error = %e, "could not check");
    unread.push(format!("{what}: {}", e.code_or_kind()));
    Ok(())
}

/// A group rule that admits the internet, as ELB-010 and ELB-011 read it.
fn open_to_internet(rule: &SgRule, policy: &Policy) -> bool {
    rule.direction != Direction::Egress && rule.source.is_internet_wide(policy.wide)
}

/// The rules of a load balancer's group that admit the internet, as
/// ELB-010 reads them (the event path and the sweep alike).
pub fn open_ingress(group: &str, rules: &[SgRule], policy: &Policy) -> Vec<OpenIngress> {
    rules
        .iter()
        .filter(|r| open_to_internet(r, policy))
        .map(|r| OpenIngress {
            group: group.to_string(),
            protocol: r.ip_protocol.clone(),
            from_port: r.from_port.unwrap_or(-1),
            to_port: r.to_port.unwrap_or(-1),
            source: r.source.to_string(),
        })
        .collect()
}

/// The rules of a target's group that admit the internet on the port it
/// serves (every rule that admits it, when the port is not known), as
/// ELB-011 names them: `sg-…: tcp 8080 from 0.0.0.0/0`.
pub fn open_on_port(
    group: &str,
    rules: &[SgRule],
    port: Option<i64>,
    policy: &Policy,
) -> Vec<String> {
    rules
        .iter()
        .filter(|r| open_to_internet(r, policy))
        .filter(|r| match port {
            Some(port) => u16::try_from(port)
                .map(|p| r.protocol.carries_ports() && r.ports().contains(p))
                .unwrap_or(false),
            None => true,
        })
        .map(|r| format!("{group}: {r}"))
        .collect()
}

/// The load-balancer half of the network guard, with its ports.
pub struct ElbGuard<'a> {
    pub load_balancers: &'a dyn LoadBalancers,
    pub vpcs: &'a dyn Vpcs,
    pub groups: &'a dyn SecurityGroups,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl ElbGuard<'_> {
    pub async fn handle(&self, event: &Event) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(skipped) = preflight(event, self.settings, &[]) {
            return Ok(skipped);
        }
        let Some(change) = ElbChange::from_event(event).map_err(GuardError::parse(event))? else {
            return Ok(Report::not_handled(event));
        };
        let mut unread = Vec::new();
        let facts = self.read(&change, &mut unread).await.map_err(aws)?;
        let ctx = ElbContext {
            policy: self.policy,
            facts: &facts,
        };
        let mut report = Report::for_event(event);
        report.resource = Some(change.resource());
        report.findings = rules::evaluate_elb(&change, &ctx);
        // What is still unknown after the reads could not be checked: said,
        // never taken for a pass.
        unread.extend(rules::elb::needs_aws(&change, &ctx));
        if !unread.is_empty() {
            report.unevaluated = Some(format!("could not check {}", unread.join("; ")));
        }
        report_and_notify(event, report, self.policy, self.settings, self.notifier).await
    }

    /// Reads what the record leaves out, for what the rules need of this
    /// change. A failure that may pass on a retry is an error; any other is
    /// said in `unread` and leaves its fact unknown.
    async fn read(
        &self,
        change: &ElbChange,
        unread: &mut Vec<String>,
    ) -> Result<ElbFacts, AwsError> {
        let mut facts = ElbFacts::default();
        let policy = self.policy;
        if rules::elb::needs_aws(
            change,
            &ElbContext {
                policy,
                facts: &facts,
            },
        )
        .is_empty()
        {
            return Ok(facts);
        }
        let lb_arn = change.load_balancer_arn();
        let mut load_balancer = None;
        if let Some(arn) = &lb_arn {
            match self.load_balancers.load_balancer(arn).await {
                Ok(Some(lb)) => {
                    facts.scheme = Some(lb.scheme);
                    facts.lb_type = Some(lb.lb_type);
                    load_balancer = Some(lb);
                }
                Ok(None) => noted(
                    unread,
                    AwsError {
                        operation: "DescribeLoadBalancers",
                        code: Some("LoadBalancerNotFound".to_string()),
                        message: format!("{arn} is not found"),
                        retryable: false,
                    },
                    format!("load balancer {}", elb::short_arn(arn)),
                )?,
                Err(e) => noted(unread, e, format!("load balancer {}", elb::short_arn(arn)))?,
            }
        }
        let listener_arn = match change {
            ElbChange::Listener { listener, .. }
                if listener.protocol.is_none() || listener.default_actions.is_none() =>
            {
                listener.arn.clone()
            }
            ElbChange::Rule { rule, .. } => rule
                .listener
                .clone()
                .or_else(|| rule.arn.as_deref().and_then(listener_of_rule)),
            _ => None,
        };
        if let Some(arn) = listener_arn {
            match self.load_balancers.listener(&arn).await {
                Ok(Some(l)) => {
                    facts.listener_protocol = Some(l.protocol);
                    facts.default_actions = Some(l.default_actions);
                }
                Ok(None) => unread.push(format!("listener {}: not found", elb::short_arn(&arn))),
                Err(e) => noted(unread, e, format!("listener {}", elb::short_arn(&arn)))?,
            }
        }
        if let (ElbChange::Attributes(_), Some(arn)) = (change, &lb_arn) {
            match self.load_balancers.attributes(arn).await {
                Ok(read) => facts.attributes = Some(read),
                Err(e) => noted(
                    unread,
                    e,
                    format!("the attributes of {}", elb::short_arn(arn)),
                )?,
            }
        }
        let groups_matter = matches!(change, ElbChange::SecurityGroups { .. })
            || matches!(change, ElbChange::Listener { listener, .. } if listener.moves);
        if let (true, Some(arn)) = (groups_matter, &lb_arn) {
            match self.load_balancers.listeners(arn).await {
                Ok(read) => {
                    facts.listeners = Some(read.into_iter().map(|l| (l.protocol, l.port)).collect())
                }
                Err(e) => noted(
                    unread,
                    e,
                    format!("the listeners of {}", elb::short_arn(arn)),
                )?,
            }
            let groups = match change {
                ElbChange::SecurityGroups { groups, .. } => Some(groups.clone()),
                _ => load_balancer.as_ref().map(|lb| lb.security_groups.clone()),
            };
            if let Some(groups) = groups {
                let mut open = Vec::new();
                let mut complete = true;
                for group in groups {
                    match self.groups.rules_of_group(&group).await {
                        Ok(rules) => open.extend(open_ingress(&group, &rules, policy)),
                        Err(e) => {
                            complete = false;
                            noted(unread, e, format!("the rules of {group}"))?;
                        }
                    }
                }
                if complete {
                    facts.open_ingress = Some(open);
                }
            }
        }
        if let ElbChange::Targets {
            target_group,
            targets,
        } = change
        {
            let vpc = match self.load_balancers.target_group_vpc(target_group).await {
                Ok(Some(vpc)) => Some(vpc),
                Ok(None) => {
                    unread.push(format!(
                        "target group {}: not found",
                        elb::short_arn(target_group)
                    ));
                    None
                }
                Err(e) => {
                    noted(
                        unread,
                        e,
                        format!("target group {}", elb::short_arn(target_group)),
                    )?;
                    None
                }
            };
            if let Some(vpc) = vpc {
                let mut reaches = Vec::new();
                for target in targets {
                    reaches.push(self.target_reach(&vpc, target).await?);
                }
                facts.targets = Some(reaches);
            }
        }
        Ok(facts)
    }

    /// A registered target's own way in: its public address and the rules
    /// of its groups that admit the internet on the port it serves.
    async fn target_reach(&self, vpc: &str, target: &elb::Target) -> Result<TargetReach, AwsError> {
        let interfaces = match self.vpcs.target_interfaces(vpc, &target.id).await {
            Ok(found) => found,
            Err(e) if e.retryable => return Err(e),
            Err(e) => {
                let why = format!("{}: {}", e.operation, e.code_or_kind());
                return Ok(TargetReach {
                    target: target.id.clone(),
                    public_address: Err(why.clone()),
                    open_rules: Err(why),
                });
            }
        };
        let public_address = Ok(interfaces.iter().find_map(|i| i.public_ip.clone()));
        let mut open_rules = Ok(Vec::new());
        let mut groups: Vec<&String> = interfaces.iter().flat_map(|i| i.groups.iter()).collect();
        groups.sort();
        groups.dedup();
        for group in groups {
            match self.groups.rules_of_group(group).await {
                Ok(rules) => {
                    if let Ok(open) = &mut open_rules {
                        open.extend(open_on_port(group, &rules, target.port, self.policy));
                    }
                }
                Err(e) if e.retryable => return Err(e),
                Err(e) => open_rules = Err(format!("the rules of {group}: {}", e.code_or_kind())),
            }
        }
        Ok(TargetReach {
            target: target.id.clone(),
            public_address,
            open_rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::elb::Scheme;
    use crate::model::stream::read_document;

    fn events_dir() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
    }

    fn sample(name: &str) -> Event {
        let bytes = std::fs::read(events_dir().join(name)).unwrap();
        let mut events = read_document(&bytes, name);
        assert_eq!(events.len(), 1, "{name}");
        events.remove(0).unwrap()
    }

    fn rules_of(report: &Report) -> Vec<&str> {
        let mut rules: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }

    /// The notes' rule ids (`ELB-001 needs AWS: …` → `ELB-001`).
    fn needs(report: &Report) -> Vec<&str> {
        report
            .notes
            .iter()
            .filter_map(|n| n.split_once(" needs AWS: ").map(|(id, _)| id))
            .collect()
    }

    #[test]
    fn every_sample_gives_exactly_its_rules() {
        let policy = Policy::embedded();
        // (file, findings offline, rules that need AWS offline)
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "elb-create-alb-defaults.json",
                &["ELB-004", "ELB-006", "ELB-007"],
                &[],
            ),
            (
                "elb-create-nlb-internet-facing-no-security-groups.json",
                &["ELB-007", "ELB-009"],
                &[],
            ),
            (
                "elb-create-nlb-with-security-groups.json",
                &["ELB-007"],
                &[],
            ),
            ("elb-create-listener-http-forward.json", &[], &["ELB-001"]),
            ("elb-create-listener-http-redirect-to-https.json", &[], &[]),
            (
                "elb-create-listener-https-default-policy.json",
                &["ELB-003"],
                &[],
            ),
            (
                "elb-create-listener-https-recommended-policy.json",
                &[],
                &[],
            ),
            ("elb-create-listener-nlb-tcp.json", &[], &["ELB-002"]),
            ("elb-modify-listener-old-tls-policy.json", &["ELB-003"], &[]),
            ("elb-create-rule-forward.json", &[], &["ELB-001"]),
            // A rule that only redirects to HTTPS serves nothing in clear.
            ("elb-modify-rule-redirect-to-https.json", &[], &[]),
            (
                "elb-modify-attributes-insecure.json",
                &["ELB-004", "ELB-005", "ELB-006", "ELB-007"],
                &[],
            ),
            ("elb-modify-attributes-secure.json", &[], &[]),
            ("elb-create-target-group-http.json", &["ELB-008"], &[]),
            ("elb-create-target-group-https.json", &[], &[]),
            (
                "elb-modify-target-group-http-health-check.json",
                &["ELB-008"],
                &[],
            ),
            ("elb-set-security-groups-alb.json", &[], &["ELB-010"]),
            ("elb-register-targets.json", &[], &["ELB-011"]),
        ];
        for (name, expected, unknown) in cases {
            let report = evaluate_offline(&sample(name), &policy).unwrap();
            assert!(!report.is_not_handled(), "{name}");
            assert_eq!(rules_of(&report), *expected, "{name}: {report:?}");
            assert_eq!(needs(&report), *unknown, "{name}: {:?}", report.notes);
        }
    }

    #[test]
    fn every_elb_sample_is_listed_above() {
        let source = include_str!("elb.rs");
        for entry in std::fs::read_dir(events_dir()).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.starts_with("elb-") {
                assert!(
                    source.contains(&format!("\"{name}\"")),
                    "{name} has no expectation"
                );
            }
        }
    }

    #[test]
    fn facts_turn_unknowns_into_verdicts() {
        let policy = Policy::embedded();
        let event = sample("elb-create-listener-http-forward.json");
        let change = ElbChange::from_event(&event).unwrap().unwrap();
        let facing = ElbFacts {
            scheme: Some(Scheme::InternetFacing),
            ..ElbFacts::default()
        };
        let report = report_for(&event, &change, &policy, &facing);
        assert_eq!(rules_of(&report), ["ELB-001"]);
        assert!(report.notes.is_empty(), "{:?}", report.notes);
        let internal = ElbFacts {
            scheme: Some(Scheme::Internal),
            ..ElbFacts::default()
        };
        let report = report_for(&event, &change, &policy, &internal);
        assert!(report.findings.is_empty() && report.notes.is_empty());
    }

    #[test]
    fn failed_calls_other_services_and_other_names() {
        let policy = Policy::embedded();
        let mut failed = sample("elb-create-nlb-internet-facing-no-security-groups.json");
        failed.error_code = Some("AccessDenied".into());
        assert_eq!(
            evaluate_offline(&failed, &policy)
                .unwrap()
                .skipped
                .as_deref(),
            Some("failed call: AccessDenied")
        );
        let mut other = sample("elb-create-nlb-internet-facing-no-security-groups.json");
        other.source = "lightsail.amazonaws.com".into();
        assert!(evaluate_offline(&other, &policy).unwrap().is_not_handled());
        let mut delete = sample("elb-create-nlb-internet-facing-no-security-groups.json");
        delete.name = "DeleteLoadBalancer".into();
        assert!(evaluate_offline(&delete, &policy).unwrap().is_not_handled());
    }

    #[test]
    fn a_malformed_record_is_an_error_naming_the_field() {
        let mut event = sample("elb-create-listener-http-forward.json");
        event.request["protocol"] = serde_json::json!(80);
        event.response = serde_json::Value::Null;
        let err = evaluate_offline(&event, &Policy::embedded()).unwrap_err();
        assert_eq!(err.path, "requestParameters.protocol");
    }

    #[test]
    fn calls_cover_every_event_name() {
        let names: Vec<&str> = CALLS.iter().map(|(_, n)| *n).collect();
        assert_eq!(names, elb::EVENT_NAMES);
        assert!(CALLS.iter().all(|(s, _)| *s == "elasticloadbalancing"));
    }
}
