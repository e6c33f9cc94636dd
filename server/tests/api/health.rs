use crate::{
    helpers::{Db, Options, Persona, TestDatabase, spawn_app, spawn_with},
    on_both_databases,
};

async fn healthz_and_readyz_answer(db: Db) {
    let app = spawn_app(db).await;
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
}

async fn every_response_carries_a_request_id(db: Db) {
    let app = spawn_app(db).await;
    let response = app.get("/healthz").await;
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
}

async fn metrics_count_requests_per_route(db: Db) {
    let app = spawn_app(db).await;
    for _ in 0..3 {
        app.get("/api/v1/services/payments/ledger").await;
    }
    app.get("/api/v1/services?page=abc").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("openmetrics-text")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"stargate_http_requests_total{method="GET",route="/api/v1/services/{team}/{name}",status="200"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"stargate_http_requests_total{method="GET",route="/api/v1/services",status="400"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"stargate_http_request_duration_seconds_count{method="GET",route="/api/v1/services/{team}/{name}"} 3"#));
}

#[tokio::test]
async fn metrics_can_require_a_bearer_token() {
    let app = spawn_with(
        Db::Sqlite,
        Options {
            metrics_token: Some("scrape-me".into()),
            ..Options::default()
        },
        None,
    )
    .await;
    let metrics = |token: Option<&'static str>| {
        let request = app.client.get(format!("{}/metrics", app.address));
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        async move { request.send().await.expect("metrics").status().as_u16() }
    };
    assert_eq!(metrics(None).await, 401);
    assert_eq!(metrics(Some("guess")).await, 401);
    // A scraper every few seconds is not a run of failed sign-ins (ten a minute block).
    for _ in 0..12 {
        assert_eq!(metrics(Some("scrape-me")).await, 200);
    }
    // A personal access token is not the metrics token.
    let personal = app.token(Persona::Admin).expect("token").to_owned();
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .bearer_auth(personal)
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), 401);
}

on_both_databases!(
    healthz_and_readyz_answer,
    every_response_carries_a_request_id,
    metrics_count_requests_per_route,
);

#[tokio::test]
async fn readyz_is_503_when_the_database_goes_away_but_healthz_stays_up() {
    let app = spawn_app(Db::Postgres).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let TestDatabase::Postgres { name } = &app.database else {
        unreachable!()
    };
    TestDatabase::drop_postgres(name).await;
    // Probes come without credentials.
    let response = app.get_as(Persona::Anonymous, "/readyz").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "unreachable");
    assert_eq!(
        app.get_as(Persona::Anonymous, "/healthz").await.status(),
        200
    );
}
