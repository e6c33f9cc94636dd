//! Live status from the drift watch: what the cluster's controllers write in `status`
//! (through the test API server's `/status` subresource) reaches the catalog — a
//! service's available replicas, a host's load-balancer address, a certificate's real
//! expiry and readiness (so "expiring soon" tracks the real certificate).

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    drift_watch::{apply_orders, spawn_watching},
    helpers::{Db, TestApp},
    kube_api::KubeApi,
    on_both_databases,
};

const NS: &str = "/namespaces/payments";

/// Polls `path` (at most 20 s) until `wanted` holds of its JSON; returns that JSON.
async fn until(app: &TestApp, path: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 200, "{body}");
        if wanted(&body) {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path}: {body:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn apply(app: &TestApp, body: Value) {
    let id = app.submit_approved(&body).await;
    let detail = app.settled(id, &["applied", "failed"]).await;
    assert_eq!(detail["request"]["status"], "applied", "{detail:#}");
}

/// The certificate `orders-tls` as the catalog lists it.
fn orders_tls(list: &Value) -> Value {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == "orders-tls")
        .cloned()
        .unwrap_or(Value::Null)
}

async fn live_status_comes_from_the_cluster(db: Db) {
    let kube = KubeApi::start(&[]).await;
    let app = spawn_watching(db, &kube).await;
    apply_orders(&app).await;
    apply(
        &app,
        json!({"kind": "certificate", "team": "payments", "cluster": "kind",
               "spec": {"name": "orders-tls", "dns_names": ["orders.payments.example.com"],
                        "issuer": "letsencrypt-prod"}}),
    )
    .await;
    apply(
        &app,
        json!({"kind": "ingress", "team": "payments", "cluster": "kind",
               "spec": {"host": "orders.payments.example.com", "service": "orders",
                        "port": 8080, "class": "nginx"}}),
    )
    .await;

    // The Deployment's controller reports 2 of 2 available, then one pod goes away.
    let service = "/api/v1/services/payments/orders";
    until(&app, service, |s| {
        s["live_replicas"] == json!({"replicas": 2, "available": 2})
    })
    .await;
    kube.patch_status(
        &format!("/apis/apps/v1{NS}/deployments/orders"),
        &json!({"status": {"availableReplicas": 1}}),
    )
    .await;
    until(&app, service, |s| {
        s["live_replicas"] == json!({"replicas": 2, "available": 1})
    })
    .await;
    let (_, html) = app.get_page("/services/payments/orders").await;
    assert!(html.contains("1/2 available"), "{html}");

    // The Ingress's load balancer, as its controller reports it.
    let hosts = "/api/v1/hosts?per_page=100";
    let address = |list: &Value| {
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|h| h["host"] == "orders.payments.example.com")
            .map_or(Value::Null, |h| h["lb_address"].clone())
    };
    until(&app, hosts, |h| {
        address(h) == "k8s-stargate-test.elb.example.com"
    })
    .await;
    kube.patch_status(
        &format!("/apis/networking.k8s.io/v1{NS}/ingresses/orders-orders"),
        &json!({"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}}),
    )
    .await;
    until(&app, hosts, |h| address(h) == "203.0.113.7").await;
    let detail = until(&app, service, |s| {
        s["hosts"][0]["lb_address"] == "203.0.113.7"
    })
    .await;
    assert_eq!(detail["hosts"][0]["host"], "orders.payments.example.com");
    let (_, html) = app.get_page("/hosts").await;
    assert!(html.contains("LB: 203.0.113.7"), "{html}");

    // cert-manager: the certificate really expires in 10 days and is not ready (renewal
    // failing): the catalog says so, and warns.
    let in_ten_days = (time::OffsetDateTime::now_utc() + time::Duration::days(10))
        .replace_nanosecond(0)
        .expect("whole seconds")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    kube.patch_status(
        &format!("/apis/cert-manager.io/v1{NS}/certificates/orders-tls"),
        &json!({"status": {"notAfter": in_ten_days,
                           "conditions": [{"type": "Ready", "status": "False",
                                           "reason": "Failed"}]}}),
    )
    .await;
    let certificates = "/api/v1/certificates?per_page=100";
    let certificate = until(&app, certificates, |l| {
        orders_tls(l)["expires_at"] == in_ten_days.as_str()
    })
    .await;
    let certificate = orders_tls(&certificate);
    assert_eq!(certificate["status"], "pending", "{certificate:#}");
    assert_eq!(certificate["expiring_soon"], true, "{certificate:#}");
    assert!(certificate["live_at"].is_string(), "{certificate:#}");
    let (_, html) = app.get_page("/certificates").await;
    assert!(html.contains("from the cluster"), "{html}");
    assert!(html.contains("expiring soon"), "{html}");
}

on_both_databases!(live_status_comes_from_the_cluster);
