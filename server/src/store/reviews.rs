//! Moving a request through its lifecycle: each step in one transaction with its approval,
//! its job and its audit event; a re-plan; comments. Steps are compare-and-set on the
//! status and plan hash that were read, so two people acting at once cannot both win.

use domain::request::{
    RequestStatus,
    change::PreparedChange,
    lifecycle::{ReviewPolicy, Step},
};
use serde_json::Value;
use sqlx::Row;

use super::{
    Store, StoreError,
    auth::audit_for_team,
    lifecycle::{Move, move_request, with_to},
    now,
    requests::subject,
};

/// One approval of the current plan.
#[derive(Debug, Clone)]
pub struct ApprovalRecord {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub comment: String,
    pub at: String,
}

/// What a step changes, as read before deciding it.
#[derive(Debug, Clone)]
pub struct StepRecord<'a> {
    pub request_id: i64,
    pub team: &'a str,
    pub cluster: &'a str,
    pub from: RequestStatus,
    pub plan_hash: &'a str,
    pub step: Step,
    pub actor_id: i64,
    pub actor_email: &'a str,
    /// Audit action, e.g. `request.approve`.
    pub action: &'a str,
    pub comment: &'a str,
    /// Distinct approvals of this plan that queue the request.
    pub policy: ReviewPolicy,
    /// A new change stored with the step (a retry whose plan changed goes back to review).
    pub change: Option<&'a PreparedChange>,
    pub detail: Value,
}

impl Store {
    /// Approvals recorded for the plan with `plan_hash`, oldest first.
    pub async fn approvals(
        &self,
        request_id: i64,
        plan_hash: &str,
    ) -> Result<Vec<ApprovalRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.user_id, u.email, u.name, a.comment, a.at
             FROM approvals a JOIN users u ON u.id = a.user_id
             WHERE a.request_id = $1 AND a.plan_hash = $2 ORDER BY a.id",
        )
        .bind(request_id)
        .bind(plan_hash)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApprovalRecord {
                    user_id: row.try_get("user_id")?,
                    email: row.try_get("email")?,
                    name: row.try_get("name")?,
                    comment: row.try_get("comment")?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }

    /// Applies a decided step and returns the status the request ends in, or `None` when
    /// the request moved (or was re-planned) since it was read; then nothing is written.
    /// An approval queues the request when, counted inside the transaction, enough
    /// distinct people have approved this plan — so two approvals at once still queue it,
    /// and only once.
    pub async fn apply_step(
        &self,
        record: &StepRecord<'_>,
    ) -> Result<Option<RequestStatus>, StoreError> {
        let at = now();
        let mut tx = self.begin().await?;
        // Compare-and-set first: it takes the write lock (SQLite) or the row lock
        // (PostgreSQL), so a concurrent step waits here and then finds the request moved.
        // An approval that does not queue leaves the status as it is.
        let moved = move_request(
            &mut tx,
            Move {
                id: record.request_id,
                from: record.from,
                to: record.step.to,
                plan_hash: Some(record.plan_hash),
                change: record.change,
            },
        )
        .await?;
        if !moved {
            return Ok(None);
        }
        let mut to = record.step.to;
        let mut queue = record.step.queues_job;
        if record.step.records_approval {
            let inserted = sqlx::query(
                "INSERT INTO approvals (request_id, user_id, plan_hash, comment, at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(record.request_id)
            .bind(record.actor_id)
            .bind(record.plan_hash)
            .bind(record.comment)
            .bind(&at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted != 1 {
                return Ok(None);
            }
            // Counted inside the transaction, so two approvals at once queue it once; an
            // approver deactivated since no longer counts.
            let approvals: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM approvals a JOIN users u ON u.id = a.user_id
                 WHERE a.request_id = $1 AND a.plan_hash = $2 AND u.deactivated_at IS NULL",
            )
            .bind(record.request_id)
            .bind(record.plan_hash)
            .fetch_one(&mut *tx)
            .await?;
            queue = record
                .policy
                .enough(usize::try_from(approvals).unwrap_or(usize::MAX));
            to = if queue {
                RequestStatus::Queued
            } else {
                RequestStatus::PendingReview
            };
            sqlx::query("UPDATE requests SET status = $1 WHERE id = $2")
                .bind(to.as_str())
                .bind(record.request_id)
                .execute(&mut *tx)
                .await?;
        }
        if queue {
            sqlx::query(
                "INSERT INTO jobs (request_id, cluster, status, attempts, run_after, created_at,
                                   updated_at)
                 VALUES ($1, $2, 'queued', 0, $3, $3, $3)
                 ON CONFLICT (request_id) DO UPDATE
                 SET status = 'queued', attempts = 0, run_after = excluded.run_after,
                     lease_owner = NULL, lease_until = NULL, last_error = NULL,
                     updated_at = excluded.updated_at",
            )
            .bind(record.request_id)
            .bind(record.cluster)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
            // Workers in other processes hear of it when this commits.
            if self.backend == super::Backend::Postgres {
                sqlx::query("SELECT pg_notify($1, '')")
                    .bind(crate::worker::JOBS_CHANNEL)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        audit_for_team(
            &mut tx,
            record.actor_email,
            record.action,
            &subject(record.request_id),
            Some(record.team),
            with_to(record.detail.clone(), to),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(to))
    }

    /// A comment on a request's timeline (an audit event like every other entry).
    pub async fn comment_on_request(
        &self,
        request_id: i64,
        team: &str,
        actor_email: &str,
        comment: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        audit_for_team(
            &mut tx,
            actor_email,
            "request.comment",
            &subject(request_id),
            Some(team),
            serde_json::json!({ "comment": comment }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn count_jobs(&self, request_id: i64) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE request_id = $1")
                .bind(request_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
