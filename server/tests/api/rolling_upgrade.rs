//! A zero-downtime replacement on PostgreSQL, as a Kubernetes rolling update does it: two
//! `stargate serve` and two `stargate worker` processes on one database. While catalog
//! reads and request submissions run through a load balancer that follows `/readyz` (as a
//! Service follows its pods' readiness), one of each is stopped with SIGTERM and a new one
//! started. No request fails; every approved job is applied exactly once.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{process::Child, time::Instant};

use crate::{
    helpers::{Persona, TestApp, free_port, wait_until_ready},
    kube_api::KubeApi,
    worker_processes::{
        WorkerProcess, actors, process_config, spawn_api, spawn_stargate, terminate, timeline,
        worker_settings,
    },
};

/// `http.drain_seconds` of the serve processes: longer than the balancer takes to notice.
const DRAIN_SECONDS: u64 = 3;
const POLL: Duration = Duration::from_millis(100);
/// How long a backend keeps receiving requests after its `/readyz` first fails: a
/// Kubernetes Service notices after the readiness probe's period and failure threshold,
/// then every node's proxy rules change (seconds, in a real cluster).
const PROPAGATION: Duration = Duration::from_secs(1);

/// One `stargate serve` child process without an embedded worker.
struct ServeProcess {
    child: Child,
    pid: u32,
    address: String,
    log: PathBuf,
}

impl ServeProcess {
    async fn start(kube: &KubeApi, dir: &Path, database_url: &str, name: &str) -> ServeProcess {
        let port = free_port();
        let config = process_config(
            kube,
            dir,
            database_url,
            name,
            &worker_settings(10),
            &format!("listen = \"127.0.0.1:{port}\""),
            &format!("[http]\ndrain_seconds = {DRAIN_SECONDS}\n\n[auth]\nmode = \"dev\"\n"),
        )
        .await;
        let log = dir.join(format!("{name}.log"));
        let (mut child, pid) = spawn_stargate(&config, &log, "serve");
        let address = format!("http://127.0.0.1:{port}");
        wait_until_ready(&address, Duration::from_secs(30), || {
            let status = child.try_wait().expect("poll serve")?;
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            Some(format!("{name}: {status}\n{said}"))
        })
        .await;
        ServeProcess {
            child,
            pid,
            address,
            log,
        }
    }

    async fn terminate(&mut self) {
        terminate(&mut self.child, self.pid, &self.log).await;
    }
}

async fn ready(client: &reqwest::Client, address: &str) -> bool {
    client
        .get(format!("{address}/readyz"))
        .timeout(Duration::from_millis(500))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

/// A backend's address, and since when its `/readyz` fails.
type Backend = (String, Option<Instant>);

/// Round robin over the backends, each with when its `/readyz` began failing: one is
/// dropped `PROPAGATION` after that, as a Service drops a pod that is no longer ready.
#[derive(Clone, Default)]
struct Balancer {
    backends: Arc<Mutex<Vec<Backend>>>,
    next: Arc<AtomicUsize>,
}

impl Balancer {
    fn add(&self, address: &str) {
        let mut backends = self.backends.lock().expect("lock");
        backends.push((address.to_owned(), None));
    }

    fn pick(&self) -> String {
        let backends = self.backends.lock().expect("lock");
        let ready: Vec<&String> = backends
            .iter()
            .filter(|b| b.1.is_none_or(|since| since.elapsed() < PROPAGATION))
            .map(|b| &b.0)
            .collect();
        assert!(!ready.is_empty(), "no ready backend");
        ready[self.next.fetch_add(1, Ordering::Relaxed) % ready.len()].clone()
    }

    /// Marks each backend up, or failing since the first poll that found it down.
    fn record(&self, addresses: &[String], answers: &[bool]) {
        let mut backends = self.backends.lock().expect("lock");
        for (address, up) in addresses.iter().zip(answers) {
            if let Some(backend) = backends.iter_mut().find(|b| &b.0 == address) {
                backend.1 = match (up, backend.1) {
                    (true, _) => None,
                    (false, since) => Some(since.unwrap_or_else(Instant::now)),
                };
            }
        }
    }

    /// Polls every backend's readiness until `stop`.
    async fn follow_readiness(self, stop: Arc<AtomicBool>) {
        let client = reqwest::Client::new();
        while !stop.load(Ordering::Relaxed) {
            let addresses: Vec<String> = {
                let backends = self.backends.lock().expect("lock");
                backends.iter().map(|b| b.0.clone()).collect()
            };
            // All at once: one slow answer must not delay noticing another backend.
            let answers =
                futures::future::join_all(addresses.iter().map(|address| ready(&client, address)))
                    .await;
            self.record(&addresses, &answers);
            tokio::time::sleep(POLL).await;
        }
    }
}

/// What the load saw.
#[derive(Default)]
struct Tally {
    reads: usize,
    submitted: Vec<i64>,
    failures: Vec<String>,
}

/// One client's loop until `stop`: four catalog reads, then a request submitted and
/// approved, each through the balancer.
async fn load(app: &TestApp, balancer: Balancer, stop: Arc<AtomicBool>, tally: Arc<Mutex<Tally>>) {
    let client = reqwest::Client::new();
    let engineer = app.token(Persona::EngineerA).expect("token");
    let lead = app.token(Persona::LeadA).expect("token");
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let outcome = if round.is_multiple_of(5) {
            submit(&client, &balancer, engineer, lead).await
        } else {
            let backend = balancer.pick();
            let url = format!("{backend}/api/v1/services?team=payments&per_page=50");
            match client.get(&url).bearer_auth(engineer).send().await {
                Ok(r) if r.status() == 200 => Ok(None),
                Ok(r) => Err(format!("GET {url}: {}", r.status())),
                Err(e) => Err(format!("GET {url}: {e}")),
            }
        };
        let mut tally = tally.lock().expect("lock");
        match outcome {
            Ok(Some(id)) => tally.submitted.push(id),
            Ok(None) => tally.reads += 1,
            Err(failure) => tally.failures.push(failure),
        }
    }
}

