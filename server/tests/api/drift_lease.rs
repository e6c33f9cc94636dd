//! Several workers, one cluster: only the holder of the cluster's drift lease reads it for
//! drift (its watch and its interval LISTs), so a change is recorded once; when the holder
//! stops, another worker takes the cluster over.

use std::{collections::BTreeSet, time::Duration};

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::{
    drift::drift_events,
    helpers::TestApp,
    kube_api::KubeApi,
    worker_processes::{WorkerProcess, service, spawn_api, worker_settings},
};

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/payments/deployments/orders";

/// Drift checked every second and watched, as in production.
const DRIFT: &str = "[drift]\ninterval_seconds = 1\nwatch = true\n";

/// Waits (at most `within`) until the Deployment's drift record satisfies `done`.
async fn deployment_drift(app: &TestApp, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (status, body) = app.get_json("/api/v1/services/payments/orders/drift").await;
        assert_eq!(status, 200, "{body}");
        if let Some(record) = body
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["kind"] == "Deployment")
            && done(record)
        {
            return record.clone();
        }
        assert!(
            Instant::now() < deadline,
            "drift not as wanted in time: {body:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The tokens (one per worker) that listed or watched Deployments or Services since `from`.
async fn drift_readers(kube: &KubeApi, from: usize) -> BTreeSet<String> {
    kube.reads()
        .await
        .into_iter()
        .skip(from)
        .filter(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/deployments") || p.ends_with("/services"))
        })
        .filter_map(|r| r["token"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn one_worker_checks_a_cluster_and_another_takes_over_when_it_stops() {
    let kube = KubeApi::start(&["--record-reads"]).await;
    let app = spawn_api(&kube).await;
    let database_url = app.settings.database_url.clone().expect("database URL");
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = worker_settings(10);
    let mut workers = Vec::new();
    for token in ["worker-1", "worker-2"] {
        workers.push(
            WorkerProcess::start_with(&kube, dir.path(), &database_url, token, &settings, DRIFT)
                .await,
        );
    }
    let id = app.submit_approved(&service("orders")).await;
    let detail = app
        .settled_within(id, &["applied", "failed"], Duration::from_secs(60))
        .await;
    assert_eq!(detail["request"]["status"], "applied", "{detail:#}");
    deployment_drift(&app, Duration::from_secs(20), |r| r["state"] == "in_sync").await;

    // Scaled by hand: one worker notices, and the audit log says so once.
    let from = kube.reads().await.len();
    kube.merge_patch_as_kubectl(DEPLOYMENT, &json!({"spec": {"replicas": 5}}))
        .await;
    deployment_drift(&app, Duration::from_secs(20), |r| r["state"] == "drifted").await;
    // A few more rounds of both workers' interval checks.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let readers = drift_readers(&kube, from).await;
    assert_eq!(
        readers.len(),
        1,
        "one worker reads the cluster, not {readers:?}"
    );
    let drifted: Vec<_> = drift_events(&app)
        .await
        .into_iter()
        .filter(|(action, subject)| action == "object.drifted" && subject.contains("Deployment"))
        .collect();
    assert_eq!(drifted.len(), 1, "{drifted:?}");

    // The holder stops (releasing its lease): the other worker checks from now on.
    let holder = readers.into_iter().next().expect("a reader");
    let index = if holder == "worker-1" { 0 } else { 1 };
    workers[index].terminate().await;
    let from = kube.reads().await.len();
    kube.merge_patch_as_kubectl(DEPLOYMENT, &json!({"spec": {"replicas": 7}}))
        .await;
    deployment_drift(&app, Duration::from_secs(30), |r| {
        r["fields"][0]["live"] == 7
    })
    .await;
    let readers = drift_readers(&kube, from).await;
    let other = if index == 0 { "worker-2" } else { "worker-1" };
    assert_eq!(readers, BTreeSet::from([other.to_owned()]));
    workers[1 - index].assert_running();
}
