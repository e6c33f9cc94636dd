//! The portal's operations as one port: pages (server functions) and the REST API call
//! the same implementation, which the server provides.

use async_trait::async_trait;

use crate::{
    FieldErrors, Page, ServiceDetail, ServiceName, ServiceQuery, ServiceSummary, Team, TeamName,
};

/// Why a portal operation did not happen. Converted once at each edge (JSON error, page).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    /// A dependency (the database) failed; details are logged, not shown.
    #[error("the portal could not complete this request; try again shortly")]
    Unavailable,
}

#[async_trait]
pub trait Portal: Send + Sync + 'static {
    async fn teams(&self) -> Result<Vec<Team>, PortalError>;

    async fn list_services(
        &self,
        query: &ServiceQuery,
    ) -> Result<Page<ServiceSummary>, PortalError>;

    async fn service(
        &self,
        team: &TeamName,
        name: &ServiceName,
    ) -> Result<ServiceDetail, PortalError>;
}
