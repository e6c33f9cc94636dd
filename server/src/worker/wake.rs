//! Waking workers without polling delay: approvals notify in-process, and on PostgreSQL
//! through `LISTEN/NOTIFY` so workers in other processes hear it too.

use std::{sync::Arc, time::Duration};

use tokio::sync::Notify;

/// The PostgreSQL channel a queued job is announced on.
pub const JOBS_CHANNEL: &str = "stargate_jobs";

/// Listens on PostgreSQL for queued jobs and wakes the local workers; reconnects after a
/// lost connection (the slow poll covers the gap).
pub fn listen_for_jobs(database_url: String, wake: Arc<Notify>) {
    tokio::spawn(async move {
        loop {
            match sqlx::postgres::PgListener::connect(&database_url).await {
                Ok(mut listener) => {
                    if let Err(error) = listener.listen(JOBS_CHANNEL).await {
                        tracing::warn!(%error, "LISTEN failed");
                    } else {
                        while listener.recv().await.is_ok() {
                            wake.notify_waiters();
                            wake.notify_one();
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot listen for queued jobs"),
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}
