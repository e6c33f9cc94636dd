//! Drift as the last check found it, per applied object. A check writes only what changed,
//! in one transaction with an audit event for each object that drifted, went missing or
//! came back in line; a cluster that could not be read marks its objects `unknown` and
//! raises no event.

use std::collections::HashMap;

use domain::drift::{DriftRecord, DriftState, ObjectDrift};
use serde_json::{Value, json};
use sqlx::Row;

use super::{Store, StoreError, auth::audit, error::corrupt, now};

/// `(kind, namespace, name)`; the namespace is empty for cluster-wide objects.
pub type ObjectKey = (String, String, String);

/// What one check found for one object; `None`: its cluster could not be read.
#[derive(Debug, Clone)]
pub struct DriftFinding {
    pub key: ObjectKey,
    pub drift: Option<ObjectDrift>,
}

struct Previous {
    state: DriftState,
    known: Option<DriftState>,
    fields: Value,
}

fn state_of(text: &str) -> Result<DriftState, StoreError> {
    DriftState::parse(text).ok_or_else(|| corrupt("drift state", text))
}

/// The audit action for moving from the last known state to `now`, if it is news.
fn event_for(
    known: Option<DriftState>,
    now: DriftState,
    fields_changed: bool,
) -> Option<&'static str> {
    match (known, now) {
        (_, DriftState::Unknown) => None,
        (Some(DriftState::Drifted), DriftState::Drifted) if fields_changed => {
            Some("object.drifted")
        }
        (known, DriftState::Drifted) if known != Some(DriftState::Drifted) => {
            Some("object.drifted")
        }
        (known, DriftState::Missing) if known != Some(DriftState::Missing) => {
            Some("object.missing")
        }
        (Some(DriftState::Drifted | DriftState::Missing), DriftState::InSync) => {
            Some("object.drift_cleared")
        }
        _ => None,
    }
}

