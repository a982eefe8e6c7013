//! SARIF 2.1.0 (OASIS) for what `access-guard plan` judged (DESIGN §16), so
//! that code-scanning tools (GitHub code scanning, editors' SARIF viewers)
//! show the findings of a plan or template where they are declared.
//!
//! One log, one run, all the files. The run's rules are the whole catalog,
//! once each, with the severity and action the policy gives them; a finding
//! is one result of kind `fail`, at its file (and line, where the source has
//! lines) and at its resource address as a logical location. Its message is
//! the finding's detail, which is already redacted: nothing else of the
//! resource is written.
//!
//! What was not judged is never silent. A resource whose values the rules
//! need are unknown until apply, or one that was judged only in part, is a
//! `warning` notification of the invocation (`not-judged`), with the same
//! file and address as a result would have: it broke no rule, so a result
//! would need a rule id it did not break, and GitHub code scanning ignores a
//! result's `kind` and would raise an `open` result as an alert of that
//! rule. A file or resource that could not be read is an `error`
//! notification (`not-read`) and makes `executionSuccessful` false. What the
//! verdict says could not be checked offline is a `note` notification.
//!
//! Pure: the CLI writes the log.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::finding::{Action, Finding, Severity};
use crate::policy::Policy;
use crate::report::Report;
use crate::rules::{self, Rule};

/// The SARIF version written.
pub const VERSION: &str = "2.1.0";
/// The OASIS schema of that version (errata 01).
pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// The tool's name in `tool.driver.name`.
pub const TOOL: &str = "access-guard";
/// The key of the results' `partialFingerprints`: the rule, the resource and
/// the finding's place among that rule's findings on that resource.
pub const FINGERPRINT: &str = "accessGuardResource/v1";
/// Notification: a resource, or part of one, was not judged.
pub const NOT_JUDGED: &str = "not-judged";
/// Notification: a file or a resource could not be read.
pub const NOT_READ: &str = "not-read";
/// Notification: what the verdict says could not be checked offline.
pub const NOTE: &str = "note";

/// What became of one resource of a plan or template.
#[derive(Debug)]
pub enum Verdict {
    /// Judged: its findings, and in `unevaluated`, `skipped` and `notes`
    /// what was not.
    Judged(Box<Report>),
    /// Not judged: why (`cidr_ipv4 unknown until apply`).
    NotJudged(String),
}

/// One resource of a file, as judged.
#[derive(Debug)]
pub struct Resource {
    /// The file, as given (`infra/tfplan.json`).
    pub file: String,
    /// Its address or logical id (`module.app.aws_ecs_service.web`).
    pub address: String,
    /// The line where it is declared, where the source has lines.
    pub line: Option<usize>,
    pub verdict: Verdict,
}

/// A file, or a resource of one, that could not be read.
#[derive(Debug)]
pub struct Failure {
    /// The file, as given.
    pub file: String,
    /// The resource, when one resource of a readable file failed.
    pub address: Option<String>,
    /// What failed, naming the file or the resource.
    pub message: String,
}

