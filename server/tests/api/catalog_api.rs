use serde_json::Value;
use server::demo;

use crate::{
    helpers::{Db, spawn_app, spawn_empty_app},
    on_both_databases,
};

fn names(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| {
            format!(
                "{}/{}",
                s["team"].as_str().unwrap(),
                s["name"].as_str().unwrap()
            )
        })
        .collect()
}

async fn first_page_has_twenty_of_thirty_sorted(db: Db) {
    let app = spawn_app(db).await;
    let (status, body) = app.get_json("/api/v1/services").await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 30);
    assert_eq!(
        (body["page"].as_u64(), body["per_page"].as_u64()),
        (Some(1), Some(20))
    );
    let names = names(&body);
    assert_eq!(names.len(), 20);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "ordered by team, then name");
    assert_eq!(names[0], "payments/checkout-api");
}

async fn last_page_and_past_the_end(db: Db) {
    let app = spawn_app(db).await;
    let (_, second) = app.get_json("/api/v1/services?page=2").await;
    assert_eq!(names(&second).len(), 10);
    let (status, past) = app.get_json("/api/v1/services?page=9").await;
    assert_eq!(status, 200);
    assert_eq!(past["total"], 30);
    assert!(names(&past).is_empty());
}

async fn search_is_case_insensitive_over_name_and_description(db: Db) {
    let app = spawn_app(db).await;
    let (_, by_name) = app.get_json("/api/v1/services?q=LEDGER").await;
    assert_eq!(names(&by_name), ["payments/ledger"]);
    let (_, by_description) = app.get_json("/api/v1/services?q=grpc").await;
    assert_eq!(
        names(&by_description),
        ["payments/payment-gateway", "search/query-suggest"]
    );
}

async fn search_wildcards_match_literally(db: Db) {
    let app = spawn_app(db).await;
    for wildcard in ["%25", "_", "%5C"] {
        let (status, body) = app
            .get_json(&format!("/api/v1/services?q={wildcard}"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["total"], 0, "{wildcard} is matched as a character");
    }
}

async fn filters_by_team_and_status(db: Db) {
    let app = spawn_app(db).await;
    let (_, search) = app
        .get_json("/api/v1/services?team=search&per_page=100")
        .await;
    assert_eq!(search["total"], 14);
    assert!(names(&search).iter().all(|n| n.starts_with("search/")));
    let (_, failed) = app.get_json("/api/v1/services?status=failed").await;
    assert_eq!(names(&failed), ["payments/receipts", "search/image-search"]);
    let (_, both) = app
        .get_json("/api/v1/services?team=search&status=failed")
        .await;
    assert_eq!(names(&both), ["search/image-search"]);
    let (_, unknown_team) = app.get_json("/api/v1/services?team=nobody").await;
    assert_eq!(unknown_team["total"], 0);
}

async fn malformed_parameters_are_400_naming_each(db: Db) {
    let app = spawn_app(db).await;
    let (status, body) = app
        .get_json("/api/v1/services?page=abc&per_page=1000&status=up&team=Bad!")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "bad_request");
    let paths: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["team", "status", "page", "per_page"]);
    let (status, _) = app.get_json("/api/v1/services?page=0").await;
    assert_eq!(status, 400);
}

async fn one_service_by_team_and_name(db: Db) {
    let app = spawn_app(db).await;
    let (status, body) = app.get_json("/api/v1/services/payments/ledger").await;
    assert_eq!(status, 200);
    assert_eq!(body["image"], "ghcr.io/acme/ledger:3.0.0");
    assert_eq!(body["replicas"], 3);
    assert_eq!(body["team_display_name"], "Payments");
    assert_eq!(body["namespace"], "payments");
}

async fn unknown_service_is_404_json(db: Db) {
    let app = spawn_app(db).await;
    for path in [
        "/api/v1/services/payments/nope",
        "/api/v1/services/search/ledger",
        "/api/v1/services/Payments/ledger",
        "/api/v1/nothing-here",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"], "not_found", "{path}");
    }
}

async fn empty_catalog_lists_nothing(db: Db) {
    let app = spawn_empty_app(db).await;
    let (status, body) = app.get_json("/api/v1/services").await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 0);
    // Teams come from configuration, services from requests: teams show before services.
    let (_, teams) = app.get_json("/api/v1/teams").await;
    assert_eq!(teams.as_array().map(Vec::len), Some(2));
}

async fn demo_catalog_loads_once(db: Db) {
    let app = spawn_app(db).await;
    assert!(
        !demo::load(&app.store).await.unwrap(),
        "second load is a no-op"
    );
    let (_, body) = app.get_json("/api/v1/services").await;
    assert_eq!(body["total"], 30);
    let (_, teams) = app.get_json("/api/v1/teams").await;
    let teams: Vec<&str> = teams
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(teams, ["payments", "search"]);
}

on_both_databases!(
    first_page_has_twenty_of_thirty_sorted,
    last_page_and_past_the_end,
    search_is_case_insensitive_over_name_and_description,
    search_wildcards_match_literally,
    filters_by_team_and_status,
    malformed_parameters_are_400_naming_each,
    one_service_by_team_and_name,
    unknown_service_is_404_json,
    empty_catalog_lists_nothing,
    demo_catalog_loads_once,
);