impl Store {
    /// Whether a request is being applied to `cluster` right now: its objects are between
    /// the cluster and the record (a deleted object not yet forgotten, an applied one not
    /// yet recorded), so a check waits for the next round.
    pub async fn applying_on(&self, cluster: &str) -> Result<bool, StoreError> {
        let applying: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM requests WHERE cluster = $1 AND status = 'applying'",
        )
        .bind(cluster)
        .fetch_one(&self.pool)
        .await?;
        Ok(applying > 0)
    }

    /// Records what a check of `cluster` found, as `actor`; forgets rows of objects no
    /// longer applied there. Returns how many objects changed state.
    pub async fn record_drift(
        &self,
        cluster: &str,
        findings: &[DriftFinding],
        actor: &str,
    ) -> Result<usize, StoreError> {
        self.record(cluster, findings, actor, Scope::Cluster).await
    }

    /// Records what a watch found for `findings`' objects only (of one kind, or one
    /// object), as `actor`: unlike [`Store::record_drift`] it assumes nothing of the
    /// cluster's other objects. Returns how many objects changed state.
    pub async fn record_drift_of(
        &self,
        cluster: &str,
        findings: &[DriftFinding],
        actor: &str,
    ) -> Result<usize, StoreError> {
        if findings.is_empty() {
            return Ok(0);
        }
        self.record(cluster, findings, actor, Scope::Objects).await
    }

    /// Applied objects of `cluster` by drift state, as recorded: what the metric shows.
    pub async fn drift_counts(&self, cluster: &str) -> Result<Vec<(DriftState, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.state, COUNT(*) AS objects
             FROM object_drift d JOIN applied_objects a
               ON a.cluster = d.cluster AND a.kind = d.kind AND a.namespace = d.namespace
              AND a.name = d.name
             WHERE d.cluster = $1 GROUP BY d.state",
        )
        .bind(cluster)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    state_of(&row.try_get::<String, _>("state")?)?,
                    row.try_get("objects")?,
                ))
            })
            .collect()
    }

    async fn record(
        &self,
        cluster: &str,
        findings: &[DriftFinding],
        actor: &str,
        scope: Scope,
    ) -> Result<usize, StoreError> {
        let at = now();
        let mut tx = self.begin().await?;
        let rows = match scope {
            Scope::Cluster => {
                sqlx::query(
                    "SELECT kind, namespace, name, state, known_state, fields_json
                     FROM object_drift WHERE cluster = $1",
                )
                .bind(cluster)
                .fetch_all(&mut *tx)
                .await?
            }
            // By primary key, one object at a time: a watch records a few, or a batch of a
            // LIST, never the whole table's worth.
            Scope::Objects => {
                let mut rows = Vec::with_capacity(findings.len());
                for (kind, namespace, name) in findings.iter().map(|f| &f.key) {
                    let sql = "SELECT kind, namespace, name, state, known_state, fields_json
                         FROM object_drift
                         WHERE cluster = $1 AND kind = $2 AND namespace = $3 AND name = $4";
                    rows.extend(
                        sqlx::query(sql)
                            .bind(cluster)
                            .bind(kind)
                            .bind(namespace)
                            .bind(name)
                            .fetch_optional(&mut *tx)
                            .await?,
                    );
                }
                rows
            }
        };
        let mut previous = HashMap::new();
        for row in &rows {
            let key: ObjectKey = (
                row.try_get("kind")?,
                row.try_get("namespace")?,
                row.try_get("name")?,
            );
            let known: Option<String> = row.try_get("known_state")?;
            let fields: String = row.try_get("fields_json")?;
            previous.insert(
                key,
                Previous {
                    state: state_of(&row.try_get::<String, _>("state")?)?,
                    known: known.as_deref().map(state_of).transpose()?,
                    fields: serde_json::from_str(&fields)
                        .map_err(|e| corrupt("drift fields", e))?,
                },
            );
        }
        let mut changed = 0;
        for finding in findings {
            let before = previous.get(&finding.key);
            let (state, known, fields) = match &finding.drift {
                Some(drift) => (
                    drift.state(),
                    Some(drift.state()),
                    serde_json::to_value(drift.fields()).map_err(|e| corrupt("drift fields", e))?,
                ),
                None => (
                    DriftState::Unknown,
                    before.and_then(|b| b.known),
                    before.map_or_else(|| json!([]), |b| b.fields.clone()),
                ),
            };
            let fields_changed = before.is_none_or(|b| b.fields != fields);
            if before.is_some_and(|b| b.state == state && !fields_changed) {
                continue;
            }
            changed += 1;
            let state_changed = before.is_none_or(|b| b.state != state);
            let (kind, namespace, name) = &finding.key;
            // Moving between unknown and the state it had keeps its `since`.
            let keep_since = !state_changed
                || state == DriftState::Unknown
                || before.is_some_and(|b| b.state == DriftState::Unknown && b.known == Some(state));
            sqlx::query(
                "INSERT INTO object_drift
                     (cluster, kind, namespace, name, state, known_state, fields_json, since, checked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
                 ON CONFLICT (cluster, kind, namespace, name) DO UPDATE
                 SET state = excluded.state, known_state = excluded.known_state,
                     fields_json = excluded.fields_json, checked_at = excluded.checked_at,
                     since = CASE WHEN $9 = 1 THEN object_drift.since ELSE excluded.since END",
            )
            .bind(cluster)
            .bind(kind)
            .bind(namespace)
            .bind(name)
            .bind(state.as_str())
            .bind(known.map(DriftState::as_str))
            .bind(fields.to_string())
            .bind(&at)
            .bind(i64::from(keep_since))
            .execute(&mut *tx)
            .await?;
            let known_before = before.and_then(|b| b.known);
            if let Some(action) = event_for(known_before, state, fields_changed) {
                let subject = format!("object:{cluster}/{kind}/{namespace}/{name}");
                let detail = json!({
                    "cluster": cluster, "kind": kind, "namespace": namespace, "name": name,
                    "state": state.as_str(), "fields": fields,
                });
                audit(&mut tx, actor, action, &subject, detail).await?;
            }
        }
        if matches!(scope, Scope::Cluster) {
            forget_unapplied(&mut tx, cluster).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// The drift of the objects of `namespace` in `cluster` still applied there, by kind
    /// and name.
    pub async fn drift_in(
        &self,
        cluster: &str,
        namespace: &str,
    ) -> Result<Vec<DriftRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.kind, d.namespace, d.name, d.state, d.fields_json, d.since, d.checked_at
             FROM object_drift d JOIN applied_objects a
               ON a.cluster = d.cluster AND a.kind = d.kind AND a.namespace = d.namespace
              AND a.name = d.name
             WHERE d.cluster = $1 AND d.namespace = $2
             ORDER BY d.kind, d.name",
        )
        .bind(cluster)
        .bind(namespace)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let fields: String = row.try_get("fields_json")?;
                Ok(DriftRecord {
                    kind: row.try_get("kind")?,
                    namespace: row.try_get("namespace")?,
                    name: row.try_get("name")?,
                    state: state_of(&row.try_get::<String, _>("state")?)?,
                    fields: serde_json::from_str(&fields)
                        .map_err(|e| corrupt("drift fields", e))?,
                    since: row.try_get("since")?,
                    checked_at: row.try_get("checked_at")?,
                })
            })
            .collect()
    }
}

