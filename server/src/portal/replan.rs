//! Checking a stored request again: its spec rendered against today's catalog and planned
//! against what is applied today. Between review and apply the world moves (another change
//! lands on the same objects, a host is taken, a port changes); before an approval counts,
//! when the worker claims the job, on retry, and after each apply for the team's waiting
//! requests, this says whether the reviewed change still holds.

use std::sync::Arc;

use domain::{
    FieldError, FieldErrors,
    request::{
        NewRequest, RequestSpec, RequestStatus,
        change::{PreparedChange, prepare, render_change},
        lifecycle::{Action, decide_for_stargate},
        plan::{Change, only_caught_up},
        render::RenderContext,
    },
};
use serde_json::{Value, json};

use super::{
    RequestPolicy,
    import::{ReadError, read_namespace},
};
use crate::{
    apply::Clusters,
    store::{CheckedStep, RequestRecord, Store, StoreError},
};

/// How many waiting requests of a team an apply re-checks at most.
const REVISIT_LIMIT: i64 = 100;

/// What applying a stored request would do now.
#[derive(Debug, Clone)]
pub enum Recheck {
    /// Exactly what was reviewed (objects created meanwhile exactly as desired count as
    /// reviewed: the change is then strictly smaller).
    Same,
    /// Something else: the change to review instead.
    Changed(Box<PreparedChange>),
    /// The request no longer passes the rules; why.
    Broken(FieldErrors),
}

impl Recheck {
    /// The audit detail of a re-plan from `old` to `new`.
    pub fn replan_detail(old: &RequestRecord, new: &PreparedChange, voided: usize) -> Value {
        json!({
            "old_hash": old.plan.hash, "new_hash": new.plan.hash,
            "plan": new.plan.objects, "voided_approvals": voided,
        })
    }
}

/// Whether the worker, applying `record`'s approved objects, applies what the request
/// renders today. A plan caught up only if the world moved towards the approved objects:
/// objects rendered differently now (ingress-nginx's shared ConfigMap gained another
/// entry) would lose that change if the approved ones were applied. A decommission
/// applies nothing (its manifests carry what it deletes, as it is now).
fn applies_the_same(record: &RequestRecord, change: &PreparedChange) -> bool {
    change.manifests == record.manifests
        || change
            .plan
            .objects
            .iter()
            .all(|o| o.change == Change::Delete)
}

#[derive(Clone)]
pub struct Replanner {
    store: Store,
    policy: Arc<RequestPolicy>,
    /// Where an import reads its namespace.
    clusters: Arc<Clusters>,
}

impl Replanner {
    pub fn new(store: Store, policy: Arc<RequestPolicy>, clusters: Arc<Clusters>) -> Self {
        Self {
            store,
            policy,
            clusters,
        }
    }

    /// What an import of `namespace` on `cluster` reads there now.
    pub async fn read_namespace(
        &self,
        cluster: &str,
        namespace: &str,
    ) -> Result<Vec<Value>, ReadError> {
        // Boxed: the kube client's futures are deep, and every caller's would embed them.
        let read: std::pin::Pin<Box<dyn Future<Output = _> + Send + '_>> =
            Box::pin(read_namespace(&self.clusters, cluster, namespace));
        read.await
    }

