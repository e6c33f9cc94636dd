use domain::FieldErrors;
#[cfg(feature = "ssr")]
use domain::PortalError;
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// What a page can be told by a server function; travels as JSON to the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum UiError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("Sign in to continue.")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("The portal could not answer right now. Try again in a moment.")]
    Unavailable,
    #[error("Could not reach the portal: {0}")]
    Transport(String),
}

impl UiError {
    /// The HTTP status a server-rendered page shows for this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::Invalid(_) => 400,
            Self::Unauthorized => 401,
            Self::Forbidden(_) => 403,
            Self::Conflict(_) => 409,
            Self::Unavailable | Self::Transport(_) => 503,
        }
    }
}

/// What a form shows after its action answered: the field messages of a refusal joined,
/// another error's text, nothing on success or before any answer.
pub fn action_error<T>(value: Option<Result<T, UiError>>) -> Option<String> {
    match value {
        Some(Err(UiError::Invalid(fields))) => Some(
            fields
                .0
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Some(Err(other)) => Some(other.to_string()),
        _ => None,
    }
}

#[cfg(feature = "ssr")]
impl From<PortalError> for UiError {
    fn from(error: PortalError) -> Self {
        match error {
            PortalError::NotFound(what) => Self::NotFound(what),
            PortalError::Invalid(fields) => Self::Invalid(fields),
            PortalError::Forbidden(why) => Self::Forbidden(why),
            PortalError::Conflict(why) => Self::Conflict(why),
            // The page reloads the request after any action, so the new plan is shown.
            PortalError::PlanChanged { message, .. } => Self::Conflict(message),
            PortalError::Unavailable => Self::Unavailable,
        }
    }
}

impl FromServerFnError for UiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}
