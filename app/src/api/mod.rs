//! Server functions: thin adapters from the UI to the portal the server provides. JSON in
//! (not form-encoded): it keeps empty optional fields, and cross-site forms cannot send it.

use domain::{Page, RawServiceQuery, ServiceDetail, ServiceSummary, Team};
use leptos::{prelude::*, server_fn::codec::Json};

use crate::error::UiError;

mod admin;
mod audit;
mod infrastructure;
mod requests;

pub use admin::*;
pub use audit::*;
pub use infrastructure::*;
pub use requests::*;

#[cfg(feature = "ssr")]
pub use crate::components::island_preload::IslandFiles;

/// The portal implementation, provided by the server through Leptos context.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct PortalContext {
    pub portal: std::sync::Arc<dyn domain::Portal>,
    /// The development sign-in is on: every page says so.
    pub dev_sign_in: bool,
    /// What each island loads, for its page to preload.
    pub island_files: IslandFiles,
}

#[cfg(feature = "ssr")]
pub(crate) fn portal() -> Result<std::sync::Arc<dyn domain::Portal>, UiError> {
    use_context::<PortalContext>()
        .map(|p| p.portal)
        .ok_or(UiError::Unavailable)
}

/// The signed-in person, as the server's sign-in check left it on the request.
#[cfg(feature = "ssr")]
pub(crate) fn actor() -> Result<domain::Actor, UiError> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<domain::Actor>().cloned())
        .ok_or(UiError::Unauthorized)
}

/// The signed-in person, when signed in through a browser session (not a token).
#[cfg(feature = "ssr")]
fn session_actor() -> Result<domain::Actor, UiError> {
    let actor = actor()?;
    let via = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<domain::AuthMethod>().copied());
    domain::portal::require_session(via)?;
    Ok(actor)
}

/// Gives the HTTP response the error's status (a server function answers 500 otherwise),
/// except for a plain form post from a page without wasm: Leptos answers that with a
/// redirect back to the page, the error in its URL, and a status would void the redirect.
#[cfg(feature = "ssr")]
pub(crate) fn answer<T>(result: Result<T, UiError>) -> Result<T, UiError> {
    if let Err(error) = &result
        && !plain_form_post()
    {
        crate::set_page_status(error.status());
    }
    result
}

#[cfg(feature = "ssr")]
fn plain_form_post() -> bool {
    use_context::<http::request::Parts>().is_some_and(|parts| {
        parts.method == http::Method::POST
            && parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"))
    })
}

/// Whether the development sign-in is on. Answered on the server while it renders a page,
/// for signed-out visitors too (a 404, say), unlike `current_user`; the browser hydrates
/// with the server's answer and never works it out itself.
pub async fn dev_sign_in_mode() -> bool {
    #[cfg(feature = "ssr")]
    {
        use_context::<PortalContext>().is_some_and(|p| p.dev_sign_in)
    }
    #[cfg(not(feature = "ssr"))]
    {
        false
    }
}

/// Who is signed in, and whether this is the development sign-in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionInfo {
    pub me: domain::Me,
    pub dev_sign_in: bool,
    /// Requests waiting for this person's review (the navigation's badge).
    pub reviews: usize,
}

