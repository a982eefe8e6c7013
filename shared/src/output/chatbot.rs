//! The alert as a custom notification for AWS Chatbot (Amazon Q Developer in
//! chat applications), published on a topic of its own for Slack and Teams
//! channels (DESIGN §13). Its schema: `version` "1.0", `source` "custom" and
//! `content.description` are required; `id`, `content.textType`, `title`,
//! `nextSteps`, `keywords` and `metadata` (`threadId`, `summary`,
//! `eventType`, `relatedResources`, `additionalContext`) are optional.
//!
//! Short on purpose: what happened, its severity, the resource, the account
//! and region, who, each finding (a few), what was done, the event id. It
//! shows only what the SNS alert's text shows: the findings' details are
//! redacted by the rules (a secret is never repeated).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::output::notify::subject;
use crate::report::Report;

/// The schema's version and source.
pub const VERSION: &str = "1.0";
pub const SOURCE: &str = "custom";
/// How many findings, outcomes and next steps the message lists.
const LISTED: usize = 5;
const STEPS: usize = 3;
/// The description stays well inside what a chat message shows.
pub const DESCRIPTION_MAX: usize = 3500;

/// A Chatbot custom notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub version: &'static str,
    pub source: &'static str,
    pub id: String,
    pub content: Content,
    pub metadata: Metadata,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    pub text_type: &'static str,
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next_steps: Vec<String>,
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// One thread per resource and place.
    pub thread_id: String,
    pub summary: String,
    pub event_type: String,
    pub related_resources: Vec<String>,
    pub additional_context: BTreeMap<String, String>,
}

impl ChatMessage {
    /// The message for the report the SNS alert carried.
    pub fn render(report: &Report) -> ChatMessage {
        let title = subject(report);
        let resource = report.resource.as_deref().unwrap_or("unknown resource");
        let severity = report
            .alert_severity()
            .map_or("INFO".to_string(), |s| s.as_str().to_ascii_uppercase());
        let mut steps: Vec<String> = Vec::new();
        for f in &report.findings {
            if steps.len() < STEPS && !steps.iter().any(|s| s == f.remediation) {
                steps.push(f.remediation.to_string());
            }
        }
        let mut keywords = vec![severity.clone()];
        for f in &report.findings {
            if keywords.len() < 8 && !keywords.iter().any(|k| k == f.rule) {
                keywords.push(f.rule.to_string());
            }
        }
        let mut related = vec![resource.to_string()];
        for r in report.findings.iter().filter_map(|f| f.resource.as_deref()) {
            if related.len() < LISTED && !related.iter().any(|x| x == r) {
                related.push(r.to_string());
            }
        }
        let context: BTreeMap<String, String> = [
            ("account", report.account.as_str()),
            ("region", report.region.as_str()),
            ("eventId", report.event_id.as_str()),
            ("eventName", report.event_name.as_str()),
            ("severity", severity.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        ChatMessage {
            version: VERSION,
            source: SOURCE,
            id: report.event_id.clone(),
            content: Content {
                text_type: "client-markdown",
                title: title.clone(),
                description: description(report, &severity, LISTED),
                next_steps: steps,
                keywords,
            },
            metadata: Metadata {
                thread_id: format!(
                    "ecs-access-guard/{}/{}/{resource}",
                    report.account, report.region
                ),
                summary: title,
                event_type: report.event_name.clone(),
                related_resources: related,
                additional_context: context,
            },
        }
    }

    /// The SNS message (plain, not `MessageStructure=json`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            serde_json::json!({"version": VERSION, "source": SOURCE,
                "content": {"description": "ecs-access-guard: the alert could not be rendered for chat; see the SNS alert."}})
            .to_string()
        })
    }
}

