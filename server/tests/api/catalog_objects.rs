//! Teams, clusters, ingress hosts and certificates in the catalog.

use crate::{
    helpers::{Db, spawn_app, spawn_empty_app},
    on_both_databases,
};

async fn clusters_come_from_configuration_with_service_counts(db: Db) {
    let app = spawn_app(db).await;
    let (status, body) = app.get_json("/api/v1/clusters").await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["name"], "demo");
    assert_eq!(body[0]["kind"], "dry-run");
    assert_eq!(body[0]["services"], 30);
}

async fn hosts_are_listed_with_their_service_and_paginated(db: Db) {
    let app = spawn_app(db).await;
    let (status, body) = app.get_json("/api/v1/hosts?per_page=3&page=2").await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 7);
    let hosts: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    assert_eq!(
        hosts,
        [
            "gateway.payments.example.com",
            "merchants.payments.example.com",
            "pay.payments.example.com"
        ]
    );
    assert_eq!(body["items"][0]["service"], "payment-gateway");
    assert_eq!(body["items"][0]["class"], "alb");
    let (status, body) = app.get_json("/api/v1/hosts?per_page=500").await;
    assert_eq!(status, 400);
    assert_eq!(body["fields"][0]["path"], "per_page");
}

async fn certificates_soonest_first_with_expiring_ones_flagged(db: Db) {
    let app = spawn_app(db).await;
    let (_, body) = app.get_json("/api/v1/certificates").await;
    let items = body["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "wildcard-search",
            "merchants-tls",
            "checkout-tls",
            "suggest-tls",
            "pay-links-tls"
        ]
    );
    let soon: Vec<bool> = items
        .iter()
        .map(|c| c["expiring_soon"].as_bool().unwrap())
        .collect();
    assert_eq!(soon, [true, true, false, false, false]);
    assert!(items[4]["expires_at"].is_null(), "pending: not issued yet");
}

async fn search_finds_services_by_host_and_filters_by_cluster(db: Db) {
    let app = spawn_app(db).await;
    let (_, body) = app.get_json("/api/v1/services?q=merchants.payments").await;
    assert_eq!(body["total"], 1);
    assert_eq!(body["items"][0]["name"], "merchant-portal");
    let (_, demo) = app.get_json("/api/v1/services?cluster=demo").await;
    assert_eq!(demo["total"], 30);
    let (_, none) = app.get_json("/api/v1/services?cluster=prod").await;
    assert_eq!(none["total"], 0);
}

async fn services_sort_by_name(db: Db) {
    let app = spawn_app(db).await;
    let (_, body) = app.get_json("/api/v1/services?sort=name&per_page=3").await;
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["analytics-collector", "checkout-api", "crawler"]);
    let (status, body) = app.get_json("/api/v1/services?sort=size").await;
    assert_eq!(status, 400);
    assert_eq!(body["fields"][0]["path"], "sort");
}

async fn service_detail_has_hosts_certificates_and_leads(db: Db) {
    let app = spawn_app(db).await;
    let (_, body) = app
        .get_json("/api/v1/services/payments/merchant-portal")
        .await;
    assert_eq!(body["hosts"][0]["host"], "merchants.payments.example.com");
    assert_eq!(body["certificates"][0]["name"], "merchants-tls");
    assert_eq!(body["certificates"][0]["expiring_soon"], true);
    // The test lead of payments is known to the portal.
    assert_eq!(body["leads"], serde_json::json!(["lee@example.com"]));
    let (_, other) = app.get_json("/api/v1/services/payments/ledger").await;
    assert_eq!(other["hosts"], serde_json::json!([]));
    assert_eq!(other["certificates"], serde_json::json!([]));
}

