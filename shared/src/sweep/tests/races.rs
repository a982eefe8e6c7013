//! Sweeps of one place that overlap or are retried: the place's lease, a
//! lease left by a crashed sweep, an older sweep finishing last, and an
//! alert that failed sent again.

use super::*;

/// Holds a sweep between two of its steps until `open` is set: the
/// estate's read (`estate`), or the table's read (`state`), so that another
/// sweep of the place runs in between.
#[derive(Default)]
struct Gate {
    open: std::sync::atomic::AtomicBool,
    reached: std::sync::atomic::AtomicBool,
}

impl Gate {
    async fn pass(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.reached.store(true, SeqCst);
        while !self.open.load(SeqCst) {
            tokio::task::yield_now().await;
        }
    }

    fn open(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// An estate read that waits at the gate after reading.
struct GatedEstate<'a> {
    estate: Estate,
    gate: &'a Gate,
}

#[async_trait::async_trait]
impl crate::ports::EstateReader for GatedEstate<'_> {
    async fn read(&self) -> Estate {
        let read = self.estate.clone();
        self.gate.pass().await;
        read
    }
}

/// The table, with a gate after the read of the place's findings.
struct GatedState<'a> {
    state: &'a MemoryState,
    gate: &'a Gate,
}

#[async_trait::async_trait]
impl StateStore for GatedState<'_> {
    async fn findings(&self, account: &str, region: &str) -> Result<Vec<Record>, AwsError> {
        let read = self.state.findings(account, region).await;
        self.gate.pass().await;
        read
    }
    async fn save(&self, records: &[Record]) -> Result<Vec<String>, AwsError> {
        self.state.save(records).await
    }
    async fn save_status(&self, status: &PlaceStatus) -> Result<bool, AwsError> {
        self.state.save_status(status).await
    }
    async fn take_lease(
        &self,
        account: &str,
        region: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, AwsError> {
        self.state
            .take_lease(account, region, holder, now, until)
            .await
    }
    async fn release_lease(
        &self,
        account: &str,
        region: &str,
        holder: &str,
    ) -> Result<bool, AwsError> {
        self.state.release_lease(account, region, holder).await
    }
    async fn everything(&self) -> Result<(Vec<Record>, Vec<PlaceStatus>), AwsError> {
        self.state.everything().await
    }
}

/// IAM and EC2 with nothing in them: these estates ask them nothing more.
static NO_IAM: std::sync::LazyLock<MemoryIam> = std::sync::LazyLock::new(MemoryIam::default);
static NO_INSTANCES: std::sync::LazyLock<MemoryInstances> =
    std::sync::LazyLock::new(MemoryInstances::default);

fn place_sweep<'a>(
    estate: &'a dyn EstateReader,
    state: &'a dyn StateStore,
    notifier: &'a dyn Notifier,
    policy: &'a Policy,
    settings: &'a GuardSettings,
    now: &'a str,
) -> PlaceSweep<'a> {
    PlaceSweep {
        account: ACCOUNT,
        region: REGION,
        run: now,
        estate,
        iam: &*NO_IAM,
        instances: &*NO_INSTANCES,
        state: Some(state),
        notifier: Some(notifier),
        organizations: None,
        remediation: None,
        policy,
        settings,
        now,
        today: TODAY,
    }
}

