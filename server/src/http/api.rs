//! REST API v1: parse, call the portal, map errors. Each handler's `utoipa::path` is its
//! entry in `/api/openapi.json`, registered together with its route.

use axum::{
    Extension, Json,
    extract::{Path, Query, State, rejection::QueryRejection},
};
use domain::{
    Actor, Certificate, Cluster, FieldError, FieldErrors, Host, Me, Page, PageRequest,
    RawServiceQuery, ServiceDetail, ServiceName, ServiceQuery, ServiceSummary, Team, TeamDetail,
    TeamName, drift::DriftRecord,
};
use utoipa::IntoParams;

use super::{
    AppState,
    error::{ApiError, ErrorBody},
};

/// The signed-in caller, with the roles their groups grant.
#[utoipa::path(get, path = "/me", tag = "identity",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(Extension(actor): Extension<Actor>) -> Json<Me> {
    Json(Me::from(&actor))
}

/// Teams, from configuration.
#[utoipa::path(get, path = "/teams", tag = "catalog",
    responses((status = 200, body = Vec<Team>), (status = 401, body = ErrorBody)))]
pub async fn list_teams(State(state): State<AppState>) -> Result<Json<Vec<Team>>, ApiError> {
    Ok(Json(state.portal.teams().await?))
}

/// One team with its leads and members (those who signed in) and its service count.
#[utoipa::path(get, path = "/teams/{team}", tag = "catalog",
    params(("team" = String, Path, description = "Team name", example = "payments")),
    responses((status = 200, body = TeamDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_team(
    State(state): State<AppState>,
    Path(team): Path<String>,
) -> Result<Json<TeamDetail>, ApiError> {
    let name =
        TeamName::parse("team", &team).map_err(|_| ApiError::NotFound(format!("team {team}")))?;
    Ok(Json(state.portal.team(&name).await?))
}

/// Clusters, from configuration, with how many services run on each.
#[utoipa::path(get, path = "/clusters", tag = "catalog",
    responses((status = 200, body = Vec<Cluster>), (status = 401, body = ErrorBody)))]
pub async fn list_clusters(State(state): State<AppState>) -> Result<Json<Vec<Cluster>>, ApiError> {
    Ok(Json(state.portal.clusters().await?))
}

/// `?page=&per_page=` of the plain lists.
#[derive(Debug, Default, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page number, from 1.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000)]
    page: Option<String>,
    /// Items per page (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    per_page: Option<String>,
}

pub(super) fn bad_query(rejection: QueryRejection) -> ApiError {
    ApiError::BadQuery(FieldErrors(vec![FieldError::new(
        "query",
        rejection.body_text(),
    )]))
}

fn paging(query: Result<Query<Paging>, QueryRejection>) -> Result<PageRequest, ApiError> {
    let Query(raw) = query.map_err(bad_query)?;
    PageRequest::parse(&raw.page, &raw.per_page).map_err(ApiError::BadQuery)
}

/// Ingress hosts, by host name.
#[utoipa::path(get, path = "/hosts", tag = "catalog", params(Paging),
    responses((status = 200, body = Page<Host>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_hosts(
    State(state): State<AppState>,
    query: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page<Host>>, ApiError> {
    Ok(Json(state.portal.hosts(paging(query)?).await?))
}

/// TLS certificates, soonest expiry first.
#[utoipa::path(get, path = "/certificates", tag = "catalog", params(Paging),
    responses((status = 200, body = Page<Certificate>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_certificates(
    State(state): State<AppState>,
    query: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page<Certificate>>, ApiError> {
    Ok(Json(state.portal.certificates(paging(query)?).await?))
}

/// Services: search, filter, sort and paginate.
#[utoipa::path(get, path = "/services", tag = "catalog", params(RawServiceQuery),
    responses((status = 200, body = Page<ServiceSummary>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_services(
    State(state): State<AppState>,
    query: Result<Query<RawServiceQuery>, QueryRejection>,
) -> Result<Json<Page<ServiceSummary>>, ApiError> {
    let Query(raw) = query.map_err(bad_query)?;
    let query = ServiceQuery::parse(&raw).map_err(ApiError::BadQuery)?;
    Ok(Json(state.portal.list_services(&query).await?))
}

/// One service with its hosts, certificates and the team's leads.
#[utoipa::path(get, path = "/services/{team}/{name}", tag = "catalog",
    params(("team" = String, Path, description = "Team name", example = "payments"),
           ("name" = String, Path, description = "Service name", example = "ledger")),
    responses((status = 200, body = ServiceDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_service(
    State(state): State<AppState>,
    Path((team, name)): Path<(String, String)>,
) -> Result<Json<ServiceDetail>, ApiError> {
    let not_found = || ApiError::NotFound(format!("service {team}/{name}"));
    let team_name = TeamName::parse("team", &team).map_err(|_| not_found())?;
    let service_name = ServiceName::parse("name", &name).map_err(|_| not_found())?;
    Ok(Json(state.portal.service(&team_name, &service_name).await?))
}

/// Whether the service's objects (Deployment, Service, ExternalSecret, the Ingress of each
/// host) still hold what was approved: per object
/// its drift state (`in_sync`, `drifted`, `missing`, `unknown` while its cluster could not
/// be read) and, when drifted, each differing field, live against approved, with who
/// changed it when the cluster says.
#[utoipa::path(get, path = "/services/{team}/{name}/drift", tag = "catalog",
    params(("team" = String, Path, description = "Team name", example = "payments"),
           ("name" = String, Path, description = "Service name", example = "ledger")),
    responses((status = 200, body = Vec<DriftRecord>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_service_drift(
    State(state): State<AppState>,
    Path((team, name)): Path<(String, String)>,
) -> Result<Json<Vec<DriftRecord>>, ApiError> {
    let not_found = || ApiError::NotFound(format!("service {team}/{name}"));
    let team_name = TeamName::parse("team", &team).map_err(|_| not_found())?;
    let service_name = ServiceName::parse("name", &name).map_err(|_| not_found())?;
    Ok(Json(
        state
            .portal
            .service_drift(&team_name, &service_name)
            .await?,
    ))
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("API endpoint".into())
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
