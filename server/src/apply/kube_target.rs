//! One Kubernetes cluster reached through its API server with the `kube` client:
//! server-side apply of each object (field manager `stargate`, in dependency order), then
//! readiness by reading the objects back until the controllers report them ready.

use std::time::{Duration, Instant};

use kube::{
    Client, Config,
    api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams},
    config::{KubeConfigOptions, Kubeconfig},
    core::{ApiResource, GroupVersionKind},
    runtime::watcher,
};
use serde_json::Value;

use super::{ApplyError, readiness};

pub const FIELD_MANAGER: &str = "stargate";

/// The API resource of each kind we apply: (group, version, plural, namespaced).
fn resource(kind: &str) -> Option<(&'static str, &'static str, &'static str, bool)> {
    Some(match kind {
        "Namespace" => ("", "v1", "namespaces", false),
        "Service" => ("", "v1", "services", true),
        "ConfigMap" => ("", "v1", "configmaps", true),
        "Deployment" => ("apps", "v1", "deployments", true),
        "Ingress" => ("networking.k8s.io", "v1", "ingresses", true),
        "Certificate" => ("cert-manager.io", "v1", "certificates", true),
        "ExternalSecret" => ("external-secrets.io", "v1", "externalsecrets", true),
        _ => return None,
    })
}

/// How long one watch call may stay open: the API server ends it then (the watcher asks
/// for 290 s) and the watcher opens the next from where it was.
const WATCH_READ_TIMEOUT: Duration = Duration::from_secs(300);

/// The API resource of `kind`, and whether it is namespaced.
fn api_resource(kind: &str) -> Result<(ApiResource, bool), ApplyError> {
    let (group, version, plural, namespaced) = resource(kind).ok_or_else(|| {
        ApplyError::Permanent(format!("Stargate does not apply objects of kind {kind:?}"))
    })?;
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Ok((ApiResource::from_gvk_with_plural(&gvk, plural), namespaced))
}

/// A cluster's API server, as a configured client.
#[derive(Clone)]
pub struct KubeTarget {
    client: Client,
    /// The same, without the per-call read timeout: a watch is quiet for minutes.
    watch_client: Client,
}

/// What a drift watch receives: each object of a kind at the (re-)list, then each change.
pub type WatchEvents = std::pin::Pin<
    Box<dyn futures::Stream<Item = Result<watcher::Event<DynamicObject>, watcher::Error>> + Send>,
>;

