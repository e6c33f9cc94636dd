//! `stargate seed --services N`: a catalog of realistic size for benchmarks and demos.

use domain::{ServiceName, ServiceStatus, TeamName};

use crate::store::{NewHost, NewService, NewTeam, Store, StoreError};

const AREAS: &[&str] = &[
    "billing",
    "checkout",
    "search",
    "identity",
    "catalog",
    "shipping",
    "pricing",
    "reviews",
    "inventory",
    "payments",
    "messaging",
    "analytics",
    "ads",
    "media",
    "support",
    "loyalty",
];
const ROLES: &[&str] = &[
    "api",
    "worker",
    "gateway",
    "indexer",
    "scheduler",
    "exporter",
    "sync",
    "cache",
    "ui",
    "events",
    "reports",
    "admin",
];

fn invalid(e: domain::FieldError) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// Teams `seed-<area>` and `services` services spread over them, every third with a host.
/// Deterministic, so benchmark runs compare like with like. Returns the time taken.
pub async fn seed(store: &Store, services: u32) -> Result<std::time::Duration, StoreError> {
    let started = std::time::Instant::now();
    let teams = AREAS
        .iter()
        .map(|area| {
            Ok(NewTeam {
                name: TeamName::parse("team", &format!("seed-{area}")).map_err(invalid)?,
                display_name: format!("Seed {area}"),
                description: format!("Generated team owning {area} services"),
                namespace: format!("seed-{area}"),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    store.sync_teams(&teams).await?;
    let statuses = [
        ServiceStatus::Live,
        ServiceStatus::Live,
        ServiceStatus::Live,
        ServiceStatus::Degraded,
        ServiceStatus::Pending,
        ServiceStatus::Failed,
    ];
    let mut rows = Vec::with_capacity(services as usize);
    let mut hosts = Vec::new();
    for i in 0..services {
        let area = AREAS[i as usize % AREAS.len()];
        let role = ROLES[(i as usize / AREAS.len()) % ROLES.len()];
        let team = TeamName::parse("team", &format!("seed-{area}")).map_err(invalid)?;
        let name = ServiceName::parse("name", &format!("{area}-{role}-{i:05}")).map_err(invalid)?;
        if i % 3 == 0 {
            hosts.push(NewHost {
                team: team.clone(),
                service: name.clone(),
                host: format!("{name}.{area}.example.com"),
                class: if i % 2 == 0 { "nginx" } else { "alb" }.into(),
                tls: "cert_manager".into(),
            });
        }
        rows.push(NewService {
            team,
            name,
            description: format!("The {role} of {area}, generated service number {i}"),
            image: format!("ghcr.io/acme/{area}-{role}:1.{}.{}", i % 40, i % 7),
            cluster: if i % 4 == 0 {
                "prod-eu".into()
            } else {
                "prod-us".into()
            },
            status: statuses[i as usize % statuses.len()],
            replicas: 1 + i % 6,
            port: if i % 5 == 0 { 9090 } else { 8080 },
        });
    }
    store.insert_services(&rows).await?;
    store.add_objects(&hosts, &[]).await?;
    // Their objects as if applied, so exports, plans and the IaC repository see them.
    for cluster in ["prod-eu", "prod-us"] {
        let on_cluster: Vec<NewService> = rows
            .iter()
            .filter(|s| s.cluster == cluster)
            .cloned()
            .collect();
        let objects = crate::demo::applied_objects(&on_cluster)?;
        store.record_applied(cluster, &objects, None).await?;
    }
    Ok(started.elapsed())
}
