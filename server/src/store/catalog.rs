//! Catalog queries: teams and services.

use domain::{
    Page, ServiceName, ServiceQuery, ServiceSort, ServiceStatus, ServiceSummary, Team, TeamName,
};
use sqlx::{Row, any::AnyRow};

use super::{Backend, Store, StoreError, error::corrupt, now};

/// A team to add to the catalog.
#[derive(Debug, Clone)]
pub struct NewTeam {
    pub name: TeamName,
    pub display_name: String,
    pub description: String,
    pub namespace: String,
}

/// A service to add to the catalog.
#[derive(Debug, Clone)]
pub struct NewService {
    pub team: TeamName,
    pub name: ServiceName,
    pub description: String,
    pub image: String,
    pub cluster: String,
    pub status: ServiceStatus,
    pub replicas: u32,
    pub port: u16,
}

/// The list's filter, shared by its count and its page; a macro so the SQL stays a
/// compile-time constant (`concat!`), never text assembled at run time.
macro_rules! service_filter {
    () => {
        "
    FROM services s
    WHERE ($1 IS NULL OR s.team_name = $1)
      AND (($2 IS NULL AND s.decommissioned_at IS NULL)
           OR ($2 = 'decommissioned' AND s.decommissioned_at IS NOT NULL)
           OR (s.status = $2 AND s.decommissioned_at IS NULL))
      AND ($4 IS NULL OR s.cluster = $4)
      AND ($5 = 0 OR EXISTS (
           SELECT 1 FROM object_drift d JOIN teams t ON t.name = s.team_name
           WHERE d.cluster = s.cluster AND d.namespace = t.namespace AND d.name = s.name
             AND d.kind IN ('Deployment', 'Service') AND d.state IN ('drifted', 'missing')))
      AND ($3 IS NULL OR s.search_text LIKE $3 ESCAPE '\\'
           OR s.id IN (SELECT h.service_id FROM hosts h WHERE h.host LIKE $3 ESCAPE '\\'))"
    };
}

fn team_name(row: &AnyRow, column: &str) -> Result<TeamName, StoreError> {
    TeamName::parse(column, &row.try_get::<String, _>(column)?).map_err(|e| corrupt("team", e))
}

fn service_name(row: &AnyRow) -> Result<ServiceName, StoreError> {
    ServiceName::parse("name", &row.try_get::<String, _>("name")?)
        .map_err(|e| corrupt("service", e))
}

pub(super) fn service_status(row: &AnyRow) -> Result<ServiceStatus, StoreError> {
    ServiceStatus::parse("status", &row.try_get::<String, _>("status")?)
        .map_err(|e| corrupt("status", e))
}

