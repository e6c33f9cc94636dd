//! A service: a Deployment and its Service.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{EnvValue, Protocol, env::parse_env};
use crate::{
    FieldError, FieldErrors, ServiceName,
    request::{
        fields::{ImageRef, parse_cpu, parse_memory, parse_port, parse_replicas},
        reader::{SpecReader, choice},
    },
};

/// Who sets a service's replica count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// Stargate: the Deployment's `spec.replicas` is the request's count.
    #[default]
    Fixed,
    /// A HorizontalPodAutoscaler the team runs: Stargate leaves `spec.replicas` out of the
    /// Deployment, so the autoscaler's changes are neither overwritten nor drift.
    Hpa,
}

impl Scaling {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::Hpa => "hpa",
        }
    }

    pub fn is_fixed(&self) -> bool {
        *self == Self::Fixed
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub name: ServiceName,
    pub image: ImageRef,
    pub port: u16,
    /// The count Stargate sets; `None` exactly when `scaling` is [`Scaling::Hpa`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Absent from specs stored before autoscalers could own replicas: those are fixed.
    #[serde(default, skip_serializing_if = "Scaling::is_fixed")]
    pub scaling: Scaling,
    pub protocol: Protocol,
    pub env: BTreeMap<String, EnvValue>,
    pub cpu: String,
    pub memory: String,
}

const PROTOCOLS: &[(&str, Protocol)] = &[
    ("http", Protocol::Http),
    ("grpc", Protocol::Grpc),
    ("tcp", Protocol::Tcp),
];

const SCALINGS: &[(&str, Scaling)] = &[("fixed", Scaling::Fixed), ("hpa", Scaling::Hpa)];

