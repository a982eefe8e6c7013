//! The retro scan: the organization's trail read where it lies, a batch of
//! its objects at a time, by the same reader and rules as `check`.
//!
//! A Step Functions Distributed Map lists the trail bucket (or reads an S3
//! Inventory manifest) and hands each child a [`Batch`] of objects; the
//! `retro-scan` function reads each one and writes, to the results bucket,
//! its findings as JSON Lines partitioned by the event's account, region and
//! UTC day ([`findings_key`]), and the batch's [`BatchSummary`]. A last step
//! ([`aggregate`]) adds the summaries up for one SNS summary of the run.
//!
//! Nothing is dropped: an object that could not be read, or not whole, is
//! named in the summary with why; objects left when the invocation's time
//! runs out are named as not read; a batch that failed is named with its
//! objects by the aggregate, from the Map's result files.
//!
//! Layer: guards (with `guards`, `sweep`, `map`, `before`).

pub mod aggregate;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::Date;

use crate::model::event::{Event, ParseError, Want};
use crate::model::stream::{read_stream_with, Contents};
use crate::policy::Policy;
use crate::ports::{AwsError, Objects};
use crate::report::Report;

pub use aggregate::{aggregate, RunSummary};

/// Where the findings go in the results bucket (the Athena table's location).
pub const FINDINGS_PREFIX: &str = "findings/";
/// Where the summaries go, one folder per run.
pub const SUMMARIES_PREFIX: &str = "summaries/";
/// Time kept back to write what was read: past it, the objects left are
/// named as not read rather than risk the invocation's end.
pub const RESERVE: Duration = Duration::from_secs(20);
/// Why an object left at the deadline was not read.
pub const OUT_OF_TIME: &str = "not read: the invocation's time ran out first";
/// How long an Express child workflow may run, its retries included.
pub const EXPRESS_LIMIT: Duration = Duration::from_secs(300);

/// What the Map's item batcher hands one child execution.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Batch {
    #[serde(rename = "Items")]
    pub items: Vec<Item>,
    #[serde(rename = "BatchInput")]
    pub input: BatchInput,
    /// When the child execution started (RFC 3339): an Express child lasts
    /// at most [`EXPRESS_LIMIT`] from then, its retries included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
}

/// One object: from the bucket's listing (`Key`, `Size`, …) or from an S3
/// Inventory manifest (`Bucket`, `Key`, …, keys URL-encoded).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Item {
    #[serde(rename = "Bucket", default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(rename = "Key")]
    pub key: String,
}

/// What every batch of a run shares (the state machine's `BatchInput`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BatchInput {
    /// The execution's name: the run.
    pub run: String,
    /// The trail bucket the listing read.
    pub bucket: String,
    /// The first and last UTC day to read (`YYYY-MM-DD`), by the key's date
    /// folder; absent or null: no bound.
    #[serde(default)]
    pub since: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
}

/// Why a batch failed as a whole (its input is malformed, or its results
/// could not be written): the Map retries it, then the aggregate names its
/// objects and counts it against the tolerated failures.
#[derive(Debug, thiserror::Error)]
pub enum RetroError {
    #[error("{origin}: field {field}: {problem}")]
    Input {
        origin: String,
        field: &'static str,
        problem: String,
    },
    #[error("{what}: {source}")]
    Aws { what: String, source: AwsError },
}

/// An object not read, or not whole, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedObject {
    pub bucket: String,
    pub key: String,
    pub problem: String,
    /// Records of it that could not be judged (0: it was not read at all).
    pub errors: u64,
}

/// What one batch read and found: written beside its findings and returned
/// to the Map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub run: String,
    pub batch: String,
    /// Objects in the batch.
    pub objects: u64,
    /// Objects read whole.
    pub read: u64,
    /// Objects whose key's day is outside the run's dates: not read.
    pub outside_dates: u64,
    pub bytes: u64,
    pub events: u64,
    /// Events a guard handles (judged by the rules).
    pub judged: u64,
    pub findings: u64,
    pub digests: u64,
    /// JSON without any field of a CloudTrail record.
    pub not_events: u64,
    pub by_rule: BTreeMap<String, u64>,
    pub by_severity: BTreeMap<String, u64>,
    pub by_account: BTreeMap<String, u64>,
    pub by_region: BTreeMap<String, u64>,
    /// Objects that could not be read, or not whole.
    pub failed: Vec<FailedObject>,
    /// Objects left when the time ran out.
    pub unread: Vec<FailedObject>,
    /// The findings' objects written.
    pub written: Vec<String>,
}

