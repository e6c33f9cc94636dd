//! A restore request against the catalog: the team holds the service, and at least one of
//! its objects had drifted or was missing at the last drift check. What it applies is each
//! such object exactly as last applied; what the review shows is the drift it undoes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CatalogView, ObjectKey};
use crate::{
    FieldError, FieldErrors, ServiceName, TeamName, drift::ObjectDrift, request::RestoreSpec,
};

/// An object of a service that no longer holds what was approved, with the object as last
/// applied (what a restore applies again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftedObject {
    pub team: TeamName,
    pub service: ServiceName,
    pub kind: String,
    /// Empty for a cluster-wide object.
    pub namespace: String,
    pub name: String,
    /// Drifted (with its fields) or missing.
    pub drift: ObjectDrift,
    /// The object as last applied.
    pub applied: Value,
}

impl DriftedObject {
    pub fn key(&self) -> ObjectKey {
        (self.kind.clone(), self.namespace.clone(), self.name.clone())
    }
}

/// Checks `spec` and returns the objects to restore, in the order the catalog gives them:
/// every drifted or missing object of the service, or those of them the spec names.
pub fn check_restore(
    team: &TeamName,
    cluster: &str,
    spec: &RestoreSpec,
    catalog: &dyn CatalogView,
) -> Result<Vec<DriftedObject>, FieldErrors> {
    let invalid = |path: &str, message: String| FieldErrors(vec![FieldError::new(path, message)]);
    let Some(facts) = catalog.service(team, &spec.service) else {
        return Err(invalid(
            "spec.service",
            format!("team {team} has no service {}", spec.service),
        ));
    };
    if facts.cluster != cluster {
        return Err(invalid(
            "cluster",
            format!(
                "service {} runs on cluster {}, not {cluster}",
                spec.service, facts.cluster
            ),
        ));
    }
    let drifted: Vec<DriftedObject> = catalog
        .drifted_objects(team, &spec.service)
        .into_iter()
        .filter(|o| o.drift.state().is_drift())
        .collect();
    let mut errors = FieldErrors::default();
    for (i, object) in spec.objects.iter().enumerate() {
        let found = drifted.iter().any(|o| {
            o.kind == object.kind && o.namespace == object.namespace && o.name == object.name
        });
        if !found {
            errors.push(FieldError::new(
                format!("spec.objects[{i}]"),
                format!(
                    "{} {} of service {} had not drifted at the last check: there is nothing to restore",
                    object.kind, object.name, spec.service
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let restored: Vec<DriftedObject> = drifted
        .into_iter()
        .filter(|o| spec.covers(&o.kind, &o.namespace, &o.name))
        .collect();
    if restored.is_empty() {
        return Err(invalid(
            "spec.service",
            format!(
                "nothing has drifted: every object of service {} held what was approved at the last drift check",
                spec.service
            ),
        ));
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{
        drift::DriftedField,
        request::{
            Protocol,
            render::ServiceType,
            rules::{CatalogSnapshot, ServiceFacts},
        },
    };

    fn team() -> TeamName {
        TeamName::parse("t", "payments").unwrap()
    }

    fn ledger() -> ServiceName {
        ServiceName::parse("s", "ledger").unwrap()
    }

    pub(crate) fn drifted(kind: &str, drift: ObjectDrift) -> DriftedObject {
        DriftedObject {
            team: team(),
            service: ledger(),
            kind: kind.into(),
            namespace: "payments".into(),
            name: "ledger".into(),
            drift,
            applied: json!({"apiVersion": "v1", "kind": kind,
                "metadata": {"name": "ledger", "namespace": "payments"}}),
        }
    }

    pub(crate) fn replicas_drifted() -> ObjectDrift {
        ObjectDrift::Drifted {
            fields: vec![DriftedField {
                path: "spec.replicas".into(),
                approved: json!(2),
                live: Some(json!(5)),
                changed_by: Some("kubectl".into()),
                since: None,
            }],
        }
    }

    fn catalog(objects: Vec<DriftedObject>) -> CatalogSnapshot {
        CatalogSnapshot {
            services: vec![(
                team(),
                ledger(),
                ServiceFacts {
                    port: 8080,
                    protocol: Protocol::Http,
                    service_type: ServiceType::ClusterIp,
                    cluster: "demo".into(),
                },
            )],
            drifted_objects: objects,
            ..CatalogSnapshot::default()
        }
    }

    fn spec(value: Value) -> RestoreSpec {
        RestoreSpec::parse(&value).unwrap()
    }

    fn paths(result: Result<Vec<DriftedObject>, FieldErrors>) -> Vec<String> {
        result.unwrap_err().0.into_iter().map(|e| e.path).collect()
    }

    #[test]
    fn restores_every_drifted_or_missing_object_of_the_service() {
        let catalog = catalog(vec![
            drifted("Deployment", replicas_drifted()),
            drifted("Service", ObjectDrift::Missing),
            drifted("ExternalSecret", ObjectDrift::InSync),
        ]);
        let restored = check_restore(
            &team(),
            "demo",
            &spec(json!({"service": "ledger"})),
            &catalog,
        )
        .unwrap();
        let kinds: Vec<&str> = restored.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["Deployment", "Service"]);
        let only = spec(json!({"service": "ledger",
            "objects": [{"kind": "Service", "namespace": "payments", "name": "ledger"}]}));
        let restored = check_restore(&team(), "demo", &only, &catalog).unwrap();
        assert_eq!(restored.len(), 1);
        assert_eq!(restored[0].drift, ObjectDrift::Missing);
    }

    #[test]
    fn nothing_drifted_is_refused_on_the_service() {
        let in_sync = catalog(vec![drifted("Deployment", ObjectDrift::InSync)]);
        let result = check_restore(
            &team(),
            "demo",
            &spec(json!({"service": "ledger"})),
            &in_sync,
        );
        let errors = result.unwrap_err();
        assert_eq!(errors.0[0].path, "spec.service");
        assert!(errors.0[0].message.contains("nothing has drifted"));
        // An object named that had not drifted is refused on its own path.
        let named = spec(json!({"service": "ledger",
            "objects": [{"kind": "Deployment", "namespace": "payments", "name": "ledger"}]}));
        assert_eq!(
            paths(check_restore(&team(), "demo", &named, &in_sync)),
            ["spec.objects[0]"]
        );
    }

    #[test]
    fn only_the_teams_service_on_its_cluster() {
        let catalog = catalog(vec![drifted("Deployment", replicas_drifted())]);
        let search = TeamName::parse("t", "search").unwrap();
        let any = spec(json!({"service": "ledger"}));
        assert_eq!(
            paths(check_restore(&search, "demo", &any, &catalog)),
            ["spec.service"]
        );
        assert_eq!(
            paths(check_restore(&team(), "prod", &any, &catalog)),
            ["cluster"]
        );
    }
}
