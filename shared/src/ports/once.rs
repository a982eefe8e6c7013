//! A security group read once per event: the guard reads a group's name
//! while judging (EC2-SG-010) and its tags before acting (exemptions), and
//! both come from one DescribeSecurityGroups. Only a group found is kept: a
//! group not visible yet is read again, as the guard's wait for it needs.
//! A group's rules read ahead (beside the group, when the record already
//! asks for a revocation) serve the next read of them, once, and only while
//! they are fresh ([`AHEAD_FRESH`]) and no wait for the group came between:
//! every other read goes to EC2.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{AwsError, GroupInfo, SecurityGroups};
use crate::model::sg::{PrefixListEntries, SgRule};

/// How long rules read ahead may stand for a read right before revoking.
pub const AHEAD_FRESH: Duration = Duration::from_secs(2);

/// `inner`, with each group found kept for the life of this value (one
/// event).
pub struct GroupsReadOnce<'a> {
    inner: &'a dyn SecurityGroups,
    found: Mutex<HashMap<String, GroupInfo>>,
    ahead: Mutex<HashMap<String, (Instant, Vec<SgRule>)>>,
}

impl<'a> GroupsReadOnce<'a> {
    pub fn new(inner: &'a dyn SecurityGroups) -> GroupsReadOnce<'a> {
        GroupsReadOnce {
            inner,
            found: Mutex::new(HashMap::new()),
            ahead: Mutex::new(HashMap::new()),
        }
    }

    /// Reads the group's rules now, for the next read of them. A read that
    /// fails keeps nothing: the next read tries again.
    pub async fn read_rules_ahead(&self, group_id: &str) {
        if let Ok(rules) = self.inner.rules_of_group(group_id).await {
            let mut ahead = self.ahead.lock().unwrap_or_else(|p| p.into_inner());
            ahead.insert(group_id.to_string(), (Instant::now(), rules));
        }
    }

    fn kept(&self, group_id: &str) -> Option<GroupInfo> {
        // A panic elsewhere while holding the lock leaves a usable map.
        let found = self.found.lock().unwrap_or_else(|p| p.into_inner());
        found.get(group_id).cloned()
    }
}

#[async_trait]
impl SecurityGroups for GroupsReadOnce<'_> {
    async fn group(&self, group_id: &str) -> Result<Option<GroupInfo>, AwsError> {
        if let Some(group) = self.kept(group_id) {
            return Ok(Some(group));
        }
        let read = self.inner.group(group_id).await?;
        if read.is_none() {
            // A wait for the group follows: rules read before it would be
            // older than "right before revoking".
            let mut ahead = self.ahead.lock().unwrap_or_else(|p| p.into_inner());
            ahead.remove(group_id);
        }
        if let Some(group) = &read {
            let mut found = self.found.lock().unwrap_or_else(|p| p.into_inner());
            found.insert(group_id.to_string(), group.clone());
        }
        Ok(read)
    }

    async fn rules_of_group(&self, group_id: &str) -> Result<Vec<SgRule>, AwsError> {
        let ahead = {
            let mut ahead = self.ahead.lock().unwrap_or_else(|p| p.into_inner());
            ahead.remove(group_id)
        };
        match ahead {
            Some((read_at, rules)) if read_at.elapsed() <= AHEAD_FRESH => Ok(rules),
            _ => self.inner.rules_of_group(group_id).await,
        }
    }

    async fn prefix_list(&self, list_id: &str) -> Result<PrefixListEntries, AwsError> {
        self.inner.prefix_list(list_id).await
    }

    async fn groups_referencing(&self, list_id: &str) -> Result<Vec<String>, AwsError> {
        self.inner.groups_referencing(list_id).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A group that is not visible for its first `hidden` reads, reads counted.
    struct Counting {
        reads: AtomicUsize,
        hidden: usize,
        rule_reads: AtomicUsize,
    }

    #[async_trait]
    impl SecurityGroups for Counting {
        async fn group(&self, group_id: &str) -> Result<Option<GroupInfo>, AwsError> {
            let n = self.reads.fetch_add(1, Ordering::Relaxed);
            Ok((n >= self.hidden).then(|| GroupInfo {
                group_id: group_id.to_string(),
                name: "web".to_string(),
                vpc_id: None,
                tags: vec![("team".to_string(), "web".to_string())],
            }))
        }
        async fn rules_of_group(&self, _: &str) -> Result<Vec<SgRule>, AwsError> {
            self.rule_reads.fetch_add(1, Ordering::Relaxed);
            Ok(Vec::new())
        }
        async fn prefix_list(&self, _: &str) -> Result<PrefixListEntries, AwsError> {
            Ok(PrefixListEntries::AwsManaged)
        }
        async fn groups_referencing(&self, _: &str) -> Result<Vec<String>, AwsError> {
            Ok(Vec::new())
        }
    }

    #[tokio::test]
    async fn rules_read_ahead_serve_the_next_read_once_and_later_reads_go_to_ec2() {
        let inner = Counting {
            reads: AtomicUsize::new(0),
            hidden: 0,
            rule_reads: AtomicUsize::new(0),
        };
        let once = GroupsReadOnce::new(&inner);
        once.read_rules_ahead("sg-1").await;
        assert_eq!(inner.rule_reads.load(Ordering::Relaxed), 1);
        once.rules_of_group("sg-1").await.unwrap();
        assert_eq!(
            inner.rule_reads.load(Ordering::Relaxed),
            1,
            "served from the read ahead"
        );
        once.rules_of_group("sg-1").await.unwrap();
        once.rules_of_group("sg-2").await.unwrap();
        assert_eq!(
            inner.rule_reads.load(Ordering::Relaxed),
            3,
            "read again, and another group's"
        );
    }

    #[tokio::test]
    async fn a_group_found_is_read_once_and_one_not_visible_is_read_again() {
        let inner = Counting {
            reads: AtomicUsize::new(0),
            hidden: 1,
            rule_reads: AtomicUsize::new(0),
        };
        let once = GroupsReadOnce::new(&inner);
        assert_eq!(once.group("sg-1").await.unwrap(), None, "not visible yet");
        let first = once.group("sg-1").await.unwrap();
        let second = once.group("sg-1").await.unwrap();
        assert_eq!(first, second);
        assert_eq!(
            first.unwrap().tags,
            [("team".to_string(), "web".to_string())]
        );
        assert_eq!(inner.reads.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn rules_read_ahead_are_dropped_when_the_group_must_be_waited_for() {
        let inner = Counting {
            reads: AtomicUsize::new(0),
            hidden: 1,
            rule_reads: AtomicUsize::new(0),
        };
        let once = GroupsReadOnce::new(&inner);
        once.read_rules_ahead("sg-1").await;
        assert_eq!(once.group("sg-1").await.unwrap(), None, "not visible yet");
        once.rules_of_group("sg-1").await.unwrap();
        assert_eq!(
            inner.rule_reads.load(Ordering::Relaxed),
            2,
            "read again after the wait, not taken from before it"
        );
    }
}
