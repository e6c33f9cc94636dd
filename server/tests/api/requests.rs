//! The requests API as a user meets it: submit a service, an ingress or a certificate, read
//! it back with its manifests and plan, list and filter, cancel; and every way a submission
//! can be wrong — each refused with the field at fault and nothing stored.

use domain::request::NewRequest;
use reqwest::{Method, header};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    helpers::{Db, Persona, TestApp, spawn_app},
    on_both_databases,
};

// ---- Helpers ----------------------------------------------------------------------------

/// A new payments service that does not exist yet.
fn service_body(name: &str) -> Value {
    json!({
        "kind": "service", "team": "payments", "cluster": "demo", "reason": "orders API",
        "spec": {"name": name, "image": "ghcr.io/acme/orders:1.0.0", "port": 8080, "replicas": 2,
                 "env": {"LOG_LEVEL": "info"}}
    })
}

/// An ingress for `refunds` (payments, port 8080, ClusterIP, no host yet).
fn ingress_body(spec: Value) -> Value {
    let mut base = json!({"host": "refunds.payments.example.com", "service": "refunds",
                          "port": 8080, "class": "nginx"});
    merge(&mut base, spec);
    json!({"kind": "ingress", "team": "payments", "cluster": "demo", "reason": "public refunds",
           "spec": base})
}

fn certificate_body(spec: Value) -> Value {
    let mut base = json!({"name": "orders-tls", "dns_names": ["orders.payments.example.com"],
                          "issuer": "letsencrypt-prod"});
    merge(&mut base, spec);
    json!({"kind": "certificate", "team": "payments", "cluster": "demo", "spec": base})
}

/// Sets every key of `changes` in `target`; a `null` removes the key.
fn merge(target: &mut Value, changes: Value) {
    let (Some(target), Value::Object(changes)) = (target.as_object_mut(), changes) else {
        panic!("merge objects only");
    };
    for (key, value) in changes {
        if value.is_null() {
            target.remove(&key);
        } else {
            target.insert(key, value);
        }
    }
}

/// `body` with its spec changed.
fn with_spec(mut body: Value, changes: Value) -> Value {
    merge(&mut body["spec"], changes);
    body
}

struct Answer {
    status: u16,
    headers: header::HeaderMap,
    body: Value,
}

async fn send(app: &TestApp, persona: Persona, method: Method, path: &str) -> Answer {
    answer(
        app.request(persona, method, path)
            .send()
            .await
            .expect("send"),
    )
    .await
}

async fn post_json(app: &TestApp, persona: Persona, path: &str, body: &Value) -> Answer {
    let response = app
        .request(persona, Method::POST, path)
        .json(body)
        .send()
        .await
        .expect("send");
    answer(response).await
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("a JSON body (status {status}), got: {text}"));
    Answer {
        status,
        headers,
        body,
    }
}

async fn submit(app: &TestApp, persona: Persona, body: &Value) -> Value {
    let answer = post_json(app, persona, "/api/v1/requests", body).await;
    assert_eq!(answer.status, 201, "{:#}", answer.body);
    answer.body
}

fn id_of(detail: &Value) -> i64 {
    detail["request"]["id"].as_i64().expect("request id")
}

/// The paths of the field errors, in the order given.
fn paths(body: &Value) -> Vec<String> {
    body["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_owned())
        .collect()
}

/// The message of the first error at `path`.
fn message_at(body: &Value, path: &str) -> String {
    body["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["path"] == path)
        .and_then(|f| f["message"].as_str())
        .unwrap_or_else(|| panic!("no error at {path}: {body:#}"))
        .to_owned()
}

/// (requests, audit events) in the database.
async fn stored(app: &TestApp) -> (i64, i64) {
    (
        app.count_rows("requests").await,
        app.count_rows("audit_events").await,
    )
}

/// Every document of a multi-document YAML stream, as JSON values.
fn yaml_documents(yaml: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|document| Value::deserialize(document).expect("a valid YAML document"))
        .collect()
}

fn kinds(documents: &[Value]) -> Vec<&str> {
    documents
        .iter()
        .map(|d| d["kind"].as_str().expect("kind"))
        .collect()
}

fn document<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    documents
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {documents:#?}"))
}

/// (kind, action) of each object in the request's plan, in order.
fn plan_actions(detail: &Value) -> Vec<(&str, &str)> {
    detail["plan"]["objects"]
        .as_array()
        .expect("plan objects")
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().expect("kind"),
                o["change"]["action"].as_str().expect("action"),
            )
        })
        .collect()
}

/// Submitting `body` as `persona` is refused with `status`, and nothing is stored.
async fn assert_refused(
    app: &TestApp,
    persona: Persona,
    body: &Value,
    status: u16,
    path: Option<&str>,
) -> Value {
    let before = stored(app).await;
    let answer = post_json(app, persona, "/api/v1/requests", body).await;
    assert_eq!(answer.status, status, "{body}\n→ {:#}", answer.body);
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{:#}",
        answer.body
    );
    if let Some(path) = path {
        assert_eq!(answer.body["error"], "invalid_request", "{:#}", answer.body);
        assert!(
            paths(&answer.body).iter().any(|p| p == path),
            "expected an error at {path} for {body}\n→ {:#}",
            answer.body
        );
        assert!(!message_at(&answer.body, path).is_empty());
    }
    assert_eq!(stored(app).await, before, "nothing stored for {body}");
    answer.body
}

// ---- Submitting and reading --------------------------------------------------------------

