//! Progress on a request's timeline (`applying Deployment orders (2 of 3)`): written by the
//! worker in batches, each event with the time it happened, so a job's steps cost one
//! commit together instead of one each.

use serde_json::Value;

use super::{Store, StoreError, auth::audit_at, now, requests::subject};

/// One step of progress, as the worker saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressEvent {
    /// When it happened (the schema's timestamp text), not when it was written.
    pub at: String,
    pub worker: String,
    pub request_id: i64,
    pub team: String,
    /// What the step was; `message` says it in words.
    pub detail: Value,
}

impl ProgressEvent {
    /// A step happening now.
    pub fn now(worker: &str, request_id: i64, team: &str, message: &str, detail: Value) -> Self {
        let mut detail = detail;
        if let Value::Object(map) = &mut detail {
            map.insert("message".into(), Value::String(message.to_owned()));
        }
        Self {
            at: now(),
            worker: worker.to_owned(),
            request_id,
            team: team.to_owned(),
            detail,
        }
    }
}

/// Appends `events` to their requests' timelines, in order, inside the caller's
/// transaction.
pub(super) async fn append_progress(
    tx: &mut sqlx::AnyConnection,
    events: &[ProgressEvent],
) -> Result<(), StoreError> {
    for event in events {
        audit_at(
            tx,
            &event.at,
            &event.worker,
            "apply.progress",
            &subject(event.request_id),
            Some(&event.team),
            &event.detail,
        )
        .await?;
    }
    Ok(())
}

impl Store {
    /// Writes `events` (of any requests) in one transaction.
    pub async fn record_progress(&self, events: &[ProgressEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        append_progress(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }
}
