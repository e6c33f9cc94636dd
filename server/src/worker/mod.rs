//! The worker: claims queued jobs, applies each request's approved manifests to its
//! cluster, waits until they are ready, and records the outcome. Any number of workers
//! may run against one PostgreSQL database; leases keep a job with one worker at a time.

mod metrics;
mod wake;

use std::{sync::Arc, time::Duration};

use domain::request::{NewRequest, RequestSpec};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tracing::Instrument;

pub use metrics::WorkerMetrics;
pub use wake::{JOBS_CHANNEL, listen_for_jobs};

use crate::{
    apply::{ApplyError, Clusters, describe, readiness},
    config::WorkerSettings,
    store::{ClaimedJob, JobRequest, Store, StoreError},
};

#[derive(Clone)]
pub struct Worker {
    store: Store,
    clusters: Arc<Clusters>,
    settings: WorkerSettings,
    /// `worker:<pid>-<random>`: who the audit log and leases name.
    id: String,
    wake: Arc<Notify>,
    metrics: Arc<WorkerMetrics>,
}

#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the job's request is not readable: {0}")]
    BadRequest(String),
}

/// `base × 2^(attempt-1)`, capped.
pub fn backoff(settings: &WorkerSettings, attempt: u32) -> Duration {
    let factor = 2_u64.saturating_pow(attempt.saturating_sub(1));
    Duration::from_millis(
        settings
            .backoff_base_ms
            .saturating_mul(factor)
            .min(settings.backoff_max_ms),
    )
}

/// The team's namespace first when the objects do not bring it (ingress and certificate
/// requests): it is created if missing, with the same labels a service request gives it,
/// so applying it again changes nothing.
fn with_namespace(objects: &[Value], team: &str) -> Vec<Value> {
    let brought = objects.iter().any(|o| o["kind"] == "Namespace");
    let namespace = objects
        .iter()
        .find_map(|o| o["metadata"]["namespace"].as_str());
    let mut all = Vec::with_capacity(objects.len() + 1);
    if let (false, Some(namespace)) = (brought, namespace) {
        all.push(json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {
                "app.kubernetes.io/managed-by": "stargate", "stargate.dev/team": team,
            }},
        }));
    }
    all.extend(objects.iter().cloned());
    all
}

/// The manifests as approved, one JSON object per document.
fn objects_of(manifests: &str) -> Result<Vec<Value>, String> {
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(manifests)
        .map(|doc| Value::deserialize(doc).map_err(|e| e.to_string()))
        .filter(|v| !matches!(v, Ok(Value::Null)))
        .collect()
}

