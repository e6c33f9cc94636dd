//! Reading what an import takes over: the namespace's Deployments, Services, Ingresses and
//! Certificates as the cluster holds them now, those Stargate applied left out. Read when
//! the request is submitted and whenever it is re-planned, so the plan is of the cluster
//! as it is.

use serde_json::{Value, json};

use crate::apply::{ApplyError, Clusters, FIELD_MANAGER};

/// The kinds an import reads, in the order it lists them (a LIST's items may leave out
/// their kind and API version).
const KINDS: [(&str, &str); 4] = [
    ("Deployment", "apps/v1"),
    ("Service", "v1"),
    ("Ingress", "networking.k8s.io/v1"),
    ("Certificate", "cert-manager.io/v1"),
];

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("a dry-run cluster has nothing to import")]
    DryRun,
    #[error(
        "cluster {cluster} could not be read ({why}); nothing was stored, try again when it answers"
    )]
    Unreachable { cluster: String, why: String },
}

/// Whether Stargate applied `object` (its label, or fields it owns).
fn stargates(object: &Value) -> bool {
    object["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "stargate"
        || object["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["manager"] == FIELD_MANAGER)
}

/// What the import reads of an object: what it is and what it says, not what the cluster
/// keeps about it (status, versions, who wrote it), so only a real change re-plans.
fn essentials(object: &Value) -> Value {
    let meta = &object["metadata"];
    let mut essential = json!({
        "apiVersion": object["apiVersion"], "kind": object["kind"],
        "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
        "spec": object["spec"],
    });
    for key in ["labels", "annotations"] {
        if meta[key].is_object() {
            essential["metadata"][key] = meta[key].clone();
        }
    }
    essential
}

/// The objects of `namespace` on `cluster` an import may take over.
pub async fn read_namespace(
    clusters: &Clusters,
    cluster: &str,
    namespace: &str,
) -> Result<Vec<Value>, ReadError> {
    let unreachable = |error: ApplyError| ReadError::Unreachable {
        cluster: cluster.to_owned(),
        why: error.to_string(),
    };
    if clusters.is_dry_run(cluster) {
        return Err(ReadError::DryRun);
    }
    let target = clusters.target(cluster).await.map_err(unreachable)?;
    let Some(kube) = target.kube().await.map_err(unreachable)? else {
        return Err(ReadError::DryRun);
    };
    let mut objects = Vec::new();
    for (kind, api_version) in KINDS {
        let listed = match kube.list(kind, namespace).await {
            Ok(listed) => listed,
            // A cluster without cert-manager has no Certificates to import.
            Err(ApplyError::Permanent(why)) if kind == "Certificate" => {
                tracing::info!(cluster, namespace, why, "no Certificates to import");
                Vec::new()
            }
            Err(error) => return Err(unreachable(error)),
        };
        objects.extend(listed.iter().filter(|o| !stargates(o)).map(|o| {
            let mut o = essentials(o);
            o["kind"] = json!(kind);
            o["apiVersion"] = json!(api_version);
            o
        }));
    }
    tracing::info!(
        cluster,
        namespace,
        objects = objects.len(),
        "namespace read for an import"
    );
    Ok(objects)
}
