//! `stargate worker` processes beside one PostgreSQL database, applying to the test
//! Kubernetes API server: a worker killed mid-apply is taken over once its lease runs out
//! and the writes converge; three workers share 200 jobs without claiming one twice.
//!
//! The API runs in-process (no embedded worker); each worker is a child process with its
//! own kubeconfig and bearer token, so the recorder's `token` tells the workers apart.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use futures::StreamExt;
use serde_json::{Value, json};
use server::config::WorkerSettings;
use tokio::{
    process::{Child, Command},
    time::Instant,
};

use crate::{
    helpers::{Db, Options, TestApp, spawn_with},
    kube_api::KubeApi,
};

/// Worker timings for the tests: a short lease, quick retries, a 1 s safety-net poll.
pub(crate) fn worker_settings(lease_seconds: u64) -> WorkerSettings {
    WorkerSettings {
        embedded: false,
        lease_seconds,
        max_attempts: 5,
        backoff_base_ms: 100,
        backoff_max_ms: 1000,
        poll_seconds: 1,
        readiness_timeout_seconds: 10,
        request_timeout_seconds: 5,
        concurrency: WorkerSettings::default().concurrency,
    }
}

/// The API alone (no embedded worker), on PostgreSQL, knowing cluster `kind`.
pub(crate) async fn spawn_api(kube: &KubeApi) -> TestApp {
    let options = Options {
        worker: false,
        clusters: vec![kube.cluster("kind", "api").await],
        ..Options::default()
    };
    spawn_with(Db::Postgres, options, None).await
}

/// SIGTERM to `pid`, then its exit, which must be clean (within 30 s); `log` is shown if not.
pub(crate) async fn terminate(child: &mut Child, pid: u32, log: &Path) {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "SIGTERM to {pid}");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("a terminated process exits")
        .expect("reap");
    assert!(
        status.success(),
        "a SIGTERM ends the process cleanly, not {status}:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// `stargate --config <config> <command>`, its stderr (at `warn`) in `log`, killed when
/// dropped; the child and its pid.
pub(crate) fn spawn_stargate(config: &Path, log: &Path, command: &str) -> (Child, u32) {
    // Logs go to stdout, panics and start-up errors to stderr: both into `log`.
    let log_file = std::fs::File::create(log).expect("log file");
    let stdout = log_file.try_clone().expect("log file");
    let mut stargate = Command::new(env!("CARGO_BIN_EXE_stargate"));
    for (key, _) in std::env::vars() {
        if key.starts_with("STARGATE_") {
            stargate.env_remove(key);
        }
    }
    let child = stargate
        .env("RUST_LOG", "warn")
        .arg("--config")
        .arg(config)
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(log_file))
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start `stargate {command}`: {e}"));
    let pid = child.id().expect("a running child has a pid");
    (child, pid)
}

