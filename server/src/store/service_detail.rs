//! A service page in one statement: the service, its hosts, its team's certificates, its
//! exposed ports, the team's leads, its manifests as last applied and its latest requests.
//!
//! Profiling the by-name endpoint showed most of its time going to handing each statement
//! to the database and back, not to running it; six statements per page became one. The
//! related rows come back as JSON arrays, built by each dialect's JSON functions.

use domain::{
    Certificate, Host, ServiceDetail, ServiceName, TeamName,
    catalog::LiveReplicas,
    request::{RequestSummary, Scaling},
};
use serde::Deserialize;
use serde_json::Value;
use sqlx::Row;

use super::{Backend, Store, StoreError, error::corrupt, objects::soon_cutoff, requests::json};

/// How many requests the page lists.
pub const HISTORY_LEN: i64 = 10;

/// `$1` team, `$2` service, `$3` the lead groups as a JSON array, `$4` history length.
const SQLITE: &str = "
SELECT s.name, t.name AS team, t.display_name, t.namespace, s.description, s.cluster,
       CASE WHEN s.decommissioned_at IS NULL THEN s.status ELSE 'decommissioned' END AS status,
       s.image, s.replicas, s.port, s.created_at, s.updated_at, s.decommissioned_at,
       s.live_replicas, s.live_available,
       (SELECT json_group_array(json_object('host', h.host, 'class', h.class, 'tls', h.tls,
                                            'lb_address', h.lb_address) ORDER BY h.host)
          FROM hosts h WHERE h.service_id = s.id) AS hosts,
       (SELECT json_group_array(json_object('name', c.name, 'dns_names', json(c.dns_names),
                                            'issuer', c.issuer, 'expires_at', c.expires_at,
                                            'status', c.status, 'live_at', c.live_at)
                                ORDER BY c.name)
          FROM certificates c WHERE c.team_id = t.id AND c.decommissioned_at IS NULL) AS certificates,
       (SELECT json_group_array(json_object('protocol', e.protocol,
                  'external_port', e.external_port, 'port', e.port, 'via', e.via,
                  'scheme', e.scheme) ORDER BY e.protocol, e.external_port, e.via)
          FROM exposures e WHERE e.service_id = s.id) AS exposures,
       (SELECT json_group_array(email ORDER BY email)
          FROM (SELECT DISTINCT u.email FROM user_groups g JOIN users u ON u.id = g.user_id
                WHERE g.group_name IN (SELECT value FROM json_each($3)))) AS leads,
       (SELECT json_group_array(json(a.manifest_json) ORDER BY a.kind)
          FROM applied_objects a
          WHERE a.cluster = s.cluster AND a.namespace = t.namespace AND a.name = s.name
            AND a.kind IN ('Deployment', 'Service')) AS applied,
       (SELECT json_group_array(json_object('id', r.id, 'kind', r.kind, 'team', r.team_name,
                  'cluster', r.cluster, 'title', r.title, 'status', r.status,
                  'requester', u.email, 'requester_name', u.name, 'reason', r.reason,
                  'created_at', r.created_at, 'updated_at', r.updated_at) ORDER BY r.id DESC)
          FROM (SELECT * FROM requests
                WHERE team_name = t.name AND service_name = s.name
                ORDER BY id DESC LIMIT $4) r
          JOIN users u ON u.id = r.requester_id) AS history
FROM services s JOIN teams t ON t.id = s.team_id
WHERE t.name = $1 AND s.name = $2";

/// The same for PostgreSQL (`json_agg` is NULL over no rows; the driver reads text).
const POSTGRES: &str = "
SELECT s.name, t.name AS team, t.display_name, t.namespace, s.description, s.cluster,
       CASE WHEN s.decommissioned_at IS NULL THEN s.status ELSE 'decommissioned' END AS status,
       s.image, s.replicas, s.port, s.created_at, s.updated_at, s.decommissioned_at,
       s.live_replicas, s.live_available,
       COALESCE((SELECT json_agg(json_build_object('host', h.host, 'class', h.class,
                                                   'tls', h.tls, 'lb_address', h.lb_address)
                                 ORDER BY h.host)
          FROM hosts h WHERE h.service_id = s.id), '[]')::text AS hosts,
       COALESCE((SELECT json_agg(json_build_object('name', c.name,
                   'dns_names', c.dns_names::json, 'issuer', c.issuer,
                   'expires_at', c.expires_at, 'status', c.status, 'live_at', c.live_at)
                   ORDER BY c.name)
          FROM certificates c WHERE c.team_id = t.id AND c.decommissioned_at IS NULL), '[]')::text AS certificates,
       COALESCE((SELECT json_agg(json_build_object('protocol', e.protocol,
                   'external_port', e.external_port, 'port', e.port, 'via', e.via,
                   'scheme', e.scheme) ORDER BY e.protocol, e.external_port, e.via)
          FROM exposures e WHERE e.service_id = s.id), '[]')::text AS exposures,
       COALESCE((SELECT json_agg(email ORDER BY email)
          FROM (SELECT DISTINCT u.email FROM user_groups g JOIN users u ON u.id = g.user_id
                WHERE g.group_name IN (SELECT json_array_elements_text($3::json))) e),
          '[]')::text AS leads,
       COALESCE((SELECT json_agg(a.manifest_json::json ORDER BY a.kind)
          FROM applied_objects a
          WHERE a.cluster = s.cluster AND a.namespace = t.namespace AND a.name = s.name
            AND a.kind IN ('Deployment', 'Service')), '[]')::text AS applied,
       COALESCE((SELECT json_agg(json_build_object('id', r.id, 'kind', r.kind,
                  'team', r.team_name, 'cluster', r.cluster, 'title', r.title,
                  'status', r.status, 'requester', u.email, 'requester_name', u.name,
                  'reason', r.reason, 'created_at', r.created_at,
                  'updated_at', r.updated_at) ORDER BY r.id DESC)
          FROM (SELECT * FROM requests
                WHERE team_name = t.name AND service_name = s.name
                ORDER BY id DESC LIMIT $4) r
          JOIN users u ON u.id = r.requester_id), '[]')::text AS history
