//! Approving several requests from the review queue at once. Each item is still its own
//! approval bound to the plan hash the reviewer was shown; this module checks the list and
//! tells, per request, what became of it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{RequestStatus, RequestSummary, lifecycle::comment_problem};
use crate::{FieldError, FieldErrors};
#[cfg(feature = "render")]
use crate::{PortalError, request::RequestDetail};

/// Most requests one bulk approval may name.
pub const MAX_BULK_APPROVALS: usize = 100;

/// A request in the review queue, with the hash of the plan shown beside it: what a bulk
/// approval sends back for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub request: RequestSummary,
    pub plan_hash: String,
}

/// One request to approve, bound to the plan the reviewer read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalItem {
    pub request_id: i64,
    pub plan_hash: String,
}

/// A checked list of approvals with one comment for all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkApproval {
    items: Vec<ApprovalItem>,
    comment: String,
}

const FIELDS: [&str; 2] = ["approvals", "comment"];
const ITEM_FIELDS: [&str; 2] = ["request_id", "plan_hash"];

/// Whether `hash` looks like a plan hash: SHA-256 as 64 lowercase hex digits.
pub fn is_plan_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl BulkApproval {
    /// Checks a list as the page or a form post gives it.
    pub fn new(items: Vec<ApprovalItem>, comment: &str) -> Result<Self, FieldErrors> {
        let items = items.into_iter().map(Some).collect();
        Self::checked(items, comment, FieldErrors::default())
    }

    /// Reads the REST body `{"approvals": [{"request_id", "plan_hash"}], "comment"}`,
    /// naming every field at fault.
    pub fn parse(body: &Value) -> Result<Self, FieldErrors> {
        let Some(object) = body.as_object() else {
            return Err(FieldErrors(vec![FieldError::new(
                "body",
                "must be a JSON object with approvals and an optional comment",
            )]));
        };
        let mut errors = FieldErrors::default();
        unknown_keys(object, "", &FIELDS, &mut errors);
        let comment = match object.get("comment") {
            None | Some(Value::Null) => "",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => {
                errors.push(FieldError::new("comment", "must be a string"));
                ""
            }
        };
        let items = match object.get("approvals") {
            None | Some(Value::Null) => {
                errors.push(FieldError::new("approvals", "is required"));
                return Err(errors);
            }
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| read_item(i, item, &mut errors))
                .collect(),
            Some(_) => {
                errors.push(FieldError::new(
                    "approvals",
                    "must be a list of {request_id, plan_hash}",
                ));
                return Err(errors);
            }
        };
        Self::checked(items, comment, errors)
    }

    /// The list's own rules, on the items that could be read (`None`: one that could not,
    /// already reported), so every problem is named at once.
    fn checked(
        items: Vec<Option<ApprovalItem>>,
        comment: &str,
        mut errors: FieldErrors,
    ) -> Result<Self, FieldErrors> {
        if items.is_empty() {
            errors.push(FieldError::new(
                "approvals",
                "select at least one request to approve",
            ));
        }
        if items.len() > MAX_BULK_APPROVALS {
            errors.push(FieldError::new(
                "approvals",
                format!("at most {MAX_BULK_APPROVALS} requests at once"),
            ));
        }
        for (i, item) in items.iter().enumerate() {
            let Some(item) = item else { continue };
            if item.request_id < 1 {
                errors.push(FieldError::new(
                    format!("approvals[{i}].request_id"),
                    "must be a request id (a whole number from 1)",
                ));
            }
            if !is_plan_hash(&item.plan_hash) {
                errors.push(FieldError::new(
                    format!("approvals[{i}].plan_hash"),
                    "must be the plan.hash you reviewed: 64 lowercase hex digits",
                ));
            }
        }
        if let Some(problem) = comment_problem(comment, false) {
            errors.push(FieldError::new("comment", problem));
        }
        errors.into_result(Self {
            items: items.into_iter().flatten().collect(),
            comment: comment.trim().to_owned(),
        })
    }

    /// The approvals, in the order given.
    pub fn items(&self) -> &[ApprovalItem] {
        &self.items
    }

    /// The comment every approval carries (trimmed; may be empty).
    pub fn comment(&self) -> &str {
        &self.comment
    }
}

fn unknown_keys(
    object: &serde_json::Map<String, Value>,
    prefix: &str,
    known: &[&str],
    errors: &mut FieldErrors,
) {
    let mut unknown: Vec<&String> = object
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .collect();
    unknown.sort();
    for key in unknown {
        errors.push(FieldError::new(
            format!("{prefix}{key}"),
            format!("is not a known field (expected {})", known.join(", ")),
        ));
    }
}