/// Markdown, at most [`DESCRIPTION_MAX`] characters (fewer findings listed
/// until it fits).
fn description(report: &Report, severity: &str, listed: usize) -> String {
    let mut out = String::new();
    let resource = report.resource.as_deref().unwrap_or("unknown resource");
    let _ = writeln!(out, "*{severity}* {} on `{resource}`", report.event_name);
    let _ = writeln!(
        out,
        "*Where:* account {}, {}",
        report.account, report.region
    );
    let _ = writeln!(
        out,
        "*Who:* {}",
        report.actor.as_deref().unwrap_or("unknown principal")
    );
    if let Some(problem) = &report.unevaluated {
        let _ = writeln!(out, "*Could not evaluate:* {problem}");
    }
    if !report.findings.is_empty() {
        let _ = writeln!(out, "*Findings ({}):*", report.findings.len());
        for f in report.findings.iter().take(listed) {
            let on = f
                .resource
                .as_deref()
                .map(|r| format!("{r}: "))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "• [{}] {} {}: {on}{}",
                f.severity.as_str().to_ascii_uppercase(),
                f.rule,
                f.title,
                f.detail
            );
        }
        if report.findings.len() > listed {
            let _ = writeln!(
                out,
                "• … and {} more (in the SNS alert)",
                report.findings.len() - listed
            );
        }
    }
    if !report.resolved.is_empty() {
        let _ = writeln!(out, "*Resolved:* {} findings", report.resolved.len());
    }
    if !report.outcomes.is_empty() {
        let done: Vec<String> = report
            .outcomes
            .iter()
            .take(listed)
            .map(|o| format!("{}: {}", o.rule_id, o.phrase()))
            .collect();
        let more = report.outcomes.len().saturating_sub(listed);
        let more = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        let _ = writeln!(out, "*Done:* {}{more}", done.join("; "));
        for restore in report
            .outcomes
            .iter()
            .filter_map(|o| o.restore.as_deref())
            .take(listed)
        {
            let _ = writeln!(out, "*Undo:* `{restore}`");
        }
    }
    if let Some(exempt) = &report.exempt_with {
        let _ = writeln!(out, "*Exempt:* `{exempt}`");
    }
    for link in report.links.iter().take(listed.max(1)) {
        let _ = writeln!(out, "{}: {}", link.label, link.url);
    }
    let _ = write!(out, "*Event:* {}", report.event_id);
    if out.chars().count() > DESCRIPTION_MAX {
        if listed > 0 {
            return description(report, severity, listed / 2);
        }
        return out.chars().take(DESCRIPTION_MAX - 1).collect::<String>() + "…";
    }
    out
}

/// What `doc` breaks of Chatbot's custom notification schema: the required
/// fields (`version` "1.0", `source` "custom", a non-empty
/// `content.description`) and the documented types of the optional ones.
/// Empty when it follows it.
pub fn schema_problems(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if doc["version"] != "1.0" {
        problems.push(format!("version is {}, not \"1.0\"", doc["version"]));
    }
    if doc["source"] != "custom" {
        problems.push(format!("source is {}, not \"custom\"", doc["source"]));
    }
    if doc["content"]["description"]
        .as_str()
        .is_none_or(|d| d.trim().is_empty())
    {
        problems.push("content.description is not a non-empty string".to_string());
    }
    let string_or_absent = |v: &Value| v.is_null() || v.is_string();
    let strings_or_absent =
        |v: &Value| v.is_null() || v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    for (path, v) in [
        ("id", &doc["id"]),
        ("content.title", &doc["content"]["title"]),
        ("metadata.threadId", &doc["metadata"]["threadId"]),
        ("metadata.summary", &doc["metadata"]["summary"]),
        ("metadata.eventType", &doc["metadata"]["eventType"]),
    ] {
        if !string_or_absent(v) {
            problems.push(format!("{path} is not a string"));
        }
    }
    if !matches!(
        doc["content"]["textType"].as_str(),
        None | Some("client-markdown")
    ) || !string_or_absent(&doc["content"]["textType"])
    {
        problems.push("content.textType is not \"client-markdown\"".to_string());
    }
    for (path, v) in [
        ("content.nextSteps", &doc["content"]["nextSteps"]),
        ("content.keywords", &doc["content"]["keywords"]),
        (
            "metadata.relatedResources",
            &doc["metadata"]["relatedResources"],
        ),
    ] {
        if !strings_or_absent(v) {
            problems.push(format!("{path} is not a list of strings"));
        }
    }
    let context = &doc["metadata"]["additionalContext"];
    if !(context.is_null()
        || context
            .as_object()
            .is_some_and(|o| o.values().all(Value::is_string)))
    {
        problems.push("metadata.additionalContext does not map strings to strings".to_string());
    }
    problems
}

