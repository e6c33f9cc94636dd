//! Plain form posts, as a browser sends them from a page the wasm bundle has not taken
//! over: the portal answers with a redirect or with the page again, never with JSON.

use reqwest::{Method, StatusCode, header};

use crate::{
    helpers::{Db, Persona, TestApp, spawn_app},
    on_both_databases,
};

/// Posts `form` to `path` from a browser session of `persona`, as a page on `origin` would.
async fn post_form(
    app: &TestApp,
    persona: Persona,
    origin: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let cookie = app
        .session_cookie(persona)
        .await
        .expect("a signed-in persona");
    app.client
        .post(format!("{}{path}", app.address))
        .header(header::COOKIE, cookie)
        .header(header::ORIGIN, origin)
        .header(header::REFERER, format!("{}/requests/1", app.address))
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .form(form)
        .send()
        .await
        .expect("post")
}

const BASKET: &[(&str, &str)] = &[
    ("kind", "service"),
    ("team", "payments"),
    ("cluster", "demo"),
    ("spec.name", "basket"),
    ("spec.image", "ghcr.io/acme/basket:1.0.0"),
    ("spec.port", "8080"),
    ("spec.replicas", "2"),
    ("spec.protocol", "http"),
    ("spec.env", "LOG_LEVEL=info\nREGION=eu"),
    ("reason", "A basket for the shop"),
];

/// Where a plain post of the engineer's to a server function sends the browser back to.
async fn posted_back(app: &TestApp, path: &str, form: &[(&str, &str)]) -> String {
    let response = post_form(app, Persona::EngineerA, &app.address, path, form).await;
    assert_eq!(response.status(), StatusCode::FOUND, "{path}");
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap_or_default()
        .to_owned()
}

/// The basket request submitted by a plain post of the engineer's; its id.
async fn submit_basket(app: &TestApp) -> String {
    let created = post_form(
        app,
        Persona::EngineerA,
        &app.address,
        "/requests/new?kind=service",
        BASKET,
    )
    .await;
    let location = created.headers()[header::LOCATION]
        .to_str()
        .expect("a redirect to the new request");
    location.trim_start_matches("/requests/").to_owned()
}

