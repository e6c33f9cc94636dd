//! The three request kinds and their validated specs. Rules that need no catalog live
//! here; rules against the catalog (host held by someone else, allowed domains, the
//! target service) come with the cross-object checks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    fields::{
        Hostname, ImageRef, parse_cpu, parse_env_name, parse_memory, parse_port, parse_replicas,
    },
    reader::{SpecReader, choice},
};
use crate::{FieldError, FieldErrors, ServiceName, names::check_dns_label};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Http,
    Grpc,
    Tcp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IngressClass {
    Nginx,
    Alb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tls {
    None,
    CertManager,
    Acm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlbScheme {
    InternetFacing,
    Internal,
}

/// How an ALB reaches pods: `ip` (pod IPs, any Service type) or `instance` (node ports,
/// so the Service must be NodePort — the trap from the field report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlbTargetType {
    Ip,
    Instance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Challenge {
    Http01,
    Dns01,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub name: ServiceName,
    pub image: ImageRef,
    pub port: u16,
    pub replicas: u32,
    pub protocol: Protocol,
    pub env: BTreeMap<String, String>,
    pub cpu: String,
    pub memory: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbSettings {
    pub scheme: AlbScheme,
    pub target_type: AlbTargetType,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressSpec {
    pub host: Hostname,
    pub service: ServiceName,
    pub port: u16,
    pub path: String,
    pub class: IngressClass,
    pub protocol: Protocol,
    pub tls: Tls,
    pub acm_certificate_arn: Option<String>,
    /// Present exactly when `class` is `alb`.
    pub alb: Option<AlbSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSpec {
    pub name: ServiceName,
    pub dns_names: Vec<Hostname>,
    pub issuer: String,
    pub challenge: Challenge,
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
        for (path, key, value) in r.string_map("env") {
            if let Some(key) = r.check(parse_env_name(&path, key)) {
                env.insert(key, value.to_owned());
            }
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

/// `arn:aws:acm:<region>:<12-digit account>:certificate/<id>`.
fn parse_acm_arn(path: &str, value: &str) -> Result<String, FieldError> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "acm"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5]
            .strip_prefix("certificate/")
            .is_some_and(|id| !id.is_empty());
    if valid {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            path,
            format!(
                "must be an ACM certificate ARN like arn:aws:acm:eu-west-1:123456789012:certificate/… (got {value:?})"
            ),
        ))
    }
}

impl IngressSpec {
    pub fn parse(spec: &Value) -> Result<Self, FieldErrors> {
        let mut r = SpecReader::new("spec", spec)?;
        let host = r.string("host").and_then(|v| {
            let path = r.path("host");
            r.check(Hostname::parse(&path, v, false))
        });
        let service = r.string("service").and_then(|v| {
            let path = r.path("service");
            r.check(ServiceName::parse(&path, v))
        });
        let port = r.integer("port").and_then(|v| {
            let path = r.path("port");
            r.check(parse_port(&path, v))
        });
        let path_value = r.optional_string("path").unwrap_or("/").to_owned();
        if !path_value.starts_with('/')
            || path_value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            let path = r.path("path");
            r.check::<()>(Err(FieldError::new(
                path,
                "must start with '/' and hold no spaces",
            )));
        }
        let class = r.string("class").and_then(|v| {
            let path = r.path("class");
            r.check(choice(
                &path,
                v,
                &[("nginx", IngressClass::Nginx), ("alb", IngressClass::Alb)],
            ))
        });
        let protocol = match r.optional_string("protocol") {
            Some(v) => {
                let path = r.path("protocol");
                r.check(choice(
                    &path,
                    v,
                    &[("http", Protocol::Http), ("grpc", Protocol::Grpc)],
                ))
            }
            None => Some(Protocol::Http),
        };
        let tls = match r.optional_string("tls") {
            Some(v) => {
                let path = r.path("tls");
                r.check(choice(
                    &path,
                    v,
                    &[
                        ("none", Tls::None),
                        ("cert_manager", Tls::CertManager),
                        ("acm", Tls::Acm),
                    ],
                ))
            }
            None => Some(Tls::None),
        };
        let arn = r.optional_string("acm_certificate_arn").and_then(|v| {
            let path = r.path("acm_certificate_arn");
            r.check(parse_acm_arn(&path, v))
        });
        let alb_value = r.object("alb");
        let alb = match (class, alb_value) {
            (Some(IngressClass::Alb), value) => {
                let empty = Value::Object(Default::default());
                let value = value.unwrap_or(&empty);
                let mut a = SpecReader::new("spec.alb", value)?;
                let scheme = match a.optional_string("scheme") {
                    Some(v) => a.check(choice(
                        "spec.alb.scheme",
                        v,
                        &[
                            ("internet-facing", AlbScheme::InternetFacing),
                            ("internal", AlbScheme::Internal),
                        ],
                    )),
                    None => Some(AlbScheme::InternetFacing),
                };
                let target_type = match a.optional_string("target_type") {
                    Some(v) => a.check(choice(
                        "spec.alb.target_type",
                        v,
                        &[
                            ("ip", AlbTargetType::Ip),
                            ("instance", AlbTargetType::Instance),
                        ],
                    )),
                    None => Some(AlbTargetType::Ip),
                };
                for e in a.finish().0 {
                    r.errors.push(e);
                }
                scheme
                    .zip(target_type)
                    .map(|(scheme, target_type)| AlbSettings {
                        scheme,
                        target_type,
                    })
            }
            (_, Some(_)) => {
                r.check::<()>(Err(FieldError::new(
                    "spec.alb",
                    "applies only to class \"alb\"",
                )));
                None
            }
            (_, None) => None,
        };
        // TLS follows the controller: an ALB cannot use a Kubernetes secret.
        match (class, tls) {
            (Some(IngressClass::Alb), Some(Tls::CertManager)) => {
                r.check::<()>(Err(FieldError::new("spec.tls", "an ALB cannot serve a cert-manager secret; use \"acm\" with an ACM certificate ARN")));
            }
            (Some(IngressClass::Nginx), Some(Tls::Acm)) => {
                r.check::<()>(Err(FieldError::new(
                    "spec.tls",
                    "ACM certificates work only with class \"alb\"; use \"cert_manager\" on nginx",
                )));
            }
            (_, Some(Tls::Acm))
                if arn.is_none()
                    && !r
                        .errors
                        .0
                        .iter()
                        .any(|e| e.path == "spec.acm_certificate_arn") =>
            {
                r.check::<()>(Err(FieldError::new(
                    "spec.acm_certificate_arn",
                    "is required with tls \"acm\"",
                )));
            }
            (_, Some(Tls::None | Tls::CertManager)) if arn.is_some() => {
                r.check::<()>(Err(FieldError::new(
                    "spec.acm_certificate_arn",
                    "applies only with tls \"acm\"",
                )));
            }
            _ => {}
        }
        let errors = r.finish();
        match (host, service, port, class, protocol, tls) {
            (Some(host), Some(service), Some(port), Some(class), Some(protocol), Some(tls))
                if errors.is_empty() =>
            {
                Ok(Self {
                    host,
                    service,
                    port,
                    path: path_value,
                    class,
                    protocol,
                    tls,
                    acm_certificate_arn: arn,
                    alb,
                })
            }
            _ => Err(errors),
        }
    }
}

impl CertificateSpec {
    pub fn parse(spec: &Value) -> Result<Self, FieldErrors> {
        let mut r = SpecReader::new("spec", spec)?;
        let name = r.string("name").and_then(|v| {
            let path = r.path("name");
            r.check(ServiceName::parse(&path, v))
        });
        let mut dns_names = Vec::new();
        let listed = r.strings("dns_names");
        if listed.is_empty()
            && !r
                .errors
                .0
                .iter()
                .any(|e| e.path.starts_with("spec.dns_names"))
        {
            r.check::<()>(Err(FieldError::new(
                "spec.dns_names",
                "name at least one host",
            )));
        }
        for (path, value) in listed {
            if let Some(host) = r.check(Hostname::parse(&path, value, true)) {
                if dns_names.contains(&host) {
                    r.check::<()>(Err(FieldError::new(path, "is listed twice")));
                } else {
                    dns_names.push(host);
                }
            }
        }
        let issuer = r.string("issuer").and_then(|v| {
            let path = r.path("issuer");
            r.check(
                check_dns_label(v)
                    .map(|()| v.to_owned())
                    .map_err(|m| FieldError::new(path, m)),
            )
        });
        let challenge = match r.optional_string("challenge") {
            Some(v) => {
                let path = r.path("challenge");
                r.check(choice(
                    &path,
                    v,
                    &[("http01", Challenge::Http01), ("dns01", Challenge::Dns01)],
                ))
            }
            None => Some(Challenge::Http01),
        };
        // Let's Encrypt issues wildcards only through DNS-01.
        if challenge == Some(Challenge::Http01) && dns_names.iter().any(Hostname::is_wildcard) {
            r.check::<()>(Err(FieldError::new(
                "spec.challenge",
                "wildcard names need \"dns01\"",
            )));
        }
        let errors = r.finish();
        match (name, issuer, challenge) {
            (Some(name), Some(issuer), Some(challenge)) if errors.is_empty() => Ok(Self {
                name,
                dns_names,
                issuer,
                challenge,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The paths at fault, sorted (type errors are found before value errors).
    fn paths(errors: FieldErrors) -> Vec<String> {
        let mut paths: Vec<String> = errors.0.into_iter().map(|e| e.path).collect();
        paths.sort();
        paths
    }

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
            "protocol": "udp", "env": {"1X": "a", "OK": 3}, "cpu": "lots", "memory": "1GB", "colour": "red"
        }))
        .unwrap_err();
        assert_eq!(
            paths(errors),
            [
                "spec.colour",
                "spec.cpu",
                "spec.env.1X",
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
    fn an_alb_ingress_defaults_to_ip_targets() {
        let spec = IngressSpec::parse(&json!({
            "host": "shop.payments.example.com", "service": "shop", "port": 8080, "class": "alb",
            "tls": "acm", "acm_certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
        }))
        .unwrap();
        assert_eq!(
            spec.alb,
            Some(AlbSettings {
                scheme: AlbScheme::InternetFacing,
                target_type: AlbTargetType::Ip
            })
        );
        assert_eq!(spec.path, "/");
    }

    #[test]
    fn tls_must_match_the_controller() {
        let base = |class: &str, tls: &str| json!({"host": "a.example.com", "service": "a", "port": 80, "class": class, "tls": tls});
        assert_eq!(
            paths(IngressSpec::parse(&base("alb", "cert_manager")).unwrap_err()),
            ["spec.tls"]
        );
        assert_eq!(
            paths(IngressSpec::parse(&base("nginx", "acm")).unwrap_err()),
            ["spec.tls"]
        );
        assert_eq!(
            paths(IngressSpec::parse(&base("alb", "acm")).unwrap_err()),
            ["spec.acm_certificate_arn"]
        );
        assert!(IngressSpec::parse(&base("nginx", "cert_manager")).is_ok());
        let mut with_alb = base("nginx", "none");
        with_alb["alb"] = json!({"target_type": "instance"});
        assert_eq!(
            paths(IngressSpec::parse(&with_alb).unwrap_err()),
            ["spec.alb"]
        );
        let mut bad_alb = base("alb", "none");
        bad_alb["alb"] = json!({"target_type": "pod", "extra": 1});
        assert_eq!(
            paths(IngressSpec::parse(&bad_alb).unwrap_err()),
            ["spec.alb.extra", "spec.alb.target_type"]
        );
    }

    #[test]
    fn wildcard_certificates_need_dns01() {
        let spec = json!({"name": "wild", "dns_names": ["*.search.example.com"], "issuer": "letsencrypt-prod"});
        assert_eq!(
            paths(CertificateSpec::parse(&spec).unwrap_err()),
            ["spec.challenge"]
        );
        let mut dns = spec.clone();
        dns["challenge"] = json!("dns01");
        assert!(CertificateSpec::parse(&dns).is_ok());
        let twice = json!({"name": "c", "dns_names": ["a.example.com", "a.example.com", 3], "issuer": "le"});
        assert_eq!(
            paths(CertificateSpec::parse(&twice).unwrap_err()),
            ["spec.dns_names[1]", "spec.dns_names[2]"]
        );
        let none = json!({"name": "c", "dns_names": [], "issuer": "le"});
        assert_eq!(
            paths(CertificateSpec::parse(&none).unwrap_err()),
            ["spec.dns_names"]
        );
    }
}
