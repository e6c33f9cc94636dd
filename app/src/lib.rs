//! Stargate's UI: the document shell, the router and one module per page.
//!
//! Compiled twice: with `ssr` into the server (rendering and server functions) and with
//! `hydrate` into the browser's wasm bundle.

pub mod api;
mod components;
pub mod error;
mod pages;
mod routes;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    Lazy, SsrMode,
    components::{Redirect, Route, Router, Routes},
    path,
};

use components::layout::Header;
pub use pages::new_request::{PostedRequest, request_input};
pub use pages::reviews::{PostedApprovals, approvals_from_form};
use pages::{
    catalog::CatalogPage, new_request::NewRequestPage, not_found::NotFound, request::RequestPage,
    requests::RequestsPage, reviews::ReviewsPage, service::ServicePage,
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
                <HydrationScripts options />
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
                    <Route path=path!("/settings/tokens") view={Lazy::<routes::Tokens>::new()} />
                    <Route path=path!("/requests") view=RequestsPage ssr=SsrMode::Async />
                    <Route path=path!("/requests/new") view=NewRequestPage ssr=SsrMode::Async />
                    <Route path=path!("/requests/:id") view=RequestPage ssr=SsrMode::Async />
                    <Route path=path!("/reviews") view=ReviewsPage ssr=SsrMode::Async />
                    <Route path=path!("/audit") view={Lazy::<routes::Audit>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/users") view={Lazy::<routes::AdminUsers>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/users/:id") view={Lazy::<routes::AdminUser>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/teams") view={Lazy::<routes::Teams>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/teams/:team") view={Lazy::<routes::Team>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/clusters") view={Lazy::<routes::Clusters>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/hosts") view={Lazy::<routes::Hosts>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/certificates") view={Lazy::<routes::Certificates>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/infrastructure") view={Lazy::<routes::Infrastructure>::new()} ssr=SsrMode::Async />
                    <Route
                        path=path!("/infrastructure/commits/:id")
                        view={Lazy::<routes::Commit>::new()}
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/infrastructure/object") view={Lazy::<routes::InfrastructureObject>::new()} ssr=SsrMode::Async />
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
    let Some(body) = document().body() else {
        return;
    };
    // Lazy routes hydrate once their page's chunk has arrived, so hydration is a task.
    wasm_bindgen_futures::spawn_local(async move {
        leptos::mount::hydrate_from_async(body.clone(), App)
            .await
            .forget();
        // Lets browser tests (and curious people) tell a live page from static HTML.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
