use std::io::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::ports::fakes::MemoryObjects;

const TRAIL: &str = "trail";
const RESULTS: &str = "results";
const DAY: &str = "2026/11/02";

fn sample(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["detail"].clone()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A log file's key in `account`/`region` on `day` (`YYYY/MM/DD`).
fn key(account: &str, region: &str, day: &str, n: u32) -> String {
    format!("AWSLogs/o-abc/{account}/CloudTrail/{region}/{day}/{account}_CloudTrail_{region}_{n}.json.gz")
}

/// A log file of the sample events `names`.
fn log(names: &[&str]) -> Vec<u8> {
    let records: Vec<Value> = names.iter().map(|n| sample(n)).collect();
    gzip(json!({ "Records": records }).to_string().as_bytes())
}

fn batch(keys: &[String], since: Option<&str>, until: Option<&str>) -> Batch {
    serde_json::from_value(json!({
        "Items": keys.iter().map(|k| json!({"Key": k, "Size": 1, "Etag": "\"x\""})).collect::<Vec<_>>(),
        "BatchInput": {"run": "run-1", "bucket": TRAIL, "since": since, "until": until},
    }))
    .unwrap()
}

async fn scan(
    objects: &MemoryObjects,
    batch: &Batch,
    time_left: Duration,
) -> Result<BatchSummary, RetroError> {
    let policy = Policy::embedded();
    let left = move || time_left;
    Scan {
        objects,
        results: RESULTS,
        policy: &policy,
        today: crate::model::today(),
        time_left: &left,
    }
    .batch(batch, "test batch")
    .await
}

fn lines(objects: &MemoryObjects) -> Vec<(String, Value)> {
    objects
        .keys(RESULTS, FINDINGS_PREFIX)
        .into_iter()
        .flat_map(|k| {
            let body = String::from_utf8(objects.body(RESULTS, &k).unwrap()).unwrap();
            body.lines()
                .map(|l| (k.clone(), serde_json::from_str(l).unwrap()))
                .collect::<Vec<_>>()
        })
        .collect()
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_batch_writes_each_finding_as_a_line_under_its_event_partition_and_its_summary() {
    let objects = MemoryObjects::default();
    let ssh = key("111122223333", "eu-west-1", DAY, 1);
    objects.insert(
        TRAIL,
        &ssh,
        log(&["sg-ssh-open-nested.json", "sg-ssh-private-source.json"]),
    );
    let b = batch(std::slice::from_ref(&ssh), None, None);
    let summary = scan(&objects, &b, HOUR).await.unwrap();

    assert_eq!(
        (
            summary.objects,
            summary.read,
            summary.events,
            summary.judged
        ),
        (1, 1, 2, 2)
    );
    assert!(summary.failed.is_empty() && summary.unread.is_empty());
    let found = lines(&objects);
    assert_eq!(found.len() as u64, summary.findings);
    assert!(summary.findings >= 1);
    let id = batch_id(&b);
    let expected_key = findings_key("111122223333", "eu-west-1", "2026-11-02", "run-1", &id);
    assert_eq!(summary.written, vec![expected_key.clone()]);
    for (k, line) in &found {
        assert_eq!(k, &expected_key);
        assert_eq!(line["account"], "111122223333");
        assert_eq!(line["region"], "eu-west-1");
        assert_eq!(line["date"], "2026-11-02");
        assert_eq!(line["object"], ssh.as_str());
        assert_eq!(line["run"], "run-1");
        assert_eq!(line["event_name"], "AuthorizeSecurityGroupIngress");
    }
    let rules: Vec<&str> = found
        .iter()
        .map(|(_, l)| l["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"EC2-SG-003"),
        "SSH open to the internet: {rules:?}"
    );
    assert_eq!(summary.by_rule.values().sum::<u64>(), summary.findings);
    assert_eq!(summary.by_account["111122223333"], summary.findings);
    let written: BatchSummary =
        serde_json::from_slice(&objects.body(RESULTS, &summary_key("run-1", &id)).unwrap())
            .unwrap();
    assert_eq!(written, summary);
}

#[tokio::test]
async fn an_object_not_read_or_not_whole_is_named_with_why_and_the_rest_still_runs() {
    let objects = MemoryObjects::default();
    let good = key("111122223333", "eu-west-1", DAY, 1);
    let missing = key("111122223333", "eu-west-1", DAY, 2);
    let broken = key("111122223333", "eu-west-1", DAY, 3);
    let denied = key("111122223333", "eu-west-1", DAY, 4);
    objects.insert(TRAIL, &good, log(&["sg-ssh-open-nested.json"]));
    let mut cut = log(&["sg-ssh-open-nested.json", "sg-ssh-open-ipv6.json"]);
    cut.truncate(cut.len() / 2);
    objects.insert(TRAIL, &broken, cut);
    objects.insert(TRAIL, &denied, log(&["sg-ssh-open-nested.json"]));
    objects.fail(&denied, "AccessDenied", false);
    let summary = scan(
        &objects,
        &batch(
            &[good, missing.clone(), broken.clone(), denied.clone()],
            None,
            None,
        ),
        HOUR,
    )
    .await
    .unwrap();

    assert_eq!(summary.read, 1);
    let failed: Vec<(&str, &str)> = summary
        .failed
        .iter()
        .map(|f| (f.key.as_str(), f.problem.as_str()))
        .collect();
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert!(
        failed[0].0 == missing && failed[0].1.contains("NoSuchKey"),
        "{failed:?}"
    );
    assert!(
        failed[1].0 == broken && summary.failed[1].errors >= 1,
        "{failed:?}"
    );
    assert!(
        failed[2].0 == denied && failed[2].1.contains("AccessDenied"),
        "{failed:?}"
    );
    assert!(summary.findings >= 1, "the good object's findings are kept");
}

#[tokio::test]
async fn a_throttled_read_is_named_as_not_read_and_the_batch_goes_on() {
    let objects = MemoryObjects::default();
    let slow = key("111122223333", "eu-west-1", DAY, 1);
    let good = key("111122223333", "eu-west-1", DAY, 2);
    objects.insert(TRAIL, &slow, log(&["sg-ssh-open-nested.json"]));
    objects.insert(TRAIL, &good, log(&["sg-ssh-open-nested.json"]));
    objects.fail(&slow, "SlowDown", true);
    let summary = scan(&objects, &batch(&[slow.clone(), good], None, None), HOUR)
        .await
        .unwrap();
    assert_eq!(summary.read, 1);
    assert_eq!(summary.unread.len(), 1);
    assert_eq!(summary.unread[0].key, slow);
    assert!(
        summary.unread[0].problem.contains("SlowDown"),
        "{:?}",
        summary.unread
    );
}

#[tokio::test]
async fn a_batch_whose_summary_is_written_is_not_read_again() {
    let objects = MemoryObjects::default();
    let k = key("111122223333", "eu-west-1", DAY, 1);
    objects.insert(TRAIL, &k, log(&["sg-ssh-open-nested.json"]));
    let b = batch(std::slice::from_ref(&k), None, None);
    let first = scan(&objects, &b, HOUR).await.unwrap();
    let gets = objects.gets.load(Ordering::SeqCst);
    let again = scan(&objects, &b, HOUR).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(
        objects.gets.load(Ordering::SeqCst),
        gets + 1,
        "only the summary is read"
    );
}

#[tokio::test]
async fn keys_outside_the_dates_are_counted_and_never_read() {
    let objects = MemoryObjects::default();
    let keys: Vec<String> = ["2026/10/31", "2026/11/01", "2026/11/02", "2026/11/03"]
        .iter()
        .enumerate()
        .map(|(n, day)| {
            let k = key("111122223333", "eu-west-1", day, n as u32);
            objects.insert(TRAIL, &k, log(&["sg-ssh-open-nested.json"]));
            k
        })
        .collect();
    let summary = scan(
        &objects,
        &batch(&keys, Some("2026-11-01"), Some("2026-11-02")),
        HOUR,
    )
    .await
    .unwrap();
    assert_eq!((summary.read, summary.outside_dates), (2, 2));
    // The two days read, and the look for an earlier summary of the batch.
    assert_eq!(objects.gets.load(Ordering::SeqCst), 3);
    let bad = scan(&objects, &batch(&keys, Some("November"), None), HOUR)
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("BatchInput.since"), "{bad}");
}

#[tokio::test]
async fn objects_left_when_the_time_runs_out_are_named_as_not_read() {
    let objects = MemoryObjects::default();
    let k = key("111122223333", "eu-west-1", DAY, 1);
    objects.insert(TRAIL, &k, log(&["sg-ssh-open-nested.json"]));
    let summary = scan(
        &objects,
        &batch(std::slice::from_ref(&k), None, None),
        RESERVE - Duration::from_secs(1),
    )
    .await
    .unwrap();
    assert_eq!(summary.read, 0);
    assert_eq!(summary.unread.len(), 1);
    assert_eq!(
        (
            summary.unread[0].key.as_str(),
            summary.unread[0].problem.as_str()
        ),
        (k.as_str(), OUT_OF_TIME)
    );
    assert_eq!(
        objects.gets.load(Ordering::SeqCst),
        1,
        "the earlier summary's only"
    );
}

#[test]
fn the_same_objects_make_the_same_batch() {
    let b = batch(&[key("111122223333", "eu-west-1", DAY, 1)], None, None);
    let same = batch(
        &[key("111122223333", "eu-west-1", DAY, 1)],
        Some("2026-11-01"),
        None,
    );
    let other = batch(&[key("111122223333", "eu-west-1", DAY, 2)], None, None);
    assert_eq!(batch_id(&b), batch_id(&same));
    assert_ne!(batch_id(&b), batch_id(&other));
}

#[test]
fn the_day_of_a_key_is_its_date_folder_and_inventory_keys_are_decoded() {
    let k = key("111122223333", "eu-west-1", DAY, 1);
    assert_eq!(
        key_day(&k).map(|d| d.to_string()),
        Some("2026-11-02".to_string())
    );
    assert_eq!(
        key_day("AWSLogs/o-abc/111122223333/CloudTrail-Digest/eu-west-1/2026/11/02/x.json.gz"),
        None
    );
    assert_eq!(
        key_day("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/"),
        None
    );
    assert_eq!(key_day("notes.txt"), None);
    assert_eq!(
        inventory_key("AWSLogs/a%2Bb+c.json").as_deref(),
        Some("AWSLogs/a+b c.json")
    );
    assert_eq!(inventory_key("AWSLogs/%zz"), None);
}

#[tokio::test]
async fn a_run_name_a_key_would_misread_fails_the_batch() {
    let objects = MemoryObjects::default();
    let mut b = batch(&[], None, None);
    b.input.run = "../x".to_string();
    let err = scan(&objects, &b, HOUR).await.unwrap_err();
    assert!(err.to_string().contains("BatchInput.run"), "{err}");
}

/// The Result Writer's manifest, a SUCCEEDED result file of the batches
/// `done` (their summaries as outputs) and a FAILED one of `failed`.
fn result_files(objects: &MemoryObjects, done: &[BatchSummary], failed: &[Batch]) -> Value {
    let entry = |status: &str, input: String| {
        json!({
            "ExecutionArn": "arn:aws:states:us-east-1:111122223333:execution:retro/x:1",
            "Input": input, "InputDetails": {"Included": true}, "Status": status,
        })
    };
    let succeeded: Vec<Value> = done
        .iter()
        .map(|s| {
            let mut e = entry("SUCCEEDED", "{}".to_string());
            e["Output"] = json!(serde_json::to_string(s).unwrap());
            e
        })
        .collect();
    let failed: Vec<Value> = failed
        .iter()
        .map(|b| {
            let mut e = entry("FAILED", serde_json::to_string(b).unwrap());
            e["Error"] = json!("Lambda.Unknown");
            e["Cause"] = json!("timed out");
            e
        })
        .collect();
    objects.insert(
        RESULTS,
        "results/m1/SUCCEEDED_0.json",
        serde_json::to_vec(&succeeded).unwrap(),
    );
    objects.insert(
        RESULTS,
        "results/m1/FAILED_0.json",
        serde_json::to_vec(&failed).unwrap(),
    );
    let manifest = json!({
        "DestinationBucket": RESULTS, "MapRunArn": "arn:aws:states:us-east-1:111122223333:mapRun:retro/x:m1",
        "ResultFiles": {
            "FAILED": [{"Key": "results/m1/FAILED_0.json", "Size": 1}], "PENDING": [],
            "SUCCEEDED": [{"Key": "results/m1/SUCCEEDED_0.json", "Size": 1}],
        },
    });
    objects.insert(
        RESULTS,
        "results/m1/manifest.json",
        serde_json::to_vec(&manifest).unwrap(),
    );
    json!({"MapRunArn": "arn:…", "ResultWriterDetails": {"Bucket": RESULTS, "Key": "results/m1/manifest.json"}})
}

#[tokio::test]
async fn the_aggregate_adds_the_maps_batches_and_names_the_objects_of_those_that_failed() {
    let objects = MemoryObjects::default();
    let a = key("111122223333", "eu-west-1", DAY, 1);
    let b = key("444455556666", "us-east-1", DAY, 2);
    objects.insert(TRAIL, &a, log(&["sg-ssh-open-nested.json"]));
    objects.insert(TRAIL, &b, log(&["sg-ssh-open-nested.json"]));
    let first = scan(&objects, &batch(&[a], None, None), HOUR)
        .await
        .unwrap();
    let second = scan(&objects, &batch(&[b], None, None), HOUR)
        .await
        .unwrap();
    let lost_key = key("111122223333", "eu-west-1", DAY, 9);
    let lost = batch(std::slice::from_ref(&lost_key), None, None);
    let map = result_files(&objects, &[first.clone(), second.clone()], &[lost]);

    let run = aggregate(&objects, RESULTS, "run-1", &map, 50.0)
        .await
        .unwrap();
    assert_eq!(run.batches, 2);
    assert_eq!(run.totals.findings, first.findings + second.findings);
    assert_eq!(run.totals.read, 2);
    assert!(
        run.totals.written.is_empty(),
        "each batch's summary keeps its keys"
    );
    assert!(!run.complete);
    assert!(!run.exceeded, "1 of 3 batches is within 50 %");
    assert_eq!(run.failed_batches.len(), 1, "{:?}", run.failed_batches);
    assert_eq!(
        run.failed_batches[0].objects.clone().unwrap(),
        vec![format!("s3://{TRAIL}/{lost_key}")]
    );
    let written: RunSummary = serde_json::from_slice(
        &objects
            .body(RESULTS, "summaries/run=run-1/summary.json")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(written, run);
    let strict = aggregate(&objects, RESULTS, "run-1", &map, 0.0)
        .await
        .unwrap();
    assert!(strict.exceeded, "1 of 3 batches is more than 0 %");

    let n = run.notification();
    assert!(n.subject.starts_with("[INCOMPLETE] ["), "{}", n.subject);
    let message: Value = serde_json::from_str(&n.message).unwrap();
    let text = message["default"].as_str().unwrap();
    assert!(
        text.contains("1 of 3 batches failed") && text.contains("s3://results/findings/"),
        "{text}"
    );
    let brief: Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(brief["findings"], run.totals.findings);
}

#[tokio::test]
async fn a_run_whose_map_failed_or_whose_objects_were_not_all_read_is_not_complete() {
    let objects = MemoryObjects::default();
    let a = key("111122223333", "eu-west-1", DAY, 1);
    objects.insert(TRAIL, &a, log(&["sg-ssh-open-nested.json"]));
    let done = scan(&objects, &batch(std::slice::from_ref(&a), None, None), HOUR)
        .await
        .unwrap();
    // The catch path: the Map's error, and the summaries the batches wrote.
    let failed = json!({"Error": "States.ItemReaderFailed", "Cause": "AccessDenied"});
    let run = aggregate(&objects, RESULTS, "run-1", &failed, 0.0)
        .await
        .unwrap();
    assert!(!run.complete);
    assert_eq!(run.batches, 1, "the batch's own summary, not the run's");
    assert!(
        run.incomplete[0].contains("ItemReaderFailed"),
        "{:?}",
        run.incomplete
    );

    let clean = result_files(&objects, &[done], &[]);
    let run = aggregate(&objects, RESULTS, "run-1", &clean, 0.0)
        .await
        .unwrap();
    assert!(run.complete && !run.exceeded, "{:?}", run.incomplete);
    let missing = batch(&[key("111122223333", "eu-west-1", DAY, 7)], None, None);
    let unread = scan(&objects, &missing, HOUR).await.unwrap();
    let with_missing = result_files(&objects, &[unread], &[]);
    let run = aggregate(&objects, RESULTS, "run-1", &with_missing, 0.0)
        .await
        .unwrap();
    assert!(!run.complete, "an object not read makes the run incomplete");
    assert!(aggregate(&objects, RESULTS, "run-1", &json!({}), 0.0)
        .await
        .is_err());
    // A run that listed nothing read nothing: never complete.
    let empty = MemoryObjects::default();
    let nothing = result_files(&empty, &[], &[]);
    let run = aggregate(&empty, RESULTS, "run-1", &nothing, 0.0)
        .await
        .unwrap();
    assert!(
        !run.complete && run.incomplete[0].contains("no batch ran"),
        "{:?}",
        run.incomplete
    );
}

#[tokio::test]
async fn the_summary_subject_fits_sns_and_stays_ascii_for_the_longest_run_name() {
    let objects = MemoryObjects::default();
    let run = "r".repeat(80);
    let map = result_files(&objects, &[], &[]);
    let summary = aggregate(&objects, RESULTS, &run, &map, 0.0).await.unwrap();
    let subject = summary.notification().subject;
    assert!(
        subject.len() <= crate::output::notify::SUBJECT_MAX && subject.is_ascii(),
        "{subject}"
    );
    assert!(
        subject.starts_with("[INCOMPLETE] [INFO] retro scan rrr"),
        "{subject}"
    );
}