async fn a_service_request_is_stored_for_review_with_labelled_manifests(db: Db) {
    let app = spawn_app(db).await;
    let before = stored(&app).await;

    let answer = post_json(
        &app,
        Persona::EngineerA,
        "/api/v1/requests",
        &service_body("orders"),
    )
    .await;
    assert_eq!(answer.status, 201, "{:#}", answer.body);
    let detail = answer.body;
    let id = id_of(&detail);
    assert_eq!(
        answer.headers[header::LOCATION],
        format!("/api/v1/requests/{id}").as_str()
    );
    let request = &detail["request"];
    assert_eq!(request["status"], "pending_review");
    assert_eq!(request["kind"], "service");
    assert_eq!(request["team"], "payments");
    assert_eq!(request["cluster"], "demo");
    assert_eq!(request["title"], "service orders");
    assert_eq!(request["requester"], "pat@example.com");
    assert_eq!(request["reason"], "orders API");
    assert_eq!(detail["spec"]["image"], "ghcr.io/acme/orders:1.0.0");
    assert_eq!(detail["may_cancel"], true);
    assert_eq!(stored(&app).await, (before.0 + 1, before.1 + 1));

    // The manifests: Namespace, Deployment and Service, each labelled with team and request.
    let documents = yaml_documents(detail["manifests"].as_str().expect("manifests"));
    assert_eq!(kinds(&documents), ["Namespace", "Deployment", "Service"]);
    for kind in ["Deployment", "Service"] {
        let labels = &document(&documents, kind)["metadata"]["labels"];
        assert_eq!(labels["stargate.dev/request"], id.to_string(), "{kind}");
        assert_eq!(labels["stargate.dev/team"], "payments", "{kind}");
        assert_eq!(
            document(&documents, kind)["metadata"]["namespace"],
            "payments"
        );
    }
    let deployment = document(&documents, "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "ghcr.io/acme/orders:1.0.0");
    assert_eq!(
        container["env"],
        json!([{"name": "LOG_LEVEL", "value": "info"}])
    );
    assert_eq!(document(&documents, "Service")["spec"]["type"], "ClusterIP");

    // The plan creates the new objects (the team's namespace exists already: the demo
    // records its services as applied), and has a hash approvals can bind to.
    assert_eq!(
        plan_actions(&detail),
        [
            ("Namespace", "unchanged"),
            ("Deployment", "create"),
            ("Service", "create"),
        ]
    );
    assert!(
        detail["plan"]["hash"]
            .as_str()
            .is_some_and(|h| h.len() >= 32)
    );

    // Read back by id: the same request, with its submit event.
    let read = send(
        &app,
        Persona::EngineerB,
        Method::GET,
        &format!("/api/v1/requests/{id}"),
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["request"], detail["request"]);
    assert_eq!(read.body["manifests"], detail["manifests"]);
    assert_eq!(read.body["plan"], detail["plan"]);
    assert_eq!(
        read.body["may_cancel"], false,
        "only the requester may cancel"
    );
    let events = read.body["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["action"], "request.submit");
    assert_eq!(events[0]["actor"], "pat@example.com");

    // The manifests alone, as YAML.
    let response = app
        .get_as(
            Persona::EngineerB,
            &format!("/api/v1/requests/{id}/manifests"),
        )
        .await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .expect("content type")
        .to_owned();
    assert!(
        content_type.starts_with("application/yaml"),
        "{content_type}"
    );
    let yaml = response.text().await.expect("yaml");
    assert_eq!(yaml, detail["manifests"].as_str().expect("manifests"));
    assert_eq!(yaml.matches("---\n").count(), 3, "{yaml}");
    assert_eq!(yaml_documents(&yaml), documents);
}

async fn the_list_filters_by_mine_status_and_team_and_pages(db: Db) {
    let app = spawn_app(db).await;
    let mut ids = Vec::new();
    for name in ["orders", "baskets", "coupons"] {
        ids.push(id_of(
            &submit(&app, Persona::EngineerA, &service_body(name)).await,
        ));
    }
    for name in ["spelling", "stemming"] {
        let body = json!({
            "kind": "service", "team": "search", "cluster": "demo",
            "spec": {"name": name, "image": "ghcr.io/acme/nlp:2.0.0", "port": 8080}
        });
        ids.push(id_of(&submit(&app, Persona::EngineerB, &body).await));
    }
    let cancelled = send(
        &app,
        Persona::EngineerA,
        Method::POST,
        &format!("/api/v1/requests/{}/cancel", ids[1]),
    )
    .await;
    assert_eq!(cancelled.status, 200, "{:#}", cancelled.body);

    let list = |persona: Persona, query: &'static str| {
        let app = &app;
        async move {
            let answer = send(
                app,
                persona,
                Method::GET,
                &format!("/api/v1/requests{query}"),
            )
            .await;
            assert_eq!(answer.status, 200, "{query}: {:#}", answer.body);
            let ids: Vec<i64> = answer.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|r| r["id"].as_i64().expect("id"))
                .collect();
            (answer.body["total"].as_u64().expect("total"), ids)
        }
    };
    let newest_first = |mut v: Vec<i64>| {
        v.sort_unstable_by(|a, b| b.cmp(a));
        v
    };

    assert_eq!(
        list(Persona::Admin, "").await,
        (5, newest_first(ids.clone()))
    );
    assert_eq!(
        list(Persona::EngineerA, "?mine=true").await,
        (3, newest_first(ids[..3].to_vec()))
    );
    assert_eq!(
        list(Persona::EngineerB, "?mine=true").await,
        (2, newest_first(ids[3..].to_vec()))
    );
    assert_eq!(list(Persona::Admin, "?mine=true").await, (0, vec![]));
    assert_eq!(list(Persona::Admin, "?mine=false").await.0, 5);
    assert_eq!(
        list(Persona::EngineerB, "?status=cancelled").await,
        (1, vec![ids[1]])
    );
    assert_eq!(
        list(Persona::EngineerB, "?status=pending_review").await.0,
        4
    );
    assert_eq!(
        list(Persona::EngineerB, "?status=applied").await,
        (0, vec![])
    );
    assert_eq!(
        list(Persona::EngineerA, "?team=search").await,
        (2, newest_first(ids[3..].to_vec()))
    );
    assert_eq!(
        list(
            Persona::EngineerA,
            "?team=payments&status=pending_review&mine=true"
        )
        .await,
        (2, vec![ids[2], ids[0]])
    );

    // Pages of two: the total is the whole list on every page, past the end is empty.
    let all = newest_first(ids.clone());
    assert_eq!(
        list(Persona::LeadA, "?per_page=2").await,
        (5, all[..2].to_vec())
    );
    assert_eq!(
        list(Persona::LeadA, "?per_page=2&page=2").await,
        (5, all[2..4].to_vec())
    );
    assert_eq!(
        list(Persona::LeadA, "?per_page=2&page=3").await,
        (5, all[4..].to_vec())
    );
    assert_eq!(
        list(Persona::LeadA, "?per_page=2&page=4").await,
        (5, vec![])
    );

    // A filter that is not one is a 400 naming it.
    for (query, path) in [
        ("?status=done", "status"),
        ("?team=Pay%20ments", "team"),
        ("?mine=yes", "mine"),
        ("?per_page=0", "per_page"),
        ("?page=0", "page"),
    ] {
        let answer = send(
            &app,
            Persona::EngineerA,
            Method::GET,
            &format!("/api/v1/requests{query}"),
        )
        .await;
        assert_eq!(answer.status, 400, "{query}: {:#}", answer.body);
        assert_eq!(answer.body["error"], "bad_request");
        assert_eq!(paths(&answer.body), [path], "{query}");
    }
}