/// A TOML basic string (JSON string escapes are valid TOML ones).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// Writes `<dir>/<name>.toml` for a `stargate` process of the test: `top` (top-level keys),
/// a database, worker timings, team `payments` (members `payments`, leads
/// `payments-leads`) and cluster `kind` (its own kubeconfig and token `name`), then
/// `extra` tables; its path.
pub(crate) async fn process_config(
    kube: &KubeApi,
    dir: &Path,
    database_url: &str,
    name: &str,
    settings: &WorkerSettings,
    top: &str,
    extra: &str,
) -> PathBuf {
    let kubeconfig = kube.kubeconfig(name).await;
    let config = dir.join(format!("worker-{name}.toml"));
    let toml = format!(
        "{top}\n\
         database_url = {database_url}\n\
         data_dir = {data_dir}\n\
         \n\
         [worker]\n\
         embedded = {embedded}\n\
         lease_seconds = {lease}\n\
         max_attempts = {max_attempts}\n\
         backoff_base_ms = {backoff_base}\n\
         backoff_max_ms = {backoff_max}\n\
         poll_seconds = {poll}\n\
         readiness_timeout_seconds = {readiness}\n\
         request_timeout_seconds = {request_timeout}\n\
         concurrency = {concurrency}\n\
         \n\
         [[teams]]\n\
         name = \"payments\"\n\
         member_groups = [\"payments\"]\n\
         lead_groups = [\"payments-leads\"]\n\
         allowed_domains = [\"payments.example.com\"]\n\
         \n\
         [[clusters]]\n\
         name = \"kind\"\n\
         kind = \"kubeconfig\"\n\
         kubeconfig = {kubeconfig}\n\
         context = \"test\"\n\
         {extra}\n",
        database_url = quoted(database_url),
        data_dir = quoted(&dir.display().to_string()),
        embedded = settings.embedded,
        lease = settings.lease_seconds,
        max_attempts = settings.max_attempts,
        backoff_base = settings.backoff_base_ms,
        backoff_max = settings.backoff_max_ms,
        concurrency = settings.concurrency,
        poll = settings.poll_seconds,
        readiness = settings.readiness_timeout_seconds,
        request_timeout = settings.request_timeout_seconds,
        kubeconfig = quoted(&kubeconfig.display().to_string()),
    );
    std::fs::write(&config, toml).expect("write process config");
    config
}

/// One `stargate worker` child process; killed when dropped.
pub(crate) struct WorkerProcess {
    token: String,
    child: Child,
    pid: u32,
    log: PathBuf,
}

impl WorkerProcess {
    /// Starts `stargate worker --config <toml>` with only a database, worker timings and
    /// cluster `kind` (its own kubeconfig and token): no `auth`, no `teams`.
    pub(crate) async fn start(
        kube: &KubeApi,
        dir: &Path,
        database_url: &str,
        token: &str,
        settings: &WorkerSettings,
    ) -> WorkerProcess {
        Self::start_with(kube, dir, database_url, token, settings, "").await
    }

