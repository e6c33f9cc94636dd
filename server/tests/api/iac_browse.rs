//! Browsing the IaC repository over the API: requests applied to the demo's dry-run
//! cluster become commits (a dry run records the approved desired state too), and the log,
//! a commit's diff, the tree, a file and an object's history read them back.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::{Db, Options, Persona, TestApp, spawn_with},
    on_both_databases,
};

const DEPLOYMENT: &str = "clusters/demo/payments/deployment-atlas.yaml";
const SERVICE: &str = "clusters/demo/payments/service-atlas.yaml";

/// Without the demo catalog: its objects would be the repository's first commit.
async fn spawn_with_worker(db: Db) -> TestApp {
    let options = Options {
        worker: true,
        demo_catalog: false,
        ..Options::default()
    };
    spawn_with(db, options, None).await
}

/// The service `atlas`, then an ALB ingress with instance targets for it: that switches
/// the Service to NodePort, so its file changes twice and the Deployment's once.
/// Submitted, approved and applied; the request id.
async fn applied(app: &TestApp, body: Value) -> i64 {
    let id = app.submit_approved(&body).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "applied", "{detail}");
    id
}

async fn service_then_ingress(app: &TestApp) -> (i64, i64) {
    let service = applied(
        app,
        json!({
            "kind": "service", "team": "payments", "cluster": "demo", "reason": "browse test",
            "spec": {"name": "atlas", "image": "ghcr.io/acme/atlas:1.0.0", "port": 8080}
        }),
    )
    .await;
    let ingress = applied(
        app,
        json!({
            "kind": "ingress", "team": "payments", "cluster": "demo",
            "spec": {"host": "atlas.payments.example.com", "service": "atlas", "port": 8080,
                     "class": "alb", "alb": {"target_type": "instance"}}
        }),
    )
    .await;
    (service, ingress)
}

fn request_ids(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .expect("a list")
        .iter()
        // Log items are commits; history entries hold theirs.
        .map(|c| c.get("commit").unwrap_or(c)["request_id"].as_i64())
        .map(|id| id.expect("a request id"))
        .collect()
}

async fn applied_requests_are_commits_to_browse(db: Db) {
    let app = spawn_with_worker(db).await;
    let (service, ingress) = service_then_ingress(&app).await;

    // The log: newest first, each commit naming its request and its requester.
    let (status, log) = app.get_json("/api/v1/iac/commits").await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(request_ids(&log["items"]), [ingress, service]);
    assert_eq!(log["has_more"], false);
    assert_eq!(log["items"][0]["author_email"], "pat@example.com");
    let subject = log["items"][1]["subject"].as_str().unwrap_or_default();
    assert!(
        subject.starts_with(&format!("Apply request #{service}")),
        "{subject}"
    );
    let (_, filtered) = app.get_json("/api/v1/iac/commits?cluster=demo").await;
    assert_eq!(request_ids(&filtered["items"]), [ingress, service]);
    let (_, elsewhere) = app.get_json("/api/v1/iac/commits?cluster=kind").await;
    assert_eq!(elsewhere["items"], json!([]));
    let (_, paged) = app.get_json("/api/v1/iac/commits?per_page=1").await;
    assert_eq!(request_ids(&paged["items"]), [ingress]);
    assert_eq!(paged["has_more"], true);
    let (_, second) = app.get_json("/api/v1/iac/commits?per_page=1&page=2").await;
    assert_eq!(request_ids(&second["items"]), [service]);
    assert_eq!(second["has_more"], false);

    // The first commit, by its short id: it added the service's files.
    let first = log["items"][1]["id"].as_str().expect("id").to_owned();
    let (status, commit) = app
        .get_json(&format!("/api/v1/iac/commits/{}", &first[..8]))
        .await;
    assert_eq!(status, 200, "{commit}");
    assert_eq!(commit["commit"]["id"], first.as_str());
    assert_eq!(commit["parent"], Value::Null);
    assert_eq!(commit["committer_name"], "Stargate");
    let message = commit["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("Stargate-Request: {service}")),
        "{message}"
    );
    let files = commit["files"].as_array().expect("files");
    let deployment = files
        .iter()
        .find(|f| f["path"] == DEPLOYMENT)
        .unwrap_or_else(|| panic!("{DEPLOYMENT} in {files:?}"));
    assert_eq!(deployment["change"], "added");
    let patch = deployment["patch"].as_str().unwrap_or_default();
    assert!(
        patch.contains("+++ b/clusters/demo/payments/deployment-atlas.yaml"),
        "{patch}"
    );
    assert!(
        patch.contains("+      - image: ghcr.io/acme/atlas:1.0.0"),
        "{patch}"
    );

    // The tree at the tip holds the ingress; at the first commit it did not yet.
    let (status, tree) = app.get_json("/api/v1/iac/tree?cluster=demo").await;
    assert_eq!(status, 200, "{tree}");
    assert_eq!(tree["commit"]["request_id"], ingress);
    let paths: Vec<&str> = tree["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    for path in [
        DEPLOYMENT,
        SERVICE,
        "clusters/demo/payments/ingress-atlas-atlas.yaml",
    ] {
        assert!(paths.contains(&path), "{path} in {paths:?}");
    }
    let (_, before) = app
        .get_json(&format!("/api/v1/iac/tree?cluster=demo&at={first}"))
        .await;
    assert_eq!(before["commit"]["id"], first.as_str());
    assert!(!before.to_string().contains("ingress-atlas"), "{before}");

    // One file as YAML, at the tip and as it was.
    let now = app.get(&format!("/api/v1/iac/files?path={SERVICE}")).await;
    assert_eq!(now.status(), 200);
    assert!(
        now.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/yaml")
    );
    let now = now.text().await.expect("yaml");
    assert!(now.contains("type: NodePort"), "{now}");
    let then = app
        .get(&format!("/api/v1/iac/files?path={SERVICE}&at={first}"))
        .await;
    assert_eq!(then.status(), 200);
    assert!(!then.text().await.expect("yaml").contains("NodePort"));

    // The Service's history: both requests, newest first, each with its diff.
    let (status, history) = app
        .get_json(&format!("/api/v1/iac/history?path={SERVICE}"))
        .await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(request_ids(&history["entries"]), [ingress, service]);
    assert_eq!(history["complete"], true);
    assert_eq!(history["entries"][0]["change"], "modified");
    assert_eq!(history["entries"][1]["change"], "added");
    let patch = history["entries"][0]["patch"].as_str().unwrap_or_default();
    assert!(patch.contains("+  type: NodePort"), "{patch}");
    // The Deployment did not change with the ingress.
    let (_, history) = app
        .get_json(&format!("/api/v1/iac/history?path={DEPLOYMENT}"))
        .await;
    assert_eq!(request_ids(&history["entries"]), [service]);
}