async fn a_service_page_lists_its_latest_ten_requests_newest_first(db: Db) {
    let app = spawn_app(db).await;
    for replicas in 1..=12 {
        let body = with_spec(service_body("ledger"), json!({"replicas": replicas}));
        submit(&app, Persona::EngineerA, &body).await;
    }
    // Another service's request stays off this page.
    submit(&app, Persona::EngineerA, &service_body("orders")).await;
    let (status, page) = app.get_json("/api/v1/services/payments/ledger").await;
    assert_eq!(status, 200);
    let list = send(
        &app,
        Persona::EngineerA,
        Method::GET,
        "/api/v1/requests?team=payments&per_page=13",
    )
    .await;
    // The page's entries are the list's, newest first, without the other service's.
    let expected: Vec<Value> = list.body["items"].as_array().expect("items")[1..11].to_vec();
    assert_eq!(page["history"], Value::Array(expected));
    assert!(
        page["history"][0]["id"].as_i64() > page["history"][9]["id"].as_i64(),
        "{:#}",
        page["history"]
    );
}

async fn certificates_and_tls_ingresses_render_for_cert_manager(db: Db) {
    let app = spawn_app(db).await;
    // A wildcard certificate, issued over DNS-01.
    let wildcard = submit(
        &app,
        Persona::EngineerA,
        &certificate_body(
            json!({"name": "wild-payments", "dns_names": ["*.payments.example.com"],
                                 "challenge": "dns01"}),
        ),
    )
    .await;
    assert_eq!(wildcard["request"]["title"], "certificate wild-payments");
    let documents = yaml_documents(wildcard["manifests"].as_str().expect("manifests"));
    // Every object the worker will apply is reviewed: the team's namespace first.
    assert_eq!(kinds(&documents), ["Namespace", "Certificate"]);
    let certificate = &documents[1];
    assert_eq!(certificate["apiVersion"], "cert-manager.io/v1");
    assert_eq!(
        certificate["spec"]["dnsNames"],
        json!(["*.payments.example.com"])
    );
    assert_eq!(certificate["spec"]["issuerRef"]["name"], "letsencrypt-prod");
    assert_eq!(certificate["spec"]["issuerRef"]["kind"], "ClusterIssuer");
    assert_eq!(
        certificate["metadata"]["labels"]["stargate.dev/request"],
        id_of(&wildcard).to_string()
    );

    // Search holds a wildcard certificate: a new search host on nginx may use it.
    let body = json!({
        "kind": "ingress", "team": "search", "cluster": "demo",
        "spec": {"host": "facets.search.example.com", "service": "facets", "port": 8080,
                 "class": "nginx", "tls": "cert_manager", "path": "/v1"}
    });
    let ingress = submit(&app, Persona::EngineerB, &body).await;
    let documents = yaml_documents(ingress["manifests"].as_str().expect("manifests"));
    assert_eq!(kinds(&documents), ["Namespace", "Ingress"]);
    let spec = &documents[1]["spec"];
    assert_eq!(spec["ingressClassName"], "nginx");
    assert_eq!(
        spec["tls"][0]["hosts"],
        json!(["facets.search.example.com"])
    );
    // The secret the covering certificate writes, not one nobody writes.
    assert_eq!(spec["tls"][0]["secretName"], "wildcard-search-tls");
    assert!(
        ingress["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("wildcard-search")),
        "{}",
        ingress["notes"]
    );
    assert_eq!(spec["rules"][0]["http"]["paths"][0]["path"], "/v1");
    assert_eq!(
        documents[1]["metadata"]["labels"]["stargate.dev/team"],
        "search"
    );
    assert_eq!(documents[1]["metadata"]["namespace"], "search");
    assert_eq!(documents[0]["metadata"]["name"], "search");
    // ... but payments has no certificate for its own new host.
    assert_refused(
        &app,
        Persona::EngineerA,
        &ingress_body(json!({"tls": "cert_manager"})),
        422,
        Some("spec.tls"),
    )
    .await;
}

// ---- The ALB instance-target trap ---------------------------------------------------------

async fn alb_instance_targets_bring_the_service_along_as_node_port(db: Db) {
    let app = spawn_app(db).await;
    let instance = ingress_body(json!({"class": "alb", "alb": {"target_type": "instance"}}));

    // The preview explains it before anything is stored.
    let before = stored(&app).await;
    let preview = post_json(
        &app,
        Persona::EngineerA,
        "/api/v1/requests/preview",
        &instance,
    )
    .await;
    assert_eq!(preview.status, 200, "{:#}", preview.body);
    assert_eq!(stored(&app).await, before, "a preview stores nothing");

    let detail = submit(&app, Persona::EngineerA, &instance).await;
    assert_eq!(detail["notes"], preview.body["notes"]);
    let notes = detail["notes"].as_array().expect("notes");
    assert_eq!(notes.len(), 1, "{notes:#?}");
    let note = notes[0].as_str().expect("note");
    assert!(
        note.contains("NodePort") && note.contains("refunds") && note.contains("instance"),
        "{note}"
    );

    // The Service first, switched to NodePort, then the Ingress with instance targets.
    let documents = yaml_documents(detail["manifests"].as_str().expect("manifests"));
    assert_eq!(kinds(&documents), ["Namespace", "Service", "Ingress"]);
    let service = document(&documents, "Service");
    assert_eq!(service["metadata"]["name"], "refunds");
    assert_eq!(service["spec"]["type"], "NodePort");
    let id = id_of(&detail).to_string();
    for document in documents.iter().filter(|d| d["kind"] != "Namespace") {
        assert_eq!(document["metadata"]["labels"]["stargate.dev/request"], id);
        assert_eq!(
            document["metadata"]["labels"]["stargate.dev/team"],
            "payments"
        );
    }
    let ingress = document(&documents, "Ingress");
    assert_eq!(ingress["spec"]["ingressClassName"], "alb");
    assert_eq!(
        ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"],
        "instance"
    );
    let rule = &ingress["spec"]["rules"][0];
    assert_eq!(rule["host"], "refunds.payments.example.com");
    assert_eq!(
        rule["http"]["paths"][0]["backend"]["service"],
        json!({"name": "refunds", "port": {"number": 8080}})
    );
    // The Service exists (as the demo applied it): the plan shows the type changing.
    assert_eq!(
        plan_actions(&detail),
        [
            ("Namespace", "unchanged"),
            ("Service", "update"),
            ("Ingress", "create")
        ]
    );
    let fields = detail["plan"]["objects"][1]["change"]["fields"]
        .as_array()
        .expect("changed fields");
    let service_type = fields
        .iter()
        .find(|f| f["path"] == "spec.type")
        .unwrap_or_else(|| panic!("no spec.type change in {fields:#?}"));
    assert_eq!(
        (&service_type["before"], &service_type["after"]),
        (&json!("ClusterIP"), &json!("NodePort"))
    );

    // `ip` targets reach pods directly: the Service is left alone.
    let ip = submit(
        &app,
        Persona::EngineerA,
        &ingress_body(
            json!({"host": "refunds-ip.payments.example.com", "class": "alb",
                            "alb": {"target_type": "ip"}}),
        ),
    )
    .await;
    let documents = yaml_documents(ip["manifests"].as_str().expect("manifests"));
    assert_eq!(kinds(&documents), ["Namespace", "Ingress"]);
    assert_eq!(
        documents[1]["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"],
        "ip"
    );
    assert_eq!(ip["notes"], json!([]));
}

// ---- Refusals -----------------------------------------------------------------------------

/// (what is wrong, the body, the field the error must name).
fn invalid_submissions() -> Vec<(&'static str, Value, &'static str)> {
    let service = || service_body("orders");
    let ingress = || ingress_body(json!({}));
    let certificate = || certificate_body(json!({}));
    let alb = |changes: Value| {
        let mut spec = json!({"class": "alb"});
        merge(&mut spec, changes);
        ingress_body(spec)
    };
    let arn = "arn:aws:acm:eu-west-1:123456789012:certificate/abc";
    let top = |changes: Value| {
        let mut body = service();
        merge(&mut body, changes);
        body
    };
    vec![
        // The envelope.
        ("no kind", top(json!({"kind": null})), "kind"),
        ("unknown kind", top(json!({"kind": "database"})), "kind"),
        ("kind not a string", top(json!({"kind": 1})), "kind"),
        ("no team", top(json!({"team": null})), "team"),
        ("team not a name", top(json!({"team": "Pay ments"})), "team"),
        (
            "team not a string",
            top(json!({"team": ["payments"]})),
            "team",
        ),
        ("no cluster", top(json!({"cluster": null})), "cluster"),
        (
            "cluster not a name",
            top(json!({"cluster": "Demo_1"})),
            "cluster",
        ),
        (
            "unknown cluster",
            top(json!({"cluster": "mars"})),
            "cluster",
        ),
        ("reason not a string", top(json!({"reason": 5})), "reason"),
        (
            "reason with NUL",
            top(json!({"reason": "because\u{0}"})),
            "reason",
        ),
        (
            "reason too long",
            top(json!({"reason": "x".repeat(2001)})),
            "reason",
        ),
        (
            "unknown field",
            top(json!({"priority": "high"})),
            "priority",
        ),
        ("no spec", top(json!({"spec": null})), "spec"),
        ("spec not an object", top(json!({"spec": "orders"})), "spec"),
        // Service.
        (
            "no name",
            with_spec(service(), json!({"name": null})),
            "spec.name",
        ),
        (
            "name not DNS-1123",
            with_spec(service(), json!({"name": "Orders_API"})),
            "spec.name",
        ),
        (
            "name too long",
            with_spec(service(), json!({"name": "a".repeat(64)})),
            "spec.name",
        ),
        (
            "no image",
            with_spec(service(), json!({"image": null})),
            "spec.image",
        ),
        (
            "image without tag",
            with_spec(service(), json!({"image": "ghcr.io/acme/orders"})),
            "spec.image",
        ),
        (
            "image :latest",
            with_spec(service(), json!({"image": "ghcr.io/acme/orders:latest"})),
            "spec.image",
        ),
        (
            "image upper-case",
            with_spec(service(), json!({"image": "ghcr.io/Acme/orders:1"})),
            "spec.image",
        ),
        (
            "no port",
            with_spec(service(), json!({"port": null})),
            "spec.port",
        ),
        (
            "port 0",
            with_spec(service(), json!({"port": 0})),
            "spec.port",
        ),
        (
            "port 65536",
            with_spec(service(), json!({"port": 65536})),
            "spec.port",
        ),
        (
            "port as text",
            with_spec(service(), json!({"port": "8080"})),
            "spec.port",
        ),
        (
            "port fractional",
            with_spec(service(), json!({"port": 80.5})),
            "spec.port",
        ),
        (
            "replicas 51",
            with_spec(service(), json!({"replicas": 51})),
            "spec.replicas",
        ),
        (
            "replicas -1",
            with_spec(service(), json!({"replicas": -1})),
            "spec.replicas",
        ),
        (
            "protocol udp",
            with_spec(service(), json!({"protocol": "udp"})),
            "spec.protocol",
        ),
        (
            "env name",
            with_spec(service(), json!({"env": {"1BAD": "x"}})),
            "spec.env.1BAD",
        ),
        (
            "env value not text",
            with_spec(service(), json!({"env": {"PORT": 8080}})),
            "spec.env.PORT",
        ),
        (
            "env value with NUL",
            with_spec(service(), json!({"env": {"TOKEN": "a\u{0}b"}})),
            "spec.env.TOKEN",
        ),
        (
            "env not an object",
            with_spec(service(), json!({"env": ["A=1"]})),
            "spec.env",
        ),
        (
            "cpu 0",
            with_spec(service(), json!({"cpu": "0"})),
            "spec.cpu",
        ),
        (
            "cpu words",
            with_spec(service(), json!({"cpu": "lots"})),
            "spec.cpu",
        ),
        (
            "cpu 65 cores",
            with_spec(service(), json!({"cpu": "65"})),
            "spec.cpu",
        ),
        (
            "memory MB",
            with_spec(service(), json!({"memory": "256M"})),
            "spec.memory",
        ),
        (
            "memory 300Gi",
            with_spec(service(), json!({"memory": "300Gi"})),
            "spec.memory",
        ),
        (
            "unknown spec field",
            with_spec(service(), json!({"imagee": "x"})),
            "spec.imagee",
        ),
        // Ingress, on its own.
        (
            "no host",
            with_spec(ingress(), json!({"host": null})),
            "spec.host",
        ),
        (
            "host label",
            with_spec(ingress(), json!({"host": "-bad-.payments.example.com"})),
            "spec.host",
        ),
        (
            "host wildcard",
            with_spec(ingress(), json!({"host": "*.payments.example.com"})),
            "spec.host",
        ),
        (
            "host upper-case",
            with_spec(ingress(), json!({"host": "Refunds.payments.example.com"})),
            "spec.host",
        ),
        (
            "host an IP",
            with_spec(ingress(), json!({"host": "10.0.0.1"})),
            "spec.host",
        ),
        (
            "service not a name",
            with_spec(ingress(), json!({"service": "Refunds"})),
            "spec.service",
        ),
        (
            "port 70000",
            with_spec(ingress(), json!({"port": 70000})),
            "spec.port",
        ),
        (
            "path relative",
            with_spec(ingress(), json!({"path": "api"})),
            "spec.path",
        ),
        (
            "path with space",
            with_spec(ingress(), json!({"path": "/a b"})),
            "spec.path",
        ),
        (
            "a password as a plain value",
            with_spec(service(), json!({"env": {"DB_PASSWORD": "hunter2"}})),
            "spec.env.DB_PASSWORD",
        ),
        (
            "a URL with credentials",
            with_spec(
                service(),
                json!({"env": {"DATABASE_URL": "postgres://app:hunter2@db/app"}}),
            ),
            "spec.env.DATABASE_URL",
        ),
        (
            "a secret reference to a name that is no Secret name",
            with_spec(
                service(),
                json!({"env": {"DB_PASSWORD": {"secret": "DB", "key": "password"}}}),
            ),
            "spec.env.DB_PASSWORD.secret",
        ),
        (
            "issuer the team may not use",
            with_spec(certificate(), json!({"issuer": "selfsigned"})),
            "spec.issuer",
        ),
        // The input class behind ingress-nginx CVE-2021-25745 and CVE-2022-4886.
        (
            "path with nginx configuration",
            with_spec(ingress(), json!({"path": "/x;}location ~* /{alias /etc/;"})),
            "spec.path",
        ),
        (
            "path with a variable",
            with_spec(ingress(), json!({"path": "/$host"})),
            "spec.path",
        ),
        (
            "path too long",
            with_spec(ingress(), json!({"path": format!("/{}", "a".repeat(300))})),
            "spec.path",
        ),
        (
            "no class",
            with_spec(ingress(), json!({"class": null})),
            "spec.class",
        ),
        (
            "class traefik",
            with_spec(ingress(), json!({"class": "traefik"})),
            "spec.class",
        ),
        (
            "ingress protocol tcp",
            with_spec(ingress(), json!({"protocol": "tcp"})),
            "spec.protocol",
        ),
        (
            "tls word",
            with_spec(ingress(), json!({"tls": "letsencrypt"})),
            "spec.tls",
        ),
        (
            "acm on nginx",
            with_spec(ingress(), json!({"tls": "acm"})),
            "spec.tls",
        ),
        (
            "cert-manager on alb",
            alb(json!({"tls": "cert_manager"})),
            "spec.tls",
        ),
        (
            "acm without arn",
            alb(json!({"tls": "acm"})),
            "spec.acm_certificate_arn",
        ),
        (
            "arn malformed",
            alb(
                json!({"tls": "acm", "acm_certificate_arn": "arn:aws:acm:eu-west-1:123:certificate/x"}),
            ),
            "spec.acm_certificate_arn",
        ),
        (
            "arn with a space",
            alb(json!({"tls": "acm", "acm_certificate_arn": format!("{arn} x")})),
            "spec.acm_certificate_arn",
        ),
        (
            "arn without acm",
            alb(json!({"tls": "none", "acm_certificate_arn": arn})),
            "spec.acm_certificate_arn",
        ),
        (
            "alb settings on nginx",
            with_spec(ingress(), json!({"alb": {"target_type": "ip"}})),
            "spec.alb",
        ),
        (
            "alb not an object",
            alb(json!({"alb": "instance"})),
            "spec.alb",
        ),
        (
            "alb target type",
            alb(json!({"alb": {"target_type": "pod"}})),
            "spec.alb.target_type",
        ),
        (
            "alb scheme",
            alb(json!({"alb": {"scheme": "public"}})),
            "spec.alb.scheme",
        ),
        (
            "alb unknown field",
            alb(json!({"alb": {"target_type": "ip", "subnets": "a"}})),
            "spec.alb.subnets",
        ),
        // Certificate, on its own.
        (
            "certificate name",
            with_spec(certificate(), json!({"name": "Orders TLS"})),
            "spec.name",
        ),
        (
            "no dns names",
            with_spec(certificate(), json!({"dns_names": []})),
            "spec.dns_names",
        ),
        (
            "dns names not a list",
            with_spec(
                certificate(),
                json!({"dns_names": "orders.payments.example.com"}),
            ),
            "spec.dns_names",
        ),
        (
            "second dns name",
            with_spec(
                certificate(),
                json!({"dns_names": ["orders.payments.example.com", "Bad_Name.payments.example.com"]}),
            ),
            "spec.dns_names[1]",
        ),
        (
            "dns name twice",
            with_spec(
                certificate(),
                json!({"dns_names": ["orders.payments.example.com", "orders.payments.example.com"]}),
            ),
            "spec.dns_names[1]",
        ),
        (
            "dns name not text",
            with_spec(certificate(), json!({"dns_names": [7]})),
            "spec.dns_names[0]",
        ),
        (
            "no issuer",
            with_spec(certificate(), json!({"issuer": null})),
            "spec.issuer",
        ),
        (
            "issuer not a name",
            with_spec(certificate(), json!({"issuer": "Lets Encrypt"})),
            "spec.issuer",
        ),
        (
            "challenge word",
            with_spec(certificate(), json!({"challenge": "tls-alpn"})),
            "spec.challenge",
        ),
        (
            "wildcard over http01",
            with_spec(
                certificate(),
                json!({"dns_names": ["*.payments.example.com"], "challenge": "http01"}),
            ),
            "spec.challenge",
        ),
        (
            "wildcard with the default challenge",
            with_spec(
                certificate(),
                json!({"dns_names": ["*.payments.example.com"]}),
            ),
            "spec.challenge",
        ),
        // Against the catalog.
        (
            "host outside the team's domain",
            with_spec(ingress(), json!({"host": "refunds.search.example.com"})),
            "spec.host",
        ),
        (
            "host under a look-alike domain",
            with_spec(
                ingress(),
                json!({"host": "refunds.evil-payments.example.com"}),
            ),
            "spec.host",
        ),
        (
            "unknown backend service",
            with_spec(ingress(), json!({"service": "nope"})),
            "spec.service",
        ),
        (
            "backend of another team",
            with_spec(ingress(), json!({"service": "search-api"})),
            "spec.service",
        ),
        (
            "backend port",
            with_spec(ingress(), json!({"port": 9090})),
            "spec.port",
        ),
        (
            "gRPC to an HTTP backend",
            with_spec(ingress(), json!({"protocol": "grpc"})),
            "spec.protocol",
        ),
        (
            "nginx TLS without a certificate",
            with_spec(ingress(), json!({"tls": "cert_manager"})),
            "spec.tls",
        ),
        (
            "certificate outside the team's domain",
            with_spec(
                certificate(),
                json!({"dns_names": ["orders.search.example.com"]}),
            ),
            "spec.dns_names[0]",
        ),
        (
            "ingress on an unknown cluster",
            {
                let mut body = ingress();
                body["cluster"] = json!("mars");
                body
            },
            "cluster",
        ),
    ]
}

async fn bad_input_of_every_field_is_refused_by_name_and_stores_nothing(db: Db) {
    let app = spawn_app(db).await;
    // The bases are valid: each case breaks exactly one thing.
    let before = stored(&app).await;
    for base in [
        service_body("orders"),
        ingress_body(json!({})),
        certificate_body(json!({})),
    ] {
        let answer = post_json(&app, Persona::EngineerA, "/api/v1/requests/preview", &base).await;
        assert_eq!(answer.status, 200, "{base}\n→ {:#}", answer.body);
    }
    assert_eq!(stored(&app).await, before);

    for (what, body, path) in invalid_submissions() {
        let refused = assert_refused(&app, Persona::EngineerA, &body, 422, Some(path)).await;
        assert!(
            refused["message"]
                .as_str()
                .is_some_and(|m| m.contains("fields")),
            "{what}: {refused:#}"
        );
        // The preview refuses it the same way.
        let preview = post_json(&app, Persona::EngineerA, "/api/v1/requests/preview", &body).await;
        assert_eq!(preview.status, 422, "{what}");
        assert_eq!(preview.body["fields"], refused["fields"], "{what}");
    }
    assert_eq!(stored(&app).await, before);
}

async fn every_error_of_a_body_comes_back_at_once(db: Db) {
    let app = spawn_app(db).await;
    let body = json!({
        "kind": "service", "team": "payments", "cluster": "Demo!", "reason": 3,
        "spec": {"name": "-x-", "image": "nginx", "port": 0, "replicas": 99, "protocol": "udp",
                 "env": {"9": "x"}, "cpu": "0m", "memory": "1", "colour": "blue"}
    });
    let refused = assert_refused(&app, Persona::EngineerA, &body, 422, None).await;
    let mut got = paths(&refused);
    got.sort();
    assert_eq!(
        got,
        [
            "cluster",
            "reason",
            "spec.colour",
            "spec.cpu",
            "spec.env.9",
            "spec.image",
            "spec.memory",
            "spec.name",
            "spec.port",
            "spec.protocol",
            "spec.replicas",
        ]
    );
}

async fn a_host_someone_holds_is_refused_naming_the_holder(db: Db) {
    let app = spawn_app(db).await;
    // Held by search: the message says who, and the host is outside payments' domain too.
    let other_team = assert_refused(
        &app,
        Persona::EngineerA,
        &ingress_body(json!({"host": "api.search.example.com"})),
        422,
        Some("spec.host"),
    )
    .await;
    let messages: Vec<&str> = other_team["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter(|f| f["path"] == "spec.host")
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("team search") && m.contains("search-api")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("payments.example.com")),
        "{messages:?}"
    );

    // Held by another service of the requester's own team.
    let own_team = assert_refused(
        &app,
        Persona::EngineerA,
        &ingress_body(json!({"host": "checkout.payments.example.com"})),
        422,
        Some("spec.host"),
    )
    .await;
    let message = message_at(&own_team, "spec.host");
    assert!(
        message.contains("checkout-api") && message.contains("your team"),
        "{message}"
    );
}

