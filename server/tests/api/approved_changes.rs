//! What reaches the cluster is exactly what a lead approved, and nothing else: every
//! applied object was reviewed, approvals bind to the plan shown, a change is checked again
//! when its job is claimed and when it is retried, a host has one owner from submit on, and
//! jobs that can never succeed end.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use server::config::WorkerSettings;

use crate::{
    helpers::{Db, Options, Persona, TestApp, spawn_app, spawn_with},
    kube_api::KubeApi,
    on_both_databases,
};

fn quick_worker() -> WorkerSettings {
    WorkerSettings {
        lease_seconds: 10,
        max_attempts: 3,
        backoff_base_ms: 100,
        backoff_max_ms: 400,
        poll_seconds: 1,
        readiness_timeout_seconds: 10,
        request_timeout_seconds: 5,
        ..WorkerSettings::default()
    }
}

/// The app with a `kind` cluster behind the test API server; its worker runs only when the
/// test starts one (`app.start_worker()`), so jobs can be queued first.
async fn spawn_with_cluster(db: Db, kube: &KubeApi) -> TestApp {
    let options = Options {
        clusters: vec![kube.cluster("kind", "worker").await],
        worker_settings: Some(quick_worker()),
        ..Options::default()
    };
    spawn_with(db, options, None).await
}

fn request(kind: &str, cluster: &str, spec: Value) -> Value {
    json!({"kind": kind, "team": "payments", "cluster": cluster, "reason": "test", "spec": spec})
}

fn ledger(image: &str) -> Value {
    request(
        "service",
        "demo",
        json!({"name": "ledger", "image": image, "port": 8080, "replicas": 3}),
    )
}

async fn submit(app: &TestApp, body: &Value) -> Value {
    let response = app
        .request(Persona::EngineerA, Method::POST, "/api/v1/requests")
        .json(body)
        .send()
        .await
        .expect("submit");
    let status = response.status().as_u16();
    let created: Value = response.json().await.expect("json");
    assert_eq!(status, 201, "{created}");
    created
}

fn id_of(detail: &Value) -> i64 {
    detail["request"]["id"].as_i64().expect("id")
}

async fn detail(app: &TestApp, id: i64) -> Value {
    app.get_json(&format!("/api/v1/requests/{id}")).await.1
}