/// Checks a message against the custom notification schema.
#[cfg(test)]
pub(crate) fn assert_chatbot_schema(message: &str) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_str(message).expect("JSON");
    assert_eq!(schema_problems(&doc), Vec::<String>::new(), "{message}");
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Event;
    use crate::policy::Policy;
    use serde_json::Value;

    /// The raw values `events/td-aws-keys-in-env.json` carries.
    const SECRETS: [&str; 2] = [
        "AKIAQ3EGRJ7XKZ2MN4PL",
        "q8Zr3LmX/T2vN9pKc7Wd+Hs4Jf6Gb1Ye5Ua0Ri8O",
    ];

    fn report() -> Report {
        let path = format!(
            "{}/../events/td-aws-keys-in-env.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let event = Event::from_value(&value, "td-aws-keys-in-env.json").unwrap();
        crate::guards::task_definition::evaluate_offline(&event, &Policy::embedded()).unwrap()
    }

    #[test]
    fn the_schema_check_names_what_a_message_breaks() {
        let doc = serde_json::json!({"version": "2", "content": {"description": " ",
            "textType": 7, "keywords": [1]}, "metadata": {"additionalContext": {"a": 1}}});
        let problems = schema_problems(&doc);
        for needle in [
            "version",
            "source",
            "content.description",
            "content.textType",
            "content.keywords",
            "metadata.additionalContext",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(needle)),
                "{needle}: {problems:?}"
            );
        }
        assert_eq!(problems.len(), 6, "{problems:?}");
    }

    #[test]
    fn the_message_follows_the_schema_and_says_what_where_who() {
        let report = report();
        let message = ChatMessage::render(&report).to_json();
        let doc = assert_chatbot_schema(&message);
        let description = doc["content"]["description"].as_str().unwrap();
        for needle in [
            "RegisterTaskDefinition",
            report.resource.as_deref().unwrap(),
            "account 111122223333, eu-west-1",
            "ECS-TD-007",
            &report.event_id,
        ] {
            assert!(
                description.contains(needle),
                "{needle} not in\n{description}"
            );
        }
        assert_eq!(doc["content"]["title"], subject(&report));
        assert_eq!(doc["id"], report.event_id.as_str());
        assert_eq!(doc["metadata"]["eventType"], "RegisterTaskDefinition");
        assert_eq!(
            doc["metadata"]["additionalContext"]["account"],
            "111122223333"
        );
        assert!(doc["content"]["keywords"][0]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_uppercase()));
    }

    #[test]
    fn no_secret_is_repeated() {
        let message = ChatMessage::render(&report()).to_json();
        for secret in SECRETS {
            assert!(!message.contains(secret), "a secret reached chat");
        }
        assert!(message.contains("AKIA"), "the redacted form is shown");
    }

    #[test]
    fn a_large_report_stays_short() {
        let mut report = report();
        let one = report.findings[0].clone();
        report.findings = (0..500)
            .map(|i| {
                let mut f = one.clone();
                f.detail = format!("{} #{i} {}", one.detail, "z".repeat(100));
                f
            })
            .collect();
        let doc = assert_chatbot_schema(&ChatMessage::render(&report).to_json());
        let description = doc["content"]["description"].as_str().unwrap();
        assert!(description.chars().count() <= DESCRIPTION_MAX);
        assert!(description.contains("Findings (500)") && description.contains("more"));
    }
}