#[server(prefix = "/rpc", endpoint = "me", input = Json)]
pub async fn current_user() -> Result<SessionInfo, UiError> {
    answer(
        async move {
            let dev_sign_in = use_context::<PortalContext>().is_some_and(|p| p.dev_sign_in);
            let actor = actor()?;
            // Only reviewers have a queue; everyone else skips the query.
            let reviews =
                if actor.admin || actor.teams.iter().any(|m| m.role == domain::TeamRole::Lead) {
                    portal()?.review_queue(&actor).await?.len()
                } else {
                    0
                };
            Ok(SessionInfo {
                me: domain::Me::from(&actor),
                dev_sign_in,
                reviews,
            })
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "teams", input = Json)]
pub async fn list_teams() -> Result<Vec<Team>, UiError> {
    answer(async move { Ok(portal()?.teams().await?) }.await)
}

#[server(prefix = "/rpc", endpoint = "services", input = Json)]
pub async fn list_services(query: RawServiceQuery) -> Result<Page<ServiceSummary>, UiError> {
    answer(
        async move {
            let query = domain::ServiceQuery::parse(&query).map_err(UiError::Invalid)?;
            Ok(portal()?.list_services(&query).await?)
        }
        .await,
    )
}

/// A service's team and name from a URL: a malformed one is a service that does not exist.
#[cfg(feature = "ssr")]
fn service_key(team: &str, name: &str) -> Result<(domain::TeamName, domain::ServiceName), UiError> {
    let not_found = || UiError::NotFound(format!("service {team}/{name}"));
    let team_name = domain::TeamName::parse("team", team).map_err(|_| not_found())?;
    let service_name = domain::ServiceName::parse("name", name).map_err(|_| not_found())?;
    Ok((team_name, service_name))
}

#[server(prefix = "/rpc", endpoint = "service", input = Json)]
pub async fn get_service(team: String, name: String) -> Result<ServiceDetail, UiError> {
    answer(
        async move {
            let (team_name, service_name) = service_key(&team, &name)?;
            Ok(portal()?.service(&team_name, &service_name).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "service_drift", input = Json)]
pub async fn get_service_drift(
    team: String,
    name: String,
) -> Result<Vec<domain::drift::DriftRecord>, UiError> {
    answer(
        async move {
            let (team_name, service_name) = service_key(&team, &name)?;
            Ok(portal()?.service_drift(&team_name, &service_name).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "tokens", input = Json)]
pub async fn list_tokens() -> Result<Vec<domain::TokenView>, UiError> {
    answer(
        async move {
            let actor = session_actor()?;
            Ok(portal()?.tokens(&actor).await?)
        }
        .await,
    )
}

/// Form-encoded, as the tokens page's form sends it; needs a browser session.
/// Scopes beyond reading come as checkboxes (`scope_request`, `scope_review`).
#[server(prefix = "/rpc", endpoint = "tokens/create")]
pub async fn create_token(
    name: String,
    expires_in_days: String,
    scope_request: Option<String>,
    scope_review: Option<String>,
) -> Result<domain::NewToken, UiError> {
    answer(
        async move {
            let actor = session_actor()?;
            let form = crate::pages::tokens::token_form(
                name,
                expires_in_days,
                scope_request.is_some(),
                scope_review.is_some(),
            );
            Ok(portal()?.create_token(&actor, &form).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "tokens/revoke")]
pub async fn revoke_token(id: i64) -> Result<(), UiError> {
    answer(
        async move {
            let actor = session_actor()?;
            Ok(portal()?.revoke_token(&actor, id).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "team", input = Json)]
pub async fn get_team(team: String) -> Result<domain::TeamDetail, UiError> {
    answer(
        async move {
            let name = domain::TeamName::parse("team", &team)
                .map_err(|_| UiError::NotFound(format!("team {team}")))?;
            Ok(portal()?.team(&name).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "clusters", input = Json)]
pub async fn list_clusters() -> Result<Vec<domain::Cluster>, UiError> {
    answer(async move { Ok(portal()?.clusters().await?) }.await)
}

/// Names only: the catalog's filter needs no per-cluster counts (a count of every service
/// on each page load).
#[server(prefix = "/rpc", endpoint = "cluster_names", input = Json)]
pub async fn list_cluster_names() -> Result<Vec<String>, UiError> {
    answer(async move { Ok(portal()?.cluster_names().await?) }.await)
}

#[server(prefix = "/rpc", endpoint = "hosts", input = Json)]
pub async fn list_hosts(page: Option<String>) -> Result<Page<domain::Host>, UiError> {
    answer(
        async move {
            let page = domain::PageRequest::parse(&page, &None).map_err(UiError::Invalid)?;
            Ok(portal()?.hosts(page).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "certificates", input = Json)]
pub async fn list_certificates(page: Option<String>) -> Result<Page<domain::Certificate>, UiError> {
    answer(
        async move {
            let page = domain::PageRequest::parse(&page, &None).map_err(UiError::Invalid)?;
            Ok(portal()?.certificates(page).await?)
        }
        .await,
    )
}
