//! The demo catalog `stargate serve --demo` loads once, so a first look is not empty.

use domain::{
    ServiceName, ServiceStatus, TeamName,
    request::{
        ServiceSpec,
        render::{Object, RenderContext, ServiceType, render_service},
    },
};

use crate::{
    config::{ClusterKind, ClusterSettings, Settings, TeamSettings},
    store::{NewCertificate, NewHost, NewService, NewTeam, Store, StoreError},
};

const MARKER: &str = "demo_catalog_loaded";

/// (team, service, description, image, status, replicas, port)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    ServiceStatus,
    u32,
    u16,
);

#[rustfmt::skip]
const SERVICES: &[Row] = &[
    ("payments", "checkout-api", "Public checkout API used by web and mobile", "ghcr.io/acme/checkout-api:2.14.0", ServiceStatus::Live, 4, 8080),
    ("payments", "payment-gateway", "Talks to card processors; gRPC", "ghcr.io/acme/payment-gateway:5.2.1", ServiceStatus::Live, 3, 9090),
    ("payments", "refunds", "Refund workflows and chargeback handling", "ghcr.io/acme/refunds:1.8.3", ServiceStatus::Live, 2, 8080),
    ("payments", "ledger", "Double-entry ledger of every money movement", "ghcr.io/acme/ledger:3.0.0", ServiceStatus::Live, 3, 8080),
    ("payments", "invoicing", "Monthly invoices and PDF rendering", "ghcr.io/acme/invoicing:0.9.12", ServiceStatus::Degraded, 2, 8080),
    ("payments", "fraud-scoring", "Scores transactions in real time", "ghcr.io/acme/fraud-scoring:4.1.0", ServiceStatus::Live, 6, 9090),
    ("payments", "payouts", "Merchant payouts and settlement files", "ghcr.io/acme/payouts:2.3.5", ServiceStatus::Live, 2, 8080),
    ("payments", "currency-rates", "Caches FX rates from two providers", "ghcr.io/acme/currency-rates:1.2.0", ServiceStatus::Live, 2, 8080),
    ("payments", "wallet", "Stored balances and top-ups", "ghcr.io/acme/wallet:0.4.0", ServiceStatus::Pending, 2, 8080),
    ("payments", "subscriptions", "Recurring billing plans and renewals", "ghcr.io/acme/subscriptions:1.11.2", ServiceStatus::Live, 3, 8080),
    ("payments", "tax-engine", "VAT and sales tax calculation", "ghcr.io/acme/tax-engine:2.0.4", ServiceStatus::Live, 2, 8080),
    ("payments", "receipts", "E-mail and in-app receipts", "ghcr.io/acme/receipts:1.0.7", ServiceStatus::Failed, 1, 8080),
    ("payments", "payment-links", "Shareable pay-by-link pages", "ghcr.io/acme/payment-links:0.7.1", ServiceStatus::Live, 2, 8080),
    ("payments", "disputes", "Dispute evidence collection for merchants", "ghcr.io/acme/disputes:1.3.0", ServiceStatus::Live, 1, 8080),
    ("payments", "reconciliation", "Nightly bank statement reconciliation", "ghcr.io/acme/reconciliation:2.2.2", ServiceStatus::Live, 1, 8080),
    ("payments", "merchant-portal", "Web UI where merchants see their sales", "ghcr.io/acme/merchant-portal:6.0.1", ServiceStatus::Live, 3, 3000),
    ("search", "search-api", "Query API behind the search box", "ghcr.io/acme/search-api:7.4.0", ServiceStatus::Live, 6, 8080),
    ("search", "indexer", "Consumes catalog events and updates the index", "ghcr.io/acme/indexer:3.9.1", ServiceStatus::Live, 4, 8080),
    ("search", "query-suggest", "Autocomplete and spelling suggestions; gRPC", "ghcr.io/acme/query-suggest:2.1.0", ServiceStatus::Live, 3, 9090),
    ("search", "ranking", "Learning-to-rank model server", "ghcr.io/acme/ranking:1.15.0", ServiceStatus::Degraded, 4, 9090),
    ("search", "synonyms", "Synonym dictionaries per market", "ghcr.io/acme/synonyms:0.6.2", ServiceStatus::Live, 2, 8080),
    ("search", "crawler", "Crawls partner sites for listings", "ghcr.io/acme/crawler:2.0.0", ServiceStatus::Live, 2, 8080),
    ("search", "analytics-collector", "Collects clicks and searches for ranking", "ghcr.io/acme/analytics-collector:1.4.4", ServiceStatus::Live, 3, 8080),
    ("search", "facets", "Computes facet counts for filters", "ghcr.io/acme/facets:1.1.0", ServiceStatus::Live, 2, 8080),
    ("search", "geo-search", "Location-aware search near the user", "ghcr.io/acme/geo-search:0.8.0", ServiceStatus::Pending, 2, 8080),
    ("search", "image-search", "Search by picture; embeddings on GPU nodes", "ghcr.io/acme/image-search:0.3.1", ServiceStatus::Failed, 1, 9090),
    ("search", "index-admin", "Re-index and alias switching for operators", "ghcr.io/acme/index-admin:1.0.2", ServiceStatus::Live, 1, 8080),
    ("search", "search-gateway", "Edge gateway with rate limits for search", "ghcr.io/acme/search-gateway:2.5.0", ServiceStatus::Live, 3, 8080),
    ("search", "recommendations", "\"You may also like\" carousels", "ghcr.io/acme/recommendations:4.0.3", ServiceStatus::Live, 4, 8080),
    ("search", "query-log", "Stores anonymised queries for 30 days", "ghcr.io/acme/query-log:1.2.1", ServiceStatus::Live, 1, 8080),
];

