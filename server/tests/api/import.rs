//! Import: a namespace's objects that were never Stargate's become catalog entries of a
//! team through an ordinary request (plan, review by a lead, apply, audit), submitted by an
//! admin; Stargate owns their fields afterwards.

use serde_json::{Value, json};

use crate::{
    drift::spawn_checking,
    helpers::{Db, Persona, error_paths as paths, spawn_app, submit_as as submit},
    kube_api::KubeApi,
    on_both_databases,
};

fn import(cluster: &str) -> Value {
    json!({"kind": "import", "team": "payments", "cluster": cluster,
           "reason": "start from the cluster we have", "spec": {"namespace": "payments"}})
}

/// Creates `object` as `kubectl create` does (POST, field manager `kubectl-create`).
async fn kubectl_create(kube: &KubeApi, collection: &str, object: &Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}{collection}?fieldManager=kubectl-create",
            kube.url
        ))
        .json(object)
        .send()
        .await
        .expect("create");
    assert!(
        response.status().is_success(),
        "{collection}: {:?}",
        response.text().await
    );
}

async fn get(kube: &KubeApi, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", kube.url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("object")
}

/// The namespace `payments` with a Deployment, its Service and an Ingress to it, made by
/// hand.
async fn hand_made_namespace(kube: &KubeApi) {
    kubectl_create(
        kube,
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}}),
    )
    .await;
    let labels = json!({"app.kubernetes.io/name": "tally"});
    kubectl_create(
        kube,
        "/apis/apps/v1/namespaces/payments/deployments",
        &json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "tally", "namespace": "payments"},
        "spec": {"replicas": 3, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                     "name": "tally", "image": "ghcr.io/acme/tally:3.1.0",
                     "ports": [{"containerPort": 8080}],
                     "env": [{"name": "LOG_LEVEL", "value": "info"}],
                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}}),
    )
    .await;
    kubectl_create(
        kube,
        "/api/v1/namespaces/payments/services",
        &json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "tally", "namespace": "payments"},
        "spec": {"selector": labels, "ports": [{"port": 8080, "targetPort": 8080}]}}),
    )
    .await;
    kubectl_create(
        kube,
        "/apis/networking.k8s.io/v1/namespaces/payments/ingresses",
        &json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "tally-web", "namespace": "payments"},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "tally.payments.example.com",
            "http": {"paths": [{"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "tally", "port": {"number": 8080}}}}]}}]}}),
    )
    .await;
}

/// Whether `manager` owns any field of `object`.
fn owned_by(object: &Value, manager: &str) -> bool {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|m| m["manager"] == manager)
}

