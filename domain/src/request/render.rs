//! Rendering a validated request into Kubernetes objects (typed with `k8s-openapi`; the
//! cert-manager Certificate as our own struct) and into YAML. Output is deterministic:
//! objects in dependency order, maps sorted.

mod exposure;

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{
        apps::v1::{Deployment, DeploymentSpec},
        core::v1::{
            ConfigMap, Container, ContainerPort, EnvVar, EnvVarSource, Namespace, PodSpec,
            PodTemplateSpec, Probe, ResourceRequirements, SecretKeySelector, Service, ServicePort,
            ServiceSpec as K8sServiceSpec, TCPSocketAction,
        },
        networking::v1::{
            HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
            IngressServiceBackend, IngressSpec as K8sIngressSpec, IngressTLS, ServiceBackendPort,
        },
    },
    apimachinery::pkg::{
        api::resource::Quantity,
        apis::meta::v1::{LabelSelector, ObjectMeta},
        util::intstr::IntOrString,
    },
};
use serde::Serialize;

use super::object_names::{external_env_secret_name, ingress_name};
use super::{
    AlbScheme, AlbTargetType, CertificateSpec, EnvValue, ExternalRef, IngressClass, IngressSpec,
    Protocol, ServiceSpec, Tls,
};
use crate::{ServiceName, TeamName};
pub use exposure::{
    NGINX_NAMESPACE, nginx_config_map_name, render_nginx_config_map, render_nginx_exposure,
    render_nlb_exposure,
};

/// Who a request is for: every object carries these as labels.
#[derive(Debug, Clone)]
pub struct RenderContext {
    pub team: TeamName,
    pub namespace: String,
    pub request_id: String,
}

/// The type of the Service in front of a Deployment. An ALB with `instance` targets
/// reaches pods through node ports, so that Service must be `NodePort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum ServiceType {
    #[serde(rename = "ClusterIP")]
    ClusterIp,
    NodePort,
}

impl ServiceType {
    /// The Kubernetes spelling, as stored and rendered.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClusterIp => "ClusterIP",
            Self::NodePort => "NodePort",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::ClusterIp, Self::NodePort]
            .into_iter()
            .find(|t| t.as_str() == value)
    }
}

/// cert-manager's `Certificate` (cert-manager.io/v1), the fields we set.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertManagerCertificate {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: CertManagerCertificateSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertManagerCertificateSpec {
    pub secret_name: String,
    pub dns_names: Vec<String>,
    pub issuer_ref: IssuerRef,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssuerRef {
    pub name: String,
    pub kind: &'static str,
    pub group: &'static str,
}

