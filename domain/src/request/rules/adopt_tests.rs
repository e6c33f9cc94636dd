use serde_json::{Value, json};

use super::*;
use crate::{
    ServiceName,
    drift::detect,
    request::{
        Protocol,
        change::{prepare, render_change},
        plan::{Change, LiveObjects},
        rules::{CatalogSnapshot, ServiceFacts},
        submission::NewRequest,
    },
};

fn team() -> TeamName {
    TeamName::parse("t", "payments").unwrap()
}

fn ctx(request_id: &str) -> RenderContext {
    RenderContext {
        team: team(),
        namespace: "payments".into(),
        request_id: request_id.into(),
    }
}

fn approved() -> ServiceSpec {
    ServiceSpec::parse(
        &json!({"name": "ledger", "image": "ghcr.io/acme/ledger:1.0.0",
        "port": 8080, "replicas": 2, "cpu": "250m", "memory": "256Mi",
        "env": {"LOG_LEVEL": "info", "DB_PASSWORD": {"secret": "db", "key": "password"}}}),
    )
    .unwrap()
}

/// The approved objects as request 7 applied them.
fn applied(kind: &str) -> Value {
    render_service(&ctx("7"), &approved(), ServiceType::ClusterIp)
        .into_iter()
        .find(|o| o.kind() == kind)
        .unwrap()
        .to_value()
        .unwrap()
}

/// The service's Deployment and Service, each changed live by `edit` (or gone).
fn catalog(edit: impl Fn(&str, &mut Value) -> bool) -> CatalogSnapshot {
    let objects = ["Deployment", "Service"]
        .into_iter()
        .map(|kind| {
            let applied = applied(kind);
            let mut live = applied.clone();
            let present = edit(kind, &mut live);
            DriftedObject {
                team: team(),
                service: ServiceName::parse("s", "ledger").unwrap(),
                kind: kind.into(),
                namespace: "payments".into(),
                name: "ledger".into(),
                drift: detect(&applied, present.then_some(&live)),
                applied,
            }
        })
        .collect();
    CatalogSnapshot {
        services: vec![(
            team(),
            ServiceName::parse("s", "ledger").unwrap(),
            ServiceFacts {
                port: 8080,
                protocol: Protocol::Http,
                service_type: ServiceType::ClusterIp,
                cluster: "demo".into(),
            },
        )],
        drifted_objects: objects,
        approved_services: vec![(team(), approved())],
        ..CatalogSnapshot::default()
    }
}

fn container(deployment: &mut Value) -> &mut Value {
    &mut deployment["spec"]["template"]["spec"]["containers"][0]
}

fn scaled_and_new_image(kind: &str, live: &mut Value) -> bool {
    if kind == "Deployment" {
        live["spec"]["replicas"] = json!(5);
        container(live)["image"] = json!("ghcr.io/acme/ledger:1.1.0");
    }
    true
}

fn adopt(catalog: &CatalogSnapshot) -> Result<Adoption, FieldErrors> {
    let spec = AdoptSpec::parse(&json!({"service": "ledger"})).unwrap();
    check_adopt(&team(), "demo", &spec, &ctx("9"), catalog)
}

fn messages(result: Result<Adoption, FieldErrors>) -> Vec<(String, String)> {
    result
        .unwrap_err()
        .0
        .into_iter()
        .map(|e| (e.path, e.message))
        .collect()
}

#[test]
fn the_live_replicas_and_image_become_the_spec() {
    let adoption = adopt(&catalog(scaled_and_new_image)).unwrap();
    let expected = ServiceSpec {
        replicas: Some(5),
        image: ImageRef::parse("i", "ghcr.io/acme/ledger:1.1.0").unwrap(),
        ..approved()
    };
    assert_eq!(adoption.spec, expected);
    assert_eq!(adoption.service_type, ServiceType::ClusterIp);
}

#[test]
fn cpu_memory_port_and_plain_env_are_adopted_too() {
    let adoption = adopt(&catalog(|kind, live| {
        if kind == "Deployment" {
            let c = container(live);
            c["resources"]["requests"]["cpu"] = json!("500m");
            c["resources"]["requests"]["memory"] = json!("512Mi");
            c["resources"]["limits"]["memory"] = json!("512Mi");
            c["env"][1]["value"] = json!("debug");
            c["ports"][0]["containerPort"] = json!(9090);
            c["readinessProbe"]["tcpSocket"]["port"] = json!(9090);
        } else {
            live["spec"]["ports"][0]["port"] = json!(9090);
        }
        true
    }))
    .unwrap();
    assert_eq!(
        (
            adoption.spec.cpu.as_str(),
            adoption.spec.memory.as_str(),
            adoption.spec.port
        ),
        ("500m", "512Mi", 9090)
    );
    assert_eq!(
        adoption.spec.env["LOG_LEVEL"],
        EnvValue::Plain("debug".into())
    );
    // The secret's reference stays as approved.
    assert_eq!(
        adoption.spec.env["DB_PASSWORD"],
        approved().env["DB_PASSWORD"]
    );
}

