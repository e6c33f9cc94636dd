use std::{path::PathBuf, sync::Once};

use reqwest::{Client, Response, redirect::Policy};
use server::{
    auth::Auth,
    config::{AuthMode, Settings},
    demo,
    startup::Application,
    store::Store,
};
use sqlx::{AnyConnection, Connection, Executor};
use tokio::{net::TcpListener, sync::oneshot};

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

/// The tests' tokens last a day and may do everything their person may.
pub const TEST_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(86_400);

/// Who a test request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    Anonymous,
    /// Member of `payments`.
    EngineerA,
    /// Member of `search`.
    EngineerB,
    /// Lead of `payments`.
    LeadA,
    Admin,
}

impl Persona {
    pub const ALL: [Persona; 5] = [
        Self::Anonymous,
        Self::EngineerA,
        Self::EngineerB,
        Self::LeadA,
        Self::Admin,
    ];

    fn identity(self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            Self::Anonymous => None,
            Self::EngineerA => Some(("pat@example.com", &["payments"])),
            Self::EngineerB => Some(("sam@example.com", &["search"])),
            Self::LeadA => Some(("lee@example.com", &["payments", "payments-leads"])),
            Self::Admin => Some(("ada@example.com", &["platform-admins"])),
        }
    }
}

/// Stops its worker when dropped.
pub struct WorkerHandle {
    stop: tokio::sync::watch::Sender<bool>,
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub store: Store,
    pub database: TestDatabase,
    pub settings: Settings,
    /// `data_dir` (the IaC repository is `iac` in it unless `Options::iac` moves it);
    /// removed with the app.
    _data_dir: tempfile::TempDir,
    /// Each signed-in persona's token: its id and secret.
    tokens: Vec<(Persona, i64, String)>,
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

/// How to start the app under test.
pub struct Options {
    pub demo_catalog: bool,
    /// `None`: development sign-in. `Some(issuer)`: OIDC against that provider.
    pub oidc_issuer: Option<String>,
    pub session_idle_minutes: u32,
    /// Distinct approvals every team needs (the demo's teams need one).
    pub required_approvals: u32,
    /// Run the embedded worker (off by default, so approved requests stay `queued` for
    /// tests that look at review alone).
    pub worker: bool,
    /// Clusters besides the demo's dry-run one.
    pub clusters: Vec<server::config::ClusterSettings>,
    /// Worker timings (lease, backoff, readiness timeout).
    pub worker_settings: Option<server::config::WorkerSettings>,
    /// The URL browsers use (e.g. `https://portal.test` behind a TLS proxy); by default
    /// `http://` and the listening address.
    pub public_url: Option<String>,
    /// `metrics.token`: what `/metrics` asks for.
    pub metrics_token: Option<String>,
    /// `[iac]` (repository path, remote); by default a repository in the app's `data_dir`.
    pub iac: Option<server::iac::IacSettings>,
    /// Any other setting, changed last (e.g. `http.trusted_proxies`).
    pub configure: fn(&mut Settings),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            demo_catalog: true,
            oidc_issuer: None,
            session_idle_minutes: 60,
            required_approvals: 1,
            worker: false,
            clusters: Vec::new(),
            worker_settings: None,
            public_url: None,
            metrics_token: None,
            iac: None,
            configure: |_| {},
        }
    }
}

/// Starts the app with the demo catalog (2 teams, 30 services) and development sign-in.
pub async fn spawn_app(db: Db) -> TestApp {
    spawn_with(db, Options::default(), None).await
}

/// Starts the app with an empty catalog.
pub async fn spawn_empty_app(db: Db) -> TestApp {
    spawn_with(
        db,
        Options {
            demo_catalog: false,
            ..Options::default()
        },
        None,
    )
    .await
}