impl ServiceSpec {
    pub fn parse(spec: &Value) -> Result<Self, FieldErrors> {
        let mut r = SpecReader::new("spec", spec)?;
        let name = r.string("name").and_then(|v| {
            let path = r.path("name");
            r.check(ServiceName::parse(&path, v))
        });
        let image = r.string("image").and_then(|v| {
            let path = r.path("image");
            r.check(ImageRef::parse(&path, v))
        });
        let port = r.integer("port").and_then(|v| {
            let path = r.path("port");
            r.check(parse_port(&path, v))
        });
        let scaling = match r.optional_string("scaling") {
            Some(v) => {
                let path = r.path("scaling");
                r.check(choice(&path, v, SCALINGS))
            }
            None => Some(Scaling::Fixed),
        };
        let replicas = match (r.optional_integer("replicas"), scaling) {
            (Some(_), Some(Scaling::Hpa)) => {
                let path = r.path("replicas");
                r.check::<()>(Err(FieldError::new(
                    path,
                    "leave it out when a HorizontalPodAutoscaler sets the replicas (scaling hpa)",
                )));
                None
            }
            (None, Some(Scaling::Hpa)) => Some(None),
            (Some(v), _) => {
                let path = r.path("replicas");
                r.check(parse_replicas(&path, v)).map(Some)
            }
            (None, _) => Some(Some(2)),
        };
        let protocol = match r.optional_string("protocol") {
            Some(v) => {
                let path = r.path("protocol");
                r.check(choice(&path, v, PROTOCOLS))
            }
            None => Some(Protocol::Http),
        };
        let mut env = BTreeMap::new();
        let mut store = None::<String>;
        for (path, key, value) in r.value_map("env") {
            let Some((key, value)) = r.check(parse_env(&path, key, value)) else {
                continue;
            };
            // One ExternalSecret per service, so one store.
            if let EnvValue::External { external } = &value {
                match &store {
                    Some(first) if *first != external.store => {
                        r.check::<()>(Err(FieldError::new(
                            format!("{path}.external.store"),
                            format!("one service's external secrets come from one store ({first})"),
                        )));
                        continue;
                    }
                    _ => store = Some(external.store.clone()),
                }
            }
            env.insert(key, value);
        }
        let cpu = {
            let v = r.optional_string("cpu").unwrap_or("250m");
            let path = r.path("cpu");
            r.check(parse_cpu(&path, v))
        };
        let memory = {
            let v = r.optional_string("memory").unwrap_or("256Mi");
            let path = r.path("memory");
            r.check(parse_memory(&path, v))
        };
        let errors = r.finish();
        match (name, image, port, replicas, scaling, protocol, cpu, memory) {
            (
                Some(name),
                Some(image),
                Some(port),
                Some(replicas),
                Some(scaling),
                Some(protocol),
                Some(cpu),
                Some(memory),
            ) if errors.is_empty() => Ok(Self {
                name,
                image,
                port,
                replicas,
                scaling,
                protocol,
                env,
                cpu,
                memory,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::spec::tests::paths;

    #[test]
    fn a_service_with_defaults() {
        let spec = ServiceSpec::parse(
            &json!({"name": "orders", "image": "ghcr.io/acme/orders:1.0.0", "port": 8080}),
        )
        .unwrap();
        assert_eq!(
            (
                spec.replicas,
                spec.protocol,
                spec.cpu.as_str(),
                spec.memory.as_str()
            ),
            (Some(2), Protocol::Http, "250m", "256Mi")
        );
        assert_eq!(spec.scaling, Scaling::Fixed);
    }

    #[test]
    fn with_an_autoscaler_the_service_sets_no_replicas() {
        let spec = ServiceSpec::parse(
            &json!({"name": "orders", "image": "ghcr.io/acme/orders:1.0.0",
            "port": 8080, "scaling": "hpa"}),
        )
        .unwrap();
        assert_eq!((spec.scaling, spec.replicas), (Scaling::Hpa, None));

        let both = ServiceSpec::parse(
            &json!({"name": "orders", "image": "ghcr.io/acme/orders:1.0.0",
            "port": 8080, "scaling": "hpa", "replicas": 3}),
        )
        .unwrap_err();
        assert_eq!(paths(both.clone()), ["spec.replicas"]);
        assert!(
            both.0[0].message.contains("HorizontalPodAutoscaler"),
            "{both}"
        );
        let unknown = ServiceSpec::parse(
            &json!({"name": "orders", "image": "ghcr.io/acme/orders:1.0.0",
            "port": 8080, "scaling": "keda"}),
        )
        .unwrap_err();
        assert_eq!(paths(unknown), ["spec.scaling"]);
    }

    #[test]
    fn a_spec_stored_before_scaling_existed_loads_as_fixed_and_hpa_round_trips() {
        let stored = json!({"name": "orders", "image": "ghcr.io/acme/orders:1.0.0", "port": 8080,
            "replicas": 3, "protocol": "http", "env": {}, "cpu": "250m", "memory": "256Mi"});
        let spec: ServiceSpec = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!((spec.scaling, spec.replicas), (Scaling::Fixed, Some(3)));
        assert_eq!(
            serde_json::to_value(&spec).unwrap(),
            stored,
            "fixed specs store as before"
        );

        let hpa = ServiceSpec::parse(
            &json!({"name": "orders", "image": "ghcr.io/acme/orders:1.0.0",
            "port": 8080, "scaling": "hpa"}),
        )
        .unwrap();
        let value = serde_json::to_value(&hpa).unwrap();
        assert_eq!(
            (value["scaling"].as_str(), value.get("replicas")),
            (Some("hpa"), None)
        );
        assert_eq!(
            ServiceSpec::parse(&value).unwrap(),
            hpa,
            "a stored spec submits again"
        );
    }

    #[test]
    fn every_bad_service_field_is_named() {
        let errors = ServiceSpec::parse(&json!({
            "name": "Orders", "image": "orders", "port": "80", "replicas": 99,
            "protocol": "udp", "env": {"1X": "a", "OK": 3, "NUL": "a\u{0}b"}, "cpu": "lots", "memory": "1GB", "colour": "red"
        }))
        .unwrap_err();
        assert_eq!(
            paths(errors),
            [
                "spec.colour",
                "spec.cpu",
                "spec.env.1X",
                "spec.env.NUL",
                "spec.env.OK",
                "spec.image",
                "spec.memory",
                "spec.name",
                "spec.port",
                "spec.protocol",
                "spec.replicas"
            ]
        );
        let missing = ServiceSpec::parse(&json!({})).unwrap_err();
        assert_eq!(paths(missing), ["spec.image", "spec.name", "spec.port"]);
        assert_eq!(
            paths(ServiceSpec::parse(&json!([1])).unwrap_err()),
            ["spec"]
        );
    }

    #[test]
    fn external_secrets_of_one_service_come_from_one_store() {
        let spec = json!({"name": "api", "image": "ghcr.io/a/api:1", "port": 8080, "env": {
            "A_TOKEN": {"external": {"store": "vault", "key": "a"}},
            "B_TOKEN": {"external": {"store": "aws", "key": "b"}}
        }});
        let errors = ServiceSpec::parse(&spec).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert!(errors.0[0].path.ends_with(".external.store"), "{errors}");
        assert!(errors.0[0].message.contains("one store"), "{errors}");
    }
}
