//! Offboarding: an admin deactivates someone, and every session and token of theirs stops
//! at once — in this server and in another server process on the same database, whose
//! verified-token cache would otherwise trust the token for a few more seconds. Admins
//! revoke anyone's token the same way. Everything is audited; nobody else may.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use server::{startup::Application, store::Store};
use tokio::{net::TcpListener, sync::oneshot};

use crate::{
    helpers::{Db, Persona, TestApp, spawn_app},
    oidc_provider::{browser, sign_in_at_provider, spawn_oidc_app},
    on_both_databases,
};

/// Well under the verified-token cache's 5 s: an answer within this came from the change
/// bus, not from the cache entry running out.
const AT_ONCE: Duration = Duration::from_secs(2);

/// A second `stargate serve` on the app's database; it stops when the sender drops.
async fn second_process(app: &TestApp) -> (String, oneshot::Sender<()>) {
    let url = app.settings.database_url.as_deref().expect("database URL");
    let store = Store::open(url).await.expect("second store");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let server = Application::on_listener(&app.settings, store, listener)
        .await
        .expect("second app");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.run_until_stopped(async {
        let _ = stopped.await;
    }));
    (address, stop)
}

/// `GET /api/v1/me` on `address` with a bearer token or a session cookie.
async fn me(app: &TestApp, address: &str, token: Option<&str>, cookie: Option<&str>) -> u16 {
    let mut request = app.client.get(format!("{address}/api/v1/me"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.expect("me").status().as_u16()
}

/// Asks until `status` comes back, for at most `AT_ONCE`; how long it took.
async fn until_status(
    app: &TestApp,
    address: &str,
    token: Option<&str>,
    cookie: Option<&str>,
    status: u16,
) -> Duration {
    let start = Instant::now();
    loop {
        if me(app, address, token, cookie).await == status {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < AT_ONCE,
            "{address} still did not answer {status} after {AT_ONCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The id of the user with `email`, as the admin list shows it.
pub(crate) async fn user_id(app: &TestApp, email: &str) -> i64 {
    let response = app
        .request(Persona::Admin, Method::GET, "/api/v1/admin/users")
        .query(&[("q", email)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    page["items"]
        .as_array()
        .and_then(|items| items.iter().find(|u| u["email"] == email))
        .and_then(|u| u["id"].as_i64())
        .unwrap_or_else(|| panic!("{email} in {page}"))
}

async fn post_as(app: &TestApp, persona: Persona, path: &str) -> reqwest::Response {
    app.request(persona, Method::POST, path)
        .send()
        .await
        .unwrap()
}

async fn deactivation_ends_sessions_and_tokens_here_and_in_another_process(db: Db) {
    let app = spawn_app(db).await;
    let (elsewhere, _stop) = second_process(&app).await;
    let token = app.token(Persona::EngineerB).expect("token").to_owned();
    let cookie = app
        .session_cookie(Persona::EngineerB)
        .await
        .expect("cookie");
    // Both processes have verified the token (and cached it) and the session.
    for address in [&app.address, &elsewhere] {
        assert_eq!(me(&app, address, Some(&token), None).await, 200);
        assert_eq!(me(&app, address, None, Some(&cookie)).await, 200);
    }
    let sam = user_id(&app, "sam@example.com").await;

    let response = post_as(
        &app,
        Persona::Admin,
        &format!("/api/v1/admin/users/{sam}/deactivate"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(outcome["user_id"], sam);
    assert_eq!(outcome["sessions_ended"], 1);
    assert_eq!(outcome["tokens_revoked"], 1);

    // Here: at once.
    assert_eq!(me(&app, &app.address, Some(&token), None).await, 401);
    assert_eq!(me(&app, &app.address, None, Some(&cookie)).await, 401);
    // In the other process: as soon as the commit reaches its change watcher, well
    // before its cached verification of the token would have run out.
    until_status(&app, &elsewhere, Some(&token), None, 401).await;
    assert_eq!(me(&app, &elsewhere, None, Some(&cookie)).await, 401);

    assert_eq!(
        app.count_where("audit_events", "action = 'user.deactivate'")
            .await,
        1
    );
    assert_eq!(
        app.count_where("users", "deactivated_at IS NOT NULL").await,
        1
    );
    let detail: Value = app
        .get_as(Persona::Admin, &format!("/api/v1/admin/users/{sam}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(detail["user"]["deactivated_at"].is_string(), "{detail}");
    assert_eq!(detail["sessions"], serde_json::json!([]));
    assert!(detail["tokens"][0]["revoked_at"].is_string(), "{detail}");

    // Twice is a conflict, not a second event.
    let again = post_as(
        &app,
        Persona::Admin,
        &format!("/api/v1/admin/users/{sam}/deactivate"),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
}

async fn non_admins_get_403_and_nothing_changes(db: Db) {
    let app = spawn_app(db).await;
    let sam = user_id(&app, "sam@example.com").await;
    let token_id = app.token_id(Persona::EngineerB).expect("token id");
    for persona in [Persona::EngineerA, Persona::LeadA] {
        let list = app.get_as(persona, "/api/v1/admin/users").await;
        assert_eq!(list.status(), StatusCode::FORBIDDEN);
        let detail = app
            .get_as(persona, &format!("/api/v1/admin/users/{sam}"))
            .await;
        assert_eq!(detail.status(), StatusCode::FORBIDDEN);
        let deactivate = post_as(
            &app,
            persona,
            &format!("/api/v1/admin/users/{sam}/deactivate"),
        )
        .await;
        assert_eq!(deactivate.status(), StatusCode::FORBIDDEN);
        let revoke = post_as(
            &app,
            persona,
            &format!("/api/v1/admin/tokens/{token_id}/revoke"),
        )
        .await;
        assert_eq!(revoke.status(), StatusCode::FORBIDDEN);
    }
    // An admin's token without the `review` scope reads, but changes nothing.
    let read_only = {
        let store = &app.store;
        let user = store
            .ensure_user("ada@example.com", None)
            .await
            .expect("admin");
        let auth =
            server::auth::Auth::new(&app.settings, &app.address, store.clone()).expect("auth");
        auth.issue_token(
            &user,
            "read-only",
            Duration::from_secs(3600),
            domain::Scopes::READ,
        )
        .await
        .expect("token")
        .1
    };
    let listed = app
        .client
        .get(format!("{}/api/v1/admin/users", app.address))
        .bearer_auth(&read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let refused = app
        .client
        .post(format!(
            "{}/api/v1/admin/users/{sam}/deactivate",
            app.address
        ))
        .bearer_auth(&read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("review"),
        "{body}"
    );

    let token = app.token(Persona::EngineerB).expect("token");
    assert_eq!(me(&app, &app.address, Some(token), None).await, 200);
    assert_eq!(
        app.count_where("users", "deactivated_at IS NOT NULL").await,
        0
    );
    assert_eq!(
        app.count_where("api_tokens", "revoked_at IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        app.count_where(
            "audit_events",
            "action IN ('user.deactivate', 'token.revoke')"
        )
        .await,
        0
    );
    // Nobody deactivates themselves, admins included.
    let ada = user_id(&app, "ada@example.com").await;
    let own = post_as(
        &app,
        Persona::Admin,
        &format!("/api/v1/admin/users/{ada}/deactivate"),
    )
    .await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
}

/// Dev sign-in as `email` from the portal's own pages.
async fn dev_sign_in(app: &TestApp, email: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/auth/dev", app.address))
        .header("origin", &app.address)
        .form(&[("email", email), ("return_to", "/services")])
        .send()
        .await
        .unwrap()
}

async fn a_deactivated_user_cannot_sign_in_or_get_a_token(db: Db) {
    let app = spawn_app(db).await;
    let email = "search-engineer@example.com";
    assert_eq!(
        dev_sign_in(&app, email).await.status(),
        StatusCode::SEE_OTHER
    );
    let id = user_id(&app, email).await;
    let response = post_as(
        &app,
        Persona::Admin,
        &format!("/api/v1/admin/users/{id}/deactivate"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);

    let sessions = app.count_rows("sessions").await;
    let refused = dev_sign_in(&app, email).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused.headers().get_all("set-cookie").iter().all(|c| !c
            .to_str()
            .unwrap_or_default()
            .starts_with("stargate_session=")),
        "no session cookie"
    );
    let page = refused.text().await.unwrap();
    assert!(page.contains("has been deactivated"), "{page}");
    assert_eq!(app.count_rows("sessions").await, sessions, "no session");
    assert_eq!(
        app.count_where("audit_events", "action = 'user.sign_in_refused'")
            .await,
        1
    );
    // `stargate token create --user` goes through the same refusal.
    let refused = app.store.ensure_user(email, None).await;
    assert!(
        matches!(refused, Err(server::store::StoreError::Deactivated(_))),
        "{refused:?}"
    );

    // Reactivated, they may sign in again.
    let response = post_as(
        &app,
        Persona::Admin,
        &format!("/api/v1/admin/users/{id}/reactivate"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        dev_sign_in(&app, email).await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn an_admin_revokes_someone_elses_token_everywhere(db: Db) {
    let app = spawn_app(db).await;
    let (elsewhere, _stop) = second_process(&app).await;
    let token = app.token(Persona::EngineerA).expect("token").to_owned();
    let token_id = app.token_id(Persona::EngineerA).expect("token id");
    assert_eq!(me(&app, &elsewhere, Some(&token), None).await, 200);

    let path = format!("/api/v1/admin/tokens/{token_id}/revoke");
    let response = post_as(&app, Persona::Admin, &path).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &app.address, Some(&token), None).await, 401);
    until_status(&app, &elsewhere, Some(&token), None, 401).await;
    // Only that token: its owner's other credentials still work.
    let cookie = app
        .session_cookie(Persona::EngineerA)
        .await
        .expect("cookie");
    assert_eq!(me(&app, &app.address, None, Some(&cookie)).await, 200);

    let audit: Value = app
        .get_as(Persona::Admin, "/api/v1/audit?actor=ada@example.com")
        .await
        .json()
        .await
        .unwrap();
    let event = &audit["items"][0];
    assert_eq!(event["action"], "token.revoke");
    assert_eq!(event["subject"], format!("token/{token_id}"));
    assert_eq!(event["detail"]["owner"], "pat@example.com");
    // Revoked already: nothing live to revoke.
    assert_eq!(
        post_as(&app, Persona::Admin, &path).await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn admins_list_users_with_counts_and_never_see_session_secrets(db: Db) {
    let app = spawn_app(db).await;
    let _cookie = app
        .session_cookie(Persona::EngineerB)
        .await
        .expect("cookie");
    let page: Value = app
        .get_as(Persona::Admin, "/api/v1/admin/users?q=SAM@")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1, "{page}");
    let sam = &page["items"][0];
    assert_eq!(sam["email"], "sam@example.com");
    assert_eq!(sam["active_sessions"], 1);
    assert_eq!(sam["live_tokens"], 1);
    assert!(sam["deactivated_at"].is_null());
    let all: Value = app
        .get_as(Persona::Admin, "/api/v1/admin/users?per_page=2&page=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 4, "the personas: {all}");
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2));
    let id = sam["id"].as_i64().expect("id");
    let detail = app
        .get_as(Persona::Admin, &format!("/api/v1/admin/users/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!detail.contains("hash"), "{detail}");
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["sessions"].as_array().map(Vec::len), Some(1));
    assert_eq!(detail["tokens"][0]["name"], "tests");
    let bad = app
        .get_as(Persona::Admin, "/api/v1/admin/users?page=0")
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let missing = app
        .get_as(Persona::Admin, "/api/v1/admin/users/999999")
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn a_deactivated_users_oidc_sign_in_is_refused(db: Db) {
    let (app, _provider) = spawn_oidc_app(db, None).await;
    let start = format!("{}/login?return_to=/services", app.address);
    let first = browser();
    let callback = sign_in_at_provider(&first, &start, "payments-lead", &app.address).await;
    let response = first.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = user_id(&app, "payments-lead@example.com").await;
    let deactivated = post_as(
        &app,
        Persona::Admin,
        &format!("/api/v1/admin/users/{id}/deactivate"),
    )
    .await;
    assert_eq!(deactivated.status(), StatusCode::OK);
    // The browser that signed in is signed out already.
    let me = first
        .get(format!("{}/api/v1/me", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    let sessions = app.count_rows("sessions").await;
    let again = browser();
    let callback = sign_in_at_provider(&again, &start, "payments-lead", &app.address).await;
    let refused = again.get(&callback).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = refused.text().await.unwrap();
    assert!(page.contains("has been deactivated by an admin"), "{page}");
    assert_eq!(app.count_rows("sessions").await, sessions, "no session");
}

on_both_databases!(
    a_deactivated_users_oidc_sign_in_is_refused,
    deactivation_ends_sessions_and_tokens_here_and_in_another_process,
    non_admins_get_403_and_nothing_changes,
    a_deactivated_user_cannot_sign_in_or_get_a_token,
    an_admin_revokes_someone_elses_token_everywhere,
    admins_list_users_with_counts_and_never_see_session_secrets,
);
