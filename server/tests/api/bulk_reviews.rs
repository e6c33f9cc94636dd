//! Approving several requests from the review queue at once: each item is its own approval
//! bound to its own plan, refused items change nothing, and the page works without wasm.

use domain::request::{
    ServiceSpec,
    render::{RenderContext, ServiceType, render_service},
};
use reqwest::{Method, header};
use serde_json::{Value, json};

use crate::{
    helpers::{Db, Options, Persona, TEST_TOKEN_LIFETIME, TestApp, spawn_app, spawn_with},
    on_both_databases,
};

const APPROVALS: &str = "/api/v1/reviews/approvals";

/// A new service of `team`, asked for by `persona`; its id.
async fn submit(app: &TestApp, persona: Persona, team: &str, name: &str) -> i64 {
    let body = json!({
        "kind": "service", "team": team, "cluster": "demo", "reason": "bulk review test",
        "spec": {"name": name, "image": format!("ghcr.io/acme/{name}:1.0.0"), "port": 8080}
    });
    let response = app
        .request(persona, Method::POST, "/api/v1/requests")
        .json(&body)
        .send()
        .await
        .expect("submit");
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().await.expect("json");
    created["request"]["id"].as_i64().expect("id")
}

/// `POST /reviews/approvals` as `persona` with `body`.
async fn bulk(app: &TestApp, persona: Persona, body: &Value) -> (u16, Value) {
    let response = app
        .request(persona, Method::POST, APPROVALS)
        .json(body)
        .send()
        .await
        .expect("bulk approve");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

/// The approvals body for `ids`, each with its current plan hash, as a reviewer who just
/// read the queue sends it.
async fn approvals_of(app: &TestApp, ids: &[i64], comment: &str) -> Value {
    let mut items = Vec::new();
    for id in ids {
        items.push(json!({"request_id": id, "plan_hash": app.plan_hash(*id).await}));
    }
    json!({ "approvals": items, "comment": comment })
}

/// The result for request `id` in a bulk answer.
fn result_of(answer: &Value, id: i64) -> Value {
    answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["request_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no result for {id}: {answer}"))
}

async fn status_of(app: &TestApp, id: i64) -> String {
    let (_, detail) = app.get_json(&format!("/api/v1/requests/{id}")).await;
    detail["request"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn a_lead_approves_three_requests_at_once(db: Db) {
    let app = spawn_app(db).await;
    let ids = [
        submit(&app, Persona::EngineerA, "payments", "basket").await,
        submit(&app, Persona::EngineerA, "payments", "wallet").await,
        submit(&app, Persona::EngineerA, "payments", "coupons").await,
    ];
    let body = approvals_of(&app, &ids, "release train 42").await;
    let (status, answer) = bulk(&app, Persona::LeadA, &body).await;
    assert_eq!(status, 200, "{answer}");
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results.len(), 3, "{answer}");
    for (result, id) in results.iter().zip(ids) {
        assert_eq!(result["request_id"], id, "in the order asked");
        assert_eq!(result["outcome"], "queued", "{result}");
        assert_eq!(result["approved"], true);
    }
    // Each request has its own approval, bound to its own plan, with the comment, and its
    // own job and audit event: as if approved one by one.
    let mut hashes = Vec::new();
    for (item, id) in body["approvals"].as_array().expect("items").iter().zip(ids) {
        let hash = item["plan_hash"].as_str().expect("hash");
        let approvals = app.store.approvals(id, hash).await.expect("approvals");
        assert_eq!(approvals.len(), 1, "request {id}");
        assert_eq!(approvals[0].email, "lee@example.com");
        assert_eq!(approvals[0].comment, "release train 42");
        assert_eq!(status_of(&app, id).await, "queued");
        let events = app
            .count_where(
                "audit_events",
                &format!("subject = 'request/{id}' AND action = 'request.approve'"),
            )
            .await;
        assert_eq!(events, 1, "request {id}");
        hashes.push(hash.to_owned());
    }
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), 3, "three plans, three hashes");
    assert_eq!(app.count_rows("approvals").await, 3);
    assert_eq!(app.count_rows("jobs").await, 3);
    // Approved, they leave the lead's queue.
    let page = app
        .request(Persona::LeadA, Method::GET, "/reviews")
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .expect("page");
    let html = page.text().await.expect("html");
    assert!(html.contains("Nothing to review"), "{html}");
}