async fn a_hand_made_namespace_becomes_the_teams_catalog(db: Db) {
    let kube = KubeApi::start(&[]).await;
    hand_made_namespace(&kube).await;
    let app = spawn_checking(db, &kube).await;

    // Only an admin imports; a member of the team is refused with the JSON error shape.
    let (status, error) = submit(&app, Persona::EngineerA, &import("kind")).await;
    assert_eq!(status, 403, "{error}");
    assert!(error["error"].is_string(), "{error}");
    let (status, error) = submit(&app, Persona::LeadA, &import("kind")).await;
    assert_eq!(status, 403, "{error}");

    let (status, created) = submit(&app, Persona::Admin, &import("kind")).await;
    assert_eq!(status, 201, "{created}");
    let id = created["request"]["id"].as_i64().expect("id");
    let (_, detail) = app.get_json(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(detail["request"]["kind"], "import", "{detail:#}");
    assert_eq!(detail["request"]["status"], "pending_review", "{detail:#}");
    // The plan lists each object found and what it becomes.
    let entries: Vec<(String, String, String)> = detail["plan"]["imported"]["entries"]
        .as_array()
        .expect("the imported entries")
        .iter()
        .map(|e| {
            let name = e[2]["spec"]["name"]
                .as_str()
                .or(e[2]["spec"]["host"].as_str())
                .unwrap_or_default();
            (
                e[0].as_str().unwrap_or_default().to_owned(),
                e[2]["entry"].as_str().unwrap_or_default().to_owned(),
                name.to_owned(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("Deployment".into(), "service".into(), "tally".into()),
            (
                "Ingress".into(),
                "host".into(),
                "tally.payments.example.com".into()
            ),
        ],
        "{detail:#}"
    );
    let planned: Vec<(&str, &str, &str)> = detail["plan"]["objects"]
        .as_array()
        .expect("plan objects")
        .iter()
        .filter(|o| o["kind"] != "Namespace")
        .map(|o| {
            (
                o["kind"].as_str().unwrap_or_default(),
                o["name"].as_str().unwrap_or_default(),
                o["change"]["action"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    // Each object exists, so each is an update of the live one (Stargate's labels at least).
    assert_eq!(
        planned,
        [
            ("Deployment", "tally", "update"),
            ("Service", "tally", "update"),
            ("Ingress", "tally-web", "update"),
        ],
        "{detail:#}"
    );
    let notes = detail["notes"].to_string();
    assert!(
        notes.contains("Deployment tally and its Service become service tally"),
        "{notes}"
    );

    // Scaled by hand during review: what was read changed, so the plan does, and the
    // approval given to the old one does not count.
    let response = reqwest::Client::new()
        .patch(format!(
            "{}/apis/apps/v1/namespaces/payments/deployments/tally?fieldManager=kubectl-patch",
            kube.url
        ))
        .header("content-type", "application/merge-patch+json")
        .json(&json!({"spec": {"replicas": 4}}))
        .send()
        .await
        .expect("patch");
    assert!(response.status().is_success());
    let refused = app.approve(Persona::LeadA, id).await;
    assert_eq!(refused.status(), 409, "{:?}", refused.text().await);
    let (_, replanned) = app.get_json(&format!("/api/v1/requests/{id}")).await;
    assert_ne!(replanned["plan"]["hash"], detail["plan"]["hash"]);
    assert_eq!(
        replanned["plan"]["imported"]["entries"][0][2]["spec"]["replicas"], 4,
        "{replanned:#}"
    );

    let approved = app.approve(Persona::LeadA, id).await;
    assert_eq!(approved.status(), 200, "{:?}", approved.text().await);
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "applied", "{detail:#}");

    // The catalog holds the service and its host, owned by the team.
    let (_, services) = app
        .get_json("/api/v1/services?team=payments&per_page=100")
        .await;
    let tally = services["items"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["name"] == "tally")
        .cloned()
        .unwrap_or_else(|| panic!("tally in {services:#}"));
    assert_eq!(tally["team"], "payments", "{tally:#}");
    let (_, tally) = app.get_json("/api/v1/services/payments/tally").await;
    assert_eq!(
        (&tally["image"], &tally["replicas"]),
        (&json!("ghcr.io/acme/tally:3.1.0"), &json!(4)),
        "{tally:#}"
    );
    let (_, hosts) = app.get_json("/api/v1/hosts?per_page=100").await;
    let host = hosts["items"]
        .as_array()
        .expect("hosts")
        .iter()
        .find(|h| h["host"] == "tally.payments.example.com")
        .cloned()
        .unwrap_or_else(|| panic!("the host in {hosts:#}"));
    assert_eq!(
        (&host["service"], &host["team"]),
        (&json!("tally"), &json!("payments"))
    );

    // Stargate now owns the fields it set.
    for path in [
        "/apis/apps/v1/namespaces/payments/deployments/tally",
        "/api/v1/namespaces/payments/services/tally",
        "/apis/networking.k8s.io/v1/namespaces/payments/ingresses/tally-web",
    ] {
        let live = get(&kube, path).await;
        assert!(owned_by(&live, "stargate"), "{path}: {live:#}");
        assert_eq!(
            live["metadata"]["labels"]["app.kubernetes.io/managed-by"], "stargate",
            "{live:#}"
        );
    }

    // Audited per entry, and committed naming the import.
    let audit: Value = app
        .get_as(Persona::Admin, "/api/v1/audit?per_page=100")
        .await
        .json()
        .await
        .expect("audit");
    let events: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e["action"].as_str()?, e["subject"].as_str()?)))
        .collect();
    assert!(
        events.contains(&("service.imported", "service:payments/tally")),
        "{events:?}"
    );
    assert!(
        events.contains(&("host.imported", "host:tally.payments.example.com")),
        "{events:?}"
    );
    let commit = crate::iac::recorded_commit(&app, id)
        .await
        .expect("a commit");
    let repo = app.settings.iac.repo_path(&app.settings.data_dir);
    let message = crate::iac::git(&repo, &["log", "-1", "--format=%B", &commit]);
    assert!(message.contains("import namespace payments"), "{message}");

    // What Stargate applied is not imported again: nothing left to map.
    let (status, error) = submit(&app, Persona::Admin, &import("kind")).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(paths(&error), ["spec.namespace"], "{error}");

    // The API server stops: a clear error naming the cluster, and nothing stored.
    let before = app.count_where("requests", "kind = 'import'").await;
    drop(kube);
    let (status, error) = submit(&app, Persona::Admin, &import("kind")).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(paths(&error), ["cluster"], "{error}");
    assert!(error.to_string().contains("could not be read"), "{error}");
    assert_eq!(app.count_where("requests", "kind = 'import'").await, before);
}

on_both_databases!(a_hand_made_namespace_becomes_the_teams_catalog);

async fn a_dry_run_cluster_has_nothing_to_import(db: Db) {
    let app = spawn_app(db).await;
    let (status, error) = submit(&app, Persona::Admin, &import("demo")).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(paths(&error), ["cluster"], "{error}");
    assert!(
        error
            .to_string()
            .contains("a dry-run cluster has nothing to import"),
        "{error}"
    );
    assert_eq!(app.count_where("requests", "kind = 'import'").await, 0);
}

on_both_databases!(a_dry_run_cluster_has_nothing_to_import);