fn read_item(i: usize, item: &Value, errors: &mut FieldErrors) -> Option<ApprovalItem> {
    let path = format!("approvals[{i}]");
    let Some(object) = item.as_object() else {
        errors.push(FieldError::new(
            path,
            "must be an object {request_id, plan_hash}",
        ));
        return None;
    };
    unknown_keys(object, &format!("{path}."), &ITEM_FIELDS, errors);
    let request_id = match object.get("request_id") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(format!("{path}.request_id"), "is required"));
            None
        }
        Some(Value::Number(n)) if whole_number(n).is_some() => whole_number(n),
        Some(_) => {
            errors.push(FieldError::new(
                format!("{path}.request_id"),
                "must be a whole number",
            ));
            None
        }
    };
    let plan_hash = match object.get("plan_hash") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                format!("{path}.plan_hash"),
                "is required: the plan.hash of the request as you reviewed it",
            ));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(FieldError::new(
                format!("{path}.plan_hash"),
                "must be a string",
            ));
            None
        }
    };
    Some(ApprovalItem {
        request_id: request_id?,
        plan_hash: plan_hash?,
    })
}

/// A JSON number that is a whole number: `62` or, as JSON Schema also counts it, `62.0`.
fn whole_number(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        // Every f64 inside i64's range with no fraction converts exactly.
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= i64::MIN as f64 && *f < i64::MAX as f64)
            .map(|f| f as i64)
    })
}

/// What became of one request of a bulk approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ApprovalOutcome {
    /// Your approval is recorded; the request waits for more approvals.
    Approved,
    /// Your approval is recorded and was the last one needed: the request is queued.
    Queued,
    /// The plan is no longer the one you sent; nothing was recorded. Read it again.
    PlanChanged,
    /// You may not approve this request (another team's, your own, or a token without the
    /// `review` scope).
    Forbidden,
    /// Not from its state (no longer pending, already approved by you), or listed twice.
    Conflict,
    NotFound,
    Invalid,
    /// The portal could not complete this one; try it again.
    Unavailable,
}

impl ApprovalOutcome {
    /// As the API spells it: `queued`, `plan_changed`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Queued => "queued",
            Self::PlanChanged => "plan_changed",
            Self::Forbidden => "forbidden",
            Self::Conflict => "conflict",
            Self::NotFound => "not_found",
            Self::Invalid => "invalid",
            Self::Unavailable => "unavailable",
        }
    }

    /// Whether the approval was recorded.
    pub fn approved(self) -> bool {
        matches!(self, Self::Approved | Self::Queued)
    }
}

/// One request's result in a bulk approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalResult {
    pub request_id: i64,
    pub outcome: ApprovalOutcome,
    /// Whether your approval was recorded (`approved` or `queued`).
    pub approved: bool,
    /// The request's status after your approval; absent when nothing was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RequestStatus>,
    /// What happened, in words for people.
    pub message: String,
}

impl ApprovalResult {
    /// The result of approving request `id` through the single-approval path.
    #[cfg(feature = "render")]
    pub fn of(id: i64, answer: Result<RequestDetail, PortalError>) -> Self {
        match answer {
            Ok(detail) => approved(id, &detail),
            Err(error) => {
                let outcome = match &error {
                    PortalError::PlanChanged { .. } => ApprovalOutcome::PlanChanged,
                    PortalError::Forbidden(_) => ApprovalOutcome::Forbidden,
                    PortalError::Conflict(_) => ApprovalOutcome::Conflict,
                    PortalError::NotFound(_) => ApprovalOutcome::NotFound,
                    PortalError::Invalid(_) => ApprovalOutcome::Invalid,
                    PortalError::Unavailable => ApprovalOutcome::Unavailable,
                };
                let message = match error {
                    PortalError::NotFound(_) => format!("there is no request {id}"),
                    PortalError::Invalid(fields) => fields.to_string(),
                    other => other.to_string(),
                };
                Self::refused(id, outcome, message)
            }
        }
    }

    /// The second and later entries for one request: only its first is acted on.
    pub fn listed_twice(id: i64) -> Self {
        Self::refused(
            id,
            ApprovalOutcome::Conflict,
            format!("request {id} is listed more than once; only its first entry counts"),
        )
    }

    fn refused(request_id: i64, outcome: ApprovalOutcome, message: String) -> Self {
        Self {
            request_id,
            outcome,
            approved: false,
            status: None,
            message,
        }
    }
}

#[cfg(feature = "render")]
fn approved(id: i64, detail: &RequestDetail) -> ApprovalResult {
    let status = detail.request.status;
    let title = &detail.request.title;
    let (outcome, message) = if status == RequestStatus::PendingReview {
        let count = detail.approvals.len();
        let needed = detail.required_approvals;
        (
            ApprovalOutcome::Approved,
            format!("approved {title}; {count} of {needed} approvals, waiting for another lead"),
        )
    } else {
        (
            ApprovalOutcome::Queued,
            format!("approved {title}; it is queued to be applied"),
        )
    };
    ApprovalResult {
        request_id: id,
        outcome,
        approved: true,
        status: Some(status),
        message,
    }
}

#[cfg(test)]
#[path = "bulk_tests.rs"]
mod tests;