async fn two_required_approvals_take_two_bulk_reviews(db: Db) {
    let options = Options {
        required_approvals: 2,
        ..Options::default()
    };
    let app = spawn_with(db, options, None).await;
    let ids = [
        submit(&app, Persona::EngineerA, "payments", "basket").await,
        submit(&app, Persona::EngineerA, "payments", "wallet").await,
    ];
    let body = approvals_of(&app, &ids, "").await;
    let (status, answer) = bulk(&app, Persona::LeadA, &body).await;
    assert_eq!(status, 200, "{answer}");
    for id in ids {
        let result = result_of(&answer, id);
        assert_eq!(result["outcome"], "approved", "{result}");
        assert_eq!(result["status"], "pending_review");
        assert!(
            result["message"]
                .as_str()
                .unwrap_or_default()
                .contains("1 of 2")
        );
    }
    assert_eq!(app.count_rows("jobs").await, 0);
    // The same lead again: already approved, nothing more counts.
    let (_, again) = bulk(&app, Persona::LeadA, &body).await;
    assert_eq!(result_of(&again, ids[0])["outcome"], "conflict", "{again}");
    assert_eq!(app.count_rows("approvals").await, 2);
    // A second person's bulk approval queues both.
    let (_, answer) = bulk(&app, Persona::Admin, &body).await;
    for id in ids {
        assert_eq!(result_of(&answer, id)["outcome"], "queued", "{answer}");
        assert_eq!(status_of(&app, id).await, "queued");
    }
    assert_eq!(app.count_rows("jobs").await, 2);
}

/// Another change lands on the ledger's objects after the lead read the queue.
async fn a_changed_plan_is_refused_while_the_others_succeed(db: Db) {
    let app = spawn_app(db).await;
    let basket = submit(&app, Persona::EngineerA, "payments", "basket").await;
    let ledger_body = json!({
        "kind": "service", "team": "payments", "cluster": "demo", "reason": "new release",
        "spec": {"name": "ledger", "image": "ghcr.io/acme/ledger:8.0.0", "port": 8080, "replicas": 3}
    });
    let response = app
        .request(Persona::EngineerA, Method::POST, "/api/v1/requests")
        .json(&ledger_body)
        .send()
        .await
        .expect("submit");
    let ledger = response.json::<Value>().await.expect("json")["request"]["id"]
        .as_i64()
        .expect("id");
    let wallet = submit(&app, Persona::EngineerA, "payments", "wallet").await;
    let body = approvals_of(&app, &[basket, ledger, wallet], "").await;

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

    let (status, answer) = bulk(&app, Persona::LeadA, &body).await;
    assert_eq!(status, 200, "{answer}");
    let refused = result_of(&answer, ledger);
    assert_eq!(refused["outcome"], "plan_changed", "{refused}");
    assert_eq!(refused["approved"], false);
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("plan")
    );
    assert_eq!(result_of(&answer, basket)["outcome"], "queued");
    assert_eq!(result_of(&answer, wallet)["outcome"], "queued");
    // The changed one waits for review with its new plan, and no approval counts for it.
    let (_, detail) = app.get_json(&format!("/api/v1/requests/{ledger}")).await;
    assert_eq!(detail["request"]["status"], "pending_review");
    assert_eq!(detail["approvals"].as_array().map(Vec::len), Some(0));
    assert_ne!(detail["plan"]["hash"], body["approvals"][1]["plan_hash"]);
    assert_eq!(app.count_rows("jobs").await, 2);
    assert_eq!(
        app.count_where("approvals", &format!("request_id = {ledger}"))
            .await,
        0
    );

    // A hash that was never the request's plan is refused the same way, nothing recorded.
    let stale = json!({"approvals": [{"request_id": ledger, "plan_hash": "0".repeat(64)}]});
    let (status, answer) = bulk(&app, Persona::LeadA, &stale).await;
    assert_eq!(status, 200);
    assert_eq!(result_of(&answer, ledger)["outcome"], "plan_changed");
    assert_eq!(
        app.count_where("approvals", &format!("request_id = {ledger}"))
            .await,
        0
    );
}

