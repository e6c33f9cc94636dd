//! The IaC repository: every applied request is one commit, read here with the `git`
//! program; `gitops` clusters get their changes only through the pushed commit; a refused
//! push, an unwritable or damaged repository fail the request with that reason and leave
//! the database and the repository agreeing.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use serde_json::{Value, json};
use server::{
    config::{ClusterSettings, Delivery, WorkerSettings},
    iac::IacSettings,
};

use crate::{
    helpers::{Db, Options, TestApp, spawn_with},
    kube_api::KubeApi,
};

fn quick_worker(max_attempts: u32) -> WorkerSettings {
    WorkerSettings {
        lease_seconds: 10,
        max_attempts,
        backoff_base_ms: 100,
        backoff_max_ms: 300,
        poll_seconds: 1,
        readiness_timeout_seconds: 20,
        request_timeout_seconds: 5,
        ..WorkerSettings::default()
    }
}

/// `git <args>` in `dir`; its standard output, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Whether `dir` has branch `main`.
pub(crate) fn has_main(dir: &Path) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "-q", "refs/heads/main"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A bare repository to push to, with `hook` (a shell script body) as its pre-receive hook.
pub fn bare_remote(parent: &Path, hook: Option<&str>) -> PathBuf {
    let remote = parent.join("remote.git");
    git(
        parent,
        &["init", "-q", "--bare", "-b", "main", "remote.git"],
    );
    if let Some(body) = hook {
        let path = remote.join("hooks/pre-receive");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write hook");
        make_executable(&path);
    }
    remote
}

pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

pub(crate) fn service(name: &str, cluster: &str) -> Value {
    json!({
        "kind": "service", "team": "payments", "cluster": cluster, "reason": "IaC test",
        "spec": {"name": name, "image": "ghcr.io/acme/orders:1.0.0", "port": 8080, "replicas": 2}
    })
}