/// external-secrets.io's `ExternalSecret` (v1), the fields we set: one per service with
/// external environment values, writing the Secret its container reads them from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecret {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: ExternalSecretSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    pub refresh_interval: &'static str,
    pub secret_store_ref: SecretStoreRef,
    pub target: ExternalSecretTarget,
    pub data: Vec<ExternalSecretData>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecretStoreRef {
    pub name: String,
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTarget {
    pub name: String,
    pub creation_policy: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretData {
    pub secret_key: String,
    pub remote_ref: RemoteRef,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemoteRef {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}

/// One rendered object.
#[derive(Debug, Clone, PartialEq)]
/// Boxed: the typed objects are large and of very different sizes.
pub enum Object {
    Namespace(Box<Namespace>),
    Deployment(Box<Deployment>),
    Service(Box<Service>),
    Ingress(Box<Ingress>),
    Certificate(Box<CertManagerCertificate>),
    ExternalSecret(Box<ExternalSecret>),
    ConfigMap(Box<ConfigMap>),
}

#[derive(Debug, thiserror::Error)]
#[error("rendering failed: {0}")]
pub struct RenderError(String);

impl RenderError {
    pub fn from_yaml(error: serde_norway::Error) -> Self {
        Self(error.to_string())
    }
}

impl Object {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Namespace(_) => "Namespace",
            Self::Deployment(_) => "Deployment",
            Self::Service(_) => "Service",
            Self::Ingress(_) => "Ingress",
            Self::Certificate(_) => "Certificate",
            Self::ExternalSecret(_) => "ExternalSecret",
            Self::ConfigMap(_) => "ConfigMap",
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Self::Namespace(o) => &o.metadata,
            Self::Deployment(o) => &o.metadata,
            Self::Service(o) => &o.metadata,
            Self::Ingress(o) => &o.metadata,
            Self::Certificate(o) => &o.metadata,
            Self::ExternalSecret(o) => &o.metadata,
            Self::ConfigMap(o) => &o.metadata,
        }
    }

    /// `(kind, namespace, name)`: what identifies the object in a cluster (the namespace is
    /// empty for cluster-wide objects).
    pub fn key(&self) -> (String, String, String) {
        let meta = self.metadata();
        (
            self.kind().to_owned(),
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        )
    }

    /// The object as JSON, as the Kubernetes API takes it.
    pub fn to_value(&self) -> Result<serde_json::Value, RenderError> {
        let value = match self {
            Self::Namespace(o) => serde_json::to_value(o),
            Self::Deployment(o) => serde_json::to_value(o),
            Self::Service(o) => serde_json::to_value(o),
            Self::Ingress(o) => serde_json::to_value(o),
            Self::Certificate(o) => serde_json::to_value(o),
            Self::ExternalSecret(o) => serde_json::to_value(o),
            Self::ConfigMap(o) => serde_json::to_value(o),
        };
        value.map_err(|e| RenderError(e.to_string()))
    }

    pub fn to_yaml(&self) -> Result<String, RenderError> {
        let result = match self {
            Self::Namespace(o) => serde_norway::to_string(o),
            Self::Deployment(o) => serde_norway::to_string(o),
            Self::Service(o) => serde_norway::to_string(o),
            Self::Ingress(o) => serde_norway::to_string(o),
            Self::Certificate(o) => serde_norway::to_string(o),
            Self::ExternalSecret(o) => serde_norway::to_string(o),
            Self::ConfigMap(o) => serde_norway::to_string(o),
        };
        result.map_err(|e| RenderError(e.to_string()))
    }
}

/// Objects as one multi-document YAML stream.
pub fn to_yaml(objects: &[Object]) -> Result<String, RenderError> {
    let documents = objects
        .iter()
        .map(Object::to_yaml)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(documents.iter().map(|d| format!("---\n{d}")).collect())
}

fn labels(ctx: &RenderContext, name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/managed-by".into(), "stargate".into()),
        ("app.kubernetes.io/name".into(), name.into()),
        ("stargate.dev/request".into(), ctx.request_id.clone()),
        ("stargate.dev/team".into(), ctx.team.to_string()),
    ])
}

fn metadata(ctx: &RenderContext, name: &str, annotations: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(ctx.namespace.clone()),
        labels: Some(labels(ctx, name)),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..ObjectMeta::default()
    }
}

/// The team's Namespace. Every request renders it first, so what a lead reviews is every
/// object the worker applies (applying it again changes nothing).
pub fn render_namespace(ctx: &RenderContext) -> Object {
    Object::Namespace(Box::new(Namespace {
        metadata: ObjectMeta {
            name: Some(ctx.namespace.clone()),
            labels: Some(BTreeMap::from([
                ("app.kubernetes.io/managed-by".into(), "stargate".into()),
                ("stargate.dev/team".into(), ctx.team.to_string()),
            ])),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }))
}

/// The labels a service's Deployment and Services select its pods by.
pub fn pod_selector(service: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("app.kubernetes.io/name".to_owned(), service.to_owned())])
}