#[test]
fn a_label_or_annotation_cannot_be_adopted() {
    let errors = messages(adopt(&catalog(|kind, live| {
        if kind == "Deployment" {
            live["spec"]["replicas"] = json!(5);
            live["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("helm");
        }
        true
    })));
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (path, message) = &errors[0];
    assert_eq!(path, "spec.objects");
    assert!(
        message.contains("metadata.labels.app.kubernetes.io/managed-by")
            && message.contains("cannot be adopted")
            && message.contains("restore"),
        "{message}"
    );
}

#[test]
fn a_changed_secret_reference_cannot_be_adopted() {
    let errors = messages(adopt(&catalog(|kind, live| {
        if kind == "Deployment" {
            container(live)["env"][0]["valueFrom"]["secretKeyRef"]["key"] = json!("other");
        }
        true
    })));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .1
            .contains("env[name=DB_PASSWORD].valueFrom.secretKeyRef.key"),
        "{errors:?}"
    );
}

#[test]
fn a_field_the_spec_sets_from_the_same_value_must_have_drifted_alike() {
    // Only the limit changed: the spec's one memory would change the request too.
    let errors = messages(adopt(&catalog(|kind, live| {
        if kind == "Deployment" {
            container(live)["resources"]["limits"]["memory"] = json!("1Gi");
        }
        true
    })));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].1.contains("resources.requests.memory") && errors[0].1.contains("too"),
        "{errors:?}"
    );
}

#[test]
fn a_live_value_no_service_may_have_is_refused() {
    let errors = messages(adopt(&catalog(|kind, live| {
        if kind == "Deployment" {
            live["spec"]["replicas"] = json!(500);
        }
        true
    })));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].1.contains("spec.replicas") && errors[0].1.contains("500"),
        "{errors:?}"
    );
}

#[test]
fn a_missing_object_cannot_be_adopted() {
    let errors = messages(adopt(&catalog(|kind, _| kind != "Service")));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "spec.objects");
    assert!(
        errors[0].1.contains("Service ledger is missing")
            && errors[0].1.contains("restore it, or decommission"),
        "{errors:?}"
    );
}

#[test]
fn nothing_drifted_or_nothing_approved_is_refused_on_the_service() {
    let errors = messages(adopt(&catalog(|_, _| true)));
    assert_eq!(errors[0].0, "spec.service");
    assert!(errors[0].1.contains("nothing has drifted"), "{errors:?}");
    let mut unapproved = catalog(scaled_and_new_image);
    unapproved.approved_services.clear();
    let errors = messages(adopt(&unapproved));
    assert_eq!(errors[0].0, "spec.service");
    assert!(errors[0].1.contains("no approved spec"), "{errors:?}");
}

#[test]
fn only_the_teams_service_on_its_cluster() {
    let catalog = catalog(scaled_and_new_image);
    let spec = AdoptSpec::parse(&json!({"service": "ledger"})).unwrap();
    let search = TeamName::parse("t", "search").unwrap();
    let paths = |result: Result<Adoption, FieldErrors>| -> Vec<String> {
        result.unwrap_err().0.into_iter().map(|e| e.path).collect()
    };
    assert_eq!(
        paths(check_adopt(&search, "demo", &spec, &ctx("9"), &catalog)),
        ["spec.service"]
    );
    assert_eq!(
        paths(check_adopt(&team(), "prod", &spec, &ctx("9"), &catalog)),
        ["cluster"]
    );
}

/// The objects as last applied, for the plan.
struct Applied;

impl LiveObjects for Applied {
    fn live(&self, kind: &str, _namespace: Option<&str>, _name: &str) -> Option<Value> {
        matches!(kind, "Deployment" | "Service").then(|| applied(kind))
    }
}

#[test]
fn the_plan_shows_approved_to_live_and_its_hash_follows_the_live_values() {
    let request = NewRequest::parse(&json!({"kind": "adopt", "team": "payments",
        "cluster": "demo", "reason": "scaled by hand", "spec": {"service": "ledger"}}))
    .unwrap();
    assert_eq!(request.spec.title(), "adopt ledger");
    let prepared = |catalog: &CatalogSnapshot| {
        prepare(
            render_change(&request, &ctx("9"), catalog).unwrap(),
            &Applied,
        )
        .unwrap()
    };
    let change = prepared(&catalog(scaled_and_new_image));
    let deployment = change
        .plan
        .objects
        .iter()
        .find(|o| o.kind == "Deployment")
        .unwrap();
    let Change::Update { fields } = &deployment.change else {
        panic!("{:?}", deployment.change);
    };
    let shown: Vec<(&str, Option<&Value>, Option<&Value>)> = fields
        .iter()
        .map(|f| (f.path.as_str(), f.before.as_ref(), f.after.as_ref()))
        .collect();
    assert_eq!(
        shown,
        [
            ("spec.replicas", Some(&json!(2)), Some(&json!(5))),
            (
                "spec.template.spec.containers[0].image",
                Some(&json!("ghcr.io/acme/ledger:1.0.0")),
                Some(&json!("ghcr.io/acme/ledger:1.1.0"))
            ),
        ]
    );
    assert_eq!(
        change.plan.adopted.as_ref().map(|s| s.replicas),
        Some(Some(5))
    );
    assert!(
        change.manifests.contains("replicas: 5"),
        "{}",
        change.manifests
    );
    // Scaled again during review: another plan, so the approvals of this one void.
    let again = prepared(&catalog(|kind, live| {
        scaled_and_new_image(kind, live);
        if kind == "Deployment" {
            live["spec"]["replicas"] = json!(6);
        }
        true
    }));
    assert_ne!(again.plan.hash, change.plan.hash);
    assert_eq!(
        prepared(&catalog(scaled_and_new_image)).plan.hash,
        change.plan.hash
    );
}