fn ssh_record(state: &MemoryState) -> Record {
    state
        .records
        .lock()
        .unwrap()
        .values()
        .find(|r| r.rule == "EC2-SG-003")
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn a_sweep_that_cannot_take_the_places_lease_ends_quietly() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    let settings = GuardSettings::default();
    let gate = Gate::default();
    let held = GatedEstate {
        estate: estate(),
        gate: &gate,
    };
    let first = place_sweep(
        &held,
        &h.state,
        &h.notifier,
        &policy,
        &settings,
        "2026-12-01T00:00:00Z",
    );
    // Ten minutes later, the first still reading: the second cannot sweep.
    let second = place_sweep(
        &h.estate,
        &h.state,
        &h.notifier,
        &policy,
        &settings,
        "2026-12-01T00:10:00Z",
    );
    let (first, second) = tokio::join!(first.run(), async {
        let r = second.run().await;
        gate.open();
        r
    });
    let second = second.unwrap();
    assert!(second.skipped.as_deref().unwrap().contains("lease"));
    assert!(second.seen.is_empty());
    assert!(first.unwrap().skipped.is_none());
    assert_eq!(h.sent().len(), 1, "the first sweep's alert alone");
    let statuses = h.state.statuses.lock().unwrap().clone();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].swept_at, "2026-12-01T00:00:00Z");
    assert!(
        h.state.leases.lock().unwrap().is_empty(),
        "released at the end"
    );
    // Released: the next sweep runs at once.
    let next = h.sweep(&policy, "2026-12-01T00:11:00Z", false).await;
    assert!(next.skipped.is_none());
}

#[tokio::test]
async fn a_lease_left_by_a_crashed_sweep_expires() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    let start = crate::state::epoch_seconds("2026-12-01T00:00:00Z").unwrap();
    h.state
        .take_lease(ACCOUNT, REGION, "crashed", start, start + LEASE_SECONDS)
        .await
        .unwrap();
    let during = h.sweep(&policy, "2026-12-01T00:15:00Z", false).await;
    assert!(during.skipped.is_some());
    assert!(h.sent().is_empty());
    let after = h.sweep(&policy, "2026-12-01T00:17:00Z", false).await;
    assert!(after.skipped.is_none());
    assert_eq!(h.sent().len(), 1);
}

/// The rule is gone when the older sweep reads, back when the newer one
/// reads; the older one's lease expired (it overran), so the newer one runs
/// while the older one waits at `gate_in`, and the older one finishes last.
async fn older_saw_it_gone_newer_saw_it_open(gate_in_state: bool) {
    use crate::guards::sinks::{SecurityHubSink, Sinks, WithSinks};
    use crate::ports::fakes::MemoryHub;
    use std::sync::Arc;
    let hub = Arc::new(MemoryHub::default());
    let notifier = WithSinks {
        notifier: MemoryNotifier::default(),
        sinks: Sinks {
            security_hub: Some(SecurityHubSink {
                hub: hub.clone(),
                product: crate::output::asff::Product::default_of("aws", REGION, ACCOUNT),
            }),
            chat: None,
        },
        budget: crate::guards::sinks::SWEEP_SINKS_BUDGET,
    };
    let policy = Policy::embedded();
    let settings = GuardSettings::default();
    let state = MemoryState::default();
    let open = MemoryEstate {
        estate: std::sync::Mutex::new(estate()),
    };
    place_sweep(
        &open,
        &state,
        &notifier,
        &policy,
        &settings,
        "2026-12-01T00:00:00Z",
    )
    .run()
    .await
    .unwrap();
    assert_eq!(notifier.notifier.sent.lock().unwrap().len(), 1);

    let gate = Gate::default();
    let mut closed = estate();
    closed.groups[0].rules.clear();
    let gated_estate = GatedEstate {
        estate: closed.clone(),
        gate: &gate,
    };
    let plain_estate = MemoryEstate {
        estate: std::sync::Mutex::new(closed),
    };
    let gated_state = GatedState {
        state: &state,
        gate: &gate,
    };
    let (older_estate, older_state): (&dyn EstateReader, &dyn StateStore) = if gate_in_state {
        (&plain_estate, &gated_state)
    } else {
        (&gated_estate, &state)
    };
    let older = place_sweep(
        older_estate,
        older_state,
        &notifier,
        &policy,
        &settings,
        "2026-12-01T06:00:00Z",
    );
    let newer = place_sweep(
        &open,
        &state,
        &notifier,
        &policy,
        &settings,
        "2026-12-01T06:20:00Z",
    );
    let (older, newer) = tokio::join!(older.run(), async {
        while !gate.reached.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        let r = newer.run().await;
        gate.open();
        r
    });
    let (older, newer) = (older.unwrap(), newer.unwrap());
    assert!(older.skipped.is_none() && newer.skipped.is_none());
    assert!(newer.report.resolved.is_empty() && newer.report.findings.is_empty());
    assert!(
        older.report.resolved.is_empty(),
        "the older sweep does not resolve what the newer one saw open: {:?}",
        older.report.resolved
    );
    assert_eq!(
        notifier.notifier.sent.lock().unwrap().len(),
        1,
        "no all-clear"
    );
    let ssh = ssh_record(&state);
    assert_eq!(ssh.status, Status::Open);
    assert_eq!(ssh.last_seen, "2026-12-01T06:20:00Z");
    assert_eq!(
        ssh.read_at,
        crate::state::epoch_seconds("2026-12-01T06:20:00Z").unwrap()
    );
    assert!(
        hub.resolves.lock().unwrap().is_empty(),
        "Security Hub keeps it open"
    );
    let statuses = state.statuses.lock().unwrap().clone();
    assert_eq!(
        statuses[0].swept_at, "2026-12-01T06:20:00Z",
        "the newer status is kept"
    );
}

