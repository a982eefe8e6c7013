//! `access-guard check s3://…` (feature `aws`) against moto server's S3 (the
//! README's test command starts it and names it in
//! `ACCESS_GUARD_TEST_ENDPOINT`): a synthetic organization trail — two
//! accounts, two regions, three days, gzipped log files holding the sample
//! events, digest files and a broken object — read where it lies must give
//! what `check` gives on the same files copied to disk, and `--since`,
//! `--until`, `--account` and `--region` list only the prefixes they select.
#![cfg(feature = "aws")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use serde_json::{json, Value};

const ORG: &str = "o-test123456";
const ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
const DAYS: [&str; 3] = ["01", "02", "03"];
/// Log files per account, region and day.
const FILES: usize = 40;

fn endpoint() -> String {
    std::env::var("ACCESS_GUARD_TEST_ENDPOINT")
        .expect("ACCESS_GUARD_TEST_ENDPOINT is not set: run the README's test command")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// The CloudTrail record of each sample event.
fn sample_records() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            serde_json::from_slice::<Value>(&std::fs::read(f).unwrap()).unwrap()["detail"].clone()
        })
        .collect()
}

/// Every object of the trail, by key: log files (each sample record once
/// per account, region and day, spread over the day's files, each with its
/// own event id), a digest per account, region and day, and one broken
/// object.
fn trail() -> Vec<(String, Vec<u8>)> {
    let records = sample_records();
    let mut objects = Vec::new();
    for account in ACCOUNTS {
        for region in REGIONS {
            for day in DAYS {
                let folder = format!("AWSLogs/{ORG}/{account}/CloudTrail/{region}/2026/11/{day}");
                for n in 0..FILES {
                    let chunk: Vec<Value> = records
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % FILES == n)
                        .map(|(i, r)| {
                            let mut r = r.clone();
                            r["eventID"] = json!(format!("{account}-{region}-{day}-{i}"));
                            r["recipientAccountId"] = json!(account);
                            r
                        })
                        .collect();
                    let key = format!(
                        "{folder}/{account}_CloudTrail_{region}_202611{day}T{n:04}Z_x.json.gz"
                    );
                    objects.push((key, gzip(json!({"Records": chunk}).to_string().as_bytes())));
                }
                let digest = json!({"awsAccountId": account, "digestStartTime": "2026-11-01T00:00:00Z",
                    "digestEndTime": "2026-11-01T01:00:00Z", "digestS3Bucket": "trail",
                    "digestS3Object": "x", "digestPublicKeyFingerprint": "00",
                    "digestSignatureAlgorithm": "SHA256withRSA", "logFiles": []});
                objects.push((
                    format!("AWSLogs/{ORG}/{account}/CloudTrail-Digest/{region}/2026/11/{day}/{account}_CloudTrail-Digest_{region}_trail_{region}_202611{day}T010000Z.json.gz"),
                    gzip(digest.to_string().as_bytes()),
                ));
            }
        }
    }
    objects.push((
        format!(
            "AWSLogs/{ORG}/{}/CloudTrail/eu-west-1/2026/11/01/broken.json.gz",
            ACCOUNTS[0]
        ),
        b"not gzip at all".to_vec(),
    ));
    objects
}

/// The trail in a new bucket of moto's S3, and copied under `dir`.
async fn bucket(dir: &Path) -> String {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let name = format!("trail-{}", std::process::id());
    s3.create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("CreateBucket");
    let objects = trail();
    for chunk in objects.chunks(50) {
        let puts = chunk.iter().map(|(key, bytes)| {
            s3.put_object()
                .bucket(&name)
                .key(key)
                .body(ByteStream::from(bytes.clone()))
                .send()
        });
        for put in futures_join(puts).await {
            put.expect("PutObject");
        }
    }
    for (key, bytes) in &objects {
        let path = dir.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    name
}

/// Awaits every future, in order.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::new();
    for f in handles {
        out.push(f.await);
    }
    out
}

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_access-guard"))
        .arg("check")
        .args(["--format", "json"])
        .args(args)
        .env_clear()
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run access-guard check")
}

/// Each verdict as its event id and rule ids, sorted; and the summary line.
fn verdicts(out: &Output) -> (Vec<(String, Vec<String>)>, String) {
    let mut docs: Vec<(String, Vec<String>)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let d: Value = serde_json::from_str(l).expect("one JSON document per line");
            let mut rules: Vec<String> = d["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["rule"].as_str().map(str::to_string))
                .collect();
            rules.sort();
            (
                d["event_id"].as_str().unwrap_or_default().to_string(),
                rules,
            )
        })
        .collect();
    docs.sort();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stderr
        .lines()
        .find(|l| l.contains(" events, "))
        .unwrap_or_default()
        .to_string();
    (docs, summary)
}

fn listed(out: &Output) -> (usize, usize) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("access-guard: s3: "))
        .unwrap_or_else(|| panic!("no listing line: {stderr}"));
    let numbers: Vec<usize> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