impl BatchSummary {
    /// Adds `other`'s counts and lists to these.
    pub fn add(&mut self, other: &BatchSummary) {
        self.objects += other.objects;
        self.read += other.read;
        self.outside_dates += other.outside_dates;
        self.bytes += other.bytes;
        self.events += other.events;
        self.judged += other.judged;
        self.findings += other.findings;
        self.digests += other.digests;
        self.not_events += other.not_events;
        for (mine, theirs) in [
            (&mut self.by_rule, &other.by_rule),
            (&mut self.by_severity, &other.by_severity),
            (&mut self.by_account, &other.by_account),
            (&mut self.by_region, &other.by_region),
        ] {
            for (name, n) in theirs {
                *mine.entry(name.clone()).or_default() += n;
            }
        }
        self.failed.extend(other.failed.iter().cloned());
        self.unread.extend(other.unread.iter().cloned());
        self.written.extend(other.written.iter().cloned());
    }
}

/// One finding, one line of JSON Lines: flat, for Athena.
#[derive(Debug, Serialize)]
struct Line<'a> {
    run: &'a str,
    account: &'a str,
    region: &'a str,
    date: &'a str,
    event_time: &'a str,
    event_id: &'a str,
    event_name: &'a str,
    actor: Option<&'a str>,
    source_ip: Option<&'a str>,
    resource: Option<&'a str>,
    rule: &'a str,
    severity: &'a str,
    title: &'a str,
    detail: &'a str,
    object: &'a str,
}

/// The partition of a finding: the event's account, region and UTC day;
/// a value that is not one (which a key must never carry) is `unknown`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Partition {
    account: String,
    region: String,
    date: String,
}

impl Partition {
    fn of(report: &Report) -> Partition {
        let account =
            if report.account.len() == 12 && report.account.bytes().all(|b| b.is_ascii_digit()) {
                report.account.clone()
            } else {
                "unknown".to_string()
            };
        let region = if (1..=32).contains(&report.region.len())
            && report
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            report.region.clone()
        } else {
            "unknown".to_string()
        };
        let date = report
            .event_time
            .get(..10)
            .and_then(|day| parse_day(day).ok())
            .map_or_else(|| "unknown".to_string(), |d| d.to_string());
        Partition {
            account,
            region,
            date,
        }
    }
}

/// Where a batch's findings of one partition go.
pub fn findings_key(account: &str, region: &str, date: &str, run: &str, batch: &str) -> String {
    format!("{FINDINGS_PREFIX}account={account}/region={region}/date={date}/{run}-{batch}.jsonl")
}

/// The folder of a run's summaries.
pub fn summaries_prefix(run: &str) -> String {
    format!("{SUMMARIES_PREFIX}run={run}/")
}

/// Where a batch's summary goes.
pub fn summary_key(run: &str, batch: &str) -> String {
    format!("{}{batch}.json", summaries_prefix(run))
}

/// A batch's name: the same objects make the same name, so a batch run
/// again writes over its own results and is never counted twice.
pub fn batch_id(batch: &Batch) -> String {
    let mut hash = Sha256::new();
    for item in &batch.items {
        hash.update(item.bucket.as_deref().unwrap_or(&batch.input.bucket));
        hash.update(b"\n");
        hash.update(&item.key);
        hash.update(b"\n");
    }
    hash.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_day(text: &str) -> Result<Date, time::error::Parse> {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
}

/// A run's name as keys carry it: what Step Functions allows in an
/// execution's name, short of the characters a key or a partition would
/// misread.
fn check_run(run: &str, origin: &str) -> Result<(), RetroError> {
    if (1..=80).contains(&run.len())
        && run
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(RetroError::Input {
            origin: origin.to_string(),
            field: "BatchInput.run",
            problem: format!("{run:?} is not a run name (1 to 80 of A-Z a-z 0-9 - _)"),
        })
    }
}

