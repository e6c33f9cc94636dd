use serde_json::json;

use super::*;

fn deployment(name: &str, containers: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                 "template": {"spec": {"containers": containers}}}})
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
        {
            let mut legacy = web();
            legacy["metadata"]["name"] = json!("legacy-web");
            legacy["spec"]["selector"] = json!({"matchLabels": {"app": "legacy-web"}});
            legacy
        },
        service("legacy-web"),
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
                "Deployment",
                "legacy-web",
                "its selector {\"matchLabels\":{\"app\":\"legacy-web\"}} is not Stargate's (app.kubernetes.io/name: legacy-web), and a Deployment's selector cannot change; request the service anew instead"
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

fn shop() -> RenderContext {
    RenderContext {
        team: crate::TeamName::parse("team", "shop").unwrap(),
        namespace: "shop".into(),
        request_id: "7".into(),
    }
}

fn import_of(namespace: &str) -> ImportSpec {
    ImportSpec {
        namespace: namespace.into(),
    }
}

#[test]
fn an_import_renders_each_entry_under_the_live_name_and_says_what_it_leaves() {
    let read = [
        web(),
        service("web"),
        ingress("shop-front", "shop.acme.dev", "web"),
        service("orphan"),
    ];
    let change = import_change(&shop(), &import_of("shop"), &read).unwrap();
    let keys: Vec<(String, String)> = change
        .objects
        .iter()
        .map(|o| {
            let (kind, _, name) = o.key();
            (kind, name)
        })
        .collect();
    let expected = [
        ("Namespace", "shop"),
        ("Deployment", "web"),
        ("Service", "web"),
        ("Ingress", "shop-front"),
    ];
    let found: Vec<(&str, &str)> = keys
        .iter()
        .filter(|(kind, _)| kind != "ExternalSecret")
        .map(|(k, n)| (k.as_str(), n.as_str()))
        .collect();
    assert_eq!(found, expected);
    assert_eq!(change.imported.as_ref().map(|m| m.entries.len()), Some(2));
    assert_eq!(change.read.len(), 4);
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.starts_with("Service orphan is left alone: no Deployment named orphan")),
        "{:?}",
        change.notes
    );
}

#[test]
fn an_import_takes_the_teams_own_namespace_and_something_to_map() {
    let error = import_change(&shop(), &import_of("other"), &[web(), service("web")]).unwrap_err();
    assert_eq!(error.0[0].path, "spec.namespace");
    assert!(error.0[0].message.contains("namespace shop"), "{error}");
    let error = import_change(&shop(), &import_of("shop"), &[service("orphan")]).unwrap_err();
    assert_eq!(error.0[0].path, "spec.namespace");
    assert!(error.0[0].message.contains("Service orphan"), "{error}");
    let error = import_change(&shop(), &import_of("shop"), &[]).unwrap_err();
    assert!(
        error.0[0].message.contains("holds no Deployment"),
        "{error}"
    );
}

struct NothingApplied;

impl crate::request::plan::LiveObjects for NothingApplied {
    fn live(&self, _: &str, _: Option<&str>, _: &str) -> Option<Value> {
        None
    }
}

#[test]
fn what_was_read_is_in_the_plan_hash() {
    let plan_of = |read: &[Value]| {
        let change = import_change(&shop(), &import_of("shop"), read).unwrap();
        crate::request::change::prepare(change, &NothingApplied)
            .unwrap()
            .plan
    };
    let before = plan_of(&[web(), service("web")]);
    let mut scaled = web();
    scaled["spec"]["replicas"] = json!(5);
    let after = plan_of(&[scaled, service("web")]);
    assert_ne!(before.hash, after.hash);
    assert!(before.imported.is_some());
}