fn team(name: &str, display_name: &str, description: &str) -> Result<NewTeam, StoreError> {
    Ok(NewTeam {
        name: TeamName::parse("team", name).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        display_name: display_name.into(),
        description: description.into(),
        namespace: name.into(),
    })
}

/// The demo's teams and admin group, added to the settings when they name none, so the
/// development sign-in offers an engineer and a lead per team and an admin.
pub fn apply_demo_settings(settings: &mut Settings) {
    if settings.teams.is_empty() {
        settings.teams = [
            (
                "payments",
                "Payments",
                "Checkout, billing and money movement",
            ),
            ("search", "Search", "Search, ranking and recommendations"),
        ]
        .into_iter()
        .map(|(name, display_name, description)| TeamSettings {
            name: name.into(),
            display_name: Some(display_name.into()),
            description: description.into(),
            namespace: None,
            member_groups: vec![name.into()],
            lead_groups: vec![format!("{name}-leads")],
            allowed_domains: vec![format!("{name}.example.com")],
            // Let's Encrypt over HTTP-01 and, for wildcards, DNS-01.
            allowed_issuers: vec!["letsencrypt-prod".into(), "letsencrypt-dns01".into()],
            required_approvals: 1,
        })
        .collect();
    }
    if settings.clusters.is_empty() {
        settings.clusters = vec![ClusterSettings {
            name: "demo".into(),
            kind: ClusterKind::DryRun,
            description: "Renders, validates and records what it would apply; changes nothing"
                .into(),
            context: None,
            region: None,
            eks_cluster: None,
            kubeconfig: None,
            aws_endpoint_url: None,
            api_server: None,
            delivery: Default::default(),
        }];
    }
    if settings.auth.admin_groups.is_empty() {
        settings.auth.admin_groups = vec!["platform-admins".into()];
    }
}

