//! Sign-in, sessions and tokens, end to end over HTTP; OIDC against a real provider.

use reqwest::{Method, StatusCode};
use server::store::AuthTable;
use sqlx::Connection;

use crate::{
    helpers::{Db, Options, Persona, TestApp, spawn_app, spawn_with},
    oidc_provider::{browser, sign_in_at_provider, spawn_oidc_app, spawn_oidc_app_with},
    on_both_databases,
};

async fn count(app: &TestApp, table: AuthTable) -> i64 {
    app.store.count_rows(table).await.unwrap()
}

pub(crate) fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| {
            let value = c
                .strip_prefix("stargate_session=")
                .or_else(|| c.strip_prefix("__Host-stargate_session="));
            value.is_some_and(|v| !v.starts_with(';'))
        })
        .map(str::to_owned)
}

/// Posts the development sign-in form from `origin`, as a browser on that site would.
async fn post_dev_sign_in(app: &TestApp, origin: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}/auth/dev", app.address))
        .header("origin", origin)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Dev sign-in from our own pages, asking to return to the search team's services.
async fn dev_sign_in(app: &TestApp, email: &str) -> reqwest::Response {
    post_dev_sign_in(
        app,
        &app.address,
        &[("email", email), ("return_to", "/services?team=search")],
    )
    .await
}

async fn oidc_sign_in_lands_where_asked_with_roles(db: Db) {
    let (app, _provider) = spawn_oidc_app(db, None).await;
    let browser = browser();
    let start = format!("{}/login?return_to=/services/payments/ledger", app.address);
    let callback = sign_in_at_provider(&browser, &start, "payments-lead", &app.address).await;
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        response.text().await
    );
    assert_eq!(response.headers()["location"], "/services/payments/ledger");
    let cookie = session_cookie(&response).expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "http public URL: no Secure flag"
    );

    let me: serde_json::Value = browser
        .get(format!("{}/api/v1/me", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "payments-lead@example.com");
    assert_eq!(me["name"], "Lee Lead");
    assert_eq!(
        me["teams"],
        serde_json::json!([{ "team": "payments", "role": "lead" }])
    );
    assert_eq!(me["admin"], false);
    let page = browser
        .get(format!("{}/services/payments/ledger", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);

    // Replaying the callback (same code and state) is refused and signs nobody in.
    let sessions = count(&app, AuthTable::Sessions).await;
    let replay = browser.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(&app, AuthTable::Sessions).await, sessions);
}

async fn dev_sign_in_then_sign_out(db: Db) {
    let app = spawn_app(db).await;
    let response = dev_sign_in(&app, "search-lead@example.com").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/services?team=search");
    let cookie = session_cookie(&response).unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let me = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(
        me["teams"],
        serde_json::json!([{ "team": "search", "role": "lead" }])
    );

    let sessions = count(&app, AuthTable::Sessions).await;
    let out = app
        .client
        .post(format!("{}/logout", app.address))
        .header("cookie", &cookie)
        .header("origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(&app, AuthTable::Sessions).await, sessions - 1);
    let after = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        StatusCode::UNAUTHORIZED,
        "the old cookie no longer works"
    );
}

