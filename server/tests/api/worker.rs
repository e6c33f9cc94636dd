//! The worker against the test Kubernetes API server: approved requests are applied with
//! server-side apply, waited on until ready and recorded; failures retry with backoff or
//! end `failed` with the API server's message.

use reqwest::Method;
use serde_json::{Value, json};
use server::config::WorkerSettings;

use crate::{
    helpers::{Db, Options, Persona, TestApp, spawn_with},
    kube_api::KubeApi,
    on_both_databases,
};

fn quick_worker() -> WorkerSettings {
    WorkerSettings {
        lease_seconds: 10,
        max_attempts: 4,
        backoff_base_ms: 100,
        backoff_max_ms: 400,
        poll_seconds: 1,
        readiness_timeout_seconds: 10,
        request_timeout_seconds: 5,
        ..WorkerSettings::default()
    }
}

async fn spawn_with_cluster(db: Db, kube: &KubeApi, worker: WorkerSettings) -> TestApp {
    let options = Options {
        worker: true,
        clusters: vec![kube.cluster("kind", "worker-a").await],
        worker_settings: Some(worker),
        ..Options::default()
    };
    spawn_with(db, options, None).await
}

fn service(name: &str) -> Value {
    json!({
        "kind": "service", "team": "payments", "cluster": "kind", "reason": "worker test",
        "spec": {"name": name, "image": "ghcr.io/acme/orders:1.0.0", "port": 8080, "replicas": 2}
    })
}

