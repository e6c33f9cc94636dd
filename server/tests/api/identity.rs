//! Who a person is: the identity provider's (issuer, subject), an address vouched for, and
//! groups that are recent enough to act on. Against the real test provider.

use reqwest::StatusCode;
use server::store::now_plus;

use crate::{
    auth::{session_cookie, users_and_sessions},
    helpers::{Db, Options, TestApp},
    oidc_provider::{browser, sign_in_at_provider, spawn_oidc_app, spawn_oidc_app_with_options},
    on_both_databases,
};

/// Signs in through the provider as `login` with a fresh browser; the callback's answer.
async fn sign_in(app: &TestApp, login: &str) -> (reqwest::Client, reqwest::Response) {
    let browser = browser();
    let start = format!("{}/login", app.address);
    let callback = sign_in_at_provider(&browser, &start, login, &app.address).await;
    let response = browser.get(&callback).send().await.unwrap();
    (browser, response)
}

async fn me(browser: &reqwest::Client, app: &TestApp) -> serde_json::Value {
    let response = browser
        .get(format!("{}/api/v1/me", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn a_second_account_cannot_claim_an_address_in_another_case(db: Db) {
    let (app, _provider) = spawn_oidc_app(db, None).await;
    let (first, response) = sign_in(&app, "alice-1").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let alice = me(&first, &app).await;
    assert_eq!(alice["email"], "Alice@example.com");

    // Another subject whose provider says "alice@example.com" (a lead!) is refused.
    let before = users_and_sessions(&app).await;
    let (_, refused) = sign_in(&app, "alice-2").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(session_cookie(&refused).is_none());
    let body = refused.text().await.unwrap();
    assert!(
        body.contains("alice@example.com already belongs to another account"),
        "{body}"
    );
    assert_eq!(users_and_sessions(&app).await, before, "nothing created");

    // The first person is untouched and signs in again as themselves.
    let (again, response) = sign_in(&app, "alice-1").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let again = me(&again, &app).await;
    assert_eq!(again["email"], "Alice@example.com");
    assert_eq!(
        again["teams"],
        serde_json::json!([{ "team": "payments", "role": "member" }])
    );
    assert_eq!(app.count_rows("users").await, before.0, "the same user");
}

async fn an_address_the_provider_does_not_vouch_for_is_refused_unless_trusted(db: Db) {
    let (app, _provider) = spawn_oidc_app(db, None).await;
    let before = users_and_sessions(&app).await;
    let (_, refused) = sign_in(&app, "silent").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body = refused.text().await.unwrap();
    assert!(body.contains("trust_unverified_email"), "{body}");
    assert_eq!(users_and_sessions(&app).await, before, "nothing created");

    let (app, _provider) = spawn_oidc_app_with_options(
        db,
        None,
        &[],
        Options {
            configure: |settings| settings.auth.oidc.trust_unverified_email = true,
            ..Options::default()
        },
    )
    .await;
    let (browser, response) = sign_in(&app, "silent").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&browser, &app).await["email"], "silent@example.com");
    // An explicit "not verified" stays refused even then.
    let (_, refused) = sign_in(&app, "unverified").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

async fn groups_older_than_the_maximum_need_a_new_sign_in(db: Db) {
    let (app, _provider) = spawn_oidc_app(db, None).await;
    let (browser, response) = sign_in(&app, "payments-lead").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let created = browser
        .post(format!("{}/rpc/tokens/create", app.address))
        .header("origin", &app.address)
        .form(&[
            ("name", "ci"),
            ("expires_in_days", "30"),
            ("scope_review", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let token = created.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Two days without a sign-in: the provider may have removed them from the lead group.
    let two_days_ago = now_plus(time::Duration::days(-2));
    app.execute(&format!(
        "UPDATE users SET groups_at = '{two_days_ago}' WHERE email = 'payments-lead@example.com'"
    ))
    .await;
    let refused = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "groups_expired");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("sign in to the portal once"),
        "{body}"
    );
    // The browser session is sent through sign-in again.
    let page = browser
        .get(format!("{}/reviews", app.address))
        .send()
        .await
        .unwrap();
    assert!(page.status().is_redirection(), "{}", page.status());
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "{:?}",
        page.headers()["location"]
    );

    // Signing in confirms the groups, and the token works again.
    let (_, response) = sign_in(&app, "payments-lead").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let works = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(works.status(), 200);
}

async fn groups_are_confirmed_in_the_background_with_a_refresh_token(db: Db) {
    let (app, provider) = spawn_oidc_app_with_options(
        db,
        None,
        &[],
        Options {
            configure: |settings| settings.auth.oidc.scopes.push("offline_access".into()),
            ..Options::default()
        },
    )
    .await;
    let (browser, response) = sign_in(&app, "payments-lead").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        me(&browser, &app).await["teams"],
        serde_json::json!([{ "team": "payments", "role": "lead" }])
    );
    assert_eq!(
        app.count_where("users", "refresh_token_sealed IS NOT NULL")
            .await,
        1,
        "the refresh token is kept, sealed"
    );
    let auth = server::auth::Auth::new(&app.settings, &app.address, app.store.clone()).unwrap();
    let round = auth.refresh_stale_groups().await.unwrap();
    assert_eq!(round.refreshed, 0, "nothing is due right after sign-in");

    // The provider drops them from the lead group; thirteen hours later (past half of
    // the 24 allowed) the portal asks again, without them signing in.
    let removed = reqwest::Client::new()
        .put(format!("{}/_control/groups/payments-lead", provider.issuer))
        .json(&serde_json::json!(["payments"]))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let thirteen_hours_ago = now_plus(time::Duration::hours(-13));
    app.execute(&format!(
        "UPDATE users SET groups_at = '{thirteen_hours_ago}' WHERE email = 'payments-lead@example.com'"
    ))
    .await;
    let round = auth.refresh_stale_groups().await.unwrap();
    assert_eq!(round.refreshed, 1, "{round:?}");
    assert_eq!(
        me(&browser, &app).await["teams"],
        serde_json::json!([{ "team": "payments", "role": "member" }]),
        "no longer a lead"
    );
    assert_eq!(
        app.count_where(
            "audit_events",
            "action = 'user.groups_refreshed' AND subject = 'payments-lead@example.com'"
        )
        .await,
        1
    );

    // A refresh token the provider no longer knows (invalid_grant) is forgotten, and the
    // groups age; so is one that no longer opens.
    let unknown = auth
        .sealer
        .as_ref()
        .unwrap()
        .seal("a-refresh-token-nobody-issued");
    for sealed in [unknown.as_str(), "not-a-sealed-token"] {
        app.execute(&format!(
            "UPDATE users SET groups_at = '{thirteen_hours_ago}',
                refresh_token_sealed = '{sealed}' WHERE email = 'payments-lead@example.com'"
        ))
        .await;
        let round = auth.refresh_stale_groups().await.unwrap();
        assert_eq!(round.forgotten, 1, "{sealed}: {round:?}");
    }
    assert_eq!(
        app.count_where("users", "refresh_token_sealed IS NOT NULL")
            .await,
        0
    );
}

on_both_databases!(
    groups_are_confirmed_in_the_background_with_a_refresh_token,
    a_second_account_cannot_claim_an_address_in_another_case,
    an_address_the_provider_does_not_vouch_for_is_refused_unless_trusted,
    groups_older_than_the_maximum_need_a_new_sign_in,
);
