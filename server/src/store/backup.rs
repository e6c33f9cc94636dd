//! Backups of an embedded (SQLite) database: a consistent copy taken while the portal runs,
//! and a restore onto a stopped one. PostgreSQL has its own tools (`pg_dump`, point-in-time
//! recovery); the README says how.
//!
//! Every `stargate` process holds a shared lock on `<database>.lock` while it uses a SQLite
//! database; a restore takes it exclusively, so it cannot replace a database under a
//! running server or worker.

use std::{
    fs::{File, TryLockError},
    path::{Path, PathBuf},
};

use sqlx::{Connection, SqliteConnection};

use super::{Backend, Store, StoreError};

/// Why a backup or restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "backups of PostgreSQL are taken with pg_dump (and restored with pg_restore); see the \
         README's Deploying section"
    )]
    Postgres,
    #[error("{0} exists already; choose a new file (a backup never overwrites one)")]
    Exists(PathBuf),
    #[error(
        "a stargate process is using {0}; stop every `stargate serve` and `stargate worker` on \
         it before restoring"
    )]
    InUse(PathBuf),
    #[error("{path} is not a Stargate database: {why}")]
    NotABackup { path: PathBuf, why: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Sqlite(#[from] sqlx::Error),
}

/// The SQLite file a `sqlite://` URL names.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    if Backend::from_url(url).ok()? != Backend::Sqlite {
        return None;
    }
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()?;
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Held for as long as a process uses the database (dropping it lets go).
pub struct DatabaseLock {
    _file: Option<File>,
}

/// The shared lock every `stargate` process holds on a SQLite database it uses; none for
/// PostgreSQL. Refused while a restore holds it.
pub fn hold_database(url: &str) -> Result<DatabaseLock, BackupError> {
    let Some(database) = sqlite_path(url) else {
        return Ok(DatabaseLock { _file: None });
    };
    if let Some(parent) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let file = File::create(lock_path(&database))?;
    match file.try_lock_shared() {
        Ok(()) => Ok(DatabaseLock { _file: Some(file) }),
        Err(TryLockError::WouldBlock) => Err(BackupError::InUse(database)),
        Err(TryLockError::Error(error)) => Err(error.into()),
    }
}

impl Store {
    /// Writes a consistent copy of this SQLite database to `to` (`VACUUM INTO`: one read
    /// transaction, so writers carry on meanwhile and the copy is compact).
    pub async fn backup_to(&self, to: &Path) -> Result<(), BackupError> {
        if self.backend == Backend::Postgres {
            return Err(BackupError::Postgres);
        }
        if to.exists() {
            return Err(BackupError::Exists(to.to_owned()));
        }
        let target = to.to_str().ok_or_else(|| {
            std::io::Error::other(format!("{} is not a UTF-8 path", to.display()))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(StoreError::Query)?;
        Ok(())
    }
}

/// Replaces the SQLite database of `url` with the backup `from`, on a stopped portal: the
/// backup is checked first (integrity, Stargate's schema), copied beside the database, and
/// renamed over it, so a failure leaves the old database as it was.
pub async fn restore(url: &str, from: &Path) -> Result<(), BackupError> {
    let Some(database) = sqlite_path(url) else {
        return Err(BackupError::Postgres);
    };
    check_backup(from).await?;
    if let Some(parent) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let lock = File::create(lock_path(&database))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(BackupError::InUse(database)),
        Err(TryLockError::Error(error)) => return Err(error.into()),
    }
    let mut staged = database.as_os_str().to_owned();
    staged.push(".restoring");
    let staged = PathBuf::from(staged);
    std::fs::copy(from, &staged)?;
    File::open(&staged)?.sync_all()?;
    // The old database's write-ahead log belongs to it, not to the restored copy.
    for suffix in ["-wal", "-shm"] {
        let mut side = database.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::remove_file(PathBuf::from(side)) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error.into()),
            _ => {}
        }
    }
    std::fs::rename(&staged, &database)?;
    drop(lock);
    Ok(())
}

/// A backup must be an intact SQLite database that Stargate's migrations made.
async fn check_backup(path: &Path) -> Result<(), BackupError> {
    let not_a_backup = |why: String| BackupError::NotABackup {
        path: path.to_owned(),
        why,
    };
    if !path.is_file() {
        return Err(not_a_backup("no such file".into()));
    }
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut conn = SqliteConnection::connect(&url)
        .await
        .map_err(|e| not_a_backup(e.to_string()))?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| not_a_backup(e.to_string()))?;
    if integrity != "ok" {
        return Err(not_a_backup(format!("integrity check: {integrity}")));
    }
    let migrated: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('_sqlx_migrations', 'requests', 'users')",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| not_a_backup(e.to_string()))?;
    conn.close().await?;
    if migrated != 3 {
        return Err(not_a_backup("it holds no Stargate schema".into()));
    }
    Ok(())
}
