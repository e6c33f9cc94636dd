//! Requests: stored with their spec, manifests and plan, listed, read with their timeline,
//! and moved between states — each change in one transaction with its audit event.

use domain::{
    Page, TeamName,
    request::{
        ExposureVia, NewRequest, RequestEvent, RequestKind, RequestQuery, RequestSpec,
        RequestStatus, RequestSummary,
        change::{PrepareError, PreparedChange},
        plan::Plan,
    },
};
use serde_json::Value;
use sqlx::{Row, any::AnyRow};

use super::{Store, StoreError, UserRecord, auth::audit_for_team, error::corrupt, now};

/// A stored request with what a reviewer reads.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub summary: RequestSummary,
    pub requester_id: i64,
    pub spec: Value,
    pub manifests: String,
    pub plan: Plan,
    pub notes: Vec<String>,
}

/// A request waiting for review, with what deciding on it needs.
#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub summary: RequestSummary,
    pub requester_id: i64,
    /// People who approved its current plan.
    pub approved_by: Vec<i64>,
    /// Its current plan's hash: what a reviewer approves.
    pub plan_hash: String,
}

/// Columns of a request summary, over `requests r JOIN users u` (the requester).
macro_rules! summary_columns {
    () => {
        "SELECT r.id, r.kind, r.team_name, r.cluster, r.title, r.status, r.requester_id,
                u.email AS requester, u.name AS requester_name, r.reason, r.created_at,
                r.updated_at"
    };
}

/// The list's filters: `$1` status, `$2` team, `$3` requester id; each `NULL` for any.
macro_rules! request_filter {
    () => {
        " FROM requests r JOIN users u ON u.id = r.requester_id
          WHERE ($1 IS NULL OR r.status = $1)
            AND ($2 IS NULL OR r.team_name = $2)
            AND ($3 IS NULL OR r.requester_id = $3)"
    };
}

fn summary(row: &AnyRow) -> Result<RequestSummary, StoreError> {
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    let team: String = row.try_get("team_name")?;
    Ok(RequestSummary {
        id: row.try_get("id")?,
        kind: RequestKind::parse("kind", &kind).map_err(|e| corrupt("kind", e))?,
        team: TeamName::parse("team", &team).map_err(|e| corrupt("team", e))?,
        cluster: row.try_get("cluster")?,
        title: row.try_get("title")?,
        status: RequestStatus::parse("status", &status).map_err(|e| corrupt("status", e))?,
        requester: row.try_get("requester")?,
        requester_name: row.try_get("requester_name")?,
        reason: row.try_get("reason")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn json<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    column: &str,
) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| corrupt(column, e))
}

fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt("json", e))
}

