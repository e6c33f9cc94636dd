//! Drift noticed at once: per cluster, one watch per kind Stargate applied there, across
//! all namespaces (one LIST and one long-lived watch per kind, whatever the number of
//! namespaces), narrowed by a Stargate label when every applied object of the kind carries
//! it. Each event for an applied object runs `domain::drift::detect` for that object alone
//! and records only its finding. The LIST a watch (re)starts from is a full check of the
//! kind. A watch that fails is opened again with backoff (from a new LIST after a 410);
//! a cluster it cannot reach makes the kind's objects unknown, with no event. The interval
//! check stays the safety net. The same events carry live status (a Deployment's
//! available replicas, an Ingress's load-balancer address, a Certificate's expiry and
//! readiness), written to the catalog.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use domain::{
    drift::{DriftState, REQUEST_LABEL, detect},
    live_status::{self, LiveStatus},
};
use futures::StreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use tokio::sync::watch;
use tracing::Instrument;

use super::{DriftError, key_of};
use crate::{
    apply::{ApplyError, Clusters, KubeTarget, WatchEvents},
    store::{DriftFinding, ObjectKey, Store},
    worker::WorkerMetrics,
};

/// How often a cluster's applied kinds are looked at, to watch a kind newly applied.
const KINDS_EVERY: Duration = Duration::from_secs(5);
/// How long a drift lease lasts unrenewed: a few renewals (every `KINDS_EVERY`), so a
/// stopped worker's clusters are watched again by another within this.
pub(super) const LEASE: Duration = Duration::from_secs(20);
/// How often changes held back while a request was being applied are tried again.
const HELD_EVERY: Duration = Duration::from_secs(1);
/// A LIST is compared this many objects at a time, so a watch never holds a whole kind.
const LIST_BATCH: usize = 500;
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Watches clusters for drift and live status.
#[derive(Clone)]
pub struct DriftWatch {
    store: Store,
    clusters: Arc<Clusters>,
    metrics: Arc<WorkerMetrics>,
    /// Who the audit log names.
    actor: String,
    /// One recording at a time: the kinds' watches write the same rows' table, and on
    /// SQLite two transactions that read before they write fail each other.
    recording: Arc<tokio::sync::Mutex<()>>,
}

/// Why a watch stopped.
enum Ended {
    Stopped,
    /// It failed; `reachable`: the cluster answered (a 410), so nothing is unknown.
    Failed {
        reachable: bool,
        why: String,
    },
}

/// One kind watched on one cluster.
struct KindWatch<'a> {
    watch: &'a DriftWatch,
    cluster: &'a str,
    kind: &'a str,
    kube: KubeTarget,
    /// Whether the watch sees only labelled objects: one that leaves it may still exist.
    narrowed: bool,
    /// Live objects (`None`: gone) not yet compared, latest first wins.
    held: HashMap<ObjectKey, Option<Value>>,
    /// Live status (replicas, load-balancer address, certificate expiry) not yet written.
    live: Vec<LiveStatus>,
}

impl DriftWatch {
    pub fn new(
        store: Store,
        clusters: Arc<Clusters>,
        metrics: Arc<WorkerMetrics>,
        actor: String,
    ) -> Self {
        Self {
            store,
            clusters,
            metrics,
            actor,
            recording: Arc::default(),
        }
    }

