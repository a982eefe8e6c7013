//! The run's last step: every batch's summary added up, the batches that
//! failed named with their objects (from the Map's result files), one
//! summary written beside the batches' and one SNS summary of the run.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    check_run, summaries_prefix, Batch, BatchSummary, FailedObject, RetroError, FINDINGS_PREFIX,
};
use crate::finding::Severity;
use crate::output::notify::{cut, Notification, SUBJECT_MAX};
use crate::ports::Objects;

/// Failed objects and batches the alert lists by name (the summary object
/// has them all).
const LISTED: usize = 20;

/// A batch the Map gave up on (or never ran): its objects were not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedBatch {
    /// `FAILED`, `PENDING`, … as the Map's result file says.
    pub status: String,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// Its objects as `s3://bucket/key`; `None`: the result file does not
    /// carry the batch's input, so they cannot be named.
    pub objects: Option<Vec<String>>,
}

/// The run: every batch added up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run: String,
    /// Every object was read whole, every batch ran, and the Map finished.
    pub complete: bool,
    /// More batches failed than the run tolerates: the run fails.
    pub exceeded: bool,
    /// Why not, one line each.
    pub incomplete: Vec<String>,
    /// Batches whose summaries were read.
    pub batches: u64,
    pub totals: BatchSummary,
    pub failed_batches: Vec<FailedBatch>,
    /// Where the findings and this summary are.
    pub findings: String,
    pub summary: String,
}

/// The Result Writer's manifest (`manifest.json`).
#[derive(Deserialize)]
struct Manifest {
    #[serde(rename = "ResultFiles", default)]
    result_files: std::collections::BTreeMap<String, Vec<ResultFile>>,
}

#[derive(Deserialize)]
struct ResultFile {
    #[serde(rename = "Key")]
    key: String,
}

/// One child execution in a result file.
#[derive(Deserialize)]
struct Execution {
    #[serde(rename = "Status", default)]
    status: Option<String>,
    #[serde(rename = "Input", default)]
    input: Option<String>,
    #[serde(rename = "Error", default)]
    error: Option<String>,
    #[serde(rename = "Cause", default)]
    cause: Option<String>,
    #[serde(rename = "Output", default)]
    output: Option<String>,
}

fn aws(what: String) -> impl FnOnce(crate::ports::AwsError) -> RetroError {
    move |source| RetroError::Aws { what, source }
}

fn malformed(origin: &str, field: &'static str, problem: impl ToString) -> RetroError {
    RetroError::Input {
        origin: origin.to_string(),
        field,
        problem: problem.to_string(),
    }
}