impl Worker {
    pub fn new(
        store: Store,
        clusters: Arc<Clusters>,
        settings: WorkerSettings,
        wake: Arc<Notify>,
        metrics: Arc<WorkerMetrics>,
    ) -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let id = format!("worker:{}-{}", std::process::id(), &suffix[..8]);
        Self {
            store,
            clusters,
            settings,
            id,
            wake,
            metrics,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.settings.lease_seconds.max(1))
    }

    /// Works until `stop` turns true: takes every due job, then sleeps until woken (or the
    /// safety-net poll).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, "worker started");
        let poll = Duration::from_secs(self.settings.poll_seconds.max(1));
        loop {
            if *stop.borrow() {
                break;
            }
            match self.store.claim_job(&self.id, self.lease()).await {
                Ok(Some(job)) => {
                    let span = tracing::info_span!("job", job = job.id, request = job.request_id, attempt = job.attempt, worker = %self.id);
                    self.process(job).instrument(span).await;
                    continue;
                }
                Ok(None) => {}
                Err(error) => tracing::error!(%error, "claiming a job failed"),
            }
            if let Ok(depth) = self.store.queue_depth().await {
                self.metrics.set_queue_depth(depth);
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
        tracing::info!(worker = %self.id, "worker stopped");
    }

    async fn process(&self, job: ClaimedJob) {
        let started = std::time::Instant::now();
        self.metrics.attempt(&job.cluster);
        let outcome = self.process_inner(&job).await;
        self.metrics.finished(&job.cluster, started.elapsed());
        match outcome {
            Ok(()) => {}
            Err(JobError::Store(error)) => {
                // The lease runs out and another attempt picks the job up.
                tracing::error!(%error, "storage failed while applying; the job will be retried");
            }
            Err(JobError::BadRequest(why)) => {
                tracing::error!(%why, "a job's request cannot be applied");
            }
        }
    }

    async fn process_inner(&self, job: &ClaimedJob) -> Result<(), JobError> {
        let record =
            self.store.request(job.request_id).await?.ok_or_else(|| {
                JobError::BadRequest(format!("request {} is gone", job.request_id))
            })?;
        let summary = &record.summary;
        let input = json!({
            "kind": summary.kind, "team": summary.team, "cluster": summary.cluster,
            "reason": summary.reason, "spec": record.spec,
        });
        let spec: RequestSpec = NewRequest::parse(&input)
            .map_err(|e| JobError::BadRequest(e.to_string()))?
            .spec;
        let request = JobRequest {
            id: summary.id,
            team: summary.team.as_str(),
            cluster: &summary.cluster,
            spec: &spec,
        };
        self.store
            .start_apply(&request, &self.id, job.attempt)
            .await?;
        let objects = match objects_of(&record.manifests) {
            Ok(objects) => objects,
            Err(why) => {
                let error = format!("the approved manifests cannot be read: {why}");
                self.store
                    .fail_apply(job, &self.id, &request, &error)
                    .await?;
                return Ok(());
            }
        };

        // Keep the lease while working; if it is lost, stop: another worker has the job.
        let (lost_tx, mut lost) = watch::channel(false);
        let renewer = {
            let store = self.store.clone();
            let job = job.clone();
            let worker = self.id.clone();
            let lease = self.lease();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    match store.renew_lease(&job, &worker, lease).await {
                        Ok(true) => {}
                        Ok(false) => {
                            let _ = lost_tx.send(true);
                            break;
                        }
                        Err(error) => tracing::warn!(%error, "renewing the lease failed"),
                    }
                }
            })
        };
        let applied = tokio::select! {
            result = self.apply(&request, &objects) => Some(result),
            _ = lost.changed() => None,
        };
        renewer.abort();
        let Some(result) = applied else {
            tracing::warn!("lease lost mid-apply; another worker took the job over");
            return Ok(());
        };
        let dry_run = matches!(result, Ok(true));
        match result {
            Ok(_) => {
                if self
                    .store
                    .finish_apply(job, &self.id, &request, &objects, dry_run)
                    .await?
                {
                    tracing::info!("applied and ready");
                }
            }
            Err(ApplyError::Retryable(why)) if job.attempt < self.settings.max_attempts => {
                let delay = backoff(&self.settings, job.attempt);
                self.metrics.failure(&job.cluster);
                self.store
                    .apply_progress(
                        &request,
                        &self.id,
                        &format!(
                            "attempt {} failed: {why}; retrying in {} s",
                            job.attempt,
                            delay.as_secs_f32().ceil()
                        ),
                        json!({ "step": "retry", "attempt": job.attempt, "error": why }),
                    )
                    .await?;
                self.store
                    .retry_job_later(job, &self.id, &why, delay)
                    .await?;
                tracing::warn!(%why, ?delay, "attempt failed; retrying later");
            }
            Err(error) => {
                self.metrics.failure(&job.cluster);
                let why = match &error {
                    ApplyError::Retryable(why) => {
                        format!("gave up after {} attempts: {why}", job.attempt)
                    }
                    other => other.to_string(),
                };
                self.store.fail_apply(job, &self.id, &request, &why).await?;
                tracing::warn!(%why, "request failed");
            }
        }
        Ok(())
    }

    async fn progress(&self, request: &JobRequest<'_>, message: String, detail: Value) {
        if let Err(error) = self
            .store
            .apply_progress(request, &self.id, &message, detail)
            .await
        {
            tracing::warn!(%error, "recording progress failed");
        }
    }

    /// Applies every object in order, then waits for each to be ready. `Ok(true)` for a
    /// dry run (nothing left Stargate).
    async fn apply(&self, request: &JobRequest<'_>, objects: &[Value]) -> Result<bool, ApplyError> {
        let target = self.clusters.target(request.cluster).await?;
        let total = objects.len();
        let kube = match target.kube().await? {
            None => {
                self.progress(
                    request,
                    format!("dry run: {total} objects rendered and validated; nothing was sent to a cluster"),
                    json!({ "step": "dry_run", "of": total }),
                )
                .await;
                return Ok(true);
            }
            Some(kube) => kube,
        };
        let objects = &with_namespace(objects, request.team);
        let total = objects.len();
        for (i, object) in objects.iter().enumerate() {
            self.progress(
                request,
                format!("applying {} ({} of {total})", describe(object), i + 1),
                json!({ "step": "apply", "object": i + 1, "of": total }),
            )
            .await;
            kube.apply(object).await?;
        }
        let timeout = Duration::from_secs(self.settings.readiness_timeout_seconds.max(1));
        for object in objects
            .iter()
            .filter(|o| readiness::needs_wait(o["kind"].as_str().unwrap_or_default()))
        {
            self.progress(
                request,
                format!("waiting for {} to be ready", describe(object)),
                json!({ "step": "wait" }),
            )
            .await;
            kube.wait_ready(object, timeout).await?;
        }
        self.progress(
            request,
            "ready".into(),
            json!({ "step": "ready", "of": total }),
        )
        .await;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let settings = WorkerSettings {
            backoff_base_ms: 1000,
            backoff_max_ms: 5000,
            ..WorkerSettings::default()
        };
        let delays: Vec<u64> = (1..=5)
            .map(|a| backoff(&settings, a).as_millis() as u64)
            .collect();
        assert_eq!(delays, [1000, 2000, 4000, 5000, 5000]);
        assert_eq!(backoff(&settings, 64).as_millis(), 5000, "no overflow");
    }

    #[test]
    fn manifests_split_into_objects() {
        let yaml = "---\nkind: Namespace\nmetadata:\n  name: a\n---\nkind: Service\nmetadata:\n  name: b\n";
        let objects = objects_of(yaml).unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[1]["metadata"]["name"], "b");
    }
}