/// Loads the demo catalog unless it was loaded before; returns whether it did.
pub async fn load(store: &Store) -> Result<bool, StoreError> {
    let teams = [
        team(
            "payments",
            "Payments",
            "Checkout, billing and money movement",
        )?,
        team("search", "Search", "Search, ranking and recommendations")?,
    ];
    let services = SERVICES
        .iter()
        .map(
            |&(team, name, description, image, status, replicas, port)| {
                let invalid = |e: domain::FieldError| StoreError::Corrupt(e.to_string());
                Ok(NewService {
                    team: TeamName::parse("team", team).map_err(invalid)?,
                    name: ServiceName::parse("name", name).map_err(invalid)?,
                    description: description.into(),
                    image: image.into(),
                    cluster: "demo".into(),
                    status,
                    replicas,
                    port,
                })
            },
        )
        .collect::<Result<Vec<_>, StoreError>>()?;
    let loaded = store.load_catalog_once(MARKER, &teams, &services).await?;
    if loaded {
        store
            .add_objects(&demo_hosts()?, &demo_certificates()?)
            .await?;
        store
            .record_applied("demo", &applied_objects(&services)?, None)
            .await?;
    }
    Ok(loaded)
}

/// Services' objects, as if applied (in their team's namespace, named as the team): plans
/// for changes to them show updates, and the IaC repository starts from them.
pub(crate) fn applied_objects(services: &[NewService]) -> Result<Vec<Object>, StoreError> {
    let mut objects = Vec::new();
    for service in services {
        let ctx = RenderContext {
            team: service.team.clone(),
            namespace: service.team.to_string(),
            request_id: "demo".into(),
        };
        let spec = ServiceSpec::parse(&serde_json::json!({
            "name": service.name, "image": service.image,
            "port": service.port, "replicas": service.replicas,
        }))
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        objects.extend(render_service(&ctx, &spec, ServiceType::ClusterIp));
    }
    Ok(objects)
}

fn invalid(e: domain::FieldError) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// (team, service, host, class, tls)
#[rustfmt::skip]
const HOSTS: &[(&str, &str, &str, &str, &str)] = &[
    ("payments", "checkout-api", "checkout.payments.example.com", "nginx", "cert_manager"),
    ("payments", "payment-gateway", "gateway.payments.example.com", "alb", "acm"),
    ("payments", "merchant-portal", "merchants.payments.example.com", "nginx", "cert_manager"),
    ("payments", "payment-links", "pay.payments.example.com", "nginx", "cert_manager"),
    ("search", "search-api", "api.search.example.com", "alb", "acm"),
    ("search", "query-suggest", "suggest.search.example.com", "nginx", "cert_manager"),
    ("search", "index-admin", "admin.search.example.com", "nginx", "none"),
];

fn demo_hosts() -> Result<Vec<NewHost>, StoreError> {
    HOSTS
        .iter()
        .map(|&(team, service, host, class, tls)| {
            Ok(NewHost {
                team: TeamName::parse("team", team).map_err(invalid)?,
                service: ServiceName::parse("service", service).map_err(invalid)?,
                host: host.into(),
                class: class.into(),
                tls: tls.into(),
            })
        })
        .collect()
}

fn certificate(
    team: &str,
    name: &str,
    dns_name: &str,
    issuer: &str,
    expires_in_days: Option<i64>,
    status: &str,
) -> Result<NewCertificate, StoreError> {
    Ok(NewCertificate {
        team: TeamName::parse("team", team).map_err(invalid)?,
        name: name.into(),
        dns_names: vec![dns_name.into()],
        issuer: issuer.into(),
        expires_in_days,
        status: status.into(),
    })
}

/// Two certificates expire within 30 days, one is still being issued.
fn demo_certificates() -> Result<Vec<NewCertificate>, StoreError> {
    let le = "letsencrypt-prod";
    Ok(vec![
        certificate(
            "payments",
            "checkout-tls",
            "checkout.payments.example.com",
            le,
            Some(62),
            "ready",
        )?,
        certificate(
            "payments",
            "merchants-tls",
            "merchants.payments.example.com",
            le,
            Some(12),
            "ready",
        )?,
        certificate(
            "payments",
            "pay-links-tls",
            "pay.payments.example.com",
            le,
            None,
            "pending",
        )?,
        certificate(
            "search",
            "suggest-tls",
            "suggest.search.example.com",
            le,
            Some(85),
            "ready",
        )?,
        certificate(
            "search",
            "wildcard-search",
            "*.search.example.com",
            "letsencrypt-dns01",
            Some(5),
            "ready",
        )?,
    ])
}
