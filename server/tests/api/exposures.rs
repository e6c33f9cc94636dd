//! TCP/UDP exposures of a service port: one owner per external port of ingress-nginx, the
//! shared ConfigMap as the test API server receives it (every entry kept), and an NLB as a
//! LoadBalancer Service of its own.

use reqwest::Method;
use serde_json::{Value, json};
use server::config::WorkerSettings;

use crate::{
    helpers::{Db, Options, Persona, TestApp, spawn_app, spawn_with, submit_as as submit},
    kube_api::KubeApi,
    on_both_databases,
};

fn exposure(cluster: &str, service: &str, external_port: u16, via: &str) -> Value {
    json!({
        "kind": "exposure", "team": "payments", "cluster": cluster, "reason": "TCP clients",
        "spec": {"service": service, "port": 8080, "protocol": "tcp",
                 "external_port": external_port, "via": via}
    })
}

/// The message of the field error at `path`, if the answer has one.
fn field_error<'a>(answer: &'a Value, path: &str) -> Option<&'a str> {
    answer["fields"]
        .as_array()?
        .iter()
        .find(|f| f["path"] == path)
        .and_then(|f| f["message"].as_str())
}

async fn a_second_request_for_an_external_port_is_refused_naming_the_first(db: Db) {
    let app = spawn_app(db).await;
    let (status, first) = submit(
        &app,
        Persona::EngineerA,
        &exposure("demo", "ledger", 9000, "nginx"),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["request"]["title"], "exposure tcp 9000 → ledger");
    let first_id = first["request"]["id"].as_i64().expect("id");

    // Another service of the team, the same external port of ingress-nginx: refused.
    let before = app.count_rows("requests").await;
    let (status, refused) = submit(
        &app,
        Persona::EngineerA,
        &exposure("demo", "refunds", 9000, "nginx"),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let message = field_error(&refused, "spec.external_port").expect("names the field");
    assert!(
        message.contains(&format!("request #{first_id} (payments/ledger)")),
        "{message}"
    );
    assert_eq!(app.count_rows("requests").await, before, "nothing stored");

    // UDP 9000 is another port, and an NLB a load balancer of its own.
    let mut udp = exposure("demo", "refunds", 9000, "nlb");
    udp["spec"]["protocol"] = json!("udp");
    let (status, answer) = submit(&app, Persona::EngineerA, &udp).await;
    assert_eq!(status, 201, "{answer}");

    // Cancelled, the first request lets go of the port.
    let cancelled = app
        .request(
            Persona::EngineerA,
            Method::POST,
            &format!("/api/v1/requests/{first_id}/cancel"),
        )
        .send()
        .await
        .expect("cancel");
    assert_eq!(cancelled.status(), 200);
    let (status, answer) = submit(
        &app,
        Persona::EngineerA,
        &exposure("demo", "refunds", 9000, "nginx"),
    )
    .await;
    assert_eq!(status, 201, "{answer}");

    // The rules name the service's real port, and a service of another team is unknown.
    let (status, wrong) = submit(
        &app,
        Persona::EngineerA,
        &exposure("demo", "payment-gateway", 9100, "nginx"),
    )
    .await;
    assert_eq!(status, 422, "{wrong}");
    let message = field_error(&wrong, "spec.port").expect("spec.port");
    assert!(
        message.contains("listens on port 9090, not 8080"),
        "{message}"
    );
    let (status, unknown) = submit(
        &app,
        Persona::EngineerA,
        &exposure("demo", "no-such-service", 9100, "nginx"),
    )
    .await;
    assert_eq!(status, 422, "{unknown}");
    assert!(field_error(&unknown, "spec.service").is_some(), "{unknown}");
}

fn quick_worker() -> WorkerSettings {
    WorkerSettings {
        lease_seconds: 10,
        max_attempts: 2,
        backoff_base_ms: 100,
        backoff_max_ms: 400,
        poll_seconds: 1,
        readiness_timeout_seconds: 10,
        request_timeout_seconds: 5,
        ..WorkerSettings::default()
    }
}

/// The app with a worker for cluster `kind` (the test API server, where ingress-nginx is
/// installed), and service `relay` of payments applied there.
async fn with_relay_on_a_cluster(db: Db, kube: &KubeApi) -> TestApp {
    with_relay(db, kube, true).await
}

/// The same; without `worker`, the worker that applied `relay` stops afterwards.
async fn with_relay(db: Db, kube: &KubeApi, worker: bool) -> TestApp {
    kube.apply_as(
        "helm",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ingress-nginx"}}),
    )
    .await;
    let options = Options {
        worker,
        clusters: vec![kube.cluster("kind", "worker-a").await],
        worker_settings: Some(quick_worker()),
        ..Options::default()
    };
    let app = spawn_with(db, options, None).await;
    let relay = json!({
        "kind": "service", "team": "payments", "cluster": "kind",
        "spec": {"name": "relay", "image": "ghcr.io/acme/relay:1.0.0", "port": 8080}
    });
    let temporary = (!worker).then(|| app.start_worker());
    applied(&app, &relay).await;
    drop(temporary);
    app
}

/// Submitted, approved and applied; the request's detail.
async fn applied(app: &TestApp, body: &Value) -> Value {
    let id = app.submit_approved(body).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(
        detail["request"]["status"], "applied",
        "{}",
        detail["events"]
    );
    detail
}

/// The last object of `kind` named `name` the test API server received.
async fn last_write(kube: &KubeApi, kind: &str, name: &str) -> Value {
    kube.writes()
        .await
        .into_iter()
        .rev()
        .find(|w| w["kind"] == kind && w["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} was written"))
}

async fn nginx_exposures_reach_the_shared_config_map_and_keep_each_other(db: Db) {
    let kube = KubeApi::start(&[]).await;
    let app = with_relay_on_a_cluster(db, &kube).await;

    let first = applied(&app, &exposure("kind", "relay", 9000, "nginx")).await;
    let write = last_write(&kube, "ConfigMap", "tcp-services").await;
    assert_eq!(write["namespace"], "ingress-nginx");
    assert_eq!(write["field_manager"], "stargate");
    assert_eq!(
        write["object"]["data"],
        json!({"9000": "payments/relay:8080"})
    );
    assert!(
        first["notes"][0]
            .as_str()
            .unwrap_or_default()
            .contains("--tcp-services-configmap=ingress-nginx/tcp-services"),
        "{}",
        first["notes"]
    );

    // A second port: its plan shows only the new key, and applying it keeps the first.
    let second = exposure("kind", "relay", 9001, "nginx");
    let (status, pending) = submit(&app, Persona::EngineerA, &second).await;
    assert_eq!(status, 201, "{pending}");
    let config_map = pending["plan"]["objects"]
        .as_array()
        .and_then(|objects| objects.iter().find(|o| o["kind"] == "ConfigMap"))
        .expect("the ConfigMap is planned");
    assert_eq!(config_map["change"]["action"], "update", "{config_map}");
    let paths: Vec<&str> = config_map["change"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(paths, ["data.9001"]);
    let id = pending["request"]["id"].as_i64().expect("id");
    let approved = app.approve(Persona::LeadA, id).await;
    assert_eq!(approved.status(), 200);
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(
        detail["request"]["status"], "applied",
        "{}",
        detail["events"]
    );
    let write = last_write(&kube, "ConfigMap", "tcp-services").await;
    assert_eq!(
        write["object"]["data"],
        json!({"9000": "payments/relay:8080", "9001": "payments/relay:8080"}),
        "the first entry stays"
    );

    // Now in the catalog: the port has its owner, and the service page lists both.
    let (status, refused) = submit(
        &app,
        Persona::EngineerA,
        &exposure("kind", "relay", 9000, "nginx"),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let message = field_error(&refused, "spec.external_port").expect("spec.external_port");
    assert!(message.contains("payments/relay"), "{message}");
    let (_, service) = app.get_json("/api/v1/services/payments/relay").await;
    let exposed: Vec<(&str, u64, &str)> = service["exposures"]
        .as_array()
        .expect("exposures")
        .iter()
        .map(|e| {
            (
                e["protocol"].as_str().unwrap_or_default(),
                e["external_port"].as_u64().unwrap_or_default(),
                e["via"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(exposed, [("tcp", 9000, "nginx"), ("tcp", 9001, "nginx")]);
    let titles: Vec<&str> = service["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|r| r["title"].as_str())
        .collect();
    assert!(
        titles.contains(&"exposure tcp 9001 → relay"),
        "in the service's history: {titles:?}"
    );
    let (status, page) = app.get_page("/services/payments/relay").await;
    assert_eq!(status, 200);
    assert!(page.contains("TCP 9001"), "the page lists the exposure");
}

/// The plan whose field changes are `data.<port>` of the ConfigMap, as a reviewer reads it.
fn config_map_fields(detail: &Value) -> Vec<String> {
    detail["plan"]["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["kind"] == "ConfigMap")
        .flat_map(|o| {
            o["change"]["fields"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|f| f["path"].as_str().map(str::to_owned))
        .collect()
}

/// Two exposures approved before either is applied: whichever the worker takes second was
/// rendered without the other's entry. Its plan still reads the same (one key added to a
/// ConfigMap that exists), but applying it as approved would remove the other's entry, so
/// it goes back to review with a ConfigMap that carries both.
async fn an_exposure_overtaken_by_another_goes_back_to_review_and_keeps_it(db: Db) {
    let kube = KubeApi::start(&[]).await;
    let app = with_relay(db, &kube, false).await;
    let worker = app.start_worker();
    applied(&app, &exposure("kind", "relay", 8000, "nginx")).await;
    drop(worker);
    let a = app
        .submit_approved(&exposure("kind", "relay", 9000, "nginx"))
        .await;
    let b = app
        .submit_approved(&exposure("kind", "relay", 9001, "nginx"))
        .await;
    let worker = app.start_worker();
    let mut outcomes = Vec::new();
    for id in [a, b] {
        let detail = app
            .settled(id, &["applied", "pending_review", "failed"])
            .await;
        outcomes.push((id, detail));
    }
    let statuses: Vec<&str> = outcomes
        .iter()
        .map(|(_, d)| d["request"]["status"].as_str().unwrap_or_default())
        .collect();
    assert!(
        statuses.contains(&"applied") && statuses.contains(&"pending_review"),
        "one applied, one back to review: {statuses:?}"
    );
    let (again, replanned) = outcomes
        .iter()
        .find(|(_, d)| d["request"]["status"] == "pending_review")
        .expect("the overtaken one");
    let port = if *again == a { 9000 } else { 9001 };
    assert_eq!(config_map_fields(replanned), [format!("data.{port}")]);
    let approved = app.approve(Persona::LeadA, *again).await;
    assert_eq!(approved.status(), 200);
    let detail = app.settled(*again, &["applied", "failed"]).await;
    assert_eq!(
        detail["request"]["status"], "applied",
        "{}",
        detail["events"]
    );
    let write = last_write(&kube, "ConfigMap", "tcp-services").await;
    assert_eq!(
        write["object"]["data"],
        json!({"8000": "payments/relay:8080", "9000": "payments/relay:8080",
               "9001": "payments/relay:8080"}),
    );
    drop(worker);
}

async fn an_nlb_exposure_reaches_the_api_server_as_a_load_balancer_service(db: Db) {
    let kube = KubeApi::start(&["--rollout-ms", "300"]).await;
    let app = with_relay_on_a_cluster(db, &kube).await;
    let (_, service) = app.get_json("/api/v1/services/payments/relay").await;
    assert_eq!(service["exposures"], json!([]), "none yet");
    let (_, page) = app.get_page("/services/payments/relay").await;
    assert!(
        page.contains("No port exposed over TCP or UDP."),
        "empty state"
    );
    assert!(
        page.contains(
            "/requests/new?kind=exposure&amp;team=payments&amp;cluster=kind&amp;spec.service=relay&amp;spec.port=8080"
        ),
        "the form opens with the service and its port: {page}"
    );

    let mut body = exposure("kind", "relay", 5432, "nlb");
    body["spec"]["scheme"] = json!("internet-facing");
    let detail = applied(&app, &body).await;
    let write = last_write(&kube, "Service", "relay-tcp-5432").await;
    assert_eq!(write["namespace"], "payments");
    let object = &write["object"];
    let annotations = &object["metadata"]["annotations"];
    assert_eq!(
        annotations["service.beta.kubernetes.io/aws-load-balancer-type"],
        "external"
    );
    assert_eq!(
        annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"],
        "ip"
    );
    assert_eq!(
        annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"],
        "internet-facing"
    );
    assert_eq!(object["spec"]["type"], "LoadBalancer");
    assert_eq!(
        object["spec"]["ports"],
        json!([{"name": "tcp", "protocol": "TCP", "port": 5432, "targetPort": 8080}])
    );
    // The pods the service's own Service selects.
    let own = last_write(&kube, "Service", "relay").await;
    assert_eq!(
        object["spec"]["selector"],
        own["object"]["spec"]["selector"]
    );
    // Applied means the NLB has an address: the worker waited for it.
    let waited = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .any(|e| {
            e["detail"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("waiting for Service payments/relay-tcp-5432"))
        });
    assert!(waited, "{}", detail["events"]);

    let (_, service) = app.get_json("/api/v1/services/payments/relay").await;
    assert_eq!(
        service["exposures"],
        json!([{"protocol": "tcp", "external_port": 5432, "port": 8080, "via": "nlb",
                "scheme": "internet-facing"}])
    );
}

on_both_databases!(
    a_second_request_for_an_external_port_is_refused_naming_the_first,
    nginx_exposures_reach_the_shared_config_map_and_keep_each_other,
    an_exposure_overtaken_by_another_goes_back_to_review_and_keeps_it,
    an_nlb_exposure_reaches_the_api_server_as_a_load_balancer_service,
);