async fn leads_follow_the_groups_of_each_sign_in(db: Db) {
    let app = spawn_app(db).await;
    let leads = |body: &serde_json::Value| body["leads"].clone();
    // A second lead appears once signed in with the lead group...
    app.token_for("kim@example.com", &["payments-leads", "search"])
        .await;
    let (_, body) = app.get_json("/api/v1/services/payments/ledger").await;
    assert_eq!(
        leads(&body),
        serde_json::json!(["kim@example.com", "lee@example.com"])
    );
    // ...and is gone once the IdP no longer lists it.
    app.token_for("kim@example.com", &["search"]).await;
    let (_, body) = app.get_json("/api/v1/services/payments/ledger").await;
    assert_eq!(leads(&body), serde_json::json!(["lee@example.com"]));
    let (_, team) = app.get_json("/api/v1/teams/search").await;
    assert!(
        team["members"]
            .as_array()
            .is_some_and(|m| m.contains(&"kim@example.com".into())),
        "{team:#}"
    );
}

async fn team_detail_lists_leads_members_and_service_count(db: Db) {
    let app = spawn_app(db).await;
    let (status, body) = app.get_json("/api/v1/teams/payments").await;
    assert_eq!(status, 200);
    assert_eq!(body["team"]["display_name"], "Payments");
    assert_eq!(body["leads"], serde_json::json!(["lee@example.com"]));
    assert_eq!(body["members"], serde_json::json!(["pat@example.com"]));
    assert_eq!(body["services"], 16);
    let (status, _) = app.get_json("/api/v1/teams/nobody").await;
    assert_eq!(status, 404);
}

async fn empty_lists_before_anything_is_applied(db: Db) {
    let app = spawn_empty_app(db).await;
    for path in ["/api/v1/hosts", "/api/v1/certificates"] {
        let (status, body) = app.get_json(path).await;
        assert_eq!((status, body["total"].as_u64()), (200, Some(0)), "{path}");
    }
    let (_, html) = app.get_page("/hosts").await;
    assert!(html.contains("No ingress hosts yet"));
    let (_, html) = app.get_page("/certificates").await;
    assert!(html.contains("No certificates yet"));
}

on_both_databases!(
    clusters_come_from_configuration_with_service_counts,
    hosts_are_listed_with_their_service_and_paginated,
    certificates_soonest_first_with_expiring_ones_flagged,
    search_finds_services_by_host_and_filters_by_cluster,
    services_sort_by_name,
    service_detail_has_hosts_certificates_and_leads,
    leads_follow_the_groups_of_each_sign_in,
    team_detail_lists_leads_members_and_service_count,
    empty_lists_before_anything_is_applied,
);

#[tokio::test]
async fn catalog_pages_render_on_the_server() {
    let app = spawn_app(Db::Sqlite).await;
    let cases = [
        ("/teams", "Checkout, billing and money movement"),
        ("/teams/search", "sam@example.com"),
        ("/clusters", "dry-run"),
        ("/hosts", "suggest.search.example.com"),
        ("/certificates", "expiring soon"),
        (
            "/services/payments/checkout-api",
            "checkout.payments.example.com",
        ),
    ];
    for (path, expected) in cases {
        let (status, html) = app.get_page(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains(expected), "{path} should show {expected}");
    }
    let (status, _) = app.get_page("/teams/nobody").await;
    assert_eq!(status, 404);
}

async fn seeding_adds_services_spread_over_teams_once(db: Db) {
    let app = spawn_empty_app(db).await;
    // More than one insert statement's worth (1,000), so the counter adds up across them.
    server::seed::seed(&app.store, 2500).await.unwrap();
    server::seed::seed(&app.store, 2500).await.unwrap();
    let (_, body) = app.get_json("/api/v1/services?per_page=1").await;
    assert_eq!(body["total"], 2500, "a second seed adds nothing");
    let (_, team) = app
        .get_json("/api/v1/services?team=seed-billing&per_page=1")
        .await;
    assert_eq!(team["total"], 157);
    let (_, hosts) = app.get_json("/api/v1/hosts?per_page=1").await;
    assert_eq!(hosts["total"], 834);
}

on_both_databases!(seeding_adds_services_spread_over_teams_once);
