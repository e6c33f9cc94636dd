//! Appliers: how approved objects reach each configured cluster. `dry-run` clusters only
//! record what would be applied; `kubeconfig` clusters are reached with the `kube`
//! client; `eks` clusters too, with the endpoint and token from AWS.

mod kube_target;
pub mod readiness;

use std::{collections::HashMap, sync::Arc, time::Duration};

pub use kube_target::{FIELD_MANAGER, KubeTarget, describe};
use tokio::sync::OnceCell;

use crate::config::{ClusterKind, ClusterSettings, Settings};

/// Why applying did not finish, and whether another attempt may succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The API server was unreachable, overloaded or failed: try again later.
    #[error("{0}")]
    Retryable(String),
    /// The cluster refused the change (invalid, forbidden, unknown kind): retrying the same
    /// objects will not help.
    #[error("{0}")]
    Permanent(String),
    /// Applied, but not ready in time.
    #[error("{0}")]
    NotReady(String),
}

/// Where a cluster's objects go.
pub enum Target {
    /// Rendered, validated and recorded; nothing leaves Stargate.
    DryRun,
    Kube(KubeTarget),
}

/// A configured cluster; its client is built on first use (so a cluster that is down
/// does not stop the portal from starting).
struct Configured {
    settings: ClusterSettings,
    target: OnceCell<Arc<Target>>,
}

/// The clusters from configuration, by name.
pub struct Clusters {
    clusters: HashMap<String, Configured>,
    timeout: Duration,
}

impl Clusters {
    pub fn from_settings(settings: &Settings) -> Self {
        let clusters = settings
            .clusters
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    Configured {
                        settings: c.clone(),
                        target: OnceCell::new(),
                    },
                )
            })
            .collect();
        Self {
            clusters,
            timeout: Duration::from_secs(settings.worker.request_timeout_seconds.max(1)),
        }
    }

    /// The target for `name`, connecting on first use.
    pub async fn target(&self, name: &str) -> Result<Arc<Target>, ApplyError> {
        let configured = self.clusters.get(name).ok_or_else(|| {
            ApplyError::Permanent(format!("cluster {name} is no longer configured"))
        })?;
        let target = configured
            .target
            .get_or_try_init(|| connect(&configured.settings, self.timeout))
            .await?;
        Ok(target.clone())
    }
}

async fn connect(settings: &ClusterSettings, timeout: Duration) -> Result<Arc<Target>, ApplyError> {
    let target = match settings.kind {
        ClusterKind::DryRun => Target::DryRun,
        ClusterKind::Kubeconfig => Target::Kube(
            KubeTarget::from_kubeconfig(
                settings.kubeconfig.as_deref(),
                settings.context.as_deref(),
                timeout,
            )
            .await?,
        ),
        ClusterKind::Eks => {
            return Err(ApplyError::Permanent(format!(
                "cluster {}: EKS clusters are not supported by this build yet",
                settings.name
            )));
        }
    };
    Ok(Arc::new(target))
}
