//! Stargate's UI: the document shell, the router and one module per page.
//!
//! Compiled twice: with `ssr` into the server (rendering and server functions) and with
//! `hydrate` into the browser's wasm bundle. Islands mode: the server renders every page;
//! the bundle holds only the islands (`#[island]`), the parts of a page that react in the
//! browser, so a page ships the code of what it makes interactive and nothing else.

pub mod api;
mod components;
pub mod error;
mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Redirect, Route, Router, Routes},
    path,
};

use components::layout::Header;
pub use pages::new_request::{PostedRequest, request_input};
pub use pages::reviews::{PostedApprovals, approvals_from_form};
pub use pages::tokens::{PostedToken, token_form};
use pages::{
    admin_users::{AdminUserPage, AdminUsersPage},
    audit::AuditPage,
    catalog::CatalogPage,
    clusters::ClustersPage,
    hosts::{CertificatesPage, HostsPage},
    infrastructure::{CommitPage, InfrastructurePage, ObjectPage},
    new_request::NewRequestPage,
    not_found::NotFound,
    request::RequestPage,
    requests::RequestsPage,
    reviews::ReviewsPage,
    service::ServicePage,
    teams::{TeamPage, TeamsPage},
    tokens::TokensPage,
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="stargate" href="/pkg/stargate.css" />
        <Title formatter=|title: String| {
            if title.is_empty() { "Stargate".to_owned() } else { format!("{title} · Stargate") }
        } />
        <Router>
            <Header />
            <main class="container">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=|| view! { <Redirect path="/services" /> } />
                    <Route path=path!("/services") view=CatalogPage ssr=SsrMode::Async />
                    <Route path=path!("/settings/tokens") view=TokensPage ssr=SsrMode::Async />
                    <Route path=path!("/requests") view=RequestsPage ssr=SsrMode::Async />
                    <Route path=path!("/requests/new") view=NewRequestPage ssr=SsrMode::Async />
                    <Route path=path!("/requests/:id") view=RequestPage ssr=SsrMode::Async />
                    <Route path=path!("/reviews") view=ReviewsPage ssr=SsrMode::Async />
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/users") view=AdminUsersPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/users/:id") view=AdminUserPage ssr=SsrMode::Async />
                    <Route path=path!("/teams") view=TeamsPage ssr=SsrMode::Async />
                    <Route path=path!("/teams/:team") view=TeamPage ssr=SsrMode::Async />
                    <Route path=path!("/clusters") view=ClustersPage ssr=SsrMode::Async />
                    <Route path=path!("/hosts") view=HostsPage ssr=SsrMode::Async />
                    <Route path=path!("/certificates") view=CertificatesPage ssr=SsrMode::Async />
                    <Route path=path!("/infrastructure") view=InfrastructurePage ssr=SsrMode::Async />
                    <Route
                        path=path!("/infrastructure/commits/:id")
                        view=CommitPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/infrastructure/object") view=ObjectPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/services/:team/:name")
                        view=ServicePage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </main>
        </Router>
    }
}

/// Pages may run only our own scripts: the hydration loader carries this request's nonce,
/// the bundle and wasm come from our origin.
fn set_content_security_policy() {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        let policy = format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        );
        if let Ok(value) = http::HeaderValue::from_str(&policy) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

/// Sets the HTTP status of the page being rendered on the server (404, 400, ...); a no-op
/// in the browser, where the document has already arrived.
pub fn set_page_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(code)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(status),
    ) {
        response.set_status(code);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // A page without islands is as live as it gets; islands mark the page themselves.
    components::island::mark_if_all_ready(0);
}
