//! A place's sweep end to end with fakes: alerts once and says what
//! resolved, a denied read, revocations (allowed, capped, dry run, exempt,
//! through a prefix list), the sinks, and a group it cannot see.

use super::*;

#[tokio::test]
async fn alerts_once_stays_quiet_then_lists_what_resolved() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    let first = h.sweep(&policy, "2026-12-01T00:00:00Z", false).await;
    assert_eq!(h.sent().len(), 1);
    let message: serde_json::Value = serde_json::from_str(&h.sent()[0].message).unwrap();
    let doc: serde_json::Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(doc["event_name"], "Sweep");
    assert!(first.report.findings.iter().any(|f| f.rule == "EC2-SG-003"));
    assert!(
        h.sent()[0].subject.starts_with("[ALERT] [CRITICAL]"),
        "{}",
        h.sent()[0].subject
    );

    h.sweep(&policy, "2026-12-01T06:00:00Z", false).await;
    assert_eq!(h.sent().len(), 1, "nothing unchanged is re-alerted");

    h.estate.estate.lock().unwrap().groups[0].rules.clear();
    let third = h.sweep(&policy, "2026-12-01T12:00:00Z", false).await;
    assert_eq!(h.sent().len(), 2);
    let resolved: Vec<&str> = third
        .report
        .resolved
        .iter()
        .map(|r| r.rule.as_str())
        .collect();
    assert!(resolved.contains(&"EC2-SG-003"), "{resolved:?}");
    assert_eq!(third.report.resolved[0].first_seen, "2026-12-01T00:00:00Z");
    let text = serde_json::from_str::<serde_json::Value>(&h.sent()[1].message).unwrap()["default"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("Resolved since the last sweep"), "{text}");
}

#[tokio::test]
async fn a_denied_read_resolves_nothing_and_is_in_the_summary() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    h.sweep(&policy, "2026-12-01T01:00:00Z", false).await;
    {
        let mut e = h.estate.estate.lock().unwrap();
        e.groups.clear();
        e.unread.push(Unread {
            what: "DescribeSecurityGroupRules".to_string(),
            error: AwsError {
                operation: "DescribeSecurityGroupRules",
                code: Some("UnauthorizedOperation".to_string()),
                message: "denied".to_string(),
                retryable: false,
            },
        });
    }
    let partial = h.sweep(&policy, "2026-12-01T02:00:00Z", false).await;
    assert!(partial.report.resolved.is_empty());
    let (records, statuses) = crate::ports::StateStore::everything(&h.state)
        .await
        .unwrap();
    assert!(records.iter().all(|r| r.status == Status::Open));
    let summary = Summary::of(&records, statuses, "t3");
    assert_eq!(summary.incomplete.len(), 1);
    assert!(summary
        .text()
        .contains("DescribeSecurityGroupRules: UnauthorizedOperation"));
    assert_eq!(summary.by_severity.get("critical"), Some(&3));
    assert!(summary.subject().contains("1 places not fully read"));
}

