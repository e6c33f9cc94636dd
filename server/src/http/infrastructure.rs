//! REST API v1 for the IaC repository: the log, one commit, a cluster's tree, one file
//! and one object's history. Handlers parse and map errors; the portal reads.

use axum::{
    Json,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::header,
    response::IntoResponse,
};
use domain::infrastructure::{
    ClusterTree, CommitDetail, CommitId, CommitLog, CommitLogQuery, FileQuery, ObjectHistory,
    RawCommitLogQuery, RawFileQuery, RawHistoryQuery, RawTreeQuery, TreeQuery,
};

use super::{
    AppState,
    api::bad_query,
    error::{ApiError, ErrorBody},
};

/// The branch's commits, newest first: one per applied request.
#[utoipa::path(get, path = "/iac/commits", tag = "infrastructure", params(RawCommitLogQuery),
    responses((status = 200, body = CommitLog), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_commits(
    State(state): State<AppState>,
    query: Result<Query<RawCommitLogQuery>, QueryRejection>,
) -> Result<Json<CommitLog>, ApiError> {
    let Query(raw) = query.map_err(bad_query)?;
    let query = CommitLogQuery::parse(&raw).map_err(ApiError::BadQuery)?;
    Ok(Json(state.portal.iac_commits(&query).await?))
}

/// One commit with its message and the diff of every file it changed.
#[utoipa::path(get, path = "/iac/commits/{id}", tag = "infrastructure",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{7,40}$",
        description = "Commit id, or its first 7 or more hex digits")),
    responses((status = 200, body = CommitDetail), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_commit(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CommitDetail>, ApiError> {
    // Anything that is not a commit id names no commit.
    let id = CommitId::parse("id", &id).map_err(|_| ApiError::NotFound(format!("commit {id}")))?;
    Ok(Json(state.portal.iac_commit(&id).await?))
}

/// A cluster's objects at a commit (the branch's tip by default).
#[utoipa::path(get, path = "/iac/tree", tag = "infrastructure", params(RawTreeQuery),
    responses((status = 200, body = ClusterTree), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn get_tree(
    State(state): State<AppState>,
    query: Result<Query<RawTreeQuery>, QueryRejection>,
) -> Result<Json<ClusterTree>, ApiError> {
    let Query(raw) = query.map_err(bad_query)?;
    let query = TreeQuery::parse(&raw).map_err(ApiError::BadQuery)?;
    Ok(Json(state.portal.iac_tree(&query).await?))
}

/// One object's file (YAML) at a commit (the branch's tip by default): one Kubernetes
/// object.
#[utoipa::path(get, path = "/iac/files", tag = "infrastructure", params(RawFileQuery),
    responses((status = 200, content_type = "application/yaml", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_file(
    State(state): State<AppState>,
    query: Result<Query<RawFileQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(raw) = query.map_err(bad_query)?;
    let query = FileQuery::parse(&raw).map_err(ApiError::BadQuery)?;
    let file = state.portal.iac_file(&query).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        file.text,
    ))
}

/// The commits that changed one object's file, newest first, each with its diff.
#[utoipa::path(get, path = "/iac/history", tag = "infrastructure", params(RawHistoryQuery),
    responses((status = 200, body = ObjectHistory), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_history(
    State(state): State<AppState>,
    query: Result<Query<RawHistoryQuery>, QueryRejection>,
) -> Result<Json<ObjectHistory>, ApiError> {
    let Query(raw) = query.map_err(bad_query)?;
    let path = raw.parse().map_err(ApiError::BadQuery)?;
    Ok(Json(state.portal.iac_history(&path).await?))
}
