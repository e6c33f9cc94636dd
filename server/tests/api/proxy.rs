//! Behind a proxy: clients named by a trusted proxy's `X-Forwarded-For` are limited apart,
//! an untrusted peer cannot name one, refused sign-ins are limited per account, and the
//! sign-ins in flight that anyone can start are limited per client and bounded in all.

use reqwest::{Client, StatusCode, redirect::Policy};
use serde_json::Value;

use crate::{
    helpers::{Db, Options, Persona, TestApp, spawn_with},
    oidc_provider::{Provider, sign_in_at_provider, spawn_oidc_app_with_options},
    on_both_databases,
};

/// The test client reaches the app from 127.0.0.1: that is the proxy.
fn behind_loopback_proxy() -> Options {
    Options {
        configure: |settings| {
            settings.http.trusted_proxies =
                server::config::TrustedProxies::parse(&["127.0.0.1/32"]).unwrap();
        },
        ..Options::default()
    }
}

/// A browser whose every request the proxy forwards as coming from `client` (and the
/// client's own fake entries before it, which must not count).
fn browser_at(forwarded_for: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", forwarded_for.parse().unwrap());
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn oidc_app(db: Db, options: Options) -> (TestApp, Provider) {
    spawn_oidc_app_with_options(db, None, &[], options).await
}

/// Signs in through the provider as `login` from `browser`; the callback's status.
async fn sign_in(app: &TestApp, browser: &Client, login: &str) -> (StatusCode, String) {
    let start = format!("{}/login", app.address);
    let callback = sign_in_at_provider(browser, &start, login, &app.address).await;
    let response = browser.get(&callback).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Audit events with `action`, oldest first, as an admin reads them.
async fn audit_events(app: &TestApp, action: &str) -> Vec<Value> {
    let response = app
        .get_as(Persona::Admin, "/api/v1/audit?per_page=100")
        .await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    let mut events: Vec<Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect();
    events.reverse();
    events
}

async fn forwarded_clients_are_limited_apart(db: Db) {
    let (app, _provider) = oidc_app(db, behind_loopback_proxy()).await;
    let callback = format!("{}/auth/callback?code=x&state=y", app.address);
    // Client A, through the proxy, with a different made-up hop before its real address
    // each time: the hop the proxy appended is the one that counts.
    for attempt in 1..=10 {
        let a = browser_at(&format!("198.51.100.{attempt}, 203.0.113.10"));
        let response = a.get(&callback).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{attempt}");
    }
    let a = browser_at("198.51.100.99, 203.0.113.10");
    let blocked = a.get(&callback).send().await.unwrap();
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    let bad_token = a
        .get(format!("{}/api/v1/me", app.address))
        .bearer_auth("sgp_guess")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token.status(), StatusCode::TOO_MANY_REQUESTS);

    // Client B, through the same proxy, still signs in, and the audit names it.
    let b = browser_at("203.0.113.20");
    let (status, body) = sign_in(&app, &b, "payments-engineer").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let signed_in = audit_events(&app, "user.sign_in").await;
    let last = signed_in.last().expect("a sign-in event");
    assert_eq!(last["actor"], "payments-engineer@example.com");
    assert_eq!(last["detail"]["client"], "203.0.113.20");
}

async fn refused_sign_ins_are_limited_per_account(db: Db) {
    let (app, _provider) = oidc_app(db, behind_loopback_proxy()).await;
    // Five refusals for one account, each from another client: each is refused for what
    // it is and audited with its client.
    for i in 1..=5 {
        let browser = browser_at(&format!("203.0.113.{i}"));
        let (status, body) = sign_in(&app, &browser, "unverified").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{i}");
        assert!(
            body.contains("does not say the email address is verified"),
            "{body}"
        );
    }
    // The sixth, from yet another client, meets the account's limit.
    let sixth = browser_at("203.0.113.6");
    let (status, body) = sign_in(&app, &sixth, "unverified").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body.contains("refused sign-ins for this account"), "{body}");
    let refused = audit_events(&app, "user.sign_in_refused").await;
    let clients: Vec<&str> = refused
        .iter()
        .map(|e| e["detail"]["client"].as_str().unwrap())
        .collect();
    assert_eq!(
        clients,
        [
            "203.0.113.1",
            "203.0.113.2",
            "203.0.113.3",
            "203.0.113.4",
            "203.0.113.5"
        ]
    );
    assert!(
        refused
            .iter()
            .all(|e| e["actor"] == "unverified@example.com")
    );
    // Another account from that same client is not held up.
    let (status, body) = sign_in(&app, &browser_at("203.0.113.6"), "search-engineer").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
}

