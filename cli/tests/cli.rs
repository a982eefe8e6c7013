//! The `access-guard` binary as a user runs it: exit codes, output formats,
//! errors that name the input, and the other inputs still evaluated.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_access-guard"))
}

fn events() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run access-guard")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("access-guard-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn checks_the_sample_events_as_the_readme_says() {
    let o = run(&["check", events().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("EC2-SG-003") && out.contains("plan: revoke_ingress"),
        "{out}"
    );
    assert!(out.contains("skipped: failed call: Client.UnauthorizedOperation"));
}

#[test]
fn json_lines_one_per_event_and_fail_on() {
    let file = events().join("sg-mixed-ssh-and-https.json");
    let o = run(&[
        "check",
        "--format",
        "json",
        "--fail-on",
        "critical",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a critical finding reaches --fail-on critical"
    );
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["plan"][0]["rule_ids"],
        serde_json::json!(["sgr-0mixssh000000071"])
    );
    assert_eq!(lines[0]["outcomes"], serde_json::json!([]));

    let safe = events().join("sg-https-open-safe.json");
    let o = run(&["check", "--fail-on", "low", safe.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn unreadable_inputs_are_named_and_the_rest_still_run() {
    let dir = temp_dir("bad");
    std::fs::write(dir.join("a-broken.json"), "{ not json").unwrap();
    let good = std::fs::read(events().join("sg-ssh-open-nested.json")).unwrap();
    std::fs::write(dir.join("b-good.json"), &good).unwrap();
    // A log file with one malformed record between two good ones.
    let record: serde_json::Value = serde_json::from_slice(&good).unwrap();
    let mut bad = record["detail"].clone();
    bad["eventID"] = "bad-record".into();
    bad["responseElements"]["securityGroupRuleSet"]["items"][0]["fromPort"] = "ssh".into();
    let log = serde_json::json!({"Records": [record["detail"], bad, record["detail"]]});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, log.to_string().as_bytes()).unwrap();
    std::fs::write(dir.join("c-trail.json.gz"), gz.finish().unwrap()).unwrap();

    let o = run(&["check", "--format", "json", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("a-broken.json"), "{err}");
    assert!(
        err.contains("c-trail.json.gz: Records[1]: event bad-record: responseElements.securityGroupRuleSet.items[0].fromPort"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // b-good.json and the two good records of the log file: three verdicts.
    assert_eq!(stdout(&o).lines().count(), 3);
    let missing = run(&["check", "/nonexistent/file.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent/file.json"));
}

#[test]
fn reads_standard_input_and_json_lines() {
    let one = std::fs::read_to_string(events().join("sg-ssh-open-ipv6.json")).unwrap();
    let compact: serde_json::Value = serde_json::from_str(&one).unwrap();
    let input = format!("{compact}\n{compact}\n");
    let mut child = bin()
        .args(["check", "--format", "json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o).lines().count(), 2);
}

#[test]
fn policy_check_prints_every_setting_with_where_its_value_came_from() {
    let dir = temp_dir("settings");
    let file = dir.join("mine.toml");
    std::fs::write(
        &file,
        "exemption_tag_key = \"secops:exempt\"\nnotify_min_severity = \"medium\"\n[sweep]\nrevoke = true\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let line = |out: &str, key: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("{key} ")))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("no {key} in {out}"))
    };
    let o = bin()
        .args(["policy", "check", path])
        .env_remove("ACCESS_GUARD_NOTIFY_MIN_SEVERITY")
        .env_remove("ACCESS_GUARD_EXEMPTION_TAG_KEY")
        .env_remove("ACCESS_GUARD_DRY_RUN")
        .output()
        .expect("run access-guard");
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert_eq!(
        line(&out, "exemption_tag_key"),
        format!("exemption_tag_key = \"secops:exempt\" (file {path})")
    );
    assert_eq!(
        line(&out, "notify_min_severity"),
        format!("notify_min_severity = \"medium\" (file {path})")
    );
    assert_eq!(
        line(&out, "sweep.revoke"),
        format!("sweep.revoke = true (file {path})")
    );
    assert_eq!(line(&out, "dry_run"), "dry_run = true (embedded)");
    assert_eq!(
        line(&out, "max_revocations_per_event"),
        "max_revocations_per_event = 20 (embedded)"
    );
    // The environment wins, and says so.
    let o = bin()
        .args(["policy", "check", path])
        .env("ACCESS_GUARD_NOTIFY_MIN_SEVERITY", "low")
        .env_remove("ACCESS_GUARD_EXEMPTION_TAG_KEY")
        .env_remove("ACCESS_GUARD_DRY_RUN")
        .output()
        .expect("run access-guard");
    let out = stdout(&o);
    assert_eq!(
        line(&out, "notify_min_severity"),
        "notify_min_severity = \"low\" (environment ACCESS_GUARD_NOTIFY_MIN_SEVERITY)"
    );
    assert_eq!(
        line(&out, "exemption_tag_key"),
        format!("exemption_tag_key = \"secops:exempt\" (file {path})")
    );
}

#[test]
fn rules_and_policy_commands() {
    let o = run(&["rules"]);
    assert!(stdout(&o).contains("EC2-SG-012"));
    let o = run(&["rules", "ec2-sg-003"]);
    assert!(stdout(&o).contains("## Why is this bad?"));

    let dir = temp_dir("policy");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[rules.\"EC2-SG-003\"]\naction = \"delete\"\n").unwrap();
    let o = run(&["policy", "check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("rules.\"EC2-SG-003\".action"),
        "{}",
        stderr(&o)
    );

    let past = dir.join("past.toml");
    std::fs::write(
        &past,
        "[[exemptions]]\ngroup_id = \"sg-1\"\nreason = \"x\"\nexpires = \"2020-01-01\"\n",
    )
    .unwrap();
    let o = run(&["policy", "check", past.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("exemptions[0].expires"));

    // `policy check` prints the dry_run a function would run with, and why.
    let good = dir.join("good.toml");
    std::fs::write(&good, "dry_run = false\n").unwrap();
    let o = run(&["policy", "check", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("dry_run = false (from the policy file)"),
        "{}",
        stdout(&o)
    );
    let o = bin()
        .args(["policy", "check", good.to_str().unwrap()])
        .env("ACCESS_GUARD_DRY_RUN", "true")
        .output()
        .expect("run access-guard");
    assert!(
        stdout(&o).contains("dry_run = true (from ACCESS_GUARD_DRY_RUN)"),
        "{}",
        stdout(&o)
    );
    let plain = dir.join("plain.toml");
    std::fs::write(&plain, "notify_min_severity = \"low\"\n").unwrap();
    let o = run(&["policy", "check", plain.to_str().unwrap()]);
    assert!(
        stdout(&o).contains("dry_run = true (from the embedded default)"),
        "{}",
        stdout(&o)
    );
    // A policy that cannot be read stops `check` before it evaluates anything.
    let o = run(&[
        "check",
        "--policy",
        bad.to_str().unwrap(),
        events().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
}

#[test]
fn detected_secrets_never_reach_the_output() {
    for file in [
        "td-aws-keys-in-env.json",
        "td-secret-values-in-env.json",
        "td-secret-name-literal.json",
        "td-multi-container.json",
    ] {
        let path = events().join(file);
        let json = stdout(&run(&["check", "--format", "json", path.to_str().unwrap()]));
        let event: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        // The values of the variables the findings name.
        let detected: Vec<String> = event["detail"]["requestParameters"]["containerDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["environment"].as_array().cloned().unwrap_or_default())
            .filter(|e| {
                json.contains(&format!(
                    "environment {} ",
                    e["name"].as_str().unwrap_or("?")
                ))
            })
            .filter_map(|e| e["value"].as_str().map(str::to_string))
            .collect();
        assert!(!detected.is_empty(), "{file}: nothing detected");
        for format in ["text", "json"] {
            let o = run(&["check", "--format", format, path.to_str().unwrap()]);
            let all = stdout(&o) + &stderr(&o);
            for v in &detected {
                assert!(
                    !all.contains(v.as_str()),
                    "{file}: a detected secret appears in the {format} output"
                );
                assert!(
                    all.contains(&access_guard::secrets::redact(v)),
                    "{file}: the redacted form (length, known prefix) names it"
                );
            }
        }
    }
}

#[test]
fn parallel_reading_prints_the_same_verdicts_in_the_same_order() {
    let dir = events();
    let one = run(&[
        "check",
        "--format",
        "json",
        "--jobs",
        "1",
        dir.to_str().unwrap(),
    ]);
    let four = run(&[
        "check",
        "--format",
        "json",
        "--jobs",
        "4",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(stdout(&one), stdout(&four));
    assert!(stdout(&one).lines().count() >= 40);
}

#[test]
fn an_archive_counts_the_events_no_guard_handles_and_prints_them_only_with_all_events() {
    let dir = temp_dir("archive");
    let record = |id: &str, name: &str, extra: &str| {
        format!(
            r#"{{"eventID":"{id}","eventName":"{name}","eventSource":"ec2.amazonaws.com","awsRegion":"us-east-1",
                "recipientAccountId":"111122223333","userIdentity":{{"arn":"arn:aws:iam::111122223333:user/a"}}{extra}}}"#
        )
    };
    let open_ssh = r#","requestParameters":{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}},"responseElements":{"_return":true}"#;
    let log = format!(
        r#"{{"Records":[{},{},{},{}]}}"#,
        record("e1", "DescribeInstances", ""),
        record(
            "e2",
            "DescribeInstances",
            r#","errorCode":"Client.UnauthorizedOperation""#
        ),
        record(
            "e3",
            "AuthorizeSecurityGroupIngress",
            r#","errorCode":"Client.UnauthorizedOperation""#
        ),
        record("e4", "AuthorizeSecurityGroupIngress", open_ssh),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, log.as_bytes()).unwrap();
    let file = dir.join("111122223333_CloudTrail_us-east-1_20261102T0000Z_x.json.gz");
    std::fs::write(&file, gz.finish().unwrap()).unwrap();

    let o = run(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("EC2-SG-003"), "{out}");
    assert!(
        out.contains("4 events, 1 findings (1 critical), 1 skipped, 2 not handled, 0 unreadable"),
        "{out}"
    );
    let skipped = |args: &[&str]| -> Vec<serde_json::Value> {
        let o = run(&[
            &["check", "--format", "json"],
            args,
            &[file.to_str().unwrap()],
        ]
        .concat());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["skipped"].clone())
            .collect()
    };
    let values = |v: &[Option<&str>]| -> Vec<serde_json::Value> {
        v.iter().map(|s| serde_json::json!(s)).collect()
    };
    // JSON as text: the events no guard handles are counted, not printed…
    assert_eq!(
        skipped(&[]),
        values(&[Some("failed call: Client.UnauthorizedOperation"), None])
    );
    // …unless asked for.
    assert_eq!(
        skipped(&["--all-events"]),
        values(&[
            Some("not handled: DescribeInstances"),
            Some("not handled: DescribeInstances"),
            Some("failed call: Client.UnauthorizedOperation"),
            None
        ])
    );
    let o = run(&["check", "--all-events", file.to_str().unwrap()]);
    assert_eq!(
        stdout(&o)
            .matches("skipped: not handled: DescribeInstances")
            .count(),
        2,
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_record_with_nothing_to_judge_exits_2_naming_the_field_never_no_findings() {
    let dir = temp_dir("hollow");
    let hollow = dir.join("hollow.json");
    std::fs::write(
        &hollow,
        r#"{"eventID": "ev-hollow", "eventName": "AuthorizeSecurityGroupIngress", "eventSource": "ec2.amazonaws.com",
            "requestParameters": {"groupId": "sg-1", "ipPermissions": {}}, "responseElements": {"_return": true}}"#,
    )
    .unwrap();
    let o = run(&["check", hollow.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("event ev-hollow: requestParameters.ipPermissions: no rule to judge"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("no findings"));
}
