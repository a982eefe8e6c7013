//! Security Hub's findings format (ASFF) for a verdict (DESIGN §13): one
//! Security Hub finding per finding of the report, identified by the
//! finding's fingerprint, so that every report about it (the event, a retry,
//! the sweep) updates the same Security Hub finding instead of adding one.
//!
//! Where findings go: into the Security Hub of the account and region where
//! the function runs, under that account's default product
//! (`arn:<partition>:securityhub:<region>:<account>:product/<account>/default`),
//! with `AwsAccountId` = that account. With the default product ARN,
//! `BatchImportFindings` accepts only findings whose `AwsAccountId` is the
//! calling account; in an organization deployment the functions run in the
//! security account, so a member account's finding is imported there: its
//! resource ARN names the member account and region, and `ProductFields`
//! say them too. (A delegated Security Hub
//! administrator sees them as the security account's findings.)
//!
//! Pure: the Security Hub adapter is `aws::securityhub`, in the adapters' layer.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::finding::{Finding, Severity};
use crate::report::{OutcomeKind, Report};
use crate::state::fingerprint;

/// The ASFF version `BatchImportFindings` takes.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// `BatchImportFindings` and `BatchUpdateFindings` take at most 100 findings a call.
pub const BATCH: usize = 100;
pub const ID_MAX: usize = 512;
pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 1024;
/// `Remediation.Recommendation.Text`.
pub const RECOMMENDATION_MAX: usize = 512;
/// The finding type (ASFF's namespace/category taxonomy).
pub const FINDING_TYPE: &str = "Software and Configuration Checks/AWS Security Best Practices";
/// Prefix of the keys this tool puts in `ProductFields`.
const FIELD: &str = "ecs-access-guard";

/// Where findings are imported: the default product of one account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub arn: String,
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl Product {
    /// The default product of `account` in `region`.
    pub fn default_of(partition: &str, region: &str, account: &str) -> Product {
        Product {
            arn: format!(
                "arn:{partition}:securityhub:{region}:{account}:product/{account}/default"
            ),
            partition: partition.to_string(),
            region: region.to_string(),
            account: account.to_string(),
        }
    }

    /// Reads a default product ARN; anything else is an error saying what is expected.
    pub fn parse(arn: &str) -> Result<Product, String> {
        let parts: Vec<&str> = arn.split(':').collect();
        let expected = || {
            format!(
                "expected arn:<partition>:securityhub:<region>:<account>:product/<account>/default (the account's default product), found {arn:?}"
            )
        };
        let ["arn", partition, "securityhub", region, account, product] = parts[..] else {
            return Err(expected());
        };
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        if !account_ok
            || partition.is_empty()
            || region.is_empty()
            || product != format!("product/{account}/default")
        {
            return Err(expected());
        }
        Ok(Product::default_of(partition, region, account))
    }
}

/// `Severity` and `FindingProviderFields.Severity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffSeverity {
    /// INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL.
    pub label: &'static str,
    /// The tool's own severity (`critical`).
    pub original: &'static str,
}

/// `FindingProviderFields`: how a provider sets severity and types on
/// updates (the top-level fields are the customer's after creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProviderFields {
    pub severity: AsffSeverity,
    pub types: Vec<String>,
}

/// One resource of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffResource {
    /// `AwsEc2SecurityGroup`, `AwsEcsTaskDefinition`, … or `Other`.
    pub r#type: &'static str,
    /// The resource's ARN (its own account and region), or for `Other`
    /// `<account>/<region>/<what the report names>`.
    pub id: String,
    pub partition: String,
    pub region: String,
}

/// One finding in ASFF, as `BatchImportFindings` takes it. Serialized, it
/// is the finding's ASFF JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffFinding {
    pub schema_version: &'static str,
    pub id: String,
    pub product_arn: String,
    /// The rule id.
    pub generator_id: String,
    pub aws_account_id: String,
    pub types: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub first_observed_at: String,
    pub last_observed_at: String,
    pub severity: AsffSeverity,
    pub finding_provider_fields: ProviderFields,
    pub title: String,
    pub description: String,
    /// `Remediation.Recommendation.Text`.
    pub recommendation: String,
    pub product_fields: BTreeMap<String, String>,
    pub resources: Vec<AsffResource>,
    /// `Compliance.Status`: FAILED while open, PASSED once resolved.
    pub compliance_status: &'static str,
    /// ACTIVE while open, ARCHIVED once resolved.
    pub record_state: &'static str,
    /// `Workflow.Status` on creation (an update cannot change it:
    /// `BatchUpdateFindings` does): NEW, or RESOLVED for a finding that is
    /// resolved before Security Hub ever saw it.
    pub workflow_status: &'static str,
}

