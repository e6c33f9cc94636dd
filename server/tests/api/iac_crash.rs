//! A `stargate worker` killed after committing (and pushing) but before recording the
//! request applied: the worker that takes the job over finds the commit and completes the
//! request with it, without a second commit.

use std::time::Duration;

use crate::{
    iac::{bare_remote, git, make_executable, recorded_commit, service, timeline},
    kube_api::KubeApi,
    worker_processes::{WorkerProcess, spawn_api, worker_settings},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_between_commit_and_record_is_completed_without_a_second_commit() {
    let kube = KubeApi::start(&[]).await;
    let app = spawn_api(&kube).await;
    let database_url = app.settings.database_url.clone().expect("database URL");
    let dir = tempfile::tempdir().expect("temp dir");
    let remote = bare_remote(dir.path(), None);
    // While `slow` exists the remote takes a request's commit, says so, and holds the
    // pusher there: the commit is made and delivered, the record not yet written. (The
    // first commit, of the demo catalog, passes.)
    let (slow, arrived) = (dir.path().join("slow"), dir.path().join("arrived"));
    let hook = remote.join("hooks/post-receive");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nread old new ref\n\
             git log -1 --format=%B \"$new\" | grep -q '^Stargate-Request: ' || exit 0\n\
             if [ -e '{}' ]; then touch '{}'; sleep 30; fi\n",
            slow.display(),
            arrived.display()
        ),
    )
    .expect("write hook");
    make_executable(&hook);
    std::fs::write(&slow, "").expect("slow");
    let extra = format!(
        "[iac]\nremote = {}\n",
        serde_json::to_string(&remote.display().to_string()).expect("TOML string")
    );
    let settings = worker_settings(3);
    let mut first = WorkerProcess::start_with(
        &kube,
        dir.path(),
        &database_url,
        "worker-1",
        &settings,
        &extra,
    )
    .await;
    let id = app.submit_approved(&service("crash-iac", "kind")).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !arrived.exists() {
        assert!(tokio::time::Instant::now() < deadline, "no push arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let repo = dir.path().join("iac");
    let commit = git(&repo, &["rev-parse", "main"]);
    assert_eq!(git(&remote, &["rev-parse", "main"]), commit);
    assert_eq!(recorded_commit(&app, id).await, None, "not recorded yet");
    first.kill().await;
    std::fs::remove_file(&slow).expect("no longer slow");

    let _second = WorkerProcess::start_with(
        &kube,
        dir.path(),
        &database_url,
        "worker-2",
        &settings,
        &extra,
    )
    .await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    let events = timeline(&detail);
    assert_eq!(detail["request"]["status"], "applied", "{events}");
    assert!(events.contains("from an earlier attempt"), "{events}");
    assert_eq!(
        recorded_commit(&app, id).await.as_deref(),
        Some(commit.as_str())
    );
    let requests = git(
        &repo,
        &[
            "log",
            "--format=%(trailers:key=Stargate-Request,valueonly,separator=)",
            "main",
        ],
    );
    assert_eq!(
        requests
            .lines()
            .filter(|r| !r.is_empty())
            .collect::<Vec<_>>(),
        [id.to_string()],
        "one commit for the request"
    );
    assert_eq!(git(&remote, &["rev-parse", "main"]), commit);
}
