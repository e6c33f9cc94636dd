//! Drift: the worker checks the test API server on an interval. A field Stargate set that
//! someone changed behind its back drifts (with who changed it), a deleted object is
//! missing, an annotation a controller adds is no drift, and an unreachable cluster makes
//! its objects unknown without a false event.

use std::time::Duration;

use serde_json::{Value, json};
use server::config::WorkerSettings;

use crate::{
    helpers::{Db, Options, Persona, TestApp, spawn_with},
    kube_api::KubeApi,
    on_both_databases,
};

pub(crate) async fn spawn_checking(db: Db, kube: &KubeApi) -> TestApp {
    let options = Options {
        worker: true,
        clusters: vec![kube.cluster("kind", "worker-a").await],
        worker_settings: Some(WorkerSettings {
            poll_seconds: 1,
            readiness_timeout_seconds: 10,
            request_timeout_seconds: 2,
            ..WorkerSettings::default()
        }),
        configure: |settings| settings.drift.interval_seconds = 1,
        ..Options::default()
    };
    spawn_with(db, options, None).await
}

/// The service's drift records by kind.
async fn drift(app: &TestApp) -> Value {
    let (status, body) = app.get_json("/api/v1/services/payments/orders/drift").await;
    assert_eq!(status, 200, "{body}");
    let mut by_kind = serde_json::Map::new();
    for record in body.as_array().into_iter().flatten() {
        let kind = record["kind"].as_str().unwrap_or_default().to_owned();
        by_kind.insert(kind, record.clone());
    }
    Value::Object(by_kind)
}

/// Waits (at most 20 s) until the Deployment's and the Service's states are these.
pub(crate) async fn states(app: &TestApp, deployment: &str, service: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let drift = drift(app).await;
        if drift["Deployment"]["state"] == deployment && drift["Service"]["state"] == service {
            return drift;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "wanted {deployment}/{service}: {drift:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `(action, subject)` of the drift events in the audit log, oldest first.
pub(crate) async fn drift_events(app: &TestApp) -> Vec<(String, String)> {
    let response = app
        .get_as(Persona::Admin, "/api/v1/audit?per_page=100")
        .await;
    let body: Value = response.json().await.expect("audit JSON");
    let mut events: Vec<(String, String)> = body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("object."))
        })
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["subject"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    events.reverse();
    events
}