    /// The change `record` would make now, or the rules' errors.
    pub async fn current_change(
        &self,
        record: &RequestRecord,
    ) -> Result<Result<PreparedChange, FieldErrors>, StoreError> {
        let summary = &record.summary;
        let input = json!({
            "kind": summary.kind, "team": summary.team, "cluster": summary.cluster,
            "reason": summary.reason, "spec": record.spec,
        });
        let request = match NewRequest::parse(&input) {
            Ok(request) => request,
            Err(errors) => return Ok(Err(errors)),
        };
        let Some(team) = self.policy.teams.get(&request.team) else {
            return Ok(Err(FieldErrors(vec![FieldError::new(
                "team",
                format!("team {} is no longer configured", request.team),
            )])));
        };
        if !self.policy.clusters.contains(&request.cluster) {
            return Ok(Err(FieldErrors(vec![FieldError::new(
                "cluster",
                format!("cluster {} is no longer configured", request.cluster),
            )])));
        }
        let mut snapshot = self
            .store
            .catalog_snapshot(&request, team.rules(), Some(summary.id))
            .await?;
        if let RequestSpec::Import(spec) = &request.spec {
            match self.read_namespace(&request.cluster, &spec.namespace).await {
                Ok(objects) => snapshot.namespace_objects = objects,
                Err(ReadError::DryRun) => {
                    return Ok(Err(FieldErrors(vec![FieldError::new(
                        "cluster",
                        ReadError::DryRun.to_string(),
                    )])));
                }
                // Not the request's fault: it waits until the cluster answers.
                Err(error) => return Err(StoreError::ClusterUnreachable(error.to_string())),
            }
        }
        let ctx = RenderContext {
            team: request.team.clone(),
            namespace: team.namespace.clone(),
            request_id: summary.id.to_string(),
        };
        let rendered = match render_change(&request, &ctx, &snapshot) {
            Ok(rendered) => rendered,
            Err(errors) => return Ok(Err(errors)),
        };
        let live = self
            .store
            .applied_objects(&request.cluster, rendered.keys())
            .await?;
        prepare(rendered, &live)
            .map(Ok)
            .map_err(|e| StoreError::Corrupt(format!("rendering request {}: {e}", summary.id)))
    }

    /// Whether applying `record` now still makes the change that was reviewed.
    pub async fn recheck(&self, record: &RequestRecord) -> Result<Recheck, StoreError> {
        Ok(match self.current_change(record).await? {
            Err(errors) => Recheck::Broken(errors),
            Ok(change)
                if change.plan.hash == record.plan.hash
                    || (applies_the_same(record, &change)
                        && only_caught_up(&record.plan, &change.plan)) =>
            {
                Recheck::Same
            }
            Ok(change) => Recheck::Changed(Box::new(change)),
        })
    }

    /// Takes Stargate's own step on a request no worker holds: `Replan` with the new
    /// change, or `Fail` with the rules' errors. `false` when `decide` does not allow it
    /// from where the request stands, or it moved meanwhile.
    async fn system_step(
        &self,
        record: &RequestRecord,
        recheck: &Recheck,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let (action, change, detail) = match recheck {
            Recheck::Same => return Ok(false),
            Recheck::Changed(change) => {
                let voided = self
                    .store
                    .approvals(record.summary.id, &record.plan.hash)
                    .await?;
                (
                    Action::Replan,
                    Some(&**change),
                    Recheck::replan_detail(record, change, voided.len()),
                )
            }
            Recheck::Broken(errors) => (
                Action::Fail,
                None,
                json!({ "error": errors.to_string(), "rules": true }),
            ),
        };
        let Ok(step) = decide_for_stargate(record.summary.status, &action) else {
            return Ok(false);
        };
        let audit_action = match action {
            Action::Replan => "request.replanned",
            _ => "request.fail",
        };
        self.store
            .recheck_step(&CheckedStep {
                request_id: record.summary.id,
                team: record.summary.team.as_str(),
                from: record.summary.status,
                to: step.to,
                plan_hash: &record.plan.hash,
                change,
                action: audit_action,
                actor,
                detail,
            })
            .await
    }

    /// Re-checks `record` and takes the step the answer calls for (re-plan or fail); the
    /// answer is returned either way.
    pub async fn settle(&self, record: &RequestRecord, actor: &str) -> Result<Recheck, StoreError> {
        let recheck = self.recheck(record).await?;
        if self.system_step(record, &recheck, actor).await? {
            tracing::info!(
                request = record.summary.id,
                outcome = match &recheck {
                    Recheck::Changed(_) => "replanned",
                    _ => "failed the rules",
                },
                "a waiting request was overtaken"
            );
        }
        Ok(recheck)
    }

    /// After a change of `team` applied on `cluster`: its requests waiting for review are
    /// re-checked, so the queue shows their current plans, and one that can no longer pass
    /// the rules leaves it with the reason instead of waiting forever.
    pub async fn revisit_waiting(
        &self,
        team: &str,
        cluster: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        for id in self.store.pending_ids(team, cluster, REVISIT_LIMIT).await? {
            if let Some(record) = self.store.request(id).await?
                && record.summary.status == RequestStatus::PendingReview
            {
                self.settle(&record, actor).await?;
            }
        }
        Ok(())
    }
}