pub(crate) fn timeline(detail: &Value) -> String {
    detail["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| format!("{} {}\n", e["action"], e["detail"]))
        .collect()
}

/// The commit the database records for request `id`.
pub(crate) async fn recorded_commit(app: &TestApp, id: i64) -> Option<String> {
    use sqlx::{Connection, Row};
    let url = app.settings.database_url.as_deref().expect("database URL");
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let row = sqlx::query("SELECT iac_commit FROM requests WHERE id = $1")
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .expect("request row");
    row.try_get("iac_commit").expect("iac_commit")
}

fn repo_of(app: &TestApp) -> PathBuf {
    app.settings.iac.repo_path(&app.settings.data_dir)
}

async fn with_cluster(
    db: Db,
    cluster: ClusterSettings,
    iac: IacSettings,
    attempts: u32,
) -> TestApp {
    let options = Options {
        worker: true,
        clusters: vec![cluster],
        worker_settings: Some(quick_worker(attempts)),
        iac: Some(iac),
        ..Options::default()
    };
    spawn_with(db, options, None).await
}

#[tokio::test(flavor = "multi_thread")]
async fn three_applied_requests_are_three_commits_of_exactly_the_applied_objects() {
    let kube = KubeApi::start(&[]).await;
    let cluster = kube.cluster("kind", "worker").await;
    let app = with_cluster(Db::Sqlite, cluster, IacSettings::default(), 3).await;
    let mut ids = Vec::new();
    for name in ["iac-one", "iac-two", "iac-three"] {
        let id = app.submit_approved(&service(name, "kind")).await;
        app.settled(id, &["applied"]).await;
        ids.push(id);
    }
    let repo = repo_of(&app);

    // Newest first: one commit per request, in apply order, naming who asked and approved.
    let log = git(
        &repo,
        &["log", "--format=%H%x1f%an%x1f%ae%x1f%cn%x1f%B%x1e", "main"],
    );
    let commits: Vec<Vec<&str>> = log
        .split('\x1e')
        .map(str::trim)
        .filter(|c| c.contains("Stargate-Request: "))
        .map(|c| c.split('\x1f').collect())
        .collect();
    assert_eq!(commits.len(), 3, "{log}");
    // Before them, the first commit holds the demo catalog's objects.
    assert_eq!(git(&repo, &["rev-list", "--count", "main"]), "4", "{log}");
    for (commit, id) in commits.iter().zip(ids.iter().rev()) {
        let [sha, _author, author_email, committer, message] = commit[..] else {
            panic!("{commit:?}")
        };
        assert_eq!(author_email, "pat@example.com");
        assert_eq!(committer, "Stargate");
        assert!(
            message.starts_with(&format!("Apply request #{id}: service ")),
            "{message}"
        );
        for trailer in [
            format!("Stargate-Request: {id}"),
            format!("Request-Link: {}/requests/{id}", app.settings.public_url()),
            "Cluster: kind".into(),
        ] {
            assert!(message.contains(&trailer), "{trailer} not in {message}");
        }
        assert!(
            message
                .lines()
                .any(|l| l.starts_with("Approved-by: ") && l.ends_with("<lee@example.com>")),
            "{message}"
        );
        assert_eq!(recorded_commit(&app, *id).await.as_deref(), Some(sha));
    }

    // The tree holds one file per object the API server received, with that object.
    let files: BTreeSet<String> = git(
        &repo,
        &["ls-tree", "-r", "--name-only", "main", "clusters/kind"],
    )
    .lines()
    .map(str::to_owned)
    .collect();
    let applied: Vec<Value> = kube
        .writes()
        .await
        .into_iter()
        .map(|w| w["object"].clone())
        .collect();
    let expected: BTreeSet<String> = applied
        .iter()
        .map(|o| {
            domain::iac::ObjectPath::of("kind", o)
                .expect("laid out")
                .path()
        })
        .collect();
    assert_eq!(files, expected);
    assert!(
        files.contains("clusters/kind/payments/deployment-iac-one.yaml"),
        "{files:?}"
    );
    for object in &applied {
        let path = domain::iac::ObjectPath::of("kind", object).unwrap().path();
        let text = git(&repo, &["show", &format!("main:{path}")]);
        let file: Value = serde_norway::from_str(&text).expect("YAML");
        assert_eq!(&file, object, "{path}");
    }

    // The files pass the project's strict manifest validation.
    let checkout = tempfile::tempdir().expect("temp dir");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "git -C '{}' archive main | tar -x -C '{}'",
            repo.display(),
            checkout.path().display()
        ))
        .status()
        .expect("git archive");
    assert!(status.success());
    let validator = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testing/manifests/tools/validate-manifests");
    let output = Command::new("bash")
        .arg(validator)
        .arg(checkout.path().join("clusters"))
        .output()
        .expect("validate");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && said.contains("0 invalid"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_cluster_is_committed_too_and_says_so() {
    let options = Options {
        worker: true,
        worker_settings: Some(quick_worker(3)),
        ..Options::default()
    };
    let app = spawn_with(Db::Postgres, options, None).await;
    let id = app.submit_approved(&service("dryrun-iac", "demo")).await;
    app.settled(id, &["applied"]).await;
    let repo = repo_of(&app);
    let message = git(&repo, &["log", "-1", "--format=%B", "main"]);
    assert!(message.contains("Dry run"), "{message}");
    assert!(message.contains(&format!("Stargate-Request: {id}")));
    let files = git(&repo, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(
        files.contains("clusters/demo/payments/deployment-dryrun-iac.yaml"),
        "{files}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gitops_pushes_the_commit_never_writes_to_the_cluster_and_waits_for_readiness() {
    let kube = KubeApi::start(&[]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let remote = bare_remote(dir.path(), None);
    let cluster = ClusterSettings {
        delivery: Delivery::Gitops,
        ..kube.cluster("kind", "worker").await
    };
    let iac = IacSettings {
        remote: Some(remote.display().to_string()),
        ..IacSettings::default()
    };
    let app = with_cluster(Db::Sqlite, cluster, iac, 3).await;
    let id = app.submit_approved(&service("iac-gitops", "kind")).await;

    // The commit reaches the remote; the request waits for the GitOps controller.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !has_main(&remote) {
        assert!(tokio::time::Instant::now() < deadline, "nothing was pushed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting = app.settled(id, &["applying", "applied", "failed"]).await;
    assert_eq!(
        waiting["request"]["status"],
        "applying",
        "{}",
        timeline(&waiting)
    );
    assert_eq!(
        kube.writes().await,
        Vec::<Value>::new(),
        "Stargate wrote to the cluster"
    );
    let pushed = git(&remote, &["rev-parse", "main"]);
    assert_eq!(pushed, git(&repo_of(&app), &["rev-parse", "main"]));

    // Argo CD applies what the remote holds, in the tree's order (namespace first).
    let files = git(&remote, &["ls-tree", "-r", "--name-only", "main"]);
    let mut objects: Vec<Value> = files
        .lines()
        .map(|path| {
            serde_norway::from_str(&git(&remote, &["show", &format!("main:{path}")])).expect("YAML")
        })
        .collect();
    objects.sort_by_key(|o| o["kind"] != "Namespace");
    for object in &objects {
        kube.apply_as("argocd", object).await;
    }
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(
        detail["request"]["status"],
        "applied",
        "{}",
        timeline(&detail)
    );
    assert_eq!(
        recorded_commit(&app, id).await.as_deref(),
        Some(pushed.as_str())
    );
    let managers: BTreeSet<String> = kube
        .writes()
        .await
        .iter()
        .map(|w| w["field_manager"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(managers, BTreeSet::from(["argocd".to_owned()]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_push_fails_with_the_remotes_words_and_leaves_no_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let remote = bare_remote(
        dir.path(),
        Some("echo 'main is protected: changes come through review' >&2; exit 1"),
    );
    let options = Options {
        worker: true,
        worker_settings: Some(quick_worker(2)),
        iac: Some(IacSettings {
            remote: Some(remote.display().to_string()),
            ..IacSettings::default()
        }),
        ..Options::default()
    };
    let app = spawn_with(Db::Sqlite, options, None).await;
    let id = app.submit_approved(&service("refused", "demo")).await;
    let detail = app.settled(id, &["failed", "applied"]).await;
    assert_eq!(detail["request"]["status"], "failed");
    let events = timeline(&detail);
    assert!(
        events.contains("main is protected: changes come through review"),
        "{events}"
    );
    assert!(
        events.contains("retrying"),
        "retried by the backoff first: {events}"
    );
    // The refused commit was taken back: only the demo catalog's first commit is left
    // (made when the worker started; its own push was refused too and it waits for the
    // next push).
    let log = git(&repo_of(&app), &["log", "--format=%B", "main"]);
    assert!(!log.contains("Stargate-Request"), "{log}");
    assert_eq!(git(&repo_of(&app), &["rev-list", "--count", "main"]), "1");
    assert!(!has_main(&remote));
    assert_eq!(recorded_commit(&app, id).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_repository_path_fails_the_request_with_that_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A file where a folder should be: not even root can create the repository under it.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "").expect("write");
    let options = Options {
        worker: true,
        worker_settings: Some(quick_worker(2)),
        iac: Some(IacSettings {
            repo_path: Some(blocker.join("iac")),
            ..IacSettings::default()
        }),
        ..Options::default()
    };
    let app = spawn_with(Db::Sqlite, options, None).await;
    let id = app.submit_approved(&service("unwritable", "demo")).await;
    let detail = app.settled(id, &["failed", "applied"]).await;
    assert_eq!(detail["request"]["status"], "failed");
    let events = timeline(&detail);
    assert!(
        events.contains(&format!(
            "the IaC repository at {}",
            blocker.join("iac").display()
        )),
        "{events}"
    );
    assert_eq!(recorded_commit(&app, id).await, None);
    let (_, service) = app.get_json("/api/v1/services/payments/unwritable").await;
    assert_eq!(
        service["error"], "not_found",
        "nothing reached the catalog: {service}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_repository_fails_the_request_and_the_database_still_agrees() {
    let options = Options {
        worker: true,
        worker_settings: Some(quick_worker(2)),
        ..Options::default()
    };
    let app = spawn_with(Db::Sqlite, options, None).await;
    let first = app.submit_approved(&service("intact", "demo")).await;
    app.settled(first, &["applied"]).await;
    let repo = repo_of(&app);
    let tip = git(&repo, &["rev-parse", "main"]);
    // The tip's commit object is overwritten with garbage.
    let object = repo.join("objects").join(&tip[..2]).join(&tip[2..]);
    std::fs::write(&object, b"not a git object").expect("damage");

    let second = app.submit_approved(&service("after-damage", "demo")).await;
    let detail = app.settled(second, &["failed", "applied"]).await;
    assert_eq!(detail["request"]["status"], "failed");
    assert!(
        timeline(&detail).contains("the IaC repository at"),
        "{}",
        timeline(&detail)
    );
    assert_eq!(recorded_commit(&app, second).await, None);
    assert_eq!(
        recorded_commit(&app, first).await.as_deref(),
        Some(tip.as_str())
    );
    let tip_now = std::fs::read_to_string(repo.join("refs/heads/main")).expect("ref");
    assert_eq!(tip_now.trim(), tip, "the branch did not move");
}

#[tokio::test(flavor = "multi_thread")]
async fn applied_requests_without_a_commit_get_one_in_apply_order_when_a_worker_starts() {
    let options = Options {
        worker: true,
        worker_settings: Some(quick_worker(3)),
        ..Options::default()
    };
    let app = spawn_with(Db::Postgres, options, None).await;
    let mut ids = Vec::new();
    for name in ["first", "second"] {
        let id = app.submit_approved(&service(name, "demo")).await;
        app.settled(id, &["applied"]).await;
        ids.push(id);
    }
    // The repository is lost (or predates these requests).
    let repo = repo_of(&app);
    std::fs::remove_dir_all(&repo).expect("remove the repository");

    let _second_worker = app.start_worker();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let commits = loop {
        let commits: Vec<String> = if has_main(&repo) {
            // Only the requests' commits (the first holds the demo catalog).
            git(
                &repo,
                &[
                    "log",
                    "--reverse",
                    "--format=%H %(trailers:key=Stargate-Request,valueonly,separator=)",
                    "main",
                ],
            )
            .lines()
            .filter(|l| {
                l.split_once(' ')
                    .is_some_and(|(_, request)| !request.is_empty())
            })
            .map(str::to_owned)
            .collect()
        } else {
            Vec::new()
        };
        if commits.len() == 2 {
            break commits;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not caught up: {commits:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (line, id) in commits.iter().zip(&ids) {
        let (sha, request) = line.split_once(' ').expect("sha and request");
        assert_eq!(request, id.to_string(), "apply order");
        // The record follows the commit shortly after.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while recorded_commit(&app, *id).await.as_deref() != Some(sha) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "request {id} not re-recorded"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
