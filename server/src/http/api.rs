//! REST API v1: parse, call the portal, map errors.

use axum::{
    Extension, Json,
    extract::{Path, Query, State, rejection::QueryRejection},
};
use domain::{
    Actor, FieldError, FieldErrors, Me, Page, RawServiceQuery, ServiceDetail, ServiceName,
    ServiceQuery, ServiceSummary, Team, TeamName,
};

use domain::{Certificate, Cluster, Host, PageRequest, TeamDetail};

use super::{AppState, error::ApiError};

pub async fn me(Extension(actor): Extension<Actor>) -> Json<Me> {
    Json(Me::from(&actor))
}

pub async fn list_teams(State(state): State<AppState>) -> Result<Json<Vec<Team>>, ApiError> {
    Ok(Json(state.portal.teams().await?))
}

pub async fn list_services(
    State(state): State<AppState>,
    query: Result<Query<RawServiceQuery>, QueryRejection>,
) -> Result<Json<Page<ServiceSummary>>, ApiError> {
    let Query(raw) = query.map_err(|rejection| {
        ApiError::BadQuery(FieldErrors(vec![FieldError::new(
            "query",
            rejection.body_text(),
        )]))
    })?;
    let query = ServiceQuery::parse(&raw).map_err(ApiError::BadQuery)?;
    Ok(Json(state.portal.list_services(&query).await?))
}

pub async fn get_service(
    State(state): State<AppState>,
    Path((team, name)): Path<(String, String)>,
) -> Result<Json<ServiceDetail>, ApiError> {
    let not_found = || ApiError::NotFound(format!("service {team}/{name}"));
    let team_name = TeamName::parse("team", &team).map_err(|_| not_found())?;
    let service_name = ServiceName::parse("name", &name).map_err(|_| not_found())?;
    Ok(Json(state.portal.service(&team_name, &service_name).await?))
}

pub async fn get_team(
    State(state): State<AppState>,
    Path(team): Path<String>,
) -> Result<Json<TeamDetail>, ApiError> {
    let name =
        TeamName::parse("team", &team).map_err(|_| ApiError::NotFound(format!("team {team}")))?;
    Ok(Json(state.portal.team(&name).await?))
}

pub async fn list_clusters(State(state): State<AppState>) -> Result<Json<Vec<Cluster>>, ApiError> {
    Ok(Json(state.portal.clusters().await?))
}

/// `?page=&per_page=` of the plain lists.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Paging {
    page: Option<String>,
    per_page: Option<String>,
}

fn paging(query: Result<Query<Paging>, QueryRejection>) -> Result<PageRequest, ApiError> {
    let Query(raw) = query.map_err(|rejection| {
        ApiError::BadQuery(FieldErrors(vec![FieldError::new(
            "query",
            rejection.body_text(),
        )]))
    })?;
    PageRequest::parse(&raw.page, &raw.per_page).map_err(ApiError::BadQuery)
}

pub async fn list_hosts(
    State(state): State<AppState>,
    query: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page<Host>>, ApiError> {
    Ok(Json(state.portal.hosts(paging(query)?).await?))
}

pub async fn list_certificates(
    State(state): State<AppState>,
    query: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<Page<Certificate>>, ApiError> {
    Ok(Json(state.portal.certificates(paging(query)?).await?))
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("API endpoint".into())
}
