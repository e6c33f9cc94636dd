//! An ingress host: which controller serves it, to which service, with which TLS.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AlbScheme, AlbTargetType, IngressClass, Protocol, Tls};
use crate::{
    FieldError, FieldErrors, ServiceName,
    request::{
        fields::{Hostname, parse_ingress_path, parse_port},
        reader::{SpecReader, choice},
    },
};

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

/// `arn:aws:acm:<region>:<12-digit account>:certificate/<id>`.
fn parse_acm_arn(path: &str, value: &str) -> Result<String, FieldError> {
    // Regions (`eu-west-1`) and certificate ids (UUIDs) are lower-case letters, digits and
    // '-': anything else (spaces, quotes, control characters) is not an ARN AWS issued.
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && word(parts[1])
        && parts[2] == "acm"
        && word(parts[3])
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].strip_prefix("certificate/").is_some_and(word);
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
        let path_value = {
            let path = r.path("path");
            r.check(parse_ingress_path(&path, &path_value))
                .unwrap_or(path_value)
        };
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::spec::tests::paths;

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
        for arn in [
            "arn:aws:acm:eu-west-1:123456789012:certificate/a b",
            "arn:aws:acm:eu-west-1:123456789012:certificate/a\u{0}",
            "arn:aws:acm::123456789012:certificate/abc",
            "arn:aws:acm:eu-west-1:12345678901x:certificate/abc",
        ] {
            let mut acm = base("alb", "acm");
            acm["acm_certificate_arn"] = json!(arn);
            assert_eq!(
                paths(IngressSpec::parse(&acm).unwrap_err()),
                ["spec.acm_certificate_arn"],
                "{arn}"
            );
        }
        let mut acm = base("alb", "acm");
        acm["acm_certificate_arn"] =
            json!("arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/0f1e-22aa");
        assert!(IngressSpec::parse(&acm).is_ok());
        let mut bad_alb = base("alb", "none");
        bad_alb["alb"] = json!({"target_type": "pod", "extra": 1});
        assert_eq!(
            paths(IngressSpec::parse(&bad_alb).unwrap_err()),
            ["spec.alb.extra", "spec.alb.target_type"]
        );
    }
}