FROM services s JOIN teams t ON t.id = s.team_id
WHERE t.name = $1 AND s.name = $2";

/// A host as the statement returns it (team and service are the page's own).
#[derive(Deserialize)]
struct HostRow {
    host: String,
    class: String,
    tls: String,
    lb_address: Option<String>,
}

/// A certificate as the statement returns it (`expiring_soon` is worked out here).
#[derive(Deserialize)]
struct CertificateRow {
    name: String,
    dns_names: Vec<String>,
    issuer: String,
    expires_at: Option<String>,
    status: String,
    live_at: Option<String>,
}

/// The Deployment and Service as last applied, as YAML documents; `None` before any apply.
fn applied_yaml(objects: &[Value]) -> Result<Option<String>, StoreError> {
    if objects.is_empty() {
        return Ok(None);
    }
    let mut yaml = String::new();
    for object in objects {
        yaml.push_str("---\n");
        yaml.push_str(&serde_norway::to_string(object).map_err(|e| corrupt("applied", e))?);
    }
    Ok(Some(yaml))
}

impl Store {
    /// The service page, or `None` when the team has no such service. `lead_groups` are the
    /// groups whose members lead the team (configuration, not stored).
    pub async fn service_detail(
        &self,
        team: &TeamName,
        name: &ServiceName,
        lead_groups: &[String],
    ) -> Result<Option<ServiceDetail>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => SQLITE,
            Backend::Postgres => POSTGRES,
        };
        let lead_groups = serde_json::to_string(lead_groups).map_err(|e| corrupt("leads", e))?;
        let Some(row) = sqlx::query(sql)
            .bind(team.as_str())
            .bind(name.as_str())
            .bind(lead_groups)
            .bind(HISTORY_LEN)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };

        let hosts: Vec<Host> = json::<Vec<HostRow>>(&row, "hosts")?
            .into_iter()
            .map(|h| Host {
                host: h.host,
                team: team.clone(),
                service: name.clone(),
                class: h.class,
                tls: h.tls,
                // The page's own Drift section shows it.
                drift: None,
                lb_address: h.lb_address,
            })
            .collect();
        // The team's certificates that cover one of this service's hosts.
        let soon = soon_cutoff();
        let certificates = json::<Vec<CertificateRow>>(&row, "certificates")?
            .into_iter()
            .filter(|c| hosts.iter().any(|h| c.dns_names.contains(&h.host)))
            .map(|c| Certificate {
                team: team.clone(),
                expiring_soon: c.expires_at.as_deref().is_some_and(|at| at < soon.as_str()),
                name: c.name,
                dns_names: c.dns_names,
                issuer: c.issuer,
                expires_at: c.expires_at,
                status: c.status,
                drift: None,
                service: Some(name.clone()),
                live_at: c.live_at,
            })
            .collect();
        let history: Vec<RequestSummary> = json(&row, "history")?;
        let applied: Vec<Value> = json(&row, "applied")?;
        let replicas: i64 = row.try_get("replicas")?;
        let scaling = if applied
            .iter()
            .any(|o| o["kind"] == "Deployment" && o["spec"].get("replicas").is_none())
        {
            Scaling::Hpa
        } else {
            Scaling::Fixed
        };
        let port: i64 = row.try_get("port")?;
        let live_replicas: Option<i64> = row.try_get("live_replicas")?;
        let live_available: Option<i64> = row.try_get("live_available")?;
        let count = |n: i64| u32::try_from(n).map_err(|e| corrupt("live replicas", e));
        let live_replicas = match (live_replicas, live_available) {
            (Some(replicas), Some(available)) => Some(LiveReplicas {
                replicas: count(replicas)?,
                available: count(available)?,
            }),
            _ => None,
        };
        Ok(Some(ServiceDetail {
            team: team.clone(),
            team_display_name: row.try_get("display_name")?,
            name: name.clone(),
            description: row.try_get("description")?,
            cluster: row.try_get("cluster")?,
            namespace: row.try_get("namespace")?,
            status: super::catalog::service_status(&row)?,
            image: row.try_get("image")?,
            replicas: u32::try_from(replicas).map_err(|e| corrupt("replicas", e))?,
            scaling,
            live_replicas,
            port: u16::try_from(port).map_err(|e| corrupt("port", e))?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            decommissioned_at: row.try_get("decommissioned_at")?,
            hosts,
            certificates,
            exposures: json(&row, "exposures")?,
            leads: json(&row, "leads")?,
            applied_manifests: applied_yaml(&applied)?,
            history,
        }))
    }
}
