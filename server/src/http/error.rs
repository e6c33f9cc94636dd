//! The REST API's one error shape: `{"error": code, "message": ..., "fields": [...]}`.

use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use domain::{FieldError, FieldErrors, PortalError, request::plan::Plan};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0} not found")]
    NotFound(String),
    /// Malformed query parameters.
    #[error("invalid query parameters")]
    BadQuery(FieldErrors),
    #[error("{0}")]
    Forbidden(String),
    /// A body that breaks the rules; every field at fault is listed.
    #[error("the request is not valid; see fields")]
    Invalid(FieldErrors),
    #[error("{0}")]
    Conflict(String),
    /// The reviewer acted on another plan than the current one, which comes back.
    #[error("{message}")]
    PlanChanged { message: String, plan: Box<Plan> },
    #[error("this endpoint does not take that method; see /api/openapi.json")]
    MethodNotAllowed,
    /// A body that could not be read: not JSON, wrong content type, too large.
    #[error("{1}")]
    Body(StatusCode, String),
    #[error("the portal could not complete this request; try again shortly")]
    Unavailable,
    /// The caller holds as many live event streams open as one person may.
    #[error(
        "you have {0} live views open already (each tab on a request page holds one); \
         close one and try again"
    )]
    TooManyStreams(u32),
}

/// Every API error: a stable code, a sentence for people, and the fields at fault.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `rate_limited`,
    /// `too_many_streams`, ...
    error: String,
    message: String,
    fields: Vec<FieldError>,
    /// With `plan_changed`: the request's current plan, to review instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<Plan>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &'static str, &[FieldError]) {
        match self {
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", &[][..]),
            Self::BadQuery(fields) => (StatusCode::BAD_REQUEST, "bad_request", &fields.0[..]),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", &[][..]),
            Self::Invalid(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                &fields.0[..],
            ),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", &[][..]),
            Self::PlanChanged { .. } => (StatusCode::CONFLICT, "plan_changed", &[][..]),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                &[][..],
            ),
            Self::Body(status, _) => (
                *status,
                match *status {
                    StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                    _ => "bad_request",
                },
                &[][..],
            ),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", &[][..]),
            Self::TooManyStreams(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_streams", &[][..]),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, fields) = self.parts();
        let message = self.to_string();
        let fields = fields.to_vec();
        let plan = match self {
            Self::PlanChanged { plan, .. } => Some(*plan),
            _ => None,
        };
        let body = ErrorBody {
            error: code.to_owned(),
            message,
            fields,
            plan,
        };
        (status, Json(body)).into_response()
    }
}

/// What a body that is not JSON is told.
pub const NOT_JSON: &str = "send the body as JSON with Content-Type: application/json";

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection.status() {
            s @ (StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE) => s,
            _ => StatusCode::BAD_REQUEST,
        };
        let message = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => NOT_JSON.to_owned(),
            StatusCode::PAYLOAD_TOO_LARGE => format!(
                "the body is larger than the {} KiB a request may be",
                super::requests::MAX_BODY_BYTES / 1024
            ),
            _ => format!("the body is not valid JSON: {}", rejection.body_text()),
        };
        Self::Body(status, message)
    }
}

impl From<PortalError> for ApiError {
    fn from(error: PortalError) -> Self {
        match error {
            PortalError::NotFound(what) => Self::NotFound(what),
            PortalError::Invalid(fields) => Self::Invalid(fields),
            PortalError::Conflict(why) => Self::Conflict(why),
            PortalError::PlanChanged { message, plan } => Self::PlanChanged { message, plan },
            PortalError::Forbidden(why) => Self::Forbidden(why),
            PortalError::Unavailable => Self::Unavailable,
        }
    }
}
