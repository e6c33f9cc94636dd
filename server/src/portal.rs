//! The portal's operations over the store: the one service layer behind pages and API.

use async_trait::async_trait;
use domain::{
    Page, Portal, PortalError, ServiceDetail, ServiceName, ServiceQuery, ServiceSummary, Team,
    TeamName,
};

use crate::store::{Store, StoreError};

#[derive(Clone)]
pub struct PortalService {
    store: Store,
}

impl PortalService {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// Storage failures are logged with their detail and shown to users only as "unavailable".
fn unavailable(error: StoreError) -> PortalError {
    tracing::error!(error = %error, "storage failed");
    PortalError::Unavailable
}

#[async_trait]
impl Portal for PortalService {
    #[tracing::instrument(skip(self))]
    async fn teams(&self) -> Result<Vec<Team>, PortalError> {
        self.store.teams().await.map_err(unavailable)
    }

    #[tracing::instrument(skip(self))]
    async fn list_services(
        &self,
        query: &ServiceQuery,
    ) -> Result<Page<ServiceSummary>, PortalError> {
        self.store.list_services(query).await.map_err(unavailable)
    }

    #[tracing::instrument(skip(self))]
    async fn service(
        &self,
        team: &TeamName,
        name: &ServiceName,
    ) -> Result<ServiceDetail, PortalError> {
        self.store
            .service(team, name)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| PortalError::NotFound(format!("service {team}/{name}")))
    }
}
