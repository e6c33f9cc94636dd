//! REST API v1 for the review queue: approving several requests at once. The handler
//! parses, calls the portal and maps errors; each item goes through the single approval.

use axum::{
    Extension, Json,
    extract::{State, rejection::JsonRejection},
};
use domain::{
    Actor,
    request::bulk::{ApprovalResult, BulkApproval},
};
use serde_json::Value;

use super::{
    AppState,
    error::{ApiError, ErrorBody},
};

/// Requests to approve, each bound to the plan its reviewer read, with one comment.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // Documents the body; the handler reads it as JSON and validates it.
#[serde(deny_unknown_fields)]
pub struct BulkApprovalBody {
    /// 1 to 100 requests. An entry for a request listed before is not acted on again.
    #[schema(min_items = 1, max_items = 100)]
    approvals: Vec<ApprovalEntry>,
    /// Recorded with every approval: text without control characters (line breaks and
    /// tabs are fine).
    #[schema(
        example = "Reviewed together with the release notes.",
        max_length = 4000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    comment: Option<String>,
}

/// One request and the `plan.hash` you reviewed (`GET /requests/{id}`). A plan that
/// changed since is not approved: its result says `plan_changed`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // Documents the body.
#[serde(deny_unknown_fields)]
pub struct ApprovalEntry {
    #[schema(minimum = 1, example = 12)]
    request_id: i64,
    #[schema(
        example = "9f2c4e0d7b1a86c3e5f4a2b9d8c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9",
        pattern = "^[0-9a-f]{64}$"
    )]
    plan_hash: String,
}

/// What became of each approval, in the order asked.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct BulkApprovalResults {
    results: Vec<ApprovalResult>,
}

/// A lead (or admin) approves several pending requests at once. Each is its own approval,
/// checked, recorded, audited and queued exactly as `POST /requests/{id}/approve` would;
/// one that is refused (`forbidden`, `plan_changed`, `conflict`, `not_found`) changes
/// nothing and leaves the others alone. 403 as a whole only for a token without the
/// `review` scope.
#[utoipa::path(post, path = "/reviews/approvals", tag = "reviews",
    request_body = BulkApprovalBody,
    responses((status = 200, body = BulkApprovalResults), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn approve_requests(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<BulkApprovalResults>, ApiError> {
    let Json(input) = body?;
    let approvals = BulkApproval::parse(&input).map_err(ApiError::Invalid)?;
    let results = state.portal.approve_requests(&actor, &approvals).await?;
    Ok(Json(BulkApprovalResults { results }))
}
