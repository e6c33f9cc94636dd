//! `stargate token create`, run as an operator runs it against the database of a running
//! portal, and the token it prints used on the API.

use std::process::Output;

use server::store::now_plus;
use tokio::process::Command;

use crate::{
    helpers::{Db, TestApp, spawn_app, stargate_command},
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

    // Expiry one day from now, give or take the run's own duration.
    let (earliest, latest) = (
        now_plus(time::Duration::days(1) - time::Duration::minutes(5)),
        now_plus(time::Duration::days(1)),
    );
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(
        app.settings.database_url.as_deref().unwrap(),
    )
    .await
    .unwrap();
    let expires_at: Option<String> =
        sqlx::query_scalar("SELECT expires_at FROM api_tokens WHERE name = 'ci'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    let expires_at = expires_at.expect("an expiry");
    assert!(
        earliest <= expires_at && expires_at <= latest,
        "{expires_at} not within [{earliest}, {latest}]"
    );
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

on_both_databases!(
    token_create_prints_a_day_long_token_for_a_new_user,
    token_create_with_a_bad_expiry_fails_naming_the_flag,
);
