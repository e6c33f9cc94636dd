//! What live views (event streams) ask when the data changed, for all of them at once:
//! where each watched request's timeline stands, and which of their credentials still
//! work. A few statements per change, however many streams are open, so that only the
//! streams whose request moved read it.

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::{Store, StoreError, now};

/// Binds per statement at most: far below SQLite's and PostgreSQL's limits.
const CHUNK: usize = 500;

/// Where a request's timeline stands: its status and its newest event's id (0 for none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelinePosition {
    pub status: String,
    pub last_event: i64,
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// The position of each of `ids` that exists.
    pub async fn timeline_positions(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, TimelinePosition>, StoreError> {
        let mut positions = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            // The subject is `requests::subject(id)`, spelt in SQL: one index seek on
            // `audit_events (subject, id)` per request.
            let sql = format!(
                "SELECT r.id, r.status,
                        (SELECT COALESCE(MAX(e.id), 0) FROM audit_events e
                          WHERE e.subject = 'request/' || r.id) AS last_event
                 FROM requests r WHERE r.id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                positions.insert(
                    row.try_get("id")?,
                    TimelinePosition {
                        status: row.try_get("status")?,
                        last_event: row.try_get("last_event")?,
                    },
                );
            }
        }
        Ok(positions)
    }

    /// Which of the sessions (by hash) still work: not ended, not past their end, used
    /// since `idle_cutoff`. Marks none of them used: watching is not using.
    pub async fn live_sessions(
        &self,
        hashes: &[&str],
        idle_cutoff: &str,
    ) -> Result<HashSet<String>, StoreError> {
        self.live_hashes(
            hashes,
            "SELECT token_hash FROM sessions WHERE expires_at > $1 AND last_seen_at > $2
               AND token_hash IN",
            Some(idle_cutoff),
        )
        .await
    }

    /// Which of the tokens (by hash) still work: neither revoked nor expired. Records no
    /// use.
    pub async fn live_tokens(&self, hashes: &[&str]) -> Result<HashSet<String>, StoreError> {
        self.live_hashes(
            hashes,
            "SELECT token_hash FROM api_tokens
             WHERE (expires_at IS NULL OR expires_at > $1) AND revoked_at IS NULL
               AND token_hash IN",
            None,
        )
        .await
    }

    /// `select` binds now as `$1`, `idle_cutoff` as `$2` when given, and ends with `IN`.
    async fn live_hashes(
        &self,
        hashes: &[&str],
        select: &str,
        idle_cutoff: Option<&str>,
    ) -> Result<HashSet<String>, StoreError> {
        let mut live = HashSet::new();
        let first = if idle_cutoff.is_some() { 3 } else { 2 };
        let at = now();
        for chunk in hashes.chunks(CHUNK) {
            let sql = format!("{select} ({})", placeholders(first, chunk.len()));
            let mut query = sqlx::query_scalar::<_, String>(&sql).bind(&at);
            if let Some(cutoff) = idle_cutoff {
                query = query.bind(cutoff);
            }
            for hash in chunk {
                query = query.bind(*hash);
            }
            live.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_on_from_the_first() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(placeholders(1, 1), "$1");
    }
}