impl Store {
    /// Stores a new request as `pending_review` with its audit event, in one transaction.
    /// `prepare` renders the change once the request id (a label on every object) is known.
    /// An ingress request holds its host from now on, an nginx exposure its external port:
    /// `HostHeld` / `ExternalPortHeld` when another waiting request got it first (the
    /// unique indexes decide between two at the same moment).
    pub async fn submit_request(
        &self,
        requester: &UserRecord,
        request: &NewRequest,
        prepare: impl FnOnce(i64) -> Result<PreparedChange, PrepareError>,
    ) -> Result<i64, StoreError> {
        let at = now();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO requests (kind, team_name, cluster, title, status, requester_id,
                 reason, spec_json, manifests_yaml, plan_json, plan_hash, created_at, updated_at,
                 service_name, host, exposed_port)
             VALUES ($1, $2, $3, $4, 'pending_review', $5, $6, $7, '', '{}', '', $8, $8, $9, $10,
                 $11)
             RETURNING id",
        )
        .bind(request.spec.kind().as_str())
        .bind(request.team.as_str())
        .bind(&request.cluster)
        .bind(request.spec.title())
        .bind(requester.id)
        .bind(&request.reason)
        .bind(to_json(&spec_value(&request.spec))?)
        .bind(&at)
        .bind(service_of(&request.spec))
        .bind(host_of(&request.spec))
        .bind(exposed_port_of(&request.spec))
        .fetch_one(&mut *tx)
        .await
        .map_err(|error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => held(&request.spec, error),
            _ => StoreError::Query(error),
        })?;
        let change = prepare(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "UPDATE requests SET manifests_yaml = $1, plan_json = $2, plan_hash = $3,
                 notes_json = $4
             WHERE id = $5",
        )
        .bind(&change.manifests)
        .bind(to_json(&change.plan)?)
        .bind(&change.plan.hash)
        .bind(to_json(&change.notes)?)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit_for_team(
            &mut tx,
            &requester.email,
            "request.submit",
            &subject(id),
            Some(request.team.as_str()),
            serde_json::json!({
                "kind": request.spec.kind(),
                "team": request.team,
                "cluster": request.cluster,
                "title": request.spec.title(),
                "plan_hash": change.plan.hash,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn request(&self, id: i64) -> Result<Option<RequestRecord>, StoreError> {
        let sql = concat!(
            summary_columns!(),
            ", r.spec_json, r.manifests_yaml, r.plan_json, r.notes_json
             FROM requests r JOIN users u ON u.id = r.requester_id WHERE r.id = $1"
        );
        let Some(row) = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        Ok(Some(RequestRecord {
            summary: summary(&row)?,
            requester_id: row.try_get("requester_id")?,
            spec: json(&row, "spec_json")?,
            manifests: row.try_get("manifests_yaml")?,
            plan: json(&row, "plan_json")?,
            notes: json(&row, "notes_json")?,
        }))
    }

    /// The request's timeline, oldest first.
    pub async fn request_events(&self, id: i64) -> Result<Vec<RequestEvent>, StoreError> {
        self.request_events_after(id, 0).await
    }

    /// The request's timeline entries after event `after`, oldest first.
    pub async fn request_events_after(
        &self,
        id: i64,
        after: i64,
    ) -> Result<Vec<RequestEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, detail_json FROM audit_events
             WHERE subject = $1 AND id > $2 ORDER BY id",
        )
        .bind(subject(id))
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RequestEvent {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    detail: json(row, "detail_json")?,
                })
            })
            .collect()
    }

    /// Where the request stands, or `None` for no such request.
    pub async fn request_status(&self, id: i64) -> Result<Option<RequestStatus>, StoreError> {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM requests WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        status
            .map(|s| RequestStatus::parse("status", &s).map_err(|e| corrupt("status", e)))
            .transpose()
    }

    /// Requests, newest first.
    pub async fn list_requests(
        &self,
        query: &RequestQuery,
        requester_id: i64,
    ) -> Result<Page<RequestSummary>, StoreError> {
        let status = query.status.map(|s| s.as_str().to_owned());
        let team = query.team.as_ref().map(|t| t.as_str().to_owned());
        let mine = query.mine.then_some(requester_id);
        let total: i64 = sqlx::query_scalar(concat!("SELECT COUNT(*)", request_filter!()))
            .bind(status.clone())
            .bind(team.clone())
            .bind(mine)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(concat!(
            summary_columns!(),
            request_filter!(),
            " ORDER BY r.id DESC LIMIT $4 OFFSET $5"
        ))
        .bind(status)
        .bind(team)
        .bind(mine)
        .bind(i64::from(query.page.per_page))
        .bind(i64::try_from(query.page.offset()).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(Page {
            items: rows.iter().map(summary).collect::<Result<_, _>>()?,
            total: u64::try_from(total).unwrap_or_default(),
            page: query.page.page,
            per_page: query.page.per_page,
        })
    }

    /// Requests waiting for review, oldest first, each with its requester and the people
    /// who approved its current plan.
    pub async fn pending_requests(&self) -> Result<Vec<PendingRequest>, StoreError> {
        let rows = sqlx::query(concat!(
            summary_columns!(),
            ", r.plan_hash FROM requests r JOIN users u ON u.id = r.requester_id
              WHERE r.status = 'pending_review' ORDER BY r.id"
        ))
        .fetch_all(&self.pool)
        .await?;
        let approvals = sqlx::query(
            "SELECT a.request_id, a.user_id FROM approvals a
             JOIN requests r ON r.id = a.request_id AND r.plan_hash = a.plan_hash
             WHERE r.status = 'pending_review'",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let summary = summary(row)?;
                let approved_by = approvals
                    .iter()
                    .filter(|a| a.try_get::<i64, _>("request_id").ok() == Some(summary.id))
                    .map(|a| a.try_get("user_id"))
                    .collect::<Result<_, _>>()?;
                Ok(PendingRequest {
                    requester_id: row.try_get("requester_id")?,
                    plan_hash: row.try_get("plan_hash")?,
                    summary,
                    approved_by,
                })
            })
            .collect()
    }

    /// Ids of the requests of `team` on `cluster` waiting for review, oldest first (at
    /// most `limit`): what an applied change may have overtaken.
    pub async fn pending_ids(
        &self,
        team: &str,
        cluster: &str,
        limit: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM requests
             WHERE team_name = $1 AND cluster = $2 AND status = 'pending_review'
             ORDER BY id LIMIT $3",
        )
        .bind(team)
        .bind(cluster)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The newest applied request of `kind` for the object `name` of `team` (a service's
    /// name, a host, a certificate's name): the approved state a change starts from.
    pub async fn latest_applied(
        &self,
        kind: RequestKind,
        team: &str,
        name: &str,
    ) -> Result<Option<i64>, StoreError> {
        let title = match kind {
            RequestKind::Service => format!("service {name}"),
            RequestKind::Ingress => format!("ingress {name}"),
            RequestKind::Certificate => format!("certificate {name}"),
            // No page offers to change an exposure (yet): a new one is requested instead.
            RequestKind::Decommission
            | RequestKind::Exposure
            | RequestKind::Restore
            | RequestKind::Adopt
            | RequestKind::Import => {
                return Ok(None);
            }
        };
        // An applied adopt approved a service's spec too (the live values).
        let adopted = match kind {
            RequestKind::Service => format!("adopt {name}"),
            _ => title.clone(),
        };
        Ok(sqlx::query_scalar(
            "SELECT MAX(id) FROM requests
             WHERE team_name = $2 AND status = 'applied'
               AND ((kind = $1 AND title = $3) OR (kind = 'adopt' AND title = $4))",
        )
        .bind(kind.as_str())
        .bind(team)
        .bind(title)
        .bind(adopted)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn count_requests(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(&self.pool)
            .await?)
    }
}

/// The audit subject of a request.
pub fn subject(id: i64) -> String {
    format!("request/{id}")
}

/// The host an ingress request holds.
fn host_of(spec: &RequestSpec) -> Option<&str> {
    match spec {
        RequestSpec::Ingress(s) => Some(s.host.as_str()),
        RequestSpec::Service(_)
        | RequestSpec::Certificate(_)
        | RequestSpec::Exposure(_)
        | RequestSpec::Decommission(_)
        | RequestSpec::Restore(_)
        | RequestSpec::Adopt(_)
        | RequestSpec::Import(_) => None,
    }
}

/// The external port of ingress-nginx an nginx exposure request holds on its cluster:
/// `tcp/9000`. (An NLB is a load balancer of its own: it holds no shared port.)
pub(super) fn exposed_port_of(spec: &RequestSpec) -> Option<String> {
    match spec {
        RequestSpec::Exposure(s) if s.via == ExposureVia::Nginx => {
            Some(format!("{}/{}", s.protocol.as_str(), s.external_port))
        }
        _ => None,
    }
}

/// What a unique violation on submit means: the host or the external port is held.
fn held(spec: &RequestSpec, error: sqlx::Error) -> StoreError {
    match spec {
        RequestSpec::Ingress(s) => StoreError::HostHeld(s.host.as_str().to_owned()),
        RequestSpec::Exposure(s) => {
            StoreError::ExternalPortHeld(format!("{} {}", s.protocol.kube(), s.external_port))
        }
        _ => StoreError::Query(error),
    }
}

/// The catalog service a request is about, if any.
fn service_of(spec: &RequestSpec) -> Option<&str> {
    match spec {
        RequestSpec::Service(s) => Some(s.name.as_str()),
        RequestSpec::Ingress(s) => Some(s.service.as_str()),
        RequestSpec::Exposure(s) => Some(s.service.as_str()),
        RequestSpec::Restore(s) => Some(s.service.as_str()),
        RequestSpec::Adopt(s) => Some(s.service.as_str()),
        // Several services, maybe: the import's own history is the request.
        RequestSpec::Import(_) => None,
        RequestSpec::Certificate(_) => None,
        // The first service it takes away; a decommission of hosts alone belongs to their
        // service's history through its ingresses' requests.
        RequestSpec::Decommission(s) => s.services.first().map(|n| n.as_str()),
    }
}

/// The spec as stored: the validated spec's own JSON.
fn spec_value(spec: &RequestSpec) -> Value {
    match serde_json::to_value(spec) {
        Ok(Value::Object(mut tagged)) => tagged.remove("spec").unwrap_or(Value::Null),
        _ => Value::Null,
    }
}