async fn malformed_bodies_get_the_json_error_shape(db: Db) {
    let app = spawn_app(db).await;
    let before = stored(&app).await;
    let raw = |content_type: Option<&'static str>, body: Vec<u8>| {
        let app = &app;
        async move {
            let mut request = app.request(Persona::EngineerA, Method::POST, "/api/v1/requests");
            if let Some(content_type) = content_type {
                request = request.header(header::CONTENT_TYPE, content_type);
            }
            answer(request.body(body).send().await.expect("send")).await
        }
    };
    let valid = serde_json::to_vec(&service_body("orders")).expect("json");

    let broken = raw(
        Some("application/json"),
        b"{\"kind\": \"service\",".to_vec(),
    )
    .await;
    assert_eq!(broken.status, 400, "{:#}", broken.body);
    assert_eq!(broken.body["error"], "bad_request");
    assert!(
        broken.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("JSON")),
        "{:#}",
        broken.body
    );
    assert_eq!(broken.body["fields"], json!([]));

    let not_json = raw(Some("application/json"), b"kind=service".to_vec()).await;
    assert_eq!(not_json.status, 400, "{:#}", not_json.body);

    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let wrong = raw(content_type, valid.clone()).await;
        assert_eq!(wrong.status, 415, "{content_type:?}: {:#}", wrong.body);
        assert_eq!(wrong.body["error"], "unsupported_media_type");
        assert!(
            wrong.body["message"]
                .as_str()
                .is_some_and(|m| m.contains("application/json"))
        );
    }

    // Valid JSON, just too much of it.
    let mut huge = service_body("orders");
    huge["reason"] = json!("x".repeat(100 * 1024));
    let too_large = raw(
        Some("application/json"),
        serde_json::to_vec(&huge).expect("json"),
    )
    .await;
    assert_eq!(too_large.status, 413, "{:#}", too_large.body);
    assert_eq!(too_large.body["error"], "payload_too_large");
    assert!(
        too_large.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("64 KiB"))
    );

    // Just under the limit is read (and refused for its reason, not its size).
    let mut large = service_body("orders");
    large["reason"] = json!("x".repeat(60 * 1024));
    let readable = raw(
        Some("application/json"),
        serde_json::to_vec(&large).expect("json"),
    )
    .await;
    assert_eq!(readable.status, 422, "{:#}", readable.body);
    assert_eq!(paths(&readable.body), ["reason"]);

    // JSON, but not an object.
    for body in [json!([1, 2]), json!("service"), json!(null)] {
        let answer = post_json(&app, Persona::EngineerA, "/api/v1/requests", &body).await;
        assert_eq!(answer.status, 422, "{body}: {:#}", answer.body);
        assert_eq!(paths(&answer.body), ["body"], "{body}");
    }
    assert_eq!(stored(&app).await, before, "nothing stored");
}

