//! The one way a request changes state: a compare-and-set from the state `decide` was
//! asked about, inside the transaction that also writes the step's audit event. Every
//! step — a person's, the worker's, a re-check's — goes through [`move_request`].

use domain::request::{RequestStatus, change::PreparedChange};
use serde_json::Value;
use sqlx::AnyConnection;

use super::{Store, StoreError, auth::audit_for_team, error::corrupt, now, requests::subject};

/// A decided move of one request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Move<'a> {
    pub id: i64,
    pub from: RequestStatus,
    pub to: RequestStatus,
    /// Also compare the plan: a step decided on one plan must not land on another.
    pub plan_hash: Option<&'a str>,
    /// The request's new change (a re-plan), stored with the move.
    pub change: Option<&'a PreparedChange>,
}

/// Applies `step` in `tx`: `false`, and nothing written, when the request is no longer in
/// `step.from` (or on that plan) — someone else moved it first.
pub(super) async fn move_request(
    tx: &mut AnyConnection,
    step: Move<'_>,
) -> Result<bool, StoreError> {
    let at = now();
    let moved = match step.change {
        None => {
            sqlx::query(
                "UPDATE requests SET status = $1, updated_at = $2
                 WHERE id = $3 AND status = $4 AND ($5 IS NULL OR plan_hash = $5)",
            )
            .bind(step.to.as_str())
            .bind(&at)
            .bind(step.id)
            .bind(step.from.as_str())
            .bind(step.plan_hash)
            .execute(&mut *tx)
            .await?
        }
        Some(change) => {
            sqlx::query(
                "UPDATE requests SET status = $1, updated_at = $2, manifests_yaml = $3,
                     plan_json = $4, plan_hash = $5, notes_json = $6
                 WHERE id = $7 AND status = $8 AND ($9 IS NULL OR plan_hash = $9)",
            )
            .bind(step.to.as_str())
            .bind(&at)
            .bind(&change.manifests)
            .bind(serde_json::to_string(&change.plan).map_err(|e| corrupt("plan", e))?)
            .bind(&change.plan.hash)
            .bind(serde_json::to_string(&change.notes).map_err(|e| corrupt("notes", e))?)
            .bind(step.id)
            .bind(step.from.as_str())
            .bind(step.plan_hash)
            .execute(&mut *tx)
            .await?
        }
    };
    Ok(moved.rows_affected() == 1)
}

/// `detail` with the state the step moved the request to (the timeline reads it).
pub(super) fn with_to(mut detail: Value, to: RequestStatus) -> Value {
    if let Value::Object(map) = &mut detail {
        map.insert("to".into(), Value::String(to.as_str().into()));
    }
    detail
}

/// A step Stargate takes on a request no worker holds: a re-check found its plan changed
/// (re-plan) or its rules failing (fail).
#[derive(Debug, Clone)]
pub struct CheckedStep<'a> {
    pub request_id: i64,
    pub team: &'a str,
    pub from: RequestStatus,
    pub to: RequestStatus,
    /// The plan the re-check started from: the step lands only on it.
    pub plan_hash: &'a str,
    pub change: Option<&'a PreparedChange>,
    /// `request.replanned` or `request.fail`.
    pub action: &'a str,
    /// Who noticed, for the audit log (the person whose action triggered the re-check, or
    /// the worker).
    pub actor: &'a str,
    pub detail: Value,
}

impl Store {
    /// Takes a re-check's step; `false` when the request moved meanwhile.
    pub async fn recheck_step(&self, step: &CheckedStep<'_>) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let moved = move_request(
            &mut tx,
            Move {
                id: step.request_id,
                from: step.from,
                to: step.to,
                plan_hash: Some(step.plan_hash),
                change: step.change,
            },
        )
        .await?;
        if !moved {
            return Ok(false);
        }
        // A queued request sent back to review leaves the queue until approved again.
        if step.from == RequestStatus::Queued {
            sqlx::query("DELETE FROM jobs WHERE request_id = $1 AND status = 'queued'")
                .bind(step.request_id)
                .execute(&mut *tx)
                .await?;
        }
        audit_for_team(
            &mut tx,
            step.actor,
            step.action,
            &subject(step.request_id),
            Some(step.team),
            with_to(step.detail.clone(), step.to),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
