use serde_json::{Value, json};

use super::*;

/// A Deployment as Stargate applies it.
fn applied() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "payments",
                     "labels": {"app": "api", "stargate.dev/request": "7"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "api"}},
            "template": {
                "metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{
                    "name": "web", "image": "ghcr.io/a/api:1",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "resources": {"limits": {"cpu": "1000m", "memory": "256Mi"}},
                }]}
            }
        }
    })
}

fn stargate_fields() -> Value {
    json!({"f:metadata": {"f:labels": {"f:app": {}, "f:stargate.dev/request": {}}},
           "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
               "f:metadata": {"f:labels": {"f:app": {}}},
               "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {
                   ".": {}, "f:image": {}, "f:name": {}, "f:ports": {}, "f:resources": {}}}}}}})
}

fn entry(manager: &str, time: &str, fields: Value) -> Value {
    json!({"manager": manager, "operation": "Apply", "apiVersion": "apps/v1",
           "time": time, "fieldsType": "FieldsV1", "fieldsV1": fields})
}

/// The object as the API server holds it right after Stargate's apply: defaults, status,
/// server metadata, no `apiVersion`/`kind` (as in a list's items), quantities normalised.
fn live() -> Value {
    let mut live = applied();
    let object = live.as_object_mut().expect("an object");
    object.remove("apiVersion");
    object.remove("kind");
    live["metadata"]["uid"] = json!("0b5c");
    live["metadata"]["resourceVersion"] = json!("12");
    live["metadata"]["managedFields"] = json!([entry(
        FIELD_MANAGER,
        "2026-12-01T10:00:00Z",
        stargate_fields()
    )]);
    live["spec"]["strategy"] = json!({"type": "RollingUpdate"});
    let container = &mut live["spec"]["template"]["spec"]["containers"][0];
    container["imagePullPolicy"] = json!("IfNotPresent");
    container["terminationMessagePath"] = json!("/dev/termination-log");
    container["ports"][0]["protocol"] = json!("TCP");
    container["resources"]["limits"]["cpu"] = json!("1");
    live["status"] = json!({"replicas": 2, "readyReplicas": 2});
    live
}

#[test]
fn an_object_as_applied_with_what_the_server_adds_is_in_sync() {
    assert_eq!(detect(&applied(), Some(&live())), ObjectDrift::InSync);
    assert_eq!(detect(&applied(), Some(&applied())), ObjectDrift::InSync);
}

#[test]
fn a_deleted_object_is_missing() {
    assert_eq!(detect(&applied(), None), ObjectDrift::Missing);
    assert_eq!(ObjectDrift::Missing.state(), DriftState::Missing);
}

#[test]
fn replicas_forced_by_another_manager_drift_with_who_and_since() {
    let mut live = live();
    live["spec"]["replicas"] = json!(5);
    live["metadata"]["managedFields"] = json!([
        entry(FIELD_MANAGER, "2026-12-01T10:00:00Z", stargate_fields()),
        entry(
            "kubectl",
            "2026-12-02T09:30:00Z",
            json!({"f:spec": {"f:replicas": {}}})
        ),
    ]);
    let drift = detect(&applied(), Some(&live));
    assert_eq!(
        drift,
        ObjectDrift::Drifted {
            fields: vec![DriftedField {
                path: "spec.replicas".into(),
                approved: json!(2),
                live: Some(json!(5)),
                changed_by: Some("kubectl".into()),
                since: Some("2026-12-02T09:30:00Z".into()),
            }]
        }
    );
    assert_eq!(drift.state(), DriftState::Drifted);
    assert_eq!(drift.fields().len(), 1);
}

