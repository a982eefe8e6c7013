//! `access-guard plan --format sarif` as a CI job runs it: one SARIF 2.1.0
//! log on stdout for all the files, the catalog as its rules, each finding
//! a result at its file and address, what was not judged or not read in
//! the invocation's notifications, exit codes as the other formats. The log
//! is checked against the OASIS schema, which the README's test command
//! fetches from a package registry and names in `ACCESS_GUARD_SARIF_SCHEMA`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

const SCHEMA_VAR: &str = "ACCESS_GUARD_SARIF_SCHEMA";

fn plans() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plans");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/plans")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plans/seed.json")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_access-guard"))
        .args(args)
        .output()
        .expect("run access-guard")
}

fn sarif(paths: &[&Path], extra: &[&str]) -> (Output, Value) {
    let mut args: Vec<&str> = vec!["plan", "--format", "sarif"];
    args.extend(extra);
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let out = run(&args);
    let log: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "one JSON document on stdout: {e}\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out, log)
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().expect("results")
}

fn notifications(log: &Value) -> &Vec<Value> {
    log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications")
}

#[test]
fn one_log_has_the_catalog_once_and_each_finding_at_its_file_and_address() {
    let seed = seed();
    let (out, log) = sarif(&[&seed], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"].as_array().unwrap().len(), 1);
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "access-guard");
    let ids: Vec<&str> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    let catalog: Vec<&str> = access_guard::rules::ALL.iter().map(|r| r.id).collect();
    assert_eq!(ids, catalog);

    let results = results(&log);
    assert_eq!(results.len(), 12, "the 12 findings the text summary counts");
    let ssh = results
        .iter()
        .find(|r| r["ruleId"] == "EC2-SG-003")
        .expect("the group's SSH rule");
    assert_eq!(
        driver["rules"][ssh["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "EC2-SG-003"
    );
    assert_eq!(ssh["level"], "error");
    assert_eq!(
        ssh["message"]["text"],
        "aws_security_group.web: tcp 22 from 0.0.0.0/0"
    );
    let location = &ssh["locations"][0];
    assert_eq!(
        location["physicalLocation"]["artifactLocation"]["uri"],
        seed.to_str().unwrap()
    );
    assert_eq!(location["physicalLocation"]["region"]["startLine"], 1);
    assert_eq!(
        location["logicalLocations"][0]["fullyQualifiedName"],
        "aws_security_group.web"
    );
    let public_ip = results
        .iter()
        .find(|r| r["ruleId"] == "ECS-SVC-001")
        .expect("the service's public IP");
    assert_eq!(
        public_ip["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "module.app.aws_ecs_service.web"
    );
    assert_eq!(public_ip["level"], "error");

    let (_, again) = sarif(&[&seed], &[]);
    assert_eq!(again, log, "the same plan, the same log (fingerprints too)");
}

#[test]
fn a_resource_unknown_until_apply_is_said_in_the_log_and_on_stderr() {
    let seed = seed();
    let (out, log) = sarif(&[&seed], &[]);
    let said: Vec<(&str, &str)> = notifications(&log)
        .iter()
        .filter(|n| n["descriptor"]["id"] == "not-judged")
        .map(|n| {
            (
                n["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                    .as_str()
                    .unwrap(),
                n["message"]["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        said,
        [
            (
                "aws_vpc_security_group_ingress_rule.admin",
                "aws_vpc_security_group_ingress_rule.admin: not judged: cidr_ipv4 unknown until apply"
            ),
            (
                "module.app.aws_ecs_service.web",
                "module.app.aws_ecs_service.web: could not check security group (known after apply): which groups is known after apply; the task definition: not named in the plan (known after apply); could not check network_configuration[0].security_groups: unknown until apply"
            ),
        ]
    );
    assert!(notifications(&log).iter().all(|n| n["level"] != "error"));
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        true
    );
    assert!(
        results(&log).iter().all(|r| r["ruleId"] != "ECS-SVC-003"),
        "its groups are created in the same plan: unknown, never none"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "aws_vpc_security_group_ingress_rule.admin: not judged: cidr_ipv4 unknown until apply"
        ) && stderr
            .contains("5 resources, 12 findings, 1 not judged (unknown until apply), 0 errors"),
        "{stderr}"
    );
}

#[test]
fn an_unreadable_file_makes_the_run_unsuccessful_and_the_others_still_run() {
    let dir = std::env::temp_dir().join(format!("access-guard-sarif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{ not json").unwrap();
    let seed = seed();
    let (out, log) = sarif(&[&broken, &seed], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
    let errors: Vec<&Value> = notifications(&log)
        .iter()
        .filter(|n| n["level"] == "error")
        .collect();
    let [error] = errors[..] else {
        panic!("{errors:?}")
    };
    assert_eq!(error["descriptor"]["id"], "not-read");
    assert_eq!(
        error["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        broken.to_str().unwrap()
    );
    assert!(error["message"]["text"]
        .as_str()
        .unwrap()
        .contains("neither the JSON of `terraform show -json PLANFILE`"));
    assert_eq!(results(&log).len(), 12, "the seed is still judged");
    let _ = std::fs::remove_dir_all(&dir);

    let (out, _) = sarif(&[&seed], &["--fail-on", "critical"]);
    assert_eq!(out.status.code(), Some(1), "--fail-on as the other formats");
}

/// Validates each document against the schema with Python's `jsonschema`
/// (the schema is draft 04); returns, per document, the errors found.
fn validate(schema: &Path, documents: &[Value]) -> Vec<Vec<String>> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    const CHECK: &str = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft4Validator.check_schema(schema)
validator = jsonschema.Draft4Validator(schema)
out = [[f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
       for doc in json.load(sys.stdin)]
print(json.dumps(out))
"#;
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(CHECK)
        .arg(schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the README's test command makes .venv)",
                python.display()
            )
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::from(documents.to_vec()).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the validator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_log_is_valid_by_the_oasis_schema_which_rejects_a_broken_log() {
    let schema = std::env::var(SCHEMA_VAR).unwrap_or_else(|_| {
        panic!("{SCHEMA_VAR} is not set: run the README's test command (`make test`), which fetches the SARIF 2.1.0 schema")
    });
    let schema = PathBuf::from(schema);
    let plans = plans();
    let every: Vec<&Path> = plans.iter().map(PathBuf::as_path).collect();
    let (_, fixtures) = sarif(&every, &[]);
    assert!(!results(&fixtures).is_empty());
    let missing = std::env::temp_dir().join("access-guard-sarif-no-such-plan.json");
    let (_, failed) = sarif(&[&missing, &seed()], &[]);
    assert_eq!(
        failed["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );

    let mut no_message = fixtures.clone();
    no_message["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    let mut bad_level = fixtures.clone();
    bad_level["runs"][0]["results"][0]["level"] = json!("critical");

    let verdicts = validate(&schema, &[fixtures, failed, no_message, bad_level]);
    assert_eq!(verdicts[0], Vec::<String>::new(), "the fixtures' log");
    assert_eq!(
        verdicts[1],
        Vec::<String>::new(),
        "a log with a file not read"
    );
    assert_eq!(
        verdicts[2],
        ["runs/0/results/0: 'message' is a required property"],
        "the validator can fail"
    );
    assert!(
        verdicts[3]
            .iter()
            .any(|e| e.starts_with("runs/0/results/0/level")),
        "{:?}",
        verdicts[3]
    );
}