pub async fn spawn_with(db: Db, options: Options, listener: Option<TcpListener>) -> TestApp {
    init_test_logging();
    let (database, url) = TestDatabase::create(db).await;
    let data_dir = tempfile::tempdir().expect("data dir");
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: data_dir.path().to_owned(),
        database_url: Some(url.clone()),
        iac: options.iac.unwrap_or_default(),
        site_root: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site"),
        ..Settings::default()
    };
    demo::apply_demo_settings(&mut settings);
    for team in &mut settings.teams {
        team.required_approvals = options.required_approvals;
    }
    if let Some(worker) = options.worker_settings {
        settings.worker = worker;
    }
    settings.worker.embedded = options.worker;
    settings.clusters.extend(options.clusters);
    settings.auth.session_idle_minutes = options.session_idle_minutes;
    settings.public_url = options.public_url;
    settings.metrics.token = options.metrics_token.map(Into::into);
    match options.oidc_issuer {
        None => settings.auth.mode = AuthMode::Dev,
        Some(issuer) => {
            settings.auth.mode = AuthMode::Oidc;
            settings.auth.oidc.issuer_url = issuer;
            settings.auth.oidc.client_id = "stargate".into();
            settings.auth.oidc.client_secret = "stargate-secret".to_owned().into();
        }
    }
    // Drift checks read clusters; a test that wants them asks through `configure`.
    settings.drift.interval_seconds = 0;
    settings.drift.watch = false;
    (options.configure)(&mut settings);
    let store = Store::open(&url).await.expect("open store");
    if options.demo_catalog {
        assert!(
            demo::load(&store).await.expect("load demo"),
            "demo loads on a fresh database"
        );
    }
    let listener = match listener {
        Some(listener) => listener,
        None => TcpListener::bind("127.0.0.1:0").await.expect("bind"),
    };
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let app = Application::on_listener(&settings, store.clone(), listener)
        .await
        .expect("build app");
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));

    // A token per persona, made the way `stargate token create` makes them.
    let auth = Auth::new(&settings, &address, store.clone()).expect("auth");
    let mut tokens = Vec::new();
    for persona in Persona::ALL {
        if let Some((email, groups)) = persona.identity() {
            let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
            let user = store.ensure_user(email, Some(&groups)).await.expect("user");
            let (id, token) = auth
                .issue_token(&user, "tests", TEST_TOKEN_LIFETIME, domain::Scopes::ALL)
                .await
                .expect("token");
            tokens.push((persona, id, token));
        }
    }
    let client = Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    TestApp {
        address,
        client,
        store,
        database,
        settings,
        _data_dir: data_dir,
        tokens,
        _shutdown: shutdown,
    }
}

