//! The retro scan's function against moto server's S3 and SNS: a synthetic
//! organization trail (two accounts, two regions, two days of gzipped log
//! files holding the sample events, digests, a broken object) listed as the
//! Distributed Map's ItemReader lists it, in batches as its ItemBatcher
//! makes them. moto runs no Step Functions Distributed Map, so the test
//! plays the Map: it hands the batches to the handler, and writes the Result
//! Writer's manifest and result file (in the format Step Functions writes)
//! for the last step. Every result is read back from the emulator: the JSON
//! Lines and summaries from the results bucket, the SNS summary from an SQS
//! subscription.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use access_guard::aws::objects::S3Objects;
use access_guard::aws::SnsNotifier;
use access_guard::config::FunctionConfig;
use access_guard::lambda::retro_scan::{handle, Deps};
use access_guard::model::event::Want;
use access_guard::model::stream::read_stream_with;
use access_guard::policy::Policy;
use access_guard_e2e::{context, unique, AlertSink, Emulator};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

const ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
const DAYS: [&str; 2] = ["2026/11/02", "2026/11/03"];
const FILES_A_DAY: usize = 4;
/// Objects a batch holds (the ItemBatcher's MaxItemsPerBatch).
const BATCH: usize = 7;

fn s3(emu: &Emulator) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&emu.sdk)
            .force_path_style(true)
            .build(),
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

/// The sample events' CloudTrail records, in name order.
fn sample_records() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("events/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let event: Value =
                serde_json::from_str(&std::fs::read_to_string(p).expect("sample")).expect("json");
            event["detail"].clone()
        })
        .collect()
}

/// The trail: its bucket, and each log file's key and gzipped bytes.
struct Trail {
    bucket: String,
    logs: Vec<(String, Vec<u8>)>,
    broken: String,
}

async fn trail(emu: &Emulator) -> Trail {
    let s3 = s3(emu);
    let bucket = unique("trail").to_lowercase();
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    let records = sample_records();
    let mut logs = Vec::new();
    let mut n = 0;
    for account in ACCOUNTS {
        for region in REGIONS {
            for day in DAYS {
                let folder = format!("AWSLogs/o-abc123/{account}/CloudTrail/{region}/{day}/");
                for f in 0..FILES_A_DAY {
                    // Each file a slice of the samples, every sample in some file.
                    let slice: Vec<&Value> = records.iter().skip(n % 7).step_by(7).collect();
                    n += 1;
                    let key = format!("{folder}{account}_CloudTrail_{region}_{f}.json.gz");
                    logs.push((
                        key,
                        gzip(json!({ "Records": slice }).to_string().as_bytes()),
                    ));
                }
                let digest = format!(
                    "AWSLogs/o-abc123/{account}/CloudTrail-Digest/{region}/{day}/{account}_CloudTrail-Digest_{region}.json.gz"
                );
                let body = json!({"awsAccountId": account, "digestStartTime": "2026-11-02T00:00:00Z",
                    "digestEndTime": "2026-11-02T01:00:00Z", "digestS3Bucket": bucket, "logFiles": []});
                logs.push((digest, gzip(body.to_string().as_bytes())));
            }
        }
    }
    let mut cut = logs[0].1.clone();
    cut.truncate(cut.len() / 2);
    let broken = format!(
        "AWSLogs/o-abc123/{}/CloudTrail/{}/{}/broken.json.gz",
        ACCOUNTS[1], REGIONS[1], DAYS[1]
    );
    logs.push((broken.clone(), cut));
    for (key, body) in &logs {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.clone().into())
            .send()
            .await
            .expect("PutObject");
    }
    Trail {
        bucket,
        logs,
        broken,
    }
}

/// What `check` finds in the same bytes: (event id, rule) of each finding.
fn expected(logs: &[(String, Vec<u8>)]) -> (BTreeSet<(String, String)>, u64) {
    let policy = Policy::embedded();
    let today = access_guard::model::today();
    let mut found = BTreeSet::new();
    let mut findings = 0;
    for (key, body) in logs {
        let want = |name: &str| {
            if access_guard::guards::offline::is_guarded(name) {
                Want::Everything
            } else {
                Want::Nothing
            }
        };
        read_stream_with(&body[..], key, want, |parsed| {
            if let Ok(Some(event)) = parsed {
                if let Ok(report) = access_guard::guards::offline::evaluate(&event, &policy, today)
                {
                    for f in &report.findings {
                        findings += 1;
                        found.insert((report.event_id.clone(), f.rule.to_string()));
                    }
                }
            }
        });
    }
    (found, findings)
}

/// The listing as the Map's ItemReader (`s3:listObjectsV2`) gives it.
async fn items(emu: &Emulator, bucket: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut pages = s3(emu)
        .list_objects_v2()
        .bucket(bucket)
        .prefix("AWSLogs/")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for o in page.expect("ListObjectsV2").contents() {
            items.push(json!({
                "Etag": o.e_tag(), "Key": o.key(), "LastModified": "2026-11-04T00:00:00Z",
                "Size": o.size(), "StorageClass": "STANDARD",
            }));
        }
    }
    items
}

