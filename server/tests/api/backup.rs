//! `stargate backup` and `stargate restore` as an operator runs them, against a database
//! the portal is using.

use std::path::Path;

use server::store::{AuthTable, Store, StoreOptions, hold_database};

use crate::helpers::stargate_command;

/// `stargate ARGS` on the SQLite database `url`; (succeeded, stderr).
fn stargate(dir: &Path, url: &str, args: &[&str]) -> (bool, String) {
    let output = stargate_command()
        .current_dir(dir)
        .env("STARGATE_DATABASE_URL", url)
        .arg("--config")
        .arg(dir.join("none.toml"))
        .args(args)
        .output()
        .expect("run stargate");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn users(store: &Store) -> i64 {
    store
        .count_rows(AuthTable::Users)
        .await
        .expect("count users")
}

#[tokio::test]
async fn a_backup_taken_while_in_use_restores_the_portal_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("data/stargate.db").display());
    let store = Store::open(&url).await.expect("open");
    store
        .ensure_user("early@example.com", Some(&["payments".to_owned()]))
        .await
        .expect("user");

    // Taken while a server process holds the database and keeps writing.
    let running = hold_database(&url).expect("a running server's lock");
    let backup = dir.path().join("backup.db");
    let (ok, stderr) = stargate(dir.path(), &url, &["backup", backup.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    store
        .ensure_user("late@example.com", None)
        .await
        .expect("user");
    // A backup never overwrites a file.
    let (ok, stderr) = stargate(dir.path(), &url, &["backup", backup.to_str().unwrap()]);
    assert!(!ok && stderr.contains("exists already"), "{stderr}");

    // Not while a process uses the database.
    let (ok, stderr) = stargate(dir.path(), &url, &["restore", backup.to_str().unwrap()]);
    assert!(!ok && stderr.contains("stop every"), "{stderr}");
    assert_eq!(users(&store).await, 2, "nothing replaced");

    store.close().await;
    drop(running);
    // A file that is not a Stargate database is refused before anything changes.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let (ok, stderr) = stargate(dir.path(), &url, &["restore", junk.to_str().unwrap()]);
    assert!(
        !ok && stderr.contains("is not a Stargate database"),
        "{stderr}"
    );

    let (ok, stderr) = stargate(dir.path(), &url, &["restore", backup.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let store = Store::open(&url).await.expect("open the restored database");
    assert_eq!(
        users(&store).await,
        1,
        "as it was at the backup: only the early user"
    );
    // And a server can use it again.
    let (ok, stderr) = stargate(dir.path(), &url, &["migrate"]);
    assert!(ok, "{stderr}");
}

#[test]
fn a_postgres_backup_points_at_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/postgres", crate::helpers::postgres_admin_url());
    let (ok, stderr) = stargate(dir.path(), &url, &["backup", "/tmp/never-written.db"]);
    assert!(!ok && stderr.contains("pg_dump"), "{stderr}");
    let (ok, stderr) = stargate(dir.path(), &url, &["restore", "/tmp/never-written.db"]);
    assert!(!ok && stderr.contains("pg_dump"), "{stderr}");
}

#[tokio::test]
async fn storage_synchronous_full_makes_every_commit_durable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("stargate.db").display());
    let normal = Store::open(&url).await.expect("open");
    assert_eq!(normal.synchronous().await.unwrap(), 1, "NORMAL by default");
    normal.close().await;
    let full = Store::open_with(
        &url,
        StoreOptions {
            synchronous_full: true,
        },
    )
    .await
    .expect("open");
    assert_eq!(full.synchronous().await.unwrap(), 2, "FULL");
}
