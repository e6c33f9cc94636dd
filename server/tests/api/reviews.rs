//! Review and approval over HTTP: four-eyes, who may review, comments, required approvals,
//! approvals bound to the plan, and two leads approving at the same moment.

use domain::request::{
    ServiceSpec,
    render::{RenderContext, ServiceType, render_service},
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::{Db, Options, Persona, TestApp, spawn_app, spawn_with},
    on_both_databases,
};

/// A new image for the demo's ledger (an update of three applied objects).
fn ledger_update(image: &str) -> Value {
    json!({
        "kind": "service", "team": "payments", "cluster": "demo", "reason": "new release",
        "spec": {"name": "ledger", "image": image, "port": 8080, "replicas": 3}
    })
}

async fn submit(app: &TestApp, body: &Value) -> i64 {
    let response = app
        .request(Persona::EngineerA, Method::POST, "/api/v1/requests")
        .json(body)
        .send()
        .await
        .expect("submit");
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().await.expect("json");
    created["request"]["id"].as_i64().expect("id")
}

/// `what` on request `id` as `persona`; approvals and rejections carry the current plan's
/// hash unless `body` says otherwise, as a client that just read the request would.
async fn act(app: &TestApp, persona: Persona, id: i64, what: &str, body: Value) -> (u16, Value) {
    let mut body = body;
    if matches!(what, "approve" | "reject") && body.get("plan_hash").is_none() {
        body["plan_hash"] = json!(app.plan_hash(id).await);
    }
    let response = app
        .request(
            persona,
            Method::POST,
            &format!("/api/v1/requests/{id}/{what}"),
        )
        .json(&body)
        .send()
        .await
        .expect("act");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

async fn status_of(app: &TestApp, id: i64) -> String {
    let (_, detail) = app.get_json(&format!("/api/v1/requests/{id}")).await;
    detail["request"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn approve_queues_a_job_and_records_the_comment(db: Db) {
    let app = spawn_app(db).await;
    let id = submit(&app, &ledger_update("ghcr.io/acme/ledger:3.1.0")).await;
    let (status, detail) = act(
        &app,
        Persona::LeadA,
        id,
        "approve",
        json!({"comment": "ship it"}),
    )
    .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["request"]["status"], "queued");
    assert_eq!(detail["approvals"][0]["comment"], "ship it");
    assert_eq!(app.count_rows("jobs").await, 1);
    let actions: Vec<&str> = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["request.submit", "request.approve"]);
    // Approving again, or approving a queued request: 409, nothing more written.
    let (again, body) = act(&app, Persona::Admin, id, "approve", json!({})).await;
    assert_eq!(again, 409, "{body}");
    assert_eq!(app.count_rows("jobs").await, 1);
    assert_eq!(app.count_rows("approvals").await, 1);
}

async fn refusals_change_nothing(db: Db) {
    let app = spawn_app(db).await;
    let id = submit(&app, &ledger_update("ghcr.io/acme/ledger:3.2.0")).await;
    let search_lead = app
        .token_for("sid@example.com", &["search", "search-leads"])
        .await;
    let events_before = app.count_rows("audit_events").await;
    // The requester (an engineer), an engineer of another team and nobody at all may not.
    for (persona, expected) in [
        (Persona::EngineerA, 403),
        (Persona::EngineerB, 403),
        (Persona::Anonymous, 401),
    ] {
        let (status, body) = act(&app, persona, id, "approve", json!({})).await;
        assert_eq!(status, expected, "{persona:?}: {body}");
    }
    // Nor may a lead of another team.
    let (status, body) = approve_with_token(&app, &search_lead, id).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("leads of team payments")
    );
    // A rejection without a reason names the comment.
    let (status, body) = act(&app, Persona::LeadA, id, "reject", json!({"comment": "  "})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["path"], "comment");
    let (status, _) = act(&app, Persona::LeadA, id, "reject", json!({})).await;
    assert_eq!(status, 422);
    assert_eq!(status_of(&app, id).await, "pending_review");
    assert_eq!(app.count_rows("audit_events").await, events_before);
    assert_eq!(app.count_rows("approvals").await, 0);

    // After a cancel, approving is a conflict.
    let (status, _) = act(&app, Persona::EngineerA, id, "cancel", json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = act(&app, Persona::LeadA, id, "approve", json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cancelled")
    );
    assert_eq!(app.count_rows("jobs").await, 0);
}

async fn nobody_approves_their_own_request(db: Db) {
    let app = spawn_app(db).await;
    let response = app
        .request(Persona::LeadA, Method::POST, "/api/v1/requests")
        .json(&ledger_update("ghcr.io/acme/ledger:4.0.0"))
        .send()
        .await
        .expect("submit");
    let created: Value = response.json().await.expect("json");
    let id = created["request"]["id"].as_i64().expect("id");
    assert_eq!(created["may_review"], false);
    let (status, body) = act(&app, Persona::LeadA, id, "approve", json!({})).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("own request")
    );
    // Another reviewer may.
    let (status, _) = act(&app, Persona::Admin, id, "approve", json!({})).await;
    assert_eq!(status, 200);
}

