//! The state table in DynamoDB (DESIGN §12; feature `state`). One item per
//! finding, per place status and per revocation, under the place's partition
//! (`account/region`), so a sweep reads its place with one paginated Query:
//! - `finding#<fingerprint>`: a finding's record; resolved ones expire after
//!   [`RESOLVED_KEPT_DAYS`];
//! - `sweep#status`: how the place's last sweep ended;
//! - `sweep#lease`: who sweeps the place now, and until when (invariant 16);
//! - `revoked#<event id>#<rule id>`: a revoke attempt by ingress-guard
//!   (intended before the call, then revoked or not revoked), kept
//!   [`REVOCATIONS_KEPT_DAYS`] for retries of the event;
//! - `rule#<rule id>`: the command that authorizes an ingress rule again as
//!   ingress-guard last saw it left in place (the restore of a later
//!   modification), kept [`RULES_KEPT_DAYS`];
//! - `exemption-tag#<group id>`: the exemption tag value last set on a
//!   group and the day it was set, kept [`RULES_KEPT_DAYS`].

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;

use super::classify;
use crate::finding::Severity;
use crate::ports::{Attempt, AttemptKey, AttemptState, AwsError, RevocationLog, StateStore};
use crate::state::{place_key, PlaceStatus, Record, Status};

/// The table's keys.
pub const PARTITION_KEY: &str = "place";
pub const SORT_KEY: &str = "fingerprint";
/// The table's TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";

const FINDING: &str = "finding#";
const STATUS: &str = "sweep#status";
const LEASE: &str = "sweep#lease";
/// The read time of the sweep that wrote an item (epoch seconds).
const READ_AT: &str = "read_at";
/// A lease's end (epoch seconds).
const LEASE_UNTIL: &str = "lease_until";
/// A lease held past its end is deleted by the table's TTL a day later.
const LEASE_KEPT_SECONDS: i64 = 86_400;
const REVOKED: &str = "revoked#";
const RULE: &str = "rule#";
const EXEMPTION_TAG: &str = "exemption-tag#";

pub const RESOLVED_KEPT_DAYS: u64 = 90;
pub const REVOCATIONS_KEPT_DAYS: u64 = 30;
/// Rules as last seen and exemption tags as set: longer than any tag exemption lasts.
pub const RULES_KEPT_DAYS: u64 = 400;

/// Conditional writes in flight at once (one PutItem each: BatchWriteItem
/// takes no condition).
const WRITES_IN_FLIGHT: usize = 16;
/// What DynamoDB answers when a write's condition does not hold.
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

type Item = HashMap<String, AttributeValue>;

