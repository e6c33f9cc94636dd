//! Golden files of every request kind and rule combination, and proof that each renders
//! manifests a Kubernetes API server (and cert-manager) would accept.

use std::{path::PathBuf, process::Command};

use domain::{
    ServiceName, TeamName,
    request::{
        NewRequest, Protocol, Transport,
        change::render_change,
        fields::Hostname,
        render::{self, Object, RenderContext, ServiceType, certificate_secret_name},
        rules::{CatalogSnapshot, NginxExposure, ServiceFacts},
    },
};
use serde_json::{Value, json};

fn team() -> TeamName {
    TeamName::parse("team", "payments").unwrap()
}

fn ctx() -> RenderContext {
    RenderContext {
        team: team(),
        namespace: "payments".into(),
        request_id: "42".into(),
    }
}

/// What the catalog holds when the golden requests are rendered: two services and two
/// certificates of team payments, applied earlier, and search's indexer on TCP 7000 of
/// ingress-nginx.
fn catalog() -> CatalogSnapshot {
    let service = |name: &str, port: u16, protocol: Protocol, service_type: ServiceType| {
        (
            team(),
            ServiceName::parse("name", name).unwrap(),
            ServiceFacts {
                port,
                protocol,
                service_type,
                cluster: "demo".into(),
            },
        )
    };
    let names = |names: &[&str]| -> Vec<Hostname> {
        names
            .iter()
            .map(|n| Hostname::parse("dns_names", n, true).unwrap())
            .collect()
    };
    CatalogSnapshot {
        services: vec![
            service("checkout-api", 8080, Protocol::Http, ServiceType::ClusterIp),
            service(
                "payment-gateway",
                9090,
                Protocol::Grpc,
                ServiceType::NodePort,
            ),
        ],
        allowed_domains: vec![(team(), vec!["payments.example.com".into()])],
        certificates: vec![
            (
                team(),
                "gateway".into(),
                names(&["gw.payments.example.com"]),
            ),
            (
                team(),
                "wildcard".into(),
                names(&["*.payments.example.com"]),
            ),
        ],
        nginx_exposures: vec![NginxExposure {
            cluster: "demo".into(),
            protocol: Transport::Tcp,
            external_port: 7000,
            team: TeamName::parse("team", "search").unwrap(),
            namespace: "search".into(),
            service: ServiceName::parse("name", "indexer").unwrap(),
            port: 7000,
        }],
        ..CatalogSnapshot::default()
    }
}

/// Every object a request of `kind` with `spec` renders, rules and all, as the portal
/// renders it for review (and the worker applies it).
fn change(kind: &str, spec: Value) -> Vec<Object> {
    let request = NewRequest::parse(
        &json!({"kind": kind, "team": "payments", "cluster": "demo", "spec": spec}),
    )
    .unwrap();
    render_change(&request, &ctx(), &catalog()).unwrap().objects
}