async fn unicode_lookalike_hosts_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let lookalikes = [
        "p\u{430}yments.payments.example.com",  // Cyrillic 'а'
        "refunds.p\u{430}yments.example.com",   // ... in the allowed domain itself
        "refunds\u{ff0e}payments.example.com",  // fullwidth full stop
        "refunds.payments\u{3002}example.com",  // ideographic full stop
        "\u{ff52}efunds.payments.example.com",  // fullwidth 'r'
        "refunds\u{200b}.payments.example.com", // zero-width space
        "refunds.payments.example.com\u{0}",    // NUL
        "re\u{301}funds.payments.example.com",  // combining accent
        "refunds.payments.example.com.",        // trailing dot: another name to a resolver
        " refunds.payments.example.com",        // leading space
    ];
    for host in lookalikes {
        assert_refused(
            &app,
            Persona::EngineerA,
            &ingress_body(json!({ "host": host })),
            422,
            Some("spec.host"),
        )
        .await;
        assert_refused(
            &app,
            Persona::EngineerA,
            &certificate_body(json!({ "dns_names": [host] })),
            422,
            Some("spec.dns_names[0]"),
        )
        .await;
    }
    // Punycode is plain ASCII and a valid DNS name; it is judged like any other host.
    let punycode = ingress_body(json!({"host": "xn--pyments-2nf.payments.example.com"}));
    let answer = post_json(
        &app,
        Persona::EngineerA,
        "/api/v1/requests/preview",
        &punycode,
    )
    .await;
    assert_eq!(answer.status, 200, "{:#}", answer.body);
}

