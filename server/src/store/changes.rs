//! Knowing when stored data changed, so a read model can keep what it read until then.
//!
//! [`DataVersion`] moves forward on every change. Writes through this store move it as
//! they commit, so a process always reads its own writes. Writes by other processes (a
//! `stargate worker`, the seed CLI, another `serve`) arrive through a watcher: PostgreSQL
//! announces them with `NOTIFY` from statement triggers; SQLite's `PRAGMA data_version`,
//! polled on a connection of its own, moves whenever another connection commits. Until the
//! watcher runs, and whenever it has lost its connection, the version is not *live* and
//! readers must go to the database.
//!
//! The same version is the process's change bus: [`DataVersion::subscribe`] gives a
//! [`Changes`] that live views (a request's event stream) sleep on instead of polling the
//! database, so a view with nothing happening costs no query at all.

use std::{
    ops::{Deref, DerefMut},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use sqlx::{Any, AnyConnection, Transaction};
use tokio::sync::watch;

use super::{Backend, Store, StoreError};

/// The PostgreSQL channel the `catalog_changed` triggers notify.
const CATALOG_CHANNEL: &str = "stargate_catalog";
/// How often SQLite is asked whether another connection committed: the longest a change
/// made by another process goes unseen.
const SQLITE_POLL: Duration = Duration::from_millis(100);
/// Pause before reconnecting a watcher that lost its connection.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);
/// While the watcher is not live, a change by another process moves nothing here, so a
/// subscriber looks again this often anyway: slow enough to cost little while PostgreSQL
/// restarts, quick enough that a live view still shows progress.
const BLIND_RECHECK: Duration = Duration::from_secs(2);

#[derive(Clone, Default)]
pub struct DataVersion(Arc<VersionState>);

#[derive(Default)]
struct VersionState {
    version: AtomicU64,
    live: AtomicBool,
    /// Ticks after every move of `version` (and of `live`): what subscribers wait on. The
    /// value itself means nothing; a watch channel only remembers that a tick happened
    /// since a receiver last looked, so a burst of commits wakes a sleeper once.
    ticks: watch::Sender<()>,
}

impl DataVersion {
    /// The current version, or `None` while changes by other processes could go unseen.
    pub fn current(&self) -> Option<u64> {
        // Acquire pairs with the Release of `bump`: a reader that sees the new version
        // also sees that the change was committed.
        let version = self.0.version.load(Ordering::Acquire);
        self.0.live.load(Ordering::Acquire).then_some(version)
    }

    pub(crate) fn bump(&self) {
        self.0.version.fetch_add(1, Ordering::Release);
        self.0.ticks.send_replace(());
    }

    pub(crate) fn set_live(&self, live: bool) {
        // Whatever was read before going live (or while blind) is from an older version.
        self.0.version.fetch_add(1, Ordering::Release);
        self.0.live.store(live, Ordering::Release);
        // Only now: a subscriber woken by this tick must see the new `live`, or it could
        // go back to sleep without its safety net while the watcher is down.
        self.0.ticks.send_replace(());
    }

    /// A subscription to changes from now on: call it *before* reading what the
    /// subscriber shows, so a change committed during that read still wakes it.
    pub fn subscribe(&self) -> Changes {
        Changes {
            version: self.clone(),
            ticks: self.0.ticks.subscribe(),
            blind_recheck: BLIND_RECHECK,
        }
    }
}

/// One subscriber's view of the change bus.
pub struct Changes {
    version: DataVersion,
    ticks: watch::Receiver<()>,
    blind_recheck: Duration,
}

impl Changes {
    /// Returns once the data may have changed since the last return (or since
    /// [`DataVersion::subscribe`]): at once when something committed meanwhile. While
    /// the watcher is live this waits as long as nothing changes, with no timer at all;
    /// while it is not, it returns after a few seconds regardless, because changes made
    /// by other processes would go unannounced.
    pub async fn changed(&mut self) {
        if self.version.current().is_some() {
            // The sender lives as long as `self.version` does, so this cannot fail; if it
            // somehow did, fall back to looking now and then rather than spinning.
            if self.ticks.changed().await.is_ok() {
                return;
            }
            tokio::time::sleep(self.blind_recheck).await;
        } else {
            let _ = tokio::time::timeout(self.blind_recheck, self.ticks.changed()).await;
        }
    }
}

/// A write transaction of this store: committing it moves the data version.
pub(super) struct Write {
    tx: Transaction<'static, Any>,
    version: DataVersion,
}

impl Write {
    pub(super) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await?;
        self.version.bump();
        Ok(())
    }
}

impl Deref for Write {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for Write {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl Store {
    /// Starts a write transaction; every write that changes what pages show uses one.
    ///
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a deferred transaction
    /// that reads, then writes after another connection committed, fails with "database is
    /// locked" without waiting (its snapshot is stale), where an immediate one waits its turn
    /// under `busy_timeout`.
    pub(super) async fn begin(&self) -> Result<Write, sqlx::Error> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Write {
            tx,
            version: self.version.clone(),
        })
    }

