//! Review operations: approve, reject, cancel, comment, and the leads' queue. Who may do
//! what, from which state, is `domain::request::lifecycle::decide`; this layer reads the
//! request, asks it, re-checks the plan before an approval counts, and stores the step.

use domain::{
    Actor, FieldError, FieldErrors, PortalError,
    request::{
        NewRequest, RequestDetail, RequestSummary,
        change::{PreparedChange, prepare, render_change},
        lifecycle::{Action, Refusal, RequestFacts, ReviewPolicy, Who, comment_problem, decide},
        plan::only_caught_up,
        render::RenderContext,
    },
};
use serde_json::json;

use super::{PortalService, requests::render_failed, unavailable};
use crate::store::{RequestRecord, StepRecord};

fn refused(refusal: Refusal) -> PortalError {
    match refusal {
        Refusal::NotAllowed(why) => PortalError::Forbidden(why),
        Refusal::WrongState(why) => PortalError::Conflict(why),
        Refusal::Invalid(why) => {
            PortalError::Invalid(FieldErrors(vec![FieldError::new("comment", why)]))
        }
    }
}

impl PortalService {
    /// The change `record` would make now: its stored spec rendered against today's
    /// catalog and planned against what is applied today. `Err` with the rules' errors
    /// when it no longer passes them.
    async fn current_change(
        &self,
        record: &RequestRecord,
    ) -> Result<Result<PreparedChange, FieldErrors>, PortalError> {
        let summary = &record.summary;
        let input = json!({
            "kind": summary.kind, "team": summary.team, "cluster": summary.cluster,
            "reason": summary.reason, "spec": record.spec,
        });
        let request = match NewRequest::parse(&input) {
            Ok(request) => request,
            Err(errors) => return Ok(Err(errors)),
        };
        let team = self.policy.teams.get(&request.team).ok_or_else(|| {
            PortalError::Conflict(format!("team {} is no longer configured", request.team))
        })?;
        let snapshot = self
            .store
            .catalog_snapshot(&request, team.allowed_domains.clone())
            .await
            .map_err(unavailable)?;
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
            .applied_objects(&request.cluster, &rendered.objects)
            .await
            .map_err(unavailable)?;
        Ok(Ok(prepare(rendered, &live).map_err(render_failed)?))
    }

    /// An approval binds to the plan the reviewer read. If applying would now change
    /// something else (another change landed on the same objects), the request gets the
    /// new plan, earlier approvals stop counting, and the reviewer is asked to look again.
    async fn confirm_plan(
        &self,
        actor: &Actor,
        record: &RequestRecord,
        voided: usize,
    ) -> Result<(), PortalError> {
        let id = record.summary.id;
        let change = match self.current_change(record).await? {
            Ok(change) => change,
            Err(errors) => {
                return Err(PortalError::Conflict(format!(
                    "request {id} no longer passes the rules ({errors}); ask for a new request"
                )));
            }
        };
        if change.plan.hash == record.plan.hash || only_caught_up(&record.plan, &change.plan) {
            return Ok(());
        }
        let detail = json!({
            "old_hash": record.plan.hash, "new_hash": change.plan.hash,
            "plan": change.plan.objects, "voided_approvals": voided,
        });
        self.store
            .replan_request(
                id,
                record.summary.team.as_str(),
                &record.plan.hash,
                &change,
                &actor.email,
                detail,
            )
            .await
            .map_err(unavailable)?;
        tracing::info!(request = id, "plan changed before approval; back to review");
        Err(PortalError::Conflict(format!(
            "the plan of request {id} changed since it was reviewed (another change landed on \
             the same objects); approvals of the old plan no longer count: review the new plan"
        )))
    }

    pub(super) async fn act(
        &self,
        actor: &Actor,
        id: i64,
        action: Action,
    ) -> Result<RequestDetail, PortalError> {
        let record = self.record(id).await?;
        let summary = &record.summary;
        let approvals = self
            .store
            .approvals(id, &record.plan.hash)
            .await
            .map_err(unavailable)?;
        let approved_by: Vec<i64> = approvals.iter().map(|a| a.user_id).collect();
        let facts = RequestFacts {
            status: summary.status,
            team: &summary.team,
            requester_id: record.requester_id,
            approved_by: &approved_by,
        };
        let required_approvals = self.required_approvals(&summary.team);
        let policy = ReviewPolicy { required_approvals };
        let step = decide(&facts, Who::Person(actor), &action, policy).map_err(refused)?;
        if step.records_approval {
            self.confirm_plan(actor, &record, approved_by.len()).await?;
        }
        let comment = match &action {
            Action::Approve { comment } | Action::Reject { comment } => comment.trim(),
            _ => "",
        };
        let audit_action = format!("request.{}", action.name());
        let stored = self
            .store
            .apply_step(&StepRecord {
                request_id: id,
                team: summary.team.as_str(),
                cluster: &summary.cluster,
                from: summary.status,
                plan_hash: &record.plan.hash,
                step,
                actor_id: actor.user_id,
                actor_email: &actor.email,
                action: &audit_action,
                comment,
                required_approvals,
                detail: json!({ "comment": comment, "plan_hash": record.plan.hash }),
            })
            .await
            .map_err(unavailable)?;
        let Some(to) = stored else {
            // Someone acted between our read and our write; say where it stands now.
            let now = self.record(id).await?.summary.status;
            return Err(PortalError::Conflict(format!(
                "request {id} changed while you were acting on it: it is now {}",
                now.label().to_lowercase()
            )));
        };
        tracing::info!(request = id, action = action.name(), to = %to, "request moved");
        if to == domain::request::RequestStatus::Queued {
            self.wake.notify_one();
        }
        self.read(actor, id).await
    }

    pub(super) async fn comment(
        &self,
        actor: &Actor,
        id: i64,
        comment: &str,
    ) -> Result<RequestDetail, PortalError> {
        let record = self.record(id).await?;
        let comment = comment.trim();
        let problem = if comment.is_empty() {
            Some("write something".to_owned())
        } else {
            comment_problem(comment, true)
        };
        if let Some(problem) = problem {
            return Err(PortalError::Invalid(FieldErrors(vec![FieldError::new(
                "comment", problem,
            )])));
        }
        self.store
            .comment_on_request(id, record.summary.team.as_str(), &actor.email, comment)
            .await
            .map_err(unavailable)?;
        self.read(actor, id).await
    }

    /// Pending requests the actor may review (their teams as lead, every team as admin;
    /// never their own), oldest first.
    pub(super) async fn queue_for(
        &self,
        actor: &Actor,
    ) -> Result<Vec<RequestSummary>, PortalError> {
        let pending = self.store.pending_requests().await.map_err(unavailable)?;
        Ok(pending
            .into_iter()
            .filter(|(summary, requester_id)| {
                actor.may_review_for(&summary.team) && *requester_id != actor.user_id
            })
            .map(|(summary, _)| summary)
            .collect())
    }
}