async fn a_form_post_submits_and_goes_to_the_new_request(db: Db) {
    let app = spawn_app(db).await;
    let response = post_form(
        &app,
        Persona::EngineerA,
        &app.address,
        "/requests/new?kind=service",
        BASKET,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    let id = location.strip_prefix("/requests/").expect(location);

    let (status, request) = app.get_json(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(request["request"]["status"], "pending_review");
    assert_eq!(request["request"]["reason"], "A basket for the shop");
    assert_eq!(request["spec"]["image"], "ghcr.io/acme/basket:1.0.0");
    assert_eq!(request["spec"]["env"]["REGION"], "eu", "{request}");
}

/// Without wasm the replicas input stays enabled when "A HorizontalPodAutoscaler" is
/// picked: what it still holds is ignored, not a 422.
async fn a_form_post_for_an_autoscaler_ignores_the_replicas_input(db: Db) {
    let app = spawn_app(db).await;
    let mut form = BASKET.to_vec();
    form.push(("spec.scaling", "hpa"));
    let response = post_form(
        &app,
        Persona::EngineerA,
        &app.address,
        "/requests/new?kind=service",
        &form,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    let id = location.strip_prefix("/requests/").expect(location);
    let (_, request) = app.get_json(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(request["spec"]["scaling"], "hpa", "{request}");
    assert!(request["spec"].get("replicas").is_none(), "{request}");
    let manifests = request["manifests"].as_str().unwrap_or_default();
    assert!(
        manifests.contains("kind: Deployment") && !manifests.contains("replicas"),
        "{manifests}"
    );

    // The form offers the choice, labelled, with the replicas input beside it.
    let (_, html) = app.get_page("/requests/new?kind=service").await;
    assert!(
        html.contains(r#"<label for="field-spec-scaling">Replicas set by</label>"#),
        "{html}"
    );
    assert!(html.contains("A HorizontalPodAutoscaler"), "{html}");
}

async fn a_refused_form_post_comes_back_as_typed_with_its_errors(db: Db) {
    let app = spawn_app(db).await;
    let mut form = BASKET.to_vec();
    form.retain(|(k, _)| *k != "spec.image" && *k != "spec.name");
    form.push(("spec.name", "Basket!"));
    let response = post_form(
        &app,
        Persona::EngineerA,
        &app.address,
        "/requests/new?kind=service",
        &form,
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains(r#"value="Basket!""#),
        "keeps the name: {html}"
    );
    assert!(
        html.contains(">A basket for the shop</textarea>"),
        "keeps the reason"
    );
    assert!(
        html.contains(r#"data-field="spec.image" class="field-error">is required"#),
        "{html}"
    );
    assert!(html.contains(r#"data-field="spec.name" class="field-error">may contain only"#));
    assert_eq!(app.count_rows("requests").await, 0, "nothing stored");

    // A catalog rule, not only the browser's own check: a host another service holds.
    let ingress = [
        ("kind", "ingress"),
        ("team", "payments"),
        ("cluster", "demo"),
        ("spec.host", "merchants.payments.example.com"),
        ("spec.service", "ledger"),
        ("spec.port", "8080"),
        ("spec.class", "nginx"),
    ];
    let response = post_form(
        &app,
        Persona::EngineerA,
        &app.address,
        "/requests/new?kind=ingress",
        &ingress,
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("merchant-portal"), "names the holder: {html}");
    assert!(html.contains(r#"<option value="ledger" selected"#));
}

async fn a_form_post_exposes_a_port_or_comes_back_with_the_rules_errors(db: Db) {
    let app = spawn_app(db).await;
    let nlb = [
        ("kind", "exposure"),
        ("team", "payments"),
        ("cluster", "demo"),
        ("spec.service", "ledger"),
        ("spec.port", "8080"),
        ("spec.protocol", "udp"),
        ("spec.external_port", "5353"),
        ("spec.via", "nlb"),
        ("spec.scheme", "internet-facing"),
        ("reason", "DNS for the ledger"),
    ];
    let response = post_form(
        &app,
        Persona::EngineerA,
        &app.address,
        "/requests/new?kind=exposure",
        &nlb,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    let id = location.strip_prefix("/requests/").expect(location);
    let (_, request) = app.get_json(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(request["request"]["title"], "exposure udp 5353 → ledger");
    assert_eq!(request["spec"]["scheme"], "internet-facing", "{request}");

    // ingress-nginx's own port, and a service port the catalog does not know.
    let mut nginx = nlb.to_vec();
    nginx.retain(|(k, _)| {
        ![
            "spec.via",
            "spec.protocol",
            "spec.external_port",
            "spec.port",
        ]
        .contains(k)
    });
    nginx.extend([
        ("spec.via", "nginx"),
        ("spec.protocol", "tcp"),
        ("spec.external_port", "443"),
        ("spec.port", "8080"),
    ]);
    let response = post_form(
        &app,
        Persona::EngineerA,
        &app.address,
        "/requests/new?kind=exposure",
        &nginx,
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(r#"data-field="spec.external_port" class="field-error">ingress-nginx listens on TCP 443 itself"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="nginx" selected"#),
        "keeps the choice"
    );
}

/// "Restore approved state" opens the form filled in; posted without wasm, a restore of a
/// service with nothing drifted comes back with the rule's words on the service.
async fn a_restore_form_is_filled_from_its_link_and_posts_plainly(db: Db) {
    let app = spawn_app(db).await;
    let (status, html) = app
        .get_page("/requests/new?kind=restore&team=payments&cluster=demo&spec.service=ledger")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="spec.service""#), "{html}");
    assert!(html.contains(r#"value="ledger""#), "{html}");
    let response = post_form(
        &app,
        Persona::EngineerA,
        &app.address,
        "/requests/new?kind=restore",
        &[
            ("kind", "restore"),
            ("team", "payments"),
            ("cluster", "demo"),
            ("spec.service", "ledger"),
            ("reason", "scaled by hand"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(r#"data-field="spec.service" class="field-error">nothing has drifted"#),
        "{html}"
    );
}

on_both_databases!(a_restore_form_is_filled_from_its_link_and_posts_plainly);

/// "Adopt live values" opens the form filled in; posted without wasm, an adopt of a
/// service with nothing drifted comes back with the rule's words on the service.
async fn an_adopt_form_is_filled_from_its_link_and_posts_plainly(db: Db) {
    let app = spawn_app(db).await;
    let (status, html) = app
        .get_page("/requests/new?kind=adopt&team=payments&cluster=demo&spec.service=ledger")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="spec.service""#), "{html}");
    assert!(html.contains(r#"value="ledger""#), "{html}");
    assert!(html.contains("approved → live"), "{html}");
    let response = post_form(
        &app,
        Persona::EngineerA,
        &app.address,
        "/requests/new?kind=adopt",
        &[
            ("kind", "adopt"),
            ("team", "payments"),
            ("cluster", "demo"),
            ("spec.service", "ledger"),
            ("reason", "scaled by hand"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(r#"data-field="spec.service" class="field-error">nothing has drifted"#),
        "{html}"
    );
}

on_both_databases!(an_adopt_form_is_filled_from_its_link_and_posts_plainly);

/// The import form has its labelled Namespace field; posted without wasm, an admin's
/// import on the demo's dry-run cluster comes back with why on the cluster, and anyone
/// else's is refused.
async fn an_import_form_posts_plainly_for_admins_only(db: Db) {
    let app = spawn_app(db).await;
    let (status, html) = app.get_page("/requests/new?kind=import").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="spec.namespace""#), "{html}");
    assert!(html.contains(">Namespace<"), "{html}");
    let form = [
        ("kind", "import"),
        ("team", "payments"),
        ("cluster", "demo"),
        ("spec.namespace", "payments"),
        ("reason", "start from what runs"),
    ];
    let path = "/requests/new?kind=import";
    let response = post_form(&app, Persona::Admin, &app.address, path, &form).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(
            r#"data-field="cluster" class="field-error">a dry-run cluster has nothing to import"#
        ),
        "{html}"
    );
    let response = post_form(&app, Persona::EngineerA, &app.address, path, &form).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains("only an admin may import"), "{html}");
    assert_eq!(app.count_where("requests", "kind = 'import'").await, 0);
}

on_both_databases!(an_import_form_posts_plainly_for_admins_only);

async fn a_form_post_outside_your_teams_says_why(db: Db) {
    let app = spawn_app(db).await;
    let mut form = BASKET.to_vec();
    form.retain(|(k, _)| *k != "team");
    form.push(("team", "search"));
    let response = post_form(
        &app,
        Persona::EngineerA,
        &app.address,
        "/requests/new?kind=service",
        &form,
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains("not a member of team search"), "{html}");
    assert_eq!(app.count_rows("requests").await, 0);
}

async fn a_form_post_from_another_site_is_refused(db: Db) {
    let app = spawn_app(db).await;
    let response = post_form(
        &app,
        Persona::EngineerA,
        "https://evil.example",
        "/requests/new?kind=service",
        BASKET,
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count_rows("requests").await, 0);
}

/// Review buttons are server functions; without wasm, Leptos answers a plain post with a
/// redirect back to the page, an error carried in its URL rather than a bare status.
async fn review_buttons_answer_a_plain_post_with_a_redirect(db: Db) {
    let app = spawn_app(db).await;
    let id = submit_basket(&app).await;
    let id = id.as_str();
    let plan_hash = app.plan_hash(id.parse().unwrap()).await;

    // The requester approving their own request: refused, back to the page with why.
    let refused = post_form(
        &app,
        Persona::EngineerA,
        &app.address,
        "/rpc/requests/approve",
        &[("id", id), ("comment", ""), ("plan_hash", &plan_hash)],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FOUND);
    let back = refused.headers()[header::LOCATION].to_str().unwrap();
    assert!(back.contains("__err="), "{back}");

    let approved = post_form(
        &app,
        Persona::LeadA,
        &app.address,
        "/rpc/requests/approve",
        &[("id", id), ("comment", "ok"), ("plan_hash", &plan_hash)],
    )
    .await;
    assert_eq!(approved.status(), StatusCode::FOUND);
    let back = approved.headers()[header::LOCATION].to_str().unwrap();
    assert!(!back.contains("__err"), "{back}");
    let status = app
        .request(
            Persona::EngineerA,
            Method::GET,
            &format!("/api/v1/requests/{id}"),
        )
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["request"]["status"]
        .clone();
    assert_eq!(status, "queued");
}

/// The comment box and the tokens page's forms work without the wasm too: a comment and a
/// revoke come back to the page by redirect (a refusal in the address), a new token on the
/// page the post answers.
async fn comments_and_tokens_work_as_plain_posts(db: Db) {
    let app = spawn_app(db).await;
    let id = submit_basket(&app).await;

    // A bell character is not text people read: refused, back to the page with why.
    let back = posted_back(
        &app,
        "/rpc/requests/comment",
        &[("id", &id), ("comment", "ring \u{7}")],
    )
    .await;
    assert!(back.contains("__err="), "{back}");

    let back = posted_back(
        &app,
        "/rpc/requests/comment",
        &[("id", &id), ("comment", "Posted without wasm")],
    )
    .await;
    assert!(!back.contains("__err"), "{back}");
    let (_, detail) = app.get_json(&format!("/api/v1/requests/{id}")).await;
    let comments: Vec<_> = detail["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|event| event["action"] == "request.comment")
        .map(|event| event["detail"]["comment"].clone())
        .collect();
    assert_eq!(comments, vec![serde_json::json!("Posted without wasm")]);

    // "Create token" without the wasm: refused with the field named and the name kept,
    // then made, its secret on the page that comes back (and in no cache).
    let refused = post_form(
        &app,
        Persona::EngineerA,
        &app.address,
        "/settings/tokens",
        &[("name", "deploys"), ("expires_in_days", "99999")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap_or_default();
    assert!(
        page.contains("must be a number of days from 1 to"),
        "{page}"
    );
    assert!(page.contains(r#"value="deploys""#), "{page}");
    let created = post_form(
        &app,
        Persona::EngineerA,
        &app.address,
        "/settings/tokens",
        &[
            ("name", "ci"),
            ("expires_in_days", "30"),
            ("scope_request", "on"),
        ],
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()[header::CACHE_CONTROL], "no-store");
    let page = created.text().await.unwrap_or_default();
    let secret = page
        .split(r#"<code class="secret">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default()
        .to_owned();
    assert!(secret.starts_with("sgp_"), "{page}");
    let cookie = app
        .session_cookie(Persona::EngineerA)
        .await
        .expect("a signed-in persona");
    let tokens = app
        .client
        .post(format!("{}/rpc/tokens", app.address))
        .header(header::COOKIE, cookie)
        .header(header::ORIGIN, &app.address)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("the tokens")
        .json::<serde_json::Value>()
        .await
        .expect("a list");
    let token = tokens
        .as_array()
        .into_iter()
        .flatten()
        .find(|token| token["name"] == "ci")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        token["scopes"],
        serde_json::json!({ "request": true, "review": false })
    );
    let me = || {
        app.client
            .get(format!("{}/api/v1/me", app.address))
            .bearer_auth(&secret)
            .send()
    };
    assert_eq!(me().await.expect("me").status(), StatusCode::OK);
    let token_id = token["id"].to_string();
    let back = posted_back(&app, "/rpc/tokens/revoke", &[("id", &token_id)]).await;
    assert!(!back.contains("__err"), "{back}");
    assert_eq!(me().await.expect("me").status(), StatusCode::UNAUTHORIZED);
}

on_both_databases!(
    a_form_post_submits_and_goes_to_the_new_request,
    a_form_post_for_an_autoscaler_ignores_the_replicas_input,
    a_refused_form_post_comes_back_as_typed_with_its_errors,
    a_form_post_exposes_a_port_or_comes_back_with_the_rules_errors,
    a_form_post_outside_your_teams_says_why,
    a_form_post_from_another_site_is_refused,
    review_buttons_answer_a_plain_post_with_a_redirect,
    comments_and_tokens_work_as_plain_posts,
);
