//! Golden files of every request kind and rule combination, and proof that each renders
//! manifests a Kubernetes API server (and cert-manager) would accept.

use std::{path::PathBuf, process::Command};

use domain::{
    TeamName,
    request::{
        CertificateSpec, IngressSpec, ServiceSpec,
        render::{self, Object, RenderContext, ServiceType},
    },
};
use serde_json::json;

fn ctx() -> RenderContext {
    RenderContext {
        team: TeamName::parse("team", "payments").unwrap(),
        namespace: "payments".into(),
        request_id: "42".into(),
    }
}

/// (golden name, rendered objects)
fn cases() -> Vec<(&'static str, Vec<Object>)> {
    let service = |spec: serde_json::Value| ServiceSpec::parse(&spec).unwrap();
    let ingress = |spec: serde_json::Value| IngressSpec::parse(&spec).unwrap();
    let certificate = |spec: serde_json::Value| CertificateSpec::parse(&spec).unwrap();
    vec![
        (
            "service_http_defaults",
            render::render_service(
                &ctx(),
                &service(
                    json!({"name": "checkout-api", "image": "ghcr.io/acme/checkout-api:2.14.0", "port": 8080}),
                ),
                ServiceType::ClusterIp,
            ),
        ),
        (
            "service_grpc_env_nodeport",
            render::render_service(
                &ctx(),
                &service(
                    json!({"name": "payment-gateway", "image": "ghcr.io/acme/payment-gateway:5.2.1", "port": 9090,
                    "replicas": 3, "protocol": "grpc", "env": {"LOG_LEVEL": "info", "DB_HOST": "db.payments"}, "cpu": "500m", "memory": "1Gi"}),
                ),
                ServiceType::NodePort,
            ),
        ),
        (
            "ingress_nginx_http",
            render::render_ingress(
                &ctx(),
                &ingress(
                    json!({"host": "shop.payments.example.com", "service": "checkout-api", "port": 8080, "class": "nginx"}),
                ),
            ),
        ),
        (
            "ingress_nginx_grpc_cert_manager",
            render::render_ingress(
                &ctx(),
                &ingress(
                    json!({"host": "gw.payments.example.com", "service": "payment-gateway", "port": 9090,
                "class": "nginx", "protocol": "grpc", "tls": "cert_manager"}),
                ),
            ),
        ),
        (
            "ingress_alb_instance_acm",
            render::render_ingress(
                &ctx(),
                &ingress(
                    json!({"host": "pay.payments.example.com", "service": "checkout-api", "port": 8080,
                "class": "alb", "tls": "acm", "acm_certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c",
                "alb": {"target_type": "instance"}}),
                ),
            ),
        ),
        (
            "ingress_alb_ip_grpc_internal",
            render::render_ingress(
                &ctx(),
                &ingress(
                    json!({"host": "grpc.payments.example.com", "service": "payment-gateway", "port": 9090,
                "class": "alb", "protocol": "grpc", "path": "/payments.v1", "alb": {"scheme": "internal", "target_type": "ip"}}),
                ),
            ),
        ),
        (
            "certificate_http01",
            render::render_certificate(
                &ctx(),
                &certificate(
                    json!({"name": "shop-tls", "dns_names": ["shop.payments.example.com", "www.payments.example.com"], "issuer": "letsencrypt-prod"}),
                ),
            ),
        ),
        (
            "certificate_wildcard_dns01",
            render::render_certificate(
                &ctx(),
                &certificate(
                    json!({"name": "wildcard", "dns_names": ["*.payments.example.com"], "issuer": "letsencrypt-dns01", "challenge": "dns01"}),
                ),
            ),
        ),
    ]
}

#[test]
fn golden_manifests() {
    for (name, objects) in cases() {
        let yaml = render::to_yaml(&objects).unwrap();
        insta::assert_snapshot!(name, yaml);
        assert_eq!(
            render::to_yaml(&objects).unwrap(),
            yaml,
            "{name}: deterministic"
        );
    }
}

#[test]
fn every_golden_manifest_passes_strict_validation() {
    let dir = tempfile::tempdir().unwrap();
    for (name, objects) in cases() {
        std::fs::write(
            dir.path().join(format!("{name}.yaml")),
            render::to_yaml(&objects).unwrap(),
        )
        .unwrap();
    }
    // The shared tools sit beside the project's folder; STARGATE_SHARED points elsewhere.
    let shared = std::env::var_os("STARGATE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let tool = shared.join("tools/validate-manifests");
    let output = Command::new("bash")
        .arg(&tool)
        .arg(dir.path())
        .output()
        .expect("run validate-manifests");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "validate-manifests refused:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("0 invalid"), "{stdout}");
}
