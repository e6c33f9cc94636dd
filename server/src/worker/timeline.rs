//! The progress a worker reports on requests' timelines, written in batches. A step is
//! written at most [`BATCH_DELAY`] after it happened, together with every other step
//! reported meanwhile (by any of the worker's jobs); a job that ends sooner writes its
//! steps in the transaction that records its end. Each step keeps the time it happened.
//!
//! Why: one commit per step was most of a worker's writes (and each commit wakes every
//! process's live views); a person watching a request cannot tell 100 ms apart, and a
//! step that takes longer (a rollout) is on the page while it is under way.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Mutex, Notify};

use crate::store::{JobRequest, ProgressEvent, Store};

/// How long a step may wait to be written with the next ones.
pub(super) const BATCH_DELAY: Duration = Duration::from_millis(100);

pub(super) struct Timeline {
    store: Store,
    worker: String,
    /// Steps not yet written, in the order they happened. Held while a batch is written, so
    /// that a job's end (written after taking its steps) never overtakes them.
    pending: Mutex<Vec<ProgressEvent>>,
    reported: Notify,
}

impl Timeline {
    pub(super) fn new(store: Store, worker: &str) -> Self {
        Self {
            store,
            worker: worker.to_owned(),
            pending: Mutex::default(),
            reported: Notify::new(),
        }
    }

    /// A step of `request`'s job, happening now.
    pub(super) async fn report(&self, request: &JobRequest<'_>, message: &str, detail: Value) {
        let event = ProgressEvent::now(&self.worker, request.id, request.team, message, detail);
        self.pending.lock().await.push(event);
        self.reported.notify_one();
    }

    /// `request`'s steps not yet written, for the transaction that ends its job (which must
    /// write them, or hand them back with [`Self::write_now`]).
    pub(super) async fn take(&self, request_id: i64) -> Vec<ProgressEvent> {
        let mut pending = self.pending.lock().await;
        let (taken, kept) = std::mem::take(&mut *pending)
            .into_iter()
            .partition(|event| event.request_id == request_id);
        *pending = kept;
        taken
    }

    /// Writes `events` at once (a job's steps whose end was not written after all).
    pub(super) async fn write_now(&self, events: &[ProgressEvent]) {
        if let Err(error) = self.store.record_progress(events).await {
            tracing::warn!(%error, steps = events.len(), "recording progress failed");
        }
    }

    /// Writes every pending step now.
    pub(super) async fn flush(&self) {
        let mut pending = self.pending.lock().await;
        if pending.is_empty() {
            return;
        }
        // As before batching: a step that cannot be recorded is logged, not retried (the
        // job's outcome is what must not be lost, and it has its own transaction).
        self.write_now(&pending).await;
        pending.clear();
    }

    /// Writes each batch [`BATCH_DELAY`] after its first step; runs until aborted (the
    /// worker flushes once more when its jobs have ended).
    pub(super) async fn run(&self) {
        loop {
            self.reported.notified().await;
            tokio::time::sleep(BATCH_DELAY).await;
            self.flush().await;
        }
    }
}