// ---- Who may do what ----------------------------------------------------------------------

async fn only_members_request_for_a_team(db: Db) {
    let app = spawn_app(db).await;
    let payments = service_body("orders");
    for persona in [Persona::EngineerB, Persona::Admin] {
        let refused = assert_refused(&app, persona, &payments, 403, None).await;
        assert_eq!(refused["error"], "forbidden");
        assert!(
            refused["message"]
                .as_str()
                .is_some_and(|m| m.contains("payments")),
            "{refused:#}"
        );
    }
    // The team is checked first: a stranger learns nothing from field errors.
    let invalid = with_spec(payments.clone(), json!({"port": 0, "image": "x"}));
    assert_refused(&app, Persona::EngineerB, &invalid, 403, None).await;
    // A team that is not configured is nobody's.
    let nowhere = {
        let mut body = payments.clone();
        body["team"] = json!("marketing");
        body
    };
    assert_refused(&app, Persona::EngineerA, &nowhere, 403, None).await;
    // (From our own origin: a cross-site write is refused before anyone is asked who.)
    let anonymous = app
        .request(Persona::Anonymous, Method::POST, "/api/v1/requests")
        .header(header::ORIGIN, &app.address)
        .json(&payments)
        .send()
        .await
        .expect("send");
    assert_eq!(anonymous.status(), 401);

    // Members and leads of the team may.
    submit(&app, Persona::EngineerA, &payments).await;
    submit(&app, Persona::LeadA, &service_body("baskets")).await;
    assert_eq!(app.count_rows("requests").await, 2);
}