    /// As `start`, with `extra` TOML at the end of its configuration. Its data folder (and
    /// so its IaC repository, unless `extra` moves it) is `dir`, shared with the other
    /// workers of the test.
    pub(crate) async fn start_with(
        kube: &KubeApi,
        dir: &Path,
        database_url: &str,
        token: &str,
        settings: &WorkerSettings,
        extra: &str,
    ) -> WorkerProcess {
        let config = process_config(kube, dir, database_url, token, settings, "", extra).await;
        let log = dir.join(format!("worker-{token}.log"));
        let (child, pid) = spawn_stargate(&config, &log, "worker");
        WorkerProcess {
            token: token.to_owned(),
            child,
            pid,
            log,
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails the test (with the worker's log) if the process has exited.
    pub(crate) fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("poll worker") {
            panic!(
                "`stargate worker` ({}) exited with {status}:\n{}",
                self.token,
                self.log()
            );
        }
    }

    /// SIGTERM, as Kubernetes stops a pod, and wait for a clean exit.
    pub(crate) async fn terminate(&mut self) {
        terminate(&mut self.child, self.pid, &self.log).await;
    }

    /// `kill -9` and reap.
    pub(crate) async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL the worker");
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("a killed worker exits")
            .expect("reap the worker");
        assert!(!status.success(), "killed, not exited cleanly: {status}");
    }
}

pub(crate) fn service(name: &str) -> Value {
    json!({
        "kind": "service", "team": "payments", "cluster": "kind", "reason": "worker processes",
        "spec": {"name": name, "image": "ghcr.io/acme/orders:1.0.0", "port": 8080, "replicas": 2}
    })
}

fn events(detail: &Value) -> Vec<Value> {
    detail["events"].as_array().cloned().unwrap_or_default()
}

pub(crate) fn timeline(detail: &Value) -> Vec<String> {
    events(detail)
        .iter()
        .map(|e| {
            let message = e["detail"]["message"]
                .as_str()
                .or(e["detail"]["error"].as_str())
                .unwrap_or_default();
            format!(
                "{} [{}] {message}",
                e["action"].as_str().unwrap_or_default(),
                e["actor"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// The actors of the request's events with `action`.
pub(crate) fn actors(detail: &Value, action: &str) -> Vec<String> {
    events(detail)
        .iter()
        .filter(|e| e["action"] == action)
        .map(|e| e["actor"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The process id in a worker's name (`worker:<pid>-<random>`).
pub(crate) fn worker_pid(actor: &str) -> Option<u32> {
    actor
        .strip_prefix("worker:")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client
        .get(url)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

/// Stored objects without what differs between two servers however they were written
/// (uids, resource versions, timestamps, allocated cluster IPs), keyed by kind/ns/name.
fn normalized(objects: &[Value]) -> BTreeMap<String, Value> {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for key in [
                    "uid",
                    "resourceVersion",
                    "creationTimestamp",
                    "time",
                    "lastUpdateTime",
                    "lastTransitionTime",
                    "clusterIP",
                    "clusterIPs",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    objects
        .iter()
        .map(|object| {
            let key = crate::helpers::object_key(object);
            let mut object = object.clone();
            strip(&mut object);
            (key, object)
        })
        .collect()
}

/// One worker's writes of one request: from the first start to the last end.
struct Span {
    start: f64,
    end: f64,
    kinds: Vec<String>,
}

/// Kills a worker while its first write hangs in the API server; a second worker takes
/// the job over once the lease runs out and finishes it; the request is applied once and
/// the API server holds exactly what one clean apply gives.
#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_mid_apply_is_taken_over_and_the_writes_converge() {
    let kube = KubeApi::start(&[]).await;
    let app = spawn_api(&kube).await;
    let database_url = app.settings.database_url.clone().expect("database URL");
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = worker_settings(3);
    let http = reqwest::Client::new();

    // The first write hangs for 8 s: the first worker will be mid-apply when it dies.
    kube.control(json!({"hang_writes": 1, "hang_ms": 8000}))
        .await;
    let mut first =
        WorkerProcess::start(&kube, dir.path(), &database_url, "worker-1", &settings).await;
    let id = app.submit_approved(&service("orders")).await;

    // Mid-apply: the timeline says it is applying the Namespace, and that write has reached
    // the API server and hangs there (the hang counter was used up).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        first.assert_running();
        let (_, detail) = app.get_json(&format!("/api/v1/requests/{id}")).await;
        let applying = events(&detail).iter().any(|e| {
            e["action"] == "apply.progress"
                && e["detail"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("applying Namespace"))
        });
        let control = get_json(&http, &format!("{}/_control", kube.url)).await;
        if applying && control["hang_writes"] == 0 {
            assert_eq!(detail["request"]["status"], "applying");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first worker never got to its first write: {:?}\n{}",
            timeline(&detail),
            first.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill().await;
    let second =
        WorkerProcess::start(&kube, dir.path(), &database_url, "worker-2", &settings).await;

    let detail = app
        .settled_within(id, &["applied", "failed"], Duration::from_secs(90))
        .await;
    let story = timeline(&detail);
    assert_eq!(
        detail["request"]["status"],
        "applied",
        "{story:?}\nsecond worker:\n{}",
        second.log()
    );

    // Applied exactly once, by the second worker, which says it took the job over.
    let claims = actors(&detail, "request.claim");
    let resumes = actors(&detail, "apply.resume");
    let succeeded = actors(&detail, "request.succeed");
    assert_eq!(claims.len(), 1, "{story:?}");
    assert_eq!(worker_pid(&claims[0]), Some(first.pid), "{story:?}");
    assert_eq!(succeeded.len(), 1, "one request.succeed: {story:?}");
    assert_eq!(worker_pid(&succeeded[0]), Some(second.pid), "{story:?}");
    assert_eq!(resumes, [succeeded[0].clone()], "the takeover: {story:?}");
    assert!(actors(&detail, "request.fail").is_empty(), "{story:?}");

    // The dead worker's hung write still lands in the end (the API server applies it after
    // the hang): wait for it, so the comparison below sees every write there will be.
    let deadline = Instant::now() + Duration::from_secs(30);
    let writes = loop {
        let writes = kube.writes().await;
        if writes.iter().any(|w| w["token"] == "worker-1") {
            break writes;
        }
        assert!(
            Instant::now() < deadline,
            "the hung write was never recorded: {writes:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let by = |token: &str| -> Vec<(String, u64)> {
        writes
            .iter()
            .filter(|w| w["token"] == token)
            .map(|w| {
                (
                    w["kind"].as_str().unwrap_or_default().to_owned(),
                    w["status"].as_u64().unwrap_or_default(),
                )
            })
            .collect()
    };
    let first_writes = by("worker-1");
    assert_eq!(first_writes.len(), 1, "{first_writes:?}");
    assert_eq!(first_writes[0].0, "Namespace");
    let hung = writes
        .iter()
        .find(|w| w["token"] == "worker-1")
        .expect("hung write");
    assert_eq!(hung["fault"], "hang");
    let second_ok: Vec<String> = by("worker-2")
        .into_iter()
        .filter(|(_, status)| (200..300).contains(status))
        .map(|(kind, _)| kind)
        .collect();
    assert_eq!(second_ok, ["Namespace", "Deployment", "Service"]);
    for write in &writes {
        assert_eq!(write["field_manager"], "stargate");
        assert_eq!(write["force"], true);
    }

    // Converged: the stored objects are those of one clean apply of the approved manifests
    // (made here, straight to a fresh API server).
    let manifests: Vec<Value> = {
        use serde::Deserialize;
        serde_norway::Deserializer::from_str(detail["manifests"].as_str().expect("manifests"))
            .map(|doc| Value::deserialize(doc).expect("a YAML document"))
            .filter(|doc| !doc.is_null())
            .collect()
    };
    assert_eq!(manifests.len(), 3);
    let clean = KubeApi::start(&[]).await;
    for object in &manifests {
        let response = http
            .patch(format!(
                "{}{}?fieldManager=stargate&force=true",
                clean.url,
                crate::kube_api::api_path(object)
            ))
            .header("content-type", "application/apply-patch+yaml")
            .json(object)
            .send()
            .await
            .expect("clean apply");
        assert!(
            response.status().is_success(),
            "{:?}",
            response.text().await
        );
    }
    let stored: Vec<Value> =
        serde_json::from_value(get_json(&http, &format!("{}/_control/objects", kube.url)).await)
            .expect("objects");
    let reference: Vec<Value> =
        serde_json::from_value(get_json(&http, &format!("{}/_control/objects", clean.url)).await)
            .expect("objects");
    let (stored, reference) = (normalized(&stored), normalized(&reference));
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        reference.keys().collect::<Vec<_>>()
    );
    for (key, object) in &stored {
        assert_eq!(object, &reference[key], "{key} differs from a clean apply");
    }
    // ... which is what was asked for.
    let deployment = &stored["Deployment/payments/orders"];
    let service = &stored["Service/payments/orders"];
    for object in [deployment, service] {
        assert_eq!(
            object["metadata"]["labels"]["stargate.dev/request"],
            id.to_string()
        );
        let managers: Vec<&str> = object["metadata"]["managedFields"]
            .as_array()
            .expect("managedFields")
            .iter()
            .filter_map(|m| m["manager"].as_str())
            .collect();
        assert_eq!(managers, ["stargate"]);
    }
    assert_eq!(
        deployment["metadata"]["generation"], 1,
        "applied twice, changed once"
    );
    assert_eq!(deployment["status"]["readyReplicas"], 2);
    assert_eq!(service["spec"]["type"], "ClusterIP");
    assert_eq!(
        stored["Namespace//payments"]["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "stargate"
    );

    // The catalog has the service once.
    let (status, catalog) = app.get_json("/api/v1/services/payments/orders").await;
    assert_eq!(status, 200, "{catalog}");
    assert_eq!(catalog["status"], "live");
}

/// Three worker processes and 200 approved jobs: every job applied exactly once, each
/// request's objects written by one worker only, never by two at the same time.
#[tokio::test(flavor = "multi_thread")]
async fn three_workers_apply_200_jobs_each_exactly_once() {
    const JOBS: usize = 200;
    let kube = KubeApi::start(&[]).await;
    let app = spawn_api(&kube).await;
    let database_url = app.settings.database_url.clone().expect("database URL");
    let dir = tempfile::tempdir().expect("temp dir");
    // No crash here: a lease long enough that a busy 2-core machine does not lose one.
    let settings = worker_settings(10);
    let mut workers = Vec::new();
    for token in ["worker-1", "worker-2", "worker-3"] {
        workers
            .push(WorkerProcess::start(&kube, dir.path(), &database_url, token, &settings).await);
    }

    // The team's Namespace first: a request planned before it existed plans to create it,
    // and once another request has created it, that plan is stale and approving it is
    // refused (409, "review the new plan"). One request applied first avoids the churn.
    let warmup = app.submit_approved(&service("warmup")).await;
    let detail = app
        .settled_within(warmup, &["applied", "failed"], Duration::from_secs(60))
        .await;
    assert_eq!(
        detail["request"]["status"],
        "applied",
        "{:?}",
        timeline(&detail)
    );
    let warmup_writes = kube.writes().await.len();

    let started = Instant::now();
    let ids: Vec<i64> = futures::stream::iter(0..JOBS)
        .map(|i| {
            let app = &app;
            async move { app.submit_approved(&service(&format!("svc-{i:03}"))).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let submitted = started.elapsed();

    // All applied (none failed) within a generous bound.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        for worker in &mut workers {
            worker.assert_running();
        }
        let count = |status: &'static str| {
            let app = &app;
            async move {
                let (_, page) = app
                    .get_json(&format!(
                        "/api/v1/requests?team=payments&status={status}&per_page=1"
                    ))
                    .await;
                page["total"].as_u64().unwrap_or_default()
            }
        };
        let (applied, failed) = (count("applied").await, count("failed").await);
        assert_eq!(failed, 0, "a job failed");
        if applied == JOBS as u64 + 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{applied} of {JOBS} (+1) applied in time; logs:\n{}",
            workers
                .iter()
                .map(WorkerProcess::log)
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let all_applied = started.elapsed();

    // Exactly once: one claim, one request.succeed, no takeover, per request.
    let token_of: HashMap<u32, String> = workers.iter().map(|w| (w.pid, w.token.clone())).collect();
    let details: Vec<(i64, Value)> = futures::stream::iter(ids.iter().copied())
        .map(|id| {
            let app = &app;
            async move { (id, app.get_json(&format!("/api/v1/requests/{id}")).await.1) }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut applied_by: HashMap<i64, String> = HashMap::new();
    for (id, detail) in &details {
        let story = timeline(detail);
        assert_eq!(detail["request"]["status"], "applied", "{id}: {story:?}");
        let succeeded = actors(detail, "request.succeed");
        assert_eq!(succeeded.len(), 1, "{id}: one request.succeed: {story:?}");
        assert_eq!(actors(detail, "request.claim").len(), 1, "{id}: {story:?}");
        assert!(actors(detail, "apply.resume").is_empty(), "{id}: {story:?}");
        let token = worker_pid(&succeeded[0])
            .and_then(|pid| token_of.get(&pid))
            .unwrap_or_else(|| panic!("{id}: succeeded by an unknown worker {succeeded:?}"));
        applied_by.insert(*id, token.clone());
    }

    // Three processes committing to one repository: one commit per request, none lost.
    let log = crate::iac::git(
        &dir.path().join("iac"),
        &[
            "log",
            "--format=%(trailers:key=Stargate-Request,valueonly,separator=)",
            "main",
        ],
    );
    // (The first commit, of the demo catalog, names no request.)
    let mut committed: Vec<i64> = log
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.parse().expect("a request id"))
        .collect();
    committed.sort_unstable();
    let mut expected: Vec<i64> = ids.iter().copied().chain([warmup]).collect();
    expected.sort_unstable();
    assert_eq!(committed, expected);

    // From the recorder: who wrote each request's objects, and when.
    let writes = kube.writes().await.split_off(warmup_writes);
    assert!(
        writes.iter().all(|w| w["status"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s))),
        "every write succeeded"
    );
    // request id -> token -> when and what that worker wrote of the request
    let mut by_request: BTreeMap<i64, BTreeMap<String, Span>> = BTreeMap::new();
    let mut namespace_writes: BTreeMap<String, usize> = BTreeMap::new();
    for write in &writes {
        let token = write["token"].as_str().expect("a token").to_owned();
        let kind = write["kind"].as_str().unwrap_or_default().to_owned();
        let (start, end) = (
            write["start"].as_f64().expect("start"),
            write["end"].as_f64().expect("end"),
        );
        // The team's Namespace is shared by all its requests (no request label).
        let Some(request) = write["object"]["metadata"]["labels"]["stargate.dev/request"]
            .as_str()
            .and_then(|r| r.parse::<i64>().ok())
        else {
            assert_eq!(kind, "Namespace", "{write}");
            *namespace_writes.entry(token).or_default() += 1;
            continue;
        };
        let entry = by_request
            .entry(request)
            .or_default()
            .entry(token)
            .or_insert(Span {
                start,
                end,
                kinds: Vec::new(),
            });
        entry.start = entry.start.min(start);
        entry.end = entry.end.max(end);
        entry.kinds.push(kind);
    }
    assert_eq!(
        by_request.keys().copied().collect::<BTreeSet<_>>(),
        ids.iter().copied().collect::<BTreeSet<_>>(),
        "every request's objects were written"
    );
    // None claimed twice at the same time: no two workers' writes of one request overlap.
    let mut overlaps = Vec::new();
    for (request, tokens) in &by_request {
        let spans: Vec<(&String, &Span)> = tokens.iter().collect();
        for (i, (a, first)) in spans.iter().enumerate() {
            for (b, second) in &spans[i + 1..] {
                if first.start <= second.end && second.start <= first.end {
                    overlaps.push(format!(
                        "request {request}: {a} [{}, {}] and {b} [{}, {}]",
                        first.start, first.end, second.start, second.end
                    ));
                }
            }
        }
    }
    assert!(overlaps.is_empty(), "claimed twice at once: {overlaps:#?}");
    // And in fact each request's objects were written by one worker only, once each, and
    // by the worker that recorded the success.
    for (request, tokens) in &by_request {
        assert_eq!(
            tokens.len(),
            1,
            "request {request} written by {:?}",
            tokens.keys()
        );
        let (token, span) = tokens.iter().next().expect("one token");
        assert_eq!(span.kinds, ["Deployment", "Service"], "request {request}");
        assert_eq!(&applied_by[request], token, "request {request}");
    }

    // All three did some of the work; each job also applied the team's Namespace once.
    let mut split: BTreeMap<String, usize> = BTreeMap::new();
    for token in applied_by.values() {
        *split.entry(token.clone()).or_default() += 1;
    }
    eprintln!(
        "{JOBS} jobs: submitted and approved in {:.1} s, all applied after {:.1} s; split {split:?}",
        submitted.as_secs_f64(),
        all_applied.as_secs_f64()
    );
    assert_eq!(split.len(), 3, "every worker applied some jobs: {split:?}");
    assert_eq!(namespace_writes, split, "one Namespace write per job");
    for worker in &mut workers {
        worker.assert_running();
    }
}