async fn submit(
    client: &reqwest::Client,
    balancer: &Balancer,
    engineer: &str,
    lead: &str,
) -> Result<Option<i64>, String> {
    let name = format!("svc-{}", next_number());
    let body = json!({
        "kind": "service", "team": "payments", "cluster": "kind", "reason": "rolling update",
        "spec": {"name": name, "image": "ghcr.io/acme/orders:1.0.0", "port": 8080, "replicas": 1}
    });
    let send = |request: reqwest::RequestBuilder, what: String| async move {
        let response = request.send().await.map_err(|e| format!("{what}: {e}"))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| format!("{what}: {e}"))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("{what}: {status} {body}"))
        }
    };
    let backend = balancer.pick();
    let created = send(
        client
            .post(format!("{backend}/api/v1/requests"))
            .bearer_auth(engineer)
            .json(&body),
        format!("POST {backend}/api/v1/requests"),
    )
    .await?;
    let id = created["request"]["id"].as_i64().ok_or("no request id")?;
    let backend = balancer.pick();
    let detail = send(
        client
            .get(format!("{backend}/api/v1/requests/{id}"))
            .bearer_auth(lead),
        format!("GET {backend}/api/v1/requests/{id}"),
    )
    .await?;
    let backend = balancer.pick();
    send(
        client
            .post(format!("{backend}/api/v1/requests/{id}/approve"))
            .bearer_auth(lead)
            .json(&json!({ "plan_hash": detail["plan"]["hash"] })),
        format!("POST {backend}/api/v1/requests/{id}/approve"),
    )
    .await?;
    Ok(Some(id))
}

/// Distinct service names across the load's clients.
fn next_number() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread")]
async fn replacing_a_serve_and_a_worker_under_load_fails_no_request_and_applies_each_job_once() {
    let kube = KubeApi::start(&[]).await;
    let app = spawn_api(&kube).await;
    let database_url = app.settings.database_url.clone().expect("database URL");
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = worker_settings(10);
    let mut workers = Vec::new();
    for token in ["worker-1", "worker-2"] {
        workers
            .push(WorkerProcess::start(&kube, dir.path(), &database_url, token, &settings).await);
    }
    // The team's Namespace first (see `three_workers_apply_200_jobs_each_exactly_once`).
    let warmup = app
        .submit_approved(&crate::worker_processes::service("warmup"))
        .await;
    let detail = app
        .settled_within(warmup, &["applied", "failed"], Duration::from_secs(60))
        .await;
    assert_eq!(detail["request"]["status"], "applied", "{detail}");

    let mut serves = Vec::new();
    let balancer = Balancer::default();
    for name in ["serve-1", "serve-2"] {
        let serve = ServeProcess::start(&kube, dir.path(), &database_url, name).await;
        balancer.add(&serve.address);
        serves.push(serve);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let poller = tokio::spawn(balancer.clone().follow_readiness(stop.clone()));
    let clients = futures::future::join_all(
        (0..4).map(|_| load(&app, balancer.clone(), stop.clone(), tally.clone())),
    );
    let replacement = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        // The new serve process first (maxSurge 1, maxUnavailable 0), then the old one
        // stops; then the same for a worker.
        let serve = ServeProcess::start(&kube, dir.path(), &database_url, "serve-3").await;
        balancer.add(&serve.address);
        let stopping = Instant::now();
        serves[0].terminate().await;
        let stopped_after = stopping.elapsed();
        serves.push(serve);
        workers.push(
            WorkerProcess::start(&kube, dir.path(), &database_url, "worker-3", &settings).await,
        );
        workers[0].terminate().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        stop.store(true, Ordering::Relaxed);
        stopped_after
    };
    let (_, stopped_after) = tokio::join!(clients, replacement);
    poller.await.expect("poller");
    assert!(
        stopped_after >= Duration::from_secs(DRAIN_SECONDS),
        "the old serve process drained for {DRAIN_SECONDS} s before it stopped: {stopped_after:?}"
    );

    let tally = std::mem::take(&mut *tally.lock().expect("lock"));
    assert!(
        tally.failures.is_empty(),
        "{} of {} requests failed: {:#?}",
        tally.failures.len(),
        tally.reads + tally.submitted.len() + tally.failures.len(),
        tally.failures
    );
    assert!(
        tally.reads > 50 && tally.submitted.len() > 5,
        "load ran: {} reads, {} submissions",
        tally.reads,
        tally.submitted.len()
    );

    // Every approved job applied, by exactly one worker, once.
    for id in &tally.submitted {
        let detail = app
            .settled_within(*id, &["applied", "failed"], Duration::from_secs(90))
            .await;
        let story = timeline(&detail);
        assert_eq!(detail["request"]["status"], "applied", "{id}: {story:?}");
        assert_eq!(
            actors(&detail, "request.succeed").len(),
            1,
            "{id}: applied once: {story:?}"
        );
    }
    for worker in &mut workers[1..] {
        worker.assert_running();
    }
    eprintln!(
        "rolling replacement: {} catalog reads and {} submissions, 0 failed; \
         the old serve process stopped {stopped_after:?} after SIGTERM",
        tally.reads,
        tally.submitted.len()
    );
}
