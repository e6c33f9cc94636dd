//! Where a request stands in its lifecycle.

use serde::{Deserialize, Serialize};

use crate::{FieldError, field_error::choice};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RequestStatus {
    /// Waiting for a lead's review.
    PendingReview,
    /// Approved; a job waits for a worker.
    Queued,
    /// A worker is applying it.
    Applying,
    /// Applied and ready.
    Applied,
    /// Applying failed; a lead may retry.
    Failed,
    Rejected,
    Cancelled,
}

impl RequestStatus {
    pub const ALL: [Self; 7] = [
        Self::PendingReview,
        Self::Queued,
        Self::Applying,
        Self::Applied,
        Self::Failed,
        Self::Rejected,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingReview => "pending_review",
            Self::Queued => "queued",
            Self::Applying => "applying",
            Self::Applied => "applied",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }

    /// For people: "Pending review".
    pub fn label(self) -> &'static str {
        match self {
            Self::PendingReview => "Pending review",
            Self::Queued => "Queued",
            Self::Applying => "Applying",
            Self::Applied => "Applied",
            Self::Failed => "Failed",
            Self::Rejected => "Rejected",
            Self::Cancelled => "Cancelled",
        }
    }

    pub fn parse(path: &str, value: &str) -> Result<Self, FieldError> {
        let options = Self::ALL.map(|s| (s.as_str(), s));
        choice(path, value, &options)
    }

    /// No further change can happen to the request.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Applied | Self::Rejected | Self::Cancelled)
    }
}

impl std::fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name() {
        for status in RequestStatus::ALL {
            assert_eq!(RequestStatus::parse("status", status.as_str()), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        let error = RequestStatus::parse("status", "done").unwrap_err();
        assert!(
            error.message.contains("pending_review"),
            "{}",
            error.message
        );
    }
}
