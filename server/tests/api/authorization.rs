//! The authorization matrix: every endpoint so far × every kind of caller → the status the
//! caller gets, once with personal access tokens and once with browser sessions. Later
//! features add their rows here; `every_endpoint_has_a_matrix_row` fails until they do.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::{Db, Persona, TestApp, spawn_app},
    on_both_databases,
};

/// How the signed-in personas authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// `Authorization: Bearer`, as scripts and the REST API's users do.
    Token,
    /// The session cookie and the portal's own `Origin`, as its pages do.
    Session,
}

/// Expected statuses for (anonymous, engineer of A, engineer of B, lead of A, admin).
type Statuses = [u16; 5];

/// One endpoint. In `path`, `{team}` and `{name}` stand for payments' `ledger` service and
/// `{id}` for a request engineer A submitted for `payments`, as in the OpenAPI document
/// and the app's routes.
struct Row {
    method: Method,
    path: &'static str,
    token: Statuses,
    session: Statuses,
}

impl Row {
    /// The same statuses whichever way the caller authenticates.
    fn new(method: Method, path: &'static str, expected: Statuses) -> Self {
        Self {
            method,
            path,
            token: expected,
            session: expected,
        }
    }

    /// Different statuses for browser sessions.
    fn with_session(self, session: Statuses) -> Self {
        Self { session, ..self }
    }

    fn expected(&self, via: Via) -> Statuses {
        match via {
            Via::Token => self.token,
            Via::Session => self.session,
        }
    }
}

fn get(path: &'static str, expected: Statuses) -> Row {
    Row::new(Method::GET, path, expected)
}

fn post(path: &'static str, expected: Statuses) -> Row {
    Row::new(Method::POST, path, expected)
}

