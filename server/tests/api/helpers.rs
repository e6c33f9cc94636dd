use std::{path::PathBuf, sync::Once};

use reqwest::{Client, Response, redirect::Policy};
use server::{config::Settings, demo, startup::Application, store::Store};
use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::oneshot;

/// The PostgreSQL server tests create their databases on (trust auth on loopback).
pub fn postgres_admin_url() -> String {
    std::env::var("STARGATE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A database of one test; a PostgreSQL one is dropped when the test ends, pass or fail.
pub enum TestDatabase {
    /// The folder is removed with the value.
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        name: String,
    },
}

impl TestDatabase {
    pub async fn create(db: Db) -> (Self, String) {
        match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("stargate.db").display());
                (Self::Sqlite { _dir: dir }, url)
            }
            Db::Postgres => {
                sqlx::any::install_default_drivers();
                let name = format!("stargate_test_{}", uuid::Uuid::new_v4().simple());
                let admin = postgres_admin_url();
                let mut conn = AnyConnection::connect(&format!("{admin}/postgres"))
                    .await
                    .expect("PostgreSQL must run at 127.0.0.1:5432 (or STARGATE_TEST_POSTGRES)");
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create test database");
                (
                    Self::Postgres { name: name.clone() },
                    format!("{admin}/{name}"),
                )
            }
        }
    }

    /// Drops a PostgreSQL database now, cutting its connections (as an outage would).
    pub async fn drop_postgres(name: &str) {
        let mut conn = AnyConnection::connect(&format!("{}/postgres", postgres_admin_url()))
            .await
            .expect("connect to postgres");
        conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .expect("drop test database");
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Self::Postgres { name } = self {
            let name = name.clone();
            // Drop runs inside the test's runtime: clean up on a thread with its own.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(TestDatabase::drop_postgres(&name));
                }
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub store: Store,
    pub database: TestDatabase,
    _shutdown: oneshot::Sender<()>,
}

fn init_test_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            server::telemetry::init(&Settings::default().log);
        }
    });
}

/// Starts the app with the demo catalog (2 teams, 30 services).
pub async fn spawn_app(db: Db) -> TestApp {
    spawn(db, true).await
}

/// Starts the app with an empty catalog.
pub async fn spawn_empty_app(db: Db) -> TestApp {
    spawn(db, false).await
}

async fn spawn(db: Db, with_demo: bool) -> TestApp {
    init_test_logging();
    let (database, url) = TestDatabase::create(db).await;
    let settings = Settings {
        listen: "127.0.0.1:0".parse().expect("address"),
        database_url: Some(url.clone()),
        site_root: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site"),
        ..Settings::default()
    };
    let store = Store::open(&url).await.expect("open store");
    if with_demo {
        assert!(
            demo::load(&store).await.expect("load demo"),
            "demo loads on a fresh database"
        );
    }
    let app = Application::with_store(&settings, store.clone())
        .await
        .expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    TestApp {
        address,
        client,
        store,
        database,
        _shutdown: shutdown,
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let body = response.json().await.expect("JSON body");
        (status, body)
    }

    /// A page as a browser asks for it.
    pub async fn get_html(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.address))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .expect("request")
    }

    pub async fn get_page(&self, path: &str) -> (u16, String) {
        let response = self.get_html(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.expect("text body"))
    }
}

/// Runs each named `async fn(Db)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::helpers::Db::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name($crate::helpers::Db::Postgres).await
            }
        }
    )*};
}
