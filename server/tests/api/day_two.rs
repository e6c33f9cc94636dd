//! Day two: changing what runs (the plan shows only what differs) and decommissioning it
//! (deleted in reverse dependency order, with foreground propagation, and gone from the
//! catalog's lists, the name free again).

use reqwest::Method;
use serde_json::{Value, json};
use server::config::WorkerSettings;

use crate::{
    helpers::{Db, Options, Persona, TestApp, spawn_with},
    kube_api::KubeApi,
    on_both_databases,
};

async fn spawn_with_cluster(db: Db, kube: &KubeApi) -> TestApp {
    let options = Options {
        worker: true,
        clusters: vec![kube.cluster("kind", "worker-a").await],
        worker_settings: Some(WorkerSettings {
            backoff_base_ms: 100,
            backoff_max_ms: 400,
            poll_seconds: 1,
            readiness_timeout_seconds: 10,
            request_timeout_seconds: 5,
            ..WorkerSettings::default()
        }),
        ..Options::default()
    };
    spawn_with(db, options, None).await
}

fn request(kind: &str, spec: Value) -> Value {
    json!({"kind": kind, "team": "payments", "cluster": "kind", "reason": "day two", "spec": spec})
}

fn orders(image: &str, replicas: u32) -> Value {
    request(
        "service",
        json!({"name": "orders", "image": image, "port": 8080, "replicas": replicas,
               "env": {"LOG_LEVEL": "info"}}),
    )
}

const HOST: &str = "orders.payments.example.com";

async fn applied(app: &TestApp, body: &Value) -> Value {
    let id = app.submit_approved(body).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(
        detail["request"]["status"], "applied",
        "{:#}",
        detail["events"]
    );
    detail
}

