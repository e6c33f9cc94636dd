//! The audit log as an admin reads it: what happened, newest first, filtered by team, actor,
//! request and time; closed to everyone else; and append-only in the database itself.

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection};

use crate::{
    helpers::{Db, Persona, TestApp, spawn_app, without_markers},
    on_both_databases,
};

/// A new payments service.
fn service_body(name: &str) -> Value {
    json!({
        "kind": "service", "team": "payments", "cluster": "demo", "reason": "audit test",
        "spec": {"name": name, "image": "ghcr.io/acme/orders:1.0.0", "port": 8080}
    })
}

async fn submit(app: &TestApp, name: &str) -> i64 {
    let response = app
        .request(Persona::EngineerA, Method::POST, "/api/v1/requests")
        .json(&service_body(name))
        .send()
        .await
        .expect("submit");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("JSON");
    body["request"]["id"].as_i64().expect("request id")
}

async fn cancel(app: &TestApp, id: i64) {
    let response = app
        .request(
            Persona::EngineerA,
            Method::POST,
            &format!("/api/v1/requests/{id}/cancel"),
        )
        .send()
        .await
        .expect("cancel");
    assert_eq!(response.status(), 200);
}

/// `GET /api/v1/audit?{query}` as `persona`: status and JSON body.
async fn audit_as(app: &TestApp, persona: Persona, query: &str) -> (u16, Value) {
    let response = app.get_as(persona, &format!("/api/v1/audit?{query}")).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// The page of events an admin gets for `query`.
async fn audit(app: &TestApp, query: &str) -> Value {
    let (status, body) = audit_as(app, Persona::Admin, query).await;
    assert_eq!(status, 200, "{query}: {body:#}");
    body
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("items")
}

fn total(page: &Value) -> u64 {
    page["total"].as_u64().expect("total")
}

/// (action, subject) of each event, in the order given.
fn actions(page: &Value) -> Vec<(String, String)> {
    items(page)
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Two requests submitted by engineer A for payments, the first cancelled.
async fn two_requests(app: &TestApp) -> (i64, i64) {
    let first = submit(app, "audit-one").await;
    let second = submit(app, "audit-two").await;
    cancel(app, first).await;
    (first, second)
}

async fn shows_what_happened_newest_first(db: Db) {
    let app = spawn_app(db).await;
    let (first, second) = two_requests(&app).await;
    let page = audit(&app, "").await;
    let (r1, r2) = (format!("request/{first}"), format!("request/{second}"));
    assert_eq!(
        actions(&page)[..3],
        [
            ("request.cancel".to_owned(), r1.clone()),
            ("request.submit".to_owned(), r2.clone()),
            ("request.submit".to_owned(), r1.clone()),
        ]
    );
    let newest = &items(&page)[0];
    assert_eq!(newest["actor"], "pat@example.com");
    assert_eq!(newest["team"], "payments");
    assert!(newest["at"].as_str().unwrap().ends_with('Z'), "{newest}");
    let submitted = &items(&page)[2];
    assert_eq!(
        submitted["detail"]["title"], "service audit-one",
        "{submitted}"
    );
    // Newest first all the way down, and the tokens the test made are there too.
    let ids: Vec<i64> = items(&page)
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    assert!(
        items(&page)
            .iter()
            .any(|e| e["action"] == "token.create" && e["team"].is_null()),
        "{page:#}"
    );
    assert_eq!(total(&page), items(&page).len() as u64);
    assert_eq!(
        (page["page"].as_u64(), page["per_page"].as_u64()),
        (Some(1), Some(20))
    );

    // Paging walks the same order.
    let second_page = audit(&app, "per_page=1&page=2").await;
    assert_eq!(total(&second_page), total(&page));
    assert_eq!(items(&second_page).len(), 1);
    assert_eq!(items(&second_page)[0], items(&page)[1]);
}

async fn filters_narrow_the_log(db: Db) {
    let app = spawn_app(db).await;
    let (first, second) = two_requests(&app).await;
    let all = audit(&app, "per_page=100").await;

    let payments = audit(&app, "team=payments").await;
    assert_eq!(total(&payments), 3, "{payments:#}");
    assert!(items(&payments).iter().all(|e| e["team"] == "payments"));
    assert_eq!(total(&audit(&app, "team=search").await), 0);

    let pat = audit(&app, "actor=pat%40example.com&per_page=100").await;
    assert!(items(&pat).iter().all(|e| e["actor"] == "pat@example.com"));
    assert!(actions(&pat).contains(&("request.cancel".to_owned(), format!("request/{first}"))));
    assert!(
        total(&pat) >= 4,
        "three request events and a token: {pat:#}"
    );
    let ada = audit(&app, "actor=ada@example.com&per_page=100").await;
    assert!(total(&ada) >= 1, "the admin's token");
    assert!(
        items(&ada)
            .iter()
            .all(|e| e["actor"] == "ada@example.com" && e["action"] == "token.create")
    );

    let one = audit(&app, &format!("request={first}")).await;
    assert_eq!(
        actions(&one),
        [
            ("request.cancel".to_owned(), format!("request/{first}")),
            ("request.submit".to_owned(), format!("request/{first}")),
        ]
    );
    let other = audit(
        &app,
        &format!("request={second}&actor=pat@example.com&team=payments"),
    )
    .await;
    assert_eq!(
        actions(&other),
        [("request.submit".to_owned(), format!("request/{second}"))]
    );
    assert_eq!(total(&audit(&app, "request=999999").await), 0);

    // `since` is inclusive, `until` exclusive: split at any instant, the two halves are
    // the whole log.
    let newest_at = items(&all)[0]["at"].as_str().unwrap().to_owned();
    let since = audit(&app, &format!("since={newest_at}&per_page=100")).await;
    let until = audit(&app, &format!("until={newest_at}&per_page=100")).await;
    assert!(
        items(&since)
            .iter()
            .any(|e| e["id"] == items(&all)[0]["id"])
    );
    assert!(
        items(&since)
            .iter()
            .all(|e| e["at"].as_str().unwrap() >= newest_at.as_str())
    );
    assert!(
        items(&until)
            .iter()
            .all(|e| e["at"].as_str().unwrap() < newest_at.as_str())
    );
    assert_eq!(total(&since) + total(&until), total(&all));

    // Dates mean the start of the day (UTC).
    let today = &newest_at[..10];
    assert_eq!(
        total(&audit(&app, &format!("since={today}")).await),
        total(&all)
    );
    assert_eq!(total(&audit(&app, &format!("until={today}")).await), 0);
    assert_eq!(
        total(&audit(&app, "since=2000-01-01&until=2000-01-02").await),
        0
    );
    assert_eq!(total(&audit(&app, "since=2999-01-01").await), 0);
    // Empty values are no filter at all (what an HTML form sends).
    let blank = audit(&app, "team=&actor=&request=&since=&until=&per_page=100").await;
    assert_eq!(total(&blank), total(&all));
}

async fn only_admins_read_it(db: Db) {
    let app = spawn_app(db).await;
    two_requests(&app).await;
    for persona in [Persona::EngineerA, Persona::EngineerB, Persona::LeadA] {
        let (status, body) = audit_as(&app, persona, "").await;
        assert_eq!(status, 403, "{persona:?}: {body}");
        assert_eq!(body["error"], "forbidden");
        assert!(
            body["message"].as_str().unwrap().contains("admins"),
            "{body}"
        );
        assert!(body.get("items").is_none(), "nothing leaks: {body}");
    }
    let (status, body) = audit_as(&app, Persona::Anonymous, "").await;
    assert_eq!(status, 401, "{body}");
}

async fn bad_parameters_are_named(db: Db) {
    let app = spawn_app(db).await;
    for (query, path) in [
        ("team=Payments!", "team"),
        ("actor=nobody", "actor"),
        ("actor=a%20b@example.com", "actor"),
        ("request=0", "request"),
        ("request=abc", "request"),
        ("request=-3", "request"),
        ("since=yesterday", "since"),
        ("since=2026-03-01T09:30:00%2B01:00", "since"),
        ("until=2026-02-30", "until"),
        ("until=2026-03-01T25:00:00Z", "until"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
    ] {
        let (status, body) = audit_as(&app, Persona::Admin, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"], "bad_request", "{query}");
        let paths: Vec<&str> = body["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, [path], "{query}: {body}");
    }
    // A repeated parameter does not fit the query's shape at all.
    let (status, body) = audit_as(&app, Persona::Admin, "team=a&team=b").await;
    assert_eq!(status, 400, "{body}");
}

async fn the_page_lists_events_for_admins_only(db: Db) {
    let app = spawn_app(db).await;
    let (first, _) = two_requests(&app).await;
    let page = |persona: Persona, query: &'static str| {
        app.request(persona, Method::GET, &format!("/audit{query}"))
            .header("accept", "text/html")
            .send()
    };
    let response = page(Persona::Admin, "?team=payments").await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"data-testid="audit-log""#), "{html}");
    assert!(html.contains("request.cancel"), "{html}");
    assert!(
        html.contains(&format!(r#"href="/requests/{first}""#)),
        "{html}"
    );
    assert!(!html.contains("token.create"), "filtered by team: {html}");

    let response = page(Persona::Admin, "?since=2999-01-01").await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("No events match"));

    let response = page(Persona::Admin, "?request=x").await.unwrap();
    assert_eq!(response.status(), 400);
    let html = without_markers(&response.text().await.unwrap());
    assert!(html.contains("<code>request</code>"), "{html}");

    let response = page(Persona::LeadA, "").await.unwrap();
    assert_eq!(response.status(), 403);
    let html = response.text().await.unwrap();
    assert!(html.contains("the audit log is for admins"), "{html}");
    assert!(!html.contains("request.submit"), "{html}");

    // Only admins see the log in the navigation.
    for (persona, linked) in [(Persona::Admin, true), (Persona::LeadA, false)] {
        let html = page_html(&app, persona, "/services").await;
        assert_eq!(
            html.contains(r#"href="/audit""#),
            linked,
            "{persona:?}: {html}"
        );
    }
}

async fn page_html(app: &TestApp, persona: Persona, path: &str) -> String {
    let response = app
        .request(persona, Method::GET, path)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    without_markers(&response.text().await.unwrap())
}

/// The database itself refuses to change or remove audit events, whatever the code does.
async fn the_log_is_append_only(db: Db) {
    let app = spawn_app(db).await;
    two_requests(&app).await;
    let before = app.count_rows("audit_events").await;
    assert!(before >= 3);
    let url = app.settings.database_url.as_deref().expect("database URL");
    let mut conn = AnyConnection::connect(url).await.expect("connect");
    let update = sqlx::query("UPDATE audit_events SET actor = 'x'")
        .execute(&mut conn)
        .await;
    assert!(update.is_err(), "UPDATE must fail: {update:?}");
    assert!(
        update.unwrap_err().to_string().contains("append-only"),
        "refused by the trigger"
    );
    let delete = sqlx::query("DELETE FROM audit_events")
        .execute(&mut conn)
        .await;
    assert!(delete.is_err(), "DELETE must fail: {delete:?}");
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    if db == Db::Postgres {
        // TRUNCATE skips row triggers; a statement trigger refuses it.
        let truncate = sqlx::query("TRUNCATE audit_events")
            .execute(&mut conn)
            .await;
        assert!(truncate.is_err(), "TRUNCATE must fail: {truncate:?}");
    }
    let changed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE actor = 'x'")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(changed, 0);
    let _ = conn.close().await;
    assert_eq!(app.count_rows("audit_events").await, before);
    assert_eq!(total(&audit(&app, "").await), before as u64);
}

on_both_databases!(
    shows_what_happened_newest_first,
    filters_narrow_the_log,
    only_admins_read_it,
    bad_parameters_are_named,
    the_page_lists_events_for_admins_only,
    the_log_is_append_only,
);
