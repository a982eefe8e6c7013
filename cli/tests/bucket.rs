//! `access-guard check` over a folder shaped like a real CloudTrail bucket:
//! gzipped log files in the S3 layout, digest files beside them, other JSON
//! that holds no event, and a symbolic link back to a folder above.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";

fn events() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("access-guard-bucket-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary with piped output; a run that does not end in a minute
/// (a link loop followed forever) is killed and fails the test.
fn run(args: &[&str]) -> Output {
    run_with(args, &[])
}

fn run_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_access-guard"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run access-guard");
    // Drain the pipes while waiting, so that a long output cannot block the child.
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).map(|_| v)
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).map(|_| v)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("access-guard {args:?} did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// The CloudTrail record of each sample event (the `detail` of its EventBridge envelope).
fn sample_records() -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(events())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let event: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
            event["detail"].clone()
        })
        .collect()
}

fn digest() -> Value {
    json!({
        "awsAccountId": ACCOUNT,
        "digestStartTime": "2026-11-30T00:00:00Z",
        "digestEndTime": "2026-11-30T01:00:00Z",
        "digestS3Bucket": "trail-bucket",
        "digestS3Object": format!("AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/11/30/{ACCOUNT}_CloudTrail-Digest_{REGION}_trail_{REGION}_20261130T010000Z.json.gz"),
        "digestPublicKeyFingerprint": "0123456789abcdef0123456789abcdef",
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": "2026-11-30T00:59:59Z",
        "oldestEventTime": "2026-11-30T00:00:01Z",
        "previousDigestS3Bucket": null,
        "previousDigestSignature": null,
        "logFiles": [{"s3Bucket": "trail-bucket", "s3Object": "x.json.gz", "hashValue": "00", "hashAlgorithm": "SHA-256",
            "newestEventTime": "2026-11-30T00:59:59Z", "oldestEventTime": "2026-11-30T00:00:01Z"}]
    })
}

/// A trail bucket: every sample record in one gzipped log file, one more
/// log file, a digest file (gzipped, in `CloudTrail-Digest/`), and a link
/// from the day's folder back to the region's folder.
struct Bucket {
    root: PathBuf,
    day: PathBuf,
    records: usize,
}

fn bucket(name: &str) -> Bucket {
    let root = temp_dir(name);
    let region = root.join(format!("AWSLogs/{ACCOUNT}/CloudTrail/{REGION}"));
    let day = region.join("2026/11/30");
    std::fs::create_dir_all(&day).unwrap();
    let records = sample_records();
    let log = json!({"Records": records}).to_string();
    std::fs::write(
        day.join(format!(
            "{ACCOUNT}_CloudTrail_{REGION}_20261130T0000Z_abc.json.gz"
        )),
        gzip(log.as_bytes()),
    )
    .unwrap();
    let more = json!({"Records": [records[0], records[1]]}).to_string();
    std::fs::write(
        day.join(format!(
            "{ACCOUNT}_CloudTrail_{REGION}_20261130T0005Z_def.json.gz"
        )),
        gzip(more.as_bytes()),
    )
    .unwrap();
    let digests = root.join(format!(
        "AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/11/30"
    ));
    std::fs::create_dir_all(&digests).unwrap();
    std::fs::write(
        digests.join(format!(
            "{ACCOUNT}_CloudTrail-Digest_{REGION}_trail_{REGION}_20261130T010000Z.json.gz"
        )),
        gzip(digest().to_string().as_bytes()),
    )
    .unwrap();
    // A link to a parent folder: followed, it never ends.
    std::os::unix::fs::symlink(&region, day.join("loop")).unwrap();
    Bucket {
        root,
        day,
        records: records.len() + 2,
    }
}

