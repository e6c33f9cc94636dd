//! The part of the catalog one request's rules read: the service it names, who serves or
//! waits for its host, the team's certificates, ingress-nginx's TCP/UDP entries and who
//! waits for an external port.

use domain::{
    ServiceName, TeamName,
    drift::{DriftedField, ObjectDrift, of_service},
    request::{
        DecommissionSpec, ExposureSpec, ExposureVia, NewRequest, RequestKind, RequestSpec,
        ServiceSpec, Tls, Transport,
        fields::Hostname,
        plan::Plan,
        render::ServiceType,
        rules::{
            CatalogSnapshot, DriftedObject, HostRequest, NginxExposure, NlbExposure, PortRequest,
            ServiceFacts,
        },
    },
};
use serde_json::Value;
use sqlx::{Row, any::AnyRow};

use super::{
    Store, StoreError,
    error::corrupt,
    requests::{exposed_port_of, json},
};

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
            RequestSpec::Exposure(spec) => (Some(&spec.service), None),
            // What an import reads comes from the cluster, added by the caller.
            RequestSpec::Certificate(_) | RequestSpec::Import(_) => (None, None),
            RequestSpec::Restore(spec) => {
                let objects = self
                    .service_drift(team, &request.cluster, &spec.service, false)
                    .await?;
                snapshot.drifted_objects = objects;
                (Some(&spec.service), None)
            }
            RequestSpec::Adopt(spec) => {
                let objects = self
                    .service_drift(team, &request.cluster, &spec.service, true)
                    .await?;
                snapshot.drifted_objects = objects;
                if let Some(approved) = self.approved_service(team, &spec.service).await? {
                    snapshot.approved_services.push((team.clone(), approved));
                }
                (Some(&spec.service), None)
            }
            RequestSpec::Decommission(spec) => {
                self.decommission_snapshot(team, spec, &mut snapshot)
                    .await?;
                self.decommission_exposures(team, &request.cluster, spec, &mut snapshot)
                    .await?;
                (None, None)
            }
        };
        // An NLB's Service must not take the name of another service's Service.
        let nlb_name = match &request.spec {
            RequestSpec::Exposure(spec) if spec.via == ExposureVia::Nlb => {
                ServiceName::parse("service", &spec.nlb_service_name()).ok()
            }
            _ => None,
        };
        for name in service.into_iter().chain(nlb_name.as_ref()) {
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
        if let RequestSpec::Exposure(spec) = &request.spec
            && spec.via == ExposureVia::Nginx
        {
            self.nginx_exposures(&request.cluster, spec, stored, &mut snapshot)
                .await?;
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

    /// The exposures of the services a decommission names: their NLBs, and every entry of
    /// each ingress-nginx ConfigMap on `cluster` that holds one of theirs (the ConfigMap is
    /// applied again with the others).
    async fn decommission_exposures(
        &self,
        team: &TeamName,
        cluster: &str,
        spec: &DecommissionSpec,
        snapshot: &mut CatalogSnapshot,
    ) -> Result<(), StoreError> {
        let mut protocols = Vec::new();
        for name in &spec.services {
            let rows = sqlx::query(
                "SELECT e.protocol, e.external_port, e.via
                 FROM exposures e JOIN services s ON s.id = e.service_id
                 WHERE s.team_name = $1 AND s.name = $2 AND s.decommissioned_at IS NULL
                 ORDER BY e.protocol, e.external_port",
            )
            .bind(team.as_str())
            .bind(name.as_str())
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let protocol: String = row.try_get("protocol")?;
                let protocol = match protocol.as_str() {
                    "tcp" => Transport::Tcp,
                    "udp" => Transport::Udp,
                    _ => return Err(corrupt("protocol", &protocol)),
                };
                let via: String = row.try_get("via")?;
                if via == "nlb" {
                    snapshot.nlb_exposures.push(NlbExposure {
                        team: team.clone(),
                        service: name.clone(),
                        protocol,
                        external_port: port(row, "external_port")?,
                    });
                } else if !protocols.contains(&protocol) {
                    protocols.push(protocol);
                }
            }
        }
        for protocol in protocols {
            self.nginx_entries(cluster, protocol, snapshot).await?;
        }
        Ok(())
    }

    /// Every entry of ingress-nginx's ConfigMap for `protocol` on `cluster`.
    async fn nginx_entries(
        &self,
        cluster: &str,
        protocol: Transport,
        snapshot: &mut CatalogSnapshot,
    ) -> Result<(), StoreError> {
        // A decommissioned service's entry is gone from the ConfigMap, its port free.
        let rows = sqlx::query(
            "SELECT e.external_port, e.port, s.team_name, s.name, t.namespace
             FROM exposures e JOIN services s ON s.id = e.service_id
             JOIN teams t ON t.id = s.team_id
             WHERE e.cluster = $1 AND e.protocol = $2 AND e.via = 'nginx'
               AND s.decommissioned_at IS NULL
             ORDER BY e.external_port",
        )
        .bind(cluster)
        .bind(protocol.as_str())
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            snapshot.nginx_exposures.push(NginxExposure {
                cluster: cluster.to_owned(),
                protocol,
                external_port: port(row, "external_port")?,
                team: team_of(row, "team_name")?,
                namespace: row.try_get("namespace")?,
                service: service_of(row, "name")?,
                port: port(row, "port")?,
            });
        }
        Ok(())
    }

    /// The entries of ingress-nginx's ConfigMap for the exposure's protocol on `cluster`,
    /// and the waiting request (other than `stored`) that holds its external port, if any.
    async fn nginx_exposures(
        &self,
        cluster: &str,
        spec: &ExposureSpec,
        stored: Option<i64>,
        snapshot: &mut CatalogSnapshot,
    ) -> Result<(), StoreError> {
        self.nginx_entries(cluster, spec.protocol, snapshot).await?;
        let row = sqlx::query(
            "SELECT id, team_name, service_name FROM requests
             WHERE cluster = $1 AND exposed_port = $2
               AND status IN ('pending_review', 'queued', 'applying') AND id <> $3",
        )
        .bind(cluster)
        .bind(exposed_port_of(&RequestSpec::Exposure(spec.clone())))
        .bind(stored.unwrap_or(0))
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            snapshot.port_requests.push(PortRequest {
                cluster: cluster.to_owned(),
                protocol: spec.protocol,
                external_port: spec.external_port,
                request_id: row.try_get("id")?,
                team: team_of(&row, "team_name")?,
                service: service_of(&row, "service_name")?,
            });
        }
        Ok(())
    }
}