/// The UTC day of a CloudTrail log file's key, from its date folder
/// (`…/CloudTrail/REGION/YYYY/MM/DD/…`); `None` for any other key.
pub fn key_day(key: &str) -> Option<Date> {
    let parts: Vec<&str> = key.split('/').collect();
    let at = parts.iter().position(|p| *p == "CloudTrail")?;
    let [year, month, day] = [parts.get(at + 2)?, parts.get(at + 3)?, parts.get(at + 4)?];
    if parts.len() < at + 6 {
        return None;
    }
    parse_day(&format!("{year}-{month}-{day}")).ok()
}

/// Decodes an S3 Inventory key (URL-encoded); `None` when it is not valid
/// percent-encoding of UTF-8.
fn inventory_key(key: &str) -> Option<String> {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// One batch's scan: where to read and write, with which rules, and the
/// time left.
pub struct Scan<'a> {
    pub objects: &'a dyn Objects,
    /// The results bucket.
    pub results: &'a str,
    pub policy: &'a Policy,
    pub today: Date,
    /// Time left before the invocation's deadline.
    pub time_left: &'a (dyn Fn() -> Duration + Send + Sync),
}

/// What reading one object gave.
#[derive(Default)]
struct Read {
    summary: BatchSummary,
    errors: Vec<String>,
}

