//! `access-guard plan` as a user runs it on the JSON of `terraform show
//! -json`: each resource judged by the rules of its CloudTrail event and
//! named by its address, values known only after apply said, exit codes as
//! `check`. The plan (`plans/seed.json`) is written in the shape Terraform
//! 1.9 writes: the seed's cluster with Container Insights, a group with SSH
//! and HTTPS open, a rule whose source is known only after apply, a task
//! definition and a service with a public IP whose groups are created in
//! the same plan, and a group being deleted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn plan_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/plans")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_access-guard"))
        .args(args)
        .output()
        .expect("run access-guard")
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect()
}

fn rules(doc: &serde_json::Value) -> Vec<&str> {
    doc["findings"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["rule"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn each_resource_is_judged_by_its_events_rules_and_named_by_its_address() {
    let seed = plan_file("seed.json");
    let out = run(&["plan", "--format", "json", seed.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = lines(&out);
    let ids: Vec<&str> = docs.iter().filter_map(|d| d["event_id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "aws_ecs_cluster.main",
            "aws_security_group.web",
            "aws_vpc_security_group_ingress_rule.admin",
            "module.app.aws_ecs_task_definition.app",
            "module.app.aws_ecs_service.web"
        ],
        "the deleted group is not judged"
    );
    // The seed's cluster has Container Insights on.
    assert!(
        !rules(&docs[0]).contains(&"ECS-CL-001"),
        "{:?}",
        rules(&docs[0])
    );
    let docs = &docs[1..];
    assert_eq!(
        rules(&docs[0]),
        ["EC2-SG-003"],
        "SSH, not the authorized HTTPS"
    );
    assert_eq!(
        docs[0]["plan"],
        serde_json::json!([]),
        "nothing deployed: nothing to revoke"
    );
    assert_eq!(
        docs[1]["could_not_evaluate"],
        "aws_vpc_security_group_ingress_rule.admin: not judged: cidr_ipv4 unknown until apply"
    );
    assert!(
        rules(&docs[2]).contains(&"ECS-TD-016"),
        "{:?}",
        rules(&docs[2])
    );
    assert!(rules(&docs[3]).contains(&"ECS-SVC-001"));
    assert!(
        !rules(&docs[3]).contains(&"ECS-SVC-003"),
        "its groups are created in the same plan: unknown, never none"
    );
    // A plan without its configuration: which groups and which task
    // definition is known after apply, and said so.
    let why = docs[3]["could_not_evaluate"].as_str().unwrap();
    for part in [
        "security group (known after apply): which groups is known after apply",
        "the task definition: not named in the plan (known after apply)",
        "network_configuration[0].security_groups: unknown until apply",
    ] {
        assert!(why.contains(part), "{part}: {why}");
    }
}

#[test]
fn fail_on_and_unreadable_plans_set_the_exit_status_and_name_the_file() {
    let seed = plan_file("seed.json");
    let out = run(&["plan", "--fail-on", "critical", seed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("aws_security_group.web"), "{text}");
    assert!(
        text.contains("5 resources, 12 findings, 1 not judged (unknown until apply), 0 errors"),
        "{text}"
    );

    let dir = std::env::temp_dir().join(format!("access-guard-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let template = dir.join("template.json");
    std::fs::write(&template, r#"{"Parameters": {}}"#).unwrap();
    let out = run(&["plan", template.to_str().unwrap(), seed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("template.json: not a CloudFormation template (no Resources map) (neither the JSON of `terraform show -json PLANFILE`"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("module.app.aws_ecs_service.web"),
        "the other plan still runs"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .join("plan.json")
}

/// The rule ids of every resource of a plan, by address.
fn judged(plan: &Path) -> Vec<(String, Vec<String>)> {
    let out = run(&[
        "plan",
        "--account",
        "111122223333",
        "--format",
        "json",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines(&out)
        .iter()
        .map(|d| {
            assert!(
                d.get("could_not_evaluate").is_none(),
                "every resource of the example is judged: {d}"
            );
            let address = d["event_id"].as_str().unwrap().to_string();
            (address, rules(d).iter().map(|r| r.to_string()).collect())
        })
        .collect()
}

#[test]
fn the_seeds_service_is_judged_with_the_group_and_task_definition_of_its_plan() {
    let found = judged(&example("seed"));
    let of = |address: &str| {
        found
            .iter()
            .find(|(a, _)| a == address)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{address} not judged: {found:?}"))
    };
    assert!(of("aws_security_group.web").contains(&"EC2-SG-003".to_string()));
    let service = of("aws_ecs_service.web");
    for rule in ["ECS-SVC-001", "ECS-SVC-004"] {
        assert!(service.contains(&rule.to_string()), "{rule}: {service:?}");
    }
    // The group is named by reference: never "no security groups".
    assert!(!service.contains(&"ECS-SVC-003".to_string()), "{service:?}");
    let task = of("aws_ecs_task_definition.app");
    for rule in ["ECS-TD-006", "ECS-TD-015", "ECS-TD-016"] {
        assert!(task.contains(&rule.to_string()), "{rule}: {task:?}");
    }
}

#[test]
fn the_secure_example_raises_nothing_and_leaves_nothing_unjudged() {
    let found = judged(&example("secure"));
    assert!(found.len() >= 5, "{found:?}");
    let raised: Vec<_> = found.iter().filter(|(_, r)| !r.is_empty()).collect();
    assert!(raised.is_empty(), "false alarms: {raised:?}");
}

fn public(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/public")
        .join(path)
}

#[test]
fn public_plans_are_read_whole_and_judged_with_the_events_rule_ids() {
    // Plans of three Terraform versions (0.12, 1.0, 1.1: formats 0.1 to
    // 1.0) from other projects' test suites: every resource is read,
    // nothing is an error.
    for name in [
        "terraform-compliance-sg-open-ingress.plan.json",
        "trivy-sg-s3.plan.json",
        "checkov-iam-policies.plan.json",
    ] {
        let path = public(&format!("terraform/{name}"));
        let out = run(&["plan", "--format", "json", path.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let path = public("terraform/terraform-compliance-sg-open-ingress.plan.json");
    let out = run(&["plan", "--format", "json", path.to_str().unwrap()]);
    let docs = lines(&out);
    let of = |address: &str| {
        docs.iter()
            .find(|d| d["event_id"] == address)
            .map(|d| rules(d).into_iter().map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_else(|| panic!("{address}: {docs:?}"))
    };
    // tcp 1-3000 from anywhere: a wide range that holds SSH.
    let group = of("aws_security_group.allow_tls");
    for rule in ["EC2-SG-002", "EC2-SG-003"] {
        assert!(group.contains(&rule.to_string()), "{rule}: {group:?}");
    }
    // tcp 0-65535 from anywhere, as a rule of an existing group.
    let rule = of("aws_security_group_rule.allow_all");
    for id in ["EC2-SG-002", "EC2-SG-003", "EC2-SG-004"] {
        assert!(rule.contains(&id.to_string()), "{id}: {rule:?}");
    }
}
