//! `stargate token create`, run as an operator runs it against the database of a running
//! portal, and the token it prints used on the API.

use std::process::Output;

use reqwest::Method;
use server::store::now_plus;
use tokio::process::Command;

use crate::{
    helpers::{Db, Persona, TestApp, spawn_app, stargate_command},
    on_both_databases,
};

/// `stargate` on the app's database, with nothing from the caller's environment.
async fn stargate(app: &TestApp, args: &[&str]) -> Output {
    Command::from(stargate_command())
        .env(
            "STARGATE_DATABASE_URL",
            app.settings.database_url.as_deref().expect("database URL"),
        )
        .arg("--config")
        .arg("/nonexistent/stargate.toml")
        .args(args)
        .output()
        .await
        .expect("run stargate")
}

async fn token_create_prints_a_day_long_token_for_a_new_user(db: Db) {
    let app = spawn_app(db).await;
    let users = app.count_rows("users").await;
    let output = stargate(
        &app,
        &[
            "token",
            "create",
            "--user",
            "x@example.com",
            "--groups",
            "payments",
            "--name",
            "ci",
            "--expires",
            "1d",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let tokens: Vec<&str> = stdout.lines().filter(|l| l.starts_with("sgp_")).collect();
    assert_eq!(tokens.len(), 1, "one token line in {stdout:?}");
    assert_eq!(
        stdout.lines().last(),
        Some(tokens[0]),
        "alone on the last line"
    );
    let token = tokens[0].trim();
    assert!(
        !stdout.contains(&format!("{token} ")),
        "nothing else on its line"
    );

    // The user did not exist: the command created it, with the groups given.
    assert_eq!(app.count_rows("users").await, users + 1);
    let me = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["email"], "x@example.com");
    assert_eq!(me["groups"], serde_json::json!(["payments"]));
    assert_eq!(
        me["teams"],
        serde_json::json!([{ "team": "payments", "role": "member" }])
    );

    assert_expires_in_days(&app, "ci", 1).await;
}

async fn token_create_with_a_bad_expiry_fails_naming_the_flag(db: Db) {
    let app = spawn_app(db).await;
    let (users, tokens) = (
        app.count_rows("users").await,
        app.count_rows("api_tokens").await,
    );
    for expires in ["soon", "-1d", "10y", "0s", "30s"] {
        // `--expires=-1d`: as a separate word, `-1d` would read as an unknown flag.
        let flag = format!("--expires={expires}");
        let output = stargate(&app, &["token", "create", "--user", "y@example.com", &flag]).await;
        assert!(!output.status.success(), "--expires {expires}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--expires"), "{expires}: {stderr}");
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains("sgp_"),
            "{expires}"
        );
    }
    assert_eq!(app.count_rows("users").await, users, "no user created");
    assert_eq!(
        app.count_rows("api_tokens").await,
        tokens,
        "no token created"
    );
}

/// The token named `name` expires `days` from now, give or take the run's own duration.
async fn assert_expires_in_days(app: &TestApp, name: &str, days: i64) {
    let (earliest, latest) = (
        now_plus(time::Duration::days(days) - time::Duration::minutes(5)),
        now_plus(time::Duration::days(days)),
    );
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(
        app.settings.database_url.as_deref().unwrap(),
    )
    .await
    .unwrap();
    let expires_at: Option<String> =
        sqlx::query_scalar("SELECT expires_at FROM api_tokens WHERE name = $1")
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    let expires_at = expires_at.expect("every token expires");
    assert!(
        earliest <= expires_at && expires_at <= latest,
        "{expires_at} not within [{earliest}, {latest}]"
    );
}

/// A new ledger image for the demo's payments team.
fn ledger_release(version: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "service", "team": "payments", "cluster": "demo", "reason": "new release",
        "spec": {"name": "ledger", "image": format!("ghcr.io/acme/ledger:{version}"), "port": 8080}
    })
}