#[tokio::test]
async fn a_trail_read_where_it_lies_gives_what_its_copy_on_disk_gives() {
    let dir = std::env::temp_dir().join(format!("access-guard-s3-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let name = bucket(&dir).await;
    let total = trail().len();

    let remote = check(&[&format!("s3://{name}/AWSLogs/")]);
    let local = check(&[dir.join("AWSLogs").to_str().unwrap()]);
    assert_eq!(
        remote.status.code(),
        Some(2),
        "the broken object: {}",
        String::from_utf8_lossy(&remote.stderr)
    );
    assert_eq!(remote.status.code(), local.status.code());
    let (remote_verdicts, remote_summary) = verdicts(&remote);
    let (local_verdicts, local_summary) = verdicts(&local);
    let expected = ACCOUNTS.len() * REGIONS.len() * DAYS.len() * sample_records().len();
    assert!(
        remote_summary.starts_with(&format!("{expected} events, ")),
        "{remote_summary}"
    );
    assert_eq!(
        remote_summary, local_summary,
        "same counts, unreadable and digests too"
    );
    assert_eq!(remote_verdicts, local_verdicts);
    assert!(
        remote_summary.contains("1 unreadable") || remote_summary.contains("1 error"),
        "{remote_summary}"
    );
    let stderr = String::from_utf8_lossy(&remote.stderr);
    assert!(
        stderr.contains(&format!(
            "s3://{name}/AWSLogs/{ORG}/{}/CloudTrail/eu-west-1/2026/11/01/broken.json.gz",
            ACCOUNTS[0]
        )),
        "{stderr}"
    );
    let (objects, calls) = listed(&remote);
    assert_eq!(objects, total, "every key listed");
    assert_eq!(calls, total.div_ceil(1000), "a page of 1,000 keys a call");

    // One day of one account in one region: only its prefixes are listed.
    let day = check(&[
        "--since",
        "2026-11-02",
        "--until",
        "2026-11-02",
        "--account",
        ACCOUNTS[0],
        "--region",
        "eu-west-1",
        &format!("s3://{name}/AWSLogs/"),
    ]);
    assert_eq!(
        day.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&day.stderr)
    );
    let (objects, calls) = listed(&day);
    assert_eq!(objects, FILES, "the day's log files only");
    // AWSLogs/, the organization, the account, CloudTrail/, the region,
    // the year, the month, and the day's keys.
    assert!(calls <= 8, "{calls} calls");
    let one_day = dir.join(format!(
        "AWSLogs/{ORG}/{}/CloudTrail/eu-west-1/2026/11/02",
        ACCOUNTS[0]
    ));
    let local_day = check(&[one_day.to_str().unwrap()]);
    assert_eq!(verdicts(&day), verdicts(&local_day));

    // A run that meets an object it cannot read keeps its key before it:
    // the broken object is read again by the next run, never skipped.
    let source = format!("s3://{name}/AWSLogs/");
    let broken_run = dir.join("broken-run.json");
    let first = check(&["--resume", broken_run.to_str().unwrap(), &source]);
    assert_eq!(first.status.code(), Some(2));
    let saved: Value = serde_json::from_slice(&std::fs::read(&broken_run).unwrap()).unwrap();
    let broken = format!(
        "AWSLogs/{ORG}/{}/CloudTrail/eu-west-1/2026/11/01/broken.json.gz",
        ACCOUNTS[0]
    );
    let kept = saved[&source].as_str().unwrap_or_default().to_string();
    assert!(kept < broken, "{kept} is before the broken object");
    let again = check(&["--resume", broken_run.to_str().unwrap(), &source]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "the broken object is read again"
    );

    // A run interrupted after the first account's keys resumes after them.
    let mut keys: Vec<String> = trail().into_iter().map(|(k, _)| k).collect();
    keys.sort();
    let first_account = format!("AWSLogs/{ORG}/{}/", ACCOUNTS[0]);
    let last_done = keys
        .iter()
        .rfind(|k| k.starts_with(&first_account))
        .unwrap()
        .clone();
    let resume = dir.join("resume.json");
    std::fs::write(&resume, json!({ source.clone(): last_done }).to_string()).unwrap();
    let resumed = check(&["--resume", resume.to_str().unwrap(), &source]);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "the broken object was done before: {}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let (objects, _) = listed(&resumed);
    assert_eq!(
        objects,
        keys.iter()
            .filter(|k| !k.starts_with(&first_account))
            .count()
    );
    let second = dir.join(format!("AWSLogs/{ORG}/{}", ACCOUNTS[1]));
    assert_eq!(
        verdicts(&resumed).0,
        verdicts(&check(&[second.to_str().unwrap()])).0
    );
    // The file now names the last key of all, and a run after it reads nothing.
    let saved: Value = serde_json::from_slice(&std::fs::read(&resume).unwrap()).unwrap();
    assert_eq!(saved[&source], json!(keys.last().unwrap()));
    let again = check(&["--resume", resume.to_str().unwrap(), &source]);
    assert_eq!(listed(&again).0, 0);
    assert!(verdicts(&again).0.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn selecting_keys_without_a_bucket_is_an_error() {
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let out = check(&["--since", "2026-11-02", events.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("select the keys of s3:// inputs"));
}