    pub fn data_version(&self) -> DataVersion {
        self.version.clone()
    }

    /// Watches for changes made by other processes, for as long as the runtime runs.
    pub fn watch_changes(&self, database_url: String) {
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                let lost = match store.backend {
                    Backend::Sqlite => store.poll_sqlite().await,
                    Backend::Postgres => store.listen_postgres(&database_url).await,
                };
                store.version.set_live(false);
                tracing::warn!(error = %lost, "lost track of database changes; reading through");
                tokio::time::sleep(RECONNECT_AFTER).await;
            }
        });
    }

    /// Returns only when the connection fails.
    async fn poll_sqlite(&self) -> StoreError {
        let mut connection = match self.pool.acquire().await {
            Ok(connection) => connection.detach(),
            Err(error) => return error.into(),
        };
        let mut seen: Option<i64> = None;
        loop {
            match sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                .fetch_one(&mut connection)
                .await
            {
                Ok(version) if seen == Some(version) => {}
                Ok(version) => {
                    if seen.is_none() {
                        self.version.set_live(true);
                    } else {
                        self.version.bump();
                    }
                    seen = Some(version);
                }
                Err(error) => return error.into(),
            }
            tokio::time::sleep(SQLITE_POLL).await;
        }
    }

    /// Returns only when the connection fails.
    async fn listen_postgres(&self, database_url: &str) -> StoreError {
        let mut listener = match sqlx::postgres::PgListener::connect(database_url).await {
            Ok(listener) => listener,
            Err(error) => return error.into(),
        };
        if let Err(error) = listener.listen(CATALOG_CHANNEL).await {
            return error.into();
        }
        self.version.set_live(true);
        loop {
            // `try_recv` reports a lost connection as `None` instead of reconnecting
            // silently: notices sent meanwhile are lost, so the version must not stay live.
            match listener.try_recv().await {
                Ok(Some(_)) => self.version.bump(),
                Ok(None) => return StoreError::Timeout,
                Err(error) => return error.into(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    #[test]
    fn a_version_is_not_live_until_a_watcher_says_so() {
        let version = DataVersion::default();
        assert_eq!(version.current(), None);
        version.set_live(true);
        let live = version.current().expect("live");
        version.bump();
        assert_eq!(version.current(), Some(live + 1));
    }

    /// Polls `changed()` once: whether it is ready now.
    fn ready(changes: &mut Changes) -> bool {
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        let future = std::pin::pin!(changes.changed());
        future.poll(&mut context).is_ready()
    }

    #[tokio::test]
    async fn a_subscriber_sleeps_until_a_commit_then_wakes_once_for_a_burst() {
        let version = DataVersion::default();
        version.set_live(true);
        let mut changes = version.subscribe();
        assert!(!ready(&mut changes), "nothing changed since subscribing");
        version.bump();
        version.bump();
        assert!(ready(&mut changes), "a change wakes it");
        assert!(!ready(&mut changes), "two commits, one wake-up");
    }

    #[tokio::test]
    async fn losing_the_watcher_wakes_subscribers_and_they_recheck_while_blind() {
        let version = DataVersion::default();
        version.set_live(true);
        let mut changes = version.subscribe();
        changes.blind_recheck = Duration::from_millis(10);
        version.set_live(false);
        assert!(ready(&mut changes), "going blind is a change");
        // Nothing moves while blind, yet the subscriber looks again.
        tokio::time::timeout(Duration::from_secs(10), changes.changed())
            .await
            .expect("a blind subscriber rechecks on its own");
    }

    /// A write transaction that reads first, while another connection writes and commits in
    /// between (an API token issued while the worker records progress): both succeed.
    #[tokio::test]
    async fn a_write_that_reads_first_waits_for_a_concurrent_writer_instead_of_failing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("stargate.db").display());
        let store = Store::open(&url).await.expect("open");
        let mut first = store.begin().await.expect("begin");
        sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *first)
            .await
            .expect("read");
        let other = store.clone();
        let second = tokio::spawn(async move { other.ensure_user("b@example.com", None).await });
        // Time for the other writer to commit, were it allowed to.
        tokio::time::sleep(Duration::from_millis(200)).await;
        sqlx::query("INSERT INTO users (email, name, created_at) VALUES ('a@example.com', 'A', '2026-01-01')")
            .execute(&mut *first)
            .await
            .expect("the first transaction writes after its read");
        first.commit().await.expect("commit");
        second
            .await
            .expect("task")
            .expect("the second writer waited its turn");
    }

    #[test]
    fn losing_the_watcher_hides_the_version_and_moves_it_on() {
        let version = DataVersion::default();
        version.set_live(true);
        let before = version.current().expect("live");
        version.set_live(false);
        assert_eq!(version.current(), None);
        version.set_live(true);
        assert!(version.current().expect("live again") > before);
    }
}