impl AsffFinding {
    pub fn is_resolved(&self) -> bool {
        self.compliance_status == "PASSED"
    }
}

/// What one report records in Security Hub: every finding (whatever the
/// alert threshold: Security Hub is a findings store), and the Ids whose
/// workflow status is to be set to RESOLVED.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub findings: Vec<AsffFinding>,
    /// The resolved findings' Ids (`BatchUpdateFindings`, after the import).
    pub resolved: Vec<String>,
}

/// ASFF's severity label.
pub fn label(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    }
}

/// The Security Hub finding Id of a finding: its fingerprint (account,
/// region, resource, rule, detail: [`crate::state::fingerprint`], as the
/// sweep's state table keys it), after the account, region and rule for
/// whoever reads a list of Ids.
pub fn finding_id(account: &str, region: &str, resource: &str, rule: &str, detail: &str) -> String {
    let id = format!(
        "{FIELD}/{account}/{region}/{rule}/{}",
        fingerprint(account, region, resource, rule, detail)
    );
    cut(&id, ID_MAX)
}

/// At most `max` characters, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// True when `f` is about the one rule an outcome names, and nothing else:
/// a security-group rule's own finding (EC2-SG, one per rule) whose rule id
/// is the outcome's, or, for a rule without one, whose detail starts with
/// the permission the outcome names. A finding about a whole service,
/// instance or group (ECS-SVC, EC2-CI) lists every open rule in one detail:
/// revoking one of them does not close it.
fn about_rule(f: &Finding, rule_id: &str) -> bool {
    if !f.rule.starts_with("EC2-SG-") || f.fields.protocol.is_none() {
        return false;
    }
    if rule_id.starts_with("sgr-") {
        f.fields.sg_rule_id.as_deref() == Some(rule_id)
    } else {
        f.fields.sg_rule_id.is_none()
            && f.detail
                .strip_prefix(rule_id)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([',', ' ']))
    }
}

/// The ASFF type and Id of the resource a finding is about, from the rule's
/// group and the name the report gives it.
fn resource_of(
    rule: &str,
    name: &str,
    product: &Product,
    account: &str,
    region: &str,
) -> (&'static str, String) {
    let p = &product.partition;
    let token = !name.is_empty() && !name.contains([' ', ',']);
    let arn = |service: &str, what: &str| format!("arn:{p}:{service}:{region}:{account}:{what}");
    let group = rule.rsplit_once('-').map_or(rule, |(g, _)| g);
    match group {
        "EC2-SG" if token && name.starts_with("sg-") => (
            "AwsEc2SecurityGroup",
            arn("ec2", &format!("security-group/{name}")),
        ),
        "ECS-TD" if token && !name.contains('/') && name.contains(':') => (
            "AwsEcsTaskDefinition",
            arn("ecs", &format!("task-definition/{name}")),
        ),
        "ECS-SVC" if token && name.matches('/').count() == 1 => {
            ("AwsEcsService", arn("ecs", &format!("service/{name}")))
        }
        "ECS-CL" if token && !name.contains('/') => {
            ("AwsEcsCluster", arn("ecs", &format!("cluster/{name}")))
        }
        "EC2-CI" if token && name.starts_with("i-") => {
            ("AwsEc2Instance", arn("ec2", &format!("instance/{name}")))
        }
        "EC2-CI" if name.starts_with("launch template ") => {
            match name
                .split_once("(lt-")
                .and_then(|(_, rest)| rest.split_once(')'))
            {
                Some((id, _)) => (
                    "AwsEc2LaunchTemplate",
                    arn("ec2", &format!("launch-template/lt-{id}")),
                ),
                None => ("Other", format!("{account}/{region}/{name}")),
            }
        }
        "IAM-ECS" if name.starts_with("role ") => {
            let role = &name["role ".len()..];
            if role.starts_with("arn:") {
                ("AwsIamRole", role.to_string())
            } else {
                ("AwsIamRole", format!("arn:{p}:iam::{account}:role/{role}"))
            }
        }
        _ => ("Other", format!("{account}/{region}/{name}")),
    }
}