async fn the_requester_cancels_once_while_pending(db: Db) {
    let app = spawn_app(db).await;
    let id = id_of(&submit(&app, Persona::EngineerA, &service_body("orders")).await);
    let cancel = format!("/api/v1/requests/{id}/cancel");

    for persona in [Persona::EngineerB, Persona::LeadA, Persona::Admin] {
        let before = stored(&app).await;
        let refused = send(&app, persona, Method::POST, &cancel).await;
        assert_eq!(refused.status, 403, "{persona:?}: {:#}", refused.body);
        assert_eq!(refused.body["error"], "forbidden");
        assert_eq!(stored(&app).await, before);
    }

    let before = stored(&app).await;
    let cancelled = send(&app, Persona::EngineerA, Method::POST, &cancel).await;
    assert_eq!(cancelled.status, 200, "{:#}", cancelled.body);
    assert_eq!(cancelled.body["request"]["status"], "cancelled");
    assert_eq!(cancelled.body["may_cancel"], false);
    let actions: Vec<&str> = cancelled.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, ["request.submit", "request.cancel"]);
    assert_eq!(cancelled.body["events"][1]["actor"], "pat@example.com");
    assert_eq!(stored(&app).await, (before.0, before.1 + 1));

    let again = send(&app, Persona::EngineerA, Method::POST, &cancel).await;
    assert_eq!(again.status, 409, "{:#}", again.body);
    assert_eq!(again.body["error"], "conflict");
    assert!(
        again.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("cancelled")),
        "{:#}",
        again.body
    );
    assert_eq!(stored(&app).await, (before.0, before.1 + 1));

    let read = send(
        &app,
        Persona::EngineerA,
        Method::GET,
        &format!("/api/v1/requests/{id}"),
    )
    .await;
    assert_eq!(read.body["request"]["status"], "cancelled");
}