#[tokio::test]
async fn an_older_sweep_finishing_last_resolves_nothing_the_newer_one_saw_open() {
    // The newer sweep wrote before the older one read the table.
    older_saw_it_gone_newer_saw_it_open(false).await;
    // The newer sweep wrote after the older one read the table: its writes
    // are refused by their condition.
    older_saw_it_gone_newer_saw_it_open(true).await;
}

#[tokio::test]
async fn an_older_sweep_finishing_last_does_not_reopen_what_the_newer_one_resolved() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    let settings = GuardSettings::default();
    h.sweep(&policy, "2026-12-01T00:00:00Z", false).await;
    let gate = Gate::default();
    let gated = GatedState {
        state: &h.state,
        gate: &gate,
    };
    // The older sweep sees the rule open; the newer one sees it gone.
    let open = MemoryEstate {
        estate: std::sync::Mutex::new(estate()),
    };
    let older = place_sweep(
        &open,
        &gated,
        &h.notifier,
        &policy,
        &settings,
        "2026-12-01T06:00:00Z",
    );
    h.estate.estate.lock().unwrap().groups[0].rules.clear();
    let newer = place_sweep(
        &h.estate,
        &h.state,
        &h.notifier,
        &policy,
        &settings,
        "2026-12-01T06:20:00Z",
    );
    let (older, newer) = tokio::join!(older.run(), async {
        while !gate.reached.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        let r = newer.run().await;
        gate.open();
        r
    });
    assert!(newer
        .unwrap()
        .report
        .resolved
        .iter()
        .any(|r| r.rule == "EC2-SG-003"));
    assert!(older.unwrap().report.findings.is_empty());
    assert_eq!(h.sent().len(), 2, "the first alert and the all-clear");
    let ssh = ssh_record(&h.state);
    assert_eq!(ssh.status, Status::Resolved, "not reopened");
    assert_eq!(ssh.resolved_at.as_deref(), Some("2026-12-01T06:20:00Z"));
}

#[tokio::test]
async fn a_failed_alert_is_sent_again_by_the_retried_sweep() {
    let h = Harness::new(estate());
    let policy = Policy::embedded();
    let settings = GuardSettings::default();
    struct Failing;
    #[async_trait::async_trait]
    impl Notifier for Failing {
        async fn publish(&self, _: &Notification) -> Result<(), AwsError> {
            Err(AwsError {
                operation: "Publish",
                code: Some("Throttling".to_string()),
                message: "slow".to_string(),
                retryable: true,
            })
        }
    }
    let failing = Failing;
    let first = place_sweep(
        &h.estate,
        &h.state,
        &failing,
        &policy,
        &settings,
        "2026-12-01T00:00:00Z",
    )
    .run()
    .await;
    assert!(first.is_err());
    assert!(h.state.leases.lock().unwrap().is_empty(), "released");
    let retry = h.sweep(&policy, "2026-12-01T00:05:00Z", false).await;
    assert!(retry.report.findings.iter().any(|f| f.rule == "EC2-SG-003"));
    assert_eq!(h.sent().len(), 1);
}