/// The rows, in the order they run: some change the request they act on, and signing out
/// ends the personas' sessions, so it comes last.
fn matrix() -> Vec<Row> {
    let signed_in = [401, 200, 200, 200, 200];
    let page = [303, 200, 200, 200, 200];
    let public = [200; 5];
    // Tokens cannot manage tokens (a leaked one must not mint successors).
    let sessions_only = [401, 403, 403, 403, 403];
    // Members and leads of payments request for payments (the body); nobody else.
    let payments_requesters = [401, 200, 403, 200, 403];
    let admins = [401, 403, 403, 403, 200];
    vec![
        get("/healthz", public),
        get("/readyz", public),
        get("/metrics", public),
        get("/api/openapi.json", public),
        // Sign-in and out. Signed-in callers asking to sign in go where they were going.
        get("/login", [200, 303, 303, 303, 303]),
        // Without code and state, the callback is refused whoever asks.
        get("/auth/callback", [400; 5]),
        // The development sign-in is a public form (from our own pages: see the CSRF test).
        post("/auth/dev", [303; 5]),
        get("/signed-out", public),
        // REST API: reading is for everyone signed in.
        get("/api/v1/me", signed_in),
        get("/api/v1/teams", signed_in),
        get("/api/v1/teams/{team}", signed_in),
        get("/api/v1/services", signed_in),
        get("/api/v1/services/{team}/{name}", signed_in),
        get("/api/v1/services/{team}/{name}/drift", signed_in),
        get("/api/v1/clusters", signed_in),
        get("/api/v1/hosts", signed_in),
        get("/api/v1/certificates", signed_in),
        // Requests are read in the open, like pull requests.
        get("/api/v1/requests", signed_in),
        get("/api/v1/requests/{id}", signed_in),
        get("/api/v1/requests/{id}/manifests", signed_in),
        // The live timeline of a request that can change no more ends after its history.
        get("/api/v1/requests/{id}/events", signed_in),
        get("/api/v1/audit", admins),
        // The IaC repository is read by everyone signed in, like the catalog (nothing is
        // applied in this app: the commit asked for is unknown, and so is the file).
        get("/api/v1/iac/commits", signed_in),
        get("/api/v1/iac/commits/{id}", [401, 404, 404, 404, 404]),
        get("/api/v1/iac/tree", signed_in),
        get("/api/v1/iac/files", [401, 404, 404, 404, 404]),
        get("/api/v1/iac/history", signed_in),
        post("/api/v1/requests", [401, 201, 403, 201, 403]),
        post("/api/v1/requests/preview", payments_requesters),
        // Pages. The root is the app's own redirect to the catalog (302).
        get("/", [303, 302, 302, 302, 302]),
        get("/services", page),
        get("/services/{team}/{name}", page),
        get("/teams", page),
        get("/teams/{team}", page),
        get("/clusters", page),
        get("/hosts", page),
        get("/certificates", page),
        get("/requests", page),
        get("/requests/new", page),
        get("/requests/{id}", page),
        get("/reviews", page),
        get("/infrastructure", page),
        get("/infrastructure/commits/{id}", [303, 404, 404, 404, 404]),
        get("/infrastructure/object", [303, 404, 404, 404, 404]),
        // The audit page says 403 to everyone but admins.
        get("/audit", [303, 403, 403, 403, 200]),
        // The tokens page works from a browser session; with a token it says 403.
        get("/settings/tokens", [303, 403, 403, 403, 403]).with_session(page),
        // "Create token" without the wasm: the page again with the secret in it.
        post("/settings/tokens", [303, 403, 403, 403, 403]).with_session([303, 201, 201, 201, 201]),
        // Server functions behind the pages.
        post("/rpc/me", signed_in),
        post("/rpc/teams", signed_in),
        post("/rpc/team", signed_in),
        post("/rpc/services", signed_in),
        post("/rpc/service", signed_in),
        post("/rpc/service_drift", signed_in),
        post("/rpc/clusters", signed_in),
        post("/rpc/cluster_names", signed_in),
        post("/rpc/hosts", signed_in),
        post("/rpc/certificates", signed_in),
        post("/rpc/tokens", sessions_only).with_session(signed_in),
        post("/rpc/tokens/create", sessions_only).with_session(signed_in),
        // The token revoked is engineer A's: only they find it.
        post("/rpc/tokens/revoke", sessions_only).with_session([401, 200, 404, 404, 404]),
        post("/rpc/requests", signed_in),
        post("/rpc/request", signed_in),
        post("/rpc/request/live", signed_in),
        // The approved state a change starts from: readable like requests themselves.
        post("/rpc/requests/approved", signed_in),
        post("/rpc/reviews", signed_in),
        post("/rpc/iac/commits", signed_in),
        post("/rpc/iac/commit", [401, 404, 404, 404, 404]),
        post("/rpc/iac/tree", signed_in),
        post("/rpc/iac/file", [401, 404, 404, 404, 404]),
        post("/rpc/iac/history", signed_in),
        post("/rpc/audit", admins),
        post("/rpc/requests/preview", payments_requesters),
        post("/rpc/requests/submit", payments_requesters),
        // Everyone who can read a request may comment on it.
        post("/api/v1/requests/{id}/comments", signed_in),
        post("/rpc/requests/comment", signed_in),
        // Reviewers are told the reason is missing; everyone else that they may not review.
        post("/api/v1/requests/{id}/reject", [401, 403, 403, 422, 422]),
        post("/rpc/requests/reject", [401, 403, 403, 400, 400]),
        // Only the requester cancels. Callers go in the order above, so engineer A cancels
        // first; the others are refused for who they are, not for the request's state.
        post("/api/v1/requests/{id}/cancel", [401, 200, 403, 403, 403]),
        // Cancelled already: the requester hears so (409), the others are still refused.
        post("/rpc/requests/cancel", [401, 409, 403, 403, 403]),
        // Now cancelled: reviewers hear 409 (wrong state), others 403 (not theirs to act on).
        post("/api/v1/requests/{id}/approve", [401, 403, 403, 409, 409]),
        post("/rpc/requests/approve", [401, 403, 403, 409, 409]),
        post("/api/v1/requests/{id}/retry", [401, 403, 403, 409, 409]),
        post("/rpc/requests/retry", [401, 403, 403, 409, 409]),
        // Approving several at once answers per request (this one is refused to each, for
        // who they are or for its state), so everyone signed in gets the list.
        post("/api/v1/reviews/approvals", signed_in),
        post("/rpc/reviews/approve", signed_in),
        post("/reviews", page),
        // Offboarding, on a leaver of their own (admins only; the writes change it, so
        // each runs once per admin: revoke, then deactivate and reactivate twice over).
        get("/api/v1/admin/users", admins),
        get("/api/v1/admin/users/{id}", admins),
        get("/admin/users", [303, 403, 403, 403, 200]),
        get("/admin/users/{id}", [303, 403, 403, 403, 200]),
        post("/rpc/admin/users", admins),
        post("/rpc/admin/user", admins),
        post(
            "/api/v1/admin/tokens/{id}/revoke",
            [401, 403, 403, 403, 204],
        ),
        post("/rpc/admin/tokens/revoke", admins),
        post("/api/v1/admin/users/{id}/deactivate", admins),
        post("/api/v1/admin/users/{id}/reactivate", admins),
        post("/rpc/admin/deactivate", admins),
        post("/rpc/admin/reactivate", admins),
        // Last: signing out ends the sessions the rows above use.
        post("/logout", [303; 5]),
    ]
}

