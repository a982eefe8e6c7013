//! Rule tests driven by the sample events in `events/`: each file's verdict
//! (findings, plan, skip reason) is checked in as a snapshot under
//! `tests/snapshots/`, reviewed like code.

use std::path::PathBuf;

use access_guard::model::stream::read_document;
use access_guard::policy::Policy;
use access_guard::report::Report;
use time::macros::date;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn verdicts(name: &str) -> Vec<Report> {
    let path = events_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let policy = Policy::embedded();
    read_document(&bytes, name)
        .into_iter()
        .map(|event| {
            let event = event.unwrap_or_else(|e| panic!("{e}"));
            access_guard::guards::offline::evaluate(&event, &policy, date!(2026 - 11 - 02))
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

fn planned(reports: &[Report]) -> Vec<String> {
    reports
        .iter()
        .flat_map(|r| r.plan.iter())
        .flat_map(|s| s.rule_ids.iter().chain(s.permissions.iter()).cloned())
        .collect()
}

fn fired(reports: &[Report]) -> Vec<&'static str> {
    let mut rules: Vec<&'static str> = reports
        .iter()
        .flat_map(|r| r.findings.iter().map(|f| f.rule))
        .collect();
    rules.dedup();
    rules
}

#[test]
fn every_sample_event_matches_its_snapshot() {
    let mut names: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "events/ holds {} files", names.len());
    for name in names {
        let reports = verdicts(&name);
        let doc = serde_json::to_string_pretty(&reports).unwrap();
        insta::assert_snapshot!(name.trim_end_matches(".json"), doc);
    }
}

#[test]
fn partial_records_hide_nothing() {
    // The response lists 443 only; 22, opened in the same request, is judged and planned.
    let r = verdicts("sg-trimmed-response-hides-ssh.json");
    assert_eq!(fired(&r), ["EC2-SG-003"]);
    assert_eq!(planned(&r), ["tcp 22 from 0.0.0.0/0"]);
    // A trimmed CreateService response: the request's public IP, exec and missing groups still count.
    let r = verdicts("svc-create-partial-response.json");
    assert_eq!(
        fired(&r),
        ["ECS-SVC-001", "ECS-SVC-002", "ECS-SVC-003", "ECS-SVC-011"]
    );
    // A Docker volume bound to the socket is the socket.
    let r = verdicts("td-docker-volume-bind-socket.json");
    let socket = r[0]
        .findings
        .iter()
        .find(|f| f.rule == "ECS-TD-013")
        .expect("ECS-TD-013");
    assert_eq!(socket.severity, access_guard::finding::Severity::Critical);
    // Same names, other services: not ECS.
    for name in [
        "svc-apprunner-create-service-not-handled.json",
        "svc-cloudmap-update-service-not-handled.json",
    ] {
        assert!(verdicts(name)[0].is_not_handled(), "{name}");
    }
}

#[test]
fn exemption_tags_are_alerted_and_must_expire() {
    let set = &verdicts("sg-exemption-tag-set.json")[0];
    assert!(set.should_notify(access_guard::finding::Severity::Critical));
    assert!(set.exemption.as_ref().unwrap().is_active());
    let forever = &verdicts("sg-exemption-tag-set-no-expiry.json")[0];
    assert_eq!(
        forever.exemption.as_ref().unwrap().status,
        access_guard::policy::ExemptionStatus::Unbounded
    );
    let removed = &verdicts("sg-exemption-tag-removed.json")[0];
    assert!(removed.should_notify(access_guard::finding::Severity::Critical));
    assert!(verdicts("sg-tags-other-key-not-handled.json")[0].is_not_handled());
    // However the tag reaches a group: a group created with it, the tagging API.
    let created = &verdicts("sg-create-security-group-with-exemption-tag.json")[0];
    assert!(created.should_notify(access_guard::finding::Severity::Critical));
    assert_eq!(created.resource.as_deref(), Some("sg-0c2d3e4f5a6b7c8d9"));
    assert!(created.exemption.as_ref().unwrap().is_active());
    let tagged = &verdicts("sg-tag-resources-exemption.json")[0];
    assert!(tagged.should_notify(access_guard::finding::Severity::Critical));
    assert_eq!(tagged.resource.as_deref(), Some("sg-0d3e4f5a6b7c8d9e0"));
    assert_eq!(
        tagged.exemption.as_ref().unwrap().status,
        access_guard::policy::ExemptionStatus::Unbounded
    );
}

#[test]
fn key_scenarios() {
    // One call, two rules: only SSH is revoked, HTTPS stays.
    let r = verdicts("sg-mixed-ssh-and-https.json");
    assert_eq!(fired(&r), ["EC2-SG-003"]);
    assert_eq!(planned(&r), ["sgr-0mixssh000000071"]);
    // The flat request form and IPv6 are caught.
    assert_eq!(
        planned(&verdicts("sg-ssh-open-flat-form.json")),
        ["sgr-0flat000000000002"]
    );
    assert_eq!(fired(&verdicts("sg-ssh-open-ipv6.json")), ["EC2-SG-003"]);
    // Two halves of the internet are the internet.
    assert_eq!(planned(&verdicts("sg-rdp-split-halves.json")).len(), 2);
    // Host bits do not hide /0.
    assert_eq!(
        fired(&verdicts("sg-mysql-open-host-bits.json")),
        ["EC2-SG-005"]
    );
    // ICMP type 22 is not SSH; a private source is not the internet; 443 is authorized.
    for safe in [
        "sg-icmp-type-22-not-ssh.json",
        "sg-ssh-private-source.json",
        "sg-https-open-safe.json",
    ] {
        assert!(fired(&verdicts(safe)).is_empty(), "{safe}");
    }
    // Failed calls and egress are skipped, with the reason.
    assert_eq!(
        verdicts("sg-failed-call-unauthorized.json")[0]
            .skipped
            .as_deref(),
        Some("failed call: Client.UnauthorizedOperation")
    );
    assert_eq!(
        verdicts("sg-egress-not-handled.json")[0].skipped.as_deref(),
        Some("not handled: AuthorizeSecurityGroupEgress")
    );
    // ModifySecurityGroupRules offline: planned, direction unverified.
    let r = verdicts("sg-modify-rule-to-rdp-world.json");
    assert_eq!(r[0].plan[0].direction, Some("unverified"));
    // An older record is revoked by its exact permission.
    assert_eq!(
        planned(&verdicts("sg-ssh-older-record-no-rule-ids.json")),
        ["tcp 22 from 0.0.0.0/0"]
    );
    // A CIDR that does not parse is a finding, never a pass, and never revoked on a guess.
    let r = verdicts("sg-unparseable-cidr.json");
    assert_eq!(fired(&r), ["EC2-SG-012"]);
    assert!(planned(&r).is_empty());
}

#[test]
fn every_task_definition_rule_fires_on_its_own_event() {
    let cases = [
        ("td-privileged.json", "ECS-TD-001"),
        ("td-writable-root-filesystem.json", "ECS-TD-002"),
        ("td-host-pid.json", "ECS-TD-003"),
        ("td-host-ipc.json", "ECS-TD-004"),
        ("td-host-network-root.json", "ECS-TD-005"),
        ("td-root-user.json", "ECS-TD-006"),
        ("td-aws-keys-in-env.json", "ECS-TD-007"),
        ("td-secret-values-in-env.json", "ECS-TD-008"),
        ("td-secret-name-literal.json", "ECS-TD-009"),
        ("td-no-log-configuration.json", "ECS-TD-010"),
        ("td-dangerous-capabilities.json", "ECS-TD-011"),
        ("td-host-device.json", "ECS-TD-012"),
        ("td-docker-socket-mount.json", "ECS-TD-013"),
        ("td-seccomp-unconfined.json", "ECS-TD-014"),
        ("td-untrusted-registry.json", "ECS-TD-015"),
        ("td-mutable-image-latest.json", "ECS-TD-016"),
        ("td-risky-port-mappings.json", "ECS-TD-017"),
        ("td-efs-without-transit-encryption.json", "ECS-TD-018"),
        ("td-task-role-equals-execution-role.json", "ECS-TD-019"),
        ("td-windows-container-administrator.json", "ECS-TD-020"),
        ("td-ec2-bridge-no-memory-limit.json", "ECS-TD-022"),
        ("td-capabilities-not-dropped.json", "ECS-TD-023"),
        ("td-blocking-log-mode.json", "ECS-TD-024"),
        ("td-untagged.json", "ECS-TD-026"),
    ];
    for (file, rule) in cases {
        let fired = fired(&verdicts(file));
        assert!(
            fired.contains(&rule),
            "{file}: {rule} did not fire ({fired:?})"
        );
        // Each scenario event changes one thing from the clean definition.
        // (Root, and a network mode other than awsvpc, come with the
        // host-network, socket, bridge and port scenarios.)
        let others: Vec<&&str> = fired
            .iter()
            .filter(|r| **r != rule && **r != "ECS-TD-006" && **r != "ECS-TD-025")
            .collect();
        assert!(others.is_empty(), "{file}: also fired {others:?}");
    }
    // Host network with a root container is high, the Docker socket critical.
    let r = verdicts("td-host-network-root.json");
    assert_eq!(
        r[0].findings[0].severity,
        access_guard::finding::Severity::High
    );
    let r = verdicts("td-docker-socket-mount.json");
    assert_eq!(
        r[0].findings[0].severity,
        access_guard::finding::Severity::Critical
    );
}

#[test]
fn the_clean_fargate_definition_fires_nothing_above_low_and_every_container_is_checked() {
    let clean = verdicts("td-clean-fargate.json");
    assert!(clean[0]
        .findings
        .iter()
        .all(|f| f.severity <= access_guard::finding::Severity::Low));
    let multi = verdicts("td-multi-container.json");
    let details: Vec<&str> = multi[0]
        .findings
        .iter()
        .map(|f| f.detail.as_str())
        .collect();
    assert!(details
        .iter()
        .any(|d| d.starts_with("container log-router:")));
    assert!(details
        .iter()
        .any(|d| d.starts_with("container debug-shell:")));
    // An omitted definition is never judged clean offline.
    let omitted = verdicts("td-omitted-request.json");
    assert!(omitted[0]
        .skipped
        .as_deref()
        .unwrap_or_default()
        .starts_with("incomplete"));
}

#[test]
fn service_events_report_what_the_call_set() {
    assert_eq!(
        fired(&verdicts("svc-create-public-ip.json")),
        ["ECS-SVC-001"]
    );
    assert_eq!(
        verdicts("svc-create-public-ip.json")[0].resource.as_deref(),
        Some("default/orders-api"),
        "no cluster means default"
    );
    assert_eq!(
        fired(&verdicts("svc-create-exec-enabled.json")),
        ["ECS-SVC-002"]
    );
    assert_eq!(
        fired(&verdicts("svc-create-no-security-groups.json")),
        ["ECS-SVC-003"]
    );
    assert!(fired(&verdicts("svc-create-clean.json")).is_empty());
    assert_eq!(
        fired(&verdicts("svc-update-enables-public-ip.json")),
        ["ECS-SVC-001"]
    );
    // A scale-out of a service that already has a public IP and exec: no re-alert.
    let scale = verdicts("svc-update-scale-only.json");
    assert!(fired(&scale).is_empty());
    assert!(scale[0].notes.is_empty(), "nothing that needs AWS changed");
    // Offline, the checks that need AWS are named, never silently passed.
    assert!(verdicts("svc-update-new-task-definition.json")[0].notes[0].contains("ECS-SVC-005"));
}