#[tokio::test]
async fn the_sweep_revokes_only_when_allowed_and_at_most_the_cap() {
    let open = |n: usize| -> Vec<SgRule> {
        (0..n)
            .map(|i| rule(&format!("sgr-{i}"), 22, "0.0.0.0/0"))
            .map(|mut r| {
                r.from_port = Some(22);
                r
            })
            .collect()
    };
    let mut e = estate();
    e.groups = vec![group("sg-open", open(3), &[])];
    let mut policy = Policy::from_toml(
        "dry_run = false\n[sweep]\nrevoke = true\nmax_revocations_per_run = 2\n",
        "t",
    )
    .unwrap();
    let h = Harness::new(e.clone());
    *h.groups.rules.lock().unwrap() = open(3);
    let h = Harness {
        groups: MemoryGroups {
            info: Some(e.groups[0].info.clone()),
            rules: std::sync::Mutex::new(open(3)),
            ..MemoryGroups::default()
        },
        ..h
    };
    // Not allowed: nothing revoked.
    policy.sweep.revoke = false;
    h.sweep(&policy, "2026-12-01T01:00:00Z", true).await;
    assert!(h.groups.revoke_calls.lock().unwrap().is_empty());
    // Allowed: two of three, the third held back.
    policy.sweep.revoke = true;
    let r = h.sweep(&policy, "2026-12-01T02:00:00Z", true).await;
    assert_eq!(
        *h.groups.revoke_calls.lock().unwrap(),
        ["sg-open/sgr-0,sgr-1"]
    );
    let kinds: Vec<crate::report::OutcomeKind> =
        r.report.outcomes.iter().map(|o| o.result).collect();
    use crate::report::OutcomeKind::{HeldBack, Revoked};
    assert_eq!(kinds, [Revoked, Revoked, HeldBack]);
    assert_eq!(h.groups.rules.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_dry_run_revoke_is_said_once_with_its_finding_not_every_sweep() {
    let mut e = estate();
    e.groups.truncate(1);
    let policy = Policy::from_toml("dry_run = true\n[sweep]\nrevoke = true\n", "t").unwrap();
    let h = Harness {
        groups: MemoryGroups {
            info: Some(e.groups[0].info.clone()),
            rules: std::sync::Mutex::new(vec![rule("sgr-ssh", 22, "0.0.0.0/0")]),
            ..MemoryGroups::default()
        },
        ..Harness::new(e)
    };
    let first = h.sweep(&policy, "2026-12-01T01:00:00Z", true).await;
    assert_eq!(
        first.report.outcomes[0].result,
        crate::report::OutcomeKind::DryRun
    );
    assert_eq!(h.sent().len(), 1);
    let second = h.sweep(&policy, "2026-12-01T02:00:00Z", true).await;
    assert_eq!(
        second.report.outcomes[0].result,
        crate::report::OutcomeKind::DryRun
    );
    assert_eq!(h.sent().len(), 1, "unchanged: not alerted again");
}

#[tokio::test]
async fn the_sweep_honours_dry_run_and_exemptions_when_revoking() {
    let mut e = estate();
    e.groups.truncate(1);
    let exempt_tags = [("access-guard:exempt", "bastion;expires=2026-12-20")];
    for (policy, tags, expected) in [
        (
            "dry_run = true\n[sweep]\nrevoke = true\n",
            &[][..],
            crate::report::OutcomeKind::DryRun,
        ),
        (
            "dry_run = false\n[sweep]\nrevoke = true\n",
            &exempt_tags[..],
            crate::report::OutcomeKind::Exempt,
        ),
    ] {
        let policy = Policy::from_toml(policy, "t").unwrap();
        let mut e = e.clone();
        e.groups[0] = group("sg-open", vec![rule("sgr-ssh", 22, "0.0.0.0/0")], tags);
        let info = e.groups[0].info.clone();
        let h = Harness {
            groups: MemoryGroups {
                info: Some(info),
                rules: std::sync::Mutex::new(vec![rule("sgr-ssh", 22, "0.0.0.0/0")]),
                ..MemoryGroups::default()
            },
            ..Harness::new(e)
        };
        let r = h.sweep(&policy, "2026-12-01T01:00:00Z", true).await;
        assert!(h.groups.revoke_calls.lock().unwrap().is_empty());
        let kinds: Vec<_> = r.report.outcomes.iter().map(|o| o.result).collect();
        // An exempt group is not even planned by the sweep.
        if expected == crate::report::OutcomeKind::DryRun {
            assert_eq!(kinds, [expected]);
        } else {
            assert!(kinds.is_empty(), "{kinds:?}");
        }
    }
}

#[tokio::test]
async fn the_sweep_revokes_through_a_prefix_list_only_when_read_again() {
    use crate::model::sg::PrefixListEntries;
    let world = || PrefixListEntries::Read(vec![Source::cidr("0.0.0.0/0")]);
    let mut listed = group(
        "sg-listed",
        vec![through_list("sgr-world", 22, "pl-world")],
        &[],
    );
    listed.prefix_lists = lists(&[("pl-world", world())]);
    let mut e = estate();
    e.groups = vec![listed.clone()];
    let policy = Policy::from_toml("dry_run = false\n[sweep]\nrevoke = true\n", "t").unwrap();
    for (read_again, revoked) in [
        (Ok(world()), true),
        (
            Err(AwsError {
                operation: "GetManagedPrefixListEntries",
                code: Some("AccessDenied".to_string()),
                message: "denied".to_string(),
                retryable: false,
            }),
            false,
        ),
    ] {
        let h = Harness {
            groups: MemoryGroups {
                info: Some(listed.info.clone()),
                rules: std::sync::Mutex::new(listed.rules.clone()),
                prefix_lists: vec![("pl-world".to_string(), read_again)],
                ..MemoryGroups::default()
            },
            ..Harness::new(e.clone())
        };
        let r = h.sweep(&policy, "2026-12-01T01:00:00Z", true).await;
        let calls = h.groups.revoke_calls.lock().unwrap().clone();
        if revoked {
            assert_eq!(calls, ["sg-listed/sgr-world"]);
        } else {
            assert!(
                calls.is_empty(),
                "unknown right before revoking: not revoked"
            );
            assert_eq!(
                r.report.outcomes[0].result,
                crate::report::OutcomeKind::Failed
            );
            assert_eq!(
                r.report.outcomes[0].error_code.as_deref(),
                Some("AccessDenied")
            );
        }
    }
}

#[tokio::test]
async fn the_sinks_get_every_finding_present_and_everything_resolved_and_chat_the_alert() {
    use crate::guards::sinks::{SecurityHubSink, Sinks, WithSinks};
    use crate::ports::fakes::{MemoryChat, MemoryHub};
    use std::sync::Arc;
    let hub = Arc::new(MemoryHub::default());
    let chat = Arc::new(MemoryChat::default());
    let notifier = WithSinks {
        notifier: MemoryNotifier::default(),
        sinks: Sinks {
            security_hub: Some(SecurityHubSink {
                hub: hub.clone(),
                product: crate::output::asff::Product::default_of("aws", REGION, ACCOUNT),
            }),
            chat: Some(chat.clone()),
        },
        budget: crate::guards::sinks::SWEEP_SINKS_BUDGET,
    };
    let h = Harness::new(estate());
    // Only critical findings alert: Security Hub still gets the others.
    let policy = Policy::from_toml("notify_min_severity = \"critical\"", "test").unwrap();
    let settings = GuardSettings::default();
    let sweep = |now: &'static str| PlaceSweep {
        account: ACCOUNT,
        region: REGION,
        run: now,
        estate: &h.estate,
        iam: &h.iam,
        instances: &h.instances,
        state: Some(&h.state),
        notifier: Some(&notifier),
        organizations: None,
        remediation: None,
        policy: &policy,
        settings: &settings,
        now,
        today: TODAY,
    };
    let first = sweep("2026-12-01T00:00:00Z").run().await.unwrap();
    let present: std::collections::BTreeSet<&str> =
        first.seen.iter().map(|s| s.fingerprint.as_str()).collect();
    let held = hub.findings.lock().unwrap().clone();
    assert_eq!(held.len(), present.len(), "every finding present, once");
    assert!(held
        .iter()
        .all(|f| present.iter().any(|p| f.id.ends_with(p))));
    assert!(
        held.iter().any(|f| f.severity.label == "MEDIUM"),
        "below the threshold too"
    );
    assert!(
        first.report.findings.len() < held.len(),
        "the alert lists fewer"
    );
    assert_eq!(chat.posted.lock().unwrap().len(), 1, "the alert, in chat");

    // Unchanged: nothing alerted or posted, the findings refreshed, still
    // created when first seen.
    sweep("2026-12-01T06:00:00Z").run().await.unwrap();
    assert_eq!(chat.posted.lock().unwrap().len(), 1);
    let held = hub.findings.lock().unwrap().clone();
    assert_eq!(held.len(), present.len());
    assert!(held
        .iter()
        .all(|f| f.created_at == "2026-12-01T00:00:00Z"
            && f.first_observed_at == "2026-12-01T00:00:00Z"));
    assert!(hub.resolves.lock().unwrap().is_empty());

    // The group's rule is gone: its finding is resolved in Security Hub.
    h.estate.estate.lock().unwrap().groups[0].rules.clear();
    sweep("2026-12-01T12:00:00Z").run().await.unwrap();
    let held = hub.findings.lock().unwrap().clone();
    let ssh = held
        .iter()
        .find(|f| f.generator_id == "EC2-SG-003")
        .unwrap();
    assert_eq!(
        (ssh.compliance_status, ssh.record_state),
        ("PASSED", "ARCHIVED")
    );
    assert_eq!(ssh.created_at, "2026-12-01T00:00:00Z", "first seen");
    let resolves = hub.resolves.lock().unwrap().clone();
    assert_eq!(resolves.len(), 1);
    assert!(resolves[0].1.contains(&ssh.id), "{resolves:?}");
    // The service behind the group is no longer exposed either (ECS-SVC-004).
    for id in &resolves[0].1 {
        let f = held.iter().find(|f| &f.id == id).unwrap();
        assert_eq!(f.record_state, "ARCHIVED", "{id}");
    }
    assert_eq!(held.len(), present.len(), "updated, not duplicated");
}

#[tokio::test]
async fn a_sweep_resolves_nothing_about_a_service_whose_group_it_cannot_see() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    let first = h.sweep(&policy, "2026-12-01T00:00:00Z", false).await;
    assert!(first
        .report
        .findings
        .iter()
        .any(|f| f.rule == "ECS-SVC-004"));
    // The group leaves the account's view (another account's now, or deleted).
    h.estate.estate.lock().unwrap().groups.remove(0);
    let second = h.sweep(&policy, "2026-12-01T06:00:00Z", false).await;
    assert!(
        second.report.resolved.is_empty(),
        "unknown is not resolved: {:?}",
        second.report.resolved
    );
    assert!(
        second.unread.iter().any(|u| u.phrase().contains("sg-open")),
        "{:?}",
        second.unread
    );
    let statuses = h.state.statuses.lock().unwrap().clone();
    assert!(!statuses[0].complete);
    assert!(
        statuses[0].problems[0].contains("sg-open"),
        "{:?}",
        statuses[0].problems
    );
}
