//! Fakes of the state table and the revocation log, and a clock to move.

use super::*;

/// The state table in memory.
#[derive(Default)]
pub struct MemoryState {
    pub records: Mutex<std::collections::BTreeMap<String, crate::state::Record>>,
    pub statuses: Mutex<Vec<crate::state::PlaceStatus>>,
    /// The sweep leases held, by place: (holder, until).
    pub leases: Mutex<std::collections::BTreeMap<String, (String, i64)>>,
    /// Revoke attempts by `account/region/event id/rule id`: the latest
    /// state and restore command, and every state written, in order.
    pub attempts: Mutex<std::collections::BTreeMap<String, crate::ports::Attempt>>,
    pub attempt_writes: Mutex<Vec<(String, crate::ports::AttemptState)>>,
    /// Rules as last seen, by `account/region/rule id`.
    pub rules: Mutex<std::collections::BTreeMap<String, String>>,
    /// Exemption tags as set, by `account/region/group id`.
    pub exemption_tags: Mutex<std::collections::BTreeMap<String, (String, time::Date)>>,
    /// Answer every write of an attempt in this state with this error instead.
    pub attempt_error: Option<(crate::ports::AttemptState, AwsError)>,
    /// Answer every read with this error instead.
    pub read_error: Option<AwsError>,
}

fn attempt_key(key: crate::ports::AttemptKey<'_>) -> String {
    format!(
        "{}/{}/{}/{}",
        key.account, key.region, key.event_id, key.rule_id
    )
}

#[async_trait]
impl crate::ports::StateStore for MemoryState {
    async fn findings(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Vec<crate::state::Record>, AwsError> {
        if let Some(e) = &self.read_error {
            return Err(e.clone());
        }
        Ok(self
            .records
            .lock()
            .unwrap()
            .values()
            .filter(|r| r.account == account && r.region == region)
            .cloned()
            .collect())
    }

    async fn save(&self, records: &[crate::state::Record]) -> Result<Vec<String>, AwsError> {
        let mut all = self.records.lock().unwrap();
        let mut lost = Vec::new();
        for r in records {
            // As the table's condition: only from a read at least as recent.
            if all
                .get(&r.fingerprint)
                .is_some_and(|s| s.read_at > r.read_at)
            {
                lost.push(r.fingerprint.clone());
                continue;
            }
            all.insert(r.fingerprint.clone(), r.clone());
        }
        Ok(lost)
    }

    async fn save_status(&self, status: &crate::state::PlaceStatus) -> Result<bool, AwsError> {
        let mut all = self.statuses.lock().unwrap();
        let place = |s: &crate::state::PlaceStatus| (s.account.clone(), s.region.clone());
        if all
            .iter()
            .any(|s| place(s) == place(status) && s.read_at > status.read_at)
        {
            return Ok(false);
        }
        all.retain(|s| place(s) != place(status));
        all.push(status.clone());
        Ok(true)
    }

    async fn take_lease(
        &self,
        account: &str,
        region: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, AwsError> {
        let mut leases = self.leases.lock().unwrap();
        let key = crate::state::place_key(account, region);
        if leases
            .get(&key)
            .is_some_and(|(_, held_until)| *held_until >= now)
        {
            return Ok(false);
        }
        leases.insert(key, (holder.to_string(), until));
        Ok(true)
    }

    async fn release_lease(
        &self,
        account: &str,
        region: &str,
        holder: &str,
    ) -> Result<bool, AwsError> {
        let mut leases = self.leases.lock().unwrap();
        let key = crate::state::place_key(account, region);
        if leases.get(&key).is_some_and(|(h, _)| h == holder) {
            leases.remove(&key);
            return Ok(true);
        }
        Ok(false)
    }

    async fn everything(
        &self,
    ) -> Result<(Vec<crate::state::Record>, Vec<crate::state::PlaceStatus>), AwsError> {
        Ok((
            self.records.lock().unwrap().values().cloned().collect(),
            self.statuses.lock().unwrap().clone(),
        ))
    }
}

#[async_trait]
impl crate::ports::RevocationLog for MemoryState {
    async fn record_attempt(
        &self,
        key: crate::ports::AttemptKey<'_>,
        _group_id: &str,
        state: crate::ports::AttemptState,
        restore: Option<&str>,
    ) -> Result<(), AwsError> {
        if let Some((failing, e)) = &self.attempt_error {
            if *failing == state {
                return Err(e.clone());
            }
        }
        let k = attempt_key(key);
        self.attempt_writes.lock().unwrap().push((k.clone(), state));
        self.attempts.lock().unwrap().insert(
            k,
            crate::ports::Attempt {
                state,
                restore: restore.map(str::to_string),
            },
        );
        Ok(())
    }

    async fn earlier_attempt(
        &self,
        key: crate::ports::AttemptKey<'_>,
    ) -> Result<Option<crate::ports::Attempt>, AwsError> {
        if let Some(e) = &self.read_error {
            return Err(e.clone());
        }
        Ok(self
            .attempts
            .lock()
            .unwrap()
            .get(&attempt_key(key))
            .cloned())
    }

    async fn record_rule(
        &self,
        account: &str,
        region: &str,
        _group_id: &str,
        rule_id: &str,
        restore: &str,
    ) -> Result<(), AwsError> {
        self.rules
            .lock()
            .unwrap()
            .insert(format!("{account}/{region}/{rule_id}"), restore.to_string());
        Ok(())
    }

    async fn rule_as_seen(
        &self,
        account: &str,
        region: &str,
        rule_id: &str,
    ) -> Result<Option<String>, AwsError> {
        if let Some(e) = &self.read_error {
            return Err(e.clone());
        }
        Ok(self
            .rules
            .lock()
            .unwrap()
            .get(&format!("{account}/{region}/{rule_id}"))
            .cloned())
    }

    async fn record_exemption_tag(
        &self,
        account: &str,
        region: &str,
        group_id: &str,
        value: &str,
        set_on: time::Date,
    ) -> Result<(), AwsError> {
        self.exemption_tags.lock().unwrap().insert(
            format!("{account}/{region}/{group_id}"),
            (value.to_string(), set_on),
        );
        Ok(())
    }

    async fn exemption_tag_set(
        &self,
        account: &str,
        region: &str,
        group_id: &str,
    ) -> Result<Option<(String, time::Date)>, AwsError> {
        if let Some(e) = &self.read_error {
            return Err(e.clone());
        }
        Ok(self
            .exemption_tags
            .lock()
            .unwrap()
            .get(&format!("{account}/{region}/{group_id}"))
            .cloned())
    }
}

/// A clock that stands still until slept on: sleeping moves it on at once.
pub struct FakeClock {
    pub now: Mutex<time::OffsetDateTime>,
    /// Every sleep asked for.
    pub slept: Mutex<Vec<std::time::Duration>>,
}

impl FakeClock {
    pub fn at(now: time::OffsetDateTime) -> FakeClock {
        FakeClock {
            now: Mutex::new(now),
            slept: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl crate::ports::Clock for FakeClock {
    fn now(&self) -> time::OffsetDateTime {
        *self.now.lock().unwrap()
    }

    async fn sleep(&self, duration: std::time::Duration) {
        self.slept.lock().unwrap().push(duration);
        *self.now.lock().unwrap() += duration;
    }
}
