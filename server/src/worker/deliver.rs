//! Delivering a job: what reaches the cluster and the commit that records it, in an order
//! that a worker stopping at any point cannot break.
//!
//! - `direct`: server-side apply, wait until ready, commit (and push); then the request is
//!   recorded applied with its commit. A commit therefore always means "applied and ready".
//! - `gitops`: commit and push (Argo CD or Flux applies it), wait until ready on the
//!   cluster; then the request is recorded applied.
//!
//! A worker that stops after committing but before recording leaves a commit without its
//! record: the worker that takes the job over finds that commit and completes it instead of
//! committing again. A refused push moves the branch back, so nothing is half-committed.

use domain::iac::CommitFacts;
use serde_json::json;

use super::Worker;
use crate::{
    apply::ApplyError,
    config::Delivery,
    iac::{AppliedChange, IacError},
    store::{ClaimedJob, Delivered, JobObjects, JobRequest, RequestRecord},
};

impl From<IacError> for ApplyError {
    fn from(error: IacError) -> Self {
        match error {
            // The object itself cannot be laid out: another attempt writes the same.
            IacError::Layout(_) => Self::Permanent(error.to_string()),
            // A full disk, a lock, a refused or unreachable remote: worth another attempt;
            // after the last one the request fails with this reason.
            _ => Self::Retryable(error.to_string()),
        }
    }
}

