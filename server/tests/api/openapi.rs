//! `/api/openapi.json` describes the API that is really served.

use crate::helpers::{Db, Persona, spawn_app};

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    let app = spawn_app(Db::Sqlite).await;
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
            "/certificates",
            "/clusters",
            "/hosts",
            "/me",
            "/services",
            "/services/{team}/{name}",
            "/teams",
            "/teams/{team}",
        ]
    );
    for (path, operations) in paths {
        let concrete = path
            .replace("{team}", "payments")
            .replace("{name}", "ledger");
        for (method, operation) in operations.as_object().unwrap() {
            assert_eq!(method, "get", "{path}");
            let response = app.get(&format!("/api/v1{concrete}")).await;
            let status = response.status().as_u16().to_string();
            assert!(
                operation["responses"].get(&status).is_some(),
                "{path} answered {status}, not among its documented responses"
            );
            assert_eq!(status, "200", "{path}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert!(body.is_object() || body.is_array(), "{path}");
            let anonymous = app
                .get_as(Persona::Anonymous, &format!("/api/v1{concrete}"))
                .await;
            assert_eq!(anonymous.status(), 401);
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
    ] {
        assert!(schemas.contains_key(schema), "{schema}");
    }
}
