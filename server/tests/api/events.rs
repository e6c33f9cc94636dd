//! The live timeline of a request (`GET /api/v1/requests/{id}/events`, Server-Sent Events):
//! streams wake on commits instead of polling, from this process and from others; idle
//! streams cost no query; a person's streams are capped; a signed-out session or a revoked
//! token ends its streams.
//!
//! The timeouts below only keep a broken build from hanging; nothing here asserts on time.

use std::time::Duration;

use futures::future::join_all;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use server::store::Store;
use sqlx::{AnyConnection, Connection};

use crate::{
    helpers::{Db, Persona, TestApp, spawn_app},
    on_both_databases,
};

/// How long a test waits for something that should come at once before it fails.
const PATIENCE: Duration = Duration::from_secs(15);

/// One Server-Sent Event.
#[derive(Debug, Default, Clone)]
struct Sse {
    event: String,
    data: String,
    id: Option<String>,
}

impl Sse {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).expect("timeline data is JSON")
    }
}

/// A stream as a client reads it.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    /// Opens `request` as a stream; panics unless it answers 200.
    async fn open(request: RequestBuilder) -> Self {
        let response = request.send().await.expect("open the stream");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{:?}",
            response.text().await
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event, or `None` once the server ended the stream (keep-alive comments
    /// skipped).
    async fn next(&mut self) -> Option<Sse> {
        let read = async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let mut event = Sse::default();
                    for line in block.lines() {
                        let (field, value) = line.split_once(':').unwrap_or((line, ""));
                        let value = value.strip_prefix(' ').unwrap_or(value);
                        match field {
                            "event" => event.event = value.to_owned(),
                            "data" => event.data.push_str(value),
                            "id" => event.id = Some(value.to_owned()),
                            _ => {}
                        }
                    }
                    if !event.event.is_empty() {
                        return Some(event);
                    }
                    continue;
                }
                match self.response.chunk().await {
                    Ok(Some(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                    Ok(None) | Err(_) => return None,
                }
            }
        };
        tokio::time::timeout(PATIENCE, read)
            .await
            .expect("the stream neither sent an event nor ended")
    }

    /// The next event, which must come.
    async fn expect(&mut self) -> Sse {
        self.next()
            .await
            .expect("an event, not the end of the stream")
    }

    /// Reads until the server ends the stream; what came meanwhile.
    async fn until_end(&mut self) -> Vec<Sse> {
        let mut seen = Vec::new();
        while let Some(event) = self.next().await {
            seen.push(event);
        }
        seen
    }

    /// Reads until a timeline entry whose comment is `text`.
    async fn until_comment(&mut self, text: &str) -> Sse {
        loop {
            let event = self.expect().await;
            if event.event == "timeline" && event.json()["detail"]["comment"] == text {
                return event;
            }
        }
    }
}

fn events_path(id: i64) -> String {
    format!("/api/v1/requests/{id}/events")
}

/// A payments service request by engineer A, pending review.
async fn submit(app: &TestApp, name: &str) -> i64 {
    let body = json!({
        "kind": "service", "team": "payments", "cluster": "demo", "reason": "live views",
        "spec": {"name": name, "image": "ghcr.io/acme/live:1.0.0", "port": 8080, "replicas": 1}
    });
    let response = app
        .request(Persona::EngineerA, Method::POST, "/api/v1/requests")
        .json(&body)
        .send()
        .await
        .expect("submit");
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.expect("json");
    created["request"]["id"].as_i64().expect("id")
}

async fn comment(app: &TestApp, persona: Persona, id: i64, text: &str) {
    let response = app
        .request(
            persona,
            Method::POST,
            &format!("/api/v1/requests/{id}/comments"),
        )
        .json(&json!({ "comment": text }))
        .send()
        .await
        .expect("comment");
    assert_eq!(response.status(), StatusCode::OK);
}

/// A second store on the same database: as far as the server can tell, another process
/// (its commits reach the server only through the database's change notices).
async fn another_process(app: &TestApp) -> Store {
    let url = app.settings.database_url.as_deref().expect("database URL");
    Store::connect(url).await.expect("second store")
}

