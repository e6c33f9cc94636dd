//! Clusters, ingress hosts and certificates in the catalog, and who is in a team.

use domain::{
    Certificate, Cluster, Host, Page, PageRequest, ServiceName, TeamName, drift::DriftState,
};
use sqlx::{Row, any::AnyRow};

use super::{Backend, Store, StoreError, now, now_plus};

/// A cluster from configuration.
#[derive(Debug, Clone)]
pub struct NewCluster {
    pub name: String,
    pub kind: String,
    pub description: String,
}

/// A host and its certificate as applied (demo data; later the worker records them).
#[derive(Debug, Clone)]
pub struct NewHost {
    pub team: TeamName,
    pub service: ServiceName,
    pub host: String,
    pub class: String,
    pub tls: String,
}

#[derive(Debug, Clone)]
pub struct NewCertificate {
    pub team: TeamName,
    pub name: String,
    pub dns_names: Vec<String>,
    pub issuer: String,
    pub expires_in_days: Option<i64>,
    pub status: String,
}

fn corrupt(error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

/// A row's `drift` column: the state of a not-in-sync drift record, or NULL.
pub(super) fn drift_state(row: &AnyRow) -> Result<Option<DriftState>, StoreError> {
    row.try_get::<Option<String>, _>("drift")?
        .map(|text| DriftState::parse(&text).ok_or_else(|| corrupt(format!("drift {text}"))))
        .transpose()
}

/// Orders a service's drift records worst first: what the list marks.
macro_rules! worst_drift_first {
    () => {
        " ORDER BY CASE d.state WHEN 'missing' THEN 0 WHEN 'drifted' THEN 1 ELSE 2 END LIMIT 1"
    };
}
pub(super) use worst_drift_first;

/// A page of hosts with their Ingress's drift: the Ingress is named as
/// `domain::request::object_names::ingress_name` names it (service, dash, the host's first label).
macro_rules! hosts_page {
    ($ingress:literal) => {
        concat!(
            "SELECT h.host, h.class, h.tls, h.lb_address, s.name AS service, t.name AS team,
                    (SELECT d.state FROM object_drift d
                     WHERE d.cluster = s.cluster AND d.kind = 'Ingress'
                       AND d.namespace = t.namespace AND d.state <> 'in_sync'
                       AND d.name = s.name || '-' || ",
            $ingress,
            ") AS drift
             FROM hosts h JOIN services s ON s.id = h.service_id JOIN teams t ON t.id = s.team_id
             ORDER BY h.host LIMIT $1 OFFSET $2"
        )
    };
}

const HOSTS_SQLITE: &str = hosts_page!(
    "CASE WHEN instr(h.host, '.') > 0 THEN substr(h.host, 1, instr(h.host, '.') - 1) ELSE h.host END"
);
const HOSTS_POSTGRES: &str = hosts_page!("split_part(h.host, '.', 1)");

/// A page of certificates with their Certificate object's drift (in the team's namespace,
/// on any cluster) and the service whose page shows it.
macro_rules! certificates_page {
    ($covers:literal) => {
        concat!(
            "SELECT c.name, c.dns_names, c.issuer, c.expires_at, c.status, c.live_at, t.name AS team,
                    (SELECT d.state FROM object_drift d
                     WHERE d.kind = 'Certificate' AND d.namespace = t.namespace
                       AND d.name = c.name AND d.state <> 'in_sync'",
            worst_drift_first!(),
            ") AS drift,
                    (SELECT s.name FROM services s JOIN hosts h ON h.service_id = s.id
                     WHERE s.team_id = c.team_id AND s.decommissioned_at IS NULL AND ",
            $covers,
            " ORDER BY s.name LIMIT 1) AS service
             FROM certificates c JOIN teams t ON t.id = c.team_id
             WHERE c.decommissioned_at IS NULL
             ORDER BY c.expires_at IS NULL, c.expires_at, t.name, c.name LIMIT $1 OFFSET $2"
        )
    };
}

const CERTIFICATES_SQLITE: &str =
    certificates_page!("EXISTS (SELECT 1 FROM json_each(c.dns_names) n WHERE n.value = h.host)");
const CERTIFICATES_POSTGRES: &str = certificates_page!(
    "EXISTS (SELECT 1 FROM json_array_elements_text(c.dns_names::json) n WHERE n = h.host)"
);

fn host(row: &AnyRow) -> Result<Host, StoreError> {
    Ok(Host {
        drift: drift_state(row)?,
        host: row.try_get("host")?,
        team: TeamName::parse("team", &row.try_get::<String, _>("team")?).map_err(corrupt)?,
        service: ServiceName::parse("service", &row.try_get::<String, _>("service")?)
            .map_err(corrupt)?,
        class: row.try_get("class")?,
        tls: row.try_get("tls")?,
        lb_address: row.try_get("lb_address")?,
    })
}

/// Certificates expiring before this instant are "expiring soon".
pub(super) fn soon_cutoff() -> String {
    now_plus(time::Duration::days(30))
}

fn certificate(row: &AnyRow, soon: &str) -> Result<Certificate, StoreError> {
    let dns_names: String = row.try_get("dns_names")?;
    let expires_at: Option<String> = row.try_get("expires_at")?;
    let service: Option<String> = row.try_get("service")?;
    Ok(Certificate {
        drift: drift_state(row)?,
        service: service
            .map(|s| ServiceName::parse("service", &s).map_err(corrupt))
            .transpose()?,
        team: TeamName::parse("team", &row.try_get::<String, _>("team")?).map_err(corrupt)?,
        name: row.try_get("name")?,
        dns_names: serde_json::from_str(&dns_names).map_err(corrupt)?,
        issuer: row.try_get("issuer")?,
        expiring_soon: expires_at.as_deref().is_some_and(|at| at < soon),
        expires_at,
        status: row.try_get("status")?,
        live_at: row.try_get("live_at")?,
    })
}

fn page<T>(items: Vec<T>, total: i64, request: PageRequest) -> Page<T> {
    Page {
        items,
        total: u64::try_from(total).unwrap_or_default(),
        page: request.page,
        per_page: request.per_page,
    }
}

fn limits(request: PageRequest) -> (i64, i64) {
    (
        i64::from(request.per_page),
        i64::try_from(request.offset()).unwrap_or(i64::MAX),
    )
}

impl Store {
    /// Makes the clusters table match configuration (added or updated).
    pub async fn sync_clusters(&self, clusters: &[NewCluster]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for cluster in clusters {
            sqlx::query(
                "INSERT INTO clusters (name, kind, description) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind,
                    description = excluded.description",
            )
            .bind(&cluster.name)
            .bind(&cluster.kind)
            .bind(&cluster.description)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn clusters(&self) -> Result<Vec<Cluster>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.name, c.kind, c.description,
                    (SELECT COUNT(*) FROM services s
                     WHERE s.cluster = c.name AND s.decommissioned_at IS NULL) AS services
             FROM clusters c ORDER BY c.name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let services: i64 = row.try_get("services")?;
                Ok(Cluster {
                    name: row.try_get("name")?,
                    kind: row.try_get("kind")?,
                    description: row.try_get("description")?,
                    services: u64::try_from(services).unwrap_or_default(),
                })
            })
            .collect()
    }

    pub async fn cluster_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT name FROM clusters ORDER BY name")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn hosts(&self, request: PageRequest) -> Result<Page<Host>, StoreError> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM hosts")
            .fetch_one(&self.pool)
            .await?;
        let (limit, offset) = limits(request);
        let sql = match self.backend {
            Backend::Sqlite => HOSTS_SQLITE,
            Backend::Postgres => HOSTS_POSTGRES,
        };
        let rows = sqlx::query(sql)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(host).collect::<Result<_, _>>()?;
        Ok(page(items, total, request))
    }

    /// Certificates, soonest expiry first (unknown expiry last).
    pub async fn certificates(
        &self,
        request: PageRequest,
    ) -> Result<Page<Certificate>, StoreError> {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM certificates WHERE decommissioned_at IS NULL")
                .fetch_one(&self.pool)
                .await?;
        let (limit, offset) = limits(request);
        let sql = match self.backend {
            Backend::Sqlite => CERTIFICATES_SQLITE,
            Backend::Postgres => CERTIFICATES_POSTGRES,
        };
        let rows = sqlx::query(sql)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let soon = soon_cutoff();
        let items = rows
            .iter()
            .map(|r| certificate(r, &soon))
            .collect::<Result<_, _>>()?;
        Ok(page(items, total, request))
    }

    /// The team's certificates naming any of `hosts`.
    /// Emails of signed-in users whose groups include any of `groups`.
    pub async fn users_in_groups(&self, groups: &[String]) -> Result<Vec<String>, StoreError> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        // The groups go in as one JSON array parameter, read back as rows by each dialect.
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT DISTINCT u.email FROM user_groups g JOIN users u ON u.id = g.user_id
                 WHERE g.group_name IN (SELECT value FROM json_each($1)) ORDER BY u.email"
            }
            Backend::Postgres => {
                "SELECT DISTINCT u.email FROM user_groups g JOIN users u ON u.id = g.user_id
                 WHERE g.group_name IN (SELECT json_array_elements_text($1::json))
                 ORDER BY u.email"
            }
        };
        let groups = serde_json::to_string(groups).map_err(corrupt)?;
        Ok(sqlx::query_scalar(sql)
            .bind(groups)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn count_services_of(&self, team: &TeamName) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM services s JOIN teams t ON t.id = s.team_id
             WHERE t.name = $1 AND s.decommissioned_at IS NULL",
        )
        .bind(team.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Adds demo hosts and certificates (ignored when already there).
    pub async fn add_objects(
        &self,
        hosts: &[NewHost],
        certificates: &[NewCertificate],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let created = now();
        for h in hosts {
            sqlx::query(
                "INSERT INTO hosts (service_id, host, class, tls, created_at)
                 SELECT s.id, $3, $4, $5, $6 FROM services s JOIN teams t ON t.id = s.team_id
                 WHERE t.name = $1 AND s.name = $2
                 ON CONFLICT (host) DO NOTHING",
            )
            .bind(h.team.as_str())
            .bind(h.service.as_str())
            .bind(&h.host)
            .bind(&h.class)
            .bind(&h.tls)
            .bind(&created)
            .execute(&mut *tx)
            .await?;
        }
        for c in certificates {
            let dns_names = serde_json::to_string(&c.dns_names).map_err(corrupt)?;
            let expires_at = c.expires_in_days.map(|d| now_plus(time::Duration::days(d)));
            sqlx::query(
                "INSERT INTO certificates (team_id, name, dns_names, issuer, expires_at, status, created_at)
                 SELECT id, $2, $3, $4, $5, $6, $7 FROM teams WHERE name = $1
                 ON CONFLICT (team_id, name) DO NOTHING",
            )
            .bind(c.team.as_str())
            .bind(&c.name)
            .bind(&dns_names)
            .bind(&c.issuer)
            .bind(expires_at)
            .bind(&c.status)
            .bind(&created)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
