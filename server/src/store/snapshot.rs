//! The part of the catalog one request's rules read: the service it names, who serves or
//! waits for its host, the team's certificates.

use domain::{
    ServiceName, TeamName,
    request::{
        DecommissionSpec, NewRequest, RequestSpec, Tls,
        fields::Hostname,
        render::ServiceType,
        rules::{CatalogSnapshot, HostRequest, ServiceFacts},
    },
};
use serde_json::Value;
use sqlx::{Row, any::AnyRow};

use super::{Store, StoreError, error::corrupt, requests::json};

/// What configuration says a team's requests may use.
#[derive(Debug, Clone, Default)]
pub struct TeamRules {
    pub allowed_domains: Vec<String>,
    /// Empty: any ClusterIssuer.
    pub allowed_issuers: Vec<String>,
}

fn service_facts(row: &AnyRow) -> Result<ServiceFacts, StoreError> {
    let port: i64 = row.try_get("port")?;
    let protocol: String = row.try_get("protocol")?;
    let service_type: String = row.try_get("service_type")?;
    Ok(ServiceFacts {
        port: u16::try_from(port).map_err(|e| corrupt("port", e))?,
        protocol: serde_json::from_value(Value::String(protocol))
            .map_err(|e| corrupt("protocol", e))?,
        service_type: ServiceType::parse(&service_type)
            .ok_or_else(|| corrupt("service_type", &service_type))?,
        cluster: row.try_get("cluster")?,
    })
}

impl Store {
    /// The part of the catalog the rules read for `request`. The team's rules (allowed
    /// domains and issuers) come from configuration, not from the database. `stored` is the request's own id when it is
    /// checked again (its own hold on a host does not count against it).
    pub async fn catalog_snapshot(
        &self,
        request: &NewRequest,
        rules: TeamRules,
        stored: Option<i64>,
    ) -> Result<CatalogSnapshot, StoreError> {
        let team = &request.team;
        let mut snapshot = CatalogSnapshot {
            allowed_domains: vec![(team.clone(), rules.allowed_domains)],
            allowed_issuers: vec![(team.clone(), rules.allowed_issuers)],
            ..CatalogSnapshot::default()
        };
        let (service, host) = match &request.spec {
            RequestSpec::Service(spec) => (Some(&spec.name), None),
            RequestSpec::Ingress(spec) => (Some(&spec.service), Some(&spec.host)),
            RequestSpec::Certificate(_) => (None, None),
            RequestSpec::Decommission(spec) => {
                self.decommission_snapshot(team, spec, &mut snapshot)
                    .await?;
                (None, None)
            }
        };
        if let Some(name) = service {
            let row = sqlx::query(
                "SELECT port, protocol, service_type, cluster FROM services
                 WHERE team_name = $1 AND name = $2 AND decommissioned_at IS NULL",
            )
            .bind(team.as_str())
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                snapshot
                    .services
                    .push((team.clone(), name.clone(), service_facts(&row)?));
            }
        }
        if let Some(host) = host {
            let row = sqlx::query(
                "SELECT s.team_name, s.name FROM hosts h JOIN services s ON s.id = h.service_id
                 WHERE h.host = $1",
            )
            .bind(host.as_str())
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                let holder: String = row.try_get("team_name")?;
                let service: String = row.try_get("name")?;
                snapshot.hosts.push((
                    host.as_str().to_owned(),
                    TeamName::parse("team", &holder).map_err(|e| corrupt("team", e))?,
                    ServiceName::parse("service", &service).map_err(|e| corrupt("service", e))?,
                ));
            }
        }
        if let Some(host) = host {
            let row = sqlx::query(
                "SELECT id, team_name, service_name FROM requests
                 WHERE host = $1 AND status IN ('pending_review', 'queued', 'applying')
                   AND id <> $2",
            )
            .bind(host.as_str())
            .bind(stored.unwrap_or(0))
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                let team: String = row.try_get("team_name")?;
                let service: Option<String> = row.try_get("service_name")?;
                snapshot.host_requests.push(HostRequest {
                    host: host.as_str().to_owned(),
                    request_id: row.try_get("id")?,
                    team: TeamName::parse("team", &team).map_err(|e| corrupt("team", e))?,
                    service: ServiceName::parse("service", service.as_deref().unwrap_or(""))
                        .map_err(|e| corrupt("service", e))?,
                });
            }
        }
        if let RequestSpec::Ingress(spec) = &request.spec
            && spec.tls == Tls::CertManager
        {
            let rows = sqlx::query(
                "SELECT c.name, c.dns_names FROM certificates c JOIN teams t ON t.id = c.team_id
                 WHERE t.name = $1 AND c.status <> 'failed' AND c.decommissioned_at IS NULL
                 ORDER BY c.name",
            )
            .bind(team.as_str())
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let names: Vec<String> = json(row, "dns_names")?;
                let names = names
                    .iter()
                    .filter_map(|n| Hostname::parse("dns_names", n, true).ok())
                    .collect();
                snapshot
                    .certificates
                    .push((team.clone(), row.try_get("name")?, names));
            }
        }
        Ok(snapshot)
    }

    /// What a decommission's rules read: each service it names and every host routing to
    /// it, the holder of each host it names, and the team's certificates.
    async fn decommission_snapshot(
        &self,
        team: &TeamName,
        spec: &DecommissionSpec,
        snapshot: &mut CatalogSnapshot,
    ) -> Result<(), StoreError> {
        let held = |row: &AnyRow| -> Result<(String, TeamName, ServiceName), StoreError> {
            let holder: String = row.try_get("team_name")?;
            let service: String = row.try_get("name")?;
            Ok((
                row.try_get("host")?,
                TeamName::parse("team", &holder).map_err(|e| corrupt("team", e))?,
                ServiceName::parse("service", &service).map_err(|e| corrupt("service", e))?,
            ))
        };
        for name in &spec.services {
            let row = sqlx::query(
                "SELECT port, protocol, service_type, cluster FROM services
                 WHERE team_name = $1 AND name = $2 AND decommissioned_at IS NULL",
            )
            .bind(team.as_str())
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { continue };
            snapshot
                .services
                .push((team.clone(), name.clone(), service_facts(&row)?));
            let hosts = sqlx::query(
                "SELECT h.host, s.team_name, s.name FROM hosts h JOIN services s ON s.id = h.service_id
                 WHERE s.team_name = $1 AND s.name = $2 ORDER BY h.host",
            )
            .bind(team.as_str())
            .bind(name.as_str())
            .fetch_all(&self.pool)
            .await?;
            for row in &hosts {
                snapshot.hosts.push(held(row)?);
            }
        }
        for host in &spec.hosts {
            let row = sqlx::query(
                "SELECT h.host, s.team_name, s.name FROM hosts h JOIN services s ON s.id = h.service_id
                 WHERE h.host = $1",
            )
            .bind(host.as_str())
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                let held = held(&row)?;
                if !snapshot.hosts.contains(&held) {
                    snapshot.hosts.push(held);
                }
            }
        }
        for name in &spec.certificates {
            let row = sqlx::query(
                "SELECT c.name FROM certificates c JOIN teams t ON t.id = c.team_id
                 WHERE t.name = $1 AND c.name = $2 AND c.decommissioned_at IS NULL",
            )
            .bind(team.as_str())
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
            if row.is_some() {
                snapshot
                    .certificates
                    .push((team.clone(), name.to_string(), Vec::new()));
            }
        }
        Ok(())
    }
}