fn port(row: &AnyRow, column: &str) -> Result<u16, StoreError> {
    let value: i64 = row.try_get(column)?;
    u16::try_from(value).map_err(|e| corrupt(column, e))
}

fn team_of(row: &AnyRow, column: &str) -> Result<TeamName, StoreError> {
    let value: String = row.try_get(column)?;
    TeamName::parse("team", &value).map_err(|e| corrupt(column, e))
}

fn service_of(row: &AnyRow, column: &str) -> Result<ServiceName, StoreError> {
    let value: Option<String> = row.try_get(column)?;
    ServiceName::parse("service", value.as_deref().unwrap_or_default())
        .map_err(|e| corrupt(column, e))
}

impl Store {
    /// The drifted or missing objects of a service of `team` on `cluster` at the last drift
    /// check (`in_sync` too: the others as well), each with the object as last applied:
    /// what a restore applies again, what an adopt compares its new spec with.
    async fn service_drift(
        &self,
        team: &TeamName,
        cluster: &str,
        service: &ServiceName,
        in_sync: bool,
    ) -> Result<Vec<DriftedObject>, StoreError> {
        let hosts: Vec<String> = sqlx::query_scalar(
            "SELECT h.host FROM hosts h JOIN services s ON s.id = h.service_id
             WHERE s.team_name = $1 AND s.name = $2 AND s.decommissioned_at IS NULL",
        )
        .bind(team.as_str())
        .bind(service.as_str())
        .fetch_all(&self.pool)
        .await?;
        let rows = sqlx::query(
            "SELECT d.kind, d.namespace, d.name, d.state, d.fields_json, a.manifest_json
             FROM object_drift d
             JOIN applied_objects a
               ON a.cluster = d.cluster AND a.kind = d.kind AND a.namespace = d.namespace
              AND a.name = d.name
             JOIN teams t ON t.namespace = d.namespace
             WHERE d.cluster = $1 AND t.name = $2
               AND d.state IN ('drifted', 'missing', $3)
             ORDER BY d.kind, d.name",
        )
        .bind(cluster)
        .bind(team.as_str())
        .bind(if in_sync { "in_sync" } else { "missing" })
        .fetch_all(&self.pool)
        .await?;
        let mut objects = Vec::new();
        for row in rows {
            let kind: String = row.try_get("kind")?;
            let name: String = row.try_get("name")?;
            if !of_service(&kind, &name, service.as_str(), &hosts) {
                continue;
            }
            let state: String = row.try_get("state")?;
            let drift = if state == "missing" {
                ObjectDrift::Missing
            } else if state == "in_sync" {
                ObjectDrift::InSync
            } else {
                let fields: String = row.try_get("fields_json")?;
                let fields: Vec<DriftedField> =
                    serde_json::from_str(&fields).map_err(|e| corrupt("drift fields", e))?;
                ObjectDrift::Drifted { fields }
            };
            objects.push(DriftedObject {
                team: team.clone(),
                service: service.clone(),
                kind,
                namespace: row.try_get("namespace")?,
                name,
                drift,
                applied: json(&row, "manifest_json")?,
            });
        }
        Ok(objects)
    }

    /// The spec of a service of `team` as last approved: the newest applied service
    /// request's, or an adopt's new spec.
    pub async fn approved_service(
        &self,
        team: &TeamName,
        service: &ServiceName,
    ) -> Result<Option<ServiceSpec>, StoreError> {
        let Some(id) = self
            .latest_applied(RequestKind::Service, team.as_str(), service.as_str())
            .await?
        else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT kind, spec_json, plan_json FROM requests WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        let kind: String = row.try_get("kind")?;
        let spec = if kind == RequestKind::Adopt.as_str() {
            let plan: Plan = json(&row, "plan_json")?;
            plan.adopted
        } else {
            let spec: Value = json(&row, "spec_json")?;
            Some(ServiceSpec::parse(&spec).map_err(|e| corrupt("spec_json", e))?)
        };
        Ok(spec)
    }
}
