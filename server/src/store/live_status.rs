//! Live status the drift watch read from a cluster, written beside what was approved: a
//! service's live replicas, a host's load-balancer address, a certificate's real expiry
//! and status. Only a change is written. These are observations, not decisions: no audit
//! event (a certificate's renewal shows in its expiry).

use domain::live_status::LiveStatus;

use super::{Store, StoreError, now};

impl Store {
    /// Writes what `statuses` (read from `cluster`) say, in one transaction; returns how
    /// many catalog rows changed.
    pub async fn record_live_status(
        &self,
        cluster: &str,
        statuses: &[LiveStatus],
    ) -> Result<u64, StoreError> {
        if statuses.is_empty() {
            return Ok(0);
        }
        let at = now();
        let mut tx = self.begin().await?;
        let mut changed = 0;
        for status in statuses {
            changed += match status {
                LiveStatus::Replicas {
                    namespace,
                    name,
                    replicas,
                    available,
                } => sqlx::query(
                    "UPDATE services SET live_replicas = $4, live_available = $5, live_at = $6
                         WHERE cluster = $1 AND name = $3
                           AND team_id IN (SELECT id FROM teams WHERE namespace = $2)
                           AND (live_replicas IS NULL OR live_replicas <> $4
                                OR live_available IS NULL OR live_available <> $5)",
                )
                .bind(cluster)
                .bind(namespace)
                .bind(name)
                .bind(i64::from(*replicas))
                .bind(i64::from(*available))
                .bind(&at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                LiveStatus::LoadBalancer { hosts, address } => {
                    let mut rows = 0;
                    for host in hosts {
                        rows += sqlx::query(
                            "UPDATE hosts SET lb_address = $3
                             WHERE host = $2
                               AND service_id IN (SELECT id FROM services WHERE cluster = $1)
                               AND COALESCE(lb_address, '') <> COALESCE($3, '')",
                        )
                        .bind(cluster)
                        .bind(host)
                        .bind(address)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    }
                    rows
                }
                LiveStatus::Certificate {
                    namespace,
                    name,
                    not_after,
                    ready,
                } => {
                    let expires_at = not_after.as_deref();
                    let state = ready.map(|ready| if ready { "ready" } else { "pending" });
                    // What the cluster does not say (no notAfter before the first issue)
                    // keeps what the catalog had.
                    sqlx::query(
                        "UPDATE certificates
                         SET expires_at = COALESCE($3, expires_at),
                             status = COALESCE($4, status), live_at = $5
                         WHERE name = $2 AND decommissioned_at IS NULL
                           AND team_id IN (SELECT id FROM teams WHERE namespace = $1)
                           AND (live_at IS NULL
                                OR COALESCE($3, expires_at, '') <> COALESCE(expires_at, '')
                                OR COALESCE($4, status) <> status)",
                    )
                    .bind(namespace)
                    .bind(name)
                    .bind(expires_at)
                    .bind(state)
                    .bind(&at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                }
            };
        }
        tx.commit().await?;
        Ok(changed)
    }
}