/// Adds up run `run`: from the Map's result files when its output (`map`)
/// has `ResultWriterDetails` — each child's output is its batch's summary;
/// the batches of the other files failed, named with their objects — and
/// on the catch path (`map` is the Map's error) from the batches' own
/// summaries. More failed batches than `tolerated` percent of them make
/// the run `exceeded`. Writes `summaries/run=RUN/summary.json`.
pub async fn aggregate(
    objects: &dyn Objects,
    results: &str,
    run: &str,
    map: &Value,
    tolerated: f64,
) -> Result<RunSummary, RetroError> {
    let origin = format!("aggregate of run {run}");
    check_run(run, &origin)?;
    let prefix = summaries_prefix(run);
    let summary_key = format!("{prefix}summary.json");
    let mut totals = BatchSummary {
        run: run.to_string(),
        ..BatchSummary::default()
    };
    let mut batches = 0;
    let mut incomplete = Vec::new();
    let mut failed_batches = Vec::new();
    let mut add = |totals: &mut BatchSummary, batch: &BatchSummary| {
        totals.add(batch);
        // The keys written stay in each batch's summary: a run's would be
        // one per partition and batch.
        totals.written.clear();
        batches += 1;
    };
    if let Some(details) = map.get("ResultWriterDetails") {
        let bucket = details.get("Bucket").and_then(Value::as_str);
        let key = details.get("Key").and_then(Value::as_str);
        let (Some(bucket), Some(key)) = (bucket, key) else {
            return Err(malformed(
                &origin,
                "map.ResultWriterDetails",
                "no Bucket and Key",
            ));
        };
        let body = objects
            .get(bucket, key)
            .await
            .map_err(aws(format!("s3://{bucket}/{key}")))?;
        let manifest: Manifest = serde_json::from_slice(&body)
            .map_err(|e| malformed(&format!("s3://{bucket}/{key}"), "ResultFiles", e))?;
        for (status, files) in &manifest.result_files {
            for file in files {
                let body = objects
                    .get(bucket, &file.key)
                    .await
                    .map_err(aws(format!("s3://{bucket}/{}", file.key)))?;
                let executions: Vec<Execution> = serde_json::from_slice(&body).map_err(|e| {
                    malformed(&format!("s3://{bucket}/{}", file.key), "(executions)", e)
                })?;
                for execution in executions {
                    let summary = execution
                        .output
                        .as_deref()
                        .filter(|_| status == "SUCCEEDED")
                        .and_then(|o| serde_json::from_str::<BatchSummary>(o).ok());
                    match summary {
                        Some(summary) => add(&mut totals, &summary),
                        None => failed_batches.push(failed_batch(status, execution)),
                    }
                }
            }
        }
    } else if let Some(error) = map.get("Error") {
        let cause = map.get("Cause").and_then(Value::as_str).unwrap_or("");
        incomplete.push(format!(
            "the Map run failed: {}: {cause}; only the batches that wrote their summary are counted",
            error.as_str().unwrap_or("unknown error")
        ));
        let keys = objects
            .list(results, &prefix)
            .await
            .map_err(aws(format!("s3://{results}/{prefix}")))?;
        for key in keys.iter().filter(|k| **k != summary_key) {
            let body = objects
                .get(results, key)
                .await
                .map_err(aws(format!("s3://{results}/{key}")))?;
            let batch: BatchSummary = serde_json::from_slice(&body)
                .map_err(|e| malformed(&format!("s3://{results}/{key}"), "(batch summary)", e))?;
            add(&mut totals, &batch);
        }
    } else {
        return Err(malformed(
            &origin,
            "map",
            "neither ResultWriterDetails nor Error: not the Map state's output",
        ));
    }
    let all = batches + failed_batches.len() as u64;
    let failed_percent = if all == 0 {
        0.0
    } else {
        failed_batches.len() as f64 * 100.0 / all as f64
    };
    let exceeded = failed_percent > tolerated;
    if !failed_batches.is_empty() {
        incomplete.push(format!(
            "{} of {all} batches failed ({failed_percent:.1} %, {} tolerated): their objects were not read",
            failed_batches.len(),
            if exceeded { format!("more than the {tolerated} %") } else { format!("within the {tolerated} %") }
        ));
    }
    if all == 0 {
        // Nothing listed is not "nothing found": the prefix or the
        // manifest named no object.
        incomplete.push(
            "no batch ran: the prefix or the manifest named no object, so nothing was read"
                .to_string(),
        );
    }
    if !totals.failed.is_empty() {
        incomplete.push(format!(
            "{} objects could not be read, or not whole",
            totals.failed.len()
        ));
    }
    if !totals.unread.is_empty() {
        incomplete.push(format!(
            "{} objects were not read before their batch's time ran out",
            totals.unread.len()
        ));
    }
    let summary = RunSummary {
        run: run.to_string(),
        complete: incomplete.is_empty(),
        exceeded,
        incomplete,
        batches,
        totals,
        failed_batches,
        findings: format!("s3://{results}/{FINDINGS_PREFIX}"),
        summary: format!("s3://{results}/{summary_key}"),
    };
    let body = serde_json::to_vec(&summary).map_err(|e| malformed(&origin, "summary", e))?;
    objects
        .put(results, &summary_key, body)
        .await
        .map_err(aws(format!("s3://{results}/{summary_key}")))?;
    Ok(summary)
}

/// A child execution that did not succeed (or whose output is not a
/// batch summary) as a failed batch, its objects named from its input.
fn failed_batch(status: &str, execution: Execution) -> FailedBatch {
    let batch = execution
        .input
        .as_deref()
        .and_then(|input| serde_json::from_str::<Batch>(input).ok());
    FailedBatch {
        status: execution.status.unwrap_or_else(|| status.to_string()),
        error: execution.error,
        cause: execution.cause,
        objects: batch.map(|b| {
            b.items
                .iter()
                .map(|item| {
                    format!(
                        "s3://{}/{}",
                        item.bucket.as_deref().unwrap_or(&b.input.bucket),
                        item.key
                    )
                })
                .collect()
        }),
    }
}

impl RunSummary {
    /// The highest severity found.
    fn top(&self) -> Option<Severity> {
        Severity::ALL
            .iter()
            .rev()
            .find(|s| self.totals.by_severity.contains_key(s.as_str()))
            .copied()
    }