impl Scan<'_> {
    /// Reads and judges every object of the batch, writes its findings and
    /// its summary to the results bucket, and returns the summary. An error
    /// is the batch's: its input is malformed, or its results could not be
    /// written (the batch's keys are its own, so a retry writes over them).
    pub async fn batch(&self, batch: &Batch, origin: &str) -> Result<BatchSummary, RetroError> {
        let input = &batch.input;
        check_run(&input.run, origin)?;
        let bound = |field: &'static str, value: &Option<String>| match value {
            None => Ok(None),
            Some(text) => parse_day(text).map(Some).map_err(|e| RetroError::Input {
                origin: origin.to_string(),
                field,
                problem: format!("{text:?} is not a day (YYYY-MM-DD): {e}"),
            }),
        };
        let since = bound("BatchInput.since", &input.since)?;
        let until = bound("BatchInput.until", &input.until)?;
        let id = batch_id(batch);
        // A batch run again after its summary was written (its result lost
        // on the way back): the summary stands, nothing is read twice.
        if let Ok(body) = self
            .objects
            .get(self.results, &summary_key(&input.run, &id))
            .await
        {
            if let Ok(done) = serde_json::from_slice::<BatchSummary>(&body) {
                return Ok(done);
            }
        }
        let mut summary = BatchSummary {
            run: input.run.clone(),
            batch: id.clone(),
            objects: batch.items.len() as u64,
            ..BatchSummary::default()
        };
        let mut lines: BTreeMap<Partition, String> = BTreeMap::new();
        for (n, item) in batch.items.iter().enumerate() {
            let bucket = item.bucket.as_deref().unwrap_or(&input.bucket);
            let key = match item.bucket {
                Some(_) => inventory_key(&item.key).ok_or_else(|| RetroError::Input {
                    origin: origin.to_string(),
                    field: "Items[].Key",
                    problem: format!("item {n}: not a URL-encoded key"),
                })?,
                None => item.key.clone(),
            };
            if let Some(day) = key_day(&key) {
                if since.is_some_and(|s| day < s) || until.is_some_and(|u| day > u) {
                    summary.outside_dates += 1;
                    continue;
                }
            }
            if (self.time_left)() < RESERVE {
                summary.unread.push(FailedObject {
                    bucket: bucket.to_string(),
                    key,
                    problem: OUT_OF_TIME.to_string(),
                    errors: 0,
                });
                continue;
            }
            let body = match self.objects.get(bucket, &key).await {
                Ok(body) => body,
                // Throttled or unavailable past the SDK's retries: named as
                // not read, for another run, rather than the whole batch
                // retried inside the child's five minutes.
                Err(e) if e.retryable => {
                    summary.unread.push(FailedObject {
                        bucket: bucket.to_string(),
                        key,
                        problem: format!("not read: {e}"),
                        errors: 0,
                    });
                    continue;
                }
                Err(e) => {
                    summary.failed.push(FailedObject {
                        bucket: bucket.to_string(),
                        key,
                        problem: format!("cannot read: {e}"),
                        errors: 0,
                    });
                    continue;
                }
            };
            let name = format!("s3://{bucket}/{key}");
            let read = self.read(&body, &name, &key, &input.run, &mut lines);
            summary.add(&read.summary);
            summary.bytes += body.len() as u64;
            match read.errors.first() {
                None => summary.read += 1,
                Some(first) => summary.failed.push(FailedObject {
                    bucket: bucket.to_string(),
                    key,
                    problem: first.clone(),
                    errors: read.errors.len() as u64,
                }),
            }
        }
        for (partition, text) in lines {
            let key = findings_key(
                &partition.account,
                &partition.region,
                &partition.date,
                &input.run,
                &id,
            );
            self.put(&key, text.into_bytes()).await?;
            summary.written.push(key);
        }
        let body = serde_json::to_vec(&summary).map_err(|e| RetroError::Input {
            origin: origin.to_string(),
            field: "summary",
            problem: e.to_string(),
        })?;
        self.put(&summary_key(&input.run, &id), body).await?;
        Ok(summary)
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), RetroError> {
        self.objects
            .put(self.results, key, body)
            .await
            .map_err(|source| RetroError::Aws {
                what: format!("s3://{}/{key}", self.results),
                source,
            })
    }

    /// Reads one object's bytes (gzipped or not) as `check` reads a file:
    /// every record judged, its findings added to `lines`.
    fn read(
        &self,
        body: &[u8],
        name: &str,
        key: &str,
        run: &str,
        lines: &mut BTreeMap<Partition, String>,
    ) -> Read {
        let mut read = Read::default();
        let want = |event_name: &str| {
            if crate::guards::offline::is_guarded(event_name) {
                Want::Everything
            } else {
                Want::Nothing
            }
        };
        let contents = read_stream_with(body, name, want, |parsed| {
            self.record(parsed, key, run, &mut read, lines);
        });
        match contents {
            Contents::Events => {}
            Contents::Digest => read.summary.digests += 1,
            Contents::NotEvents => read.summary.not_events += 1,
        }
        read
    }

    fn record(
        &self,
        parsed: Result<Option<Event>, ParseError>,
        key: &str,
        run: &str,
        read: &mut Read,
        lines: &mut BTreeMap<Partition, String>,
    ) {
        let report = match parsed {
            Ok(None) => {
                read.summary.events += 1;
                return;
            }
            Ok(Some(event)) => crate::guards::offline::evaluate(&event, self.policy, self.today),
            Err(e) => Err(e),
        };
        let report = match report {
            Ok(report) => report,
            Err(e) => {
                read.errors.push(e.to_string());
                return;
            }
        };
        let summary = &mut read.summary;
        summary.events += 1;
        if report.is_not_handled() {
            return;
        }
        summary.judged += 1;
        if report.findings.is_empty() {
            return;
        }
        let partition = Partition::of(&report);
        let mut unwritten = Vec::new();
        let text = lines.entry(partition.clone()).or_default();
        for f in &report.findings {
            summary.findings += 1;
            for (counts, name) in [
                (&mut summary.by_rule, f.rule),
                (&mut summary.by_severity, f.severity.as_str()),
                (&mut summary.by_account, &partition.account),
                (&mut summary.by_region, &partition.region),
            ] {
                *counts.entry(name.to_string()).or_default() += 1;
            }
            let line = Line {
                run,
                account: &partition.account,
                region: &partition.region,
                date: &partition.date,
                event_time: &report.event_time,
                event_id: &report.event_id,
                event_name: &report.event_name,
                actor: report.actor.as_deref(),
                source_ip: report.source_ip.as_deref(),
                resource: f.resource.as_deref().or(report.resource.as_deref()),
                rule: f.rule,
                severity: f.severity.as_str(),
                title: f.title,
                detail: &f.detail,
                object: key,
            };
            match serde_json::to_string(&line) {
                Ok(json) => {
                    text.push_str(&json);
                    text.push('\n');
                }
                Err(e) => unwritten.push(format!(
                    "{}: {}: cannot write: {e}",
                    report.event_id, f.rule
                )),
            }
        }
        read.errors.extend(unwritten);
    }
}
