//! The open live views of this process (event streams) and the one task that wakes them.
//!
//! A view could wake on every tick of the change bus and read its request itself, but
//! then each commit anywhere costs a few queries per open stream: with 200 streams open,
//! hundreds of statements for one comment, most of them finding nothing. Instead one task
//! per process sleeps on the bus and, when it ticks, asks the database about every open
//! view at once (where each watched request stands, which sessions and tokens still
//! work: three statements at most, however many views), then wakes only the views whose
//! request moved past what they have shown and ends those whose credential stopped
//! working. A view with nothing happening is never woken and costs nothing.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use tokio::sync::{Notify, watch};

use crate::{
    auth::{Auth, Credential},
    store::{Changes, Store, TimelinePosition},
};

/// Every open view; cloning shares them.
#[derive(Clone)]
pub struct LiveViews {
    registry: Arc<Registry>,
}

#[derive(Default)]
struct Registry {
    views: Mutex<HashMap<u64, Registered>>,
    next_id: AtomicU64,
}

struct Registered {
    request: i64,
    credential: Credential,
    signal: Arc<Signal>,
}

/// Between the task and one view.
#[derive(Default)]
struct Signal {
    wake: Notify,
    ended: AtomicBool,
    /// What the view has shown so far; `None` until its first read.
    shown: Mutex<Option<TimelinePosition>>,
}

/// What a view is to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Its request may have moved: read it.
    Read,
    /// Its session was signed out or its token revoked (or expired): end.
    End,
}

/// One open view; dropping it unregisters it.
pub struct View {
    id: u64,
    registry: Arc<Registry>,
    signal: Arc<Signal>,
}

impl LiveViews {
    /// Starts the task that wakes views on `store`'s changes, until `stopping` turns true.
    pub fn start(store: Store, auth: Arc<Auth>, stopping: watch::Receiver<bool>) -> Self {
        let registry = Arc::new(Registry::default());
        let changes = store.data_version().subscribe();
        tokio::spawn(wake_on_changes(
            registry.clone(),
            changes,
            store,
            auth,
            stopping,
        ));
        Self { registry }
    }

    /// Registers a view of `request` opened with `credential`. Open it before the view's
    /// first read, so a change committed during that read still wakes it.
    pub fn open(&self, request: i64, credential: Credential) -> View {
        let id = self.registry.next_id.fetch_add(1, Ordering::Relaxed);
        let signal = Arc::new(Signal::default());
        self.registry.lock().insert(
            id,
            Registered {
                request,
                credential,
                signal: signal.clone(),
            },
        );
        View {
            id,
            registry: self.registry.clone(),
            signal,
        }
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Registered>> {
        self.views.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl View {
    /// Waits until the view's request may have moved past what it has shown, or its
    /// credential stopped working.
    pub async fn next(&self) -> Wake {
        if !self.signal.ended.load(Ordering::Acquire) {
            self.signal.wake.notified().await;
        }
        if self.signal.ended.load(Ordering::Acquire) {
            Wake::End
        } else {
            Wake::Read
        }
    }

    /// Records what the view has shown: the task wakes it only for more than that.
    pub fn shown(&self, status: &str, last_event: i64) {
        let mut shown = self
            .signal
            .shown
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *shown = Some(TimelinePosition {
            status: status.to_owned(),
            last_event,
        });
    }
}

impl Drop for View {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

/// Whether a view that has shown `shown` must read again to catch up with `now`.
fn behind(shown: Option<&TimelinePosition>, now: Option<&TimelinePosition>) -> bool {
    match (shown, now) {
        (Some(shown), Some(now)) => now.status != shown.status || now.last_event > shown.last_event,
        // Not read yet, or the request is gone (its read then says so): read.
        _ => true,
    }
}

async fn wake_on_changes(
    registry: Arc<Registry>,
    mut changes: Changes,
    store: Store,
    auth: Arc<Auth>,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = changes.changed() => {}
            _ = stopping.wait_for(|stopping| *stopping) => return,
        }
        wake_views(&registry, &store, &auth).await;
    }
}

/// One look for every open view: wakes those behind, ends those signed out.
async fn wake_views(registry: &Registry, store: &Store, auth: &Auth) {
    let views: Vec<(i64, Credential, Arc<Signal>)> = registry
        .lock()
        .values()
        .map(|v| (v.request, v.credential.clone(), v.signal.clone()))
        .collect();
    if views.is_empty() {
        return;
    }
    let requests: Vec<i64> = views
        .iter()
        .map(|(request, ..)| *request)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let credentials: Vec<Credential> = views
        .iter()
        .map(|(_, credential, _)| credential.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let (positions, valid) = tokio::join!(
        store.timeline_positions(&requests),
        auth.still_valid(&credentials)
    );
    let (positions, valid) = match (positions, valid) {
        (Ok(positions), Ok(valid)) => (positions, valid),
        (Err(error), _) | (_, Err(error)) => {
            // Every view looks for itself instead: a read that fails ends its stream and
            // the browser reconnects, as it would have without this task.
            tracing::warn!(%error, views = views.len(), "checking live views failed");
            for (.., signal) in &views {
                signal.wake.notify_one();
            }
            return;
        }
    };
    for (request, credential, signal) in &views {
        if !valid.contains(credential) {
            signal.ended.store(true, Ordering::Release);
            signal.wake.notify_one();
            continue;
        }
        let shown = signal
            .shown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if behind(shown.as_ref(), positions.get(request)) {
            signal.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(status: &str, last_event: i64) -> TimelinePosition {
        TimelinePosition {
            status: status.into(),
            last_event,
        }
    }

    #[test]
    fn a_view_reads_again_only_when_its_request_moved() {
        let shown = at("applying", 7);
        assert!(!behind(Some(&shown), Some(&at("applying", 7))));
        assert!(behind(Some(&shown), Some(&at("applying", 8))), "new event");
        assert!(behind(Some(&shown), Some(&at("applied", 7))), "new status");
        assert!(behind(None, Some(&shown)), "not read yet");
        assert!(behind(Some(&shown), None), "the request is gone");
        // A client that resumed past the end (a made-up Last-Event-ID) is not re-read on
        // every change.
        assert!(!behind(Some(&at("applying", 99)), Some(&shown)));
    }

    #[tokio::test]
    async fn an_ended_view_says_so_and_a_dropped_one_leaves() {
        let views = LiveViews {
            registry: Arc::default(),
        };
        let credential = Credential::Token { hash: "h".into() };
        let view = views.open(1, credential.clone());
        let kept = views.open(1, credential);
        assert_eq!(views.registry.lock().len(), 2);
        view.signal.ended.store(true, Ordering::Release);
        assert_eq!(view.next().await, Wake::End);
        kept.signal.wake.notify_one();
        assert_eq!(kept.next().await, Wake::Read);
        drop(view);
        assert_eq!(views.registry.lock().len(), 1);
    }
}