/// `team/name` of the services the catalog lists as drifted.
async fn drifted_services(app: &TestApp) -> Vec<String> {
    let (status, body) = app.get_json("/api/v1/services?drift=drifted").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["total"].as_u64(),
        body["items"].as_array().map(|i| i.len() as u64)
    );
    body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            format!(
                "{}/{}",
                s["team"].as_str().unwrap_or(""),
                s["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

async fn drift_is_detected_and_shown(db: Db) {
    let kube = KubeApi::start(&[]).await;
    let app = spawn_checking(db, &kube).await;
    let body = json!({"kind": "service", "team": "payments", "cluster": "kind",
        "reason": "drift", "spec": {"name": "orders", "image": "ghcr.io/acme/orders:1.0.0",
        "port": 8080, "replicas": 2}});
    let id = app.submit_approved(&body).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "applied", "{detail:#}");
    let drift = states(&app, "in_sync", "in_sync").await;
    assert_eq!(drift["Deployment"]["fields"], json!([]));
    assert_eq!(drifted_services(&app).await, Vec::<String>::new());

    // A controller annotates the Service: not a field Stargate set.
    kube.apply_as(
        "some-controller",
        &json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "orders", "namespace": "payments",
                             "annotations": {"example.com/seen": "yes"}}}),
    )
    .await;
    // Someone scales the Deployment behind Stargate's back, taking the field over.
    kube.apply_as(
        "kubectl",
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "orders", "namespace": "payments"},
                "spec": {"replicas": 5}}),
    )
    .await;
    let drift = states(&app, "drifted", "in_sync").await;
    let fields = drift["Deployment"]["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), 1, "{drift:#}");
    assert_eq!(fields[0]["path"], "spec.replicas");
    assert_eq!(fields[0]["approved"], 2);
    assert_eq!(fields[0]["live"], 5);
    assert_eq!(fields[0]["changed_by"], "kubectl");
    assert!(fields[0]["since"].is_string(), "{drift:#}");
    assert_eq!(drifted_services(&app).await, ["payments/orders"]);
    // The service page marks it, with the field's diff and who changed it.
    let (status, html) = app.get_page("/services/payments/orders").await;
    assert_eq!(status, 200);
    let section = html
        .split(r#"data-testid="service-drift""#)
        .nth(1)
        .expect("a drift section");
    assert!(section.contains("Drifted"), "{section}");
    assert!(section.contains("spec.replicas"), "{section}");
    assert!(section.contains("kubectl"), "{section}");
    let (_, catalog) = app.get_page("/services?drift=drifted").await;
    assert!(
        catalog.contains(r#"href="/services/payments/orders""#),
        "{catalog}"
    );
    assert!(!catalog.contains(r#"href="/services/payments/ledger""#));

    // Someone deletes the Service.
    let deleted = reqwest::Client::new()
        .delete(format!(
            "{}/api/v1/namespaces/payments/services/orders",
            kube.url
        ))
        .send()
        .await
        .expect("delete");
    assert!(deleted.status().is_success(), "{:?}", deleted.text().await);
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

    // The cluster goes away: unknown, never drifted, and no event; the known diff stays.
    drop(kube);
    let drift = states(&app, "unknown", "unknown").await;
    assert_eq!(drift["Deployment"]["fields"][0]["path"], "spec.replicas");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(drift_events(&app).await, events);

    let metrics = app.get_as(Persona::Anonymous, "/metrics").await;
    let text = metrics.text().await.expect("metrics");
    assert!(
        text.contains(r#"drift_objects{cluster="kind",state="unknown"}"#),
        "{text}"
    );
}

on_both_databases!(drift_is_detected_and_shown);

/// The item of `list` (`/api/v1/hosts`) whose `key` is `value`.
async fn list_item(app: &TestApp, list: &str, key: &str, value: &str) -> Value {
    let (status, body) = app.get_json(list).await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|item| item[key] == value)
        .cloned()
        .unwrap_or_else(|| panic!("no {value} in {body:#}"))
}

/// Waits (at most 20 s) until the item's `drift` is `state`.
async fn marked(app: &TestApp, list: &str, key: &str, value: &str, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let item = list_item(app, list, key, value).await;
        if item["drift"] == state {
            return item;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "wanted {state}: {item:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn drifted_hosts_and_certificates_are_marked_in_their_lists(db: Db) {
    const HOST: &str = "orders.payments.example.com";
    let kube = KubeApi::start(&[]).await;
    let app = spawn_checking(db, &kube).await;
    let request = |kind: &str, spec: Value| json!({"kind": kind, "team": "payments", "cluster": "kind", "reason": "drift", "spec": spec});
    for body in [
        request(
            "service",
            json!({"name": "orders", "image": "ghcr.io/acme/orders:1.0.0", "port": 8080}),
        ),
        request(
            "certificate",
            json!({"name": "orders-tls", "dns_names": [HOST], "issuer": "letsencrypt-prod"}),
        ),
        request(
            "ingress",
            json!({"host": HOST, "service": "orders", "port": 8080, "class": "nginx",
                   "tls": "cert_manager"}),
        ),
    ] {
        let id = app.submit_approved(&body).await;
        let detail = app.settled(id, &["applied", "failed"]).await;
        assert_eq!(detail["request"]["status"], "applied", "{detail:#}");
    }
    // Checked and in sync: no mark anywhere.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while drift(&app).await.get("Ingress").is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the Ingress was never checked"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        list_item(&app, "/api/v1/hosts", "host", HOST).await["drift"],
        Value::Null
    );
    let certificate = list_item(&app, "/api/v1/certificates", "name", "orders-tls").await;
    assert_eq!(
        (&certificate["drift"], &certificate["service"]),
        (&Value::Null, &json!("orders"))
    );

    // Someone moves the Ingress to another controller and the Certificate to another issuer.
    kube.apply_as(
        "kubectl",
        &json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": "orders-orders", "namespace": "payments"},
                "spec": {"ingressClassName": "traefik"}}),
    )
    .await;
    kube.apply_as(
        "kubectl",
        &json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                "metadata": {"name": "orders-tls", "namespace": "payments"},
                "spec": {"issuerRef": {"name": "letsencrypt-staging"}}}),
    )
    .await;
    marked(&app, "/api/v1/hosts", "host", HOST, "drifted").await;
    marked(
        &app,
        "/api/v1/certificates",
        "name",
        "orders-tls",
        "drifted",
    )
    .await;
    // The service's own Deployment and Service still hold what was approved.
    let service = list_item(&app, "/api/v1/services", "name", "orders").await;
    assert_eq!(service["drift"], Value::Null, "{service:#}");
    // The service page's Drift section, where the marks link, lists both.
    let records = drift(&app).await;
    assert_eq!(records["Ingress"]["state"], "drifted", "{records:#}");
    assert_eq!(records["Certificate"]["state"], "drifted", "{records:#}");

    for page in ["/hosts", "/certificates"] {
        let (status, html) = app.get_page(page).await;
        assert_eq!(status, 200);
        assert!(html.contains(r#"data-drift="drifted""#), "{page}: {html}");
        assert!(
            html.contains(r#"href="/services/payments/orders#drift""#),
            "{page}: {html}"
        );
    }

    // The Deployment is deleted: its catalog row is marked missing.
    let deleted = reqwest::Client::new()
        .delete(format!(
            "{}/apis/apps/v1/namespaces/payments/deployments/orders",
            kube.url
        ))
        .send()
        .await
        .expect("delete");
    assert!(deleted.status().is_success(), "{:?}", deleted.text().await);
    marked(&app, "/api/v1/services", "name", "orders", "missing").await;
    let (_, catalog) = app.get_page("/services").await;
    assert!(catalog.contains(r#"data-drift="missing""#), "{catalog}");
}

on_both_databases!(drifted_hosts_and_certificates_are_marked_in_their_lists);

/// An unknown service has no drift to show.
async fn an_unknown_service_has_no_drift(db: Db) {
    let app = crate::helpers::spawn_app(db).await;
    let (status, _) = app
        .get_json("/api/v1/services/payments/nothing/drift")
        .await;
    assert_eq!(status, 404);
}

on_both_databases!(an_unknown_service_has_no_drift);
