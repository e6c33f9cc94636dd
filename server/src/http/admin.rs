//! REST API v1 for offboarding (admins): people with their sessions and tokens,
//! deactivation and revoking anyone's token. Handlers parse and map errors; who may is the
//! portal's decision (admins; through a token, changes need its `review` scope).

use axum::{
    Extension, Json,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::StatusCode,
};
use domain::{Actor, Deactivation, Page, RawUserQuery, UserDetail, UserQuery, UserSummary};

use super::{
    AppState,
    api::bad_query,
    error::{ApiError, ErrorBody},
};

/// A positive id from the path; anything else names nothing (404).
fn id_of(what: &str, raw: &str) -> Result<i64, ApiError> {
    Some(raw)
        .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|r| r.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::NotFound(format!("{what} {raw}")))
}

/// People by email, with how many sessions and tokens still work. Admins only.
#[utoipa::path(get, path = "/admin/users", tag = "admin", params(RawUserQuery),
    responses((status = 200, body = Page<UserSummary>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<RawUserQuery>, QueryRejection>,
) -> Result<Json<Page<UserSummary>>, ApiError> {
    let Query(raw) = query.map_err(bad_query)?;
    let query = UserQuery::parse(&raw).map_err(ApiError::BadQuery)?;
    Ok(Json(state.portal.list_users(&actor, &query).await?))
}

/// One person with their live sessions (never their secrets) and every token. Admins only.
#[utoipa::path(get, path = "/admin/users/{id}", tag = "admin",
    params(("id" = i64, Path, minimum = 1, description = "User id")),
    responses((status = 200, body = UserDetail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<UserDetail>, ApiError> {
    Ok(Json(state.portal.user(&actor, id_of("user", &id)?).await?))
}

/// Deactivates someone: every session ends and every token is revoked at once, in every
/// server process, and they cannot sign in or be issued a token again. Audited. Admins
/// only (a token needs the `review` scope); nobody deactivates themselves.
#[utoipa::path(post, path = "/admin/users/{id}/deactivate", tag = "admin",
    params(("id" = i64, Path, minimum = 1, description = "User id")),
    responses((status = 200, body = Deactivation), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn deactivate_user(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Deactivation>, ApiError> {
    let id = id_of("user", &id)?;
    Ok(Json(state.portal.deactivate_user(&actor, id).await?))
}

/// Lets a deactivated person sign in again; their old tokens stay revoked. Audited.
#[utoipa::path(post, path = "/admin/users/{id}/reactivate", tag = "admin",
    params(("id" = i64, Path, minimum = 1, description = "User id")),
    responses((status = 200, body = UserSummary), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn reactivate_user(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<UserSummary>, ApiError> {
    let id = id_of("user", &id)?;
    Ok(Json(state.portal.reactivate_user(&actor, id).await?))
}

/// Revokes anyone's token, at once in every server process. Audited. Admins only (a token
/// needs the `review` scope); 404 unless the token is live.
#[utoipa::path(post, path = "/admin/tokens/{id}/revoke", tag = "admin",
    params(("id" = i64, Path, minimum = 1, description = "Token id")),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id_of("token", &id)?;
    state.portal.revoke_any_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
