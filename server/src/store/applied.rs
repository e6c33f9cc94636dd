//! Objects as Stargate last applied them, per cluster: what plans compare against, and
//! what the catalog shows as "last applied".

use std::collections::HashMap;

use domain::request::{plan::LiveObjects, render::Object};
use serde_json::Value;

use super::{Store, StoreError, now, requests::json};

/// Applied objects keyed by (kind, namespace, name).
#[derive(Debug, Default)]
pub struct AppliedObjects(HashMap<(String, String, String), Value>);

impl LiveObjects for AppliedObjects {
    fn live(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        self.0
            .get(&(
                kind.to_owned(),
                namespace.unwrap_or_default().to_owned(),
                name.to_owned(),
            ))
            .cloned()
    }
}

impl Store {
    /// What `cluster` holds, as last applied, of the objects with these
    /// `(kind, namespace, name)` keys.
    pub async fn applied_objects(
        &self,
        cluster: &str,
        keys: Vec<(String, String, String)>,
    ) -> Result<AppliedObjects, StoreError> {
        let mut applied = AppliedObjects::default();
        for key in keys {
            let row = sqlx::query(
                "SELECT manifest_json FROM applied_objects
                 WHERE cluster = $1 AND kind = $2 AND namespace = $3 AND name = $4",
            )
            .bind(cluster)
            .bind(&key.0)
            .bind(&key.1)
            .bind(&key.2)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                applied.0.insert(key, json(&row, "manifest_json")?);
            }
        }
        Ok(applied)
    }

    /// Records `objects` as applied to `cluster` (replacing what was recorded before).
    pub async fn record_applied(
        &self,
        cluster: &str,
        objects: &[Object],
        request_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let values = objects
            .iter()
            .map(Object::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.begin().await?;
        record_objects(&mut tx, cluster, &values, request_id).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Every object as last applied, as `(cluster, object)`, ordered by place: of one
    /// cluster, or of all; with `without_request`, only those no request applied (demo
    /// data, imports).
    pub async fn applied_state(
        &self,
        cluster: Option<&str>,
        without_request: bool,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        sqlx::query(
            "SELECT cluster, manifest_json FROM applied_objects
             WHERE ($1 IS NULL OR cluster = $1) AND ($2 = 0 OR request_id IS NULL)
             ORDER BY cluster, namespace, kind, name",
        )
        .bind(cluster)
        .bind(i64::from(without_request))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(placed)
        .collect()
    }
}

impl Store {
    /// The objects request `id` applied that no later request has changed, as
    /// `(cluster, object)`.
    pub async fn applied_by_request(&self, id: i64) -> Result<Vec<(String, Value)>, StoreError> {
        sqlx::query(
            "SELECT cluster, manifest_json FROM applied_objects WHERE request_id = $1
             ORDER BY cluster, namespace, kind, name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(placed)
        .collect()
    }
}

impl Store {
    /// The kinds of object applied to `cluster`: what a drift watch follows there.
    pub async fn applied_kinds(&self, cluster: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT kind FROM applied_objects WHERE cluster = $1 ORDER BY kind",
        )
        .bind(cluster)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every object of `kind` as last applied to `cluster`.
    pub async fn applied_of_kind(
        &self,
        cluster: &str,
        kind: &str,
    ) -> Result<Vec<Value>, StoreError> {
        sqlx::query(
            "SELECT manifest_json FROM applied_objects WHERE cluster = $1 AND kind = $2
             ORDER BY namespace, name",
        )
        .bind(cluster)
        .bind(kind)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| json(row, "manifest_json"))
        .collect()
    }

    /// The object `(kind, namespace, name)` as last applied to `cluster`, if it was.
    pub async fn applied_object(
        &self,
        cluster: &str,
        key: &(String, String, String),
    ) -> Result<Option<Value>, StoreError> {
        let row = sqlx::query(
            "SELECT manifest_json FROM applied_objects
             WHERE cluster = $1 AND kind = $2 AND namespace = $3 AND name = $4",
        )
        .bind(cluster)
        .bind(&key.0)
        .bind(&key.1)
        .bind(&key.2)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| json(&row, "manifest_json")).transpose()
    }
}

/// `(cluster, object)` of an `applied_objects` row.
fn placed(row: &sqlx::any::AnyRow) -> Result<(String, Value), StoreError> {
    use sqlx::Row;
    Ok((row.try_get("cluster")?, json(row, "manifest_json")?))
}

/// `(kind, namespace, name)` of an object as the API takes it.
pub(super) fn key_of(object: &Value) -> (String, String, String) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (
        text(&object["kind"]),
        text(&object["metadata"]["namespace"]),
        text(&object["metadata"]["name"]),
    )
}

/// Records `objects` as applied to `cluster`, inside the caller's transaction.
pub(super) async fn record_objects(
    tx: &mut sqlx::AnyConnection,
    cluster: &str,
    objects: &[Value],
    request_id: Option<i64>,
) -> Result<(), StoreError> {
    let at = now();
    for manifest in objects {
        let (kind, namespace, name) = key_of(manifest);
        sqlx::query(
            "INSERT INTO applied_objects
                 (cluster, kind, namespace, name, manifest_json, request_id, applied_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (cluster, kind, namespace, name) DO UPDATE
             SET manifest_json = excluded.manifest_json, request_id = excluded.request_id,
                 applied_at = excluded.applied_at",
        )
        .bind(cluster)
        .bind(kind)
        .bind(namespace)
        .bind(name)
        .bind(manifest.to_string())
        .bind(request_id)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Forgets `objects` as applied to `cluster` (they were deleted), inside the caller's
/// transaction.
pub(super) async fn forget_objects(
    tx: &mut sqlx::AnyConnection,
    cluster: &str,
    objects: &[Value],
) -> Result<(), StoreError> {
    for manifest in objects {
        let (kind, namespace, name) = key_of(manifest);
        sqlx::query(
            "DELETE FROM applied_objects
             WHERE cluster = $1 AND kind = $2 AND namespace = $3 AND name = $4",
        )
        .bind(cluster)
        .bind(kind)
        .bind(namespace)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