/// `{"error": code, "fields": [paths]}` of an error answer.
async fn error_of(app: &TestApp, path: &str) -> (u16, String, Vec<String>) {
    let (status, body) = app.get_json(path).await;
    let fields = body["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|f| f["path"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let code = body["error"].as_str().unwrap_or_default().to_owned();
    (status, code, fields)
}

async fn bad_questions_are_400_and_unknown_commits_404(db: Db) {
    let app = spawn_with_worker(db).await;
    applied(
        &app,
        json!({
            "kind": "service", "team": "payments", "cluster": "demo",
            "spec": {"name": "atlas", "image": "ghcr.io/acme/atlas:1.0.0", "port": 8080}
        }),
    )
    .await;
    let bad = |field: &str| (400, "bad_request".to_owned(), vec![field.to_owned()]);
    for (path, expected) in [
        ("/api/v1/iac/tree?cluster=demo&at=HEAD~1", bad("at")),
        ("/api/v1/iac/tree?cluster=Demo", bad("cluster")),
        ("/api/v1/iac/tree", bad("query")),
        ("/api/v1/iac/files?path=../../etc/passwd", bad("path")),
        (
            "/api/v1/iac/files?path=clusters/demo/payments/.git-x.yaml",
            bad("path"),
        ),
        ("/api/v1/iac/history?path=README.md", bad("path")),
        ("/api/v1/iac/commits?per_page=0", bad("per_page")),
        ("/api/v1/iac/commits?cluster=..", bad("cluster")),
    ] {
        assert_eq!(error_of(&app, path).await, expected, "{path}");
    }
    let not_found = (404, "not_found".to_owned(), vec![]);
    for path in [
        "/api/v1/iac/commits/0000000",
        "/api/v1/iac/commits/main",
        "/api/v1/iac/commits/abc",
        "/api/v1/iac/tree?cluster=demo&at=0000000000000000000000000000000000000000",
        "/api/v1/iac/files?path=clusters/demo/payments/deployment-nothing.yaml",
        "/api/v1/iac/files?path=clusters/demo/payments/deployment-atlas.yaml&at=0000000",
    ] {
        assert_eq!(error_of(&app, path).await, not_found, "{path}");
    }

    // Signed out: 401, never a redirect.
    for path in [
        "/api/v1/iac/commits",
        "/api/v1/iac/commits/0000000",
        "/api/v1/iac/tree?cluster=demo",
        &format!("/api/v1/iac/files?path={DEPLOYMENT}"),
        &format!("/api/v1/iac/history?path={DEPLOYMENT}"),
    ] {
        let response = app.get_as(Persona::Anonymous, path).await;
        assert_eq!(response.status(), 401, "{path}");
    }
}

/// Before anything is applied: empty answers, whether the repository folder does not
/// exist yet or the worker created the repository without a commit.
#[tokio::test]
async fn nothing_applied_yet_reads_as_empty() {
    // Without the demo catalog: its objects would become the first commit right after
    // the worker creates the repository, racing the second look.
    let options = Options {
        demo_catalog: false,
        ..Options::default()
    };
    let app = spawn_with(Db::Sqlite, options, None).await;
    let repository = app.settings.data_dir.join("iac");
    reads_as_empty(&app).await;
    assert!(!repository.exists(), "reading created nothing");
    let _worker = app.start_worker();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !repository.join("HEAD").exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker makes the repository"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    reads_as_empty(&app).await;
}

async fn reads_as_empty(app: &TestApp) {
    let (status, log) = app.get_json("/api/v1/iac/commits?cluster=demo").await;
    assert_eq!((status, log["items"].clone()), (200, json!([])));
    let (status, tree) = app.get_json("/api/v1/iac/tree?cluster=demo").await;
    assert_eq!(status, 200, "{tree}");
    assert_eq!(tree["commit"], Value::Null);
    assert_eq!(tree["files"], json!([]));
    let (status, history) = app
        .get_json(&format!("/api/v1/iac/history?path={DEPLOYMENT}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(history["entries"], json!([]));
    let (status, _) = app
        .get_json(&format!("/api/v1/iac/files?path={DEPLOYMENT}"))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.get_json("/api/v1/iac/commits/abcdef0").await;
    assert_eq!(status, 404);
}

on_both_databases!(
    applied_requests_are_commits_to_browse,
    bad_questions_are_400_and_unknown_commits_404,
);