/// Why the repository could not catch up with the applied requests.
#[derive(Debug, thiserror::Error)]
pub(super) enum CatchUpError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Iac(#[from] IacError),
    #[error("request {0} is gone")]
    Gone(i64),
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

impl Worker {
    pub(super) async fn deliver(
        &self,
        job: &ClaimedJob,
        record: &RequestRecord,
        request: &JobRequest<'_>,
        objects: &JobObjects,
    ) -> Result<Delivered, ApplyError> {
        let target = self.clusters.target(request.cluster).await?;
        let kube = target.kube().await?;
        let dry_run = kube.is_none();
        let gitops = self.clusters.delivery(request.cluster) == Delivery::Gitops;
        // Only an attempt after the first can find its own commit.
        if job.attempt > 1
            && let Some(commit) = self.iac.commit_of(request.id).await?
        {
            self.progress(
                request,
                format!(
                    "commit {} from an earlier attempt holds this change; completing it",
                    short(&commit)
                ),
                json!({ "step": "resume", "commit": commit }),
            )
            .await;
            self.iac.publish(&commit).await?;
            if gitops && let Some(kube) = &kube {
                self.wait_delivered(request, kube, objects).await?;
            }
            return Ok(Delivered { dry_run, commit });
        }
        match (&kube, gitops) {
            (None, _) => {
                self.progress(
                    request,
                    format!(
                        "dry run: {} objects rendered and validated; nothing was sent to a cluster",
                        objects.len()
                    ),
                    json!({ "step": "dry_run", "of": objects.len() }),
                )
                .await;
            }
            (Some(kube), false) => {
                // What is applied goes first: a decommission's ConfigMap stops ingress-nginx
                // sending to a service before that service is deleted.
                if !objects.apply.is_empty() {
                    let waiting = self.apply(request, kube, &objects.apply).await?;
                    self.wait_ready(request, kube, &waiting, objects.apply.len(), false)
                        .await?;
                }
                if !objects.delete.is_empty() {
                    self.delete(request, kube, &objects.delete).await?;
                }
            }
            (Some(_), true) => {}
        }
        let facts = self.facts(record, dry_run).await?;
        let commit = self.commit(request, objects, facts).await?;
        if gitops && let Some(kube) = &kube {
            self.progress(
                request,
                format!(
                    "waiting for the GitOps controller to apply commit {}",
                    short(&commit)
                ),
                json!({ "step": "gitops", "commit": commit }),
            )
            .await;
            self.wait_delivered(request, kube, objects).await?;
        }
        Ok(Delivered { dry_run, commit })
    }

    /// GitOps: waits until the controller has applied the committed objects (ready), then
    /// pruned the removed ones (gone).
    async fn wait_delivered(
        &self,
        request: &JobRequest<'_>,
        kube: &crate::apply::KubeTarget,
        objects: &JobObjects,
    ) -> Result<(), ApplyError> {
        if !objects.apply.is_empty() {
            let all: Vec<&serde_json::Value> = objects.apply.iter().collect();
            self.wait_ready(request, kube, &all, all.len(), true)
                .await?;
        }
        if !objects.delete.is_empty() {
            self.wait_gone(request, kube, &objects.delete).await?;
        }
        Ok(())
    }

    async fn facts(
        &self,
        record: &RequestRecord,
        dry_run: bool,
    ) -> Result<CommitFacts, ApplyError> {
        self.store
            .commit_facts(record, &self.public_url, dry_run)
            .await
            .map_err(|e| ApplyError::Retryable(e.to_string()))
    }

    /// Commits the objects as applied and the removal of the deleted ones, and pushes them
    /// (when there is a remote).
    async fn commit(
        &self,
        request: &JobRequest<'_>,
        objects: &JobObjects,
        facts: CommitFacts,
    ) -> Result<String, ApplyError> {
        let removed =
            AppliedChange::removal_of_request(request.cluster, &objects.delete, &facts).removed;
        let change = AppliedChange {
            removed,
            ..AppliedChange::of_request(request.cluster, &objects.apply, &facts)
        };
        let commit = self.iac.commit(change).await?;
        // No progress event of its own: the job's end (`request.succeed`) names the commit
        // in the same transaction, and one write fewer per job keeps the worker's pace.
        self.iac.publish(&commit).await?;
        Ok(commit)
    }

    /// Gives every applied request that has no commit in the repository one, in the order
    /// they were applied (a repository created after them, or lost and started afresh), and
    /// records the commit of each whose record lacks it. Runs when the worker starts; one
    /// process at a time per repository.
    pub(super) async fn catch_up_iac(&self) -> Result<usize, CatchUpError> {
        let Some(_only_us) = self.iac.try_lock().await? else {
            tracing::info!("another process is bringing the IaC repository up to date");
            return Ok(0);
        };
        // The records first: a commit is always made before its record, so every request
        // recorded by now has its commit among those read next.
        let applied = self.store.applied_in_order().await?;
        let committed = self.iac.all_request_commits().await?;
        let mut made = 0;
        if self.iac.is_empty().await? {
            made += self.commit_baseline().await?;
        }
        for request in applied {
            let commit = match committed.get(&request.id) {
                Some(commit) if request.iac_commit.as_ref() == Some(commit) => continue,
                Some(commit) => commit.clone(),
                None => {
                    let commit = self.recommit(request.id).await?;
                    made += 1;
                    commit
                }
            };
            self.store
                .record_iac_commit(request.id, &commit, &self.id)
                .await?;
        }
        if made > 0 {
            // One push for them all; a refusal leaves them for the next push to deliver.
            self.iac.push().await?;
        }
        Ok(made)
    }

    /// A new repository starts with what was applied without a request (demo data, an
    /// import), so that its tree is the whole applied state. 1 if it made that commit.
    async fn commit_baseline(&self) -> Result<usize, CatchUpError> {
        let objects = self.store.applied_state(None, true).await?;
        if objects.is_empty() {
            return Ok(0);
        }
        self.iac
            .commit(AppliedChange {
                message: domain::iac::baseline_message(objects.len()),
                objects,
                removed: Vec::new(),
                author: None,
                request_id: None,
            })
            .await?;
        Ok(1)
    }

    /// A commit for applied request `id`: its objects as applied now, where no later
    /// request has changed them (those are in the later requests' commits), so replaying
    /// an older request never puts an old version back at the tip.
    async fn recommit(&self, id: i64) -> Result<String, CatchUpError> {
        let record = self
            .store
            .request(id)
            .await?
            .ok_or(CatchUpError::Gone(id))?;
        let objects = self.store.applied_by_request(id).await?;
        let dry_run = self.clusters.is_dry_run(&record.summary.cluster);
        let facts = self
            .store
            .commit_facts(&record, &self.public_url, dry_run)
            .await?;
        let change = AppliedChange {
            objects,
            ..AppliedChange::of_request(&record.summary.cluster, &[], &facts)
        };
        Ok(self.iac.commit(change).await?)
    }
}
