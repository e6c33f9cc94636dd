//! Drift detection: for every object Stargate last applied to a cluster, is the live object
//! still what was approved? One LIST per kind and namespace reads the cluster (so a check
//! costs as many API calls as there are kinds per namespace, not objects), the domain
//! compares (`domain::drift::detect`), and the store records what changed. Runs from the
//! worker every `drift.interval_seconds`; dry-run clusters are skipped. `watch` notices
//! changes at once; the interval is the safety net.

mod watching;

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use domain::drift::{DriftState, detect};
use serde_json::Value;
use tokio::sync::watch;
use tracing::Instrument;
pub use watching::DriftWatch;

use crate::{
    apply::Clusters,
    store::{DriftFinding, ObjectKey, Store, StoreError},
    worker::WorkerMetrics,
};

#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks clusters for drift.
#[derive(Clone)]
pub struct DriftCheck {
    store: Store,
    clusters: Arc<Clusters>,
    metrics: Arc<WorkerMetrics>,
    /// Who the audit log names.
    actor: String,
}

/// `(kind, namespace)`: what one LIST reads.
type ListKey = (String, String);

impl DriftCheck {
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
        }
    }

    /// Checks every cluster that is not a dry run, every `interval`, until `stop`.
    pub async fn run(self, interval: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            for cluster in self.clusters.names() {
                if self.clusters.is_dry_run(&cluster) || !self.holds_lease(&cluster).await {
                    continue;
                }
                let span = tracing::info_span!("drift_check", %cluster);
                if let Err(error) = self.check(&cluster).instrument(span).await {
                    tracing::error!(%error, %cluster, "recording drift failed");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
            if *stop.borrow() {
                break;
            }
        }
        // Another worker takes over at once, not when the lease runs out.
        for cluster in self.clusters.names() {
            if let Err(error) = self.store.release_drift_lease(&cluster, &self.actor).await {
                tracing::warn!(%error, %cluster, "releasing the drift lease failed; it runs out");
            }
        }
    }

    /// Whether this worker checks `cluster` this round: it holds the cluster's drift lease.
    /// The lease is short whatever the interval, so a worker that dies is replaced within
    /// it; the watch, when on, renews it every few seconds, and without a watch workers may
    /// take turns from one round to the next, each round checked by one.
    async fn holds_lease(&self, cluster: &str) -> bool {
        match self
            .store
            .claim_drift_lease(cluster, &self.actor, watching::LEASE)
            .await
        {
            Ok(true) => true,
            Ok(false) => {
                tracing::debug!(%cluster, "another worker checks this cluster");
                false
            }
            Err(error) => {
                tracing::error!(%error, %cluster, "claiming the drift lease failed");
                false
            }
        }
    }

    /// Reads `cluster` and records the drift of every object applied there; returns how
    /// many objects changed state. While a request is being applied there, nothing (the
    /// next round checks). After a LIST fails, the rest are not tried: the objects left are
    /// unknown too, so an unreachable cluster costs one call, not one per kind.
    pub async fn check(&self, cluster: &str) -> Result<usize, DriftError> {
        if self.store.applying_on(cluster).await? {
            tracing::debug!("a request is being applied; drift is checked next round");
            return Ok(0);
        }
        let applied = self.store.applied_state(Some(cluster), false).await?;
        let mut groups: BTreeMap<ListKey, Vec<(ObjectKey, Value)>> = BTreeMap::new();
        for (_, object) in applied {
            let key = key_of(&object);
            groups
                .entry((key.0.clone(), key.1.clone()))
                .or_default()
                .push((key, object));
        }
        let mut client = match self.clusters.target(cluster).await {
            Ok(target) => target.kube().await.map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        let mut findings = Vec::new();
        for ((kind, namespace), objects) in groups {
            let live = match &client {
                Ok(Some(kube)) => kube
                    .list(&kind, &namespace)
                    .await
                    .map_err(|e| e.to_string()),
                Ok(None) => continue,
                Err(why) => Err(why.clone()),
            };
            let live: Option<HashMap<String, Value>> = match live {
                Ok(items) => Some(
                    items
                        .into_iter()
                        .map(|item| (key_of(&item).2, item))
                        .collect(),
                ),
                Err(why) => {
                    tracing::warn!(%why, %kind, %namespace, "cannot read the cluster; its objects are unknown");
                    client = Err(why);
                    None
                }
            };
            for (key, applied) in objects {
                let drift = live.as_ref().map(|live| detect(&applied, live.get(&key.2)));
                findings.push(DriftFinding { key, drift });
            }
        }
        let changed = self
            .store
            .record_drift(cluster, &findings, &self.actor)
            .await?;
        let mut counts: HashMap<DriftState, i64> = HashMap::new();
        for finding in &findings {
            let state = finding
                .drift
                .as_ref()
                .map_or(DriftState::Unknown, |d| d.state());
            *counts.entry(state).or_default() += 1;
        }
        for state in DriftState::ALL {
            self.metrics.set_drift(
                cluster,
                state.as_str(),
                counts.get(&state).copied().unwrap_or(0),
            );
        }
        if changed > 0 {
            tracing::info!(changed, "drift changed");
        }
        Ok(changed)
    }
}

/// `(kind, namespace, name)` of an object.
fn key_of(object: &Value) -> ObjectKey {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (
        text(&object["kind"]),
        text(&object["metadata"]["namespace"]),
        text(&object["metadata"]["name"]),
    )
}
