//! Storage: one sqlx `Any` pool over SQLite (embedded default) or PostgreSQL.
//!
//! Queries use `$N` placeholders, which both backends accept, so every query is written
//! once and the same tests run against both.

mod applied;
mod audit;
mod auth;
pub mod backup;
mod catalog;
mod changes;
mod drift;
mod drift_lease;
mod error;
mod iac;
mod jobs;
mod lifecycle;
mod live;
mod live_status;
mod objects;
mod outcomes;
mod progress;
mod requests;
mod reviews;
mod service_detail;
mod sign_in;
mod snapshot;
mod users;

use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sqlx::{
    AnyPool, ConnectOptions, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
};

pub use applied::AppliedObjects;
pub use auth::{AuthTable, LoginFlow, TokenRecord, UserRecord};
pub use backup::{BackupError, DatabaseLock, hold_database};
pub use catalog::{NewService, NewTeam};
pub use changes::{Changes, DataVersion};
pub use drift::{DriftFinding, ObjectKey};
pub use error::StoreError;
pub use iac::AppliedRequest;
pub use jobs::ClaimedJob;
pub use lifecycle::CheckedStep;
pub use live::TimelinePosition;
pub use objects::{NewCertificate, NewCluster, NewHost};
pub use outcomes::{Delivered, JobObjects, JobRequest, JobStep};
pub use progress::ProgressEvent;
pub use requests::{PendingRequest, RequestRecord, subject as request_subject};
pub use reviews::{ApprovalRecord, StepRecord};
pub use sign_in::{DueRefresh, SignIn};
pub use snapshot::TeamRules;
pub use users::UserChange;

// A database a newer version migrated further is used as it is (`ignore_missing`): during
// a rolling upgrade and after a rollback this version runs on a schema one version ahead,
// which migrations keep compatible (they only add; docs/deploying/upgrades.md).
static SQLITE_MIGRATIONS: Migrator = Migrator {
    ignore_missing: true,
    ..sqlx::migrate!("../migrations/sqlite")
};
static POSTGRES_MIGRATIONS: Migrator = Migrator {
    ignore_missing: true,
    ..sqlx::migrate!("../migrations/postgres")
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    version: DataVersion,
    /// Pooled connections handed back after use (see [`Store::connection_uses`]).
    uses: Arc<AtomicU64>,
}

/// How to open the database beyond its URL.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreOptions {
    /// SQLite: `PRAGMA synchronous = FULL` instead of `NORMAL`.
    pub synchronous_full: bool,
}

impl Store {
    /// Connects (creating the SQLite file and its folder if missing) without migrating.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, StoreOptions::default()).await
    }

    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let synchronous = if options.synchronous_full {
            "PRAGMA synchronous = FULL;"
        } else {
            "PRAGMA synchronous = NORMAL;"
        };
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let connect = AnyConnectOptions::from_str(&url)
            .map_err(StoreError::Connect)?
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(200));
        let uses = Arc::new(AtomicU64::new(0));
        let counted = uses.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                // SQLite serialises writers anyway; a few readers are plenty.
                Backend::Sqlite => 8,
                Backend::Postgres => 10,
            })
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 5000; PRAGMA mmap_size = 268435456; \
                             PRAGMA temp_store = MEMORY;",
                        )
                        .await?;
                        conn.execute(synchronous).await?;
                    }
                    Ok(())
                })
            })
            .after_release(move |_conn, _meta| {
                counted.fetch_add(1, Ordering::Relaxed);
                Box::pin(async { Ok(true) })
            })
            .connect_with(connect)
            .await
            .map_err(StoreError::Connect)?;
        Ok(Self {
            pool,
            backend,
            version: DataVersion::default(),
            uses,
        })
    }

    /// Connects and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, StoreOptions::default()).await
    }

    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let store = Self::connect_with(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// SQLite's `synchronous` as the connections use it (1 NORMAL, 2 FULL).
    pub async fn synchronous(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many times a pooled connection came back from use: a statement outside a
    /// transaction counts one, a transaction one. Every query of the store goes through
    /// the pool (only the change watcher keeps a connection of its own), so a count that
    /// stands still means the process asks the database nothing; tests use it to show
    /// that idle live views cost no query.
    pub fn connection_uses(&self) -> u64 {
        self.uses.load(Ordering::Relaxed)
    }

    /// Answers when the database does, within a short deadline.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let check = sqlx::query("SELECT 1").execute(&self.pool);
        tokio::time::timeout(Duration::from_secs(2), check)
            .await
            .map_err(|_| StoreError::Timeout)??;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Makes sure the folder exists and asks SQLite to create the file when missing.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::UnsupportedUrl);
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(StoreError::DataDir)?;
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Now, as the RFC 3339 UTC text the schema stores.
pub fn now() -> String {
    timestamp(time::OffsetDateTime::now_utc())
}

/// `now() + offset` (negative for the past), in the same text form.
pub fn now_plus(offset: time::Duration) -> String {
    timestamp(time::OffsetDateTime::now_utc() + offset)
}

/// Second precision and a `Z` suffix: the stored texts then sort as the instants do.
fn timestamp(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
