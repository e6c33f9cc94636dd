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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub name: ServiceName,
    pub image: ImageRef,
    pub port: u16,
    pub replicas: u32,
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
        let replicas = match r.optional_integer("replicas") {
            Some(v) => {
                let path = r.path("replicas");
                r.check(parse_replicas(&path, v))
            }
            None => Some(2),
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
        match (name, image, port, replicas, protocol, cpu, memory) {
            (
                Some(name),
                Some(image),
                Some(port),
                Some(replicas),
                Some(protocol),
                Some(cpu),
                Some(memory),
            ) if errors.is_empty() => Ok(Self {
                name,
                image,
                port,
                replicas,
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
            (2, Protocol::Http, "250m", "256Mi")
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
