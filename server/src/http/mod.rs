//! The HTTP edge: one router for pages, server functions, REST API, health and metrics.

mod admin;
mod api;
mod audit;
pub(crate) mod bundle;
pub mod client_addr;
mod error;
mod events;
mod forms;
mod health;
mod infrastructure;
mod live;
pub mod metrics;
pub mod openapi;
mod requests;
mod reviews;
mod security;
mod stream_slots;

use std::{sync::Arc, time::Duration};

use app::{
    App,
    api::{IslandFiles, PortalContext},
    shell,
};
use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
    http::{HeaderName, Request},
    middleware,
    routing::{get, post},
};
use domain::Portal;
use leptos::prelude::{LeptosOptions, provide_context};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::{
        Auth,
        middleware::{require_actor, resolve_actor},
        routes as sign_in,
    },
    store::Store,
};
use client_addr::{TrustedProxies, resolve_client};
pub use live::LiveViews;
use metrics::HttpMetrics;
pub use stream_slots::StreamSlots;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone)]
pub struct AppState {
    /// Turns true when the server begins to shut down.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// Turns true at SIGTERM, `http.drain_seconds` before `stopping`: `/readyz` fails.
    pub draining: tokio::sync::watch::Receiver<bool>,
    pub leptos_options: LeptosOptions,
    pub portal: Arc<dyn Portal>,
    pub store: Store,
    pub metrics: Arc<HttpMetrics>,
    pub auth: Arc<Auth>,
    /// Live event streams open per user, capped (`http.max_streams_per_user`).
    pub streams: StreamSlots,
    /// The open event streams, woken when their request moves.
    pub live: LiveViews,
    /// Whose `X-Forwarded-For` names the client (`http.trusted_proxies`).
    pub trusted_proxies: Arc<TrustedProxies>,
    /// What each island of the bundle loads, read at start like the bundle's copies.
    pub island_files: IslandFiles,
}

impl AppState {
    /// What every rendered page gets in context: the portal, and whether the development
    /// sign-in is on (every page says so).
    fn page_context(&self) -> PortalContext {
        PortalContext {
            portal: self.portal.clone(),
            dev_sign_in: self.auth.mode == crate::config::AuthMode::Dev,
            island_files: self.island_files.clone(),
        }
    }
}

impl FromRef<AppState> for Arc<Auth> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub fn build_router(state: AppState) -> Router {
    // Routes and their OpenAPI entries come from the same list, so they cannot drift.
    let (api_v1, api_doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(api::me))
        .routes(routes!(api::list_teams))
        .routes(routes!(api::get_team))
        .routes(routes!(api::list_clusters))
        .routes(routes!(api::list_hosts))
        .routes(routes!(api::list_certificates))
        .routes(routes!(api::list_services))
        .routes(routes!(api::get_service))
        .routes(routes!(api::get_service_drift))
        .routes(routes!(requests::submit_request, requests::list_requests))
        .routes(routes!(requests::preview_request))
        .routes(routes!(requests::get_request))
        .routes(routes!(requests::get_manifests))
        .routes(routes!(requests::cancel_request))
        .routes(routes!(requests::approve_request))
        .routes(routes!(requests::reject_request))
        .routes(routes!(requests::comment_on_request))
        .routes(routes!(requests::retry_request))
        .routes(routes!(reviews::approve_requests))
        .routes(routes!(events::request_events))
        .routes(routes!(audit::audit_log))
        .routes(routes!(admin::list_users))
        .routes(routes!(admin::get_user))
        .routes(routes!(admin::deactivate_user))
        .routes(routes!(admin::reactivate_user))
        .routes(routes!(admin::revoke_token))
        .routes(routes!(infrastructure::list_commits))
        .routes(routes!(infrastructure::get_commit))
        .routes(routes!(infrastructure::get_tree))
        .routes(routes!(infrastructure::get_file))
        .routes(routes!(infrastructure::get_history))
        .layer(DefaultBodyLimit::max(requests::MAX_BODY_BYTES))
        .split_for_parts();
    let api_v1 = api_v1
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed);
    let api_doc = Arc::new(api_doc);

    let portal = state.page_context();
    // The not-found page gets the portal too: its header asks who is signed in and
    // whether the development sign-in is on.
    let not_found_portal = portal.clone();
    let options = state.leptos_options.clone();

    // Everything a signed-out visitor may reach.
    let public = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::export))
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = api_doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route("/login", get(sign_in::login))
        .route("/auth/callback", get(sign_in::callback))
        .route("/auth/dev", post(sign_in::dev_sign_in))
        .route("/logout", post(sign_in::logout))
        .route("/signed-out", get(sign_in::signed_out))
        // The wasm bundle and its chunks, compressed (brotli or gzip, as the browser
        // accepts); pages stream and stay as they are.
        .nest_service("/pkg", bundle::service(bundle::dir(&options)));

    // Pages, server functions and the REST API need a signed-in user.
    let protected = Router::new()
        .nest("/api/v1", api_v1)
        .route("/requests/new", post(forms::submit_request))
        .route("/reviews", post(forms::approve_selected))
        .route("/settings/tokens", post(forms::create_token))
        .leptos_routes_with_context(
            &state,
            generate_route_list(App),
            move || provide_context(portal.clone()),
            move || shell(options.clone()),
        )
        .route_layer(middleware::from_fn(require_actor));

    public
        .merge(protected)
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            move || provide_context(not_found_portal.clone()), shell
        ))
        .layer(middleware::from_fn_with_state(
            state.auth.clone(),
            resolve_actor,
        ))
        // Before anything that counts clients: rate limits read the `ClientAddr` it sets.
        .layer(middleware::from_fn_with_state(
            state.trusted_proxies.clone(),
            resolve_client,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|request: &Request<_>| {
                            let id = request
                                .headers()
                                .get(REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default();
                            tracing::info_span!(
                                "request",
                                request_id = %id,
                                method = %request.method(),
                                path = %request.uri().path(),
                                client = tracing::field::Empty,
                            )
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(30),
                )),
        )
        .with_state(state)
}
