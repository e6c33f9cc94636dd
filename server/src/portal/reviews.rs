//! Review operations: approve, reject, cancel, retry, comment, the leads' queue and
//! approving several requests from it at once. Who
//! may do what, from which state, is `domain::request::lifecycle::decide`; this layer reads
//! the request, asks it, checks the plan the reviewer saw is still the plan, re-checks the
//! change against today's catalog where it matters, and stores the step.

use std::collections::HashSet;

use domain::{
    Actor, FieldError, FieldErrors, Portal, PortalError, Review,
    request::{
        RequestDetail,
        bulk::{ApprovalResult, BulkApproval, ReviewItem},
        change::PreparedChange,
        lifecycle::{
            Action, Refusal, RequestFacts, Who, comment_problem, decide, missing_scope, offers,
        },
        plan::Plan,
    },
};
use serde_json::json;

use super::{PortalService, replan::Recheck, requests::needs_request_scope, unavailable};
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

fn plan_changed(id: i64, plan: Plan, why: &str) -> PortalError {
    PortalError::PlanChanged {
        message: format!(
            "the plan of request {id} changed since you read it ({why}); nothing was recorded: review the current plan"
        ),
        plan: Box::new(plan),
    }
}

impl PortalService {
    /// A person's step on request `id`. `seen_plan` is the plan hash a reviewer was shown:
    /// approvals and rejections bind to it.
    pub(super) async fn act(
        &self,
        actor: &Actor,
        id: i64,
        action: Action,
        seen_plan: Option<&str>,
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
        let policy = self.review_policy(&summary.team);
        // Who may act, from which state, with which input: before anything else.
        let mut step = decide(&facts, Who::Person(actor), &action, policy).map_err(refused)?;
        if let Some(seen) = seen_plan
            && seen != record.plan.hash
        {
            return Err(plan_changed(
                id,
                record.plan.clone(),
                "you were shown another plan",
            ));
        }
        let mut change = None;
        match &action {
            // An approval counts only if applying now makes the change that was read.
            Action::Approve { .. } => match self
                .replanner
                .settle(&record, &actor.email)
                .await
                .map_err(unavailable)?
            {
                Recheck::Same => {}
                Recheck::Changed(new) => {
                    tracing::info!(request = id, "plan changed before approval; back to review");
                    return Err(plan_changed(
                        id,
                        new.plan,
                        "another change landed on the same objects; approvals of the old plan no longer count",
                    ));
                }
                Recheck::Broken(errors) => {
                    return Err(PortalError::Conflict(format!(
                        "request {id} no longer passes the rules ({errors}), so it failed; ask for a new request"
                    )));
                }
            },
            // A retry queues what was approved, or sends a changed plan back to review.
            Action::Retry { .. } => {
                match self.replanner.recheck(&record).await.map_err(unavailable)? {
                    Recheck::Same => {}
                    Recheck::Changed(new) => {
                        step = decide(
                            &facts,
                            Who::Person(actor),
                            &Action::Retry { plan_changed: true },
                            policy,
                        )
                        .map_err(refused)?;
                        change = Some(*new);
                    }
                    Recheck::Broken(errors) => {
                        return Err(PortalError::Conflict(format!(
                            "request {id} still fails the rules ({errors}); fix the cause first, or ask for a new request"
                        )));
                    }
                }
            }
            _ => {}
        }
        self.store_step(actor, &record, &action, step, change.as_ref())
            .await
    }

    async fn store_step(
        &self,
        actor: &Actor,
        record: &RequestRecord,
        action: &Action,
        step: domain::request::lifecycle::Step,
        change: Option<&PreparedChange>,
    ) -> Result<RequestDetail, PortalError> {
        let id = record.summary.id;
        let comment = match action {
            Action::Approve { comment } | Action::Reject { comment } => comment.trim(),
            _ => "",
        };
        let mut detail = json!({ "comment": comment, "plan_hash": record.plan.hash });
        if let Some(change) = change {
            detail["new_hash"] = json!(change.plan.hash);
            detail["plan"] = json!(change.plan.objects);
        }
        let audit_action = format!("request.{}", action.name());
        let stored = self
            .store
            .apply_step(&StepRecord {
                request_id: id,
                team: record.summary.team.as_str(),
                cluster: &record.summary.cluster,
                from: record.summary.status,
                plan_hash: &record.plan.hash,
                step,
                actor_id: actor.user_id,
                actor_email: &actor.email,
                action: &audit_action,
                comment,
                policy: self.review_policy(&record.summary.team),
                change,
                detail,
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
        needs_request_scope(actor, "comment")?;
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

    /// Pending requests the actor may review now (what `decide` would let them approve:
    /// their teams as lead, every team as admin, never their own, not twice), oldest first.
    pub(super) async fn queue_for(&self, actor: &Actor) -> Result<Vec<ReviewItem>, PortalError> {
        let pending = self.store.pending_requests().await.map_err(unavailable)?;
        Ok(pending
            .into_iter()
            .filter(|p| {
                let facts = RequestFacts {
                    status: p.summary.status,
                    team: &p.summary.team,
                    requester_id: p.requester_id,
                    approved_by: &p.approved_by,
                };
                offers(&facts, actor, self.review_policy(&p.summary.team)).review
            })
            .map(|p| ReviewItem {
                request: p.summary,
                plan_hash: p.plan_hash,
            })
            .collect())
    }

    /// Each item through the single approval (`approve_request`: the same rules, re-plan,
    /// audit event and queueing), one after the other, each its own transaction.
    pub(super) async fn approve_many(
        &self,
        actor: &Actor,
        bulk: &BulkApproval,
    ) -> Result<Vec<ApprovalResult>, PortalError> {
        // A token that may not approve gets one clear refusal, not one per item.
        if !actor.scopes.review {
            let approve = Action::Approve {
                comment: String::new(),
            };
            return Err(PortalError::Forbidden(missing_scope("review", &approve)));
        }
        let mut seen = HashSet::new();
        let mut results = Vec::with_capacity(bulk.items().len());
        for item in bulk.items() {
            let id = item.request_id;
            if !seen.insert(id) {
                results.push(ApprovalResult::listed_twice(id));
                continue;
            }
            let review = Review {
                comment: bulk.comment().to_owned(),
                plan_hash: item.plan_hash.clone(),
            };
            let answer = self.approve_request(actor, id, &review).await;
            results.push(ApprovalResult::of(id, answer));
        }
        Ok(results)
    }
}
