//! Restoring: a service's drifted or missing objects applied again exactly as last
//! approved, through the same review. Which objects have drifted is the catalog's to say
//! (the last drift check); the spec names the service and, if it wants fewer, the objects.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    FieldError, FieldErrors, ServiceName, names::check_dns_label, request::reader::SpecReader,
};

/// One object of the service on its cluster, as the drift records name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreObject {
    pub kind: String,
    /// Empty for a cluster-wide object.
    #[serde(default)]
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreSpec {
    pub service: ServiceName,
    /// Only these objects; empty: every drifted or missing object of the service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<RestoreObject>,
}

impl RestoreSpec {
    pub fn parse(spec: &Value) -> Result<Self, FieldErrors> {
        let mut r = SpecReader::new("spec", spec)?;
        let service = r.string("service").and_then(|s| {
            let path = r.path("service");
            r.check(ServiceName::parse(&path, s))
        });
        let mut objects = Vec::new();
        for (path, value) in r.objects("objects") {
            match parse_object(&path, value) {
                Ok(object) if objects.contains(&object) => {
                    r.check::<()>(Err(FieldError::new(path, "is listed twice")));
                }
                Ok(object) => objects.push(object),
                Err(errors) => r.errors.0.extend(errors.0),
            }
        }
        let errors = r.finish();
        match service {
            Some(service) if errors.is_empty() => Ok(Self { service, objects }),
            _ => Err(errors),
        }
    }

    /// Whether the spec covers the object `(kind, namespace, name)`.
    pub fn covers(&self, kind: &str, namespace: &str, name: &str) -> bool {
        self.objects.is_empty()
            || self
                .objects
                .iter()
                .any(|o| o.kind == kind && o.namespace == namespace && o.name == name)
    }
}

fn parse_object(path: &str, value: &Value) -> Result<RestoreObject, FieldErrors> {
    let mut r = SpecReader::new(path, value)?;
    let kind = r.string("kind").map(str::to_owned);
    if let Some(kind) = &kind
        && (kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        let path = r.path("kind");
        r.check::<()>(Err(FieldError::new(path, "must be a Kubernetes kind")));
    }
    let namespace = r
        .optional_string("namespace")
        .unwrap_or_default()
        .to_owned();
    if !namespace.is_empty()
        && let Err(message) = check_dns_label(&namespace)
    {
        let path = r.path("namespace");
        r.check::<()>(Err(FieldError::new(path, message)));
    }
    let name = r.string("name").map(str::to_owned);
    let errors = r.finish();
    match (kind, name) {
        (Some(kind), Some(name)) if errors.is_empty() => Ok(RestoreObject {
            kind,
            namespace,
            name,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::spec::tests::paths;

    #[test]
    fn names_a_service_and_optionally_its_objects() {
        let spec = RestoreSpec::parse(&json!({"service": "ledger"})).unwrap();
        assert_eq!(spec.service.as_str(), "ledger");
        assert!(spec.covers("Deployment", "payments", "ledger"));
        let spec = RestoreSpec::parse(&json!({"service": "ledger",
            "objects": [{"kind": "Deployment", "namespace": "payments", "name": "ledger"}]}))
        .unwrap();
        assert!(spec.covers("Deployment", "payments", "ledger"));
        assert!(!spec.covers("Service", "payments", "ledger"));
    }

    #[test]
    fn names_every_bad_field() {
        assert_eq!(
            paths(RestoreSpec::parse(&json!({})).unwrap_err()),
            ["spec.service"]
        );
        assert_eq!(
            paths(
                RestoreSpec::parse(&json!({"service": "Ledger!", "extra": 1,
                    "objects": [{"kind": "Deploy ment", "name": "ledger"}, 3,
                                {"kind": "Service", "name": "a"}, {"kind": "Service", "name": "a"}]}))
                .unwrap_err()
            ),
            [
                "spec.extra",
                "spec.objects[0].kind",
                "spec.objects[1]",
                "spec.objects[3]",
                "spec.service"
            ]
        );
    }
}