/// The request a row sends: its path with the placeholders filled in, and its body.
struct Call {
    path: String,
    body: Body,
}

enum Body {
    None,
    Json(Value),
    /// What a plain HTML form (or `ActionForm`) posts.
    Form(Vec<(&'static str, String)>),
}

/// Ids the rows refer to.
struct Subjects {
    request: i64,
    /// The plan hash a reviewer of that request is shown.
    plan: String,
    /// A token of engineer A's.
    token: i64,
    /// Someone for admins to offboard, and two of their tokens.
    leaver: i64,
    leaver_tokens: [i64; 2],
}

fn new_request() -> Value {
    json!({
        "kind": "service", "team": "payments", "cluster": "demo", "reason": "matrix",
        "spec": {"name": "orders", "image": "ghcr.io/acme/orders:1.0.0", "port": 8080}
    })
}

/// A valid body where the endpoint reads one (`reject` gets an empty reason on purpose).
fn call(row: &Row, subjects: &Subjects) -> Call {
    let id = subjects.request.to_string();
    let id_in_path = if row.path.contains("/admin/users/") {
        subjects.leaver.to_string()
    } else if row.path.contains("/admin/tokens/") {
        subjects.leaver_tokens[0].to_string()
    } else {
        id.clone()
    };
    let object = "clusters/demo/payments/deployment-ledger.yaml";
    let path = row
        .path
        .replace("{team}", "payments")
        .replace("{name}", "ledger")
        .replace("{id}", &id_in_path)
        + match row.path {
            "/api/v1/iac/tree" => "?cluster=demo",
            "/api/v1/iac/files" | "/api/v1/iac/history" | "/infrastructure/object" => {
                "?path=clusters/demo/payments/deployment-ledger.yaml"
            }
            _ => "",
        };
    let leaver = subjects.leaver.to_string();
    let form = |pairs: &[(&'static str, &str)]| {
        Body::Form(pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect())
    };
    let body = match row.path {
        _ if row.method == Method::GET => Body::None,
        "/logout" => Body::None,
        "/auth/dev" => form(&[("email", "admin@example.com"), ("return_to", "/services")]),
        "/api/v1/requests" | "/api/v1/requests/preview" => Body::Json(new_request()),
        p if p.ends_with("/comments") => Body::Json(json!({ "comment": "matrix" })),
        p if p.ends_with("/reject") && p.starts_with("/api/") => {
            Body::Json(json!({ "comment": "", "plan_hash": subjects.plan }))
        }
        p if p.ends_with("/approve") && p.starts_with("/api/") => {
            Body::Json(json!({ "plan_hash": subjects.plan }))
        }
        "/rpc/services" | "/rpc/requests" | "/rpc/audit" | "/rpc/iac/commits" => {
            Body::Json(json!({ "query": {} }))
        }
        "/rpc/iac/commit" => Body::Json(json!({ "id": "0000000" })),
        "/rpc/iac/tree" => Body::Json(json!({ "query": { "cluster": "demo" } })),
        "/rpc/iac/file" | "/rpc/iac/history" => Body::Json(json!({ "query": { "path": object } })),
        "/rpc/team" => Body::Json(json!({ "team": "payments" })),
        "/rpc/service" | "/rpc/service_drift" => {
            Body::Json(json!({ "team": "payments", "name": "ledger" }))
        }
        "/rpc/request" | "/rpc/request/live" => Body::Json(json!({ "id": subjects.request })),
        "/rpc/requests/approved" => {
            Body::Json(json!({ "kind": "service", "team": "payments", "name": "ledger" }))
        }
        "/rpc/admin/users" => Body::Json(json!({ "query": {} })),
        "/rpc/admin/user" => Body::Json(json!({ "id": subjects.leaver })),
        "/rpc/admin/deactivate" => form(&[("id", &leaver), ("confirm", "yes")]),
        "/rpc/admin/reactivate" => form(&[("id", &leaver)]),
        "/rpc/admin/tokens/revoke" => form(&[("id", &subjects.leaver_tokens[1].to_string())]),
        "/rpc/requests/preview" | "/rpc/requests/submit" => {
            Body::Json(json!({ "input": new_request() }))
        }
        // Form-encoded server functions (they work before the page is interactive).
        "/rpc/tokens/create" => form(&[("name", "matrix"), ("expires_in_days", "30")]),
        "/rpc/tokens/revoke" => form(&[("id", &subjects.token.to_string())]),
        "/settings/tokens" => form(&[("name", "matrix-page"), ("expires_in_days", "30")]),
        "/rpc/requests/comment" => form(&[("id", &id), ("comment", "matrix")]),
        "/rpc/requests/reject" => {
            form(&[("id", &id), ("comment", ""), ("plan_hash", &subjects.plan)])
        }
        "/rpc/requests/cancel" | "/rpc/requests/retry" => form(&[("id", &id)]),
        "/rpc/requests/approve" => {
            form(&[("id", &id), ("comment", ""), ("plan_hash", &subjects.plan)])
        }
        "/api/v1/reviews/approvals" | "/rpc/reviews/approve" => Body::Json(json!({
            "approvals": [{ "request_id": subjects.request, "plan_hash": subjects.plan }],
            "comment": "",
        })),
        "/reviews" => form(&[("approve", &format!("{id}:{}", subjects.plan))]),
        _ => Body::Json(json!({})),
    };
    Call { path, body }
}

/// `persona`'s request, authenticated `via`, from `origin`.
fn request(
    app: &TestApp,
    via: Via,
    cookies: &[(Persona, String)],
    persona: Persona,
    method: Method,
    call: &Call,
    origin: &str,
) -> reqwest::RequestBuilder {
    let mut request = match via {
        Via::Token => app.request(persona, method.clone(), &call.path),
        Via::Session => {
            let request = app
                .client
                .request(method.clone(), format!("{}{}", app.address, call.path));
            match cookies.iter().find(|(p, _)| *p == persona) {
                Some((_, cookie)) => request.header("cookie", cookie),
                None => request,
            }
        }
    };
    request = request.header("origin", origin);
    if method == Method::GET {
        request = request.header("accept", "text/html");
    }
    match &call.body {
        Body::None => request,
        Body::Json(value) => request.json(value),
        Body::Form(pairs) => request.form(pairs),
    }
}

/// `leaver@example.com` with two tokens, made as `stargate token create` makes them.
async fn leaver(app: &TestApp) -> (i64, [i64; 2]) {
    let user = app
        .store
        .ensure_user("leaver@example.com", Some(&["search".to_owned()]))
        .await
        .expect("leaver");
    let auth =
        server::auth::Auth::new(&app.settings, &app.address, app.store.clone()).expect("auth");
    let mut ids = [0; 2];
    for id in &mut ids {
        let lifetime = std::time::Duration::from_secs(3600);
        let issued = auth.issue_token(&user, "leaver", lifetime, domain::Scopes::ALL);
        *id = issued.await.expect("token").0;
    }
    (user.id, ids)
}

/// Runs the matrix on a fresh app and returns every status that differs from the row's.
/// With sessions, each write is also sent from another site and must be refused.
async fn mismatches(db: Db, via: Via) -> Vec<String> {
    let app = spawn_app(db).await;
    let submitted = app
        .request(Persona::EngineerA, Method::POST, "/api/v1/requests")
        .json(&new_request())
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 201);
    let submitted: Value = submitted.json().await.unwrap();
    let (leaver, leaver_tokens) = leaver(&app).await;
    let subjects = Subjects {
        leaver,
        leaver_tokens,
        request: submitted["request"]["id"].as_i64().unwrap(),
        plan: submitted["plan"]["hash"].as_str().unwrap().to_owned(),
        token: app
            .token_id(Persona::EngineerA)
            .expect("engineer A's token"),
    };
    let mut cookies = Vec::new();
    for persona in Persona::ALL {
        if let Some(cookie) = app.session_cookie(persona).await {
            cookies.push((persona, cookie));
        }
    }

    let mut mismatches = Vec::new();
    for row in matrix() {
        let call = call(&row, &subjects);
        for (persona, want) in Persona::ALL.into_iter().zip(row.expected(via)) {
            if via == Via::Session && row.method != Method::GET {
                // Browser writes from another site: refused before they do anything. Only
                // an API call without any credentials goes on, to its 401.
                let want = if persona == Persona::Anonymous && call.path.starts_with("/api/") {
                    401
                } else {
                    403
                };
                let forged = request(
                    &app,
                    via,
                    &cookies,
                    persona,
                    row.method.clone(),
                    &call,
                    "https://evil.example",
                );
                let got = forged.send().await.unwrap().status().as_u16();
                if got != want {
                    mismatches.push(format!(
                        "{} {} as {persona:?} from another site: got {got}, want {want}",
                        row.method, call.path
                    ));
                }
            }
            let response = request(
                &app,
                via,
                &cookies,
                persona,
                row.method.clone(),
                &call,
                &app.address,
            );
            let got = response.send().await.unwrap().status().as_u16();
            if got != want {
                mismatches.push(format!(
                    "{} {} as {persona:?} via {via:?}: got {got}, want {want}",
                    row.method, call.path
                ));
            }
        }
    }
    mismatches
}

async fn with_tokens_every_endpoint_answers_each_caller_as_expected(db: Db) {
    let mismatches = mismatches(db, Via::Token).await;
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

async fn with_sessions_every_endpoint_answers_each_caller_as_expected(db: Db) {
    let mismatches = mismatches(db, Via::Session).await;
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

on_both_databases!(
    with_tokens_every_endpoint_answers_each_caller_as_expected,
    with_sessions_every_endpoint_answers_each_caller_as_expected,
);

/// A new server function, REST path or page cannot go without a row: the registered server
/// functions, the OpenAPI document's operations and the app's routes must all be in the
/// matrix.
#[tokio::test]
async fn every_endpoint_has_a_matrix_row() {
    let rows: BTreeSet<(String, String)> = matrix()
        .iter()
        .map(|row| (row.method.to_string(), row.path.to_owned()))
        .collect();
    let mut endpoints = BTreeSet::new();
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        endpoints.insert((method.to_string(), path.to_owned()));
    }
    assert!(
        endpoints.iter().any(|(_, path)| path == "/rpc/me"),
        "the server functions are registered: {endpoints:?}"
    );
    let app = spawn_app(Db::Sqlite).await;
    let doc: Value = app
        .get_as(Persona::Anonymous, "/api/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let server = doc["servers"][0]["url"].as_str().unwrap_or_default();
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        for method in operations.as_object().expect("operations").keys() {
            endpoints.insert((method.to_uppercase(), format!("{server}{path}")));
        }
    }
    for route in leptos_axum::generate_route_list(app::App) {
        for method in route.methods() {
            let method = format!("{method:?}").to_uppercase();
            endpoints.insert((method, route.path().to_owned()));
        }
    }
    let missing: Vec<String> = endpoints
        .difference(&rows)
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(
        missing.is_empty(),
        "no row in the authorization matrix for:\n{}",
        missing.join("\n")
    );
}
