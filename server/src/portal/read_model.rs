//! The catalog's read model: what the busiest pages read, kept in memory until the data
//! version moves.
//!
//! Profiling showed a service page spending most of its time handing its statement to the
//! database and back. Pages are read far more often than the catalog changes, so each
//! answer is kept, tagged with the [`DataVersion`] seen *before* reading it; it is served
//! only while the version has not moved since. A write in this process moves the version
//! as it commits; one in another process moves it when the store's watcher hears of it.
//! While the watcher is not live every read goes to the database.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Mutex, MutexGuard},
};

use domain::{ServiceDetail, ServiceName, Team, TeamName};

use crate::store::DataVersion;

/// Room for every page of a 10,000-service catalog (about a kilobyte each, measured);
/// a full map drops an arbitrary entry.
const DETAIL_CAPACITY: usize = 16_384;

pub struct CatalogReadModel {
    version: DataVersion,
    pub details: Snapshot<(TeamName, ServiceName), ServiceDetail>,
    pub teams: Snapshot<(), Vec<Team>>,
    pub cluster_names: Snapshot<(), Vec<String>>,
}

impl CatalogReadModel {
    pub fn new(version: DataVersion) -> Self {
        Self {
            version,
            details: Snapshot::new(DETAIL_CAPACITY),
            teams: Snapshot::new(1),
            cluster_names: Snapshot::new(1),
        }
    }

    /// The value kept for `key`, or what `load` reads, kept when it is `Some`.
    pub async fn read<K, V, E>(
        &self,
        snapshot: &Snapshot<K, V>,
        key: K,
        load: impl Future<Output = Result<Option<V>, E>>,
    ) -> Result<Option<V>, E>
    where
        K: Eq + Hash + Clone,
        V: Clone,
    {
        // Read before loading: a change committed meanwhile leaves the entry behind.
        let Some(version) = self.version.current() else {
            return load.await;
        };
        if let Some(kept) = snapshot.get(version, &key) {
            return Ok(Some(kept));
        }
        let loaded = load.await?;
        if let Some(value) = &loaded {
            snapshot.put(version, key, value.clone());
        }
        Ok(loaded)
    }

    /// The same for a value that is always there (a list, possibly empty).
    pub async fn read_present<K, V, E>(
        &self,
        snapshot: &Snapshot<K, V>,
        key: K,
        load: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E>
    where
        K: Eq + Hash + Clone,
        V: Clone + Default,
    {
        let read = self.read(snapshot, key, async { load.await.map(Some) });
        Ok(read.await?.unwrap_or_default())
    }
}

/// Values read at one data version.
pub struct Snapshot<K, V> {
    kept: Mutex<Kept<K, V>>,
    capacity: usize,
}

struct Kept<K, V> {
    version: u64,
    values: HashMap<K, V>,
}

impl<K: Eq + Hash + Clone, V: Clone> Snapshot<K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            kept: Mutex::new(Kept {
                version: 0,
                values: HashMap::new(),
            }),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Kept<K, V>> {
        // Nothing here panics while holding the lock; a poisoned map is still consistent.
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, version: u64, key: &K) -> Option<V> {
        let kept = self.lock();
        (kept.version == version)
            .then(|| kept.values.get(key).cloned())
            .flatten()
    }

    fn put(&self, version: u64, key: K, value: V) {
        let mut kept = self.lock();
        if version < kept.version {
            return;
        }
        if version > kept.version {
            kept.values.clear();
            kept.version = version;
        }
        if kept.values.len() >= self.capacity
            && !kept.values.contains_key(&key)
            && let Some(evicted) = kept.values.keys().next().cloned()
        {
            kept.values.remove(&evicted);
        }
        kept.values.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    fn live_version() -> DataVersion {
        let version = DataVersion::default();
        version.set_live(true);
        version
    }

    #[test]
    fn a_value_is_served_only_at_the_version_it_was_read_at() {
        let snapshot = Snapshot::new(8);
        snapshot.put(3, "a", 1);
        assert_eq!(snapshot.get(3, &"a"), Some(1));
        assert_eq!(snapshot.get(4, &"a"), None);
        assert_eq!(snapshot.get(2, &"a"), None);
    }

    #[test]
    fn a_value_read_at_an_older_version_is_not_kept_and_a_newer_one_drops_the_rest() {
        let snapshot = Snapshot::new(8);
        snapshot.put(5, "a", 1);
        snapshot.put(4, "b", 2);
        assert_eq!(snapshot.get(5, &"b"), None);
        snapshot.put(6, "b", 3);
        assert_eq!(snapshot.get(6, &"a"), None);
        assert_eq!(snapshot.get(6, &"b"), Some(3));
    }

    #[test]
    fn a_full_snapshot_makes_room_for_a_new_key() {
        let snapshot = Snapshot::new(2);
        for (key, value) in [("a", 1), ("b", 2), ("c", 3)] {
            snapshot.put(1, key, value);
        }
        assert_eq!(snapshot.lock().values.len(), 2);
        assert_eq!(snapshot.get(1, &"c"), Some(3));
    }

    #[tokio::test]
    async fn reads_go_to_the_loader_until_the_version_is_live() {
        let model = CatalogReadModel::new(DataVersion::default());
        for expected in [1, 2] {
            let read = model
                .read(&model.cluster_names, (), async {
                    Ok::<_, Infallible>(Some(names(expected)))
                })
                .await;
            assert_eq!(read, Ok(Some(names(expected))));
        }
    }

    #[tokio::test]
    async fn a_kept_value_is_served_until_a_write_moves_the_version() {
        let version = live_version();
        let model = CatalogReadModel::new(version.clone());
        let load = |n| async move { Ok::<_, Infallible>(Some(names(n))) };
        assert_eq!(
            model.read(&model.cluster_names, (), load(1)).await,
            Ok(Some(names(1)))
        );
        assert_eq!(
            model.read(&model.cluster_names, (), load(2)).await,
            Ok(Some(names(1)))
        );
        version.bump();
        assert_eq!(
            model.read(&model.cluster_names, (), load(3)).await,
            Ok(Some(names(3)))
        );
    }

    #[tokio::test]
    async fn a_value_read_while_a_write_committed_is_not_kept() {
        let version = live_version();
        let model = CatalogReadModel::new(version.clone());
        let racing = async {
            // The write commits after the read began.
            version.bump();
            Ok::<_, Infallible>(Some(names(1)))
        };
        model.read(&model.cluster_names, (), racing).await.ok();
        let fresh = async { Ok::<_, Infallible>(Some(names(2))) };
        assert_eq!(
            model.read(&model.cluster_names, (), fresh).await,
            Ok(Some(names(2)))
        );
    }

    #[tokio::test]
    async fn absent_values_are_not_kept() {
        let model = CatalogReadModel::new(live_version());
        let missing = async { Ok::<Option<Vec<String>>, Infallible>(None) };
        assert_eq!(
            model.read(&model.cluster_names, (), missing).await,
            Ok(None)
        );
        let found = async { Ok::<_, Infallible>(Some(names(1))) };
        assert_eq!(
            model.read(&model.cluster_names, (), found).await,
            Ok(Some(names(1)))
        );
    }

    fn names(n: u32) -> Vec<String> {
        vec![format!("cluster-{n}")]
    }
}
