//! Restore: from a drifted service, an ordinary request (plan, review, apply, audit) that
//! applies its objects again as last approved and takes the drifted fields back.

use serde_json::{Value, json};

use crate::{
    drift::{drift_events, spawn_checking, states},
    helpers::{Db, Persona, error_paths as paths, submit_as as submit},
    kube_api::KubeApi,
    on_both_databases,
};

fn restore(team: &str) -> Value {
    json!({"kind": "restore", "team": team, "cluster": "kind", "reason": "scaled by hand",
           "spec": {"service": "orders"}})
}

async fn a_restore_takes_the_drifted_fields_back(db: Db) {
    let kube = KubeApi::start(&[]).await;
    let app = spawn_checking(db, &kube).await;
    let service = json!({"kind": "service", "team": "payments", "cluster": "kind",
        "reason": "drift", "spec": {"name": "orders", "image": "ghcr.io/acme/orders:1.0.0",
        "port": 8080, "replicas": 2}});
    let id = app.submit_approved(&service).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "applied", "{detail:#}");
    states(&app, "in_sync", "in_sync").await;

    // Nothing has drifted: nothing to restore.
    let (status, error) = submit(&app, Persona::EngineerA, &restore("payments")).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(paths(&error), ["spec.service"], "{error}");
    assert!(
        error["fields"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nothing has drifted")),
        "{error}"
    );

    kube.apply_as(
        "kubectl",
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "orders", "namespace": "payments"},
                "spec": {"replicas": 5}}),
    )
    .await;
    states(&app, "drifted", "in_sync").await;
    // The service page offers the restore, filled in.
    let (_, html) = app.get_page("/services/payments/orders").await;
    let section = html
        .split(r#"data-testid="service-drift""#)
        .nth(1)
        .expect("a drift section");
    assert!(section.contains("Restore approved state"), "{section}");
    assert!(
        section.contains(
            "/requests/new?kind=restore&amp;team=payments&amp;cluster=kind&amp;spec.service=orders"
        ),
        "{section}"
    );
    assert!(
        section.contains(r#"aria-label="Restore the approved state of service orders""#),
        "{section}"
    );
    // Not for another team's engineer, who could not submit it.
    let html = app
        .request(
            Persona::EngineerB,
            reqwest::Method::GET,
            "/services/payments/orders",
        )
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("spec.replicas"), "shows the drift: {html}");
    assert!(!html.contains("Restore approved state"), "{html}");

    // Another team's engineer cannot restore payments' service, nor name it for their own.
    let (status, error) = submit(&app, Persona::EngineerB, &restore("payments")).await;
    assert_eq!(status, 403, "{error}");
    let (status, error) = submit(&app, Persona::EngineerB, &restore("search")).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(paths(&error), ["spec.service"], "{error}");

    let (status, created) = submit(&app, Persona::EngineerA, &restore("payments")).await;
    assert_eq!(status, 201, "{created}");
    let restore_id = created["request"]["id"].as_i64().expect("id");
    let (_, detail) = app
        .get_json(&format!("/api/v1/requests/{restore_id}"))
        .await;
    assert_eq!(detail["request"]["title"], "restore orders", "{detail:#}");
    let objects = detail["plan"]["objects"].as_array().expect("plan objects");
    assert_eq!(objects.len(), 1, "{detail:#}");
    assert_eq!(objects[0]["kind"], "Deployment");
    assert_eq!(
        objects[0]["change"],
        json!({"action": "update", "fields": [{"path": "spec.replicas", "before": 5, "after": 2}]}),
        "{detail:#}"
    );
    let manifests = app
        .get(&format!("/api/v1/requests/{restore_id}/manifests"))
        .await
        .text()
        .await
        .expect("manifests");
    assert!(manifests.contains("replicas: 2"), "{manifests}");

    let approved = app.approve(Persona::LeadA, restore_id).await;
    assert_eq!(approved.status(), 200, "{:?}", approved.text().await);
    let detail = app.settled(restore_id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "applied", "{detail:#}");

    // The IaC commit of an applied request, though the files stay as they were.
    let commit = crate::iac::recorded_commit(&app, restore_id)
        .await
        .expect("a commit");
    let repo = app.settings.iac.repo_path(&app.settings.data_dir);
    let message = crate::iac::git(&repo, &["log", "-1", "--format=%B", &commit]);
    assert!(message.contains("restore orders"), "{message}");

    // The cluster holds the approved state again, and Stargate owns the field.
    let deployment: Value = reqwest::Client::new()
        .get(format!(
            "{}/apis/apps/v1/namespaces/payments/deployments/orders",
            kube.url
        ))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("deployment");
    assert_eq!(deployment["spec"]["replicas"], 2, "{deployment:#}");
    let owns_replicas = |manager: &str| {
        deployment["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["manager"] == manager && !m["fieldsV1"]["f:spec"]["f:replicas"].is_null())
    };
    assert!(owns_replicas("stargate"), "{deployment:#}");
    assert!(!owns_replicas("kubectl"), "{deployment:#}");

    let drift = states(&app, "in_sync", "in_sync").await;
    assert_eq!(drift["Deployment"]["fields"], json!([]));
    let events = drift_events(&app).await;
    let subject = "object:kind/Deployment/payments/orders".to_owned();
    assert_eq!(
        events,
        [
            ("object.drifted".to_owned(), subject.clone()),
            ("object.drift_cleared".to_owned(), subject),
        ]
    );
    let audit: Value = app
        .get_as(Persona::Admin, "/api/v1/audit?per_page=100")
        .await
        .json()
        .await
        .expect("audit");
    let request_subject = format!("request/{restore_id}");
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["subject"] == request_subject.as_str())
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["request.submit", "request.approve", "request.succeed"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
}

on_both_databases!(a_restore_takes_the_drifted_fields_back);
