//! The worker: claims queued jobs, checks each request again against what is applied now,
//! applies its approved manifests to its cluster, waits until they are ready, and records
//! the outcome. Any number of workers may run against one PostgreSQL database; leases keep
//! a job with one worker at a time. Every step it takes on a request is one `decide`
//! allows for Stargate itself (`Who::System`).

mod apply_job;
mod deliver;
mod in_flight;
mod metrics;
mod timeline;
mod wake;

use std::{sync::Arc, time::Duration};

use domain::request::{
    NewRequest, RequestSpec, RequestStatus,
    lifecycle::{Action, decide_for_stargate},
};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tracing::Instrument;

use apply_job::objects_of;
use in_flight::{InFlight, Touches};
pub use metrics::WorkerMetrics;
use timeline::Timeline;
pub use wake::{JOBS_CHANNEL, listen_for_jobs};

use crate::{
    apply::{ApplyError, Clusters},
    config::{Settings, WorkerSettings},
    drift::{DriftCheck, DriftWatch},
    iac::IacRepo,
    portal::{Recheck, Replanner},
    store::{
        ClaimedJob, Delivered, JobObjects, JobRequest, JobStep, RequestRecord, Store, StoreError,
    },
};

#[derive(Clone)]
pub struct Worker {
    store: Store,
    replanner: Replanner,
    clusters: Arc<Clusters>,
    settings: WorkerSettings,
    /// Every applied change is a commit here.
    iac: IacRepo,
    /// Where requests are seen, for the links in commit messages.
    public_url: String,
    /// `worker:<pid>-<random>`: who the audit log and leases name.
    id: String,
    wake: Arc<Notify>,
    metrics: Arc<WorkerMetrics>,
    /// Between drift checks of each cluster; zero: no checks.
    drift_interval: Duration,
    /// Whether clusters are also watched for drift and live status.
    drift_watch: bool,
    /// The objects of the jobs under way here, so that two touching one object take turns.
    in_flight: Arc<InFlight>,
    /// The jobs' steps, on their requests' timelines.
    timeline: Arc<Timeline>,
}

#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A decided step, owned (the borrowed form is what the store takes).
struct JobStepOwned {
    job: ClaimedJob,
    worker: String,
    request_id: i64,
    team: String,
    from: RequestStatus,
    to: RequestStatus,
}

impl JobStepOwned {
    fn borrowed(&self) -> JobStep<'_> {
        JobStep {
            job: &self.job,
            worker: &self.worker,
            request_id: self.request_id,
            team: &self.team,
            from: self.from,
            to: self.to,
        }
    }
}

/// The approved spec and objects of a stored request, or why they cannot be read.
type ApprovedParts = Result<(RequestSpec, JobObjects), String>;

/// A stored request's [`ApprovedParts`].
fn approved_parts(record: &RequestRecord) -> ApprovedParts {
    let summary = &record.summary;
    let input = json!({
        "kind": summary.kind, "team": summary.team, "cluster": summary.cluster,
        "reason": summary.reason, "spec": record.spec,
    });
    let spec = NewRequest::parse(&input)
        .map_err(|errors| format!("the stored request no longer reads as valid: {errors}"))?
        .spec;
    let documents = objects_of(&record.manifests)
        .map_err(|why| format!("the approved manifests cannot be read: {why}"))?;
    let objects = JobObjects::split(&spec, &record.plan, documents)?;
    Ok((spec, objects))
}