impl TestApp {
    pub fn token(&self, persona: Persona) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(p, _, _)| *p == persona)
            .map(|(_, _, t)| t.as_str())
    }

    /// The id of `persona`'s token (as its tokens page lists it).
    pub fn token_id(&self, persona: Persona) -> Option<i64> {
        self.tokens
            .iter()
            .find(|(p, _, _)| *p == persona)
            .map(|(_, id, _)| *id)
    }

    /// The app's `Auth` and the user `email` with `groups`, created or updated as a
    /// sign-in does.
    async fn signed_up(&self, email: &str, groups: &[&str]) -> (Auth, server::store::UserRecord) {
        let auth = Auth::new(&self.settings, &self.address, self.store.clone()).expect("auth");
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        let user = self
            .store
            .ensure_user(email, Some(&groups))
            .await
            .expect("user");
        (auth, user)
    }

    /// A new browser session for `persona` (none for anonymous), made as a sign-in makes
    /// it, as the value of a `Cookie` header.
    pub async fn session_cookie(&self, persona: Persona) -> Option<String> {
        let (email, groups) = persona.identity()?;
        let (auth, user) = self.signed_up(email, groups).await;
        let cookie = auth.start_session(&user).await.expect("session");
        Some(format!("{}={}", cookie.name(), cookie.value()))
    }

    /// A request as `persona` (bearer token; none for anonymous).
    pub fn request(
        &self,
        persona: Persona,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let builder = self
            .client
            .request(method, format!("{}{path}", self.address));
        match self.token(persona) {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// A token for another person (e.g. a second lead), made as `stargate token create`
    /// makes it.
    pub async fn token_for(&self, email: &str, groups: &[&str]) -> String {
        let (auth, user) = self.signed_up(email, groups).await;
        auth.issue_token(&user, "tests", TEST_TOKEN_LIFETIME, domain::Scopes::ALL)
            .await
            .expect("token")
            .1
    }

    /// Rows in `table`, read straight from the test's database (what the API stored, not
    /// what it says it stored).
    pub async fn count_rows(&self, table: &str) -> i64 {
        let url = self.settings.database_url.as_deref().expect("database URL");
        let mut conn = AnyConnection::connect(url)
            .await
            .expect("connect to test database");
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .expect("count rows");
        let _ = conn.close().await;
        count
    }

    /// Rows of `table` matching `condition` (SQL), read straight from the database.
    pub async fn count_where(&self, table: &str, condition: &str) -> i64 {
        self.count_rows(&format!("{table} WHERE {condition}")).await
    }

    /// Runs `sql` on the test's database directly: a fault the portal itself would never
    /// write (a corrupted row, a worker that died holding a job).
    pub async fn execute(&self, sql: &str) {
        let url = self.settings.database_url.as_deref().expect("database URL");
        let mut conn = AnyConnection::connect(url)
            .await
            .expect("connect to test database");
        conn.execute(sql).await.expect("execute");
        let _ = conn.close().await;
    }

    /// A worker of the app's own configuration, in this process, until the handle drops
    /// (for tests that queue jobs first and apply them later).
    pub fn start_worker(&self) -> WorkerHandle {
        use std::sync::Arc;
        let settings = &self.settings;
        let policy = Arc::new(server::portal::RequestPolicy::from_settings(settings));
        let mut registry = prometheus_client::registry::Registry::default();
        let worker = server::worker::Worker::new(
            self.store.clone(),
            server::portal::Replanner::new(
                self.store.clone(),
                policy,
                Arc::new(server::apply::Clusters::from_settings(settings)),
            ),
            settings,
            Arc::new(tokio::sync::Notify::new()),
            Arc::new(server::worker::WorkerMetrics::register(&mut registry)),
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(worker.run(stopped));
        WorkerHandle { stop }
    }

    pub async fn get_as(&self, persona: Persona, path: &str) -> Response {
        self.request(persona, reqwest::Method::GET, path)
            .send()
            .await
            .expect("request")
    }

    /// As an engineer of `payments`.
    pub async fn get(&self, path: &str) -> Response {
        self.get_as(Persona::EngineerA, path).await
    }

    /// Submitted by engineer A (`body` as `POST /api/v1/requests` takes it) and approved
    /// by lead A; the request id.
    pub async fn submit_approved(&self, body: &serde_json::Value) -> i64 {
        let created = self
            .request(
                Persona::EngineerA,
                reqwest::Method::POST,
                "/api/v1/requests",
            )
            .json(body)
            .send()
            .await
            .expect("submit");
        assert_eq!(created.status(), 201, "{:?}", created.text().await);
        let created: serde_json::Value = created.json().await.expect("json");
        let id = created["request"]["id"].as_i64().expect("id");
        let approved = self.approve(Persona::LeadA, id).await;
        assert_eq!(approved.status(), 200, "{:?}", approved.text().await);
        id
    }

    /// Waits (at most 40 s) until request `id` is one of `statuses`; its detail.
    pub async fn settled(&self, id: i64, statuses: &[&str]) -> serde_json::Value {
        self.settled_within(id, statuses, std::time::Duration::from_secs(40))
            .await
    }

    /// Waits (at most `within`) until request `id` is one of `statuses`; its detail.
    pub async fn settled_within(
        &self,
        id: i64,
        statuses: &[&str],
        within: std::time::Duration,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let (_, detail) = self.get_json(&format!("/api/v1/requests/{id}")).await;
            let status = detail["request"]["status"].as_str().unwrap_or_default();
            if statuses.contains(&status) {
                return detail;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "request {id} stayed {status}: {detail}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// The hash of request `id`'s current plan, as a reviewer reads it.
    pub async fn plan_hash(&self, id: i64) -> String {
        let (status, detail) = self.get_json(&format!("/api/v1/requests/{id}")).await;
        assert_eq!(status, 200, "{detail}");
        detail["plan"]["hash"]
            .as_str()
            .expect("a plan hash")
            .to_owned()
    }

    /// Approves request `id` as `persona`, bound to its current plan.
    pub async fn approve(&self, persona: Persona, id: i64) -> reqwest::Response {
        let plan_hash = self.plan_hash(id).await;
        self.request(
            persona,
            reqwest::Method::POST,
            &format!("/api/v1/requests/{id}/approve"),
        )
        .json(&serde_json::json!({ "plan_hash": plan_hash }))
        .send()
        .await
        .expect("approve")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let body = response.json().await.expect("JSON body");
        (status, body)
    }

    /// A page as a browser asks for it.
    pub async fn get_html(&self, path: &str) -> Response {
        self.request(Persona::EngineerA, reqwest::Method::GET, path)
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .expect("request")
    }

    pub async fn get_page(&self, path: &str) -> (u16, String) {
        let response = self.get_html(path).await;
        let status = response.status().as_u16();
        (
            status,
            without_markers(&response.text().await.expect("text body")),
        )
    }
}

/// A rendered page without Leptos's hydration markers (`<!>`, empty comments after dynamic
/// text): what a reader sees is asserted, not where the wasm resumes.
pub fn without_markers(html: &str) -> String {
    html.replace("<!>", "")
}

/// A loopback port nothing listens on, for a server process the test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits until `{base}/readyz` answers 200, at most `within`; fails sooner when `exited`
/// says the server process has ended (and what it logged).
pub async fn wait_until_ready(
    base: &str,
    within: std::time::Duration,
    mut exited: impl FnMut() -> Option<String>,
) {
    let client = Client::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(why) = exited() {
            panic!("the server at {base} exited: {why}");
        }
        let ready = client
            .get(format!("{base}/readyz"))
            .timeout(std::time::Duration::from_secs(1))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{base} never became ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A Kubernetes object's `Kind/namespace/name`.
pub fn object_key(object: &serde_json::Value) -> String {
    format!(
        "{}/{}/{}",
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
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

/// The `stargate` binary with nothing from the caller's environment (no `RUST_LOG`, no
/// `STARGATE_*`), as an operator's clean shell would run it.
pub fn stargate_command() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_stargate"));
    command.env_remove("RUST_LOG");
    for (key, _) in std::env::vars() {
        if key.starts_with("STARGATE_") {
            command.env_remove(key);
        }
    }
    command
}

/// Submits `body` as `persona`: the status and the JSON answer, whatever the status.
pub async fn submit_as(
    app: &TestApp,
    persona: Persona,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = app
        .request(persona, reqwest::Method::POST, "/api/v1/requests")
        .json(body)
        .send()
        .await
        .expect("submit");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

/// The field paths of an error answer's fields.
pub fn error_paths(error: &serde_json::Value) -> Vec<&str> {
    error["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["path"].as_str())
        .collect()
}