async fn a_stream_follows_the_timeline_and_ends_when_final(db: Db) {
    let app = spawn_app(db).await;
    let id = submit(&app, "follow").await;
    let mut stream =
        Stream::open(app.request(Persona::EngineerA, Method::GET, &events_path(id))).await;
    let submitted = stream.expect().await;
    assert_eq!(submitted.event, "timeline");
    assert_eq!(submitted.json()["action"], "request.submit");
    let status = stream.expect().await;
    assert_eq!(
        (status.event.as_str(), status.data.as_str()),
        ("status", "pending_review")
    );

    // Resuming after the submit event, and starting from now, skip the history.
    let resumed = app
        .request(Persona::LeadA, Method::GET, &events_path(id))
        .header("last-event-id", submitted.id.clone().expect("an id"));
    let mut resumed = Stream::open(resumed).await;
    assert_eq!(resumed.expect().await.event, "status");
    let path = format!("{}?since=now", events_path(id));
    let mut from_now = Stream::open(app.request(Persona::Admin, Method::GET, &path)).await;
    assert_eq!(from_now.expect().await.event, "status");

    comment(&app, Persona::LeadA, id, "looks fine").await;
    for stream in [&mut stream, &mut resumed, &mut from_now] {
        let entry = stream.until_comment("looks fine").await;
        assert_eq!(entry.json()["actor"], "lee@example.com");
    }

    let cancelled = app
        .request(
            Persona::EngineerA,
            Method::POST,
            &format!("/api/v1/requests/{id}/cancel"),
        )
        .send()
        .await
        .expect("cancel");
    assert_eq!(cancelled.status(), StatusCode::OK);
    for stream in [&mut stream, &mut resumed, &mut from_now] {
        let rest = stream.until_end().await;
        let last = rest
            .last()
            .expect("the cancellation was sent before the end");
        assert_eq!(
            (last.event.as_str(), last.data.as_str()),
            ("status", "cancelled")
        );
    }
    // A final request's stream says where it stands and ends at once.
    let mut late =
        Stream::open(app.request(Persona::EngineerA, Method::GET, &events_path(id))).await;
    let history = late.until_end().await;
    assert_eq!(history.last().map(|e| e.data.as_str()), Some("cancelled"));
}

/// What the server's connection pool did, and on PostgreSQL whether any of the test
/// database's backends ran a statement since `since` (a DB-level witness, not ours).
async fn postgres_statements_since(app: &TestApp, since: &str) -> i64 {
    let url = app.settings.database_url.as_deref().expect("database URL");
    let (admin, name) = url.rsplit_once('/').expect("database name");
    let mut conn = AnyConnection::connect(&format!("{admin}/postgres"))
        .await
        .expect("connect to postgres");
    let busy: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity
         WHERE datname = $1 AND query_start > $2::timestamptz",
    )
    .bind(name)
    .bind(since)
    .fetch_one(&mut conn)
    .await
    .expect("pg_stat_activity");
    let _ = conn.close().await;
    busy
}

async fn postgres_now(app: &TestApp) -> String {
    let url = app.settings.database_url.as_deref().expect("database URL");
    let (admin, _) = url.rsplit_once('/').expect("database name");
    let mut conn = AnyConnection::connect(&format!("{admin}/postgres"))
        .await
        .expect("connect to postgres");
    let now: String = sqlx::query_scalar("SELECT clock_timestamp()::text")
        .fetch_one(&mut conn)
        .await
        .expect("now");
    let _ = conn.close().await;
    now
}

/// Waits until the server's pool has been still for a moment (the streams' first reads
/// and the wake-ups those caused are over); gives up quietly after a while, leaving the
/// measurement to fail.
async fn settle(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut last = app.store.connection_uses();
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = app.store.connection_uses();
        if now == last {
            return;
        }
        last = now;
    }
}

async fn idle_streams_cost_no_queries(db: Db) {
    let app = spawn_app(db).await;
    let id = submit(&app, "watched").await;
    // 200 streams: ten people with twenty each (the default cap per person).
    let mut tokens = Vec::new();
    for person in 0..10 {
        let email = format!("watcher{person}@example.com");
        tokens.push(app.token_for(&email, &["payments"]).await);
    }
    let mut streams = Vec::new();
    for token in &tokens {
        for _ in 0..20 {
            let url = format!("{}{}?since=now", app.address, events_path(id));
            let mut stream = Stream::open(app.client.get(url).bearer_auth(token)).await;
            assert_eq!(stream.expect().await.data, "pending_review");
            streams.push(stream);
        }
    }
    settle(&app).await;

    let pool_before = app.store.connection_uses();
    let since = match db {
        Db::Postgres => Some(postgres_now(&app).await),
        Db::Sqlite => None,
    };
    // Longer than the safety-net recheck of a blind change watcher, so streams that fell
    // back to it would show here too.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pool_after = app.store.connection_uses();
    assert_eq!(
        pool_after - pool_before,
        0,
        "200 idle streams used the database {} times in 3 s",
        pool_after - pool_before
    );
    if let Some(since) = since {
        assert_eq!(
            postgres_statements_since(&app, &since).await,
            0,
            "a backend of the test database ran a statement while every stream was idle"
        );
    }

    // A change elsewhere costs the server a few statements for all 200 together (its own
    // and one look at every open stream per change it hears of), not some per stream.
    let other = submit(&app, "elsewhere").await;
    settle(&app).await;
    let before = app.store.connection_uses();
    comment(&app, Persona::LeadA, other, "not for them").await;
    settle(&app).await;
    let used = app.store.connection_uses() - before;
    assert!(
        used < 40,
        "a comment elsewhere used the database {used} times"
    );

    // Idle, not dead: one comment reaches all 200.
    comment(&app, Persona::LeadA, id, "everyone sees this").await;
    join_all(
        streams
            .iter_mut()
            .map(|stream| stream.until_comment("everyone sees this")),
    )
    .await;
}

