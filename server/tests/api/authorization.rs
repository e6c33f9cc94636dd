//! The authorization matrix: every endpoint so far × every kind of caller → the status the
//! caller gets. Later features add their rows here.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Db, Persona, spawn_app};

/// Expected status for (anonymous, engineer of A, engineer of B, lead of A, admin).
/// `{request}` in a path stands for a request engineer A submitted for `payments`.
type Row = (Method, &'static str, [u16; 5]);

fn matrix() -> Vec<Row> {
    let signed_in = [401, 200, 200, 200, 200];
    let page = [303, 200, 200, 200, 200];
    let public = [200; 5];
    vec![
        (Method::GET, "/healthz", public),
        (Method::GET, "/readyz", public),
        (Method::GET, "/metrics", public),
        (Method::GET, "/api/openapi.json", public),
        (Method::GET, "/api/v1/me", signed_in),
        (Method::GET, "/api/v1/teams", signed_in),
        (Method::GET, "/api/v1/services", signed_in),
        (Method::GET, "/api/v1/services/payments/ledger", signed_in),
        (Method::GET, "/api/v1/teams/payments", signed_in),
        (Method::GET, "/api/v1/clusters", signed_in),
        (Method::GET, "/api/v1/hosts", signed_in),
        (Method::GET, "/api/v1/certificates", signed_in),
        (Method::GET, "/teams", page),
        (Method::GET, "/teams/search", page),
        (Method::GET, "/clusters", page),
        (Method::GET, "/hosts", page),
        (Method::GET, "/certificates", page),
        (Method::GET, "/services", page),
        (Method::GET, "/services/search/ranking", page),
        // The tokens page works from a browser session; with a token it says 403.
        (Method::GET, "/settings/tokens", [303, 403, 403, 403, 403]),
        // Token management needs a browser session: with tokens, 403.
        (Method::POST, "/rpc/tokens", [401, 403, 403, 403, 403]),
        (Method::POST, "/rpc/services", signed_in),
        (Method::POST, "/rpc/cluster_names", signed_in),
        // Requests are read in the open, like pull requests.
        (Method::GET, "/api/v1/requests", signed_in),
        (Method::GET, "/api/v1/requests/{request}", signed_in),
        (
            Method::GET,
            "/api/v1/requests/{request}/manifests",
            signed_in,
        ),
        // The audit log is for admins; the page says 403 to everyone else.
        (Method::GET, "/api/v1/audit", [401, 403, 403, 403, 200]),
        (Method::GET, "/audit", [303, 403, 403, 403, 200]),
        // Members and leads of payments request for payments (the body); nobody else.
        (Method::POST, "/api/v1/requests", [401, 201, 403, 201, 403]),
        (
            Method::POST,
            "/api/v1/requests/preview",
            [401, 200, 403, 200, 403],
        ),
        (Method::GET, "/requests", page),
        (Method::GET, "/requests/new", page),
        (Method::GET, "/requests/{request}", page),
        (Method::GET, "/reviews", page),
        // Everyone who can read a request may comment on it.
        (
            Method::POST,
            "/api/v1/requests/{request}/comments",
            [401, 200, 200, 200, 200],
        ),
        // Reviewers are told the reason is missing; everyone else that they may not review.
        (
            Method::POST,
            "/api/v1/requests/{request}/reject",
            [401, 403, 403, 422, 422],
        ),
        // Only the requester cancels. Callers go in the order above, so engineer A cancels
        // first; the others are refused for who they are, not for the request's state.
        (
            Method::POST,
            "/api/v1/requests/{request}/cancel",
            [401, 200, 403, 403, 403],
        ),
        // Now cancelled: reviewers hear 409 (wrong state), others 403 (not theirs to act on).
        (
            Method::POST,
            "/api/v1/requests/{request}/approve",
            [401, 403, 403, 409, 409],
        ),
        (
            Method::POST,
            "/api/v1/requests/{request}/retry",
            [401, 403, 403, 409, 409],
        ),
        // The live timeline of a request that can change no more ends after its history.
        (
            Method::GET,
            "/api/v1/requests/{request}/events",
            [401, 200, 200, 200, 200],
        ),
    ]
}

/// What a write sends: a valid body where the endpoint reads one.
fn body_for(path: &str) -> Value {
    match path {
        "/rpc/services" => json!({ "query": {} }),
        "/api/v1/requests" | "/api/v1/requests/preview" => json!({
            "kind": "service", "team": "payments", "cluster": "demo", "reason": "matrix",
            "spec": {"name": "orders", "image": "ghcr.io/acme/orders:1.0.0", "port": 8080}
        }),
        p if p.ends_with("/comments") => json!({ "comment": "matrix" }),
        p if p.ends_with("/reject") => json!({ "comment": "" }),
        _ => json!({}),
    }
}

#[tokio::test]
async fn every_endpoint_answers_each_caller_as_expected() {
    let app = spawn_app(Db::Sqlite).await;
    let submitted = app
        .request(Persona::EngineerA, Method::POST, "/api/v1/requests")
        .json(&body_for("/api/v1/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 201);
    let submitted: Value = submitted.json().await.unwrap();
    let request_id = submitted["request"]["id"].as_i64().unwrap().to_string();
    let mut mismatches = Vec::new();
    for (method, path, expected) in matrix() {
        let path = path.replace("{request}", &request_id);
        for (persona, want) in Persona::ALL.into_iter().zip(expected) {
            let mut request = app
                .request(persona, method.clone(), &path)
                .header("origin", &app.address);
            if method == Method::GET {
                request = request.header("accept", "text/html");
            } else {
                request = request.json(&body_for(&path));
            }
            let got = request.send().await.unwrap().status().as_u16();
            if got != want {
                mismatches.push(format!(
                    "{method} {path} as {persona:?}: got {got}, want {want}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
