//! The catalog's read model keeps pages in memory; changes made by another process (a
//! `stargate worker`, the seed CLI, another `serve`) must still show within moments.

use std::time::{Duration, Instant};

use domain::{ServiceName, TeamName};
use server::store::{NewHost, Store};
use sqlx::{AnyConnection, Connection};

use crate::{
    helpers::{Db, TestApp, spawn_app},
    on_both_databases,
};

const PAGE: &str = "/api/v1/services/payments/ledger";

fn hosts_of(body: &serde_json::Value) -> Vec<String> {
    body["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| h["host"].as_str().expect("host").to_owned())
        .collect()
}

/// Adds a host to payments/ledger through a store of its own, as another process would.
async fn add_host_elsewhere(app: &TestApp, host: &str) {
    let elsewhere = Store::open(&app.settings.database_url())
        .await
        .expect("second store");
    let host = NewHost {
        team: TeamName::parse("team", "payments").expect("team"),
        service: ServiceName::parse("service", "ledger").expect("service"),
        host: host.to_owned(),
        class: "nginx".to_owned(),
        tls: "none".to_owned(),
    };
    elsewhere.add_objects(&[host], &[]).await.expect("add host");
    elsewhere.close().await;
}

/// Reads the page until it lists `host`, for at most three seconds.
async fn wait_for_host(app: &TestApp, host: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let (status, body) = app.get_json(PAGE).await;
        assert_eq!(status, 200);
        let hosts = hosts_of(&body);
        if hosts.iter().any(|h| h == host) || Instant::now() > deadline {
            return hosts;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_host_added_by_another_process_shows_on_the_service_page(db: Db) {
    let app = spawn_app(db).await;
    let host = "ledger-mirror.payments.example.com";
    // Read twice so the page is kept in memory.
    for _ in 0..2 {
        let (_, body) = app.get_json(PAGE).await;
        assert!(!hosts_of(&body).contains(&host.to_owned()));
    }
    add_host_elsewhere(&app, host).await;
    let hosts = wait_for_host(&app, host).await;
    assert!(hosts.contains(&host.to_owned()), "{hosts:?}");
}

on_both_databases!(a_host_added_by_another_process_shows_on_the_service_page);

/// Notices sent while the listener is away are lost: until it is back, pages are read from
/// the database, and once back nothing kept from before is served.
#[tokio::test]
async fn a_change_made_while_the_listener_was_cut_off_still_shows() {
    let app = spawn_app(Db::Postgres).await;
    app.get_json(PAGE).await;
    let mut admin = AnyConnection::connect(&app.settings.database_url())
        .await
        .expect("connect");
    let cut: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%stargate_catalog%'",
    )
    .fetch_all(&mut admin)
    .await
    .expect("terminate the listener");
    assert_eq!(cut, [true], "one catalog listener per serve process");
    let host = "ledger-after-cut.payments.example.com";
    add_host_elsewhere(&app, host).await;
    let hosts = wait_for_host(&app, host).await;
    assert!(hosts.contains(&host.to_owned()), "{hosts:?}");
    let _ = admin.close().await;
}