struct Setup {
    emu: Emulator,
    sink: AlertSink,
    results: String,
    deps: Deps,
}

async fn setup() -> Setup {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let results = unique("results").to_lowercase();
    s3(&emu)
        .create_bucket()
        .bucket(&results)
        .send()
        .await
        .expect("CreateBucket");
    let (topic, bucket) = (sink.topic_arn.clone(), results.clone());
    let config = FunctionConfig::from_lookup(move |name| match name {
        "ACCESS_GUARD_TOPIC_ARN" => Some(topic.clone()),
        "ACCESS_GUARD_RETRO_BUCKET" => Some(bucket.clone()),
        _ => None,
    })
    .expect("config");
    let deps = Deps {
        objects: Box::new(S3Objects::new(s3(&emu))),
        notifier: Box::new(SnsNotifier::new(emu.sns.clone(), config.topic_arn.clone())),
        bucket: results.clone(),
        config,
    };
    Setup {
        emu,
        sink,
        results,
        deps,
    }
}

/// Invokes the handler with a minute left.
async fn invoke(deps: &Deps, payload: Value) -> Result<Value, String> {
    let mut ctx = context();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    ctx.deadline = (now + Duration::from_secs(60)).as_millis() as u64;
    handle(LambdaEvent::new(payload, ctx), deps)
        .await
        .map_err(|e| format!("{}: {e}", e.0.error_type()))
}