    /// Watches every cluster that is not a dry run until `stop`.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let tasks: Vec<_> = self
            .clusters
            .names()
            .into_iter()
            .filter(|cluster| !self.clusters.is_dry_run(cluster))
            .map(|cluster| {
                let span = tracing::info_span!("drift_watch", %cluster);
                tokio::spawn(
                    self.clone()
                        .follow_cluster(cluster, stop.clone())
                        .instrument(span),
                )
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Starts a watch for each kind applied to `cluster`, as kinds appear.
    async fn follow_cluster(self, cluster: String, mut stop: watch::Receiver<bool>) {
        let mut watched = HashSet::new();
        let mut tasks: Vec<tokio::task::JoinHandle<()>> = Vec::new();
        loop {
            // Only the lease holder watches: one watch per kind, whatever the workers.
            let holding = self
                .store
                .claim_drift_lease(&cluster, &self.actor, LEASE)
                .await
                .inspect_err(|error| tracing::error!(%error, "claiming the drift lease failed"))
                .unwrap_or(false);
            if !holding {
                if !tasks.is_empty() {
                    tracing::info!("another worker watches this cluster now");
                }
                for task in tasks.drain(..) {
                    task.abort();
                }
                watched.clear();
            } else {
                match self.store.applied_kinds(&cluster).await {
                    Ok(kinds) => {
                        for kind in kinds {
                            if watched.insert(kind.clone()) {
                                let span = tracing::info_span!("kind", %kind);
                                tasks.push(tokio::spawn(
                                    self.clone()
                                        .follow_kind(cluster.clone(), kind, stop.clone())
                                        .instrument(span),
                                ));
                            }
                        }
                    }
                    Err(error) => tracing::error!(%error, "reading the applied kinds failed"),
                }
            }
            if stopped(&mut stop, KINDS_EVERY).await {
                break;
            }
        }
        for task in tasks {
            let _ = task.await;
        }
        if let Err(error) = self.store.release_drift_lease(&cluster, &self.actor).await {
            tracing::warn!(%error, "releasing the drift lease failed; it runs out");
        }
    }

    /// Watches `kind` on `cluster`, again with backoff after each failure, until `stop`.
    async fn follow_kind(self, cluster: String, kind: String, mut stop: watch::Receiver<bool>) {
        let mut backoff = BACKOFF_FIRST;
        loop {
            let ended = match self.open(&cluster, &kind).await {
                Ok((kube, events, narrowed)) => {
                    let mut follow = KindWatch {
                        watch: &self,
                        cluster: &cluster,
                        kind: &kind,
                        kube,
                        narrowed,
                        held: HashMap::new(),
                        live: Vec::new(),
                    };
                    follow.run(events, &mut stop, &mut backoff).await
                }
                Err(ApplyError::Permanent(why)) => {
                    tracing::error!(%why, "this kind cannot be watched; the interval check covers it");
                    return;
                }
                Err(error) => Ended::Failed {
                    reachable: false,
                    why: error.to_string(),
                },
            };
            match ended {
                Ended::Stopped => return,
                Ended::Failed {
                    reachable: true,
                    why,
                } => {
                    tracing::debug!(%why, "the watch expired; listing again");
                    continue;
                }
                Ended::Failed { why, .. } => {
                    tracing::warn!(%why, retry_in = ?backoff, "cannot watch the cluster; its objects are unknown");
                    if let Err(error) = self.mark_unknown(&cluster, &kind).await {
                        tracing::error!(%error, "recording drift failed");
                    }
                }
            }
            if stopped(&mut stop, backoff).await {
                return;
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// A client, the events of `kind`, and whether they are narrowed by a label.
    async fn open(
        &self,
        cluster: &str,
        kind: &str,
    ) -> Result<(KubeTarget, WatchEvents, bool), ApplyError> {
        let Some(kube) = self.clusters.target(cluster).await?.kube().await? else {
            return Err(ApplyError::Permanent(
                "a dry run has nothing to watch".into(),
            ));
        };
        let applied = self
            .store
            .applied_of_kind(cluster, kind)
            .await
            .map_err(|e| ApplyError::Retryable(e.to_string()))?;
        let labels = selector(kind, &applied);
        let events = kube.watch(kind, labels)?;
        Ok((kube, events, labels.is_some()))
    }

    /// Every applied object of `kind` on `cluster` is unknown (no event; its known diff
    /// stays).
    async fn mark_unknown(&self, cluster: &str, kind: &str) -> Result<(), DriftError> {
        let findings: Vec<DriftFinding> = self
            .store
            .applied_of_kind(cluster, kind)
            .await?
            .iter()
            .map(|object| DriftFinding {
                key: key_of(object),
                drift: None,
            })
            .collect();
        self.record(cluster, &findings).await
    }

    async fn record(&self, cluster: &str, findings: &[DriftFinding]) -> Result<(), DriftError> {
        let _one = self.recording.lock().await;
        let changed = self
            .store
            .record_drift_of(cluster, findings, &self.actor)
            .await?;
        if changed > 0 {
            tracing::info!(changed, "drift changed");
            let counts: HashMap<DriftState, i64> = self
                .store
                .drift_counts(cluster)
                .await?
                .into_iter()
                .collect();
            for state in DriftState::ALL {
                self.metrics.set_drift(
                    cluster,
                    state.as_str(),
                    counts.get(&state).copied().unwrap_or(0),
                );
            }
        }
        Ok(())
    }
}

impl KindWatch<'_> {
    async fn run(
        &mut self,
        mut events: WatchEvents,
        stop: &mut watch::Receiver<bool>,
        backoff: &mut Duration,
    ) -> Ended {
        // The keys the current LIST returned, while it is read.
        let mut listing: Option<HashSet<ObjectKey>> = None;
        let mut retry = tokio::time::interval(HELD_EVERY);
        loop {
            let event = tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return Ended::Stopped;
                    }
                    continue;
                }
                _ = retry.tick() => {
                    if listing.is_none() {
                        self.compare().await;
                    }
                    continue;
                }
                event = events.next() => event,
            };
            let event = match event {
                Some(Ok(event)) => event,
                Some(Err(error)) => {
                    let reachable =
                        matches!(&error, watcher::Error::WatchError(status) if status.code == 410);
                    return Ended::Failed {
                        reachable,
                        why: error.to_string(),
                    };
                }
                None => {
                    return Ended::Failed {
                        reachable: true,
                        why: "the watch ended".into(),
                    };
                }
            };
            match event {
                Event::Init => listing = Some(HashSet::new()),
                Event::InitApply(object) => {
                    if let Some(object) = self.seen(&object) {
                        let key = self.key(&object);
                        if let Some(listing) = listing.as_mut() {
                            listing.insert(key.clone());
                        }
                        self.held.insert(key, Some(object));
                        if self.held.len() >= LIST_BATCH {
                            self.compare().await;
                        }
                    }
                }
                Event::InitDone => {
                    let listed = listing.take().unwrap_or_default();
                    if let Err(why) = self.hold_unlisted(&listed).await {
                        return Ended::Failed {
                            reachable: false,
                            why,
                        };
                    }
                    *backoff = BACKOFF_FIRST;
                    self.record_live().await;
                    self.compare().await;
                }
                Event::Apply(object) => {
                    if let Some(object) = self.seen(&object) {
                        self.held.insert(self.key(&object), Some(object));
                        self.record_live().await;
                        self.compare().await;
                    }
                }
                Event::Delete(object) => {
                    let Ok(object) = serde_json::to_value(&object) else {
                        continue;
                    };
                    let key = self.key(&object);
                    // Out of a narrowed watch is not gone: someone may have removed the label.
                    let live = if self.narrowed {
                        match self.kube.get(&key.0, &key.1, &key.2).await {
                            Ok(live) => live,
                            Err(error) => {
                                return Ended::Failed {
                                    reachable: false,
                                    why: error.to_string(),
                                };
                            }
                        }
                    } else {
                        None
                    };
                    self.held.insert(key, live);
                    self.compare().await;
                }
            }
        }
    }

    /// The object as JSON; its live status is kept to be written.
    fn seen(&mut self, object: &kube::api::DynamicObject) -> Option<Value> {
        let object = serde_json::to_value(object).ok()?;
        self.live.extend(live_status::observe(&object));
        Some(object)
    }

    /// Writes the live status seen so far to the catalog.
    async fn record_live(&mut self) {
        if self.live.is_empty() {
            return;
        }
        let live = std::mem::take(&mut self.live);
        let _one = self.watch.recording.lock().await;
        match self
            .watch
            .store
            .record_live_status(self.cluster, &live)
            .await
        {
            Ok(0) => {}
            Ok(changed) => tracing::debug!(changed, "live status changed"),
            Err(error) => tracing::error!(%error, "recording live status failed"),
        }
    }

    fn key(&self, object: &Value) -> ObjectKey {
        let (_, namespace, name) = key_of(object);
        (self.kind.to_owned(), namespace, name)
    }

    /// Holds as gone each applied object the LIST did not return (read one by one when
    /// the watch is narrowed by a label: leaving it is not being deleted).
    async fn hold_unlisted(&mut self, listed: &HashSet<ObjectKey>) -> Result<(), String> {
        let applied = self
            .watch
            .store
            .applied_of_kind(self.cluster, self.kind)
            .await
            .map_err(|e| e.to_string())?;
        for object in applied {
            let key = key_of(&object);
            if listed.contains(&key) {
                continue;
            }
            let live = if self.narrowed {
                self.kube
                    .get(&key.0, &key.1, &key.2)
                    .await
                    .map_err(|e| e.to_string())?
            } else {
                None
            };
            self.held.insert(key, live);
        }
        Ok(())
    }

    /// Compares the held objects that Stargate applied with what it applied, and records
    /// the findings; while a request is being applied to the cluster, keeps holding them.
    async fn compare(&mut self) {
        if self.held.is_empty() {
            return;
        }
        match self.watch.store.applying_on(self.cluster).await {
            Ok(false) => {}
            Ok(true) => return,
            Err(error) => {
                tracing::error!(%error, "reading requests failed");
                return;
            }
        }
        let held = std::mem::take(&mut self.held);
        if let Err(error) = self.record(&held).await {
            tracing::error!(%error, "recording drift failed; trying again");
            // What arrived meanwhile is newer.
            for (key, live) in held {
                self.held.entry(key).or_insert(live);
            }
        }
    }

    async fn record(&self, held: &HashMap<ObjectKey, Option<Value>>) -> Result<(), DriftError> {
        let store = &self.watch.store;
        // One lookup per object: a LIST is compared in batches, so reading every applied
        // object of the kind for each would cost more than it saves.
        let mut applied: HashMap<ObjectKey, Value> = HashMap::new();
        for key in held.keys() {
            if let Some(object) = store.applied_object(self.cluster, key).await? {
                applied.insert(key.clone(), object);
            }
        }
        let findings: Vec<DriftFinding> = held
            .iter()
            .filter_map(|(key, live)| {
                let drift = detect(applied.get(key)?, live.as_ref());
                Some(DriftFinding {
                    key: key.clone(),
                    drift: Some(drift),
                })
            })
            .collect();
        self.watch.record(self.cluster, &findings).await
    }
}

/// The label selector for `kind`'s watch: Stargate's own label, when every object of the
/// kind it applied carries it (a Namespace has no request label, but is `managed-by`).
fn selector(kind: &str, applied: &[Value]) -> Option<&'static str> {
    let (label, value, selector) = if kind == "Namespace" {
        (
            "app.kubernetes.io/managed-by",
            Some("stargate"),
            "app.kubernetes.io/managed-by=stargate",
        )
    } else {
        (REQUEST_LABEL, None, REQUEST_LABEL)
    };
    let carries = |object: &Value| {
        let found = &object["metadata"]["labels"][label];
        found.is_string() && value.is_none_or(|v| found == v)
    };
    (!applied.is_empty() && applied.iter().all(carries)).then_some(selector)
}

/// Waits `pause`; `true` if `stop` turned true (or its sender went) meanwhile.
async fn stopped(stop: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(pause) => *stop.borrow(),
        changed = stop.changed() => changed.is_err() || *stop.borrow(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::selector;

    #[test]
    fn a_watch_is_narrowed_only_when_every_applied_object_carries_the_label() {
        let labelled = json!({"metadata": {"labels": {"stargate.dev/request": "7"}}});
        let bare = json!({"metadata": {"name": "x"}});
        assert_eq!(
            selector("Deployment", std::slice::from_ref(&labelled)),
            Some("stargate.dev/request")
        );
        assert_eq!(selector("Deployment", &[labelled, bare]), None);
        let namespace =
            json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": "stargate"}}});
        assert_eq!(
            selector("Namespace", &[namespace]),
            Some("app.kubernetes.io/managed-by=stargate")
        );
        assert_eq!(selector("Service", &[]), None);
    }
}