async fn past_the_cap_a_person_gets_429_and_a_closed_stream_frees_a_slot(db: Db) {
    let app = spawn_app(db).await;
    let id = submit(&app, "capped").await;
    let open = || {
        app.request(Persona::EngineerA, Method::GET, &events_path(id))
            .send()
    };
    let mut held = Vec::new();
    for _ in 0..app.settings.http.max_streams_per_user {
        held.push(
            Stream::open(app.request(Persona::EngineerA, Method::GET, &events_path(id))).await,
        );
    }
    let refused = open().await.expect("refused");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = refused.json().await.expect("the API's error shape");
    assert_eq!(body["error"], "too_many_streams");
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("20")),
        "{body}"
    );
    assert_eq!(body["fields"], json!([]));
    // The cap is per person: someone else still gets theirs.
    Stream::open(app.request(Persona::LeadA, Method::GET, &events_path(id))).await;

    // A client that goes away gives its slot back.
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let response = open().await.expect("open again");
        if response.status() == StatusCode::OK {
            break;
        }
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed stream's slot was never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sessions_ended_here_or_elsewhere_end_their_streams_only(db: Db) {
    let app = spawn_app(db).await;
    let id = submit(&app, "signed-out").await;
    let url = format!("{}{}?since=now", app.address, events_path(id));
    let open = |cookie: String| async {
        let mut stream = Stream::open(app.client.get(&url).header("cookie", cookie)).await;
        assert_eq!(stream.expect().await.event, "status");
        stream
    };
    let here = app
        .session_cookie(Persona::EngineerA)
        .await
        .expect("cookie");
    let elsewhere = app
        .session_cookie(Persona::EngineerA)
        .await
        .expect("cookie");
    let mut signed_out_here = open(here.clone()).await;
    let mut ended_elsewhere = open(elsewhere.clone()).await;
    let path = format!("{}?since=now", events_path(id));
    let mut by_token = Stream::open(app.request(Persona::EngineerA, Method::GET, &path)).await;
    assert_eq!(by_token.expect().await.event, "status");

    let out = app
        .client
        .post(format!("{}/logout", app.address))
        .header("cookie", &here)
        .header("origin", &app.address)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        signed_out_here.until_end().await.is_empty(),
        "ended, nothing more sent"
    );

    // Signed out through another process (a second `serve`): only the database knows.
    let (_, session_id) = elsewhere.split_once('=').expect("name=value");
    another_process(&app)
        .await
        .delete_session(&server::auth::secret::hash_secret(session_id))
        .await
        .expect("end the session elsewhere");
    assert!(
        ended_elsewhere.until_end().await.is_empty(),
        "ended, nothing more sent"
    );

    // The same person's token still works, and so does its stream.
    comment(&app, Persona::LeadA, id, "still here").await;
    by_token.until_comment("still here").await;
    let again = app.client.get(&url).header("cookie", &here).send().await;
    assert_eq!(again.expect("reconnect").status(), StatusCode::UNAUTHORIZED);
}

async fn a_token_revoked_by_another_process_ends_its_stream(db: Db) {
    let app = spawn_app(db).await;
    let id = submit(&app, "revoked").await;
    let path = format!("{}?since=now", events_path(id));
    let mut stream = Stream::open(app.request(Persona::EngineerB, Method::GET, &path)).await;
    assert_eq!(stream.expect().await.event, "status");
    let mut other = Stream::open(app.request(Persona::Admin, Method::GET, &path)).await;
    assert_eq!(other.expect().await.event, "status");

    // Revoked elsewhere (a second `serve`, say): only the database carries the news.
    let elsewhere = another_process(&app).await;
    let user = elsewhere
        .ensure_user("sam@example.com", None)
        .await
        .expect("user");
    let token_id = app.token_id(Persona::EngineerB).expect("token id");
    assert!(
        elsewhere
            .revoke_token(&user, token_id)
            .await
            .expect("revoke")
    );
    assert!(
        stream.until_end().await.is_empty(),
        "ended, with nothing more sent"
    );

    comment(&app, Persona::LeadA, id, "admin still watching").await;
    other.until_comment("admin still watching").await;
}

async fn an_event_committed_by_another_process_reaches_an_open_stream(db: Db) {
    let app = spawn_app(db).await;
    let id = submit(&app, "elsewhere").await;
    let path = format!("{}?since=now", events_path(id));
    let mut stream = Stream::open(app.request(Persona::EngineerA, Method::GET, &path)).await;
    assert_eq!(stream.expect().await.event, "status");

    // Only an audit event, as worker progress is: no other table moves.
    let elsewhere = another_process(&app).await;
    elsewhere
        .comment_on_request(id, "payments", "lee@example.com", "from another process")
        .await
        .expect("comment elsewhere");
    let entry = stream.until_comment("from another process").await;
    assert_eq!(entry.json()["actor"], "lee@example.com");
}

on_both_databases!(
    a_stream_follows_the_timeline_and_ends_when_final,
    idle_streams_cost_no_queries,
    past_the_cap_a_person_gets_429_and_a_closed_stream_frees_a_slot,
    sessions_ended_here_or_elsewhere_end_their_streams_only,
    a_token_revoked_by_another_process_ends_its_stream,
    an_event_committed_by_another_process_reaches_an_open_stream,
);