#[test]
fn a_container_image_changed_by_name_names_the_container_and_its_owner() {
    let mut live = live();
    live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("ghcr.io/a/api:hotfix");
    live["metadata"]["managedFields"]
        .as_array_mut()
        .expect("a list")
        .push(entry(
            "kubectl-set",
            "2026-12-02T11:00:00Z",
            json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"web\"}": {"f:image": {}}}}}}}),
        ));
    let drift = detect(&applied(), Some(&live));
    let fields = drift.fields();
    assert_eq!(fields.len(), 1, "{drift:?}");
    assert_eq!(
        fields[0].path,
        "spec.template.spec.containers[name=web].image"
    );
    assert_eq!(fields[0].live, Some(json!("ghcr.io/a/api:hotfix")));
    assert_eq!(fields[0].changed_by.as_deref(), Some("kubectl-set"));
}

#[test]
fn a_field_only_stargate_owns_that_changed_has_no_known_author() {
    let mut live = live();
    live["spec"]["replicas"] = json!(3);
    let drift = detect(&applied(), Some(&live));
    assert_eq!(drift.fields()[0].changed_by, None);
    assert_eq!(drift.fields()[0].since, None);
}

#[test]
fn a_removed_field_drifts_with_no_live_value() {
    let mut live = live();
    live["metadata"]["labels"]
        .as_object_mut()
        .expect("labels")
        .remove("app");
    let drift = detect(&applied(), Some(&live));
    assert_eq!(drift.fields()[0].path, "metadata.labels.app");
    assert_eq!(drift.fields()[0].live, None);
    assert_eq!(drift.fields()[0].approved, json!("api"));
}

#[test]
fn annotations_a_controller_adds_are_not_drift() {
    let mut live = live();
    live["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "3"});
    live["metadata"]["managedFields"]
        .as_array_mut()
        .expect("a list")
        .push(entry(
            "kube-controller-manager",
            "2026-12-02T11:00:00Z",
            json!({"f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}}}),
        ));
    assert_eq!(detect(&applied(), Some(&live)), ObjectDrift::InSync);
    // An annotation Stargate set is compared, though.
    let mut with_annotation = applied();
    with_annotation["metadata"]["annotations"] = json!({"stargate.dev/owner": "payments"});
    let drift = detect(&with_annotation, Some(&live));
    assert_eq!(
        drift.fields()[0].path,
        "metadata.annotations.stargate.dev/owner"
    );
}

#[test]
fn a_newer_stargate_apply_under_way_is_not_drift() {
    let mut live = live();
    live["metadata"]["labels"]["stargate.dev/request"] = json!("8");
    live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("ghcr.io/a/api:2");
    assert_eq!(detect(&applied(), Some(&live)), ObjectDrift::InSync);
    // Someone else writing the label is drift like any other field.
    live["metadata"]["managedFields"]
        .as_array_mut()
        .expect("a list")
        .push(entry(
            "kubectl-label",
            "2026-12-02T11:00:00Z",
            json!({"f:metadata": {"f:labels": {"f:stargate.dev/request": {}}}}),
        ));
    let drift = detect(&applied(), Some(&live));
    let paths: Vec<&str> = drift.fields().iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["spec.template.spec.containers[name=web].image"]);
}

#[test]
fn the_latest_of_several_owners_is_named() {
    let mut live = live();
    live["spec"]["replicas"] = json!(9);
    live["metadata"]["managedFields"] = json!([
        entry(
            "hpa",
            "2026-12-02T08:00:00Z",
            json!({"f:spec": {"f:replicas": {}}})
        ),
        entry(
            "kubectl",
            "2026-12-02T09:00:00Z",
            json!({"f:spec": {"f:replicas": {}}})
        ),
        entry(FIELD_MANAGER, "2026-12-02T10:00:00Z", stargate_fields()),
    ]);
    assert_eq!(
        detect(&applied(), Some(&live)).fields()[0]
            .changed_by
            .as_deref(),
        Some("kubectl")
    );
}

#[test]
fn an_atomic_list_owned_whole_names_its_owner_for_a_field_inside() {
    let mut live = live();
    live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("x:1");
    live["metadata"]["managedFields"] = json!([entry(
        "other",
        "2026-12-02T09:00:00Z",
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {}}}}})
    ),]);
    assert_eq!(
        detect(&applied(), Some(&live)).fields()[0]
            .changed_by
            .as_deref(),
        Some("other")
    );
}