/// The Security Hub findings of a report, with `now` (RFC 3339) as their
/// `UpdatedAt` and `LastObservedAt`: each finding of the report, open
/// (Compliance FAILED, ACTIVE, workflow NEW) unless the rule it is about was
/// revoked by this event or found already gone (Compliance PASSED, ARCHIVED,
/// and its Id in [`Rendered::resolved`]); and each finding the sweep lists as
/// resolved. `CreatedAt` and `FirstObservedAt` are the event's time, for
/// the sweep's findings when it first saw them ([`Report::first_seen`]; a
/// finding new to it, this run).
pub fn render(report: &Report, product: &Product, now: &str) -> Rendered {
    let mut out = Rendered::default();
    let gone: Vec<&str> = report
        .outcomes
        .iter()
        .filter(|o| matches!(o.result, OutcomeKind::Revoked | OutcomeKind::AlreadyAbsent))
        .map(|o| o.rule_id.as_str())
        .collect();
    let created = if report.event_time.is_empty() {
        now
    } else {
        report.event_time.as_str()
    };
    let mut seen = std::collections::BTreeSet::new();
    for f in &report.findings {
        let resource = f
            .resource
            .as_deref()
            .or(report.resource.as_deref())
            .unwrap_or("unknown resource");
        let resolved = gone.iter().any(|rule_id| about_rule(f, rule_id));
        let first_seen = report
            .first_seen
            .get(&fingerprint(
                &report.account,
                &report.region,
                resource,
                f.rule,
                &f.detail,
            ))
            .filter(|t| !t.is_empty());
        let item = Item {
            rule: f.rule,
            severity: f.severity,
            title: f.title,
            detail: &f.detail,
            remediation: f.remediation,
            resource,
            resolved,
            created: first_seen.map_or(created, String::as_str),
        };
        push(&mut out, &mut seen, item.render(report, product, now));
    }
    for r in &report.resolved {
        let rule = crate::rules::find(&r.rule);
        let item = Item {
            rule: &r.rule,
            severity: r.severity.parse().unwrap_or(Severity::Info),
            title: rule.map_or(r.rule.as_str(), |rule| rule.title),
            detail: &r.detail,
            remediation: rule.map_or("", |rule| rule.remediation),
            resource: &r.resource,
            resolved: true,
            created: if r.first_seen.is_empty() {
                created
            } else {
                &r.first_seen
            },
        };
        push(&mut out, &mut seen, item.render(report, product, now));
    }
    out
}

/// Adds a finding once (a finding repeated in a report is one Security Hub finding).
fn push(out: &mut Rendered, seen: &mut std::collections::BTreeSet<String>, finding: AsffFinding) {
    if !seen.insert(finding.id.clone()) {
        return;
    }
    if finding.is_resolved() {
        out.resolved.push(finding.id.clone());
    }
    out.findings.push(finding);
}

/// One finding to render, from the report's findings or its resolved list.
struct Item<'a> {
    rule: &'a str,
    severity: Severity,
    title: &'a str,
    detail: &'a str,
    remediation: &'a str,
    resource: &'a str,
    resolved: bool,
    created: &'a str,
}

