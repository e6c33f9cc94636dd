//! Server functions: thin adapters from the UI to the portal the server provides. JSON in
//! (not form-encoded): it keeps empty optional fields, and cross-site forms cannot send it.

use domain::{Page, RawServiceQuery, ServiceDetail, ServiceSummary, Team};
use leptos::{prelude::*, server_fn::codec::Json};

use crate::error::UiError;

/// The portal implementation, provided by the server through Leptos context.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct PortalContext(pub std::sync::Arc<dyn domain::Portal>);

#[cfg(feature = "ssr")]
fn portal() -> Result<std::sync::Arc<dyn domain::Portal>, UiError> {
    use_context::<PortalContext>()
        .map(|p| p.0)
        .ok_or(UiError::Unavailable)
}

#[server(prefix = "/rpc", endpoint = "teams", input = Json)]
pub async fn list_teams() -> Result<Vec<Team>, UiError> {
    Ok(portal()?.teams().await?)
}

#[server(prefix = "/rpc", endpoint = "services", input = Json)]
pub async fn list_services(query: RawServiceQuery) -> Result<Page<ServiceSummary>, UiError> {
    let query = domain::ServiceQuery::parse(&query).map_err(UiError::Invalid)?;
    Ok(portal()?.list_services(&query).await?)
}

#[server(prefix = "/rpc", endpoint = "service", input = Json)]
pub async fn get_service(team: String, name: String) -> Result<ServiceDetail, UiError> {
    let not_found = || UiError::NotFound(format!("service {team}/{name}"));
    let team_name = domain::TeamName::parse("team", &team).map_err(|_| not_found())?;
    let service_name = domain::ServiceName::parse("name", &name).map_err(|_| not_found())?;
    Ok(portal()?.service(&team_name, &service_name).await?)
}
