//! REST API v1 for requests: submit, list, read, manifests, cancel, review, comment,
//! retry (the live timeline is `events.rs`). Handlers parse, call the portal and map
//! errors; authorization lives in the portal.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{
        Path, Query, State,
        rejection::{BytesRejection, JsonRejection, QueryRejection},
    },
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
};
use domain::{
    Actor, FieldError, FieldErrors, Page, Review,
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
/// service `name, image, port, replicas, scaling (fixed|hpa; with hpa no replicas), protocol,
/// env, cpu, memory`; ingress `host,
/// service, port, path, class, protocol, tls, acm_certificate_arn, alb {scheme,
/// target_type}`; certificate `name, dns_names, issuer, challenge`; exposure `service,
/// port, protocol (tcp|udp), external_port, via (nginx|nlb), scheme
/// (internal|internet-facing, nlb only)`; decommission `services, hosts, certificates`;
/// restore `service, objects [{kind, namespace, name}]` (optional: default every drifted
/// or missing object of the service); adopt `service` (its drifted fields' live values
/// become its approved spec); import `namespace` (admins: the team's own namespace's
/// objects never applied by Stargate become its catalog entries).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // Documents the body; the handler reads it as JSON and validates it.
#[serde(deny_unknown_fields)] // and so `additionalProperties: false` in the document
pub struct NewRequestBody {
    #[schema(example = "service")]
    kind: domain::request::RequestKind,
    /// A team you are a member of.
    #[schema(
        example = "payments",
        pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
    )]
    team: String,
    #[schema(example = "demo", pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    cluster: String,
    #[schema(value_type = Object, example = json!({"name": "ledger", "image": "ghcr.io/acme/ledger:1.4.2", "port": 8080}))]
    spec: Value,
    /// Why the change is needed; reviewers read it first.
    #[schema(example = "Ledger API for the new checkout", max_length = 2000)]
    reason: Option<String>,
}

/// The request id from the path; anything that is not an id names no request.
pub(super) fn request_id(raw: &str) -> Result<i64, ApiError> {
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

/// A review or a comment.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// Optional when approving; required when rejecting or commenting.
    #[schema(
        example = "Looks right: NodePort is expected for instance targets.",
        max_length = 4000
    )]
    comment: Option<String>,
}

/// A comment that must say something (rejections, comments).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // Documents the body; the handler reads it as a `CommentBody`.
#[serde(deny_unknown_fields)]
pub struct RequiredComment {
    #[schema(
        example = "Pin the image to a digest, please.",
        pattern = r"\S",
        max_length = 4000
    )]
    comment: String,
}

/// An approval or rejection, bound to the plan the reviewer read.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// Optional to approve; required to reject (say why).
    #[schema(example = "Pin the image to a digest, please.", max_length = 4000)]
    comment: Option<String>,
    /// `plan.hash` of the request as you reviewed it (`GET /requests/{id}`). Required: a
    /// review binds to the plan it read, and a plan that changed since is refused with 409
    /// and the current plan, nothing recorded.
    // Option in Rust so a missing hash gets a field error rather than a serde message.
    #[schema(
        example = "9f2c4e0d7b1a86c3e5f4a2b9d8c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9",
        pattern = "^[0-9a-f]{64}$",
        required = true,
        nullable = false
    )]
    plan_hash: Option<String>,
}

/// A JSON body of type `T`, or `None` for an empty body (or `null`).
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    what: &str,
) -> Result<Option<T>, ApiError> {
    let body = body.map_err(|rejection| {
        ApiError::Body(
            rejection.status(),
            format!(
                "the body could not be read ({}); at most {} KiB",
                rejection.body_text(),
                MAX_BODY_BYTES / 1024
            ),
        )
    })?;
    if body.is_empty() {
        return Ok(None);
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::Body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            super::error::NOT_JSON.into(),
        ));
    }
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::Body(
            StatusCode::BAD_REQUEST,
            format!("the body is not a valid {what}: {e}"),
        )
    })
}

fn comment_of(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<String, ApiError> {
    let parsed: Option<CommentBody> = json_body(headers, body, "comment")?;
    Ok(parsed.and_then(|b| b.comment).unwrap_or_default())
}

fn review_of(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Review, ApiError> {
    let parsed: ReviewBody = json_body(headers, body, "review")?.unwrap_or_default();
    let Some(plan_hash) = parsed.plan_hash.filter(|h| !h.trim().is_empty()) else {
        return Err(ApiError::Invalid(FieldErrors(vec![FieldError::new(
            "plan_hash",
            "is required: the plan.hash of the request as you reviewed it",
        )])));
    };
    Ok(Review {
        comment: parsed.comment.unwrap_or_default(),
        plan_hash,
    })
}

#[utoipa::path(post, path = "/requests/{id}/approve", tag = "requests",
    params(("id" = i64, Path, minimum = 1, description = "Request id")),
    request_body = ReviewBody,
    responses((status = 200, body = RequestDetail), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn approve_request(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RequestDetail>, ApiError> {
    let review = review_of(&headers, body)?;
    let id = request_id(&id)?;
    Ok(Json(
        state.portal.approve_request(&actor, id, &review).await?,
    ))
}

/// A lead of the team (or an admin) rejects, with a comment saying why.
#[utoipa::path(post, path = "/requests/{id}/reject", tag = "requests",
    params(("id" = i64, Path, minimum = 1, description = "Request id")),
    request_body = ReviewBody,
    responses((status = 200, body = RequestDetail), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn reject_request(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RequestDetail>, ApiError> {
    let review = review_of(&headers, body)?;
    let id = request_id(&id)?;
    Ok(Json(
        state.portal.reject_request(&actor, id, &review).await?,
    ))
}

/// A comment on the request's timeline.
#[utoipa::path(post, path = "/requests/{id}/comments", tag = "requests",
    params(("id" = i64, Path, minimum = 1, description = "Request id")),
    request_body = RequiredComment,
    responses((status = 200, body = RequestDetail), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn comment_on_request(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RequestDetail>, ApiError> {
    let comment = comment_of(&headers, body)?;
    let id = request_id(&id)?;
    Ok(Json(
        state
            .portal
            .comment_on_request(&actor, id, &comment)
            .await?,
    ))
}

/// A lead of the team (or an admin) queues a failed request again.
#[utoipa::path(post, path = "/requests/{id}/retry", tag = "requests",
    params(("id" = i64, Path, minimum = 1, description = "Request id")),
    responses((status = 200, body = RequestDetail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn retry_request(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, ApiError> {
    Ok(Json(
        state.portal.retry_request(&actor, request_id(&id)?).await?,
    ))
}
