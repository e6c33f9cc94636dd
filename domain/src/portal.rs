//! The portal's operations as one port: pages (server functions) and the REST API call
//! the same implementation, which the server provides.

use async_trait::async_trait;

use crate::{
    Actor, Certificate, Cluster, FieldErrors, Host, NewToken, Page, PageRequest, ServiceDetail,
    ServiceName, ServiceQuery, ServiceSummary, Team, TeamDetail, TeamName, TokenRequest, TokenView,
};

/// Why a portal operation did not happen. Converted once at each edge (JSON error, page).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    #[error("not allowed: {0}")]
    Forbidden(String),
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

    async fn team(&self, name: &TeamName) -> Result<TeamDetail, PortalError>;

    async fn clusters(&self) -> Result<Vec<Cluster>, PortalError>;

    async fn hosts(&self, page: PageRequest) -> Result<Page<Host>, PortalError>;

    async fn certificates(&self, page: PageRequest) -> Result<Page<Certificate>, PortalError>;

    /// The actor's own personal access tokens that still work.
    async fn tokens(&self, actor: &Actor) -> Result<Vec<TokenView>, PortalError>;

    async fn create_token(
        &self,
        actor: &Actor,
        request: TokenRequest,
    ) -> Result<NewToken, PortalError>;

    /// Revokes one of the actor's own tokens; `NotFound` for anyone else's.
    async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<(), PortalError>;
}
