//! What a function keeps per place it acts in — (account, region) — for the
//! life of its instance: bounded, and never one place's entry for another.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use super::Place;

/// Entries by place, built on first use; at most `capacity`, the oldest
/// built dropped first.
pub struct PlaceCache<T> {
    capacity: usize,
    entries: Mutex<VecDeque<(Place, Arc<T>)>>,
}

impl<T> PlaceCache<T> {
    pub fn new(capacity: usize) -> PlaceCache<T> {
        PlaceCache {
            capacity: capacity.max(1),
            entries: Mutex::new(VecDeque::new()),
        }
    }

    fn entries(&self) -> MutexGuard<'_, VecDeque<(Place, Arc<T>)>> {
        // A panic elsewhere while holding the lock leaves a usable list.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn find(entries: &VecDeque<(Place, Arc<T>)>, place: &Place) -> Option<Arc<T>> {
        entries
            .iter()
            .find(|(at, _)| at == place)
            .map(|(_, entry)| entry.clone())
    }

    /// The entry for `place`, built by `build` when there is none. A failed
    /// build caches nothing (the next call tries again).
    pub async fn get_or_build<F, Fut, E>(&self, place: &Place, build: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(hit) = Self::find(&self.entries(), place) {
            return Ok(hit);
        }
        let built = Arc::new(build().await?);
        let mut entries = self.entries();
        // Another invocation of the instance may have built it meanwhile.
        if let Some(hit) = Self::find(&entries, place) {
            return Ok(hit);
        }
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((place.clone(), built.clone()));
        Ok(built)
    }

    /// How many places are held.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn place(account: u8, region: u8) -> Place {
        Place {
            account: format!("{account:012}"),
            region: ["us-east-1", "eu-west-1", "ap-south-1"][usize::from(region % 3)].to_string(),
        }
    }

    proptest! {
        /// Whatever the order of use and the capacity, the entry handed out
        /// for a place was built for that place, and the cache stays bounded.
        #[test]
        fn never_hands_one_places_entry_to_another(
            uses in prop::collection::vec((0u8..4, 0u8..3), 1..60),
            capacity in 1usize..6,
        ) {
            let cache: PlaceCache<Place> = PlaceCache::new(capacity);
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            for (account, region) in uses {
                let wanted = place(account, region);
                let got = runtime
                    .block_on(cache.get_or_build(&wanted, || async { Ok::<_, ()>(wanted.clone()) }))
                    .unwrap();
                prop_assert_eq!(&*got, &wanted);
                prop_assert!(cache.len() <= capacity);
            }
        }
    }

    #[tokio::test]
    async fn a_hit_is_not_rebuilt_and_a_failure_is_not_kept() {
        let cache: PlaceCache<u32> = PlaceCache::new(4);
        let here = place(1, 0);
        let failed = cache
            .get_or_build(&here, || async { Err::<u32, _>("denied") })
            .await;
        assert_eq!(failed.unwrap_err(), "denied");
        assert!(cache.is_empty());
        let first = cache
            .get_or_build(&here, || async { Ok::<_, ()>(7) })
            .await
            .unwrap();
        let again = cache
            .get_or_build(&here, || async { Ok::<_, ()>(8) })
            .await
            .unwrap();
        assert_eq!((*first, *again), (7, 7));
    }
}