/// Waits until request `id` reaches one of `statuses`.
async fn settled(app: &TestApp, id: i64, statuses: &[&str]) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let detail = detail(app, id).await;
        let status = detail["request"]["status"].as_str().unwrap_or_default();
        if statuses.contains(&status) {
            return detail;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "request {id} is still {status}: {:#}",
            detail["events"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn actions(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn approve(app: &TestApp, id: i64) {
    let response = app.approve(Persona::LeadA, id).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

/// The image change in a plan's Deployment entry: `(before, after)`.
fn image_change(plan: &Value) -> (Value, Value) {
    let deployment = plan["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("a Deployment in the plan");
    assert_eq!(deployment["change"]["action"], "update", "{deployment}");
    let field = deployment["change"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["path"] == "spec.template.spec.containers[0].image")
        .expect("the image changes");
    (field["before"].clone(), field["after"].clone())
}

fn yaml_documents(yaml: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).expect("YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

// ---- 1. Every object applied was reviewed ------------------------------------------------

async fn every_applied_object_is_a_reviewed_object_for_each_kind(db: Db) {
    let kube = KubeApi::start(&["--rollout-ms", "0"]).await;
    let app = spawn_with_cluster(db, &kube).await;
    let _worker = app.start_worker();
    let requests = [
        // Secrets by reference: a Secret's key, and an ExternalSecret the request renders.
        request(
            "service",
            "kind",
            json!({"name": "orders", "image": "ghcr.io/acme/orders:1.0.0", "port": 8080,
                   "env": {"DB_PASSWORD": {"secret": "orders-db", "key": "password"},
                           "STRIPE_KEY": {"external": {"store": "vault", "key": "payments/stripe"}}}}),
        ),
        request(
            "certificate",
            "kind",
            json!({"name": "orders-tls", "dns_names": ["orders.payments.example.com"],
                   "issuer": "letsencrypt-prod"}),
        ),
        // Needs the service and the certificate applied first.
        request(
            "ingress",
            "kind",
            json!({"host": "orders.payments.example.com", "service": "orders", "port": 8080,
                   "class": "nginx", "tls": "cert_manager"}),
        ),
    ];
    for body in &requests {
        let before = kube.writes().await.len();
        let id = id_of(&submit(&app, body).await);
        approve(&app, id).await;
        let done = settled(&app, id, &["applied", "failed"]).await;
        assert_eq!(done["request"]["status"], "applied", "{:#}", done["events"]);
        let manifests = app
            .get(&format!("/api/v1/requests/{id}/manifests"))
            .await
            .text()
            .await
            .expect("manifests");
        let reviewed = yaml_documents(&manifests);
        let applied: Vec<Value> = kube.writes().await[before..]
            .iter()
            .map(|w| w["object"].clone())
            .collect();
        assert_eq!(
            applied, reviewed,
            "{}: the objects the API server received are the reviewed manifests",
            body["kind"]
        );
        assert_eq!(reviewed[0]["kind"], "Namespace", "{}", body["kind"]);
        if body["kind"] == "service" {
            let kinds: Vec<&str> = reviewed.iter().filter_map(|o| o["kind"].as_str()).collect();
            assert_eq!(
                kinds,
                ["Namespace", "ExternalSecret", "Deployment", "Service"]
            );
            let env = &reviewed[2]["spec"]["template"]["spec"]["containers"][0]["env"];
            assert_eq!(
                env[0]["valueFrom"]["secretKeyRef"],
                json!({"name": "orders-db", "key": "password"})
            );
            assert_eq!(
                env[1]["valueFrom"]["secretKeyRef"],
                json!({"name": "orders-env", "key": "STRIPE_KEY"})
            );
        }
    }
}

// ---- 2. An approval binds to the plan the lead saw ---------------------------------------

async fn an_approval_of_a_plan_that_changed_is_refused_and_not_recorded(db: Db) {
    let app = spawn_with(
        db,
        Options {
            worker: true,
            ..Options::default()
        },
        None,
    )
    .await;
    let first = submit(&app, &ledger("ghcr.io/acme/ledger:3.1.0")).await;
    let id = id_of(&first);
    let seen = first["plan"]["hash"].as_str().expect("hash").to_owned();

    // Another change to the same Deployment lands meanwhile: the plan the lead read is old.
    let other = id_of(&submit(&app, &ledger("ghcr.io/acme/ledger:3.2.0")).await);
    approve(&app, other).await;
    settled(&app, other, &["applied"]).await;

    let approve_seen = || async {
        let response = app
            .request(
                Persona::LeadA,
                Method::POST,
                &format!("/api/v1/requests/{id}/approve"),
            )
            .json(&json!({ "comment": "ok", "plan_hash": seen }))
            .send()
            .await
            .expect("approve");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.expect("json"))
    };
    let (status, body) = approve_seen().await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "plan_changed");
    let current = body["plan"]["hash"].as_str().expect("the current plan");
    assert_ne!(current, seen);
    // The current plan compares against what is live now: 3.2.0 → 3.1.0.
    assert_eq!(
        image_change(&body["plan"]),
        (
            json!("ghcr.io/acme/ledger:3.2.0"),
            json!("ghcr.io/acme/ledger:3.1.0")
        )
    );
    // The same stale hash again: still refused; no approval was ever recorded.
    assert_eq!(approve_seen().await.0, 409);
    assert_eq!(
        app.count_rows("approvals").await,
        1,
        "only the other request's"
    );
    let now = detail(&app, id).await;
    assert_eq!(now["request"]["status"], "pending_review");
    assert_eq!(now["plan"]["hash"], current);

    // A rejection binds to the plan too, and the current hash works.
    let (status, _) = {
        let response = app
            .request(
                Persona::LeadA,
                Method::POST,
                &format!("/api/v1/requests/{id}/reject"),
            )
            .json(&json!({ "comment": "no", "plan_hash": seen }))
            .send()
            .await
            .expect("reject");
        (response.status().as_u16(), ())
    };
    assert_eq!(status, 409);
    approve(&app, id).await;
}

async fn a_review_without_a_plan_hash_names_the_field(db: Db) {
    let app = spawn_app(db).await;
    let id = id_of(&submit(&app, &ledger("ghcr.io/acme/ledger:3.1.0")).await);
    let response = app
        .request(
            Persona::LeadA,
            Method::POST,
            &format!("/api/v1/requests/{id}/approve"),
        )
        .json(&json!({ "comment": "ok" }))
        .send()
        .await
        .expect("approve");
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["fields"][0]["path"], "plan_hash", "{body}");
    assert_eq!(app.count_rows("approvals").await, 0);
}

// ---- 3. Checked again when the worker takes the job --------------------------------------

async fn a_queued_change_overtaken_before_its_claim_goes_back_to_review(db: Db) {
    let app = spawn_app(db).await;
    // Both approved against the same live Deployment, before either is applied.
    let first = id_of(&submit(&app, &ledger("ghcr.io/acme/ledger:3.1.0")).await);
    let second = id_of(&submit(&app, &ledger("ghcr.io/acme/ledger:3.2.0")).await);
    approve(&app, first).await;
    approve(&app, second).await;
    let approved_plan = detail(&app, second).await["plan"]["hash"].clone();

    let _worker = app.start_worker();
    settled(&app, first, &["applied"]).await;
    let back = settled(&app, second, &["pending_review", "applied", "failed"]).await;
    assert_eq!(
        back["request"]["status"], "pending_review",
        "{:#}",
        back["events"]
    );
    assert!(actions(&back).contains(&"request.replanned".to_owned()));
    assert_ne!(back["plan"]["hash"], approved_plan);
    assert_eq!(
        back["approvals"],
        json!([]),
        "approvals of the old plan no longer count"
    );
    // Its new plan is a diff against the first change, for a lead to review.
    assert_eq!(
        image_change(&back["plan"]),
        (
            json!("ghcr.io/acme/ledger:3.1.0"),
            json!("ghcr.io/acme/ledger:3.2.0")
        )
    );
    // The catalog runs the first change; the second left the queue.
    let (_, service) = app.get_json("/api/v1/services/payments/ledger").await;
    assert_eq!(service["image"], "ghcr.io/acme/ledger:3.1.0", "{service}");
    let (_, queue) = app.get_json("/api/v1/requests?status=queued").await;
    assert_eq!(queue["total"], 0, "{queue}");

    // Reviewed again and approved, it applies.
    approve(&app, second).await;
    settled(&app, second, &["applied"]).await;
}

// ---- 4. One host, one owner ---------------------------------------------------------------

fn ingress(host: &str, service: &str) -> Value {
    request(
        "ingress",
        "demo",
        json!({"host": host, "service": service, "port": 8080, "class": "nginx"}),
    )
}

async fn refused_with(app: &TestApp, body: &Value) -> Value {
    let response = app
        .request(Persona::EngineerA, Method::POST, "/api/v1/requests")
        .json(body)
        .send()
        .await
        .expect("submit");
    assert_eq!(response.status(), 422);
    response.json().await.expect("json")
}

async fn a_host_is_held_from_submit_and_a_second_request_names_the_holder(db: Db) {
    let app = spawn_app(db).await;
    let host = "shop.payments.example.com";
    let first = id_of(&submit(&app, &ingress(host, "checkout-api")).await);

    let refused = refused_with(&app, &ingress(host, "refunds")).await;
    assert_eq!(refused["fields"][0]["path"], "spec.host", "{refused}");
    let message = refused["fields"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("request #{first}")), "{message}");
    assert_eq!(app.count_rows("requests").await, 1, "nothing stored");

    // Cancelled, the host is free again.
    let cancelled = app
        .request(
            Persona::EngineerA,
            Method::POST,
            &format!("/api/v1/requests/{first}/cancel"),
        )
        .send()
        .await
        .expect("cancel");
    assert_eq!(cancelled.status(), 200);
    submit(&app, &ingress(host, "refunds")).await;

    // A host the catalog gives to a service is refused too, and its owner stays.
    let served = refused_with(&app, &ingress("merchants.payments.example.com", "ledger")).await;
    assert!(
        served["fields"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("merchant-portal")),
        "{served}"
    );
    let (_, hosts) = app.get_json("/api/v1/hosts?per_page=100").await;
    let owner = hosts["items"]
        .as_array()
        .expect("hosts")
        .iter()
        .find(|h| h["host"] == "merchants.payments.example.com")
        .map(|h| h["service"].clone());
    assert_eq!(owner, Some(json!("merchant-portal")), "{hosts}");
}

async fn requests_for_one_host_at_the_same_moment_get_one_hold(db: Db) {
    let app = spawn_app(db).await;
    let body = ingress("race.payments.example.com", "checkout-api");
    let sends = (0..6).map(|_| {
        app.request(Persona::EngineerA, Method::POST, "/api/v1/requests")
            .json(&body)
            .send()
    });
    let statuses: Vec<u16> = futures::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.expect("submit").status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 422),
        "{statuses:?}"
    );
    assert_eq!(app.count_rows("requests").await, 1);
}

