//! Upgrading a database holding what older versions wrote: this version's migrations apply
//! to it and leave rows the code can use.

use std::{borrow::Cow, path::PathBuf};

use sqlx::{AnyConnection, Connection, migrate::Migrator};

use crate::{
    helpers::{Db, TestDatabase},
    on_both_databases,
};

/// A database migrated by the versions before migration `version`: its URL, a connection,
/// and every migration of this version to run next.
async fn migrated_before(db: Db, version: i64) -> (TestDatabase, String, AnyConnection, Migrator) {
    sqlx::any::install_default_drivers();
    let (database, url) = TestDatabase::create(db).await;
    let folder = match db {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgres",
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(folder);
    let all = Migrator::new(path.as_path()).await.expect("migrations");
    let mut older = Migrator::new(path.as_path()).await.expect("migrations");
    older.migrations = Cow::Owned(
        all.migrations
            .iter()
            .filter(|m| m.version < version)
            .cloned()
            .collect(),
    );
    let url = match db {
        // Created on first connection, as the app's store does.
        Db::Sqlite => format!("{url}?mode=rwc"),
        Db::Postgres => url,
    };
    let mut conn = AnyConnection::connect(&url).await.expect("connect");
    older.run(&mut conn).await.expect("older migrations");
    (database, url, conn, all)
}

/// Users whose addresses differ only in case and a token made to live forever, as
/// versions before 0014 could write them, survive the upgrade: the first user keeps the
/// address, the token now expires.
async fn users_and_tokens_of_older_versions_survive_the_upgrade(db: Db) {
    let (_database, url, mut conn, all) = migrated_before(db, 14).await;
    for statement in [
        "INSERT INTO users (email, name, groups_json, created_at)
         VALUES ('Pat@example.com', 'Pat', '[]', '2026-01-01T00:00:00Z')",
        "INSERT INTO users (email, name, groups_json, created_at)
         VALUES ('pat@example.com', 'pat', '[]', '2026-02-01T00:00:00Z')",
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at)
         VALUES (1, 'forever', 'h1', '2026-01-01T00:00:00Z', NULL)",
    ] {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect("legacy row");
    }

    all.run(&mut conn).await.expect("this version's migrations");
    let expires: Option<String> =
        sqlx::query_scalar("SELECT expires_at FROM api_tokens WHERE name = 'forever'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    let expires = expires.expect("every token expires after the upgrade");
    let in_a_year = server::store::now_plus(time::Duration::days(365));
    assert!(
        server::store::now_plus(time::Duration::days(364)) < expires && expires <= in_a_year,
        "{expires}"
    );
    let keys: Vec<(i64, String)> = sqlx::query_as("SELECT id, email_key FROM users ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        keys,
        [
            (1, "pat@example.com".to_owned()),
            (2, "pat@example.com#2".to_owned())
        ]
    );
    conn.close().await.unwrap();

    // The upgraded store finds the first person whatever the case.
    let store = server::store::Store::open(&url).await.expect("open");
    let pat = store.ensure_user("PAT@example.com", None).await.unwrap();
    assert_eq!(pat.id, 1);
}

on_both_databases!(users_and_tokens_of_older_versions_survive_the_upgrade);

/// Migrations 0020, 0023 and 0025 widen the request kinds (SQLite rebuilds the
/// table): every request, its approvals and job keep their ids and links, ids are not
/// reused, and a decommission, a restore, an adopt and an import can be stored.
async fn requests_survive_the_day_two_rebuild(db: Db) {
    let (_database, _, mut conn, all) = migrated_before(db, 20).await;
    let request = |status: &str| {
        format!(
            "INSERT INTO requests (kind, team_name, cluster, title, status, requester_id,
                 spec_json, manifests_yaml, plan_json, plan_hash, created_at, updated_at)
             VALUES ('service', 'payments', 'demo', 'service ledger', '{status}', 1, '{{}}', '',
                     '{{}}', 'h', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
        )
    };
    for statement in [
        "INSERT INTO users (email, name, groups_json, created_at)
         VALUES ('pat@example.com', 'Pat', '[]', '2026-01-01T00:00:00Z')"
            .to_owned(),
        request("applied"),
        request("queued"),
        request("cancelled"),
        "DELETE FROM requests WHERE status = 'cancelled'".to_owned(),
        "INSERT INTO approvals (request_id, user_id, plan_hash, at)
         VALUES (2, 1, 'h', '2026-01-01T00:00:00Z')"
            .to_owned(),
        "INSERT INTO jobs (request_id, cluster, status, run_after, created_at, updated_at)
         VALUES (2, 'demo', 'queued', 'x', 'x', 'x')"
            .to_owned(),
    ] {
        sqlx::query(&statement)
            .execute(&mut conn)
            .await
            .expect("older row");
    }

    all.run(&mut conn).await.expect("this version's migrations");
    let ids: Vec<(i64, String)> = sqlx::query_as("SELECT id, status FROM requests ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(ids, [(1, "applied".to_owned()), (2, "queued".to_owned())]);
    let linked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM approvals a JOIN jobs j ON j.request_id = a.request_id
         JOIN requests r ON r.id = a.request_id WHERE r.id = 2",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(linked, 1);
    sqlx::query(
        &request("pending_review").replace("'service', 'payments'", "'decommission', 'payments'"),
    )
    .execute(&mut conn)
    .await
    .expect("a decommission is a request kind now");
    // 0023 rebuilds the table again (SQLite) for restores, keeping ids as 0020 did.
    sqlx::query(
        &request("pending_review").replace("'service', 'payments'", "'restore', 'payments'"),
    )
    .execute(&mut conn)
    .await
    .expect("a restore is a request kind now");
    // 0025 rebuilds it once more (SQLite) for adopts and imports.
    sqlx::query(&request("pending_review").replace("'service', 'payments'", "'adopt', 'payments'"))
        .execute(&mut conn)
        .await
        .expect("an adopt is a request kind now");
    sqlx::query(
        &request("pending_review").replace("'service', 'payments'", "'import', 'payments'"),
    )
    .execute(&mut conn)
    .await
    .expect("an import is a request kind now");
    let newest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM requests")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(newest, 7, "the removed request's id 3 is not reused");
    conn.close().await.unwrap();
}

on_both_databases!(requests_survive_the_day_two_rebuild);

/// The statements of `sql` the previous version would not run on: a dropped or renamed
/// table or column, a changed column, a new `NOT NULL` column without a default
/// (docs/deploying/upgrades.md). A table dropped and created again under its name in the
/// same migration (SQLite's way to change a constraint) or a scratch table the migration
/// made itself is no break: `requests_survive_the_day_two_rebuild` checks such a rebuild.
fn breaking_changes(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ");
    let statements: Vec<String> = without_comments
        .split(';')
        .map(|statement| {
            statement
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_uppercase()
        })
        .collect();
    let created: Vec<String> = statements
        .iter()
        .filter_map(|s| s.strip_prefix("CREATE TABLE "))
        .filter_map(|rest| rest.split([' ', '(']).next())
        .map(str::to_owned)
        .collect();
    statements
        .into_iter()
        .filter(|s| {
            let rebuilt = s
                .strip_prefix("DROP TABLE ")
                .is_some_and(|table| created.iter().any(|c| c == table.trim()));
            !rebuilt
                && (["DROP TABLE", "DROP COLUMN", "RENAME ", "ALTER COLUMN"]
                    .iter()
                    .any(|p| s.contains(p))
                    || (s.contains("ADD COLUMN")
                        && s.contains("NOT NULL")
                        && !s.contains("DEFAULT")))
        })
        .collect()
}

#[test]
fn the_rule_catches_what_the_previous_version_would_not_run_on() {
    for bad in [
        "ALTER TABLE services DROP COLUMN image;",
        "alter table services\n  rename column image to container_image;",
        "ALTER TABLE services ADD COLUMN owner TEXT NOT NULL;",
        "ALTER TABLE services ALTER COLUMN replicas TYPE BIGINT;",
        "DROP TABLE services;",
    ] {
        assert_eq!(breaking_changes(bad).len(), 1, "{bad}");
    }
    for fine in [
        "CREATE TABLE copy AS SELECT * FROM services; DROP TABLE services;
         CREATE TABLE services (id INTEGER PRIMARY KEY); DROP TABLE copy;",
        "ALTER TABLE services ADD COLUMN owner TEXT NOT NULL DEFAULT '';",
        "ALTER TABLE services ADD COLUMN owner TEXT; -- DROP COLUMN later",
        "CREATE INDEX services_team ON services (team); DROP INDEX old_index;",
    ] {
        assert!(breaking_changes(fine).is_empty(), "{fine}");
    }
}

/// Every migration keeps the schema the previous version runs on, so old pods keep serving
/// during a rolling upgrade.
#[test]
fn every_migration_leaves_a_schema_the_previous_version_runs_on() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut checked = 0;
    for folder in ["sqlite", "postgres"] {
        for entry in std::fs::read_dir(root.join(folder)).expect("migrations") {
            let path = entry.expect("entry").path();
            let sql = std::fs::read_to_string(&path).expect("read");
            let breaking = breaking_changes(&sql);
            assert!(
                breaking.is_empty(),
                "{}: the previous version would not run on this: {breaking:#?}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "found the migrations ({checked})");
}

/// The previous version on the next one's schema, as old pods run during a rolling upgrade
/// (and this version after a rollback): the database has a column, a table and a migration
/// this binary has never seen, and `stargate serve` still starts and answers catalog reads.
async fn this_version_serves_on_a_schema_a_newer_version_migrated(db: Db) {
    sqlx::any::install_default_drivers();
    let (_database, url) = TestDatabase::create(db).await;
    let url = match db {
        Db::Sqlite => format!("{url}?mode=rwc"),
        Db::Postgres => url,
    };
    server::store::Store::open(&url)
        .await
        .expect("this version's migrations")
        .close()
        .await;
    let mut conn = AnyConnection::connect(&url).await.expect("connect");
    for next_version in [
        "ALTER TABLE services ADD COLUMN owner_email TEXT",
        "CREATE TABLE service_links (service_id BIGINT NOT NULL, url TEXT NOT NULL)",
    ] {
        sqlx::Executor::execute(&mut conn, next_version)
            .await
            .expect(next_version);
    }
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(9999_i64)
    .bind("the next version")
    .bind(true)
    .bind(vec![0_u8; 48])
    .bind(1_i64)
    .execute(&mut conn)
    .await
    .expect("record the next version's migration");
    conn.close().await.expect("close");

    let data = tempfile::tempdir().expect("data dir");
    let port = crate::helpers::free_port();
    let env = |command: &mut std::process::Command| {
        command
            .env("STARGATE_DATABASE_URL", &url)
            .env("STARGATE_DATA_DIR", data.path())
            .env("STARGATE_AUTH__MODE", "dev")
            .env("STARGATE_LISTEN", format!("127.0.0.1:{port}"));
    };
    let mut create = crate::helpers::stargate_command();
    env(&mut create);
    let created = create
        .args(["token", "create", "--user", "pat@example.com"])
        .args(["--groups", "payments", "--scopes", "read"])
        .output()
        .expect("stargate token create");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = String::from_utf8_lossy(&created.stdout)
        .lines()
        .last()
        .expect("a token")
        .trim()
        .to_owned();

    let log = data.path().join("serve.log");
    let mut serve = crate::helpers::stargate_command();
    env(&mut serve);
    serve
        .args(["serve", "--demo"])
        .stdout(std::fs::File::create(&log).expect("log file"))
        .stderr(std::process::Stdio::null());
    let mut serve = tokio::process::Command::from(serve)
        .kill_on_drop(true)
        .spawn()
        .expect("start stargate serve");
    let base = format!("http://127.0.0.1:{port}");
    crate::helpers::wait_until_ready(&base, std::time::Duration::from_secs(30), || {
        let status = serve.try_wait().expect("poll serve")?;
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        Some(format!("{status} on the newer schema:\n{said}"))
    })
    .await;
    let client = reqwest::Client::new();
    let page: serde_json::Value = client
        .get(format!("{base}/api/v1/services?team=payments"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("catalog read")
        .error_for_status()
        .expect("the catalog answers")
        .json()
        .await
        .expect("JSON");
    assert!(page["total"].as_u64().unwrap_or_default() > 0, "{page}");
}

on_both_databases!(this_version_serves_on_a_schema_a_newer_version_migrated);