/// The object's identity, for messages: `Deployment payments/ledger`.
pub fn describe(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or("object");
    let name = object["metadata"]["name"].as_str().unwrap_or("?");
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// A kube error in words, and whether trying again may help.
fn classify(error: kube::Error, what: &str) -> ApplyError {
    match error {
        kube::Error::Api(status) => {
            let message = if status.message.is_empty() {
                status.reason.clone()
            } else {
                status.message.clone()
            };
            match status.code {
                400 => ApplyError::Permanent(format!(
                    "the API server refused {what} as malformed: {message}"
                )),
                401 | 403 => ApplyError::Permanent(format!(
                    "Stargate may not apply {what} on this cluster (HTTP {}): {message}; check \
                     its credentials and RBAC",
                    status.code
                )),
                404 => ApplyError::Permanent(format!(
                    "the API server does not know {what} (is the CRD installed?): {message}"
                )),
                409 => ApplyError::Retryable(format!("conflict applying {what}: {message}")),
                422 => ApplyError::Permanent(format!("the API server rejected {what}: {message}")),
                429 | 500..=599 => ApplyError::Retryable(format!(
                    "the API server failed on {what} (HTTP {}): {message}",
                    status.code
                )),
                code => ApplyError::Permanent(format!(
                    "the API server answered HTTP {code} for {what}: {message}"
                )),
            }
        }
        other => ApplyError::Retryable(format!(
            "could not reach the API server for {what}: {other}"
        )),
    }
}

impl KubeTarget {
    /// A client for `context` of the kubeconfig at `path` (or the default kubeconfig).
    pub async fn from_kubeconfig(
        path: Option<&std::path::Path>,
        context: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, ApplyError> {
        let kubeconfig = match path {
            Some(path) => Kubeconfig::read_from(path),
            None => Kubeconfig::read(),
        }
        .map_err(|e| ApplyError::Permanent(format!("cannot read the kubeconfig: {e}")))?;
        let options = KubeConfigOptions {
            context: context.map(str::to_owned),
            ..KubeConfigOptions::default()
        };
        let config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| ApplyError::Permanent(format!("the kubeconfig is not usable: {e}")))?;
        Self::from_config(config, timeout)
    }

    pub fn from_config(mut config: Config, timeout: Duration) -> Result<Self, ApplyError> {
        config.connect_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
        let mut watching = config.clone();
        watching.read_timeout = Some(WATCH_READ_TIMEOUT);
        config.read_timeout = Some(timeout);
        let build = |config| {
            Client::try_from(config)
                .map_err(|e| ApplyError::Permanent(format!("cannot build a cluster client: {e}")))
        };
        Ok(Self {
            client: build(config)?,
            watch_client: build(watching)?,
        })
    }

    /// Every object of `kind` in every namespace (those matching `labels`, when given):
    /// one LIST (paged), then one watch from its resourceVersion, again after a watch
    /// ends; after a 410 Expired, a new LIST.
    pub fn watch(&self, kind: &str, labels: Option<&str>) -> Result<WatchEvents, ApplyError> {
        let resource = api_resource(kind)?.0;
        let api = Api::<DynamicObject>::all_with(self.watch_client.clone(), &resource);
        let mut config = watcher::Config::default();
        if let Some(labels) = labels {
            config = config.labels(labels);
        }
        Ok(Box::pin(watcher::watcher(api, config)))
    }

    /// The live object `(kind, namespace, name)`, or `None` if the cluster has none.
    pub async fn get(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, ApplyError> {
        let mut probe = serde_json::json!({"kind": kind, "metadata": {"name": name}});
        if !namespace.is_empty() {
            probe["metadata"]["namespace"] = namespace.into();
        }
        let what = describe(&probe);
        let (api, name) = self.api(&probe)?;
        let live = api.get_opt(&name).await.map_err(|e| classify(e, &what))?;
        live.map(|live| {
            serde_json::to_value(live)
                .map_err(|e| ApplyError::Permanent(format!("{what} does not read: {e}")))
        })
        .transpose()
    }

    fn api(&self, object: &Value) -> Result<(Api<DynamicObject>, String), ApplyError> {
        let kind = object["kind"].as_str().unwrap_or_default();
        let (resource, namespaced) = api_resource(kind)?;
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let api = match (namespaced, object["metadata"]["namespace"].as_str()) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &resource),
            (true, None) => {
                return Err(ApplyError::Permanent(format!(
                    "{} has no namespace",
                    describe(object)
                )));
            }
            (false, _) => Api::all_with(self.client.clone(), &resource),
        };
        Ok((api, name))
    }

    /// Every object of `kind` in `namespace` (empty: a cluster-wide kind), in one LIST.
    pub async fn list(&self, kind: &str, namespace: &str) -> Result<Vec<Value>, ApplyError> {
        let mut probe = serde_json::json!({"kind": kind, "metadata": {"name": ""}});
        if !namespace.is_empty() {
            probe["metadata"]["namespace"] = namespace.into();
        }
        let what = format!("the {kind} objects of {namespace:?}");
        let (api, _) = self.api(&probe)?;
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| classify(e, &what))?;
        list.items
            .iter()
            .map(|item| {
                serde_json::to_value(item)
                    .map_err(|e| ApplyError::Permanent(format!("{what} do not read: {e}")))
            })
            .collect()
    }

    /// Server-side apply, forced: Stargate owns the fields it sets.
    ///
    /// Returns the object as the API server answered: its status there is live, so an
    /// object it already shows ready (an unchanged Deployment, a Namespace) needs no wait.
    pub async fn apply(&self, object: &Value) -> Result<readiness::Readiness, ApplyError> {
        let what = describe(object);
        let (api, name) = self.api(object)?;
        let body: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| ApplyError::Permanent(format!("{what} is not a valid object: {e}")))?;
        let live = api
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|e| classify(e, &what))?;
        Ok(match serde_json::to_value(&live) {
            Ok(live) => readiness::check(&live),
            Err(error) => readiness::Readiness::Waiting(error.to_string()),
        })
    }

    /// Deletes the object with foreground propagation (what it owns, a Deployment's
    /// ReplicaSets and pods, goes first). One already gone is fine: that is the goal.
    pub async fn delete(&self, object: &Value) -> Result<(), ApplyError> {
        let what = describe(object);
        let (api, name) = self.api(object)?;
        match api.delete(&name, &DeleteParams::foreground()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(error) => Err(classify(error, &what)),
        }
    }

    /// Reads the object back until the API server no longer has it, or `timeout` passes.
    pub async fn wait_gone(&self, object: &Value, timeout: Duration) -> Result<(), ApplyError> {
        let what = describe(object);
        let (api, name) = self.api(object)?;
        let started = Instant::now();
        let mut last;
        loop {
            match api.get(&name).await {
                Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
                Ok(live) if live.metadata.deletion_timestamp.is_some() => {
                    last = format!("{what} is being deleted");
                }
                Ok(_) => last = format!("{what} is still there"),
                Err(error) => match classify(error, &what) {
                    ApplyError::Retryable(why) => last = why,
                    permanent => return Err(permanent),
                },
            }
            if started.elapsed() >= timeout {
                return Err(ApplyError::NotReady(format!(
                    "{what} was not gone within {} s: {last}",
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Reads the object back until it is ready or `timeout` passes. With `absent_is_waiting`
    /// (a GitOps controller has yet to apply it) a missing object, or one without the
    /// committed spec, is waited for; otherwise a missing object is an error at once (it was
    /// just applied, so its kind is unknown or it was deleted).
    pub async fn wait_ready(
        &self,
        object: &Value,
        timeout: Duration,
        absent_is_waiting: bool,
    ) -> Result<(), ApplyError> {
        let what = describe(object);
        let (api, name) = self.api(object)?;
        let started = Instant::now();
        let mut last;
        loop {
            match api.get(&name).await {
                Ok(live) => {
                    let live = serde_json::to_value(&live).unwrap_or_default();
                    if absent_is_waiting && !readiness::carries(&live, object) {
                        last = format!("{what} does not carry the committed version yet");
                    } else {
                        match readiness::check(&live) {
                            readiness::Readiness::Ready => return Ok(()),
                            readiness::Readiness::Waiting(why) => last = why,
                        }
                    }
                }
                Err(kube::Error::Api(status)) if status.code == 404 && absent_is_waiting => {
                    last = format!("{what} is not on the cluster yet");
                }
                Err(error) => match classify(error, &what) {
                    ApplyError::Retryable(why) => last = why,
                    permanent => return Err(permanent),
                },
            }
            if started.elapsed() >= timeout {
                return Err(ApplyError::NotReady(format!(
                    "{what} was not ready within {} s: {last}",
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
