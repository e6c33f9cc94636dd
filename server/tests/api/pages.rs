//! Server-rendered pages: what a browser receives before any script runs.

use crate::{
    helpers::{Db, Options, Persona, spawn_app, spawn_empty_app, spawn_with},
    on_both_databases,
};

async fn catalog_page_lists_services_with_team_and_status(db: Db) {
    let app = spawn_app(db).await;
    let (status, html) = app.get_page("/services").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<title>Services · Stargate</title>"),
        "{html}"
    );
    assert!(html.contains(r#"href="/services/payments/checkout-api""#));
    assert!(html.contains("badge-live"));
    assert!(html.contains("1–20 of 30"));
    assert!(
        html.contains(r#"href="/pkg/stargate.css""#),
        "links the stylesheet"
    );
    assert!(
        html.contains("/pkg/stargate.js"),
        "loads the hydration script"
    );
}

async fn search_in_the_url_narrows_the_rendered_list(db: Db) {
    let app = spawn_app(db).await;
    let (status, html) = app.get_page("/services?q=ledger").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"href="/services/payments/ledger""#));
    assert!(!html.contains(r#"href="/services/payments/checkout-api""#));
    assert!(
        html.contains(r#"value="ledger""#),
        "search box keeps the query"
    );
    assert!(html.contains("1–1 of 1"));
}

async fn second_page_links_back_and_keeps_filters(db: Db) {
    let app = spawn_app(db).await;
    let (_, html) = app.get_page("/services?status=live&page=2").await;
    assert!(
        html.contains(r#"href="/services?status=live""#),
        "previous keeps status: {html}"
    );
}

async fn no_match_shows_an_empty_state(db: Db) {
    let app = spawn_app(db).await;
    let (status, html) = app.get_page("/services?q=zzzz-nothing").await;
    assert_eq!(status, 200);
    assert!(html.contains("No services match"));
    assert!(html.contains("Clear filters"));
}

async fn empty_catalog_says_what_to_expect(db: Db) {
    let app = spawn_empty_app(db).await;
    let (status, html) = app.get_page("/services").await;
    assert_eq!(status, 200);
    assert!(html.contains("No services yet"));
}

async fn service_page_shows_ownership_and_workload(db: Db) {
    let app = spawn_app(db).await;
    let (status, html) = app.get_page("/services/search/ranking").await;
    assert_eq!(status, 200);
    assert!(html.contains("<title>search/ranking · Stargate</title>"));
    assert!(html.contains("ghcr.io/acme/ranking:1.15.0"));
    assert!(html.contains("Learning-to-rank model server"));
    assert!(html.contains("badge-degraded"));
}

async fn unknown_service_and_path_are_404_pages(db: Db) {
    let app = spawn_app(db).await;
    for path in [
        "/services/payments/does-not-exist",
        "/services/NOT_VALID/x",
        "/no/such/page",
    ] {
        let (status, html) = app.get_page(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("Page not found"), "{path}: {html}");
        assert!(html.contains(r#"href="/services""#), "offers a way back");
    }
}

async fn malformed_query_parameter_is_a_400_page_naming_it(db: Db) {
    let app = spawn_app(db).await;
    let (status, html) = app.get_page("/services?page=abc").await;
    assert_eq!(status, 400);
    assert!(html.contains("<code>page</code>"), "{html}");
    assert!(html.contains("whole number"));
}

on_both_databases!(
    catalog_page_lists_services_with_team_and_status,
    search_in_the_url_narrows_the_rendered_list,
    second_page_links_back_and_keeps_filters,
    no_match_shows_an_empty_state,
    empty_catalog_says_what_to_expect,
    service_page_shows_ownership_and_workload,
    unknown_service_and_path_are_404_pages,
    malformed_query_parameter_is_a_400_page_naming_it,
);

#[tokio::test]
async fn root_redirects_to_the_catalog() {
    let app = spawn_app(Db::Sqlite).await;
    let response = app.get_html("/").await;
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.headers()["location"], "/services");
}

#[tokio::test]
async fn the_browser_list_call_accepts_an_empty_query() {
    // What the hydrated catalog sends when no filter is set (client-side navigation).
    let app = spawn_app(Db::Sqlite).await;
    let response = app
        .request(Persona::EngineerA, reqwest::Method::POST, "/rpc/services")
        .json(&serde_json::json!({ "query": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["total"], 30);
}

#[tokio::test]
async fn browser_calls_answer_with_the_error_status() {
    let app = spawn_app(Db::Sqlite).await;
    let call = |path: &'static str, body: serde_json::Value| {
        app.request(Persona::EngineerA, reqwest::Method::POST, path)
            .json(&body)
            .send()
    };
    let bad = call(
        "/rpc/services",
        serde_json::json!({ "query": { "page": "abc" } }),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("page"));
    let missing = call(
        "/rpc/service",
        serde_json::json!({ "team": "payments", "name": "nope" }),
    )
    .await
    .unwrap();
    assert_eq!(missing.status(), 404);
}

/// Repetitive like code: about 64 KB that compresses well.
fn compressible_wasm() -> Vec<u8> {
    (0..16_384u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect()
}

/// A site root of this test process's own (`configure` cannot capture a path).
fn own_site_root() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("stargate-site-{}", std::process::id()))
}

#[tokio::test]
async fn the_bundle_is_sent_compressed_to_browsers_that_accept_it() {
    let pkg = own_site_root().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let wasm = compressible_wasm();
    std::fs::write(pkg.join("stargate.wasm"), &wasm).unwrap();
    let app = spawn_with(
        Db::Sqlite,
        Options {
            configure: |settings| settings.site_root = own_site_root(),
            ..Options::default()
        },
        None,
    )
    .await;

    for encoding in ["br", "gzip"] {
        let response = app
            .request(
                Persona::EngineerA,
                reqwest::Method::GET,
                "/pkg/stargate.wasm",
            )
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-encoding"], encoding);
        let sent = response.bytes().await.unwrap().len();
        assert!(sent < wasm.len() / 4, "{encoding}: {sent} bytes");
    }
    let plain = app
        .request(
            Persona::EngineerA,
            reqwest::Method::GET,
            "/pkg/stargate.wasm",
        )
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.bytes().await.unwrap(), wasm, "sent as it is");
    std::fs::remove_dir_all(own_site_root()).unwrap();
}

/// A second site root of this test process's own, for the precompressed bundle.
fn precompressed_site_root() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("stargate-site-pre-{}", std::process::id()))
}

#[tokio::test]
async fn the_bundle_is_sent_as_precompressed_only_while_those_copies_are_fresh() {
    let pkg = precompressed_site_root().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let wasm = compressible_wasm();
    let set_modified = |name: &str, at: std::time::SystemTime| {
        std::fs::File::options()
            .write(true)
            .open(pkg.join(name))
            .unwrap()
            .set_modified(at)
            .unwrap();
    };
    let built = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::write(pkg.join("stargate.wasm"), &wasm).unwrap();
    set_modified("stargate.wasm", built);
    // What the build's compression step wrote (the server sends it as it is).
    for (copy, bytes) in [
        ("stargate.wasm.br", b"brotli 11"),
        ("stargate.wasm.gz", b"gzip -9 !"),
    ] {
        std::fs::write(pkg.join(copy), bytes).unwrap();
        set_modified(copy, built);
    }
    let spawn = || {
        spawn_with(
            Db::Sqlite,
            Options {
                configure: |settings| settings.site_root = precompressed_site_root(),
                ..Options::default()
            },
            None,
        )
    };
    let fetch = |app: &crate::helpers::TestApp, encoding: &'static str| {
        app.request(
            Persona::EngineerA,
            reqwest::Method::GET,
            "/pkg/stargate.wasm",
        )
        .header("accept-encoding", encoding)
        .send()
    };

    let app = spawn().await;
    for (encoding, copy) in [("br", &b"brotli 11"[..]), ("gzip", &b"gzip -9 !"[..])] {
        let response = fetch(&app, encoding).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-encoding"], encoding);
        assert_eq!(response.bytes().await.unwrap(), copy, "{encoding}");
    }

    // The bundle is rebuilt without new copies: the old ones must not be sent for it.
    set_modified("stargate.wasm", std::time::SystemTime::now());
    let app = spawn().await;
    let response = fetch(&app, "br").await.unwrap();
    assert_eq!(response.headers()["content-encoding"], "br");
    let sent = response.bytes().await.unwrap();
    assert_ne!(sent, &b"brotli 11"[..]);
    assert!(
        sent.len() < wasm.len() / 4,
        "compressed on the fly: {} bytes",
        sent.len()
    );
    std::fs::remove_dir_all(precompressed_site_root()).unwrap();
}