/// The state table.
#[derive(Debug, Clone)]
pub struct DynamoState {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoState {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> DynamoState {
        DynamoState {
            client,
            table: table.into(),
        }
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn number(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

fn epoch_in(days: u64) -> AttributeValue {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    AttributeValue::N(
        (now + Duration::from_secs(days * 86_400))
            .as_secs()
            .to_string(),
    )
}

fn record_item(r: &Record) -> Item {
    let mut item: Item = [
        (PARTITION_KEY, s(place_key(&r.account, &r.region))),
        (SORT_KEY, s(format!("{FINDING}{}", r.fingerprint))),
        ("account", s(&r.account)),
        ("region", s(&r.region)),
        ("resource", s(&r.resource)),
        ("rule", s(&r.rule)),
        ("severity", s(r.severity.as_str())),
        ("title", s(&r.title)),
        ("detail", s(&r.detail)),
        ("status", s(r.status.as_str())),
        ("first_seen", s(&r.first_seen)),
        ("last_seen", s(&r.last_seen)),
        (READ_AT, n(r.read_at)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(at) = &r.last_alert {
        item.insert("last_alert".to_string(), s(at));
    }
    if let Some(at) = &r.resolved_at {
        item.insert("resolved_at".to_string(), s(at));
        item.insert(TTL_ATTRIBUTE.to_string(), epoch_in(RESOLVED_KEPT_DAYS));
    }
    item
}

/// A problem with a stored item: the table holds something this code did
/// not write. An error, never a silently skipped finding.
fn bad_item(key: &str, problem: String) -> AwsError {
    AwsError {
        operation: "Query",
        code: Some("MalformedStateItem".to_string()),
        message: format!("state item {key}: {problem}"),
        retryable: false,
    }
}

fn text(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn record_of(item: &Item, key: &str) -> Result<Record, AwsError> {
    let need =
        |name: &str| text(item, name).ok_or_else(|| bad_item(key, format!("{name} missing")));
    let severity: Severity = need("severity")?
        .parse()
        .map_err(|e: String| bad_item(key, e))?;
    let status = Status::parse(&need("status")?)
        .ok_or_else(|| bad_item(key, "status is not open, resolved or exempt".to_string()))?;
    Ok(Record {
        fingerprint: key.trim_start_matches(FINDING).to_string(),
        account: need("account")?,
        region: need("region")?,
        resource: need("resource")?,
        rule: need("rule")?,
        severity,
        title: need("title")?,
        detail: need("detail")?,
        status,
        first_seen: need("first_seen")?,
        last_seen: need("last_seen")?,
        last_alert: text(item, "last_alert"),
        resolved_at: text(item, "resolved_at"),
        // Written before read times were kept: older than any sweep now.
        read_at: number(item, READ_AT).unwrap_or(0),
    })
}

fn status_of(item: &Item, key: &str) -> Result<PlaceStatus, AwsError> {
    let need =
        |name: &str| text(item, name).ok_or_else(|| bad_item(key, format!("{name} missing")));
    Ok(PlaceStatus {
        account: need("account")?,
        region: need("region")?,
        swept_at: need("swept_at")?,
        complete: matches!(item.get("complete"), Some(AttributeValue::Bool(true))),
        problems: match item.get("problems") {
            Some(AttributeValue::L(list)) => {
                list.iter().filter_map(|v| v.as_s().ok().cloned()).collect()
            }
            _ => Vec::new(),
        },
        read_at: number(item, READ_AT).unwrap_or(0),
    })
}

impl DynamoState {
    async fn put(&self, operation: &'static str, item: Item) -> Result<(), AwsError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| classify(operation, &e))?;
        Ok(())
    }

    /// Puts `item` unless the stored one was written from a later read than
    /// `read_at`: false then.
    async fn put_if_newest(&self, item: Item, read_at: i64) -> Result<bool, AwsError> {
        put_if_newest(&self.client, &self.table, item, read_at).await
    }
}

async fn put_if_newest(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    item: Item,
    read_at: i64,
) -> Result<bool, AwsError> {
    let out = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#r) OR #r <= :r")
        .expression_attribute_names("#r", READ_AT)
        .expression_attribute_values(":r", n(read_at))
        .send()
        .await;
    match out {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some(CONDITION_FAILED) => Ok(false),
        Err(e) => Err(classify("PutItem", &e)),
    }
}

#[async_trait]
impl StateStore for DynamoState {
    async fn findings(&self, account: &str, region: &str) -> Result<Vec<Record>, AwsError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#p = :p AND begins_with(#f, :f)")
                .expression_attribute_names("#p", PARTITION_KEY)
                .expression_attribute_names("#f", SORT_KEY)
                .expression_attribute_values(":p", s(place_key(account, region)))
                .expression_attribute_values(":f", s(FINDING))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify("Query", &e))?;
            for item in page.items() {
                let key = text(item, SORT_KEY).unwrap_or_default();
                out.push(record_of(item, &key)?);
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(out),
            }
        }
    }

    async fn save(&self, records: &[Record]) -> Result<Vec<String>, AwsError> {
        let mut lost = Vec::new();
        let mut writes = tokio::task::JoinSet::new();
        let mut pending = records.iter();
        loop {
            while writes.len() < WRITES_IN_FLIGHT {
                let Some(r) = pending.next() else { break };
                let (client, table) = (self.client.clone(), self.table.clone());
                let (item, read_at, key) = (record_item(r), r.read_at, r.fingerprint.clone());
                writes.spawn(async move {
                    put_if_newest(&client, &table, item, read_at)
                        .await
                        .map(|written| (key, written))
                });
            }
            let Some(done) = writes.join_next().await else {
                return Ok(lost);
            };
            let (key, written) = done.map_err(|e| AwsError {
                operation: "PutItem",
                code: Some("WriteTaskFailed".to_string()),
                message: e.to_string(),
                retryable: true,
            })??;
            if !written {
                lost.push(key);
            }
        }
    }

    async fn save_status(&self, status: &PlaceStatus) -> Result<bool, AwsError> {
        let item: Item = [
            (PARTITION_KEY, s(place_key(&status.account, &status.region))),
            (SORT_KEY, s(STATUS)),
            ("account", s(&status.account)),
            ("region", s(&status.region)),
            ("swept_at", s(&status.swept_at)),
            ("complete", AttributeValue::Bool(status.complete)),
            (
                "problems",
                AttributeValue::L(status.problems.iter().map(s).collect()),
            ),
            (READ_AT, n(status.read_at)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        self.put_if_newest(item, status.read_at).await
    }

    async fn take_lease(
        &self,
        account: &str,
        region: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, AwsError> {
        let item: Item = [
            (PARTITION_KEY, s(place_key(account, region))),
            (SORT_KEY, s(LEASE)),
            ("holder", s(holder)),
            (LEASE_UNTIL, n(until)),
            (TTL_ATTRIBUTE, n(until + LEASE_KEPT_SECONDS)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#f) OR #u < :now")
            .expression_attribute_names("#f", SORT_KEY)
            .expression_attribute_names("#u", LEASE_UNTIL)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some(CONDITION_FAILED) => Ok(false),
            Err(e) => Err(classify("PutItem", &e)),
        }
    }

    async fn release_lease(
        &self,
        account: &str,
        region: &str,
        holder: &str,
    ) -> Result<bool, AwsError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(place_key(account, region)))
            .key(SORT_KEY, s(LEASE))
            .condition_expression("#h = :h")
            .expression_attribute_names("#h", "holder")
            .expression_attribute_values(":h", s(holder))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some(CONDITION_FAILED) => Ok(false),
            Err(e) => Err(classify("DeleteItem", &e)),
        }
    }

    async fn everything(&self) -> Result<(Vec<Record>, Vec<PlaceStatus>), AwsError> {
        let (mut records, mut statuses) = (Vec::new(), Vec::new());
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify("Scan", &e))?;
            for item in page.items() {
                let key = text(item, SORT_KEY).unwrap_or_default();
                if key.starts_with(FINDING) {
                    records.push(record_of(item, &key)?);
                } else if key == STATUS {
                    statuses.push(status_of(item, &key)?);
                }
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok((records, statuses)),
            }
        }
    }
}

fn revoked_key(event_id: &str, rule_id: &str) -> String {
    format!("{REVOKED}{event_id}#{rule_id}")
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl DynamoState {
    async fn get(&self, place: String, key: String) -> Result<Option<Item>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(place))
            .key(SORT_KEY, s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", &e))?;
        Ok(out.item().filter(|i| !i.is_empty()).cloned())
    }
}

#[async_trait]
impl RevocationLog for DynamoState {
    async fn record_attempt(
        &self,
        key: AttemptKey<'_>,
        group_id: &str,
        state: AttemptState,
        restore: Option<&str>,
    ) -> Result<(), AwsError> {
        let mut item: Item = [
            (PARTITION_KEY, s(place_key(key.account, key.region))),
            (SORT_KEY, s(revoked_key(key.event_id, key.rule_id))),
            ("group_id", s(group_id)),
            ("state", s(state.as_str())),
            ("revoked_at", s(now_rfc3339())),
            (TTL_ATTRIBUTE, epoch_in(REVOCATIONS_KEPT_DAYS)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if let Some(restore) = restore {
            item.insert("restore".to_string(), s(restore));
        }
        self.put("PutItem", item).await
    }

    async fn earlier_attempt(&self, key: AttemptKey<'_>) -> Result<Option<Attempt>, AwsError> {
        let sort = revoked_key(key.event_id, key.rule_id);
        let Some(item) = self
            .get(place_key(key.account, key.region), sort.clone())
            .await?
        else {
            return Ok(None);
        };
        // Items written before attempts had a state recorded only revocations.
        let state = match text(&item, "state") {
            None => AttemptState::Revoked,
            Some(state) => AttemptState::parse(&state).ok_or_else(|| AwsError {
                operation: "GetItem",
                ..bad_item(
                    &sort,
                    format!("state {state:?} is not one this code writes"),
                )
            })?,
        };
        Ok(Some(Attempt {
            state,
            restore: text(&item, "restore"),
        }))
    }

    async fn record_rule(
        &self,
        account: &str,
        region: &str,
        group_id: &str,
        rule_id: &str,
        restore: &str,
    ) -> Result<(), AwsError> {
        let item: Item = [
            (PARTITION_KEY, s(place_key(account, region))),
            (SORT_KEY, s(format!("{RULE}{rule_id}"))),
            ("group_id", s(group_id)),
            ("restore", s(restore)),
            ("seen_at", s(now_rfc3339())),
            (TTL_ATTRIBUTE, epoch_in(RULES_KEPT_DAYS)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        self.put("PutItem", item).await
    }

    async fn rule_as_seen(
        &self,
        account: &str,
        region: &str,
        rule_id: &str,
    ) -> Result<Option<String>, AwsError> {
        let item = self
            .get(place_key(account, region), format!("{RULE}{rule_id}"))
            .await?;
        Ok(item.and_then(|i| text(&i, "restore")))
    }

    async fn record_exemption_tag(
        &self,
        account: &str,
        region: &str,
        group_id: &str,
        value: &str,
        set_on: time::Date,
    ) -> Result<(), AwsError> {
        let item: Item = [
            (PARTITION_KEY, s(place_key(account, region))),
            (SORT_KEY, s(format!("{EXEMPTION_TAG}{group_id}"))),
            ("value", s(value)),
            ("set_on", s(set_on.to_string())),
            (TTL_ATTRIBUTE, epoch_in(RULES_KEPT_DAYS)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        self.put("PutItem", item).await
    }

    async fn exemption_tag_set(
        &self,
        account: &str,
        region: &str,
        group_id: &str,
    ) -> Result<Option<(String, time::Date)>, AwsError> {
        let sort = format!("{EXEMPTION_TAG}{group_id}");
        let Some(item) = self.get(place_key(account, region), sort.clone()).await? else {
            return Ok(None);
        };
        let bad = |problem: String| AwsError {
            operation: "GetItem",
            ..bad_item(&sort, problem)
        };
        let value = text(&item, "value").ok_or_else(|| bad("value missing".to_string()))?;
        let set_on = text(&item, "set_on").ok_or_else(|| bad("set_on missing".to_string()))?;
        let set_on = time::Date::parse(
            &set_on,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|e| bad(format!("set_on {set_on:?}: {e}")))?;
        Ok(Some((value, set_on)))
    }
}
