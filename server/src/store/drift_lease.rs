//! Which worker checks a cluster for drift. Every worker runs the check; only the holder
//! of a cluster's lease reads the cluster, so several workers cost it one round of LISTs
//! (and one watch) and record each change once. A worker that stops lets its lease run out.

use std::time::Duration;

use super::{Store, StoreError, now, now_plus};

impl Store {
    /// Takes the drift lease on `cluster` for `holder`, or renews it, until `lease` from
    /// now; `false` while another holder's lease has not run out.
    pub async fn claim_drift_lease(
        &self,
        cluster: &str,
        holder: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let seconds = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX / 2);
        let claimed = sqlx::query(
            "INSERT INTO drift_leases (cluster, holder, lease_until) VALUES ($1, $2, $3)
             ON CONFLICT (cluster) DO UPDATE
             SET holder = excluded.holder, lease_until = excluded.lease_until
             WHERE drift_leases.holder = excluded.holder OR drift_leases.lease_until < $4",
        )
        .bind(cluster)
        .bind(holder)
        .bind(now_plus(time::Duration::seconds(seconds)))
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Gives the lease up (a worker shutting down), so another takes over at once.
    pub async fn release_drift_lease(&self, cluster: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM drift_leases WHERE cluster = $1 AND holder = $2")
            .bind(cluster)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