/// Request `id` approved with `token`, bound to its current plan.
async fn approve_with(app: &TestApp, token: &str, id: i64) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/requests/{id}/approve", app.address))
        .bearer_auth(token)
        .json(&serde_json::json!({ "plan_hash": app.plan_hash(id).await }))
        .send()
        .await
        .unwrap()
}

/// A 403 whose message names the `scope` the token lacks.
async fn assert_refused_for_lack_of(response: reqwest::Response, scope: &str) {
    assert_eq!(response.status(), 403);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&format!("\"{scope}\" scope")),
        "{body}"
    );
}

/// The token `stargate token create` printed last.
fn printed_token(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .last()
        .expect("a token line")
        .trim()
        .to_string()
}

async fn a_token_without_flags_reads_for_ninety_days_and_changes_nothing(db: Db) {
    let app = spawn_app(db).await;
    let output = stargate(
        &app,
        &[
            "token",
            "create",
            "--user",
            "lee@example.com",
            "--groups",
            "payments,payments-leads",
            "--name",
            "plain",
        ],
    )
    .await;
    let token = printed_token(&output);
    assert!(String::from_utf8_lossy(&output.stderr).contains("read"));

    assert_expires_in_days(&app, "plain", 90).await;

    // Reading works; a lead's read-only token neither submits nor approves.
    let list = app
        .client
        .get(format!("{}/api/v1/requests", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let (requests, approvals) = (
        app.count_rows("requests").await,
        app.count_rows("approvals").await,
    );
    let submit = app
        .client
        .post(format!("{}/api/v1/requests", app.address))
        .bearer_auth(&token)
        .json(&ledger_release("9.0.0"))
        .send()
        .await
        .unwrap();
    assert_refused_for_lack_of(submit, "request").await;
    assert_eq!(app.count_rows("requests").await, requests, "nothing stored");

    let submitted = app
        .request(Persona::EngineerA, Method::POST, "/api/v1/requests")
        .json(&ledger_release("9.0.1"))
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 201);
    let id = submitted.json::<serde_json::Value>().await.unwrap()["request"]["id"]
        .as_i64()
        .unwrap();
    assert_refused_for_lack_of(approve_with(&app, &token, id).await, "review").await;
    assert_eq!(
        app.count_rows("approvals").await,
        approvals,
        "no approval recorded"
    );

    // The same lead with a review token may.
    let output = stargate(
        &app,
        &[
            "token",
            "create",
            "--user",
            "lee@example.com",
            "--scopes",
            "read,review",
        ],
    )
    .await;
    let reviewer = printed_token(&output);
    let approve = approve_with(&app, &reviewer, id).await;
    assert_eq!(approve.status(), 200);
}

async fn unknown_scopes_and_lifetimes_past_the_maximum_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let tokens = app.count_rows("api_tokens").await;
    for (flag, value) in [("--scopes", "read,admin"), ("--expires", "366d")] {
        let output = stargate(
            &app,
            &["token", "create", "--user", "z@example.com", flag, value],
        )
        .await;
        assert!(!output.status.success(), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
    }
    assert_eq!(
        app.count_rows("api_tokens").await,
        tokens,
        "no token created"
    );
}

async fn token_create_refuses_a_deactivated_user(db: Db) {
    let app = spawn_app(db).await;
    app.execute(
        "UPDATE users SET deactivated_at = '2026-01-01T00:00:00Z' WHERE email = 'sam@example.com'",
    )
    .await;
    let tokens = app.count_rows("api_tokens").await;
    let output = stargate(&app, &["token", "create", "--user", "sam@example.com"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("deactivated"), "{stderr}");
    assert!(output.stdout.is_empty(), "no token printed");
    assert_eq!(app.count_rows("api_tokens").await, tokens);
}

on_both_databases!(
    token_create_refuses_a_deactivated_user,
    token_create_prints_a_day_long_token_for_a_new_user,
    token_create_with_a_bad_expiry_fails_naming_the_flag,
    a_token_without_flags_reads_for_ninety_days_and_changes_nothing,
    unknown_scopes_and_lifetimes_past_the_maximum_are_refused,
);
