//! REST API v1 for requests: submit, list, read, manifests, cancel. Handlers parse, call
//! the portal and map errors; authorization lives in the portal.

use axum::{
    Extension, Json,
    extract::{Path, Query, State, rejection::JsonRejection, rejection::QueryRejection},
    http::{StatusCode, header},
    response::IntoResponse,
};
use domain::{
    Actor, Page,
    request::{
        RequestDetail, RequestQuery, RequestSummary, change::PreparedChange, view::RawRequestQuery,
    },
};
use serde_json::Value;

use super::{
    AppState,
    api::bad_query,
    error::{ApiError, ErrorBody},
};

/// Largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A new request. The spec's fields depend on the kind (see DESIGN.md):
/// service `name, image, port, replicas, protocol, env, cpu, memory`; ingress `host,
/// service, port, path, class, protocol, tls, acm_certificate_arn, alb {scheme,
/// target_type}`; certificate `name, dns_names, issuer, challenge`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documents the body; the handler reads it as JSON and validates it.
pub struct NewRequestBody {
    #[schema(example = "service")]
    kind: domain::request::RequestKind,
    #[schema(example = "payments")]
    team: String,
    #[schema(example = "demo")]
    cluster: String,
    #[schema(value_type = Object, example = json!({"name": "ledger", "image": "ghcr.io/acme/ledger:1.4.2", "port": 8080}))]
    spec: Value,
    #[schema(example = "Ledger API for the new checkout")]
    reason: Option<String>,
}

/// The request id from the path; anything that is not an id names no request.
fn request_id(raw: &str) -> Result<i64, ApiError> {
    Some(raw)
        .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|r| r.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::NotFound(format!("request {raw}")))
}

/// Submits a request for review.
#[utoipa::path(post, path = "/requests", tag = "requests", request_body = NewRequestBody,
    responses((status = 201, body = RequestDetail), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn submit_request(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(input) = body?;
    let detail = state.portal.submit_request(&actor, &input).await?;
    let location = format!("/api/v1/requests/{}", detail.request.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(detail),
    ))
}

/// Validates, renders and plans a request without storing it.
#[utoipa::path(post, path = "/requests/preview", tag = "requests", request_body = NewRequestBody,
    responses((status = 200, body = PreparedChange), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn preview_request(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<PreparedChange>, ApiError> {
    let Json(input) = body?;
    Ok(Json(state.portal.preview_request(&actor, &input).await?))
}

/// Requests, newest first.
#[utoipa::path(get, path = "/requests", tag = "requests", params(RawRequestQuery),
    responses((status = 200, body = Page<RequestSummary>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list_requests(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<RawRequestQuery>, QueryRejection>,
) -> Result<Json<Page<RequestSummary>>, ApiError> {
    let Query(raw) = query.map_err(bad_query)?;
    let query = RequestQuery::parse(&raw).map_err(ApiError::BadQuery)?;
    Ok(Json(state.portal.list_requests(&actor, &query).await?))
}

/// One request with its manifests, plan and timeline.
#[utoipa::path(get, path = "/requests/{id}", tag = "requests",
    params(("id" = i64, Path, minimum = 1, description = "Request id")),
    responses((status = 200, body = RequestDetail), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_request(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, ApiError> {
    Ok(Json(state.portal.request(&actor, request_id(&id)?).await?))
}

/// The request's rendered manifests as one multi-document YAML stream.
#[utoipa::path(get, path = "/requests/{id}/manifests", tag = "requests",
    params(("id" = i64, Path, minimum = 1, description = "Request id")),
    responses((status = 200, content_type = "application/yaml", body = String),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_manifests(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let detail = state.portal.request(&actor, request_id(&id)?).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        detail.manifests,
    ))
}

/// The requester withdraws a request that is still pending review.
#[utoipa::path(post, path = "/requests/{id}/cancel", tag = "requests",
    params(("id" = i64, Path, minimum = 1, description = "Request id")),
    responses((status = 200, body = RequestDetail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn cancel_request(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, ApiError> {
    Ok(Json(
        state
            .portal
            .cancel_request(&actor, request_id(&id)?)
            .await?,
    ))
}
