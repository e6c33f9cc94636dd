//! Drift noticed by the watch: the interval check is an hour away, so only the watch can
//! see a change made on the test API server behind Stargate's back. A change is marked
//! within seconds, a deleted object is missing, a controller's annotation is no drift, a
//! reset of the server (its watches end, the resourceVersion expires) is recovered from,
//! and an unreachable cluster makes the objects unknown without a false event.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server::config::WorkerSettings;

use crate::{
    drift::{drift_events, states},
    helpers::{Db, Options, TestApp, spawn_with},
    kube_api::KubeApi,
    on_both_databases,
};

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/payments/deployments/orders";
const SERVICE: &str = "/api/v1/namespaces/payments/services/orders";

pub(crate) async fn spawn_watching(db: Db, kube: &KubeApi) -> TestApp {
    let options = Options {
        worker: true,
        clusters: vec![kube.cluster("kind", "worker-a").await],
        worker_settings: Some(WorkerSettings {
            poll_seconds: 1,
            readiness_timeout_seconds: 10,
            request_timeout_seconds: 2,
            ..WorkerSettings::default()
        }),
        configure: |settings| {
            settings.drift.interval_seconds = 3600;
            settings.drift.watch = true;
        },
        ..Options::default()
    };
    spawn_with(db, options, None).await
}

/// Applies the service `payments/orders` with 2 replicas.
pub(crate) async fn apply_orders(app: &TestApp) {
    let body = json!({"kind": "service", "team": "payments", "cluster": "kind",
        "reason": "watch", "spec": {"name": "orders", "image": "ghcr.io/acme/orders:1.0.0",
        "port": 8080, "replicas": 2}});
    let id = app.submit_approved(&body).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "applied", "{detail:#}");
}

async fn drift_is_noticed_by_the_watch(db: Db) {
    let kube = KubeApi::start(&[]).await;
    let app = spawn_watching(db, &kube).await;
    apply_orders(&app).await;
    // The interval check ran once at start, before anything was applied: the watch
    // compares what it lists.
    states(&app, "in_sync", "in_sync").await;

    // A controller annotates the Service: not a field Stargate set.
    kube.apply_as(
        "some-controller",
        &json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "orders", "namespace": "payments",
                             "annotations": {"example.com/seen": "yes"}}}),
    )
    .await;
    // Someone scales the Deployment with `kubectl patch`.
    let changed = Instant::now();
    kube.merge_patch_as_kubectl(DEPLOYMENT, &json!({"spec": {"replicas": 5}}))
        .await;
    let drift = states(&app, "drifted", "in_sync").await;
    let noticed = changed.elapsed();
    assert!(
        noticed < Duration::from_secs(5),
        "noticed after {noticed:?}"
    );
    let fields = drift["Deployment"]["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), 1, "{drift:#}");
    assert_eq!(fields[0]["path"], "spec.replicas");
    assert_eq!(fields[0]["approved"], 2);
    assert_eq!(fields[0]["live"], 5);
    assert_eq!(fields[0]["changed_by"], "kubectl");

    kube.delete(SERVICE).await;
    states(&app, "drifted", "missing").await;
    let events = drift_events(&app).await;
    assert_eq!(
        events,
        [
            (
                "object.drifted".to_owned(),
                "object:kind/Deployment/payments/orders".to_owned()
            ),
            (
                "object.missing".to_owned(),
                "object:kind/Service/payments/orders".to_owned()
            ),
        ]
    );

    // Scaled back by hand: in line again, noticed by the watch too.
    kube.merge_patch_as_kubectl(DEPLOYMENT, &json!({"spec": {"replicas": 2}}))
        .await;
    states(&app, "in_sync", "missing").await;

    // The cluster goes away: unknown, never drifted, and no event.
    let events = drift_events(&app).await;
    drop(kube);
    states(&app, "unknown", "unknown").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(drift_events(&app).await, events);
}

on_both_databases!(drift_is_noticed_by_the_watch);

/// The test server forgets everything and ends its watches: the watch's resourceVersion
/// has expired, so it lists again, sees the objects gone, and keeps watching.
async fn the_watch_recovers_from_a_reset(db: Db) {
    let kube = KubeApi::start(&[]).await;
    let app = spawn_watching(db, &kube).await;
    apply_orders(&app).await;
    states(&app, "in_sync", "in_sync").await;

    kube.reset().await;
    states(&app, "missing", "missing").await;
    // Someone creates the Deployment again, by hand and with other replicas.
    kube.apply_as(
        "kubectl",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}}),
    )
    .await;
    let deployment: Value = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "orders", "namespace": "payments",
                     "labels": {"stargate.dev/request": "1"}},
        "spec": {"replicas": 3,
                 "selector": {"matchLabels": {"app.kubernetes.io/name": "orders"}},
                 "template": {"metadata": {"labels": {"app.kubernetes.io/name": "orders"}},
                              "spec": {"containers": [{"name": "orders",
                                                       "image": "ghcr.io/acme/orders:1.0.0"}]}}}});
    kube.apply_as("kubectl", &deployment).await;
    let drift = states(&app, "drifted", "missing").await;
    let paths: Vec<&str> = drift["Deployment"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(paths.contains(&"spec.replicas"), "{drift:#}");
}

on_both_databases!(the_watch_recovers_from_a_reset);
