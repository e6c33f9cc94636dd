//! Requests as pages and the API show them, and the query that lists them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(feature = "render")]
use super::plan::Plan;
use super::{RequestKind, RequestStatus};
use crate::{
    FieldErrors, PageRequest, TeamName,
    query::{non_empty, query_string},
};

/// One request in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestSummary {
    pub id: i64,
    pub kind: RequestKind,
    pub team: TeamName,
    pub cluster: String,
    /// What it is about: `service ledger`, `ingress pay.example.com`.
    pub title: String,
    pub status: RequestStatus,
    /// Email of who asked.
    pub requester: String,
    pub requester_name: String,
    pub reason: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
}

/// One entry of a request's timeline (its audit events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestEvent {
    /// Increasing: a live view asks for what came after the last one it has.
    pub id: i64,
    pub at: String,
    /// Email of who did it.
    pub actor: String,
    /// `request.submit`, `request.cancel`, ...
    pub action: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: Value,
}

/// A request with everything a reviewer reads (the server's: it carries the plan).
#[cfg(feature = "render")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestDetail {
    pub request: RequestSummary,
    /// The spec as validated.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub spec: Value,
    /// Multi-document YAML of every object, in apply order.
    pub manifests: String,
    pub plan: Plan,
    /// What the change does beyond what was asked, and why.
    pub notes: Vec<String>,
    pub events: Vec<RequestEvent>,
    /// Approvals of the current plan (older plans' approvals no longer count).
    pub approvals: Vec<Approval>,
    /// Distinct approvals the team needs before the request is queued.
    pub required_approvals: u32,
    /// Whether the caller may cancel it now.
    pub may_cancel: bool,
    /// Whether the caller may approve or reject it now.
    pub may_review: bool,
    /// Whether the caller may queue it again (it failed; they lead its team or are admin).
    pub may_retry: bool,
}

/// What a request page follows live: everything but the plan's objects, the spec and the
/// manifests. Those change only when the plan does, and are drawn once by the server; the
/// browser learns of a new plan by its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLive {
    pub request: RequestSummary,
    /// The hash of the current plan.
    pub plan_hash: String,
    pub notes: Vec<String>,
    pub events: Vec<RequestEvent>,
    pub approvals: Vec<Approval>,
    pub required_approvals: u32,
    pub may_cancel: bool,
    pub may_review: bool,
    pub may_retry: bool,
}

#[cfg(feature = "render")]
impl From<RequestDetail> for RequestLive {
    fn from(detail: RequestDetail) -> Self {
        Self {
            request: detail.request,
            plan_hash: detail.plan.hash,
            notes: detail.notes,
            events: detail.events,
            approvals: detail.approvals,
            required_approvals: detail.required_approvals,
            may_cancel: detail.may_cancel,
            may_review: detail.may_review,
            may_retry: detail.may_retry,
        }
    }
}

/// One approval of a request's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    /// Email of the approver.
    pub by: String,
    pub name: String,
    pub comment: String,
    pub at: String,
}

/// `GET /requests` as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct RawRequestQuery {
    /// pending_review, queued, applying, applied, failed, rejected or cancelled.
    #[cfg_attr(
        feature = "openapi",
        param(
            pattern = "^(pending_review|queued|applying|applied|failed|rejected|cancelled)?$",
            example = "pending_review"
        )
    )]
    pub status: Option<String>,
    /// Team name.
    #[cfg_attr(
        feature = "openapi",
        param(
            pattern = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$",
            example = "payments"
        )
    )]
    pub team: Option<String>,
    /// `true`: only the caller's own requests.
    #[cfg_attr(feature = "openapi", param(pattern = "^(true|false)?$"))]
    pub mine: Option<String>,
    /// Page number, from 1.
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>, minimum = 1, maximum = 1000000))]
    pub page: Option<String>,
    /// Items per page (default 20).
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>, minimum = 1, maximum = 100))]
    pub per_page: Option<String>,
}

impl RawRequestQuery {
    /// The set fields as a URL query string for `page` (defaults left out so links stay
    /// short).
    pub fn to_query_string(&self, page: u32) -> String {
        let page = (page > 1).then(|| page.to_string());
        query_string([
            ("mine", non_empty(&self.mine)),
            ("status", non_empty(&self.status)),
            ("team", non_empty(&self.team)),
            ("page", page.as_deref()),
            ("per_page", non_empty(&self.per_page)),
        ])
    }
}

/// A validated request list query; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestQuery {
    pub status: Option<RequestStatus>,
    pub team: Option<TeamName>,
    pub mine: bool,
    pub page: PageRequest,
}

impl RequestQuery {
    pub fn parse(raw: &RawRequestQuery) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let status =
            non_empty(&raw.status).and_then(|s| errors.collect(RequestStatus::parse("status", s)));
        let team = non_empty(&raw.team).and_then(|t| errors.collect(TeamName::parse("team", t)));
        let mine = non_empty(&raw.mine)
            .and_then(|m| {
                errors.collect(crate::field_error::choice(
                    "mine",
                    m,
                    &[("true", true), ("false", false)],
                ))
            })
            .unwrap_or(false);
        let page = match PageRequest::parse(&raw.page, &raw.per_page) {
            Ok(page) => page,
            Err(page_errors) => {
                errors.0.extend(page_errors.0);
                PageRequest::default()
            }
        };
        errors.into_result(Self {
            status,
            team,
            mine,
            page,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filters_and_names_bad_ones() {
        let raw = RawRequestQuery {
            status: Some("pending_review".into()),
            team: Some("payments".into()),
            mine: Some("true".into()),
            page: Some("2".into()),
            per_page: None,
        };
        let query = RequestQuery::parse(&raw).unwrap();
        assert_eq!(query.status, Some(RequestStatus::PendingReview));
        assert!(query.mine);
        assert_eq!(query.page.page, 2);

        let bad = RawRequestQuery {
            status: Some("done".into()),
            mine: Some("yes".into()),
            per_page: Some("0".into()),
            ..RawRequestQuery::default()
        };
        let paths: Vec<String> = RequestQuery::parse(&bad)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(paths, ["status", "mine", "per_page"]);
    }
}
