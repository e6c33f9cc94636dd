use serde_json::json;

use super::*;

fn deployment(name: &str, containers: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"replicas": 3, "template": {"spec": {"containers": containers}}}})
}

fn service(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}]}})
}

fn ingress(name: &str, host: &str, backend: &str) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": [
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": backend, "port": {"number": 80}}}}]}}]}})
}

fn web() -> Value {
    deployment(
        "web",
        json!([{"name": "web", "image": "ghcr.io/acme/web:2.0.0",
            "ports": [{"containerPort": 8080}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            "env": [{"name": "MODE", "value": "shop"},
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]}]),
    )
}

#[test]
fn a_deployment_its_service_and_an_ingress_become_a_service_and_a_host() {
    let map = map_namespace(&[
        web(),
        service("web"),
        ingress("web", "shop.acme.dev", "web"),
    ]);
    assert_eq!(map.unmapped, []);
    let [
        (kind, name, Imported::Service { spec }),
        (_, _, Imported::Host { spec: host }),
    ] = &map.entries[..]
    else {
        panic!("{map:#?}");
    };
    assert_eq!((kind.as_str(), name.as_str()), ("Deployment", "web"));
    assert_eq!(
        (
            spec.image.as_str(),
            spec.port,
            spec.replicas,
            spec.cpu.as_str(),
            spec.memory.as_str()
        ),
        ("ghcr.io/acme/web:2.0.0", 8080, Some(3), "100m", "128Mi")
    );
    assert_eq!(
        serde_json::to_value(&spec.env).unwrap(),
        json!({"MODE": "shop", "DB_PASSWORD": {"secret": "db", "key": "pw"}})
    );
    assert_eq!(
        (host.host.as_str(), host.service.as_str(), host.port),
        ("shop.acme.dev", "web", 8080)
    );
}

#[test]
fn a_cluster_issued_certificate_becomes_a_certificate() {
    let certificate = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "shop", "namespace": "shop"},
        "spec": {"dnsNames": ["*.shop.acme.dev"], "secretName": "shop-tls",
                 "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}}});
    let map = map_namespace(&[certificate]);
    let [(_, _, Imported::Certificate { spec })] = &map.entries[..] else {
        panic!("{map:#?}");
    };
    assert_eq!(spec.issuer, "letsencrypt");
    let namespaced = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "own"},
        "spec": {"dnsNames": ["a.acme.dev"], "issuerRef": {"name": "mine", "kind": "Issuer"}}});
    let map = map_namespace(&[namespaced]);
    assert_eq!(map.unmapped[0].why, "its issuer is not a ClusterIssuer");
}

#[test]
fn what_maps_to_nothing_says_why_and_is_left_alone() {
    let map = map_namespace(&[
        web(),
        service("web"),
        service("orphan"),
        deployment(
            "worker",
            json!([{"name": "a", "image": "ghcr.io/acme/a:1"},
                                    {"name": "b", "image": "ghcr.io/acme/b:1"}]),
        ),
        service("worker"),
        deployment(
            "batch",
            json!([{"name": "batch", "image": "ghcr.io/acme/batch:1", "ports": [{"containerPort": 80}]}]),
        ),
        ingress("elsewhere", "x.acme.dev", "legacy"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}),
    ]);
    let why: Vec<(&str, &str, &str)> = map
        .unmapped
        .iter()
        .map(|u| (u.kind.as_str(), u.name.as_str(), u.why.as_str()))
        .collect();
    assert_eq!(
        why,
        [
            (
                "Deployment",
                "worker",
                "it runs 2 containers; a service runs one"
            ),
            (
                "Deployment",
                "batch",
                "no Service named batch sends traffic to it"
            ),
            (
                "Service",
                "orphan",
                "no Deployment named orphan: a service is a Deployment and its Service"
            ),
            (
                "Ingress",
                "elsewhere",
                "it routes to \"legacy\", which is not a service being imported"
            ),
            (
                "ConfigMap",
                "settings",
                "the catalog holds services, hosts and certificates only"
            ),
        ]
    );
    assert_eq!(map.entries.len(), 1);
}

#[test]
fn an_image_stargate_cannot_render_is_unmapped_with_the_parsers_words() {
    let map = map_namespace(&[
        deployment(
            "web",
            json!([{"name": "web", "image": "web", "ports": [{"containerPort": 80}]}]),
        ),
        service("web"),
    ]);
    assert!(
        map.unmapped[0].why.contains("spec.image"),
        "{:?}",
        map.unmapped
    );
}