fn timeline(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|e| {
                    let message = e["detail"]["message"]
                        .as_str()
                        .or(e["detail"]["error"].as_str())
                        .unwrap_or_default();
                    format!("{} {message}", e["action"].as_str().unwrap_or_default())
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn an_approved_service_is_applied_ready_and_recorded(db: Db) {
    let kube = KubeApi::start(&["--rollout-ms", "300"]).await;
    let app = spawn_with_cluster(db, &kube, quick_worker()).await;
    let before = app.get_json("/api/v1/services").await.1["total"].as_u64();
    let id = app.submit_approved(&service("orders")).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(
        detail["request"]["status"],
        "applied",
        "{:?}",
        timeline(&detail)
    );
    // The catalog's total counts the new service.
    let after = app.get_json("/api/v1/services").await.1["total"].as_u64();
    assert_eq!(after, before.map(|n| n + 1));

    // The API server received server-side applies, in dependency order, from `stargate`.
    let writes = kube.writes().await;
    let kinds: Vec<&str> = writes.iter().filter_map(|w| w["kind"].as_str()).collect();
    assert_eq!(kinds, ["Namespace", "Deployment", "Service"]);
    for write in &writes {
        assert_eq!(write["method"], "PATCH");
        assert_eq!(write["field_manager"], "stargate");
        assert_eq!(write["force"], true);
        assert_eq!(write["token"], "worker-a");
    }
    assert_eq!(
        writes[1]["object"]["metadata"]["labels"]["stargate.dev/request"],
        id.to_string()
    );

    // The timeline tells the story; the wait was for the rollout.
    let story = timeline(&detail);
    let has = |needle: &str| story.iter().any(|line| line.contains(needle));
    assert!(has("request.claim"), "{story:?}");
    assert!(
        has("applying Deployment payments/orders (2 of 3)"),
        "{story:?}"
    );
    assert!(
        has("waiting for Deployment payments/orders to be ready"),
        "{story:?}"
    );
    assert!(has("request.succeed"), "{story:?}");
    // The steps are written in batches, and with the job's end: still in the order they
    // happened, all before the end.
    let at = |needle: &str| story.iter().position(|line| line.contains(needle));
    let order = [
        "request.claim",
        "applying Namespace payments (1 of 3)",
        "applying Deployment payments/orders (2 of 3)",
        "applying Service payments/orders (3 of 3)",
        "waiting for Deployment payments/orders to be ready",
        "apply.progress ready",
        "request.succeed",
    ]
    .map(at);
    assert!(
        order.iter().all(Option::is_some) && order.is_sorted(),
        "{order:?} in {story:?}"
    );

    // The catalog holds the service as applied.
    let (status, service) = app.get_json("/api/v1/services/payments/orders").await;
    assert_eq!(status, 200, "{service}");
    assert_eq!(service["status"], "live");
    assert_eq!(service["cluster"], "kind");
    // ... with what was applied, and the request that did it.
    let applied = service["applied_manifests"].as_str().unwrap_or_default();
    assert!(
        applied.contains("image: ghcr.io/acme/orders:1.0.0"),
        "{applied}"
    );
    assert!(applied.contains("kind: Service"), "{applied}");
    assert_eq!(service["history"][0]["id"], id);
    assert_eq!(service["history"][0]["status"], "applied");

    // An ALB ingress with instance targets on it: the Service is switched to NodePort
    // before the Ingress, and the ingress waits for its load balancer.
    let ingress = json!({
        "kind": "ingress", "team": "payments", "cluster": "kind",
        "spec": {"host": "orders.payments.example.com", "service": "orders", "port": 8080,
                 "class": "alb", "alb": {"target_type": "instance"}}
    });
    let id = app.submit_approved(&ingress).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(
        detail["request"]["status"],
        "applied",
        "{:?}",
        timeline(&detail)
    );
    let writes = kube.writes().await;
    let last: Vec<(&str, &str)> = writes[3..]
        .iter()
        .map(|w| {
            (
                w["kind"].as_str().unwrap_or_default(),
                w["object"]["spec"]["type"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    // The team's namespace is made sure of first (unchanged: same labels as before).
    assert_eq!(
        last,
        [
            ("Namespace", "-"),
            ("Service", "NodePort"),
            ("Ingress", "-")
        ]
    );
    let (_, hosts) = app.get_json("/api/v1/hosts?per_page=100").await;
    assert!(hosts.to_string().contains("orders.payments.example.com"));

    // /metrics counts the work per cluster.
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("stargate_job_attempts_total{cluster=\"kind\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("stargate_job_duration_seconds_count{cluster=\"kind\"} 2"));
    assert!(metrics.contains("stargate_jobs_queue_depth"));
}

/// A worker applies jobs on different services side by side: three queued while no worker
/// ran are all sent to the API server before the first one's rollout (1.5 s) is over, and
/// each still waits for its own rollout.
async fn jobs_on_different_services_are_applied_side_by_side(db: Db) {
    let kube = KubeApi::start(&["--rollout-ms", "1500"]).await;
    let options = Options {
        worker: false,
        clusters: vec![kube.cluster("kind", "worker-a").await],
        worker_settings: Some(quick_worker()),
        ..Options::default()
    };
    let app = spawn_with(db, options, None).await;
    let mut ids = Vec::new();
    for name in ["side-a", "side-b", "side-c"] {
        ids.push(app.submit_approved(&service(name)).await);
    }
    let _worker = app.start_worker();
    for id in ids {
        let detail = app.settled(id, &["applied", "failed"]).await;
        assert_eq!(
            detail["request"]["status"],
            "applied",
            "{:?}",
            timeline(&detail)
        );
    }
    let deployments: Vec<f64> = kube
        .writes()
        .await
        .iter()
        .filter(|w| w["kind"] == "Deployment")
        .filter_map(|w| w["start"].as_f64())
        .collect();
    assert_eq!(deployments.len(), 3);
    let first = deployments.iter().copied().fold(f64::INFINITY, f64::min);
    let last = deployments.iter().copied().fold(0.0, f64::max);
    assert!(
        last - first < 1.5,
        "the last Deployment was sent {:.2} s after the first: the jobs ran one after another",
        last - first
    );
}

async fn server_errors_are_retried_with_backoff_until_applied(db: Db) {
    let kube = KubeApi::start(&["--fail-writes", "2", "--fail-status", "500"]).await;
    let app = spawn_with_cluster(db, &kube, quick_worker()).await;
    let id = app.submit_approved(&service("payouts-v2")).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    let story = timeline(&detail);
    assert_eq!(detail["request"]["status"], "applied", "{story:?}");
    let retries: Vec<&String> = story.iter().filter(|l| l.contains("retrying in")).collect();
    assert_eq!(retries.len(), 2, "{story:?}");
    assert!(retries[0].contains("HTTP 500"), "{story:?}");
    let writes = kube.writes().await;
    let failed = writes.iter().filter(|w| w["status"] == 500).count();
    assert_eq!(failed, 2);
    // Converged: each object applied successfully in the end, and applying again
    // changed nothing.
    let ok: Vec<&str> = writes
        .iter()
        .filter(|w| w["status"].as_u64().is_some_and(|s| s < 300))
        .filter_map(|w| w["kind"].as_str())
        .collect();
    assert!(
        ok.ends_with(&["Namespace", "Deployment", "Service"]),
        "{ok:?}"
    );
}

async fn a_hung_api_server_times_out_and_is_retried(db: Db) {
    let kube = KubeApi::start(&["--hang-writes", "1", "--hang-ms", "4000"]).await;
    let worker = WorkerSettings {
        request_timeout_seconds: 1,
        ..quick_worker()
    };
    let app = spawn_with_cluster(db, &kube, worker).await;
    let id = app.submit_approved(&service("slowpoke")).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    let story = timeline(&detail);
    assert_eq!(detail["request"]["status"], "applied", "{story:?}");
    let retry = story
        .iter()
        .find(|l| l.contains("retrying in"))
        .expect("a retry after the timeout");
    assert!(retry.contains("attempt 1 failed"), "{retry}");
}

async fn an_invalid_object_fails_with_the_api_servers_message(db: Db) {
    let kube = KubeApi::start(&["--reject-names", "Deployment/broken"]).await;
    let app = spawn_with_cluster(db, &kube, quick_worker()).await;
    let id = app.submit_approved(&service("broken")).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "failed");
    let failure = detail["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["action"] == "request.fail"))
        .cloned()
        .expect("a request.fail event");
    let error = failure["detail"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("rejected Deployment payments/broken"),
        "{error}"
    );
    assert!(error.contains("is invalid"), "{error}");
    // A 422 is not retried.
    assert_eq!(
        kube.writes()
            .await
            .iter()
            .filter(|w| w["status"] == 422)
            .count(),
        1
    );

    // A lead puts it back in the queue once the cause is fixed.
    kube.control(json!({"reject_names": []})).await;
    let retried = app
        .request(
            Persona::LeadA,
            Method::POST,
            &format!("/api/v1/requests/{id}/retry"),
        )
        .send()
        .await
        .expect("retry");
    assert_eq!(retried.status(), 200);
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(
        detail["request"]["status"],
        "applied",
        "{:?}",
        timeline(&detail)
    );
}

async fn objects_that_never_become_ready_fail_clearly(db: Db) {
    let kube = KubeApi::start(&["--never-ready-names", "stuck"]).await;
    let worker = WorkerSettings {
        readiness_timeout_seconds: 1,
        ..quick_worker()
    };
    let app = spawn_with_cluster(db, &kube, worker).await;
    let id = app.submit_approved(&service("stuck")).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "failed");
    let story = timeline(&detail).join("\n");
    assert!(
        story.contains("Deployment payments/stuck was not ready within 1 s"),
        "{story}"
    );
    assert!(
        story.contains("replicas updated"),
        "says what it waited for: {story}"
    );
}

on_both_databases!(
    an_approved_service_is_applied_ready_and_recorded,
    jobs_on_different_services_are_applied_side_by_side,
    server_errors_are_retried_with_backoff_until_applied,
    a_hung_api_server_times_out_and_is_retried,
    an_invalid_object_fails_with_the_api_servers_message,
    objects_that_never_become_ready_fail_clearly,
);
