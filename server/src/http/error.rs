//! The REST API's one error shape: `{"error": code, "message": ..., "fields": [...]}`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use domain::{FieldError, FieldErrors, PortalError};
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
    #[error("the portal could not complete this request; try again shortly")]
    Unavailable,
}

/// Every API error: a stable code, a sentence for people, and the fields at fault.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `rate_limited`, ...
    error: String,
    message: String,
    fields: Vec<FieldError>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, fields) = match &self {
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", &[][..]),
            Self::BadQuery(fields) => (StatusCode::BAD_REQUEST, "bad_request", &fields.0[..]),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", &[][..]),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", &[][..]),
        };
        let body = ErrorBody {
            error: code.to_owned(),
            message: self.to_string(),
            fields: fields.to_vec(),
        };
        (status, Json(body)).into_response()
    }
}

impl From<PortalError> for ApiError {
    fn from(error: PortalError) -> Self {
        match error {
            PortalError::NotFound(what) => Self::NotFound(what),
            PortalError::Invalid(fields) => Self::BadQuery(fields),
            PortalError::Forbidden(why) => Self::Forbidden(why),
            PortalError::Unavailable => Self::Unavailable,
        }
    }
}