#[test]
fn drift_states_read_back_from_their_names() {
    for state in DriftState::ALL {
        assert_eq!(DriftState::parse(state.as_str()), Some(state));
    }
    assert_eq!(DriftState::parse("drift"), None);
    assert!(DriftState::Drifted.is_drift() && DriftState::Missing.is_drift());
    assert!(!DriftState::Unknown.is_drift() && !DriftState::InSync.is_drift());
}

#[test]
fn object_drift_serialises_with_its_state() {
    assert_eq!(
        serde_json::to_value(ObjectDrift::Missing).ok(),
        Some(json!({"state": "missing"}))
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Exactly the fields whose value differs drift, whatever the server adds.
        #[test]
        fn exactly_the_changed_fields_drift(
            approved_replicas in 0u32..5, live_replicas in 0u32..5,
            approved_tag in "[a-c]{1,2}", live_tag in "[a-c]{1,2}",
            annotation in "[a-z]{1,8}",
        ) {
            let mut approved = applied();
            approved["spec"]["replicas"] = json!(approved_replicas);
            approved["spec"]["template"]["spec"]["containers"][0]["image"] = json!(approved_tag);
            let mut cluster = live();
            cluster["spec"]["replicas"] = json!(live_replicas);
            cluster["spec"]["template"]["spec"]["containers"][0]["image"] = json!(live_tag);
            cluster["metadata"]["annotations"] = json!({ annotation: "x" });
            let drift = detect(&approved, Some(&cluster));
            let paths: Vec<&str> = drift.fields().iter().map(|f| f.path.as_str()).collect();
            let mut expected = Vec::new();
            if approved_replicas != live_replicas {
                expected.push("spec.replicas");
            }
            if approved_tag != live_tag {
                expected.push("spec.template.spec.containers[name=web].image");
            }
            prop_assert_eq!(paths, expected.clone());
            prop_assert_eq!(drift.state() == DriftState::InSync, expected.is_empty());
        }
    }
}

#[test]
fn a_services_objects_are_its_deployment_service_external_secret_and_ingresses() {
    let hosts = ["ledger.payments.example.com".to_owned()];
    let ingress = crate::request::object_names::ingress_name("ledger", &hosts[0]);
    for (kind, name) in [
        ("Deployment", "ledger"),
        ("Service", "ledger"),
        ("ExternalSecret", "ledger-env"),
        ("Ingress", ingress.as_str()),
    ] {
        assert!(
            super::of_service(kind, name, "ledger", &hosts),
            "{kind} {name}"
        );
    }
    for (kind, name) in [
        ("Deployment", "ledger-v2"),
        ("Service", "ledger-tcp-9000"),
        ("Namespace", "payments"),
        ("Ingress", "ledger-other-example-com"),
        ("ConfigMap", "ledger"),
    ] {
        assert!(
            !super::of_service(kind, name, "ledger", &hosts),
            "{kind} {name}"
        );
    }
}

#[test]
fn replicas_an_autoscaler_changed_are_not_drift_when_stargate_does_not_set_them() {
    // As rendered for `scaling: hpa`: no `spec.replicas`, so Stargate's apply owns none.
    let mut hpa = applied();
    hpa["spec"]
        .as_object_mut()
        .expect("a spec")
        .remove("replicas");
    let mut live = live();
    live["spec"]["replicas"] = json!(7);
    live["metadata"]["managedFields"] = json!([
        entry(FIELD_MANAGER, "2026-12-01T10:00:00Z", {
            let mut fields = stargate_fields();
            fields["f:spec"]
                .as_object_mut()
                .expect("spec fields")
                .remove("f:replicas");
            fields
        }),
        entry(
            "horizontal-pod-autoscaler",
            "2026-12-01T11:00:00Z",
            json!({"f:spec": {"f:replicas": {}}})
        ),
    ]);
    assert_eq!(detect(&hpa, Some(&live)), ObjectDrift::InSync);
    // With the count fixed, the same change is drift.
    assert!(detect(&applied(), Some(&live)).state().is_drift());
}