    fn subject(&self) -> String {
        let t = &self.totals;
        let mut subject = format!(
            "[{}] retro scan {}: {} findings in {} objects",
            self.top()
                .map_or_else(|| "INFO".to_string(), |s| s.as_str().to_uppercase()),
            self.run,
            t.findings,
            t.read
        );
        if !self.complete {
            subject.insert_str(0, "[INCOMPLETE] ");
        }
        cut(&subject, SUBJECT_MAX)
    }

    /// The text for people.
    pub fn text(&self) -> String {
        let t = &self.totals;
        let mut text = String::new();
        let _ = writeln!(text, "Retro scan {} of the trail.", self.run);
        if self.complete {
            let _ = writeln!(text, "Complete: every object was read whole.");
        } else {
            let _ = writeln!(text, "NOT COMPLETE:");
            for why in &self.incomplete {
                let _ = writeln!(text, "- {why}");
            }
        }
        let _ = writeln!(
            text,
            "\nObjects: {} in {} batches; {} read whole ({} bytes), {} outside the dates, {} digest files, {} other JSON.",
            t.objects, self.batches, t.read, t.bytes, t.outside_dates, t.digests, t.not_events
        );
        let _ = writeln!(
            text,
            "Events: {}, {} judged; findings: {}.",
            t.events, t.judged, t.findings
        );
        for (title, counts) in [
            ("By severity", &t.by_severity),
            ("By rule", &t.by_rule),
            ("By account", &t.by_account),
            ("By region", &t.by_region),
        ] {
            if counts.is_empty() {
                continue;
            }
            let mut sorted: Vec<(&String, &u64)> = counts.iter().collect();
            sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let listed: Vec<String> = sorted.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(text, "{title}: {}.", listed.join(", "));
        }
        for (title, list) in [
            ("Not read, or not whole", &t.failed),
            ("Not read (time ran out)", &t.unread),
        ] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(text, "\n{title} ({}):", list.len());
            for f in list.iter().take(LISTED) {
                let _ = writeln!(text, "- s3://{}/{}: {}", f.bucket, f.key, f.problem);
            }
            if list.len() > LISTED {
                let _ = writeln!(
                    text,
                    "- and {} more (the summary lists them all)",
                    list.len() - LISTED
                );
            }
        }
        if !self.failed_batches.is_empty() {
            let _ = writeln!(text, "\nFailed batches ({}):", self.failed_batches.len());
            for b in self.failed_batches.iter().take(LISTED) {
                let objects = b.objects.as_ref().map_or_else(
                    || "objects unknown: the result file does not carry its input".to_string(),
                    |o| {
                        format!(
                            "{} objects, first {}",
                            o.len(),
                            o.first().map_or("-", String::as_str)
                        )
                    },
                );
                let _ = writeln!(
                    text,
                    "- {}: {}: {} ({objects})",
                    b.status,
                    b.error.as_deref().unwrap_or("no error"),
                    b.cause.as_deref().unwrap_or("")
                );
            }
        }
        let _ = writeln!(
            text,
            "\nFindings: {} (JSON Lines, account=/region=/date=; in Athena after MSCK REPAIR TABLE).\nSummary: {}",
            self.findings, self.summary
        );
        text
    }

    /// What machines get: the counts and the first objects not read, the
    /// locations of the rest.
    fn brief(&self) -> Value {
        let t = &self.totals;
        serde_json::json!({
            "run": self.run, "complete": self.complete, "exceeded": self.exceeded,
            "incomplete": self.incomplete,
            "batches": self.batches, "objects": t.objects, "read": t.read,
            "outside_dates": t.outside_dates, "bytes": t.bytes, "events": t.events,
            "judged": t.judged, "findings": t.findings, "digests": t.digests,
            "not_events": t.not_events, "by_rule": t.by_rule, "by_severity": t.by_severity,
            "by_account": t.by_account, "by_region": t.by_region,
            "failed": t.failed.iter().take(LISTED).collect::<Vec<&FailedObject>>(),
            "failed_count": t.failed.len(),
            "unread": t.unread.iter().take(LISTED).collect::<Vec<&FailedObject>>(),
            "unread_count": t.unread.len(),
            "failed_batches": self.failed_batches.len(),
            "findings_location": self.findings, "summary_location": self.summary,
        })
    }

    /// The SNS summary: text for people, the brief for machines.
    pub fn notification(&self) -> Notification {
        Notification::summary(
            self.subject(),
            &self.text(),
            &self.brief().to_string(),
            self.top(),
            "retro_summary",
        )
    }
}