/// The SARIF log of a plan run: every resource judged, every failure.
pub fn log(policy: &Policy, resources: &[Resource], failures: &[Failure]) -> Value {
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for resource in resources {
        match &resource.verdict {
            Verdict::NotJudged(why) => notifications.push(notification(
                NOT_JUDGED,
                "warning",
                &format!("{}: not judged: {why}", resource.address),
                &resource.file,
                Some(&resource.address),
                resource.line,
            )),
            Verdict::Judged(report) => {
                results.extend(results_of(resource, &report.findings));
                let not_judged = report.skipped.iter().chain(&report.unevaluated);
                for why in not_judged {
                    notifications.push(notification(
                        NOT_JUDGED,
                        "warning",
                        &format!("{}: {why}", resource.address),
                        &resource.file,
                        Some(&resource.address),
                        resource.line,
                    ));
                }
                for note in &report.notes {
                    notifications.push(notification(
                        NOTE,
                        "note",
                        &format!("{}: {note}", resource.address),
                        &resource.file,
                        Some(&resource.address),
                        resource.line,
                    ));
                }
            }
        }
    }
    for failure in failures {
        notifications.push(notification(
            NOT_READ,
            "error",
            &failure.message,
            &failure.file,
            failure.address.as_deref(),
            None,
        ));
    }
    let mut driver = Map::new();
    driver.insert("name".into(), json!(TOOL));
    driver.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    driver.insert("semanticVersion".into(), json!(env!("CARGO_PKG_VERSION")));
    if let Some(uri) = information_uri() {
        driver.insert("informationUri".into(), json!(uri));
    }
    driver.insert(
        "rules".into(),
        Value::Array(rules::ALL.iter().map(|r| descriptor(r, policy)).collect()),
    );
    driver.insert(
        "notifications".into(),
        json!([
            {"id": NOT_JUDGED, "shortDescription": {"text": "A resource, or part of one, was not judged: a value the rules need is unknown until apply, or the record could not be evaluated"},
             "defaultConfiguration": {"level": "warning"}},
            {"id": NOT_READ, "shortDescription": {"text": "A file or a resource could not be read"},
             "defaultConfiguration": {"level": "error"}},
            {"id": NOTE, "shortDescription": {"text": "What could not be checked offline, and other facts for the reader"},
             "defaultConfiguration": {"level": "note"}},
        ]),
    );
    json!({
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [{
            "tool": {"driver": Value::Object(driver)},
            "invocations": [{
                "executionSuccessful": failures.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

/// The package's repository, where its manifest names one.
fn information_uri() -> Option<&'static str> {
    [env!("CARGO_PKG_REPOSITORY"), env!("CARGO_PKG_HOMEPAGE")]
        .into_iter()
        .find(|uri| !uri.is_empty())
}

/// SARIF's level of a severity: `error` for critical and high, `warning`
/// for medium, `note` below.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The `security-severity` GitHub code scanning reads from a rule (9.0 and
/// up critical, 7.0 high, 4.0 medium, 0.1 low); `info` has none, so that
/// it is never ranked as a security alert.
pub fn security_severity(severity: Severity) -> Option<&'static str> {
    match severity {
        Severity::Critical => Some("9.5"),
        Severity::High => Some("8.0"),
        Severity::Medium => Some("5.5"),
        Severity::Low => Some("3.0"),
        Severity::Info => None,
    }
}

/// One rule as a `reportingDescriptor`, with the policy's severity and action.
fn descriptor(rule: &Rule, policy: &Policy) -> Value {
    let setting = rule.setting(policy);
    let mut tags = vec!["security".to_string()];
    tags.extend(rule.anchors.iter().map(|a| a.to_string()));
    let mut properties = Map::new();
    if let Some(score) = security_severity(setting.severity) {
        properties.insert("security-severity".into(), json!(score));
    }
    properties.insert("tags".into(), json!(tags));
    properties.insert("severity".into(), json!(setting.severity.as_str()));
    properties.insert("action".into(), json!(setting.action.as_str()));
    json!({
        "id": rule.id,
        "name": name(rule.title),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": what_it_does(rule.doc).unwrap_or_else(|| rule.title.to_string())},
        "help": {"text": rule.remediation, "markdown": markdown(rule.doc)},
        "defaultConfiguration": {
            "level": level(setting.severity),
            "enabled": setting.action != Action::Off,
        },
        "properties": properties,
    })
}

/// The results of one resource's findings, each with its place among the
/// findings of the same rule on it (for the fingerprint).
fn results_of(resource: &Resource, findings: &[Finding]) -> Vec<Value> {
    let mut seen: Vec<&str> = Vec::new();
    findings
        .iter()
        .map(|finding| {
            seen.push(finding.rule);
            let occurrence = seen.iter().filter(|r| **r == finding.rule).count();
            result(resource, finding, occurrence)
        })
        .collect()
}

fn result(resource: &Resource, finding: &Finding, occurrence: usize) -> Value {
    let mut result = Map::new();
    result.insert("ruleId".into(), json!(finding.rule));
    if let Some(index) = rules::ALL.iter().position(|r| r.id == finding.rule) {
        result.insert("ruleIndex".into(), json!(index));
    }
    result.insert("kind".into(), json!("fail"));
    result.insert("level".into(), json!(level(finding.severity)));
    result.insert(
        "message".into(),
        json!({"text": format!("{}: {}", resource.address, finding.detail)}),
    );
    result.insert(
        "locations".into(),
        json!([location(
            &resource.file,
            Some(&resource.address),
            resource.line
        )]),
    );
    result.insert(
        "partialFingerprints".into(),
        json!({FINGERPRINT: fingerprint(finding.rule, &resource.address, occurrence)}),
    );
    result.insert(
        "properties".into(),
        json!({"severity": finding.severity.as_str()}),
    );
    Value::Object(result)
}

/// Where a result or notification is: the file, its line (1 where the
/// source has no lines: GitHub code scanning wants a line), the resource.
fn location(file: &str, address: Option<&str>, line: Option<usize>) -> Value {
    let mut location = json!({
        "physicalLocation": {
            "artifactLocation": {"uri": uri(file)},
            "region": {"startLine": line.filter(|l| *l > 0).unwrap_or(1)},
        },
    });
    if let Some(address) = address {
        location["logicalLocations"] = json!([{"fullyQualifiedName": address, "kind": "resource"}]);
    }
    location
}

fn notification(
    id: &str,
    level: &str,
    text: &str,
    file: &str,
    address: Option<&str>,
    line: Option<usize>,
) -> Value {
    json!({
        "descriptor": {"id": id},
        "level": level,
        "message": {"text": text},
        "locations": [location(file, address, line)],
    })
}

/// A result's fingerprint: SHA-256 of the rule and the resource (first
/// 128 bits in hex), and the occurrence (`…:1`), as code scanning's own
/// fingerprints count repeats. The same across runs while the resource keeps
/// its address and its findings of that rule their order.
pub fn fingerprint(rule: &str, address: &str, occurrence: usize) -> String {
    let mut hash = Sha256::new();
    for part in [rule, address] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    let digest = hash.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}:{occurrence}")
}

/// A file as given, as a relative URI reference: `/` between segments,
/// every byte but the unreserved ones percent-encoded.
pub fn uri(file: &str) -> String {
    let mut out = String::new();
    for byte in file.replace('\\', "/").bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A rule's name: its title in upper camel case (`SSH22OpenToTheInternet`).
fn name(title: &str) -> String {
    title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The doc's lines without the space `///` leaves.
fn doc_lines(doc: &str) -> impl Iterator<Item = &str> {
    doc.lines().map(|l| l.strip_prefix(' ').unwrap_or(l))
}

fn markdown(doc: &str) -> String {
    doc_lines(doc)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// The doc's "What it does" section, as one paragraph.
fn what_it_does(doc: &str) -> Option<String> {
    let text: Vec<&str> = doc_lines(doc)
        .skip_while(|l| l.trim() != "## What it does")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    (!text.is_empty()).then(|| text.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Event;

    /// The raw values `events/td-aws-keys-in-env.json` carries.
    const SECRETS: [&str; 2] = [
        "AKIAQ3EGRJ7XKZ2MN4PL",
        "q8Zr3LmX/T2vN9pKc7Wd+Hs4Jf6Gb1Ye5Ua0Ri8O",
    ];

    fn sample(file: &str) -> Event {
        let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        Event::from_value(&value, file).unwrap()
    }

    fn judged(file: &str, address: &str, line: Option<usize>, report: Report) -> Resource {
        Resource {
            file: file.into(),
            address: address.into(),
            line,
            verdict: Verdict::Judged(Box::new(report)),
        }
    }

    fn keys_in_env() -> Report {
        crate::guards::task_definition::evaluate_offline(
            &sample("td-aws-keys-in-env.json"),
            &Policy::embedded(),
        )
        .unwrap()
    }

    fn run(log: &Value) -> &Value {
        &log["runs"][0]
    }

    fn notifications(log: &Value) -> &Vec<Value> {
        run(log)["invocations"][0]["toolExecutionNotifications"]
            .as_array()
            .unwrap()
    }

    #[test]
    fn the_rules_are_the_catalog_once_each_with_the_severities_code_scanning_reads() {
        let log = log(&Policy::embedded(), &[], &[]);
        assert_eq!(log["version"], "2.1.0");
        let driver = &run(&log)["tool"]["driver"];
        assert_eq!(driver["name"], "access-guard");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
        let descriptors = driver["rules"].as_array().unwrap();
        let ids: Vec<&str> = descriptors
            .iter()
            .filter_map(|r| r["id"].as_str())
            .collect();
        let catalog: Vec<&str> = rules::ALL.iter().map(|r| r.id).collect();
        assert_eq!(ids, catalog, "the catalog, in its order, once each");
        for (descriptor, rule) in descriptors.iter().zip(rules::ALL) {
            assert_eq!(descriptor["shortDescription"]["text"], rule.title);
            assert_eq!(descriptor["help"]["text"], rule.remediation);
            assert_eq!(
                descriptor["defaultConfiguration"]["level"],
                level(rule.severity)
            );
            assert_eq!(
                descriptor["properties"]["security-severity"].as_str(),
                security_severity(rule.severity),
                "{}",
                rule.id
            );
            let tags = descriptor["properties"]["tags"].as_array().unwrap();
            assert_eq!(tags[0], "security");
            assert_eq!(tags.len(), rule.anchors.len() + 1, "{}", rule.id);
            let full = descriptor["fullDescription"]["text"].as_str().unwrap();
            assert!(
                full != rule.title && !full.contains("##"),
                "{}: the What it does section, {full:?}",
                rule.id
            );
            assert!(descriptor["help"]["markdown"]
                .as_str()
                .unwrap()
                .starts_with("## What it does"));
        }
        let ssh = &descriptors[rules::ALL
            .iter()
            .position(|r| r.id == "EC2-SG-003")
            .unwrap()];
        assert_eq!(ssh["name"], "SSH22OpenToTheInternet");
        assert_eq!(ssh["properties"]["security-severity"], "9.5");
        assert_eq!(ssh["defaultConfiguration"]["level"], "error");
        let scores: Vec<Option<&str>> = Severity::ALL.into_iter().map(security_severity).collect();
        assert_eq!(
            scores,
            [None, Some("3.0"), Some("5.5"), Some("8.0"), Some("9.5")]
        );
        let levels: Vec<&str> = Severity::ALL.into_iter().map(level).collect();
        assert_eq!(levels, ["note", "note", "warning", "error", "error"]);
    }

    #[test]
    fn the_policy_sets_a_rules_level_and_whether_it_runs() {
        let policy = crate::rules::policy_from_toml(
            "[rules.\"EC2-SG-003\"]\nseverity = \"low\"\naction = \"notify\"\n[rules.\"ECS-TD-016\"]\nenabled = false\n",
            "test.toml",
        )
        .unwrap();
        let log = log(&policy, &[], &[]);
        let rule = |id: &str| {
            run(&log)["tool"]["driver"]["rules"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == id)
                .cloned()
                .unwrap()
        };
        assert_eq!(rule("EC2-SG-003")["defaultConfiguration"]["level"], "note");
        assert_eq!(rule("EC2-SG-003")["properties"]["security-severity"], "3.0");
        assert_eq!(rule("EC2-SG-003")["defaultConfiguration"]["enabled"], true);
        assert_eq!(rule("ECS-TD-016")["defaultConfiguration"]["enabled"], false);
    }

    #[test]
    fn a_finding_is_a_result_of_its_rule_at_its_file_line_and_address_and_no_secret_is_written() {
        let report = keys_in_env();
        assert!(!report.findings.is_empty());
        let resources = [judged(
            "infra/app stack.template.json",
            "TaskDefinition",
            Some(12),
            report.clone(),
        )];
        let log = log(&Policy::embedded(), &resources, &[]);
        let results = run(&log)["results"].as_array().unwrap();
        assert_eq!(results.len(), report.findings.len());
        let descriptors = run(&log)["tool"]["driver"]["rules"].as_array().unwrap();
        for (result, finding) in results.iter().zip(&report.findings) {
            assert_eq!(result["ruleId"], finding.rule);
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(
                descriptors[index]["id"], finding.rule,
                "ruleIndex points at it"
            );
            assert_eq!(result["kind"], "fail");
            assert_eq!(result["level"], level(finding.severity));
            assert_eq!(
                result["message"]["text"],
                format!("TaskDefinition: {}", finding.detail)
            );
            let location = &result["locations"][0];
            assert_eq!(
                location["physicalLocation"]["artifactLocation"]["uri"],
                "infra/app%20stack.template.json"
            );
            assert_eq!(location["physicalLocation"]["region"]["startLine"], 12);
            assert_eq!(
                location["logicalLocations"][0]["fullyQualifiedName"],
                "TaskDefinition"
            );
        }
        let text = log.to_string();
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} written");
        }
    }

    #[test]
    fn a_resource_without_a_line_is_at_the_files_first_line() {
        let resources = [judged(
            "tfplan.json",
            "aws_ecs_task_definition.app",
            None,
            keys_in_env(),
        )];
        let log = log(&Policy::embedded(), &resources, &[]);
        let region = &run(&log)["results"][0]["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 1);
    }

    #[test]
    fn fingerprints_are_the_same_across_runs_and_count_repeats_of_a_rule() {
        let mut report = keys_in_env();
        let first = report.findings[0].clone();
        let repeats = report
            .findings
            .iter()
            .filter(|f| f.rule == first.rule)
            .count();
        report.findings.push(first.clone());
        let resources = [judged(
            "tfplan.json",
            "aws_ecs_task_definition.app",
            None,
            report,
        )];
        let prints = |log: &Value| -> Vec<String> {
            run(log)["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    r["partialFingerprints"][FINGERPRINT]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect()
        };
        let once = prints(&log(&Policy::embedded(), &resources, &[]));
        let again = prints(&log(&Policy::embedded(), &resources, &[]));
        assert_eq!(once, again);
        let hash = fingerprint(first.rule, "aws_ecs_task_definition.app", 1);
        assert_eq!(once[0], hash);
        assert_eq!(
            once.last().unwrap(),
            &format!("{}:{}", hash.trim_end_matches(":1"), repeats + 1),
            "the next finding of the rule on the resource"
        );
        assert_ne!(
            fingerprint(first.rule, "aws_ecs_task_definition.other", 1),
            hash,
            "another resource"
        );
        let unique: std::collections::BTreeSet<&String> = once.iter().collect();
        assert_eq!(unique.len(), once.len());
    }

    #[test]
    fn a_resource_not_judged_is_a_warning_naming_it_never_silent() {
        let resources = [Resource {
            file: "tfplan.json".into(),
            address: "aws_vpc_security_group_ingress_rule.admin".into(),
            line: None,
            verdict: Verdict::NotJudged("cidr_ipv4 unknown until apply".into()),
        }];
        let log = log(&Policy::embedded(), &resources, &[]);
        assert_eq!(run(&log)["results"], json!([]));
        let invocation = &run(&log)["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], true, "not an error");
        let [n] = &notifications(&log)[..] else {
            panic!("{:?}", notifications(&log))
        };
        assert_eq!(n["descriptor"]["id"], NOT_JUDGED);
        assert_eq!(n["level"], "warning");
        assert_eq!(
            n["message"]["text"],
            "aws_vpc_security_group_ingress_rule.admin: not judged: cidr_ipv4 unknown until apply"
        );
        assert_eq!(
            n["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "aws_vpc_security_group_ingress_rule.admin"
        );
        assert_eq!(
            n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "tfplan.json"
        );
    }

    #[test]
    fn what_a_judged_resource_left_unchecked_is_said_beside_its_findings() {
        let mut report = keys_in_env();
        report.unevaluated = Some(
            "could not check network_configuration[0].security_groups: unknown until apply".into(),
        );
        report.notes = vec!["ECS-SVC-004 needs AWS: the Lambda checks it".into()];
        let findings = report.findings.len();
        let resources = [judged(
            "tfplan.json",
            "module.app.aws_ecs_service.web",
            None,
            report,
        )];
        let log = log(&Policy::embedded(), &resources, &[]);
        assert_eq!(run(&log)["results"].as_array().unwrap().len(), findings);
        let said: Vec<(&str, &str, &str)> = notifications(&log)
            .iter()
            .map(|n| {
                (
                    n["descriptor"]["id"].as_str().unwrap(),
                    n["level"].as_str().unwrap(),
                    n["message"]["text"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            said,
            [
                (NOT_JUDGED, "warning", "module.app.aws_ecs_service.web: could not check network_configuration[0].security_groups: unknown until apply"),
                (NOTE, "note", "module.app.aws_ecs_service.web: ECS-SVC-004 needs AWS: the Lambda checks it"),
            ]
        );
    }

    #[test]
    fn a_file_that_could_not_be_read_makes_the_run_unsuccessful() {
        let resources = [judged(
            "b.json",
            "aws_ecs_task_definition.app",
            None,
            keys_in_env(),
        )];
        let failures = [Failure {
            file: "a.json".into(),
            address: None,
            message: "a.json: cannot read the plan: No such file or directory".into(),
        }];
        let log = log(&Policy::embedded(), &resources, &failures);
        assert_eq!(run(&log)["invocations"][0]["executionSuccessful"], false);
        let n = notifications(&log)
            .iter()
            .find(|n| n["descriptor"]["id"] == NOT_READ)
            .unwrap();
        assert_eq!(n["level"], "error");
        assert_eq!(
            n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "a.json"
        );
        assert!(
            !run(&log)["results"].as_array().unwrap().is_empty(),
            "the other file's results are still there"
        );
    }

    #[test]
    fn a_file_is_a_relative_uri_reference_as_given() {
        assert_eq!(uri("infra/tfplan.json"), "infra/tfplan.json");
        assert_eq!(uri(r"infra\stacks\app.yaml"), "infra/stacks/app.yaml");
        assert_eq!(uri("a b#c?.json"), "a%20b%23c%3F.json");
        assert_eq!(uri("C:/x.json"), "C%3A/x.json");
        assert_eq!(uri("é.json"), "%C3%A9.json");
    }
}