/// The status of `GET /api/v1/me` with `token`.
async fn me_with_token(app: &TestApp, token: &str) -> reqwest::StatusCode {
    app.client
        .get(format!("{}/api/v1/me", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// The status of `GET /api/v1/me` with a `Cookie` header.
async fn me_with_cookie(app: &TestApp, cookie: &str) -> reqwest::StatusCode {
    app.client
        .get(format!("{}/api/v1/me", app.address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

/// A browser session cookie for a demo user, and the origin header its page would send.
async fn session_of(app: &TestApp, email: &str) -> String {
    let response = dev_sign_in(app, email).await;
    session_cookie(&response)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn rpc(app: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .header("cookie", cookie)
        .header("origin", &app.address)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// A 30-day token named "ci", made on the tokens page of the session `cookie`.
async fn create_token(app: &TestApp, cookie: &str) -> serde_json::Value {
    let created = rpc(
        app,
        cookie,
        "/rpc/tokens/create",
        &[("name", "ci"), ("expires_in_days", "30")],
    )
    .await;
    assert_eq!(created.status(), 200);
    created.json().await.unwrap()
}

async fn revoked_and_expired_tokens_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let owner = session_of(&app, "payments-engineer@example.com").await;
    let new = create_token(&app, &owner).await;
    let token = new["token"].as_str().unwrap().to_owned();
    let id = new["id"].as_i64().unwrap().to_string();
    let me = format!("{}/api/v1/me", app.address);
    let as_token = app
        .client
        .get(&me)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = as_token.json().await.unwrap();
    assert_eq!(body["email"], "payments-engineer@example.com");

    // Someone else cannot revoke it (it is not theirs to find).
    let other = session_of(&app, "search-engineer@example.com").await;
    let refused = rpc(&app, &other, "/rpc/tokens/revoke", &[("id", &id)]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(me_with_token(&app, &token).await, 200);

    // Its owner can, and then it no longer works.
    let revoked = rpc(&app, &owner, "/rpc/tokens/revoke", &[("id", &id)]).await;
    assert_eq!(revoked.status(), 200);
    let refused = app
        .client
        .get(&me)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
}

/// The session's tokens as its tokens page reads them.
async fn listed_tokens(app: &TestApp, cookie: &str) -> Vec<serde_json::Value> {
    let response = app
        .client
        .post(format!("{}/rpc/tokens", app.address))
        .header("cookie", cookie)
        .header("origin", &app.address)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn a_used_token_shows_when_it_was_last_used(db: Db) {
    let app = spawn_app(db).await;
    let owner = session_of(&app, "payments-engineer@example.com").await;
    let new = create_token(&app, &owner).await;
    let token = new["token"].as_str().unwrap().to_owned();
    let listed = listed_tokens(&app, &owner).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], new["id"]);
    assert!(listed[0]["last_used_at"].is_null(), "never used yet");

    let before = server::store::now();
    assert_eq!(me_with_token(&app, &token).await, 200);
    let listed = listed_tokens(&app, &owner).await;
    let last_used = listed[0]["last_used_at"]
        .as_str()
        .expect("last_used_at set by the call");
    assert!(
        before.as_str() <= last_used && last_used <= server::store::now().as_str(),
        "{last_used} is not the time of the call (from {before})"
    );
}

async fn the_tokens_page_makes_only_expiring_tokens_with_the_scopes_ticked(db: Db) {
    let app = spawn_app(db).await;
    let owner = session_of(&app, "payments-engineer@example.com").await;
    for days in ["never", "0", "366"] {
        let refused = rpc(
            &app,
            &owner,
            "/rpc/tokens/create",
            &[("name", "forever"), ("expires_in_days", days)],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{days}");
        let body = refused.text().await.unwrap();
        assert!(body.contains("expires_in_days"), "{days}: {body}");
    }
    assert!(listed_tokens(&app, &owner).await.is_empty(), "none made");

    let created = rpc(
        &app,
        &owner,
        "/rpc/tokens/create",
        &[
            ("name", "deploys"),
            ("expires_in_days", ""),
            ("scope_request", "on"),
        ],
    )
    .await;
    assert_eq!(created.status(), 200);
    let listed = listed_tokens(&app, &owner).await;
    assert_eq!(
        listed[0]["scopes"],
        serde_json::json!({ "request": true, "review": false })
    );
    let expires_at = listed[0]["expires_at"].as_str().expect("an expiry");
    let in_90_days = server::store::now_plus(time::Duration::days(90));
    assert!(expires_at <= in_90_days.as_str(), "{expires_at}");
    assert!(
        server::store::now_plus(time::Duration::days(89)).as_str() < expires_at,
        "{expires_at}"
    );
}

on_both_databases!(
    a_used_token_shows_when_it_was_last_used,
    the_tokens_page_makes_only_expiring_tokens_with_the_scopes_ticked
);

async fn a_token_cannot_manage_tokens(db: Db) {
    let app = spawn_app(db).await;
    // A leaked token must not mint a never-expiring successor.
    let created = app
        .request(Persona::EngineerA, Method::POST, "/rpc/tokens/create")
        .form(&[("name", "forever"), ("expires_in_days", "never")])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::FORBIDDEN);
    let listed = app
        .request(Persona::EngineerA, Method::POST, "/rpc/tokens")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::FORBIDDEN);
    // Bad input from a session is a 400 naming the field, and creates nothing.
    let owner = session_of(&app, "payments-engineer@example.com").await;
    let bad = rpc(
        &app,
        &owner,
        "/rpc/tokens/create",
        &[("name", ""), ("expires_in_days", "0")],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let body = bad.text().await.unwrap();
    assert!(
        body.contains("expires_in_days") && body.contains("\"name\""),
        "{body}"
    );
}

on_both_databases!(
    oidc_sign_in_lands_where_asked_with_roles,
    dev_sign_in_then_sign_out,
    revoked_and_expired_tokens_are_refused,
    a_token_cannot_manage_tokens,
);

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = spawn_app(Db::Sqlite).await;
    let user = app
        .store
        .ensure_user("temp@example.com", Some(&["payments".into()]))
        .await
        .unwrap();
    let auth = server::auth::Auth::new(&app.settings, &app.address, app.store.clone()).unwrap();
    let (_, token) = auth
        .issue_token(
            &user,
            "brief",
            std::time::Duration::from_secs(1),
            domain::Scopes::ALL,
        )
        .await
        .unwrap();
    assert_eq!(me_with_token(&app, &token).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(me_with_token(&app, &token).await, 401);
}

#[tokio::test]
async fn anonymous_pages_redirect_to_sign_in_and_the_api_says_401() {
    let app = spawn_app(Db::Sqlite).await;
    let page = app.get_as(Persona::Anonymous, "/services?q=led ger").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    // The path as sent (`led%20ger`), encoded once more as a query value.
    assert_eq!(
        page.headers()["location"],
        "/login?return_to=/services%3Fq%3Dled%2520ger"
    );
    for path in ["/api/v1/services", "/api/v1/me"] {
        let response = app.get_as(Persona::Anonymous, path).await;
        assert_eq!(response.status(), 401, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");
    }
    let rpc = app
        .client
        .post(format!("{}/rpc/services", app.address))
        .header("origin", &app.address)
        .json(&serde_json::json!({ "query": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(rpc.status(), 401);
}

#[tokio::test]
async fn dev_sign_in_page_lists_demo_users_and_keeps_only_local_return_targets() {
    let app = spawn_app(Db::Sqlite).await;
    let page = app
        .get_as(Persona::Anonymous, "/login?return_to=https://evil.example/")
        .await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = page.text().await.unwrap();
    for email in [
        "payments-engineer@example.com",
        "payments-lead@example.com",
        "search-engineer@example.com",
        "admin@example.com",
    ] {
        assert!(html.contains(email), "{email}");
    }
    assert!(html.contains("Development sign-in"));
    assert!(
        !html.contains("evil.example"),
        "foreign return target dropped"
    );
    assert!(html.contains(r#"name="return_to" value="/services""#));

    for target in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
    ] {
        let response = post_dev_sign_in(
            &app,
            &app.address,
            &[("email", "admin@example.com"), ("return_to", target)],
        )
        .await;
        assert_eq!(response.headers()["location"], "/services", "{target}");
    }
}

#[tokio::test]
async fn every_page_shows_the_dev_banner_in_dev_mode_error_pages_included() {
    const BANNER: &str = "Development sign-in: anyone who can reach this address";
    let app = spawn_app(Db::Sqlite).await;
    let failed_callback = app
        .client
        .get(format!("{}/auth/callback?code=x&state=y", app.address))
        .send()
        .await
        .unwrap();
    let unknown_user = post_dev_sign_in(&app, &app.address, &[("email", "root@example.com")]).await;
    for response in [failed_callback, unknown_user] {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Sign-in failed") && html.contains(BANNER),
            "{html}"
        );
    }
    // Not found, for a signed-out visitor and a signed-in one alike.
    for persona in [Persona::Anonymous, Persona::EngineerA] {
        let response = app
            .request(persona, Method::GET, "/no-such-page")
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{persona:?}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Page not found"), "{persona:?}: {html}");
        assert!(html.contains(BANNER), "{persona:?}: {html}");
    }
    let (status, html) = app.get_page("/services").await;
    assert_eq!(status, 200);
    assert!(html.contains(BANNER));
}

#[tokio::test]
async fn cross_site_and_unknown_dev_sign_ins_create_nothing() {
    let app = spawn_app(Db::Sqlite).await;
    let users = count(&app, AuthTable::Users).await;
    let cross = post_dev_sign_in(
        &app,
        "https://evil.example",
        &[("email", "admin@example.com")],
    )
    .await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let unknown = post_dev_sign_in(&app, &app.address, &[("email", "root@example.com")]).await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(&app, AuthTable::Users).await, users);
    assert_eq!(count(&app, AuthTable::Sessions).await, 0);
}

#[tokio::test]
async fn tampered_and_idle_sessions_count_as_signed_out() {
    let app = spawn_app(Db::Sqlite).await;
    let cookie = session_of(&app, "payments-engineer@example.com").await;
    assert_eq!(me_with_cookie(&app, &cookie).await, 200);
    let tampered = format!("{cookie}x");
    assert_eq!(me_with_cookie(&app, &tampered).await, 401);
    assert_eq!(me_with_cookie(&app, "stargate_session=forged").await, 401);
    // Time passes: last use longer ago than the idle limit (60 minutes here).
    let mut db = sqlx::AnyConnection::connect(app.settings.database_url.as_deref().unwrap())
        .await
        .unwrap();
    sqlx::query("UPDATE sessions SET last_seen_at = '2000-01-01T00:00:00Z'")
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(me_with_cookie(&app, &cookie).await, 401);
}

async fn a_session_past_its_absolute_end_counts_as_signed_out(db: Db) {
    let app = spawn_app(db).await;
    let cookie = session_of(&app, "payments-engineer@example.com").await;
    assert_eq!(me_with_cookie(&app, &cookie).await, 200);
    // Used a moment ago, so not idle, but past the end every session has however busy.
    let mut conn = sqlx::AnyConnection::connect(app.settings.database_url.as_deref().unwrap())
        .await
        .unwrap();
    let changed = sqlx::query("UPDATE sessions SET expires_at = '2000-01-01T00:00:00Z'")
        .execute(&mut conn)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 1);
    let _ = conn.close().await;
    assert_eq!(me_with_cookie(&app, &cookie).await, 401);
    let page = app
        .client
        .get(format!("{}/services", app.address))
        .header("cookie", &cookie)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/login?return_to=/services");
}

on_both_databases!(a_session_past_its_absolute_end_counts_as_signed_out);

#[tokio::test]
async fn an_https_public_url_makes_cookies_secure_and_sends_hsts() {
    // Behind a TLS proxy on this machine (the development sign-in needs a loopback URL).
    let public = "https://localhost";
    let app = spawn_with(
        Db::Sqlite,
        Options {
            public_url: Some(public.to_owned()),
            ..Options::default()
        },
        None,
    )
    .await;
    // The page's origin is now the public URL: the listening address is another site.
    let cross = post_dev_sign_in(&app, &app.address, &[("email", "admin@example.com")]).await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let response = post_dev_sign_in(&app, public, &[("email", "admin@example.com")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&response).expect("session cookie");
    assert!(
        cookie.split(';').any(|attr| attr.trim() == "Secure"),
        "{cookie}"
    );
    // A tenant app on a sibling host cannot plant or overwrite a `__Host-` cookie.
    assert!(cookie.starts_with("__Host-stargate_session="), "{cookie}");
    assert!(
        cookie.contains("Path=/") && !cookie.contains("Domain"),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    for response in [
        response,
        app.get_as(Persona::Anonymous, "/healthz").await,
        app.get_html("/services").await,
    ] {
        let hsts = response
            .headers()
            .get("strict-transport-security")
            .unwrap_or_else(|| panic!("no HSTS on {}", response.url()));
        assert!(hsts.to_str().unwrap().starts_with("max-age="), "{hsts:?}");
    }
}

#[tokio::test]
async fn repeated_failed_callbacks_are_rate_limited() {
    let app = spawn_app(Db::Sqlite).await;
    let before = users_and_sessions(&app).await;
    let callback = format!("{}/auth/callback?code=x&state=y", app.address);
    // Ten failures a minute per address are allowed (server/src/auth/mod.rs).
    for attempt in 1..=10 {
        let response = app.client.get(&callback).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "attempt {attempt}"
        );
    }
    let blocked = app.client.get(&callback).send().await.unwrap();
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        blocked
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-in attempts")
    );
    assert_eq!(users_and_sessions(&app).await, before, "nothing created");
}

#[tokio::test]
async fn repeated_bad_tokens_are_rate_limited() {
    let app = spawn_app(Db::Sqlite).await;
    let me = format!("{}/api/v1/me", app.address);
    for _ in 0..10 {
        let r = app
            .client
            .get(&me)
            .bearer_auth("sgp_guess")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let blocked = app
        .client
        .get(&me)
        .bearer_auth("sgp_guess")
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    // Valid tokens from that address keep working: guessing cannot lock others out.
    let valid = app
        .client
        .get(&me)
        .bearer_auth(app.token(Persona::Admin).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(valid.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_or_missing_state_is_refused_with_nothing_created() {
    let (app, _provider) = spawn_oidc_app(Db::Sqlite, None).await;
    let browser = browser();
    let start = format!("{}/login", app.address);
    let callback = sign_in_at_provider(&browser, &start, "payments-engineer", &app.address).await;
    let users = count(&app, AuthTable::Users).await;
    let wrong = callback.replace("state=", "state=x");
    let missing: String = callback
        .split('&')
        .filter(|p| !p.starts_with("state="))
        .collect::<Vec<_>>()
        .join("&");
    for url in [wrong, missing] {
        let response = browser.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{url}");
        assert!(session_cookie(&response).is_none());
    }
    // A callback in another browser (without the sign-in cookie) is refused too.
    let other = crate::oidc_provider::browser()
        .get(&callback)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(&app, AuthTable::Users).await, users);
    assert_eq!(count(&app, AuthTable::Sessions).await, 0);
}

/// Users and sessions rows, read straight from the database: what a refused sign-in must
/// leave as it found them.
pub(crate) async fn users_and_sessions(app: &TestApp) -> (i64, i64) {
    (
        app.count_rows("users").await,
        app.count_rows("sessions").await,
    )
}

/// The value of `name` in `url`'s query.
fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    url.split_once('?')?
        .1
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// Signs in through the provider as `login` and expects the callback, reached with the
/// right state and sign-in cookie, to be refused with 401 and a message containing each of
/// `reasons`, creating no user and no session.
async fn callback_is_refused(app: &TestApp, login: &str, reasons: &[&str]) {
    let before = users_and_sessions(app).await;
    let browser = browser();
    let start = format!("{}/login", app.address);
    let callback = sign_in_at_provider(&browser, &start, login, &app.address).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(&response).is_none());
    let body = response.text().await.unwrap();
    for reason in reasons {
        assert!(body.contains(reason), "{reason:?} not in {body}");
    }
    assert!(
        !body.contains("Development sign-in"),
        "no banner outside dev mode"
    );
    assert_eq!(users_and_sessions(app).await, before, "nothing created");
}

async fn an_id_token_with_another_nonce_is_refused(db: Db) {
    let (app, _provider) = spawn_oidc_app(db, None).await;
    let before = users_and_sessions(&app).await;
    let browser = browser();
    let login = browser
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let authorize = login.headers()["location"].to_str().unwrap().to_owned();
    let nonce = query_param(&authorize, "nonce").expect("a nonce in the authorize URL");
    // Someone swaps the nonce on the way to the provider; state, cookie and PKCE stay
    // those of this sign-in, so only the ID token's nonce is wrong.
    let forged = authorize.replace(&format!("nonce={nonce}"), "nonce=another-sign-ins-nonce");
    let callback = sign_in_at_provider(&browser, &forged, "payments-engineer", &app.address).await;
    assert_eq!(
        query_param(&callback, "state"),
        query_param(&authorize, "state")
    );
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(&response).is_none());
    let body = response.text().await.unwrap();
    assert!(
        body.contains("ID token is not valid") && body.contains("nonce"),
        "{body}"
    );
    assert_eq!(users_and_sessions(&app).await, before, "nothing created");
}

/// The control for the two tests below: the provider's re-signing alone does not make
/// Stargate refuse, so their refusals come from the claim they change.
async fn a_re_signed_id_token_with_harmless_changes_is_accepted(db: Db) {
    let (app, _provider) = spawn_oidc_app_with(
        db,
        None,
        &[("ID_TOKEN_OVERRIDES", r#"{"name":"Pat Re-signed"}"#)],
    )
    .await;
    let browser = browser();
    let start = format!("{}/login", app.address);
    let callback = sign_in_at_provider(&browser, &start, "payments-engineer", &app.address).await;
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let me: serde_json::Value = browser
        .get(format!("{}/api/v1/me", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "Pat Re-signed");
}

async fn an_id_token_for_another_audience_is_refused(db: Db) {
    let (app, _provider) = spawn_oidc_app_with(
        db,
        None,
        &[("ID_TOKEN_OVERRIDES", r#"{"aud":"other-app"}"#)],
    )
    .await;
    callback_is_refused(
        &app,
        "payments-engineer",
        &["ID token is not valid", "audiences", "other-app"],
    )
    .await;
}

async fn an_id_token_from_another_issuer_is_refused(db: Db) {
    let (app, _provider) = spawn_oidc_app_with(
        db,
        None,
        &[(
            "ID_TOKEN_OVERRIDES",
            r#"{"iss":"https://another-issuer.example"}"#,
        )],
    )
    .await;
    callback_is_refused(
        &app,
        "payments-engineer",
        &["ID token is not valid", "issuer", "another-issuer.example"],
    )
    .await;
}

async fn an_unverified_email_address_is_refused(db: Db) {
    let (app, _provider) = spawn_oidc_app(db, None).await;
    callback_is_refused(
        &app,
        "unverified",
        &["does not say the email address is verified"],
    )
    .await;
}

async fn a_replayed_callback_is_refused_by_the_single_use_state(db: Db) {
    let (app, _provider) = spawn_oidc_app(db, None).await;
    let browser = browser();
    let start = format!("{}/login", app.address);
    let callback = sign_in_at_provider(&browser, &start, "payments-engineer", &app.address).await;
    // The sign-in cookie carries the state; set by hand, it passes the browser check on
    // every call, so the replay reaches the one-time login flow.
    let state = query_param(&callback, "state").unwrap().to_owned();
    let with_cookie = || {
        app.client
            .get(&callback)
            .header("cookie", format!("stargate_login={state}"))
    };
    let first = with_cookie().send().await.unwrap();
    assert_eq!(
        first.status(),
        StatusCode::SEE_OTHER,
        "the cookie set by hand works"
    );
    assert!(session_cookie(&first).is_some());

    let before = users_and_sessions(&app).await;
    let replay = with_cookie().send().await.unwrap();
    // Refused before the code goes back to the provider: its own reuse check would answer
    // 401 (invalid_grant), the spent flow 400.
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(session_cookie(&replay).is_none());
    let body = replay.text().await.unwrap();
    assert!(body.contains("not valid or has expired"), "{body}");
    assert_eq!(users_and_sessions(&app).await, before, "no new session");
}

async fn a_foreign_return_target_lands_on_a_local_page_after_oidc_sign_in(db: Db) {
    let (app, _provider) = spawn_oidc_app(db, None).await;
    for target in [
        "https://evil.example",
        "//evil.example/x",
        "/\\evil.example",
        "https:/evil.example",
    ] {
        // A new browser each time: a signed-in one would skip the provider.
        let browser = browser();
        let start = reqwest::Url::parse_with_params(
            &format!("{}/login", app.address),
            &[("return_to", target)],
        )
        .unwrap();
        let callback =
            sign_in_at_provider(&browser, start.as_str(), "payments-engineer", &app.address).await;
        let response = browser.get(&callback).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{target}");
        assert_eq!(response.headers()["location"], "/services", "{target}");
        assert!(session_cookie(&response).is_some());
    }
}

on_both_databases!(
    an_id_token_with_another_nonce_is_refused,
    a_re_signed_id_token_with_harmless_changes_is_accepted,
    an_id_token_for_another_audience_is_refused,
    an_id_token_from_another_issuer_is_refused,
    an_unverified_email_address_is_refused,
    a_replayed_callback_is_refused_by_the_single_use_state,
    a_foreign_return_target_lands_on_a_local_page_after_oidc_sign_in,
);

#[tokio::test]
async fn a_code_issued_to_another_client_is_refused() {
    let (app, _provider) = spawn_oidc_app(Db::Sqlite, None).await;
    let browser = browser();
    // Stargate starts a sign-in; the browser completes it at the provider as "other-app",
    // so the code that comes back was issued to another client.
    let login = browser
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    let authorize = login.headers()["location"]
        .to_str()
        .unwrap()
        .replace("client_id=stargate", "client_id=other-app");
    let foreign =
        sign_in_at_provider(&browser, &authorize, "payments-engineer", &app.address).await;
    assert!(foreign.contains("code="), "{foreign}");
    let response = browser.get(&foreign).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(&response).is_none());
    assert_eq!(count(&app, AuthTable::Sessions).await, 0);
    assert_eq!(
        count(&app, AuthTable::Users).await,
        4,
        "only the test personas"
    );
}

#[tokio::test]
async fn an_issuer_that_does_not_match_the_configured_one_is_refused() {
    let (app, _provider) = spawn_oidc_app(
        Db::Sqlite,
        Some(|issuer: &str| issuer.replace("127.0.0.1", "localhost")),
    )
    .await;
    let response = app.get_as(Persona::Anonymous, "/login").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.text().await.unwrap().contains("identity provider"));
    assert_eq!(count(&app, AuthTable::LoginFlows).await, 0);
}

#[tokio::test]
async fn dev_mode_refuses_to_listen_beyond_loopback() {
    let mut settings = server::config::Settings::default();
    settings.auth.mode = server::config::AuthMode::Dev;
    settings.listen = "0.0.0.0:0".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    settings.data_dir = dir.path().to_owned();
    let error = server::startup::Application::build(&settings, true)
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("loopback"), "{error}");
    assert!(
        !dir.path().join("stargate.db").exists(),
        "nothing was created"
    );
}

#[tokio::test]
async fn pages_carry_a_nonce_based_content_security_policy() {
    let app = spawn_app(Db::Sqlite).await;
    let response = app.get_html("/services").await;
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(
        html.contains(&format!(r#"nonce="{nonce}""#)),
        "the hydration script carries the nonce"
    );
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["referrer-policy"],
        "strict-origin-when-cross-origin"
    );
    assert!(
        !headers.contains_key("strict-transport-security"),
        "http: no HSTS"
    );
}