impl Store {
    pub async fn teams(&self) -> Result<Vec<Team>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, display_name, description, namespace FROM teams ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Team {
                    name: team_name(row, "name")?,
                    display_name: row.try_get("display_name")?,
                    description: row.try_get("description")?,
                    namespace: row.try_get("namespace")?,
                })
            })
            .collect()
    }

    pub async fn list_services(
        &self,
        query: &ServiceQuery,
    ) -> Result<Page<ServiceSummary>, StoreError> {
        let team = query.team.as_ref().map(TeamName::as_str);
        let status = query.status.map(|s| s.as_str());
        let pattern = query.like_pattern();
        let cluster = query.cluster.as_deref();

        let drifted = i64::from(query.drifted);
        let unfiltered = team.is_none()
            && status.is_none()
            && pattern.is_none()
            && cluster.is_none()
            && !query.drifted;
        macro_rules! list {
            ($order:literal) => {
                concat!(
                    "SELECT s.name, s.team_name AS team, s.description, s.cluster,
                            CASE WHEN s.decommissioned_at IS NULL THEN s.status
                                 ELSE 'decommissioned' END AS status,
                            s.updated_at, (SELECT services FROM catalog_size WHERE id = 1) AS size,
                            (SELECT d.state FROM object_drift d JOIN teams dt ON dt.name = s.team_name
                             WHERE d.cluster = s.cluster AND d.namespace = dt.namespace
                               AND d.name = s.name AND d.kind IN ('Deployment', 'Service')
                               AND d.state <> 'in_sync'",
                    super::objects::worst_drift_first!(),
                    ") AS drift",
                    service_filter!(),
                    " ORDER BY ",
                    $order,
                    " LIMIT $6 OFFSET $7"
                )
            };
        }
        let sql = match query.sort {
            ServiceSort::Team => list!("s.team_name, s.name"),
            ServiceSort::Name => list!("s.name, s.team_name"),
            ServiceSort::Updated => list!("s.updated_at DESC, s.team_name, s.name"),
        };
        let rows = sqlx::query(sql)
            .bind(team)
            .bind(status)
            .bind(pattern.as_deref())
            .bind(cluster)
            .bind(drifted)
            .bind(i64::from(query.per_page))
            .bind(i64::try_from(query.offset()).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        // The unfiltered total is a counter kept by triggers (a count with the `$n IS NULL
        // OR ...` terms scans every row on SQLite, and even a plain one took PostgreSQL
        // about a millisecond at 10,000 services). It rides along with the page's rows, so
        // a page costs one statement; past the end, or filtered, the total is its own read.
        let total: i64 = match (unfiltered, rows.first()) {
            (true, Some(row)) => row.try_get("size")?,
            (true, None) => {
                sqlx::query_scalar("SELECT services FROM catalog_size WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?
            }
            (false, _) => {
                sqlx::query_scalar(concat!("SELECT COUNT(*) ", service_filter!()))
                    .bind(team)
                    .bind(status)
                    .bind(pattern.as_deref())
                    .bind(cluster)
                    .bind(drifted)
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        let items = rows
            .iter()
            .map(|row| {
                Ok(ServiceSummary {
                    team: team_name(row, "team")?,
                    name: service_name(row)?,
                    description: row.try_get("description")?,
                    cluster: row.try_get("cluster")?,
                    status: service_status(row)?,
                    updated_at: row.try_get("updated_at")?,
                    drift: super::objects::drift_state(row)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or_default(),
            page: query.page,
            per_page: query.per_page,
        })
    }

    /// Makes the teams table match configuration for these teams (added or updated; teams
    /// no longer configured stay, since services may still refer to them).
    pub async fn sync_teams(&self, teams: &[NewTeam]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let at = now();
        for team in teams {
            sqlx::query(
                "INSERT INTO teams (name, display_name, description, namespace, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name,
                    description = excluded.description, namespace = excluded.namespace",
            )
            .bind(team.name.as_str())
            .bind(&team.display_name)
            .bind(&team.description)
            .bind(&team.namespace)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds services in one transaction (existing ones are left as they are).
    pub async fn insert_services(&self, services: &[NewService]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        insert_service_rows(&mut tx, self.backend, services).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds teams and services in one transaction, unless `marker` was recorded before;
    /// returns whether anything was added. Existing teams and services are left as they are.
    pub async fn load_catalog_once(
        &self,
        marker: &str,
        teams: &[NewTeam],
        services: &[NewService],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO portal_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(marker)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        let created = now();
        for team in teams {
            sqlx::query(
                "INSERT INTO teams (name, display_name, description, namespace, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
            )
            .bind(team.name.as_str())
            .bind(&team.display_name)
            .bind(&team.description)
            .bind(&team.namespace)
            .bind(&created)
            .execute(&mut *tx)
            .await?;
        }
        insert_service_rows(&mut tx, self.backend, services).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Inserts services (skipping ones that exist) inside the caller's transaction.
///
/// One statement per thousand services, the rows going in as one JSON parameter: the
/// counter trigger then runs once per statement on PostgreSQL, and seeding does not pay a
/// round trip per row.
async fn insert_service_rows(
    tx: &mut sqlx::AnyConnection,
    backend: Backend,
    services: &[NewService],
) -> Result<(), StoreError> {
    let sql = match backend {
        // `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT.
        Backend::Sqlite => {
            "INSERT INTO services (team_id, team_name, name, description, search_text, image,
                                   cluster, status, replicas, port, created_at, updated_at)
             SELECT t.id, t.name, j.value ->> 'name', j.value ->> 'description',
                    j.value ->> 'search_text', j.value ->> 'image', j.value ->> 'cluster',
                    j.value ->> 'status', j.value ->> 'replicas', j.value ->> 'port', $2, $2
             FROM json_each($1) j JOIN teams t ON t.name = j.value ->> 'team' WHERE true
             ON CONFLICT (team_id, name) DO NOTHING"
        }
        Backend::Postgres => {
            "INSERT INTO services (team_id, team_name, name, description, search_text, image,
                                   cluster, status, replicas, port, created_at, updated_at)
             SELECT t.id, t.name, r.name, r.description, r.search_text, r.image, r.cluster,
                    r.status, r.replicas, r.port, $2, $2
             FROM json_to_recordset($1::json) AS r(team text, name text, description text,
                    search_text text, image text, cluster text, status text,
                    replicas bigint, port bigint)
             JOIN teams t ON t.name = r.team
             ON CONFLICT (team_id, name) DO NOTHING"
        }
    };
    let created = now();
    for chunk in services.chunks(1000) {
        let rows: Vec<serde_json::Value> = chunk
            .iter()
            .map(|service| {
                serde_json::json!({
                    "team": service.team.as_str(),
                    "name": service.name.as_str(),
                    "description": service.description,
                    // Lower-cased in Rust, as the search pattern is, so non-ASCII text
                    // matches too.
                    "search_text": format!("{} {}", service.name, service.description)
                        .to_lowercase(),
                    "image": service.image,
                    "cluster": service.cluster,
                    "status": service.status.as_str(),
                    "replicas": service.replicas,
                    "port": service.port,
                })
            })
            .collect();
        let rows = serde_json::to_string(&rows).map_err(|e| corrupt("services", e))?;
        sqlx::query(sql)
            .bind(rows)
            .bind(&created)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