/// What a job does to each object on its cluster: the hash of the object applied, or of
/// its deletion.
fn touches(cluster: &str, objects: &JobObjects) -> Touches {
    use std::hash::{BuildHasher, Hash, Hasher};
    // Fixed keys: only compared within this process, but equal objects must hash equally.
    let hasher =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
    let applied = objects.apply.iter().map(|o| (o, "apply"));
    let deleted = objects.delete.iter().map(|o| (o, "delete"));
    applied
        .chain(deleted)
        .map(|(object, what)| {
            let text = |pointer: &str| {
                object
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let key = (
                cluster.to_owned(),
                text("/kind"),
                text("/metadata/namespace"),
                text("/metadata/name"),
            );
            let mut hash = hasher.build_hasher();
            what.hash(&mut hash);
            object.to_string().hash(&mut hash);
            (key, hash.finish())
        })
        .collect()
}

/// How often a busy worker looks for jobs abandoned on their last attempt.
const ABANDONED_CHECK_EVERY: Duration = Duration::from_secs(1);

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

impl Worker {
    /// A worker for `settings`' clusters, worker settings and IaC repository.
    pub fn new(
        store: Store,
        replanner: Replanner,
        settings: &Settings,
        wake: Arc<Notify>,
        metrics: Arc<WorkerMetrics>,
    ) -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let id = format!("worker:{}-{}", std::process::id(), &suffix[..8]);
        Self {
            timeline: Arc::new(Timeline::new(store.clone(), &id)),
            store,
            replanner,
            clusters: Arc::new(Clusters::from_settings(settings)),
            settings: settings.worker.clone(),
            iac: IacRepo::new(&settings.iac, &settings.data_dir),
            public_url: settings.public_url(),
            id,
            wake,
            metrics,
            drift_interval: Duration::from_secs(settings.drift.interval_seconds),
            drift_watch: settings.drift.watch,
            in_flight: Arc::default(),
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
        match self.catch_up_iac().await {
            Ok(0) => {}
            Ok(made) => tracing::info!(
                commits = made,
                "the IaC repository caught up with applied requests"
            ),
            Err(error) => {
                tracing::error!(%error, "the IaC repository could not catch up; it will be tried at the next start")
            }
        }
        let drift = (!self.drift_interval.is_zero()).then(|| {
            let check = DriftCheck::new(
                self.store.clone(),
                self.clusters.clone(),
                self.metrics.clone(),
                self.id.clone(),
            );
            tokio::spawn(check.run(self.drift_interval, stop.clone()))
        });
        let watch = self.drift_watch.then(|| {
            let watch = DriftWatch::new(
                self.store.clone(),
                self.clusters.clone(),
                self.metrics.clone(),
                self.id.clone(),
            );
            tokio::spawn(watch.run(stop.clone()))
        });
        let poll = Duration::from_secs(self.settings.poll_seconds.max(1));
        let concurrency = self.settings.concurrency.max(1);
        let worker = Arc::new(self);
        let batches = {
            let timeline = worker.timeline.clone();
            tokio::spawn(async move { timeline.run().await })
        };
        // Jobs under way; each holds its own lease, and a job ends before the worker stops.
        let mut running = tokio::task::JoinSet::new();
        // When abandoned jobs were last looked for: once a second while busy (a statement
        // per job fewer), and whenever the queue is empty.
        let mut abandoned_checked: Option<std::time::Instant> = None;
        loop {
            if *stop.borrow() {
                break;
            }
            while running.try_join_next().is_some() {}
            if running.len() >= concurrency {
                tokio::select! {
                    _ = running.join_next() => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            let due = abandoned_checked.is_none_or(|at| at.elapsed() >= ABANDONED_CHECK_EVERY);
            if due {
                abandoned_checked = Some(std::time::Instant::now());
                if worker.fail_one_abandoned().await {
                    continue;
                }
            }
            match worker
                .store
                .claim_job(&worker.id, worker.lease(), worker.settings.max_attempts)
                .await
            {
                Ok(Some(job)) => {
                    let span = tracing::info_span!("job", job = job.id, request = job.request_id, attempt = job.attempt, worker = %worker.id);
                    // Read here, in claim order, to take the job's place in line.
                    let record = worker.store.request(job.request_id).await;
                    let parts = match &record {
                        Ok(Some(record)) => Some(approved_parts(record)),
                        _ => None,
                    };
                    let objects = match &parts {
                        Some(Ok((_, objects))) => touches(&job.cluster, objects),
                        _ => Touches::default(),
                    };
                    let turn = worker.in_flight.reserve(objects);
                    let worker = worker.clone();
                    // Boxed: a job's future is deep (re-check, apply, record, re-check the
                    // team's waiting requests), and the release build's layout overflowed
                    // the compiler's query depth with it inline.
                    running.spawn(
                        Box::pin(async move {
                            turn.wait().await;
                            worker.process(job, record, parts).await;
                        })
                        .instrument(span),
                    );
                    continue;
                }
                Ok(None) => {}
                Err(error) => tracing::error!(%error, "claiming a job failed"),
            }
            // Nothing queued: an abandoned job does not wait for the next second.
            if !due && worker.fail_one_abandoned().await {
                continue;
            }
            if let Ok(depth) = worker.store.queue_depth().await {
                worker.metrics.set_queue_depth(depth);
            }
            tokio::select! {
                () = worker.wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
                // A job ending may have queued another (a retry) or freed a slot.
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        while running.join_next().await.is_some() {}
        batches.abort();
        worker.timeline.flush().await;
        if let Some(drift) = drift {
            let _ = drift.await;
        }
        if let Some(watch) = watch {
            let _ = watch.await;
        }
        tracing::info!(worker = %worker.id, "worker stopped");
    }

    /// Fails one job whose worker stopped on its last attempt (it ends failed, not
    /// retried); `true` if there was one.
    async fn fail_one_abandoned(&self) -> bool {
        match self
            .store
            .claim_exhausted_job(&self.id, self.lease(), self.settings.max_attempts)
            .await
        {
            Ok(Some(job)) => {
                let span = tracing::info_span!("job", job = job.id, request = job.request_id, attempt = job.attempt, worker = %self.id);
                Box::pin(self.fail_exhausted(job)).instrument(span).await;
                true
            }
            Ok(None) => false,
            Err(error) => {
                tracing::error!(%error, "looking for abandoned jobs failed");
                false
            }
        }
    }

    /// Applies a claimed job, given its request as read at the claim and that request's
    /// approved parts (`None` when there is no request).
    async fn process(
        &self,
        job: ClaimedJob,
        record: Result<Option<RequestRecord>, StoreError>,
        parts: Option<ApprovedParts>,
    ) {
        let started = std::time::Instant::now();
        self.metrics.attempt(&job.cluster);
        let outcome = match record {
            Ok(record) => self.process_inner(&job, record, parts).await,
            Err(error) => Err(error.into()),
        };
        self.metrics.finished(&job.cluster, started.elapsed());
        if let Err(JobError::Store(error)) = outcome {
            // The lease runs out and another attempt picks the job up.
            tracing::error!(%error, "storage failed while applying; the job will be retried");
        }
    }

    async fn fail_exhausted(&self, job: ClaimedJob) {
        let why = format!(
            "gave up after {} attempts: the worker applying it stopped each time",
            job.attempt
        );
        let outcome = async {
            let record = self.store.request(job.request_id).await?;
            if let Some(record) = &record
                && self.completed_from_commit(&job, record).await?
            {
                return Ok(());
            }
            self.give_up(&job, record.as_ref(), &why).await
        };
        if let Err(error) = outcome.await {
            tracing::error!(%error, "failing an abandoned job failed");
        }
    }

    /// A job out of attempts whose last worker committed before it stopped (a `direct`
    /// cluster's commit means applied and ready): the request is recorded applied with that
    /// commit rather than failed. `false` when there is no such commit.
    async fn completed_from_commit(
        &self,
        job: &ClaimedJob,
        record: &RequestRecord,
    ) -> Result<bool, JobError> {
        let summary = &record.summary;
        if summary.status != RequestStatus::Applying
            || self.clusters.delivery(&summary.cluster) != crate::config::Delivery::Direct
        {
            return Ok(false);
        }
        let Ok(Some(commit)) = self.iac.commit_of(summary.id).await else {
            return Ok(false);
        };
        let Ok((spec, objects)) = approved_parts(record) else {
            return Ok(false);
        };
        let request = JobRequest::of(record, &spec);
        let delivered = Delivered {
            dry_run: self.clusters.is_dry_run(&summary.cluster),
            commit,
        };
        self.record_outcome(job, record, &request, &objects, Ok(delivered))
            .await?;
        Ok(true)
    }

    /// The step `decide` allows Stargate from `status`, or `None` (then the request moved
    /// somewhere the worker has nothing to do).
    fn step(
        &self,
        job: &ClaimedJob,
        record: &RequestRecord,
        action: Action,
    ) -> Option<JobStepOwned> {
        match decide_for_stargate(record.summary.status, &action) {
            Ok(step) => Some(JobStepOwned {
                job: job.clone(),
                worker: self.id.clone(),
                request_id: record.summary.id,
                team: record.summary.team.to_string(),
                from: record.summary.status,
                to: step.to,
            }),
            Err(refusal) => {
                tracing::warn!(%refusal, action = action.name(), "the worker may not take this step");
                None
            }
        }
    }

    /// A job that can never succeed ends now, with the reason on its request (if any).
    async fn give_up(
        &self,
        job: &ClaimedJob,
        record: Option<&RequestRecord>,
        why: &str,
    ) -> Result<(), JobError> {
        self.metrics.failure(&job.cluster);
        tracing::warn!(%why, "a job cannot be applied; failing it");
        // Its steps so far go on the timeline before its end.
        self.timeline.flush().await;
        match record.and_then(|r| self.step(job, r, Action::Fail)) {
            Some(step) => {
                self.store.fail_apply(&step.borrowed(), why).await?;
            }
            None => {
                self.store.abandon_job(job, &self.id, why).await?;
            }
        }
        Ok(())
    }

    async fn process_inner(
        &self,
        job: &ClaimedJob,
        record: Option<RequestRecord>,
        parts: Option<ApprovedParts>,
    ) -> Result<(), JobError> {
        let Some(record) = record else {
            let why = format!("request {} is gone", job.request_id);
            return self.give_up(job, None, &why).await;
        };
        let summary = &record.summary;
        let parts = parts.unwrap_or_else(|| approved_parts(&record));
        let (spec, objects) = match parts {
            Ok(parts) => parts,
            Err(why) => return self.give_up(job, Some(&record), &why).await,
        };
        // First claim: the world may have moved since the approval. A job taken over from
        // a worker that stopped was checked when it was first claimed.
        if summary.status == RequestStatus::Queued && self.overtaken(job, &record).await? {
            return Ok(());
        }
        let Some(claim) = self.step(job, &record, Action::Claim) else {
            // Cancelled, applied or failed meanwhile: nothing to apply.
            self.store
                .abandon_job(
                    job,
                    &self.id,
                    "the request is no longer waiting to be applied",
                )
                .await?;
            return Ok(());
        };
        if !self
            .store
            .start_apply(&claim.borrowed(), &summary.cluster)
            .await?
        {
            return Ok(());
        }
        let request = JobRequest::of(&record, &spec);
        let applying = RequestRecord {
            summary: domain::request::RequestSummary {
                status: RequestStatus::Applying,
                ..summary.clone()
            },
            ..record.clone()
        };
        let Some(result) = self
            .deliver_holding_lease(job, &record, &request, &objects)
            .await
        else {
            tracing::warn!("lease lost mid-apply; another worker took the job over");
            return Ok(());
        };
        self.record_outcome(job, &applying, &request, &objects, result)
            .await
    }

    /// Whether applying `record` now would not be what was approved; then it went back to
    /// review (plan changed) or failed (rules fail), and the job ends here.
    async fn overtaken(&self, job: &ClaimedJob, record: &RequestRecord) -> Result<bool, JobError> {
        match self.replanner.recheck(record).await? {
            Recheck::Same => Ok(false),
            Recheck::Changed(change) => {
                if let Some(step) = self.step(job, record, Action::Replan) {
                    let voided = self
                        .store
                        .approvals(record.summary.id, &record.plan.hash)
                        .await?;
                    let detail = Recheck::replan_detail(record, &change, voided.len());
                    self.store
                        .replan_job(&step.borrowed(), &change, detail)
                        .await?;
                    tracing::info!("the plan changed since approval; back to review");
                }
                Ok(true)
            }
            Recheck::Broken(errors) => {
                let why = format!("the request no longer passes the rules: {errors}");
                self.give_up(job, Some(record), &why).await?;
                Ok(true)
            }
        }
    }

    /// Records how applying went: applied (and the team's waiting requests re-checked),
    /// retried later, or failed with the reason.
    async fn record_outcome(
        &self,
        job: &ClaimedJob,
        applying: &RequestRecord,
        request: &JobRequest<'_>,
        objects: &JobObjects,
        result: Result<Delivered, ApplyError>,
    ) -> Result<(), JobError> {
        match result {
            Ok(delivered) => {
                let Some(done) = self.step(job, applying, Action::Succeed) else {
                    return Ok(());
                };
                // The job's steps not yet written go in with its end: one commit.
                let progress = self.timeline.take(request.id).await;
                let finished = self
                    .store
                    .finish_apply(&done.borrowed(), request, objects, &delivered, &progress)
                    .await;
                if !matches!(finished, Ok(true)) {
                    self.timeline.write_now(&progress).await;
                }
                match finished {
                    Ok(true) => {
                        tracing::info!("applied and ready");
                        // Waiting requests of the team may have been overtaken by this one.
                        self.replanner
                            .revisit_waiting(request.team, request.cluster, &self.id)
                            .await?;
                    }
                    Ok(false) => {}
                    Err(StoreError::HostHeld(host)) => {
                        let why = format!(
                            "host {host} belongs to another service in the catalog; it was not moved"
                        );
                        return self.give_up(job, Some(applying), &why).await;
                    }
                    Err(StoreError::ExternalPortHeld(port)) => {
                        let why = format!(
                            "{port} of ingress-nginx belongs to another service in the catalog; it was not moved"
                        );
                        return self.give_up(job, Some(applying), &why).await;
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            Err(ApplyError::Retryable(why)) if job.attempt < self.settings.max_attempts => {
                let delay = backoff(&self.settings, job.attempt);
                self.metrics.failure(&job.cluster);
                self.progress(
                    request,
                    format!(
                        "attempt {} failed: {why}; retrying in {} s",
                        job.attempt,
                        delay.as_secs_f32().ceil()
                    ),
                    json!({ "step": "retry", "attempt": job.attempt, "error": why }),
                )
                .await;
                self.timeline.flush().await;
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
                self.timeline.flush().await;
                if let Some(failed) = self.step(job, applying, Action::Fail) {
                    self.store.fail_apply(&failed.borrowed(), &why).await?;
                }
                tracing::warn!(%why, "request failed");
            }
        }
        Ok(())
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

    #[test]
    fn a_decommission_splits_its_documents_by_the_plan() {
        use domain::request::{
            DecommissionSpec,
            plan::{Change, Plan, PlannedObject},
        };
        let planned = |name: &str, change: Change| PlannedObject {
            kind: "Service".into(),
            namespace: None,
            name: name.into(),
            change,
        };
        let plan = Plan {
            objects: vec![
                planned("tcp-services", Change::Create),
                planned("orders", Change::Delete),
            ],
            hash: String::new(),
            adopted: None,
            imported: None,
        };
        let documents = vec![json!({"n": "tcp-services"}), json!({"n": "orders"})];
        let spec = RequestSpec::Decommission(DecommissionSpec::default());
        let objects = JobObjects::split(&spec, &plan, documents.clone()).unwrap();
        assert_eq!(objects.apply, [json!({"n": "tcp-services"})]);
        assert_eq!(objects.delete, [json!({"n": "orders"})]);

        // Manifests and plan out of step: nothing is guessed.
        let short = Plan {
            objects: plan.objects[..1].to_vec(),
            hash: String::new(),
            adopted: None,
            imported: None,
        };
        assert!(JobObjects::split(&spec, &short, documents).is_err());
    }
}
