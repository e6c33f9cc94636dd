//! The authorization matrix: every endpoint so far × every kind of caller → the status the
//! caller gets. Later features add their rows here.

use reqwest::Method;

use crate::helpers::{Db, Persona, spawn_app};

/// Expected status for (anonymous, engineer of A, engineer of B, lead of A, admin).
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
    ]
}

#[tokio::test]
async fn every_endpoint_answers_each_caller_as_expected() {
    let app = spawn_app(Db::Sqlite).await;
    let mut mismatches = Vec::new();
    for (method, path, expected) in matrix() {
        for (persona, want) in Persona::ALL.into_iter().zip(expected) {
            let mut request = app
                .request(persona, method.clone(), path)
                .header("origin", &app.address);
            if method == Method::GET {
                request = request.header("accept", "text/html");
            } else {
                let body = if path == "/rpc/services" {
                    serde_json::json!({ "query": {} })
                } else {
                    serde_json::json!({})
                };
                request = request.json(&body);
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
