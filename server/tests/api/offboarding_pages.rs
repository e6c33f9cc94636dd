//! The offboarding pages as a browser without wasm sees them: rendered on the server with
//! their table headers, labelled search and empty state (403 for non-admins), and their
//! buttons answering plain form posts with a redirect back.

use reqwest::{Method, StatusCode};

use crate::{
    helpers::{Db, Persona, TestApp, spawn_app},
    offboarding::user_id,
    on_both_databases,
};

/// A plain form post from the admin's browser on the user's page (no wasm).
async fn post_plain(app: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> String {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .header("cookie", cookie)
        .header("origin", &app.address)
        .header("referer", format!("{}/admin/users/2", app.address))
        .header("accept", "text/html,application/xhtml+xml")
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND, "{path}");
    response.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned()
}

async fn the_users_pages_render_and_their_buttons_work_as_plain_posts(db: Db) {
    let app = spawn_app(db).await;
    let sam = user_id(&app, "sam@example.com").await;
    let page = |persona: Persona, path: String| {
        let request = app.request(persona, Method::GET, &path);
        async move {
            let response = request.header("accept", "text/html").send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, html) = page(Persona::Admin, "/admin/users".into()).await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        r#"<th scope="col">Email"#,
        "sam@example.com",
        r#"for="users-q""#,
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    let (status, html) = page(Persona::Admin, "/admin/users?q=nobody".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No users match"), "{html}");
    let (status, _) = page(Persona::EngineerA, "/admin/users".into()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, html) = page(Persona::Admin, format!("/admin/users/{sam}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"name="confirm""#), "{html}");
    assert!(html.contains("Revoke tests"), "{html}");
    // Their own page offers no Deactivate (the server would refuse it anyway).
    let me = user_id(&app, "ada@example.com").await;
    let (status, html) = page(Persona::Admin, format!("/admin/users/{me}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(r#"name="confirm""#), "{html}");
    assert!(html.contains("your own account"), "{html}");

    let cookie = app.session_cookie(Persona::Admin).await.expect("cookie");
    let id = sam.to_string();
    // Unconfirmed: back to the page with the reason, nothing changed.
    let back = post_plain(&app, &cookie, "/rpc/admin/deactivate", &[("id", &id)]).await;
    assert!(back.contains("__err="), "{back}");
    assert_eq!(
        app.count_where("users", "deactivated_at IS NOT NULL").await,
        0
    );
    let token_id = app.token_id(Persona::EngineerA).expect("token").to_string();
    let back = post_plain(
        &app,
        &cookie,
        "/rpc/admin/tokens/revoke",
        &[("id", &token_id)],
    )
    .await;
    assert!(!back.contains("__err"), "{back}");
    let confirmed = [("id", id.as_str()), ("confirm", "yes")];
    let back = post_plain(&app, &cookie, "/rpc/admin/deactivate", &confirmed).await;
    assert!(!back.contains("__err"), "{back}");
    assert_eq!(
        app.count_where("users", "deactivated_at IS NOT NULL").await,
        1
    );
    assert_eq!(
        app.count_where("api_tokens", "revoked_at IS NOT NULL")
            .await,
        2
    );
}

on_both_databases!(the_users_pages_render_and_their_buttons_work_as_plain_posts);