async fn a_waiting_request_that_no_longer_passes_leaves_the_queue_with_the_reason(db: Db) {
    let app = spawn_with(
        db,
        Options {
            worker: true,
            ..Options::default()
        },
        None,
    )
    .await;
    let waiting = id_of(&submit(&app, &ingress("books.payments.example.com", "ledger")).await);
    // Ledger moves to port 9090: an ingress to 8080 would route nowhere.
    let moved = request(
        "service",
        "demo",
        json!({"name": "ledger", "image": "ghcr.io/acme/ledger:3.0.0", "port": 9090, "replicas": 3}),
    );
    let mover = id_of(&submit(&app, &moved).await);
    approve(&app, mover).await;
    settled(&app, mover, &["applied"]).await;

    let failed = settled(&app, waiting, &["failed"]).await;
    let event = failed["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "request.fail")
        .expect("a failure event")
        .clone();
    assert!(
        event["detail"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("listens on port 9090")),
        "{event}"
    );
    let queue: Value = app
        .request(Persona::LeadA, Method::POST, "/rpc/reviews")
        .json(&json!({}))
        .send()
        .await
        .expect("review queue")
        .json()
        .await
        .expect("json");
    let ids: Vec<i64> = queue
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    assert!(!ids.contains(&waiting), "{queue}");
}

// ---- 5. Retry re-plans ---------------------------------------------------------------------

async fn a_retry_does_not_roll_back_a_later_change_unreviewed(db: Db) {
    let kube = KubeApi::start(&["--rollout-ms", "0"]).await;
    let app = spawn_with_cluster(db, &kube).await;
    let _worker = app.start_worker();
    let orders = |image: &str| {
        request(
            "service",
            "kind",
            json!({"name": "orders", "image": image, "port": 8080}),
        )
    };
    // A fails: the API server refuses its Deployment.
    kube.control(json!({"reject_names": ["orders"]})).await;
    let a = id_of(&submit(&app, &orders("ghcr.io/acme/orders:1.0.0")).await);
    approve(&app, a).await;
    settled(&app, a, &["failed"]).await;
    // B, the same Deployment with another image, is applied.
    kube.control(json!({"reject_names": []})).await;
    let b = id_of(&submit(&app, &orders("ghcr.io/acme/orders:2.0.0")).await);
    approve(&app, b).await;
    settled(&app, b, &["applied"]).await;
    let writes = kube.writes().await.len();

    let response = app
        .request(
            Persona::LeadA,
            Method::POST,
            &format!("/api/v1/requests/{a}/retry"),
        )
        .send()
        .await
        .expect("retry");
    assert_eq!(response.status(), 200);
    let retried: Value = response.json().await.expect("json");
    assert_eq!(retried["request"]["status"], "pending_review", "{retried}");
    assert_eq!(
        image_change(&retried["plan"]),
        (
            json!("ghcr.io/acme/orders:2.0.0"),
            json!("ghcr.io/acme/orders:1.0.0")
        )
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        kube.writes().await.len(),
        writes,
        "nothing applied unreviewed"
    );
    assert_eq!(detail(&app, a).await["request"]["status"], "pending_review");
}

// ---- 7. Jobs that can never succeed end ----------------------------------------------------

async fn a_job_whose_stored_request_no_longer_reads_fails_after_one_attempt(db: Db) {
    let app = spawn_app(db).await;
    let id = id_of(&submit(&app, &ledger("ghcr.io/acme/ledger:3.1.0")).await);
    approve(&app, id).await;
    app.execute(&format!(
        "UPDATE requests SET spec_json = '{{\"name\": 5}}' WHERE id = {id}"
    ))
    .await;
    let _worker = app.start_worker();
    let failed = settled(&app, id, &["failed"]).await;
    let error = failed["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "request.fail")
        .map(|e| e["detail"]["error"].clone());
    assert!(
        error
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|e| e.contains("no longer reads as valid")),
        "{error:?}"
    );
    // One attempt, then never again (the worker polls every second).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.count_where("jobs", "status = 'failed' AND attempts = 1")
            .await,
        1
    );
}