async fn submit(app: &TestApp, body: &Value) -> (u16, Value) {
    let response = app
        .request(Persona::EngineerA, Method::POST, "/api/v1/requests")
        .json(body)
        .send()
        .await
        .expect("submit");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `(kind, action)` of each object in a request's plan.
fn planned(detail: &Value) -> Vec<(String, String)> {
    detail["plan"]["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["kind"].as_str().unwrap_or_default().to_owned(),
                o["change"]["action"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

async fn a_change_of_image_and_replicas_plans_exactly_those_fields(db: Db) {
    let kube = KubeApi::start(&["--rollout-ms", "100"]).await;
    let app = spawn_with_cluster(db, &kube).await;
    applied(&app, &orders("ghcr.io/acme/orders:1.4.2", 2)).await;
    let before = kube.writes().await.len();

    let (status, change) = submit(&app, &orders("ghcr.io/acme/orders:1.5.0", 4)).await;
    assert_eq!(status, 201, "{change}");
    let fields: Vec<(String, Value, Value)> = change["plan"]["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|o| {
            o["change"]["fields"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_owned(),
                f["before"].clone(),
                f["after"].clone(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("spec.replicas".to_owned(), json!(2), json!(4)),
            (
                "spec.template.spec.containers[0].image".to_owned(),
                json!("ghcr.io/acme/orders:1.4.2"),
                json!("ghcr.io/acme/orders:1.5.0")
            ),
        ],
        "{:#}",
        change["plan"]
    );
    assert_eq!(
        planned(&change),
        [
            ("Namespace".to_owned(), "unchanged".to_owned()),
            ("Deployment".to_owned(), "update".to_owned()),
            ("Service".to_owned(), "unchanged".to_owned()),
        ]
    );

    let id = change["request"]["id"].as_i64().expect("id");
    let approved = app.approve(Persona::LeadA, id).await;
    assert_eq!(approved.status(), 200);
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "applied");
    let deployment = kube.writes().await[before..]
        .iter()
        .find(|w| w["kind"] == "Deployment")
        .cloned()
        .expect("the Deployment was applied");
    assert_eq!(deployment["object"]["spec"]["replicas"], 4);
    assert_eq!(
        deployment["object"]["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/acme/orders:1.5.0"
    );
    let (_, service) = app.get_json("/api/v1/services/payments/orders").await;
    assert_eq!(service["image"], "ghcr.io/acme/orders:1.5.0");
    assert_eq!(service["replicas"], 4);
}

async fn replicas_handed_to_an_autoscaler_are_released_with_a_warning(db: Db) {
    let kube = KubeApi::start(&["--rollout-ms", "100"]).await;
    let app = spawn_with_cluster(db, &kube).await;
    let hpa = |replicas: Option<u32>| {
        let mut spec = json!({"name": "orders", "image": "ghcr.io/acme/orders:1.4.2",
                              "port": 8080, "env": {"LOG_LEVEL": "info"}, "scaling": "hpa"});
        if let Some(replicas) = replicas {
            spec["replicas"] = json!(replicas);
        }
        request("service", spec)
    };
    let (status, refused) = submit(&app, &hpa(Some(3))).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["fields"][0]["path"], "spec.replicas", "{refused}");

    applied(&app, &orders("ghcr.io/acme/orders:1.4.2", 2)).await;
    let before = kube.writes().await.len();
    let (status, change) = submit(&app, &hpa(None)).await;
    assert_eq!(status, 201, "{change}");
    let deployment = &change["plan"]["objects"][1];
    assert_eq!(deployment["kind"], "Deployment", "{:#}", change["plan"]);
    assert_eq!(
        deployment["change"]["fields"],
        json!([{"path": "spec.replicas", "before": 2, "after": null}]),
        "{:#}",
        change["plan"]
    );
    let manifests = change["manifests"].as_str().unwrap_or_default();
    assert!(!manifests.contains("replicas"), "{manifests}");
    let notes = change["notes"].to_string();
    assert!(
        notes.contains("resets it to 1") && notes.contains("HorizontalPodAutoscaler"),
        "{notes}"
    );

    let id = change["request"]["id"].as_i64().expect("id");
    assert_eq!(app.approve(Persona::LeadA, id).await.status(), 200);
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "applied");
    let written = kube.writes().await[before..]
        .iter()
        .find(|w| w["kind"] == "Deployment")
        .cloned()
        .expect("the Deployment was applied");
    assert!(
        written["object"]["spec"].get("replicas").is_none(),
        "{written:#}"
    );
    let (_, service) = app.get_json("/api/v1/services/payments/orders").await;
    assert_eq!(service["scaling"], "hpa", "{service:#}");

    // The next change leaves the autoscaler's field alone: nothing to release, no warning.
    let (status, next) = submit(&app, &hpa(None)).await;
    assert_eq!(status, 201, "{next}");
    assert!(
        !next["notes"].to_string().contains("resets it to 1"),
        "{next:#}"
    );
    assert_eq!(next["plan"]["objects"][1]["change"]["action"], "unchanged");
}

async fn a_service_goes_with_its_host_and_certificate_and_its_name_is_free_again(db: Db) {
    let kube = KubeApi::start(&["--rollout-ms", "200"]).await;
    let app = spawn_with_cluster(db, &kube).await;
    let total = || async { app.get_json("/api/v1/services").await.1["total"].as_u64() };
    let listed = total().await;
    applied(&app, &orders("ghcr.io/acme/orders:1.4.2", 2)).await;
    applied(
        &app,
        &request(
            "certificate",
            json!({"name": "orders-tls", "dns_names": [HOST], "issuer": "letsencrypt-prod"}),
        ),
    )
    .await;
    applied(
        &app,
        &request(
            "ingress",
            json!({"host": HOST, "service": "orders", "port": 8080, "class": "nginx",
                   "tls": "cert_manager"}),
        ),
    )
    .await;
    assert_eq!(total().await, listed.map(|n| n + 1));

    // Without its host, the service may not go: the host would route nowhere.
    let requests_before = app.count_rows("requests").await;
    let (status, refused) = submit(
        &app,
        &request("decommission", json!({"services": ["orders"]})),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let error = &refused["fields"][0];
    assert_eq!(error["path"], "spec.services[0]", "{refused}");
    assert!(
        error["message"].as_str().unwrap_or_default().contains(HOST),
        "{refused}"
    );
    assert_eq!(app.count_rows("requests").await, requests_before);

    let before = kube.writes().await.len();
    let body = request(
        "decommission",
        json!({"services": ["orders"], "hosts": [HOST], "certificates": ["orders-tls"]}),
    );
    let (status, submitted) = submit(&app, &body).await;
    assert_eq!(status, 201, "{submitted}");
    let deleted = |kind: &str| (kind.to_owned(), "delete".to_owned());
    // No ExternalSecret: orders never had one.
    assert_eq!(
        planned(&submitted),
        [
            deleted("Ingress"),
            deleted("Certificate"),
            deleted("Service"),
            deleted("Deployment"),
        ]
    );
    let manifests = submitted["manifests"].as_str().unwrap_or_default();
    assert!(manifests.contains("kind: Ingress"), "{manifests}");
    let id = submitted["request"]["id"].as_i64().expect("id");
    assert_eq!(app.approve(Persona::LeadA, id).await.status(), 200);
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(
        detail["request"]["status"], "applied",
        "{:#}",
        detail["events"]
    );

    // Deletes arrived in reverse dependency order, each asking for foreground propagation,
    // and the objects are gone from the API server.
    let writes = kube.writes().await;
    let deletes: Vec<(&str, &str)> = writes[before..]
        .iter()
        .map(|w| {
            (
                w["method"].as_str().unwrap_or_default(),
                w["kind"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        deletes,
        [
            ("DELETE", "Ingress"),
            ("DELETE", "Certificate"),
            ("DELETE", "Service"),
            ("DELETE", "Deployment"),
        ]
    );
    assert!(
        writes[before..]
            .iter()
            .all(|w| w["object"]["propagationPolicy"] == "Foreground"),
        "{:#?}",
        &writes[before..]
    );
    let story = detail["events"].to_string();
    assert!(story.contains("waiting until Deployment payments/orders is gone"));

    // The IaC commit of the decommission removed the objects' files.
    let (status, tree) = app.get_json("/api/v1/iac/tree?cluster=kind").await;
    assert_eq!(status, 200, "{tree}");
    assert_eq!(tree["commit"]["request_id"], id);
    let files = tree["files"].to_string();
    for gone in [
        "deployment-orders",
        "service-orders",
        "ingress-orders",
        "certificate-orders-tls",
    ] {
        assert!(!files.contains(gone), "{gone} in {files}");
    }
    assert!(files.contains("namespace-payments"), "{files}");

    // Out of the lists, kept in history.
    assert_eq!(total().await, listed);
    let (_, hosts) = app.get_json("/api/v1/hosts?per_page=100").await;
    assert!(!hosts.to_string().contains(HOST), "{hosts}");
    let (_, certificates) = app.get_json("/api/v1/certificates?per_page=100").await;
    assert!(!certificates.to_string().contains("orders-tls"));
    let (status, service) = app.get_json("/api/v1/services/payments/orders").await;
    assert_eq!(status, 200);
    assert!(service["decommissioned_at"].is_string(), "{service}");
    assert_eq!(service["status"], "decommissioned");
    assert_eq!(service["history"][0]["id"], id);
    let (_, gone) = app.get_json("/api/v1/services?status=decommissioned").await;
    assert_eq!(gone["total"], 1, "{gone}");
    assert_eq!(gone["items"][0]["name"], "orders");
    assert_eq!(gone["items"][0]["status"], "decommissioned");

    // The name is free again.
    applied(&app, &orders("ghcr.io/acme/orders:2.0.0", 2)).await;
    assert_eq!(total().await, listed.map(|n| n + 1));
    let (_, service) = app.get_json("/api/v1/services/payments/orders").await;
    assert!(service["decommissioned_at"].is_null(), "{service}");
    assert_eq!(service["image"], "ghcr.io/acme/orders:2.0.0");
}

fn exposure(service: &str, external_port: u16, via: &str) -> Value {
    request(
        "exposure",
        json!({"service": service, "port": 8080, "protocol": "tcp",
               "external_port": external_port, "via": via}),
    )
}

async fn a_service_goes_with_its_exposures_and_its_external_port_is_free_again(db: Db) {
    let kube = KubeApi::start(&["--rollout-ms", "200"]).await;
    kube.apply_as(
        "helm",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ingress-nginx"}}),
    )
    .await;
    let app = spawn_with_cluster(db, &kube).await;
    applied(&app, &orders("ghcr.io/acme/orders:1.4.2", 1)).await;
    applied(
        &app,
        &request(
            "service",
            json!({"name": "relay", "image": "ghcr.io/acme/relay:1.0.0", "port": 8080}),
        ),
    )
    .await;
    applied(&app, &exposure("orders", 9000, "nginx")).await;
    applied(&app, &exposure("relay", 9001, "nginx")).await;
    applied(&app, &exposure("orders", 5432, "nlb")).await;

    let before = kube.writes().await.len();
    let (status, submitted) = submit(
        &app,
        &request("decommission", json!({"services": ["orders"]})),
    )
    .await;
    assert_eq!(status, 201, "{submitted}");
    let notes = submitted["notes"].to_string();
    assert!(notes.contains("tcp-services"), "{notes}");
    let id = submitted["request"]["id"].as_i64().expect("id");
    assert_eq!(app.approve(Persona::LeadA, id).await.status(), 200);
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(
        detail["request"]["status"], "applied",
        "{:#}",
        detail["events"]
    );

    // The shared ConfigMap first, keeping only relay's entry; then the NLB's Service, and
    // what runs orders.
    let writes = kube.writes().await;
    let seen: Vec<(&str, &str, &str)> = writes[before..]
        .iter()
        .map(|w| {
            (
                w["method"].as_str().unwrap_or_default(),
                w["kind"].as_str().unwrap_or_default(),
                w["name"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(
        (seen[0].1, seen[0].2),
        ("ConfigMap", "tcp-services"),
        "{seen:?}"
    );
    assert_ne!(seen[0].0, "DELETE", "{seen:?}");
    assert_eq!(
        seen[1..],
        [
            ("DELETE", "Service", "orders-tcp-5432"),
            ("DELETE", "Service", "orders"),
            ("DELETE", "Deployment", "orders"),
        ]
    );
    assert_eq!(
        writes[before]["object"]["data"],
        json!({"9001": "payments/relay:8080"})
    );

    // The catalog forgot its exposures; relay keeps its own.
    let (_, gone) = app.get_json("/api/v1/services/payments/orders").await;
    assert_eq!(gone["exposures"], json!([]), "{gone}");
    let (_, relay) = app.get_json("/api/v1/services/payments/relay").await;
    assert_eq!(
        relay["exposures"].as_array().map(Vec::len),
        Some(1),
        "{relay}"
    );

    // The freed external port can be exposed again, and the ConfigMap keeps relay's entry.
    applied(&app, &exposure("relay", 9000, "nginx")).await;
    let last = kube
        .writes()
        .await
        .into_iter()
        .rev()
        .find(|w| w["kind"] == "ConfigMap" && w["name"] == "tcp-services")
        .expect("the ConfigMap was written");
    assert_eq!(
        last["object"]["data"],
        json!({"9000": "payments/relay:8080", "9001": "payments/relay:8080"})
    );
}

on_both_databases!(
    a_change_of_image_and_replicas_plans_exactly_those_fields,
    replicas_handed_to_an_autoscaler_are_released_with_a_warning,
    a_service_goes_with_its_host_and_certificate_and_its_name_is_free_again,
    a_service_goes_with_its_exposures_and_its_external_port_is_free_again,
);
