//! `/api/openapi.json` describes the API that is really served.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Db, Persona, spawn_app};

/// A request engineer A may submit (payments is their team).
fn request_body() -> serde_json::Value {
    json!({
        "kind": "service", "team": "payments", "cluster": "demo",
        "spec": {"name": "orders", "image": "ghcr.io/acme/orders:1.0.0", "port": 8080}
    })
}

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    let app = spawn_app(Db::Sqlite).await;
    // A request for the `{id}` paths.
    let submitted: serde_json::Value = app
        .request(Persona::EngineerA, Method::POST, "/api/v1/requests")
        .json(&request_body())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request_id = submitted["request"]["id"].as_i64().unwrap().to_string();
    let response = app.get_as(Persona::Anonymous, "/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    let doc: serde_json::Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
    documented.sort();
    assert_eq!(
        documented,
        [
            "/admin/tokens/{id}/revoke",
            "/admin/users",
            "/admin/users/{id}",
            "/admin/users/{id}/deactivate",
            "/admin/users/{id}/reactivate",
            "/audit",
            "/certificates",
            "/clusters",
            "/hosts",
            "/iac/commits",
            "/iac/commits/{id}",
            "/iac/files",
            "/iac/history",
            "/iac/tree",
            "/me",
            "/requests",
            "/requests/preview",
            "/requests/{id}",
            "/requests/{id}/approve",
            "/requests/{id}/cancel",
            "/requests/{id}/comments",
            "/requests/{id}/events",
            "/requests/{id}/manifests",
            "/requests/{id}/reject",
            "/requests/{id}/retry",
            "/reviews/approvals",
            "/services",
            "/services/{team}/{name}",
            "/services/{team}/{name}/drift",
            "/teams",
            "/teams/{team}",
        ]
    );
    // A user for the `/admin/users/{id}` paths (engineer A: their writes are refused).
    let user = app
        .store
        .ensure_user("pat@example.com", None)
        .await
        .unwrap();
    for (path, operations) in paths {
        let id = if path.starts_with("/admin/users/") {
            user.id.to_string()
        } else {
            request_id.clone()
        };
        // The IaC paths need their query; nothing is applied in this app, so no commit or
        // file exists to read (their 200s are `iac_browse`'s business).
        let (id, query, absent) = match path.as_str() {
            "/iac/commits/{id}" => ("abcdef0".to_owned(), "", true),
            "/iac/tree" => (id, "?cluster=demo", false),
            "/iac/history" => (
                id,
                "?path=clusters/demo/payments/deployment-ledger.yaml",
                false,
            ),
            "/iac/files" => (
                id,
                "?path=clusters/demo/payments/deployment-ledger.yaml",
                true,
            ),
            _ => (id, "", false),
        };
        let concrete = path
            .replace("{team}", "payments")
            .replace("{name}", "ledger")
            .replace("{id}", &id)
            + query;
        let url = format!("/api/v1{concrete}");
        for (method, operation) in operations.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            assert!(
                method == Method::GET || method == Method::POST,
                "{method} {path}"
            );
            let send = |persona: Persona| {
                let request = app
                    .request(persona, method.clone(), &url)
                    .header("origin", &app.address);
                if method == Method::POST {
                    request.json(&request_body())
                } else {
                    request
                }
                .send()
            };
            // Reads as an admin, who may read everything (the audit log too); writes as
            // engineer A, who submitted the request.
            let caller = if method == Method::GET {
                Persona::Admin
            } else {
                Persona::EngineerA
            };
            let response = send(caller).await.unwrap();
            let status = response.status().as_u16().to_string();
            assert!(
                operation["responses"].get(&status).is_some(),
                "{method} {path} answered {status}, not among its documented responses"
            );
            // Reads succeed; a write may be refused (engineer A cannot approve their own
            // request), but only as documented and never with a server error.
            if absent {
                assert_eq!(status, "404", "{method} {path}");
            } else if method == Method::GET {
                assert!(status.starts_with('2'), "{method} {path} answered {status}");
            } else {
                assert!(
                    !status.starts_with('5'),
                    "{method} {path} answered {status}"
                );
            }
            if path.ends_with("/manifests") {
                assert!(!response.text().await.unwrap().is_empty(), "{path}");
            } else if path.ends_with("/events") {
                // A live stream: its type is the contract; the body goes on.
                let kind = response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                assert!(kind.starts_with("text/event-stream"), "{path}: {kind}");
            } else {
                let body: serde_json::Value = response.json().await.unwrap();
                assert!(body.is_object() || body.is_array(), "{path}");
            }
            let anonymous = send(Persona::Anonymous).await.unwrap();
            assert_eq!(anonymous.status(), 401, "{method} {path}");
            assert!(
                operation["responses"].get("401").is_some(),
                "{path} documents 401"
            );
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "ServiceSummary",
        "ServiceDetail",
        "ErrorBody",
        "Me",
        "Certificate",
        "RequestDetail",
        "RequestSummary",
        "PreparedChange",
        "UserSummary",
        "UserDetail",
        "Deactivation",
    ] {
        assert!(schemas.contains_key(schema), "{schema}");
    }
}