/// (golden name, rendered objects)
fn cases() -> Vec<(&'static str, Vec<Object>)> {
    vec![
        (
            "service_http_defaults",
            change(
                "service",
                json!({"name": "checkout-api", "image": "ghcr.io/acme/checkout-api:2.14.0", "port": 8080}),
            ),
        ),
        (
            "service_grpc_env_nodeport",
            change(
                "service",
                json!({"name": "payment-gateway", "image": "ghcr.io/acme/payment-gateway:5.2.1", "port": 9090,
                    "replicas": 3, "protocol": "grpc", "env": {"LOG_LEVEL": "info", "DB_HOST": "db.payments"},
                    "cpu": "500m", "memory": "1Gi"}),
            ),
        ),
        (
            "service_secret_references",
            change(
                "service",
                json!({"name": "payouts", "image": "ghcr.io/acme/payouts:2.3.5", "port": 8080,
                "env": {
                    "LOG_LEVEL": "info",
                    "DB_PASSWORD": {"secret": "payouts-db", "key": "password"},
                    "STRIPE_KEY": {"external": {"store": "vault", "key": "payments/stripe", "property": "secret_key"}},
                    "WEBHOOK_SECRET": {"external": {"store": "vault", "key": "payments/webhooks"}}
                }}),
            ),
        ),
        (
            "ingress_nginx_http",
            change(
                "ingress",
                json!({"host": "shop.payments.example.com", "service": "checkout-api", "port": 8080, "class": "nginx"}),
            ),
        ),
        (
            "ingress_nginx_grpc_cert_manager",
            change(
                "ingress",
                json!({"host": "gw.payments.example.com", "service": "payment-gateway", "port": 9090,
                    "class": "nginx", "protocol": "grpc", "tls": "cert_manager"}),
            ),
        ),
        (
            "ingress_nginx_wildcard_certificate",
            change(
                "ingress",
                json!({"host": "docs.payments.example.com", "service": "checkout-api", "port": 8080,
                    "class": "nginx", "tls": "cert_manager"}),
            ),
        ),
        (
            "ingress_alb_instance_acm",
            change(
                "ingress",
                json!({"host": "pay.payments.example.com", "service": "checkout-api", "port": 8080,
                    "class": "alb", "tls": "acm", "acm_certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c",
                    "alb": {"target_type": "instance"}}),
            ),
        ),
        (
            "ingress_alb_ip_grpc_internal",
            change(
                "ingress",
                json!({"host": "grpc.payments.example.com", "service": "payment-gateway", "port": 9090,
                    "class": "alb", "protocol": "grpc", "path": "/payments.v1", "alb": {"scheme": "internal", "target_type": "ip"}}),
            ),
        ),
        (
            "certificate_http01",
            change(
                "certificate",
                json!({"name": "shop-tls", "dns_names": ["shop.payments.example.com", "www.payments.example.com"], "issuer": "letsencrypt-prod"}),
            ),
        ),
        (
            "certificate_wildcard_dns01",
            change(
                "certificate",
                json!({"name": "wildcard", "dns_names": ["*.payments.example.com"], "issuer": "letsencrypt-dns01", "challenge": "dns01"}),
            ),
        ),
        (
            "exposure_nginx_tcp",
            change(
                "exposure",
                json!({"service": "checkout-api", "port": 8080, "protocol": "tcp", "external_port": 9000, "via": "nginx"}),
            ),
        ),
        (
            "exposure_nlb_udp_internet_facing",
            change(
                "exposure",
                json!({"service": "payment-gateway", "port": 9090, "protocol": "udp", "external_port": 5353,
                    "via": "nlb", "scheme": "internet-facing"}),
            ),
        ),
        (
            "exposure_nlb_tcp_internal",
            change(
                "exposure",
                json!({"service": "checkout-api", "port": 8080, "protocol": "tcp", "external_port": 5432, "via": "nlb"}),
            ),
        ),
    ]
}

#[test]
fn every_request_renders_its_namespace_first() {
    for (name, objects) in cases() {
        assert_eq!(objects[0].kind(), "Namespace", "{name}");
        assert_eq!(
            objects.iter().filter(|o| o.kind() == "Namespace").count(),
            1,
            "{name}"
        );
    }
}

/// An nginx Ingress must serve a secret that a Certificate writes — one in the same change
/// or one already applied — or the controller serves its fake default certificate.
#[test]
fn every_ingress_tls_secret_is_written_by_a_certificate() {
    let applied: Vec<String> = catalog()
        .certificates
        .iter()
        .map(|(_, name, _)| certificate_secret_name(name))
        .collect();
    let mut checked = 0;
    for (name, objects) in cases() {
        let values: Vec<Value> = objects.iter().map(|o| o.to_value().unwrap()).collect();
        let written: Vec<&str> = values
            .iter()
            .filter(|v| v["kind"] == "Certificate")
            .filter_map(|v| v["spec"]["secretName"].as_str())
            .collect();
        for ingress in values.iter().filter(|v| v["kind"] == "Ingress") {
            for tls in ingress["spec"]["tls"].as_array().into_iter().flatten() {
                let secret = tls["secretName"].as_str().unwrap_or_default();
                assert!(
                    written.contains(&secret) || applied.iter().any(|a| a == secret),
                    "{name}: the Ingress serves secret {secret:?}, which no Certificate writes"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2, "both cert-manager cases were checked");
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
    // The project's copy of the strict validator and the cert-manager CRDs.
    let tool = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testing/manifests/tools/validate-manifests");
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
