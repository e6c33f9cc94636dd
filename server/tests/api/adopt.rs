//! Adopt: from a drifted service, an ordinary request (plan, review, apply, audit) that
//! makes the live values the approved ones: the service's spec says them, Stargate owns
//! the fields again with those values, and the drift clears.

use serde_json::{Value, json};

use crate::{
    drift::{drift_events, spawn_checking, states},
    helpers::{Db, Persona, TestApp, error_paths as paths, submit_as as submit},
    kube_api::{KubeApi, api_path},
    on_both_databases,
};

fn adopt(team: &str) -> Value {
    json!({"kind": "adopt", "team": team, "cluster": "kind", "reason": "scaled by hand for the sale",
           "spec": {"service": "orders"}})
}

/// A change made as `kubectl patch` makes it (strategic merge patch, field manager
/// `kubectl-patch`), behind Stargate's back.
async fn kubectl_patch(kube: &KubeApi, object: &Value) {
    let response = reqwest::Client::new()
        .patch(format!(
            "{}{}?fieldManager=kubectl-patch",
            kube.url,
            api_path(object)
        ))
        .header("content-type", "application/strategic-merge-patch+json")
        .json(object)
        .send()
        .await
        .expect("patch");
    assert!(
        response.status().is_success(),
        "{:?}",
        response.text().await
    );
}

/// `orders` applied with 2 replicas of 1.0.0, then in sync.
async fn applied_orders(db: Db, kube: &KubeApi) -> TestApp {
    let app = spawn_checking(db, kube).await;
    let service = json!({"kind": "service", "team": "payments", "cluster": "kind",
        "reason": "drift", "spec": {"name": "orders", "image": "ghcr.io/acme/orders:1.0.0",
        "port": 8080, "replicas": 2, "env": {"LOG_LEVEL": "info"}}});
    let id = app.submit_approved(&service).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "applied", "{detail:#}");
    states(&app, "in_sync", "in_sync").await;
    app
}

async fn live_deployment(kube: &KubeApi) -> Value {
    reqwest::Client::new()
        .get(format!(
            "{}/apis/apps/v1/namespaces/payments/deployments/orders",
            kube.url
        ))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("deployment")
}

