//! The ingress guard's reads that overlap: where the group is in use is
//! read while the revocation runs, and the rules are read back beside the
//! group's own read. Each test holds one call until the other has begun,
//! so a guard that made them one after the other would never finish.

use super::path::tests::{finding, in_use, interface, lines, ssh_and_custom};
use super::test_support::*;
use crate::guards::GuardSettings;
use crate::model::sg;
use crate::ports::fakes::MemoryGroups;
use crate::ports::AwsError;
use crate::report::OutcomeKind;

/// Opens when the group's interfaces are read; a revocation waits for it.
#[derive(Default)]
struct Gate {
    open: std::sync::atomic::AtomicBool,
    waker: std::sync::Mutex<Option<std::task::Waker>>,
}

impl Gate {
    /// Ready once the gate is open.
    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            if self.open.load(std::sync::atomic::Ordering::SeqCst) {
                std::task::Poll::Ready(())
            } else {
                *self.waker.lock().unwrap() = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await
    }

    /// Opens the gate and wakes whoever waits at it.
    fn open(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }
}

struct GatedRevoke<'a> {
    groups: &'a MemoryGroups,
    gate: &'a Gate,
}

#[async_trait::async_trait]
impl crate::ports::IngressRemediator for GatedRevoke<'_> {
    async fn revoke_ingress(
        &self,
        group_id: &str,
        rule_ids: &[&str],
    ) -> Result<crate::ports::Revoked, AwsError> {
        self.gate.wait().await;
        self.groups.revoke_ingress(group_id, rule_ids).await
    }
}

/// The group's read waits for the rules' read to have begun.
struct GatedGroups<'a> {
    groups: &'a MemoryGroups,
    gate: &'a Gate,
}

#[async_trait::async_trait]
impl crate::ports::SecurityGroups for GatedGroups<'_> {
    async fn group(&self, group_id: &str) -> Result<Option<crate::ports::GroupInfo>, AwsError> {
        self.gate.wait().await;
        self.groups.group(group_id).await
    }
    async fn rules_of_group(&self, group_id: &str) -> Result<Vec<sg::SgRule>, AwsError> {
        self.gate.open();
        self.groups.rules_of_group(group_id).await
    }
    async fn prefix_list(&self, list_id: &str) -> Result<sg::PrefixListEntries, AwsError> {
        self.groups.prefix_list(list_id).await
    }
    async fn groups_referencing(&self, list_id: &str) -> Result<Vec<String>, AwsError> {
        self.groups.groups_referencing(list_id).await
    }
}

/// Polls `future` with nothing to wake it: the fakes answer at once, so
/// a few polls finish what does not wait on itself.
fn finish<T>(future: impl std::future::Future<Output = T>) -> Option<T> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    (0..100).find_map(
        |_| match std::future::Future::poll(future.as_mut(), &mut cx) {
            std::task::Poll::Ready(value) => Some(value),
            std::task::Poll::Pending => None,
        },
    )
}

/// A record that asks for a revocation has its group's rules read back
/// beside the group's own read, not after it: here the group's read
/// cannot finish before the rules' read has begun. The read back still
/// decides: the revocation stands.
#[test]
fn the_rules_are_read_back_beside_the_groups_read() {
    let gate = Gate::default();
    let (g, e) = ssh_and_custom();
    let gated = GatedGroups {
        groups: &g,
        gate: &gate,
    };
    let notifier = crate::ports::fakes::MemoryNotifier::default();
    let (policy, settings) = (revoking(), GuardSettings::default());
    let guard = guard(&gated, &g, &notifier, &policy, &settings);
    let report = finish(guard.handle(&e, TODAY))
        .expect("the group's read waited for a rules read that never began")
        .unwrap();
    assert!(
        results(&report).contains(&("sgr-ssh".to_string(), OutcomeKind::Revoked)),
        "{:?}",
        results(&report)
    );
}

/// The group's interfaces are read while the revocation runs, not after
/// it: here the revocation cannot finish before the read has begun, so
/// a guard that read after revoking would never finish.
#[test]
fn where_the_group_is_in_use_is_read_while_the_revocation_runs() {
    let gate = std::sync::Arc::new(Gate::default());
    let opener = gate.clone();
    let mut vpcs = in_use(vec![interface("eni-1", "subnet-1", Some("203.0.113.7"))]);
    vpcs.on_group_interfaces = Some(std::sync::Arc::new(move || opener.open()));
    let (g, e) = ssh_and_custom();
    let notifier = crate::ports::fakes::MemoryNotifier::default();
    let (policy, settings) = (revoking(), GuardSettings::default());
    let mut guard = guard(&g, &g, &notifier, &policy, &settings);
    let gated = GatedRevoke {
        groups: &g,
        gate: &gate,
    };
    guard.remediator = &gated;
    guard.vpcs = Some(&vpcs);
    let report = finish(guard.handle(&e, TODAY))
        .expect("the revocation waited for a read that never began")
        .unwrap();
    assert!(
        results(&report).contains(&("sgr-ssh".to_string(), OutcomeKind::Revoked)),
        "{:?}",
        results(&report)
    );
    assert_eq!(
        lines(finding(&report, "EC2-SG-003")).len(),
        1,
        "the path line drawn from the read"
    );
}