/// Which rows a recording may compare with: a whole check knows every object of the
/// cluster (and forgets the rows of objects no longer applied), a watch only its findings'.
#[derive(Clone, Copy)]
enum Scope {
    Cluster,
    Objects,
}

/// Drops the drift rows of objects no longer applied to `cluster`.
async fn forget_unapplied(tx: &mut sqlx::AnyConnection, cluster: &str) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM object_drift WHERE cluster = $1 AND NOT EXISTS (
             SELECT 1 FROM applied_objects a
             WHERE a.cluster = object_drift.cluster AND a.kind = object_drift.kind
               AND a.namespace = object_drift.namespace AND a.name = object_drift.name)",
    )
    .bind(cluster)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// After a restore applied `objects` to `cluster` (as `actor`, for request
/// `request_id`): each of them that had drifted or was missing is in sync again, with its
/// `object.drift_cleared` event, in the transaction that records the apply.
pub(super) async fn clear_restored(
    tx: &mut sqlx::AnyConnection,
    cluster: &str,
    objects: &[Value],
    actor: &str,
    request_id: i64,
) -> Result<(), StoreError> {
    let at = now();
    for object in objects {
        let kind = object["kind"].as_str().unwrap_or_default();
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let cleared = sqlx::query(
            "UPDATE object_drift
             SET state = 'in_sync', known_state = 'in_sync', fields_json = '[]', since = $5,
                 checked_at = $5
             WHERE cluster = $1 AND kind = $2 AND namespace = $3 AND name = $4
               AND (state IN ('drifted', 'missing') OR known_state IN ('drifted', 'missing'))",
        )
        .bind(cluster)
        .bind(kind)
        .bind(namespace)
        .bind(name)
        .bind(&at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if cleared == 1 {
            let subject = format!("object:{cluster}/{kind}/{namespace}/{name}");
            let detail = json!({
                "cluster": cluster, "kind": kind, "namespace": namespace, "name": name,
                "state": DriftState::InSync.as_str(), "fields": [], "request": request_id,
            });
            audit(tx, actor, "object.drift_cleared", &subject, detail).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use DriftState::{Drifted, InSync, Missing, Unknown};

    #[test]
    fn only_news_is_audited() {
        assert_eq!(event_for(None, InSync, true), None);
        assert_eq!(event_for(None, Drifted, true), Some("object.drifted"));
        assert_eq!(
            event_for(Some(InSync), Missing, false),
            Some("object.missing")
        );
        assert_eq!(event_for(Some(Drifted), Drifted, false), None);
        assert_eq!(
            event_for(Some(Drifted), Drifted, true),
            Some("object.drifted")
        );
        assert_eq!(
            event_for(Some(Missing), InSync, true),
            Some("object.drift_cleared")
        );
        assert_eq!(event_for(Some(Drifted), Unknown, false), None);
        assert_eq!(event_for(Some(InSync), Unknown, false), None);
        assert_eq!(event_for(Some(InSync), InSync, false), None);
    }
}
