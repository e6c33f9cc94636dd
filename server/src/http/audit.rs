//! REST API v1 for the audit log (admins). The handler parses and maps errors; who may read
//! it is the portal's decision.

use axum::{
    Extension, Json,
    extract::{Query, State, rejection::QueryRejection},
};
use domain::{Actor, AuditEvent, AuditQuery, Page, RawAuditQuery};

use super::{
    AppState,
    api::bad_query,
    error::{ApiError, ErrorBody},
};

/// Audit events, newest first: who did what to which subject, and when. `since` is
/// inclusive, `until` exclusive. Admins only.
#[utoipa::path(get, path = "/audit", tag = "audit", params(RawAuditQuery),
    responses((status = 200, body = Page<AuditEvent>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit_log(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<RawAuditQuery>, QueryRejection>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    let Query(raw) = query.map_err(bad_query)?;
    let query = AuditQuery::parse(&raw).map_err(ApiError::BadQuery)?;
    Ok(Json(state.portal.audit_log(&actor, &query).await?))
}