async fn two_cancels_at_once_let_one_through(db: Db) {
    let app = spawn_app(db).await;
    let id = id_of(&submit(&app, Persona::EngineerA, &service_body("orders")).await);
    let cancel = format!("/api/v1/requests/{id}/cancel");
    let (first, second) = tokio::join!(
        send(&app, Persona::EngineerA, Method::POST, &cancel),
        send(&app, Persona::EngineerA, Method::POST, &cancel),
    );
    let mut statuses = [first.status, second.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{:#} {:#}", first.body, second.body);
    let read = send(
        &app,
        Persona::EngineerA,
        Method::GET,
        &format!("/api/v1/requests/{id}"),
    )
    .await;
    let cancels = read.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "request.cancel")
        .count();
    assert_eq!(cancels, 1, "one transition, one audit event");
}

async fn requests_that_do_not_exist_are_404_json(db: Db) {
    let app = spawn_app(db).await;
    for path in [
        "/api/v1/requests/999999",
        "/api/v1/requests/999999/manifests",
        "/api/v1/requests/abc",
        "/api/v1/requests/abc/manifests",
        "/api/v1/requests/0",
        "/api/v1/requests/-1",
        "/api/v1/requests/1e3",
        "/api/v1/requests/99999999999999999999999",
    ] {
        let answer = send(&app, Persona::EngineerA, Method::GET, path).await;
        assert_eq!(answer.status, 404, "{path}: {:#}", answer.body);
        assert_eq!(answer.body["error"], "not_found", "{path}");
    }
    for path in [
        "/api/v1/requests/999999/cancel",
        "/api/v1/requests/abc/cancel",
    ] {
        let answer = send(&app, Persona::EngineerA, Method::POST, path).await;
        assert_eq!(answer.status, 404, "{path}: {:#}", answer.body);
        assert_eq!(answer.body["error"], "not_found", "{path}");
    }
}

// ---- Many invalid bodies ------------------------------------------------------------------

/// Values that break most fields: wrong types, empty, too long, odd characters.
fn junk() -> Vec<Value> {
    vec![
        json!(0),
        json!(-1),
        json!(1.5),
        json!(true),
        json!(""),
        json!(" "),
        json!("UPPER"),
        json!("a\u{0}b"),
        json!("\u{430}"),
        json!("x".repeat(300)),
        json!([]),
        json!({}),
        json!(["a"]),
        json!({"a": 1}),
    ]
}

/// Whether the domain accepts `body` on its own (before the catalog has its say).
fn valid_on_its_own(body: &Value) -> bool {
    NewRequest::parse(body).is_ok()
}

async fn many_invalid_bodies_store_nothing(db: Db) {
    let app = spawn_app(db).await;
    let bases = [
        service_body("orders"),
        ingress_body(json!({"class": "alb", "alb": {"target_type": "instance"}})),
        certificate_body(
            json!({"dns_names": ["a.payments.example.com", "b.payments.example.com"]}),
        ),
    ];
    let mut tried = 0;
    let mut stored_count = stored(&app).await;
    for base in &bases {
        let mut mutations = Vec::new();
        for key in ["kind", "team", "cluster", "reason", "spec", "extra"] {
            for value in junk() {
                let mut body = base.clone();
                body[key] = value;
                mutations.push(body);
            }
        }
        let spec_keys: Vec<String> = base["spec"]
            .as_object()
            .expect("spec")
            .keys()
            .cloned()
            .chain([
                "alb".into(),
                "tls".into(),
                "challenge".into(),
                "nope".into(),
            ])
            .collect();
        for key in &spec_keys {
            for value in junk() {
                let mut body = base.clone();
                body["spec"][key] = value;
                mutations.push(body);
            }
        }
        for body in mutations {
            tried += 1;
            let answer = post_json(&app, Persona::EngineerA, "/api/v1/requests", &body).await;
            let now = stored(&app).await;
            match answer.status {
                201 => {
                    assert!(valid_on_its_own(&body), "stored an invalid body: {body}");
                    assert_eq!(now, (stored_count.0 + 1, stored_count.1 + 1), "{body}");
                }
                422 => {
                    assert_eq!(now, stored_count, "a refused body stored something: {body}");
                    assert!(!paths(&answer.body).is_empty(), "{body}: {:#}", answer.body);
                    // What the domain finds wrong on its own, the API names.
                    if let Err(errors) = NewRequest::parse(&body) {
                        let got = paths(&answer.body);
                        for error in errors.0 {
                            assert!(got.contains(&error.path), "{body}: {got:?} lacks {error}");
                        }
                    }
                }
                // A team the engineer is not in.
                403 => assert_eq!(now, stored_count, "{body}"),
                other => panic!("{other} for {body}: {:#}", answer.body),
            }
            stored_count = now;
        }
    }
    assert!(tried > 200, "tried {tried}");
}

on_both_databases!(
    a_service_request_is_stored_for_review_with_labelled_manifests,
    the_list_filters_by_mine_status_and_team_and_pages,
    a_service_page_lists_its_latest_ten_requests_newest_first,
    alb_instance_targets_bring_the_service_along_as_node_port,
    certificates_and_tls_ingresses_render_for_cert_manager,
    bad_input_of_every_field_is_refused_by_name_and_stores_nothing,
    every_error_of_a_body_comes_back_at_once,
    a_host_someone_holds_is_refused_naming_the_holder,
    only_members_request_for_a_team,
    the_requester_cancels_once_while_pending,
    two_cancels_at_once_let_one_through,
    many_invalid_bodies_store_nothing,
);

#[tokio::test]
async fn malformed_bodies() {
    malformed_bodies_get_the_json_error_shape(Db::Sqlite).await;
}

#[tokio::test]
async fn unicode_lookalikes() {
    unicode_lookalike_hosts_are_refused(Db::Sqlite).await;
}

#[tokio::test]
async fn unknown_requests() {
    requests_that_do_not_exist_are_404_json(Db::Sqlite).await;
}
