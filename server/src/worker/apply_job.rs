//! Applying one job's objects: server-side apply in order, then waiting until each is
//! ready, with progress on the request's timeline, while the job's lease is renewed.
//! (`deliver` decides when each happens, and when the commit is made.)

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

use super::Worker;
use crate::{
    apply::{ApplyError, KubeTarget, describe, readiness},
    store::{ClaimedJob, Delivered, JobObjects, JobRequest, RequestRecord},
};

/// The manifests as approved, one JSON object per document.
pub(super) fn objects_of(manifests: &str) -> Result<Vec<Value>, String> {
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(manifests)
        .map(|doc| Value::deserialize(doc).map_err(|e| e.to_string()))
        .filter(|v| !matches!(v, Ok(Value::Null)))
        .collect()
}

impl Worker {
    /// Applies while renewing the job's lease; `None` when the lease was lost (another
    /// worker has the job now, so this one stops).
    pub(super) async fn deliver_holding_lease(
        &self,
        job: &ClaimedJob,
        record: &RequestRecord,
        request: &JobRequest<'_>,
        objects: &JobObjects,
    ) -> Option<Result<Delivered, ApplyError>> {
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
            result = self.deliver(job, record, request, objects) => Some(result),
            _ = lost.changed() => None,
        };
        renewer.abort();
        applied
    }

    /// A step on the request's timeline (written with the next batch, or with the job's
    /// end).
    pub(super) async fn progress(&self, request: &JobRequest<'_>, message: String, detail: Value) {
        self.timeline.report(request, &message, detail).await;
    }

    /// Applies every object in order (server-side apply). Returns the objects still to
    /// wait for: those whose answer from the API server did not already show them ready.
    pub(super) async fn apply<'a>(
        &self,
        request: &JobRequest<'_>,
        kube: &KubeTarget,
        objects: &'a [Value],
    ) -> Result<Vec<&'a Value>, ApplyError> {
        let total = objects.len();
        let mut waiting = Vec::new();
        for (i, object) in objects.iter().enumerate() {
            self.progress(
                request,
                format!("applying {} ({} of {total})", describe(object), i + 1),
                json!({ "step": "apply", "object": i + 1, "of": total }),
            )
            .await;
            if kube.apply(object).await? != readiness::Readiness::Ready {
                waiting.push(object);
            }
        }
        Ok(waiting)
    }

    /// Deletes every object in order (a decommission), then waits until each is gone.
    pub(super) async fn delete(
        &self,
        request: &JobRequest<'_>,
        kube: &KubeTarget,
        objects: &[Value],
    ) -> Result<(), ApplyError> {
        let total = objects.len();
        for (i, object) in objects.iter().enumerate() {
            self.progress(
                request,
                format!("deleting {} ({} of {total})", describe(object), i + 1),
                json!({ "step": "delete", "object": i + 1, "of": total }),
            )
            .await;
            kube.delete(object).await?;
        }
        self.wait_gone(request, kube, objects).await
    }

    /// Waits until each object is gone from the cluster (after our delete, or after a
    /// GitOps controller pruned it).
    pub(super) async fn wait_gone(
        &self,
        request: &JobRequest<'_>,
        kube: &KubeTarget,
        objects: &[Value],
    ) -> Result<(), ApplyError> {
        let timeout = Duration::from_secs(self.settings.readiness_timeout_seconds.max(1));
        for object in objects {
            self.progress(
                request,
                format!("waiting until {} is gone", describe(object)),
                json!({ "step": "wait_gone" }),
            )
            .await;
            kube.wait_gone(object, timeout).await?;
        }
        self.progress(
            request,
            "deleted".into(),
            json!({ "step": "gone", "of": objects.len() }),
        )
        .await;
        Ok(())
    }

    /// Waits until each of `objects` (of the `of` applied) that has a notion of ready is;
    /// `gitops`: objects not yet on the cluster are waited for too.
    pub(super) async fn wait_ready(
        &self,
        request: &JobRequest<'_>,
        kube: &KubeTarget,
        objects: &[&Value],
        of: usize,
        gitops: bool,
    ) -> Result<(), ApplyError> {
        let timeout = Duration::from_secs(self.settings.readiness_timeout_seconds.max(1));
        // A GitOps controller may not have applied any of them yet: each is waited for.
        for object in objects
            .iter()
            .copied()
            .filter(|o| gitops || readiness::needs_wait(o))
        {
            self.progress(
                request,
                format!("waiting for {} to be ready", describe(object)),
                json!({ "step": "wait" }),
            )
            .await;
            kube.wait_ready(object, timeout, gitops).await?;
        }
        self.progress(
            request,
            "ready".into(),
            json!({ "step": "ready", "of": of }),
        )
        .await;
        Ok(())
    }
}