async fn the_live_values_become_the_approved_ones(db: Db) {
    let kube = KubeApi::start(&[]).await;
    let app = applied_orders(db, &kube).await;

    // Nothing has drifted: nothing to adopt.
    let (status, error) = submit(&app, Persona::EngineerA, &adopt("payments")).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(paths(&error), ["spec.service"], "{error}");

    kubectl_patch(
        &kube,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "orders", "namespace": "payments"},
                "spec": {"replicas": 5, "template": {"spec": {"containers": [
                    {"name": "orders", "image": "ghcr.io/acme/orders:1.1.0"}]}}}}),
    )
    .await;
    states(&app, "drifted", "in_sync").await;
    // The service page offers the adopt beside the restore, filled in.
    let (_, html) = app.get_page("/services/payments/orders").await;
    let section = html
        .split(r#"data-testid="service-drift""#)
        .nth(1)
        .expect("a drift section");
    assert!(section.contains("Adopt live values"), "{section}");
    assert!(
        section.contains(
            "/requests/new?kind=adopt&amp;team=payments&amp;cluster=kind&amp;spec.service=orders"
        ),
        "{section}"
    );

    // Another team's engineer cannot adopt payments' service.
    let (status, error) = submit(&app, Persona::EngineerB, &adopt("payments")).await;
    assert_eq!(status, 403, "{error}");

    let (status, created) = submit(&app, Persona::EngineerA, &adopt("payments")).await;
    assert_eq!(status, 201, "{created}");
    let id = created["request"]["id"].as_i64().expect("id");
    let (_, detail) = app.get_json(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(detail["request"]["title"], "adopt orders", "{detail:#}");
    let deployment = detail["plan"]["objects"]
        .as_array()
        .expect("plan objects")
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("the Deployment in the plan")
        .clone();
    assert_eq!(
        deployment["change"],
        json!({"action": "update", "fields": [
            {"path": "spec.replicas", "before": 2, "after": 5},
            {"path": "spec.template.spec.containers[0].image",
             "before": "ghcr.io/acme/orders:1.0.0", "after": "ghcr.io/acme/orders:1.1.0"},
        ]}),
        "{detail:#}"
    );

    let approved = app.approve(Persona::LeadA, id).await;
    assert_eq!(approved.status(), 200, "{:?}", approved.text().await);
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "applied", "{detail:#}");

    // The service's approved spec now says the live values; the catalog shows them.
    let (_, service) = app.get_json("/api/v1/services/payments/orders").await;
    assert_eq!(
        (&service["replicas"], &service["image"]),
        (&json!(5), &json!("ghcr.io/acme/orders:1.1.0")),
        "{service:#}"
    );
    let change: Value = app
        .request(
            Persona::EngineerA,
            reqwest::Method::POST,
            "/rpc/requests/approved",
        )
        .json(&json!({"kind": "service", "team": "payments", "name": "orders"}))
        .send()
        .await
        .expect("approved")
        .json()
        .await
        .expect("json");
    assert_eq!(change["kind"], "service", "{change:#}");
    assert_eq!(change["spec"]["replicas"], 5, "{change:#}");
    assert_eq!(change["spec"]["image"], "ghcr.io/acme/orders:1.1.0");
    assert_eq!(change["spec"]["env"], json!({"LOG_LEVEL": "info"}));

    // The cluster still runs 5, and Stargate owns the field again.
    let live = live_deployment(&kube).await;
    assert_eq!(live["spec"]["replicas"], 5, "{live:#}");
    let owns_replicas = |manager: &str| {
        live["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["manager"] == manager && !m["fieldsV1"]["f:spec"]["f:replicas"].is_null())
    };
    // kubectl-patch set the same value, so it shares the field, as under a real API
    // server; Stargate's next change of it takes it over (forced apply).
    assert!(owns_replicas("stargate"), "{live:#}");

    let drift = states(&app, "in_sync", "in_sync").await;
    assert_eq!(drift["Deployment"]["fields"], json!([]));
    let subject = "object:kind/Deployment/payments/orders".to_owned();
    assert_eq!(
        drift_events(&app).await,
        [
            ("object.drifted".to_owned(), subject.clone()),
            ("object.drift_cleared".to_owned(), subject),
        ]
    );

    let commit = crate::iac::recorded_commit(&app, id)
        .await
        .expect("a commit");
    let repo = app.settings.iac.repo_path(&app.settings.data_dir);
    let message = crate::iac::git(&repo, &["log", "-1", "--format=%B", &commit]);
    assert!(message.contains("adopt orders"), "{message}");

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
    let request = format!("request/{id}");
    for action in ["request.submit", "request.approve", "request.succeed"] {
        assert!(
            events.contains(&(action, request.as_str())),
            "{action}: {events:?}"
        );
    }
    let adopted = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["action"] == "service.adopted")
        .expect("a service.adopted event");
    assert_eq!(adopted["subject"], "service:payments/orders", "{adopted:#}");
    assert_eq!(adopted["detail"]["replicas"], 5, "{adopted:#}");
}

on_both_databases!(the_live_values_become_the_approved_ones);

async fn a_drifted_label_cannot_be_adopted(db: Db) {
    let kube = KubeApi::start(&[]).await;
    let app = applied_orders(db, &kube).await;
    kubectl_patch(
        &kube,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "orders", "namespace": "payments",
                             "labels": {"app.kubernetes.io/managed-by": "helm"}},
                "spec": {"replicas": 5}}),
    )
    .await;
    states(&app, "drifted", "in_sync").await;
    let (status, error) = submit(&app, Persona::EngineerA, &adopt("payments")).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(paths(&error), ["spec.objects"], "{error}");
    let message = error["fields"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("metadata.labels.app.kubernetes.io/managed-by")
            && message.contains("cannot be adopted")
            && message.contains("restore"),
        "{error}"
    );
    assert_eq!(app.count_where("requests", "kind = 'adopt'").await, 0);
}

on_both_databases!(a_drifted_label_cannot_be_adopted);
