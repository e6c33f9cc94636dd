//! The durable job queue: a job is claimed with a lease that its worker renews while it
//! works; a lease that runs out makes the job claimable again (the worker died). Claiming
//! is one statement: PostgreSQL skips rows other workers hold (`FOR UPDATE SKIP LOCKED`),
//! SQLite has one writer at a time anyway.

use sqlx::Row;

use super::{Backend, Store, StoreError, now, now_plus};

/// A job a worker holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: i64,
    pub request_id: i64,
    pub cluster: String,
    /// This attempt's number, from 1.
    pub attempt: u32,
}

/// Due jobs with attempts left (`$4` is the most attempts a job gets): queued ones, and
/// running ones whose lease ran out (their worker stopped).
macro_rules! claimable {
    () => {
        "SELECT id FROM jobs
         WHERE ((status = 'queued' AND run_after <= $3)
             OR (status = 'running' AND lease_until < $3))
           AND attempts < $4
         ORDER BY run_after, id LIMIT 1"
    };
}

/// Running jobs whose lease ran out with no attempt left: taken (without counting another
/// attempt) only to be failed.
macro_rules! exhausted {
    () => {
        "SELECT id FROM jobs
         WHERE status = 'running' AND lease_until < $3 AND attempts >= $4
         ORDER BY id LIMIT 1"
    };
}

macro_rules! take {
    ($attempts:expr, $select:expr, $lock:expr) => {
        concat!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_until = $2,
                 attempts = ",
            $attempts,
            ", updated_at = $3
             WHERE id = (",
            $select,
            $lock,
            ")
             RETURNING id, request_id, cluster, attempts"
        )
    };
}

// PostgreSQL skips rows other workers hold; SQLite has one writer at a time anyway.
const CLAIM_POSTGRES: &str = take!("attempts + 1", claimable!(), " FOR UPDATE SKIP LOCKED");
const CLAIM_SQLITE: &str = take!("attempts + 1", claimable!(), "");
const EXHAUSTED_POSTGRES: &str = take!("attempts", exhausted!(), " FOR UPDATE SKIP LOCKED");
const EXHAUSTED_SQLITE: &str = take!("attempts", exhausted!(), "");

fn lease_end(lease: std::time::Duration) -> String {
    now_plus(time::Duration::seconds(
        i64::try_from(lease.as_secs()).unwrap_or(i64::MAX / 2),
    ))
}

impl Store {
    /// Takes the next job that is due (or whose lease ran out) for `worker`, if it has
    /// attempts left: a job never runs more than `max_attempts` times.
    pub async fn claim_job(
        &self,
        worker: &str,
        lease: std::time::Duration,
        max_attempts: u32,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let sql = match self.backend {
            Backend::Postgres => CLAIM_POSTGRES,
            Backend::Sqlite => CLAIM_SQLITE,
        };
        self.take_job(sql, worker, lease, max_attempts).await
    }

    /// Takes a job whose worker stopped on its last attempt, to fail it: retrying it would
    /// exceed `max_attempts`.
    pub async fn claim_exhausted_job(
        &self,
        worker: &str,
        lease: std::time::Duration,
        max_attempts: u32,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let sql = match self.backend {
            Backend::Postgres => EXHAUSTED_POSTGRES,
            Backend::Sqlite => EXHAUSTED_SQLITE,
        };
        self.take_job(sql, worker, lease, max_attempts).await
    }

    async fn take_job(
        &self,
        sql: &str,
        worker: &str,
        lease: std::time::Duration,
        max_attempts: u32,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let row = sqlx::query(sql)
            .bind(worker)
            .bind(lease_end(lease))
            .bind(now())
            .bind(i64::from(max_attempts.max(1)))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let attempts: i64 = row.try_get("attempts")?;
            Ok(ClaimedJob {
                id: row.try_get("id")?,
                request_id: row.try_get("request_id")?,
                cluster: row.try_get("cluster")?,
                attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
            })
        })
        .transpose()
    }

    /// Extends the lease; `false` when the job is no longer this worker's (its lease ran
    /// out and another worker took it), so the work must stop.
    pub async fn renew_lease(
        &self,
        job: &ClaimedJob,
        worker: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let renewed = sqlx::query(
            "UPDATE jobs SET lease_until = $1, updated_at = $2
             WHERE id = $3 AND lease_owner = $4 AND status = 'running' AND attempts = $5",
        )
        .bind(lease_end(lease))
        .bind(now())
        .bind(job.id)
        .bind(worker)
        .bind(i64::from(job.attempt))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(renewed == 1)
    }

    /// Puts a failed attempt back in the queue, due after `delay`.
    pub async fn retry_job_later(
        &self,
        job: &ClaimedJob,
        worker: &str,
        error: &str,
        delay: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let run_after = now_plus(time::Duration::milliseconds(
            i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2),
        ));
        let moved = sqlx::query(
            "UPDATE jobs SET status = 'queued', run_after = $1, lease_owner = NULL,
                 lease_until = NULL, last_error = $2, updated_at = $3
             WHERE id = $4 AND lease_owner = $5 AND status = 'running' AND attempts = $6",
        )
        .bind(run_after)
        .bind(error)
        .bind(now())
        .bind(job.id)
        .bind(worker)
        .bind(i64::from(job.attempt))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(moved == 1)
    }

    /// Jobs waiting or running (the queue depth metric).
    pub async fn queue_depth(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