async fn rejecting_with_a_reason_ends_the_request(db: Db) {
    let app = spawn_app(db).await;
    let id = submit(&app, &ledger_update("ghcr.io/acme/ledger:5.0.0")).await;
    let (status, detail) = act(
        &app,
        Persona::LeadA,
        id,
        "reject",
        json!({"comment": "pin a digest"}),
    )
    .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["request"]["status"], "rejected");
    assert_eq!(app.count_rows("jobs").await, 0);
    let (status, _) = act(&app, Persona::EngineerA, id, "cancel", json!({})).await;
    assert_eq!(status, 409);
}

async fn everyone_who_can_read_may_comment(db: Db) {
    let app = spawn_app(db).await;
    let id = submit(&app, &ledger_update("ghcr.io/acme/ledger:6.0.0")).await;
    let (status, detail) = act(
        &app,
        Persona::EngineerB,
        id,
        "comments",
        json!({"comment": "does search depend on this?"}),
    )
    .await;
    assert_eq!(status, 200, "{detail}");
    let last = detail["events"]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["action"], "request.comment");
    assert_eq!(last["actor"], "sam@example.com");
    assert_eq!(last["detail"]["comment"], "does search depend on this?");
    let (status, body) = act(
        &app,
        Persona::EngineerB,
        id,
        "comments",
        json!({"comment": ""}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = act(
        &app,
        Persona::EngineerB,
        999_999,
        "comments",
        json!({"comment": "hi"}),
    )
    .await;
    assert_eq!(status, 404);
}

async fn two_required_approvals_from_distinct_people(db: Db) {
    let options = Options {
        required_approvals: 2,
        ..Options::default()
    };
    let app = spawn_with(db, options, None).await;
    let id = submit(&app, &ledger_update("ghcr.io/acme/ledger:7.0.0")).await;
    let (status, detail) = act(&app, Persona::LeadA, id, "approve", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(detail["request"]["status"], "pending_review");
    assert_eq!(detail["required_approvals"], 2);
    let (status, _) = act(&app, Persona::LeadA, id, "approve", json!({})).await;
    assert_eq!(status, 409, "the same person twice does not count twice");
    let (status, detail) = act(&app, Persona::Admin, id, "approve", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(detail["request"]["status"], "queued");
    assert_eq!(app.count_rows("jobs").await, 1);
}

/// Another change lands on the ledger's objects between the first and the second approval.
async fn a_changed_plan_voids_approvals_and_goes_back_to_review(db: Db) {
    let options = Options {
        required_approvals: 2,
        ..Options::default()
    };
    let app = spawn_with(db, options, None).await;
    let id = submit(&app, &ledger_update("ghcr.io/acme/ledger:8.0.0")).await;
    let (status, _) = act(&app, Persona::LeadA, id, "approve", json!({})).await;
    assert_eq!(status, 200);

    // What the worker would record after applying someone else's change to the ledger.
    let ctx = RenderContext {
        team: domain::TeamName::parse("team", "payments").expect("team"),
        namespace: "payments".into(),
        request_id: "other".into(),
    };
    let spec = ServiceSpec::parse(
        &json!({"name": "ledger", "image": "ghcr.io/acme/ledger:3.0.1", "port": 8080, "replicas": 5}),
    )
    .expect("spec");
    let landed = render_service(&ctx, &spec, ServiceType::ClusterIp);
    app.store
        .record_applied("demo", &landed, None)
        .await
        .expect("record applied");

    let (status, body) = act(&app, Persona::Admin, id, "approve", json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("plan")
    );
    let (_, detail) = app.get_json(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(detail["request"]["status"], "pending_review");
    assert_eq!(
        detail["approvals"].as_array().map(Vec::len),
        Some(0),
        "approvals void"
    );
    let replanned = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "request.replanned")
        .cloned()
        .expect("a replanned event");
    assert_ne!(
        replanned["detail"]["old_hash"],
        replanned["detail"]["new_hash"]
    );
    // The new plan compares with what landed: replicas 5 → 3 now shows.
    let plan_text = detail["plan"].to_string();
    assert!(
        plan_text.contains("ghcr.io/acme/ledger:3.0.1"),
        "{plan_text}"
    );
    assert_eq!(app.count_rows("jobs").await, 0);

    // Reviewed again, the new plan queues with two fresh approvals.
    let (status, _) = act(&app, Persona::LeadA, id, "approve", json!({})).await;
    assert_eq!(status, 200);
    let (status, detail) = act(&app, Persona::Admin, id, "approve", json!({})).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["request"]["status"], "queued");
}

async fn approve_with_token(app: &TestApp, token: &str, id: i64) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/api/v1/requests/{id}/approve", app.address))
        .bearer_auth(token)
        .json(&json!({ "plan_hash": app.plan_hash(id).await }))
        .send()
        .await
        .expect("approve");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

/// Two leads press approve at the same moment: one job, one clear refusal.
async fn simultaneous_approvals_create_exactly_one_job(db: Db) {
    let app = spawn_app(db).await;
    let second_lead = app
        .token_for("lou@example.com", &["payments", "payments-leads"])
        .await;
    let first_lead = app.token(Persona::LeadA).expect("lead token").to_owned();
    for round in 0..5 {
        let id = submit(
            &app,
            &ledger_update(&format!("ghcr.io/acme/ledger:9.0.{round}")),
        )
        .await;
        let (a, b) = tokio::join!(
            approve_with_token(&app, &first_lead, id),
            approve_with_token(&app, &second_lead, id),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {a:?} {b:?}");
        let refused = if a.0 == 409 { &a.1 } else { &b.1 };
        assert!(
            refused["message"]
                .as_str()
                .unwrap_or_default()
                .contains("queued"),
            "{refused}"
        );
        assert_eq!(status_of(&app, id).await, "queued");
    }
    assert_eq!(app.count_rows("jobs").await, 5);
    assert_eq!(app.count_rows("approvals").await, 5);
}

async fn the_review_queue_shows_what_waits_for_you(db: Db) {
    let app = spawn_app(db).await;
    let first = submit(&app, &ledger_update("ghcr.io/acme/ledger:10.0.0")).await;
    let second = submit(&app, &ledger_update("ghcr.io/acme/ledger:10.0.1")).await;
    let (status, _) = act(
        &app,
        Persona::LeadA,
        second,
        "reject",
        json!({"comment": "dup"}),
    )
    .await;
    assert_eq!(status, 200);
    // The queue is a page (server-rendered for leads).
    let page = app
        .request(Persona::LeadA, Method::GET, "/reviews")
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains(&format!("/requests/{first}")),
        "pending request listed"
    );
    assert!(
        !html.contains(&format!("/requests/{second}\"")),
        "rejected one is not"
    );
}

on_both_databases!(
    approve_queues_a_job_and_records_the_comment,
    refusals_change_nothing,
    nobody_approves_their_own_request,
    rejecting_with_a_reason_ends_the_request,
    everyone_who_can_read_may_comment,
    two_required_approvals_from_distinct_people,
    a_changed_plan_voids_approvals_and_goes_back_to_review,
    simultaneous_approvals_create_exactly_one_job,
    the_review_queue_shows_what_waits_for_you,
);