async fn sign_in_starts_are_limited_per_client_and_bounded(db: Db) {
    let options = Options {
        configure: |settings| {
            settings.http.trusted_proxies =
                server::config::TrustedProxies::parse(&["127.0.0.1/32"]).unwrap();
            settings.auth.max_login_flows = 40;
        },
        ..Options::default()
    };
    let (app, _provider) = oidc_app(db, options).await;
    let login = format!("{}/login", app.address);
    let a = browser_at("203.0.113.10");
    for attempt in 1..=30 {
        let response = a.get(&login).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{attempt}");
    }
    let limited = a.get(&login).send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited
            .text()
            .await
            .unwrap()
            .contains("Too many sign-ins started from your address")
    );
    assert_eq!(app.count_rows("login_flows").await, 30);

    // Client B starts until the table holds 40; the next start anywhere is refused.
    let b = browser_at("203.0.113.20");
    for _ in 0..10 {
        assert_eq!(b.get(&login).send().await.unwrap().status(), 303);
    }
    let full = browser_at("203.0.113.30").get(&login).send().await.unwrap();
    assert_eq!(full.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        full.text()
            .await
            .unwrap()
            .contains("Too many sign-ins are in progress")
    );
    assert_eq!(app.count_rows("login_flows").await, 40);

    // Once they expire, starts get through again, each clearing away at most 20 of them.
    app.execute("UPDATE login_flows SET expires_at = '2000-01-01T00:00:00Z'")
        .await;
    let c = browser_at("203.0.113.30");
    assert_eq!(c.get(&login).send().await.unwrap().status(), 303);
    assert_eq!(app.count_rows("login_flows").await, 40 - 20 + 1);
    assert_eq!(c.get(&login).send().await.unwrap().status(), 303);
    assert_eq!(app.count_rows("login_flows").await, 2);
}

/// Migration 0017: the cleanup and the count read an index, not the table.
async fn login_flows_are_indexed_by_expiry(db: Db) {
    let app = spawn_with(db, Options::default(), None).await;
    let catalog = match db {
        Db::Sqlite => "sqlite_master WHERE type = 'index' AND name = 'login_flows_expires_at'",
        Db::Postgres => "pg_indexes WHERE indexname = 'login_flows_expires_at'",
    };
    assert_eq!(app.count_rows(catalog).await, 1);
}

on_both_databases!(
    login_flows_are_indexed_by_expiry,
    forwarded_clients_are_limited_apart,
    refused_sign_ins_are_limited_per_account,
    sign_in_starts_are_limited_per_client_and_bounded,
);

#[tokio::test]
async fn an_untrusted_peers_forwarded_for_is_ignored() {
    // Proxies are configured, but the test client's address (127.0.0.1) is not one.
    let options = Options {
        configure: |settings| {
            settings.http.trusted_proxies =
                server::config::TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        },
        ..Options::default()
    };
    let app = spawn_with(Db::Sqlite, options, None).await;
    let callback = format!("{}/auth/callback?code=x&state=y", app.address);
    for attempt in 1..=10 {
        // A new made-up address each time escapes nothing.
        let response = browser_at(&format!("203.0.113.{attempt}"))
            .get(&callback)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{attempt}");
    }
    let spoofed = browser_at("203.0.113.99")
        .get(&callback)
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
}
