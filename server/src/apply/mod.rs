//! Appliers: how approved objects reach each configured cluster. `dry-run` clusters only
//! record what would be applied; `kubeconfig` clusters are reached with the `kube`
//! client; `eks` clusters too, with the endpoint and token from AWS.

pub mod eks;
mod kube_target;
pub mod readiness;

use std::{collections::HashMap, sync::Arc, time::Duration};

pub use kube_target::{FIELD_MANAGER, KubeTarget, WatchEvents, describe};
use tokio::sync::OnceCell;

use crate::config::{ClusterKind, ClusterSettings, Delivery, Settings};

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
    /// An EKS cluster: its endpoint and CA from DescribeCluster, and a bearer token signed
    /// for it that lives 15 minutes, so the client is rebuilt with a fresh one in time.
    Eks(Box<EksTarget>),
}

pub struct EksTarget {
    endpoint: eks::ClusterEndpoint,
    tokens: eks::EksTokenSource,
    timeout: Duration,
    client: tokio::sync::Mutex<Option<(String, KubeTarget)>>,
}

impl EksTarget {
    /// A client with a current token (the token source says when it must change).
    async fn client(&self) -> Result<KubeTarget, ApplyError> {
        let token = self
            .tokens
            .token()
            .await
            .map_err(|e| ApplyError::Retryable(e.to_string()))?;
        let mut cached = self.client.lock().await;
        if let Some((current, client)) = cached.as_ref()
            && *current == token
        {
            return Ok(client.clone());
        }
        let uri =
            self.endpoint.endpoint.parse().map_err(|e| {
                ApplyError::Permanent(format!("the EKS endpoint is not a URL: {e}"))
            })?;
        let mut config = kube::Config::new(uri);
        config.root_cert = Some(pem_certificates(&self.endpoint.certificate_authority_pem));
        config.auth_info.token = Some(token.clone().into());
        let client = KubeTarget::from_config(config, self.timeout)?;
        *cached = Some((token, client.clone()));
        Ok(client)
    }
}

/// The DER certificates in a PEM bundle (what kube's `root_cert` takes).
fn pem_certificates(pem: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine;
    let text = String::from_utf8_lossy(pem);
    text.split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .filter_map(|block| block.split("-----END CERTIFICATE-----").next())
        .filter_map(|body| {
            let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD.decode(body).ok()
        })
        .collect()
}

impl Target {
    /// The client to apply with; `None` for a dry run.
    pub async fn kube(&self) -> Result<Option<KubeTarget>, ApplyError> {
        match self {
            Self::DryRun => Ok(None),
            Self::Kube(kube) => Ok(Some(kube.clone())),
            Self::Eks(eks) => eks.client().await.map(Some),
        }
    }
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

    /// The configured clusters' names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.clusters.keys().cloned().collect();
        names.sort();
        names
    }

    /// How `name` receives its changes (`direct` for a cluster no longer configured: its
    /// jobs fail when they ask for its target).
    pub fn delivery(&self, name: &str) -> Delivery {
        self.clusters
            .get(name)
            .map_or(Delivery::Direct, |c| c.settings.delivery)
    }

    /// Whether `name` only records what would be applied.
    pub fn is_dry_run(&self, name: &str) -> bool {
        self.clusters
            .get(name)
            .is_some_and(|c| c.settings.kind == ClusterKind::DryRun)
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
            let (Some(region), Some(name)) = (&settings.region, &settings.eks_cluster) else {
                return Err(ApplyError::Permanent(format!(
                    "cluster {}: an eks cluster needs region and eks_cluster",
                    settings.name
                )));
            };
            let mut cluster = eks::EksCluster::new(region.clone(), name.clone());
            if let Some(url) = &settings.aws_endpoint_url {
                cluster = cluster.with_aws_endpoint_url(url.clone());
            }
            let mut endpoint = eks::describe(&cluster)
                .await
                .map_err(|e| ApplyError::Retryable(e.to_string()))?;
            if let Some(api_server) = &settings.api_server {
                endpoint.endpoint = api_server.clone();
            }
            Target::Eks(Box::new(EksTarget {
                endpoint,
                tokens: eks::EksTokenSource::new(cluster),
                timeout,
                client: tokio::sync::Mutex::new(None),
            }))
        }
    };
    Ok(Arc::new(target))
}
