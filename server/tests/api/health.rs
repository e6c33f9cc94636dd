use crate::{
    helpers::{Db, Persona, TestDatabase, spawn_app},
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