/// Namespace, Deployment and Service for a service request.
pub fn render_service(
    ctx: &RenderContext,
    spec: &ServiceSpec,
    service_type: ServiceType,
) -> Vec<Object> {
    let name = spec.name.as_str();
    let selector = pod_selector(name);
    let port_name = port_name(spec.protocol);
    let resources = BTreeMap::from([
        ("cpu".to_owned(), Quantity(spec.cpu.clone())),
        ("memory".to_owned(), Quantity(spec.memory.clone())),
    ]);
    let container = Container {
        name: name.to_owned(),
        image: Some(spec.image.as_str().to_owned()),
        ports: Some(vec![ContainerPort {
            name: Some(port_name.to_owned()),
            container_port: i32::from(spec.port),
            ..ContainerPort::default()
        }]),
        env: (!spec.env.is_empty())
            .then(|| spec.env.iter().map(|(k, v)| env_var(name, k, v)).collect()),
        resources: Some(ResourceRequirements {
            requests: Some(resources.clone()),
            limits: Some(BTreeMap::from([(
                "memory".to_owned(),
                Quantity(spec.memory.clone()),
            )])),
            ..ResourceRequirements::default()
        }),
        readiness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::Int(i32::from(spec.port)),
                ..TCPSocketAction::default()
            }),
            period_seconds: Some(5),
            ..Probe::default()
        }),
        ..Container::default()
    };
    let deployment = Deployment {
        metadata: metadata(ctx, name, BTreeMap::new()),
        spec: Some(DeploymentSpec {
            // None with an autoscaler: a field Stargate does not apply is not its to keep.
            replicas: spec.replicas.map(|r| i32::try_from(r).unwrap_or(i32::MAX)),
            selector: LabelSelector {
                match_labels: Some(selector),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                // Not the request label: a new request id alone must not roll every pod.
                metadata: Some(ObjectMeta {
                    labels: Some(
                        labels(ctx, name)
                            .into_iter()
                            .filter(|(k, _)| k != "stargate.dev/request")
                            .collect(),
                    ),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };
    let service = service_object(ctx, name, spec.port, spec.protocol, service_type);
    let mut objects = vec![render_namespace(ctx)];
    // The Secret the container reads comes first, so the pods find it.
    objects.extend(external_secret(ctx, name, spec));
    objects.push(Object::Deployment(Box::new(deployment)));
    objects.push(Object::Service(Box::new(service)));
    objects
}

/// The container's variable `key`: a plain value, or a key of a Secret (one that exists,
/// or the one the service's ExternalSecret writes).
fn env_var(service: &str, key: &str, value: &EnvValue) -> EnvVar {
    let from_secret = |secret: String, secret_key: &str| EnvVarSource {
        secret_key_ref: Some(SecretKeySelector {
            name: secret,
            key: secret_key.to_owned(),
            ..SecretKeySelector::default()
        }),
        ..EnvVarSource::default()
    };
    let (value, value_from) = match value {
        EnvValue::Plain(plain) => (Some(plain.clone()), None),
        EnvValue::Secret { secret, key } => (None, Some(from_secret(secret.clone(), key))),
        EnvValue::External { .. } => (
            None,
            Some(from_secret(external_env_secret_name(service), key)),
        ),
    };
    EnvVar {
        name: key.to_owned(),
        value,
        value_from,
    }
}

/// The service's ExternalSecret, when any variable comes from an external store: one
/// store per service (the parser refuses a second).
fn external_secret(ctx: &RenderContext, service: &str, spec: &ServiceSpec) -> Option<Object> {
    let external: Vec<(&String, &ExternalRef)> = spec
        .env
        .iter()
        .filter_map(|(key, value)| match value {
            EnvValue::External { external } => Some((key, external)),
            _ => None,
        })
        .collect();
    let store = external.first()?.1.store.clone();
    let secret = external_env_secret_name(service);
    Some(Object::ExternalSecret(Box::new(ExternalSecret {
        api_version: "external-secrets.io/v1",
        kind: "ExternalSecret",
        metadata: metadata(ctx, &secret, BTreeMap::new()),
        spec: ExternalSecretSpec {
            refresh_interval: "1h",
            secret_store_ref: SecretStoreRef {
                name: store,
                kind: "ClusterSecretStore",
            },
            target: ExternalSecretTarget {
                name: secret,
                creation_policy: "Owner",
            },
            data: external
                .into_iter()
                .map(|(key, external)| ExternalSecretData {
                    secret_key: key.clone(),
                    remote_ref: RemoteRef {
                        key: external.key.clone(),
                        property: external.property.clone(),
                    },
                })
                .collect(),
        },
    })))
}

fn port_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Grpc => "grpc",
        Protocol::Http => "http",
        Protocol::Tcp => "tcp",
    }
}

fn service_object(
    ctx: &RenderContext,
    name: &str,
    port: u16,
    protocol: Protocol,
    service_type: ServiceType,
) -> Service {
    let port_name = port_name(protocol);
    Service {
        metadata: metadata(ctx, name, BTreeMap::new()),
        spec: Some(K8sServiceSpec {
            type_: Some(service_type.as_str().to_owned()),
            selector: Some(pod_selector(name)),
            ports: Some(vec![ServicePort {
                name: Some(port_name.to_owned()),
                port: i32::from(port),
                target_port: Some(IntOrString::String(port_name.to_owned())),
                app_protocol: (protocol == Protocol::Grpc).then(|| "grpc".to_owned()),
                ..ServicePort::default()
            }]),
            ..K8sServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The Service of an existing service, re-rendered with another type (an ingress that
/// needs NodePort changes it).
pub fn render_backend_service(
    ctx: &RenderContext,
    name: &ServiceName,
    port: u16,
    protocol: Protocol,
    service_type: ServiceType,
) -> Object {
    Object::Service(Box::new(service_object(
        ctx,
        name.as_str(),
        port,
        protocol,
        service_type,
    )))
}

/// The secret cert-manager writes the Certificate named `certificate` into.
pub fn certificate_secret_name(certificate: &str) -> String {
    format!("{certificate}-tls")
}

/// The Ingress for an ingress request, with the annotations its controller needs. With
/// cert-manager TLS it serves the secret of `tls_certificate`, the Certificate that covers
/// its host (the rules find it).
pub fn render_ingress(
    ctx: &RenderContext,
    spec: &IngressSpec,
    tls_certificate: Option<&str>,
) -> Object {
    let host = spec.host.as_str();
    let name = ingress_name(spec.service.as_str(), host);
    let mut annotations = BTreeMap::new();
    let (class, tls) = match spec.class {
        IngressClass::Nginx => {
            if spec.protocol == Protocol::Grpc {
                annotations.insert(
                    "nginx.ingress.kubernetes.io/backend-protocol".into(),
                    "GRPC".into(),
                );
            }
            let tls = tls_certificate
                .filter(|_| spec.tls == Tls::CertManager)
                .map(|certificate| IngressTLS {
                    hosts: Some(vec![host.to_owned()]),
                    secret_name: Some(certificate_secret_name(certificate)),
                });
            ("nginx", tls)
        }
        IngressClass::Alb => {
            let alb = spec.alb.unwrap_or(super::AlbSettings {
                scheme: AlbScheme::InternetFacing,
                target_type: AlbTargetType::Ip,
            });
            annotations.insert(
                "alb.ingress.kubernetes.io/scheme".into(),
                match alb.scheme {
                    AlbScheme::InternetFacing => "internet-facing",
                    AlbScheme::Internal => "internal",
                }
                .into(),
            );
            annotations.insert(
                "alb.ingress.kubernetes.io/target-type".into(),
                match alb.target_type {
                    AlbTargetType::Ip => "ip",
                    AlbTargetType::Instance => "instance",
                }
                .into(),
            );
            if spec.protocol == Protocol::Grpc {
                annotations.insert(
                    "alb.ingress.kubernetes.io/backend-protocol-version".into(),
                    "GRPC".into(),
                );
            }
            if let Some(arn) = &spec.acm_certificate_arn {
                annotations.insert(
                    "alb.ingress.kubernetes.io/certificate-arn".into(),
                    arn.clone(),
                );
                annotations.insert(
                    "alb.ingress.kubernetes.io/listen-ports".into(),
                    r#"[{"HTTPS":443}]"#.into(),
                );
            }
            ("alb", None)
        }
    };
    let ingress = Ingress {
        metadata: metadata(ctx, &name, annotations),
        spec: Some(K8sIngressSpec {
            ingress_class_name: Some(class.to_owned()),
            rules: Some(vec![IngressRule {
                host: Some(host.to_owned()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some(spec.path.clone()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: spec.service.to_string(),
                                port: Some(ServiceBackendPort {
                                    number: Some(i32::from(spec.port)),
                                    ..ServiceBackendPort::default()
                                }),
                            }),
                            ..IngressBackend::default()
                        },
                    }],
                }),
            }]),
            tls: tls.map(|t| vec![t]),
            ..K8sIngressSpec::default()
        }),
        ..Ingress::default()
    };
    Object::Ingress(Box::new(ingress))
}

/// The cert-manager Certificate for a certificate request.
pub fn render_certificate(ctx: &RenderContext, spec: &CertificateSpec) -> Object {
    let name = spec.name.as_str();
    Object::Certificate(Box::new(CertManagerCertificate {
        api_version: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: metadata(ctx, name, BTreeMap::new()),
        spec: CertManagerCertificateSpec {
            secret_name: certificate_secret_name(name),
            dns_names: spec
                .dns_names
                .iter()
                .map(|d| d.as_str().to_owned())
                .collect(),
            issuer_ref: IssuerRef {
                name: spec.issuer.clone(),
                kind: "ClusterIssuer",
                group: "cert-manager.io",
            },
        },
    }))
}