impl Item<'_> {
    fn render(&self, report: &Report, product: &Product, now: &str) -> AsffFinding {
        let (account, region) = (report.account.as_str(), report.region.as_str());
        let id = finding_id(account, region, self.resource, self.rule, self.detail);
        let (kind, resource_id) = resource_of(self.rule, self.resource, product, account, region);
        let severity = AsffSeverity {
            label: label(self.severity),
            original: self.severity.as_str(),
        };
        let who = report.actor.as_deref().unwrap_or("unknown principal");
        let what = if report.event_name == crate::report::SWEEP {
            format!("Found by the scheduled sweep at {}.", report.event_time)
        } else {
            format!(
                "{} by {who} at {} (event {}).",
                report.event_name, report.event_time, report.event_id
            )
        };
        let state = if self.resolved {
            " Resolved: the offending rule is gone."
        } else {
            ""
        };
        let description = format!(
            "{}: {} on {} in account {account}, region {region}. {what}{state}",
            self.rule, self.detail, self.resource
        );
        let fields: BTreeMap<String, String> = [
            ("Rule", self.rule),
            ("Account", account),
            ("Region", region),
            ("Resource", self.resource),
            ("EventId", report.event_id.as_str()),
            ("EventName", report.event_name.as_str()),
            ("Actor", who),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (format!("{FIELD}/{k}"), cut(v, 1024)))
        .collect();
        let types = vec![FINDING_TYPE.to_string()];
        AsffFinding {
            schema_version: SCHEMA_VERSION,
            id,
            product_arn: product.arn.clone(),
            generator_id: self.rule.to_string(),
            aws_account_id: product.account.clone(),
            types: types.clone(),
            created_at: self.created.to_string(),
            updated_at: now.to_string(),
            first_observed_at: self.created.to_string(),
            last_observed_at: now.to_string(),
            severity: severity.clone(),
            finding_provider_fields: ProviderFields { severity, types },
            title: cut(&format!("{} ({})", self.title, self.rule), TITLE_MAX),
            description: cut(&description, DESCRIPTION_MAX),
            recommendation: cut(
                if self.remediation.is_empty() {
                    "See the rule's documentation: access-guard rules <rule id>."
                } else {
                    self.remediation
                },
                RECOMMENDATION_MAX,
            ),
            product_fields: fields,
            resources: vec![AsffResource {
                r#type: kind,
                id: resource_id,
                partition: product.partition.clone(),
                region: region.to_string(),
            }],
            compliance_status: if self.resolved { "PASSED" } else { "FAILED" },
            record_state: if self.resolved { "ARCHIVED" } else { "ACTIVE" },
            workflow_status: if self.resolved { "RESOLVED" } else { "NEW" },
        }
    }
}

/// The note `BatchUpdateFindings` leaves on a resolved finding.
pub fn resolved_note(report: &Report) -> String {
    let text = if report.event_name == crate::report::SWEEP {
        format!(
            "Resolved: the scheduled sweep at {} no longer finds it.",
            report.event_time
        )
    } else {
        format!(
            "Resolved: the offending rule is gone (event {}, {}).",
            report.event_id, report.event_name
        )
    };
    cut(&text, 512)
}

