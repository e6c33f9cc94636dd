//! Worker metrics on `/metrics`: queue depth, job duration, attempts and failures per
//! cluster, and applied objects by drift state per cluster.

use std::time::Duration;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabels {
    cluster: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DriftLabels {
    cluster: String,
    state: String,
}

pub struct WorkerMetrics {
    drift: Family<DriftLabels, Gauge>,
    queue_depth: Gauge,
    duration: Family<ClusterLabels, Histogram>,
    attempts: Family<ClusterLabels, Counter>,
    failures: Family<ClusterLabels, Counter>,
}

fn job_histogram() -> Histogram {
    // 10 ms (dry runs) .. 10 min (slow rollouts).
    Histogram::new([0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 600.0])
}

impl WorkerMetrics {
    /// Registers the worker's metrics in `registry` (the server's, so `/metrics` has them).
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            queue_depth: Gauge::default(),
            duration: Family::new_with_constructor(job_histogram as fn() -> _),
            attempts: Family::default(),
            failures: Family::default(),
            drift: Family::default(),
        };
        registry.register(
            "jobs_queue_depth",
            "Jobs queued or running, as the worker last saw",
            metrics.queue_depth.clone(),
        );
        registry.register(
            "job_duration_seconds",
            "Time from claiming a job to its outcome, by cluster",
            metrics.duration.clone(),
        );
        registry.register(
            "job_attempts",
            "Attempts to apply a job, by cluster",
            metrics.attempts.clone(),
        );
        registry.register(
            "job_failures",
            "Failed attempts (retried or final), by cluster",
            metrics.failures.clone(),
        );
        registry.register(
            "drift_objects",
            "Applied objects by drift state (in_sync, drifted, missing, unknown) at the last check, by cluster",
            metrics.drift.clone(),
        );
        metrics
    }

    pub fn set_drift(&self, cluster: &str, state: &str, objects: i64) {
        self.drift
            .get_or_create(&DriftLabels {
                cluster: cluster.to_owned(),
                state: state.to_owned(),
            })
            .set(objects);
    }

    fn labels(cluster: &str) -> ClusterLabels {
        ClusterLabels {
            cluster: cluster.to_owned(),
        }
    }

    pub fn set_queue_depth(&self, depth: i64) {
        self.queue_depth.set(depth);
    }

    pub fn attempt(&self, cluster: &str) {
        self.attempts.get_or_create(&Self::labels(cluster)).inc();
    }

    pub fn failure(&self, cluster: &str) {
        self.failures.get_or_create(&Self::labels(cluster)).inc();
    }

    pub fn finished(&self, cluster: &str, took: Duration) {
        self.duration
            .get_or_create(&Self::labels(cluster))
            .observe(took.as_secs_f64());
    }
}