async fn object(emu: &Emulator, bucket: &str, key: &str) -> Vec<u8> {
    s3(emu)
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetObject {key}: {e:?}"))
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

async fn keys(emu: &Emulator, bucket: &str, prefix: &str) -> Vec<String> {
    let out = s3(emu)
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("ListObjectsV2");
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn the_batches_write_what_check_finds_as_partitioned_json_lines_and_the_summary_names_what_failed(
) {
    let s = setup().await;
    let trail = trail(&s.emu).await;
    let all = items(&s.emu, &trail.bucket).await;
    assert_eq!(all.len(), trail.logs.len());
    let run = unique("run").replace(['.', ':'], "-");
    let started = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now");
    let mut summaries = Vec::new();
    for chunk in all.chunks(BATCH) {
        let payload = json!({"Items": chunk, "BatchInput": {"run": run, "bucket": trail.bucket},
            "started": started});
        summaries.push(invoke(&s.deps, payload).await.expect("batch"));
    }

    // Every finding `check` makes, once, under its event's partition.
    let (expected, count) = expected(&trail.logs);
    assert!(count > 50, "the samples make findings: {count}");
    let mut found = BTreeSet::new();
    let mut lines = 0;
    for key in keys(&s.emu, &s.results, "findings/").await {
        let body = String::from_utf8(object(&s.emu, &s.results, &key).await).expect("utf-8");
        for line in body.lines() {
            let line: Value = serde_json::from_str(line).expect("a JSON line");
            let partition = format!(
                "findings/account={}/region={}/date={}/{run}-",
                line["account"].as_str().unwrap(),
                line["region"].as_str().unwrap(),
                line["date"].as_str().unwrap()
            );
            assert!(
                key.starts_with(&partition),
                "{key} holds a line of {partition}"
            );
            found.insert((
                line["event_id"].as_str().unwrap().to_string(),
                line["rule"].as_str().unwrap().to_string(),
            ));
            lines += 1;
        }
    }
    assert_eq!(found, expected);
    assert_eq!(lines, count);

    // The summaries, returned and written, add up; the broken object is named.
    let total = |field: &str| {
        summaries
            .iter()
            .map(|s| s[field].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(total("findings"), count);
    assert_eq!(total("objects"), all.len() as u64);
    assert_eq!(
        total("digests"),
        (ACCOUNTS.len() * REGIONS.len() * DAYS.len()) as u64
    );
    assert_eq!(total("read") + 1, all.len() as u64);
    let failed: Vec<&Value> = summaries
        .iter()
        .flat_map(|s| s["failed"].as_array().unwrap())
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["key"], trail.broken.as_str());
    let written = keys(&s.emu, &s.results, &format!("summaries/run={run}/")).await;
    assert_eq!(written.len(), summaries.len());
    for summary in &summaries {
        let key = format!(
            "summaries/run={run}/{}.json",
            summary["batch"].as_str().unwrap()
        );
        let stored: Value =
            serde_json::from_slice(&object(&s.emu, &s.results, &key).await).expect("json");
        assert_eq!(&stored, summary);
    }

    // The last step: the Result Writer's files (as Step Functions writes
    // them: each child's input and output as JSON strings), with the
    // batches above as SUCCEEDED and one more the Map gave up on.
    let lost = json!({"Items": [{"Key": "AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/11/04/lost.json.gz"}],
        "BatchInput": {"run": run, "bucket": trail.bucket}});
    let put = |key: &str, body: Value| {
        s3(&s.emu)
            .put_object()
            .bucket(&s.results)
            .key(key)
            .body(body.to_string().into_bytes().into())
            .send()
    };
    let succeeded: Vec<Value> = summaries
        .iter()
        .enumerate()
        .map(|(n, summary)| {
            json!({"ExecutionArn": format!("arn:aws:states:us-east-1:123456789012:execution:retro/m1:{n}"),
                "Input": "{}", "InputDetails": {"Included": true}, "Name": n.to_string(),
                "Output": summary.to_string(), "OutputDetails": {"Included": true}, "Status": "SUCCEEDED"})
        })
        .collect();
    put("results/m1/SUCCEEDED_0.json", json!(succeeded))
        .await
        .expect("PutObject");
    put(
        "results/m1/FAILED_0.json",
        json!([{"ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:retro/m1:99",
            "Input": lost.to_string(), "InputDetails": {"Included": true}, "Name": "99",
            "Status": "FAILED", "Error": "States.Timeout", "Cause": "The child ran past five minutes."}]),
    )
    .await
    .expect("PutObject");
    put(
        "results/m1/manifest.json",
        json!({"DestinationBucket": s.results, "MapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:retro/m1",
            "ResultFiles": {"FAILED": [{"Key": "results/m1/FAILED_0.json", "Size": 1}], "PENDING": [],
                "SUCCEEDED": [{"Key": "results/m1/SUCCEEDED_0.json", "Size": 1}]}}),
    )
    .await
    .expect("PutObject");
    let map = json!({"MapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:retro/m1",
        "ResultWriterDetails": {"Bucket": s.results, "Key": "results/m1/manifest.json"}});
    let out = invoke(
        &s.deps,
        json!({"retro": "aggregate", "run": run, "map": map, "tolerated_failure_percentage": 0}),
    )
    .await
    .expect("aggregate");
    assert_eq!(out["exceeded"], true, "one failed batch is more than 0 %");
    assert_eq!(out["complete"], false);

    let alerts = s.sink.alerts(&s.emu).await;
    assert_eq!(alerts.len(), 1, "one SNS summary");
    let brief = &alerts[0].doc;
    assert_eq!(brief["findings"], count);
    assert_eq!(brief["failed_count"], 1);
    assert_eq!(brief["failed"][0]["key"], trail.broken.as_str());
    assert_eq!(brief["failed_batches"], 1);
    // By the event's own account (the samples'), not the key's.
    let by_account: u64 = brief["by_account"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(by_account, count);
    assert!(
        alerts[0]
            .subject
            .starts_with("[INCOMPLETE] [CRITICAL] retro scan"),
        "{}",
        alerts[0].subject
    );
    let summary: Value = serde_json::from_slice(
        &object(
            &s.emu,
            &s.results,
            &format!("summaries/run={run}/summary.json"),
        )
        .await,
    )
    .expect("json");
    assert_eq!(
        summary["failed_batches"][0]["objects"][0],
        format!(
            "s3://{}/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/11/04/lost.json.gz",
            trail.bucket
        )
    );
}

#[tokio::test]
async fn a_batch_that_cannot_be_judged_fails_with_a_stable_error_type_naming_the_field() {
    let s = setup().await;
    let bad_run = json!({"Items": [], "BatchInput": {"run": "a/b", "bucket": "trail"}});
    let err = invoke(&s.deps, bad_run).await.unwrap_err();
    assert!(
        err.starts_with("AccessGuard.InvalidEvent") && err.contains("BatchInput.run"),
        "{err}"
    );
    let neither = invoke(&s.deps, json!({"sweep": "run"})).await.unwrap_err();
    assert!(
        neither.contains("field Items") && neither.contains("field retro"),
        "{neither}"
    );
    // A child started five minutes ago has no time left, whatever Lambda's
    // deadline: its objects are named as not read.
    let late = json!({"Items": [{"Key": "AWSLogs/y.json.gz"}], "BatchInput": {"run": "r2", "bucket": "trail"},
        "started": "2026-01-01T00:00:00Z"});
    let out = invoke(&s.deps, late).await.expect("batch");
    assert_eq!(
        out["unread"][0]["problem"],
        access_guard::retro::OUT_OF_TIME
    );
    let garbled =
        json!({"Items": [], "BatchInput": {"run": "r3", "bucket": "trail"}, "started": "noon"});
    let err = invoke(&s.deps, garbled).await.unwrap_err();
    assert!(err.contains("field started"), "{err}");
    // A bucket that does not exist is the object's failure, named, not the batch's.
    let missing = json!({"Items": [{"Key": "AWSLogs/x.json.gz"}], "BatchInput": {"run": "r1", "bucket": unique("gone").to_lowercase()}});
    let out = invoke(&s.deps, missing).await.expect("batch");
    assert_eq!(out["failed"][0]["key"], "AWSLogs/x.json.gz");
    assert!(
        out["failed"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("NoSuchBucket"),
        "{out}"
    );
}