/// Who `BatchUpdateFindings` says updated the finding.
pub const UPDATED_BY: &str = "ecs-access-guard";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Event;
    use crate::policy::Policy;

    const NOW: &str = "2026-12-01T10:00:00.250Z";
    /// The raw values `events/td-aws-keys-in-env.json` carries.
    const SECRETS: [&str; 2] = [
        "AKIAQ3EGRJ7XKZ2MN4PL",
        "q8Zr3LmX/T2vN9pKc7Wd+Hs4Jf6Gb1Ye5Ua0Ri8O",
    ];

    fn product() -> Product {
        Product::default_of("aws", "us-east-1", "999988887777")
    }

    fn sample(file: &str) -> Event {
        let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        Event::from_value(&value, file).unwrap()
    }

    fn task_definition_report() -> Report {
        crate::guards::task_definition::evaluate_offline(
            &sample("td-aws-keys-in-env.json"),
            &Policy::embedded(),
        )
        .unwrap()
    }

    #[test]
    fn severities_map_to_asff_labels() {
        let labels: Vec<&str> = Severity::ALL.into_iter().map(label).collect();
        assert_eq!(
            labels,
            ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
        );
    }

    #[test]
    fn the_product_is_an_accounts_default_product() {
        let p = Product::parse(
            "arn:aws-us-gov:securityhub:us-gov-west-1:111122223333:product/111122223333/default",
        )
        .unwrap();
        assert_eq!(
            (p.partition.as_str(), p.region.as_str(), p.account.as_str()),
            ("aws-us-gov", "us-gov-west-1", "111122223333")
        );
        for bad in [
            "",
            "true",
            "arn:aws:securityhub:us-east-1:111122223333:product/aws/guardduty",
            "arn:aws:securityhub:us-east-1:111122223333:product/444455556666/default",
            "arn:aws:securityhub:us-east-1:1111:product/1111/default",
            "arn:aws:securityhub:us-east-1:111122223333:hub/default",
        ] {
            assert!(Product::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_finding_is_one_asff_finding_with_its_fields_within_limits() {
        let report = task_definition_report();
        assert!(report.findings.len() >= 2, "{:?}", report.findings);
        let rendered = render(&report, &product(), NOW);
        let ids: std::collections::BTreeSet<String> = report
            .findings
            .iter()
            .map(|f| {
                let resource = f
                    .resource
                    .as_deref()
                    .or(report.resource.as_deref())
                    .unwrap();
                finding_id(&report.account, &report.region, resource, f.rule, &f.detail)
            })
            .collect();
        assert_eq!(rendered.findings.len(), ids.len(), "one per fingerprint");
        assert!(rendered.resolved.is_empty(), "nothing was revoked");
        let resource = report.resource.clone().unwrap();
        for (f, asff) in report.findings.iter().zip(&rendered.findings) {
            assert_eq!(asff.schema_version, "2018-10-08");
            assert_eq!(
                asff.product_arn,
                "arn:aws:securityhub:us-east-1:999988887777:product/999988887777/default"
            );
            assert_eq!(asff.aws_account_id, "999988887777", "the calling account");
            assert_eq!(asff.generator_id, f.rule);
            assert_eq!(asff.types, [FINDING_TYPE]);
            assert_eq!(asff.created_at, "2026-11-02T09:14:07Z", "the event's time");
            assert_eq!(asff.updated_at, NOW);
            assert_eq!(asff.severity.label, label(f.severity));
            assert_eq!(asff.finding_provider_fields.severity, asff.severity);
            assert!(
                asff.id.len() <= ID_MAX
                    && asff
                        .id
                        .starts_with("ecs-access-guard/111122223333/eu-west-1/")
            );
            assert!(asff.title.chars().count() <= TITLE_MAX && asff.title.contains(f.rule));
            assert!(asff.description.chars().count() <= DESCRIPTION_MAX);
            assert!(asff.description.contains(&f.detail), "{}", asff.description);
            assert!(asff.recommendation.chars().count() <= RECOMMENDATION_MAX);
            assert_eq!(asff.resources.len(), 1);
            let r = &asff.resources[0];
            assert_eq!(r.r#type, "AwsEcsTaskDefinition");
            assert_eq!(
                r.id,
                format!("arn:aws:ecs:eu-west-1:111122223333:task-definition/{resource}"),
                "the resource's own account and region"
            );
            assert_eq!(
                asff.product_fields["ecs-access-guard/Account"],
                "111122223333"
            );
            assert_eq!(
                (
                    asff.compliance_status,
                    asff.record_state,
                    asff.workflow_status
                ),
                ("FAILED", "ACTIVE", "NEW")
            );
        }
        let json = serde_json::to_string(&rendered.findings).unwrap();
        for key in [
            "\"SchemaVersion\"",
            "\"ProductArn\"",
            "\"AwsAccountId\"",
            "\"GeneratorId\"",
        ] {
            assert!(json.contains(key), "{key}");
        }
        for secret in SECRETS {
            assert!(!json.contains(secret), "a secret reached Security Hub");
        }
        assert!(json.contains("AKIA"), "the redacted form is kept");
    }

    #[test]
    fn the_id_is_stable_and_the_event_path_and_the_sweep_share_it() {
        let event = sample("sg-ssh-open-nested.json");
        let report = crate::guards::ingress::evaluate_offline(
            &event,
            &Policy::embedded(),
            crate::model::today(),
        )
        .unwrap();
        let first = render(&report, &product(), NOW);
        let later = render(&report, &product(), "2026-12-02T00:00:00Z");
        let ids = |r: &Rendered| r.findings.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(&first),
            ids(&later),
            "a retry updates the same findings"
        );
        let ssh = first
            .findings
            .iter()
            .find(|f| f.generator_id == "EC2-SG-003")
            .unwrap();
        assert_eq!(ssh.resources[0].r#type, "AwsEc2SecurityGroup");
        assert_eq!(
            ssh.resources[0].id,
            "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0a1b2c3d4e5f60718"
        );
        // The sweep judging the same group gives the SSH finding the same Id.
        let rules = crate::model::sg::SgChange::from_event(&event)
            .unwrap()
            .unwrap()
            .rules;
        let estate = crate::ports::estate::Estate {
            groups: vec![crate::ports::estate::GroupState {
                info: crate::ports::GroupInfo {
                    group_id: "sg-0a1b2c3d4e5f60718".into(),
                    name: "web".into(),
                    vpc_id: Some("vpc-1".into()),
                    tags: Vec::new(),
                },
                rules,
                prefix_lists: Default::default(),
            }],
            ..Default::default()
        };
        let seen = crate::sweep::judge(
            &report.account,
            &report.region,
            &estate,
            &Policy::embedded(),
            &[],
            crate::model::today(),
        );
        let swept = seen
            .iter()
            .find(|s| s.finding.rule == "EC2-SG-003")
            .unwrap();
        assert!(
            ssh.id.ends_with(&swept.fingerprint),
            "{} / {}",
            ssh.id,
            swept.fingerprint
        );
    }

    #[test]
    fn what_the_sweep_resolved_is_passed_archived_and_to_be_resolved() {
        let mut report = task_definition_report();
        let gone = report.findings[0].clone();
        report.findings.clear();
        report.resolved.push(crate::report::Resolved {
            rule: gone.rule.to_string(),
            severity: gone.severity.as_str().to_string(),
            resource: report.resource.clone().unwrap(),
            detail: gone.detail.clone(),
            first_seen: "2026-11-01T00:00:00Z".into(),
        });
        let rendered = render(&report, &product(), NOW);
        let f = &rendered.findings[0];
        assert_eq!(
            (f.compliance_status, f.record_state, f.workflow_status),
            ("PASSED", "ARCHIVED", "RESOLVED")
        );
        assert_eq!(
            f.created_at, "2026-11-01T00:00:00Z",
            "when it was first seen"
        );
        assert_eq!(
            f.title,
            format!("{} ({})", gone.title, gone.rule),
            "the catalog's title"
        );
        assert_eq!(rendered.resolved, vec![f.id.clone()]);
        let open = render(&task_definition_report(), &product(), NOW);
        assert!(
            open.findings.iter().any(|o| o.id == f.id),
            "the same Id as when it was open"
        );
    }

    #[test]
    fn a_revoked_rules_findings_only_are_resolved() {
        let finding = |rule: &'static str, detail: &str, id: Option<&str>| Finding {
            rule,
            severity: Severity::Critical,
            title: "t",
            detail: detail.into(),
            remediation: "r",
            action: crate::finding::Action::Revoke,
            resource: None,
            target: Some(0),
            fields: crate::finding::Fields {
                protocol: Some("tcp".into()),
                sg_rule_id: id.map(str::to_string),
                ..Default::default()
            },
        };
        let ssh = finding("EC2-SG-003", "tcp 22 from 0.0.0.0/0 (sgr-1)", Some("sgr-1"));
        assert!(about_rule(&ssh, "sgr-1"));
        assert!(!about_rule(&ssh, "sgr-12"));
        let other = finding(
            "EC2-SG-003",
            "tcp 22 from 0.0.0.0/0 (sgr-12)",
            Some("sgr-12"),
        );
        assert!(!about_rule(&other, "sgr-1"));
        let no_id = finding(
            "EC2-SG-001",
            "tcp 0-65535 from 0.0.0.0/0, exposing port 22",
            None,
        );
        assert!(about_rule(&no_id, "tcp 0-65535 from 0.0.0.0/0"));
        let narrower = finding("EC2-SG-003", "tcp 22 from 10.0.0.0/16", None);
        assert!(!about_rule(&narrower, "tcp 22 from 10.0.0.0/1"));
        // A service's or an instance's finding names every open rule of its
        // groups: one of them revoked leaves the others open.
        for rule in ["ECS-SVC-004", "EC2-CI-005"] {
            let mut whole = finding(
                rule,
                "sg-1: tcp 22 from 0.0.0.0/0 (sgr-1) (EC2-SG-003); tcp 8080 from 0.0.0.0/0 (sgr-2) (EC2-SG-001)",
                None,
            );
            whole.fields = Default::default();
            assert!(!about_rule(&whole, "sgr-1"), "{rule}");
        }
    }

    #[test]
    fn long_texts_are_cut_to_asffs_limits() {
        let mut report = task_definition_report();
        report.findings.truncate(1);
        report.findings[0].detail = "x".repeat(3000);
        report.resource = Some("y".repeat(600));
        let f = &render(&report, &product(), NOW).findings[0];
        assert_eq!(f.description.chars().count(), DESCRIPTION_MAX);
        assert!(f.description.ends_with('…'));
        assert!(f.id.chars().count() <= ID_MAX);
        assert_eq!(f.resources[0].r#type, "Other");
    }
}