async fn another_teams_request_is_forbidden_and_changes_nothing(db: Db) {
    let app = spawn_app(db).await;
    let ours = submit(&app, Persona::EngineerA, "payments", "basket").await;
    let theirs = submit(&app, Persona::EngineerB, "search", "indexer").await;
    let events_before = app
        .count_where("audit_events", &format!("subject = 'request/{theirs}'"))
        .await;
    let body = approvals_of(&app, &[theirs, ours], "").await;
    let (status, answer) = bulk(&app, Persona::LeadA, &body).await;
    assert_eq!(status, 200, "{answer}");
    let forbidden = result_of(&answer, theirs);
    assert_eq!(forbidden["outcome"], "forbidden", "{forbidden}");
    assert!(
        forbidden["message"]
            .as_str()
            .unwrap_or_default()
            .contains("leads of team search")
    );
    assert_eq!(result_of(&answer, ours)["outcome"], "queued");
    assert_eq!(status_of(&app, theirs).await, "pending_review");
    assert_eq!(
        app.count_where("approvals", &format!("request_id = {theirs}"))
            .await,
        0
    );
    assert_eq!(
        app.count_where("audit_events", &format!("subject = 'request/{theirs}'"))
            .await,
        events_before
    );
    // An engineer may approve nothing at all; an unknown request is named as such.
    let (status, answer) = bulk(
        &app,
        Persona::EngineerB,
        &json!({"approvals": [
            {"request_id": theirs, "plan_hash": body["approvals"][0]["plan_hash"]},
            {"request_id": 999_999, "plan_hash": "a".repeat(64)},
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(result_of(&answer, theirs)["outcome"], "forbidden");
    assert_eq!(result_of(&answer, 999_999)["outcome"], "not_found");
    assert_eq!(status_of(&app, theirs).await, "pending_review");
}

async fn nobody_approves_their_own_request_in_bulk(db: Db) {
    let app = spawn_app(db).await;
    let own = submit(&app, Persona::LeadA, "payments", "basket").await;
    let other = submit(&app, Persona::EngineerA, "payments", "wallet").await;
    let body = approvals_of(&app, &[own, other, own], "").await;
    let (status, answer) = bulk(&app, Persona::LeadA, &body).await;
    assert_eq!(status, 200, "{answer}");
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results[0]["outcome"], "forbidden", "{answer}");
    assert!(
        results[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("own request")
    );
    assert_eq!(results[1]["outcome"], "queued");
    // Listed twice: the second entry is not acted on.
    assert_eq!(results[2]["request_id"], own);
    assert_eq!(results[2]["outcome"], "conflict");
    assert_eq!(status_of(&app, own).await, "pending_review");
    assert_eq!(
        app.count_where("approvals", &format!("request_id = {own}"))
            .await,
        0
    );
}

async fn malformed_bodies_are_refused_naming_the_field(db: Db) {
    let app = spawn_app(db).await;
    let id = submit(&app, Persona::EngineerA, "payments", "basket").await;
    let hash = app.plan_hash(id).await;
    let events_before = app.count_rows("audit_events").await;
    let too_many: Vec<Value> = (1..=101)
        .map(|i| json!({"request_id": i, "plan_hash": hash}))
        .collect();
    for (body, path) in [
        (json!({"approvals": []}), "approvals"),
        (json!({"comment": "no list"}), "approvals"),
        (json!({ "approvals": too_many }), "approvals"),
        (
            json!({"approvals": [{"request_id": id, "plan_hash": "not-a-hash"}]}),
            "approvals[0].plan_hash",
        ),
        (
            json!({"approvals": [{"request_id": id}]}),
            "approvals[0].plan_hash",
        ),
        (
            json!({"approvals": [{"request_id": "12", "plan_hash": hash}]}),
            "approvals[0].request_id",
        ),
        (
            json!({"approvals": [{"request_id": id, "plan_hash": hash}], "comment": "x".repeat(4001)}),
            "comment",
        ),
        (
            json!({"approvals": [{"request_id": id, "plan_hash": hash}], "force": true}),
            "force",
        ),
    ] {
        let (status, answer) = bulk(&app, Persona::LeadA, &body).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"], "invalid_request");
        let paths: Vec<&str> = answer["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .filter_map(|f| f["path"].as_str())
            .collect();
        assert_eq!(paths, [path], "{answer}");
    }
    // Not JSON at all: 400 and 415, like every other body.
    let response = app
        .request(Persona::LeadA, Method::POST, APPROVALS)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 400);
    let response = app
        .request(Persona::LeadA, Method::POST, APPROVALS)
        .body("approve=1")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 415);
    assert_eq!(app.count_rows("audit_events").await, events_before);
    assert_eq!(status_of(&app, id).await, "pending_review");
}

async fn a_token_without_the_review_scope_approves_nothing(db: Db) {
    let app = spawn_app(db).await;
    let id = submit(&app, Persona::EngineerA, "payments", "basket").await;
    let auth =
        server::auth::Auth::new(&app.settings, &app.address, app.store.clone()).expect("auth");
    let groups = vec!["payments".to_owned(), "payments-leads".to_owned()];
    let lead = app
        .store
        .ensure_user("lee@example.com", Some(&groups))
        .await
        .expect("user");
    let scopes = domain::Scopes {
        request: true,
        review: false,
    };
    let (_, token) = auth
        .issue_token(&lead, "ci", TEST_TOKEN_LIFETIME, scopes)
        .await
        .expect("token");
    let response = app
        .client
        .post(format!("{}{APPROVALS}", app.address))
        .bearer_auth(token)
        .json(&approvals_of(&app, &[id], "").await)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 403);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("review"),
        "{body}"
    );
    assert_eq!(app.count_rows("approvals").await, 0);
}

/// Posts the queue's form as a browser without wasm does, from a session of `persona`.
async fn post_queue_form(app: &TestApp, persona: Persona, form: &[(&str, &str)]) -> (u16, String) {
    let cookie = app.session_cookie(persona).await.expect("signed in");
    let response = app
        .client
        .post(format!("{}/reviews", app.address))
        .header(header::COOKIE, cookie)
        .header(header::ORIGIN, &app.address)
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .form(form)
        .send()
        .await
        .expect("post");
    let status = response.status().as_u16();
    (status, response.text().await.expect("html"))
}

async fn the_queue_form_works_without_wasm(db: Db) {
    let app = spawn_app(db).await;
    let first = submit(&app, Persona::EngineerA, "payments", "basket").await;
    let second = submit(&app, Persona::EngineerA, "payments", "wallet").await;
    let third = submit(&app, Persona::EngineerA, "payments", "coupons").await;
    // The queue offers each request with the plan it shows.
    let page = app
        .request(Persona::LeadA, Method::GET, "/reviews")
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let value = |id: i64, hash: &str| format!("{id}:{hash}");
    let (first_hash, second_hash) = (app.plan_hash(first).await, app.plan_hash(second).await);
    assert!(
        page.contains(&format!(r#"value="{}""#, value(first, &first_hash))),
        "{page}"
    );
    assert!(page.contains(&format!("Select #{first} service basket")));

    let (status, html) = post_queue_form(
        &app,
        Persona::LeadA,
        &[
            ("approve", &value(first, &first_hash)),
            ("approve", &value(second, &second_hash)),
            ("comment", "fine without JavaScript"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Approved 2 of 2."), "{html}");
    assert!(
        html.contains("approved service basket; it is queued"),
        "{html}"
    );
    // The queue below is current: the third still waits, the two approved are gone.
    assert!(html.contains(&format!("Select #{third} service coupons")));
    assert!(!html.contains(&format!("Select #{first} ")));
    assert_eq!(status_of(&app, first).await, "queued");
    assert_eq!(status_of(&app, second).await, "queued");
    let approvals = app
        .store
        .approvals(first, &first_hash)
        .await
        .expect("approvals");
    assert_eq!(approvals[0].comment, "fine without JavaScript");

    // Nothing ticked: the page says so, nothing changes.
    let (status, html) = post_queue_form(&app, Persona::LeadA, &[("comment", "")]).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("select at least one request to approve"),
        "{html}"
    );
    assert_eq!(status_of(&app, third).await, "pending_review");
}

on_both_databases!(
    a_lead_approves_three_requests_at_once,
    two_required_approvals_take_two_bulk_reviews,
    a_changed_plan_is_refused_while_the_others_succeed,
    another_teams_request_is_forbidden_and_changes_nothing,
    nobody_approves_their_own_request_in_bulk,
    malformed_bodies_are_refused_naming_the_field,
    a_token_without_the_review_scope_approves_nothing,
    the_queue_form_works_without_wasm,
);