async fn a_job_whose_worker_died_on_its_last_attempt_fails_instead_of_running_again(db: Db) {
    let app = spawn_app(db).await;
    let id = id_of(&submit(&app, &ledger("ghcr.io/acme/ledger:3.1.0")).await);
    approve(&app, id).await;
    let max = app.settings.worker.max_attempts;
    // A worker took the job for its last attempt, then died: its lease ran out long ago.
    app.execute(&format!(
        "UPDATE jobs SET status = 'running', attempts = {max}, lease_owner = 'worker:dead',
             lease_until = '2000-01-01T00:00:00Z' WHERE request_id = {id}"
    ))
    .await;
    app.execute(&format!(
        "UPDATE requests SET status = 'applying' WHERE id = {id}"
    ))
    .await;
    let _worker = app.start_worker();
    let failed = settled(&app, id, &["failed", "applied"]).await;
    assert_eq!(
        failed["request"]["status"], "failed",
        "{:#}",
        failed["events"]
    );
    assert!(
        failed
            .to_string()
            .contains(&format!("gave up after {max} attempts")),
        "{:#}",
        failed["events"]
    );
    assert_eq!(
        app.count_where("jobs", &format!("attempts = {max} AND status = 'failed'"))
            .await,
        1,
        "attempts never exceed max_attempts"
    );
}

on_both_databases!(
    every_applied_object_is_a_reviewed_object_for_each_kind,
    an_approval_of_a_plan_that_changed_is_refused_and_not_recorded,
    a_review_without_a_plan_hash_names_the_field,
    a_queued_change_overtaken_before_its_claim_goes_back_to_review,
    a_host_is_held_from_submit_and_a_second_request_names_the_holder,
    requests_for_one_host_at_the_same_moment_get_one_hold,
    a_waiting_request_that_no_longer_passes_leaves_the_queue_with_the_reason,
    a_retry_does_not_roll_back_a_later_change_unreviewed,
    a_job_whose_stored_request_no_longer_reads_fails_after_one_attempt,
    a_job_whose_worker_died_on_its_last_attempt_fails_instead_of_running_again,
);