fn summary(o: &Output) -> String {
    stdout(o)
        .lines()
        .rev()
        .find(|l| l.contains(" events, "))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_trail_bucket_counts_its_digest_files_and_does_not_follow_the_loop() {
    let b = bucket("plain");
    let o = run(&["check", b.root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "no error, no note, no progress when piped");
    let summary = summary(&o);
    assert!(
        summary.starts_with(&format!("{} events, ", b.records)),
        "{summary}"
    );
    assert!(
        summary.ends_with(", 0 unreadable, 1 digest files skipped, 1 symbolic links not followed"),
        "{summary}"
    );
    assert!(stdout(&o).contains("EC2-SG-003"));
}

#[test]
fn digest_files_are_recognised_by_content_and_broken_files_still_fail() {
    let b = bucket("digest");
    // Other JSON of a bucket that holds no event, plain or gzipped.
    let inventory = json!({"sourceBucket": "trail-bucket", "destinationBucket": "arn:aws:s3:::inventory",
        "version": "2016-11-30", "creationTimestamp": "1764460800000", "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size", "files": [{"key": "data/a.csv.gz", "size": 1, "MD5checksum": "00"}]});
    std::fs::write(b.root.join("manifest.json"), inventory.to_string()).unwrap();
    std::fs::write(b.root.join("empty-object.json"), "{}\n").unwrap();
    // A digest with a name of its own is a digest by its content.
    std::fs::write(
        b.day.join("renamed-digest.json.gz"),
        gzip(digest().to_string().as_bytes()),
    )
    .unwrap();
    let o = run(&["check", b.root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        summary(&o).ends_with(", 0 unreadable, 2 digest files skipped, 2 JSON files without events skipped, 1 symbolic links not followed"),
        "{}",
        summary(&o)
    );
    let err = stderr(&o);
    for name in ["manifest.json", "empty-object.json"] {
        assert!(
            err.contains(&format!(
                "{name}: skipped: a JSON object without any field of a CloudTrail record"
            )),
            "{err}"
        );
    }

    // Under CloudTrail-Digest/ but not a digest: broken gzip, a record
    // missing its name, JSON that is no object. Each fails closed.
    let digests = b.root.join(format!(
        "AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/11/30"
    ));
    std::fs::write(
        digests.join("cut.json.gz"),
        &gzip(b"{\"digestStartTime\": \"x\"}")[..12],
    )
    .unwrap();
    let mut half = digest();
    half["eventID"] = json!("e-1");
    std::fs::write(digests.join("half.json"), half.to_string()).unwrap();
    std::fs::write(digests.join("list.json"), "[\"digest\"]").unwrap();
    let o = run(&["check", b.root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("cut.json.gz: not a valid gzip file"), "{err}");
    assert!(
        err.contains("half.json: event e-1: eventName: missing"),
        "{err}"
    );
    assert!(err.contains("list.json: [0]: event (no eventID)"), "{err}");
    assert!(
        summary(&o).contains(", 3 unreadable, 2 digest files skipped"),
        "{}",
        summary(&o)
    );
}

#[test]
fn links_are_followed_only_when_asked_and_loops_end() {
    let b = bucket("links");
    // A folder outside the tree, reached only through a link.
    let elsewhere = temp_dir("links-elsewhere");
    let record = &sample_records()[0];
    std::fs::write(
        elsewhere.join("other.json"),
        json!({"Records": [record]}).to_string(),
    )
    .unwrap();
    std::os::unix::fs::symlink(&elsewhere, b.day.join("elsewhere")).unwrap();
    // The same file under a second name.
    let log = std::fs::read_dir(&b.day)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_abc.json.gz"))
        .unwrap();
    std::os::unix::fs::symlink(&log, b.day.join("zz-same.json.gz")).unwrap();

    let o = run(&["check", b.root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        summary(&o).starts_with(&format!("{} events, ", b.records))
            && summary(&o).ends_with(", 3 symbolic links not followed"),
        "{}",
        summary(&o)
    );

    let o = run(&["check", "--follow-links", b.root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("loop: link to ") && err.contains("above it, not followed again"),
        "{err}"
    );
    // The folder outside is read; the log file reached twice is read once.
    assert!(
        summary(&o).starts_with(&format!("{} events, ", b.records + 1))
            && summary(&o).ends_with(", 1 link loops not followed again"),
        "{}",
        summary(&o)
    );

    // A link named on the command line is read: the user chose it.
    let named = b.day.join("elsewhere");
    let o = run(&["check", named.to_str().unwrap()]);
    assert!(summary(&o).starts_with("1 events, "), "{}", summary(&o));
}

#[test]
fn a_large_log_file_is_read_record_by_record_and_a_bad_record_names_its_index() {
    let dir = temp_dir("large");
    let records = sample_records();
    // Well over one read's worth, with a malformed record in the middle.
    let mut many: Vec<Value> = (0..3000)
        .map(|i| records[i % records.len()].clone())
        .collect();
    many[1500] = json!({"eventID": "bad-record", "eventName": ["not", "a", "name"]});
    let log = json!({"Records": many}).to_string();
    assert!(log.len() > 2 * 1024 * 1024, "{}", log.len());
    let file = dir.join("big.json.gz");
    std::fs::write(&file, gzip(log.as_bytes())).unwrap();
    let plain = dir.join("big.json");
    std::fs::write(&plain, &log).unwrap();
    for f in [&file, &plain] {
        let o = run(&["check", "--fail-on", "critical", f.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!(
                "{}: Records[1500]: event bad-record: eventName: expected a string",
                f.display()
            )),
            "{err}"
        );
        let summary = summary(&o);
        assert!(summary.starts_with("2999 events, "), "{summary}");
    }
}

#[test]
fn piped_stderr_carries_no_progress_output() {
    let b = bucket("progress");
    let o = run(&["check", b.root.to_str().unwrap()]);
    assert_eq!(stderr(&o), "");
    // In JSON the summary goes to stderr (stdout stays one document per
    // line), and nothing else does.
    let o = run(&["check", "--format", "json", b.root.to_str().unwrap()]);
    assert!(stdout(&o)
        .lines()
        .all(|l| serde_json::from_str::<Value>(l).is_ok()));
    let err = stderr(&o);
    assert!(
        !err.contains('\r')
            && !err.contains('\x1b')
            && err
                .lines()
                .all(|l| l.is_empty() || l.starts_with(&format!("{} events, ", b.records))),
        "{err:?}"
    );
    assert!(err.contains(" events, "), "{err:?}");
}

#[test]
fn when_inputs_fail_and_findings_reach_fail_on_exit_2_wins_and_the_summary_says_both() {
    let b = bucket("both");
    std::fs::write(b.root.join("broken.json"), "{ not json").unwrap();
    let o = run(&["check", "--fail-on", "high", b.root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("exit 2: 1 inputs could not be read, and ")
            && last.contains(" findings reach --fail-on high (exit 1 on its own)"),
        "{last}"
    );
    std::fs::remove_file(b.root.join("broken.json")).unwrap();
    let o = run(&["check", "--fail-on", "HIGH", b.root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("exit 1: ") && last.ends_with(" findings reach --fail-on high"),
        "{last}"
    );
}

#[test]
fn text_output_says_when_where_and_by_whom() {
    let file = events().join("sg-ssh-open-nested.json");
    let event: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let o = run(&["check", file.to_str().unwrap()]);
    let out = stdout(&o);
    let record = &event["detail"];
    let expected = format!(
        "    at {}, account {}, {}, by {}",
        record["eventTime"].as_str().unwrap(),
        record["recipientAccountId"].as_str().unwrap(),
        record["awsRegion"].as_str().unwrap(),
        record["userIdentity"]["arn"].as_str().unwrap()
    );
    assert_eq!(out.lines().nth(1), Some(expected.as_str()), "{out}");
}

#[test]
fn colour_is_chosen_with_color_and_never_in_pipes_by_default() {
    let file = events().join("sg-ssh-open-nested.json");
    let path = file.to_str().unwrap();
    let o = run_with(&["check", "--color", "always", path], &[("NO_COLOR", "1")]);
    assert!(
        stdout(&o).contains("\x1b[1;31mCRITICAL"),
        "--color always wins over NO_COLOR"
    );
    for args in [&["check", path][..], &["check", "--color", "never", path]] {
        assert!(!stdout(&run(args)).contains('\x1b'));
    }
    let o = run(&["check", "--color", "always", "--format", "json", path]);
    assert!(!stdout(&o).contains('\x1b'), "JSON is never coloured");
    let o = run(&["check", "--color", "sometimes", path]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("[possible values: auto, always, never]"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn help_lists_the_values_of_each_choice_and_the_new_flags() {
    let help = stdout(&run(&["check", "--help"]));
    for needle in [
        "--format <FORMAT>",
        "text:",
        "json:",
        "--fail-on <SEVERITY>",
        "info, low, medium, high, critical",
        "--color <WHEN>",
        "auto:",
        "always:",
        "--all-events",
        "--follow-links",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
    let o = run(&["check", "--fail-on", "severe", events().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("[possible values: info, low, medium, high, critical]"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_rules_table_is_aligned_on_its_widest_cells() {
    let out = stdout(&run(&["rules"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("ID ") && lines.len() > 40);
    // Each column starts where its heading does, on every line, after two spaces.
    let columns: Vec<usize> = ["SEVERITY", "ACTION", "TITLE"]
        .iter()
        .map(|h| lines[0].find(h).unwrap())
        .collect();
    for line in &lines[1..] {
        let chars: Vec<char> = line.chars().collect();
        for &c in &columns {
            assert!(
                chars[c - 2] == ' ' && chars[c - 1] == ' ' && chars[c] != ' ',
                "{line}"
            );
        }
    }
}
