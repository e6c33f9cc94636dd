//! The plan: what applying a request would change, object by object and field by field,
//! against the objects as last applied; and a hash that approvals bind to.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use crate::field_diff::FieldChange;

use super::{
    ServiceSpec,
    render::{Object, RenderError},
    rules::{DriftedObject, ObjectKey},
};
use crate::{
    drift::ObjectDrift,
    field_diff::{ListItems, changed_fields},
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    Create,
    Update {
        fields: Vec<FieldChange>,
    },
    Unchanged,
    /// Deleted from the cluster (a decommission).
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlannedObject {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    pub objects: Vec<PlannedObject>,
    /// SHA-256 over the desired objects and what they were compared with: when either
    /// changes, approvals given to the old plan no longer hold.
    pub hash: String,
    /// An adopt's new spec of its service (the live values): what later changes of the
    /// service start from once it is applied. Its rendering is in the objects, so hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub adopted: Option<ServiceSpec>,
    /// An import's objects found in the namespace: the catalog entry each becomes, and
    /// those left alone with why. What was read is hashed with the objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub imported: Option<crate::import::ImportMap>,
}

/// The label naming the request that last wrote an object: identity, not configuration.
/// It changes with every request, so comparing it would show every object of a change as
/// updated and bury what a reviewer must read (it is still applied, and still hashed).
const REQUEST_LABEL_PATH: &str = "metadata.labels.stargate.dev/request";

/// A Deployment whose replicas an autoscaler is to own no longer sets `spec.replicas`:
/// the field diff compares only fields set, so the release is shown here (to `None`).
fn released_replicas(after: &Value, before: &Value) -> Option<FieldChange> {
    let kind = after["kind"].as_str();
    let released = kind == Some("Deployment")
        && after["spec"].get("replicas").is_none()
        && before["spec"].get("replicas").is_some();
    released.then(|| FieldChange {
        path: REPLICAS_PATH.to_owned(),
        before: before["spec"].get("replicas").cloned(),
        after: None,
    })
}

const REPLICAS_PATH: &str = "spec.replicas";

/// Where the objects as last applied come from (the catalog, or a cluster).
pub trait LiveObjects {
    fn live(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value>;
}

/// Compares each desired object with the live (last applied) one `live` finds by
/// (kind, namespace, name). Only fields we set are compared, so server-added status and
/// defaults do not show as changes. Each of `deletions` that `live` holds is deleted (one
/// it does not hold was never applied, or is gone already: nothing to do).
pub fn plan(
    desired: &[Object],
    deletions: &[ObjectKey],
    live: &dyn LiveObjects,
) -> Result<Plan, RenderError> {
    let mut hasher = Sha256::new();
    let mut objects = Vec::with_capacity(desired.len());
    for object in desired {
        let after = object.to_value()?;
        let namespace = after["metadata"]["namespace"].as_str().map(str::to_owned);
        let name = after["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let before = live.live(object.kind(), namespace.as_deref(), &name);
        let change = match &before {
            None => Change::Create,
            Some(before) => {
                let mut fields = changed_fields(&after, Some(before), ListItems::ByIndex);
                fields.retain(|f| f.path != REQUEST_LABEL_PATH);
                fields.extend(released_replicas(&after, before));
                if fields.is_empty() {
                    Change::Unchanged
                } else {
                    Change::Update { fields }
                }
            }
        };
        hasher.update(after.to_string());
        hasher.update(before.map(|b| b.to_string()).unwrap_or_default());
        objects.push(PlannedObject {
            kind: object.kind().to_owned(),
            namespace,
            name,
            change,
        });
    }
    for (kind, namespace, name) in deletions {
        let namespace = (!namespace.is_empty()).then(|| namespace.clone());
        let Some(before) = live.live(kind, namespace.as_deref(), name) else {
            continue;
        };
        hasher.update("delete");
        hasher.update(before.to_string());
        objects.push(PlannedObject {
            kind: kind.clone(),
            namespace,
            name: name.clone(),
            change: Change::Delete,
        });
    }
    let hash = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Plan {
        objects,
        hash,
        adopted: None,
        imported: None,
    })
}

/// A restore's plan: each object applied again as last approved, an `update` of its
/// drifted fields (live → approved) or a `create` of a missing one. The hash covers the
/// objects and their drift: when the drift changes, approvals given to the old plan no
/// longer hold.
pub fn restore_plan(restored: &[DriftedObject]) -> Plan {
    let mut hasher = Sha256::new();
    let objects = restored
        .iter()
        .map(|object| {
            let change = match &object.drift {
                ObjectDrift::Missing => Change::Create,
                drift => Change::Update {
                    fields: drift
                        .fields()
                        .iter()
                        .map(|f| FieldChange {
                            path: f.path.clone(),
                            before: f.live.clone(),
                            after: Some(f.approved.clone()),
                        })
                        .collect(),
                },
            };
            hasher.update(object.applied.to_string());
            hasher.update(serde_json::to_string(&object.drift).unwrap_or_default());
            PlannedObject {
                kind: object.kind.clone(),
                namespace: (!object.namespace.is_empty()).then(|| object.namespace.clone()),
                name: object.name.clone(),
                change,
            }
        })
        .collect();
    let hash = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Plan {
        objects,
        hash,
        adopted: None,
        imported: None,
    }
}

/// Whether `new` differs from `old` only by objects that were to be created and now exist
/// exactly as desired (e.g. the team's namespace, created meanwhile by another request).
/// Such a plan changes strictly less than the one reviewed, so its approvals still hold.
pub fn only_caught_up(old: &Plan, new: &Plan) -> bool {
    old.objects.len() == new.objects.len()
        && old.objects.iter().zip(&new.objects).all(|(o, n)| {
            o.kind == n.kind
                && o.namespace == n.namespace
                && o.name == n.name
                && (o.change == n.change
                    || (o.change == Change::Create && n.change == Change::Unchanged))
        })
}

/// Fields the API server will not change in place, by kind and path prefix, and what
/// changing them means for the people running the service.
const REPLACED_ON_CHANGE: &[(&str, &str, &str)] = &[
    (
        "Deployment",
        "spec.selector",
        "its selector cannot change in place: the Deployment is deleted and created again, and every pod restarts at once",
    ),
    (
        "Service",
        "spec.clusterIP",
        "its cluster IP cannot change in place: the Service is deleted and created again, and clients briefly cannot reach it",
    ),
    (
        "Certificate",
        "spec.secretName",
        "it moves to another Secret: cert-manager issues a new certificate there, and whatever reads the old Secret keeps the old certificate",
    ),
];

/// What a reviewer must know beyond the field diffs: objects the change will replace
/// rather than update, and a host moving to another ingress controller.
pub fn plan_notes(plan: &Plan) -> Vec<String> {
    let mut notes = Vec::new();
    for object in &plan.objects {
        let Change::Update { fields } = &object.change else {
            continue;
        };
        for (kind, prefix, why) in REPLACED_ON_CHANGE {
            if object.kind == *kind && fields.iter().any(|f| f.path.starts_with(prefix)) {
                notes.push(format!("{} {}: {why}.", object.kind, object.name));
            }
        }
        if object.kind == "Deployment"
            && fields
                .iter()
                .any(|f| f.path == REPLICAS_PATH && f.after.is_none())
        {
            // Server-side apply: a field its last owner stops applying is removed, and a
            // Deployment's replicas then default to 1. An HPA that has changed the count
            // owns the field already (the change moved ownership to it), so it is kept.
            notes.push(format!(
                "Deployment {}: Stargate stops setting spec.replicas for a HorizontalPodAutoscaler. \
                 If no autoscaler has changed the replica count yet, Stargate is its only owner and \
                 Kubernetes resets it to 1 when this is applied: create the HPA first and let it \
                 scale once, or hand the field over first (Kubernetes server-side apply, \
                 \"Transferring ownership\").",
                object.name
            ));
        }
        if object.kind == "Ingress"
            && let Some(class) = fields.iter().find(|f| f.path == "spec.ingressClassName")
        {
            let name = |v: &Option<Value>| {
                v.as_ref()
                    .and_then(Value::as_str)
                    .unwrap_or("none")
                    .to_owned()
            };
            notes.push(format!(
                "Ingress {} moves from {} to {}: the host gets a new address, so its DNS record must point there before traffic arrives.",
                object.name,
                name(&class.before),
                name(&class.after)
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{
        TeamName,
        request::{
            ServiceSpec,
            render::{RenderContext, ServiceType, render_service},
        },
    };

    fn objects(image: &str, service_type: ServiceType) -> Vec<Object> {
        let ctx = RenderContext {
            team: TeamName::parse("t", "payments").unwrap(),
            namespace: "payments".into(),
            request_id: "7".into(),
        };
        let spec =
            ServiceSpec::parse(&json!({"name": "api", "image": image, "port": 8080})).unwrap();
        render_service(&ctx, &spec, service_type)
    }

    /// Nothing applied yet.
    struct EmptyCluster;

    impl LiveObjects for EmptyCluster {
        fn live(&self, _: &str, _: Option<&str>, _: &str) -> Option<Value> {
            None
        }
    }

    /// These objects applied, with what a cluster adds (which must not count as drift).
    struct Applied(Vec<Object>);

    impl LiveObjects for Applied {
        fn live(&self, kind: &str, _: Option<&str>, name: &str) -> Option<Value> {
            self.0.iter().find(|o| o.kind() == kind).map(|o| {
                let mut v = o.to_value().unwrap();
                v["status"] = json!({"replicas": 2});
                v["metadata"]["uid"] = json!("abc");
                assert_eq!(v["metadata"]["name"].as_str().unwrap_or(name), name);
                v
            })
        }
    }

    #[test]
    fn a_plan_that_only_caught_up_keeps_its_approvals() {
        let desired = objects("ghcr.io/a/api:1", ServiceType::ClusterIp);
        let before = plan(&desired, &[], &EmptyCluster).unwrap();
        // The namespace landed meanwhile, exactly as desired.
        let namespace_only = Applied(vec![desired[0].clone()]);
        let after = plan(&desired, &[], &namespace_only).unwrap();
        assert_ne!(before.hash, after.hash);
        assert!(only_caught_up(&before, &after));
        // Someone else's Deployment landed: that is a different change to review.
        let other = Applied(objects("ghcr.io/a/api:0", ServiceType::ClusterIp));
        let changed = plan(&desired, &[], &other).unwrap();
        assert!(!only_caught_up(&before, &changed));
    }

    #[test]
    fn the_same_objects_from_another_request_plan_as_unchanged() {
        let applied = Applied(objects("ghcr.io/a/api:1", ServiceType::ClusterIp));
        let ctx = RenderContext {
            team: TeamName::parse("t", "payments").unwrap(),
            namespace: "payments".into(),
            request_id: "8".into(),
        };
        let spec =
            ServiceSpec::parse(&json!({"name": "api", "image": "ghcr.io/a/api:2", "port": 8080}))
                .unwrap();
        let next = render_service(&ctx, &spec, ServiceType::ClusterIp);
        let plan = plan(&next, &[], &applied).unwrap();
        let changes: Vec<(&str, &Change)> = plan
            .objects
            .iter()
            .map(|o| (o.kind.as_str(), &o.change))
            .collect();
        // Only the image: not the request label on the Namespace, Deployment and Service.
        assert_eq!(changes[0], ("Namespace", &Change::Unchanged));
        assert_eq!(changes[2], ("Service", &Change::Unchanged));
        let Change::Update { fields } = changes[1].1 else {
            panic!("{changes:?}");
        };
        let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["spec.template.spec.containers[0].image"]);
        // The hash still covers the whole objects, label included.
        assert_ne!(
            plan.hash,
            super::plan(&applied.0, &[], &applied).unwrap().hash
        );
    }

    #[test]
    fn everything_is_created_on_an_empty_cluster() {
        let plan = plan(
            &objects("ghcr.io/a/api:1", ServiceType::ClusterIp),
            &[],
            &EmptyCluster,
        )
        .unwrap();
        let actions: Vec<&Change> = plan.objects.iter().map(|o| &o.change).collect();
        assert_eq!(actions, [&Change::Create, &Change::Create, &Change::Create]);
        assert_eq!(plan.hash.len(), 64);
    }

    #[test]
    fn a_new_image_and_a_node_port_show_as_field_updates() {
        let applied = Applied(objects("ghcr.io/a/api:1", ServiceType::ClusterIp));
        let unchanged = plan(&applied.0, &[], &applied).unwrap();
        assert!(
            unchanged
                .objects
                .iter()
                .all(|o| o.change == Change::Unchanged),
            "{unchanged:?}"
        );

        let desired = objects("ghcr.io/a/api:2", ServiceType::NodePort);
        let plan = plan(&desired, &[], &applied).unwrap();
        let Change::Update { fields } = &plan.objects[1].change else {
            panic!("{:?}", plan.objects[1])
        };
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].path, "spec.template.spec.containers[0].image");
        assert_eq!(fields[0].after, Some(json!("ghcr.io/a/api:2")));
        let Change::Update { fields } = &plan.objects[2].change else {
            panic!()
        };
        assert_eq!(fields[0].path, "spec.type");
        assert_eq!(
            (fields[0].before.clone(), fields[0].after.clone()),
            (Some(json!("ClusterIP")), Some(json!("NodePort")))
        );
        assert_ne!(
            plan.hash, unchanged.hash,
            "a different plan has a different hash"
        );
    }

    #[test]
    fn deletions_plan_only_what_was_applied_and_change_the_hash() {
        let applied = Applied(objects("ghcr.io/a/api:1", ServiceType::ClusterIp));
        let key =
            |kind: &str, name: &str| (kind.to_owned(), "payments".to_owned(), name.to_owned());
        let deletions = [key("Service", "api"), key("ExternalSecret", "api-env")];
        let plan = plan(&[], &deletions, &applied).unwrap();
        let planned: Vec<(&str, &Change)> = plan
            .objects
            .iter()
            .map(|o| (o.kind.as_str(), &o.change))
            .collect();
        assert_eq!(planned, [("Service", &Change::Delete)]);
        let other = super::plan(&[], &deletions[..0], &applied).unwrap();
        assert_ne!(plan.hash, other.hash);
    }

    #[test]
    fn a_replaced_object_and_a_host_changing_controller_are_explained() {
        let update = |kind: &str, path: &str, before: Value, after: Value| PlannedObject {
            kind: kind.into(),
            namespace: Some("payments".into()),
            name: "api".into(),
            change: Change::Update {
                fields: vec![FieldChange {
                    path: path.into(),
                    before: Some(before),
                    after: Some(after),
                }],
            },
        };
        let plan = Plan {
            objects: vec![
                update(
                    "Deployment",
                    "spec.selector.matchLabels.app",
                    json!("a"),
                    json!("b"),
                ),
                update("Deployment", "spec.replicas", json!(2), json!(4)),
                update(
                    "Ingress",
                    "spec.ingressClassName",
                    json!("nginx"),
                    json!("alb"),
                ),
            ],
            hash: String::new(),
            adopted: None,
            imported: None,
        };
        let notes = plan_notes(&plan);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("Deployment api: its selector cannot change in place"));
        assert!(notes[1].contains("moves from nginx to alb"), "{notes:?}");
    }

    #[test]
    fn handing_replicas_to_an_autoscaler_plans_their_release_with_a_warning() {
        let ctx = RenderContext {
            team: TeamName::parse("t", "payments").unwrap(),
            namespace: "payments".into(),
            request_id: "9".into(),
        };
        let hpa = ServiceSpec::parse(
            &json!({"name": "api", "image": "ghcr.io/a/api:1", "port": 8080, "scaling": "hpa"}),
        )
        .unwrap();
        let desired = render_service(&ctx, &hpa, ServiceType::ClusterIp);
        let deployment = desired[1].to_value().unwrap();
        assert!(deployment["spec"].get("replicas").is_none(), "{deployment}");

        let fixed = Applied(objects("ghcr.io/a/api:1", ServiceType::ClusterIp));
        let handover = plan(&desired, &[], &fixed).unwrap();
        assert_eq!(
            handover.objects[1].change,
            Change::Update {
                fields: vec![FieldChange {
                    path: "spec.replicas".into(),
                    before: Some(json!(2)),
                    after: None,
                }]
            }
        );
        let notes = plan_notes(&handover);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("resets it to 1"), "{notes:?}");

        // Once handed over, the next change leaves replicas alone: no release, no warning.
        let handed_over = Applied(desired.clone());
        let again = plan(&desired, &[], &handed_over).unwrap();
        assert_eq!(again.objects[1].change, Change::Unchanged);
        assert!(plan_notes(&again).is_empty());
    }
}
