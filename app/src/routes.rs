//! The rarely visited pages as lazily loaded routes: with `cargo leptos build --split` such a
//! page's code (and the server functions and components only it uses) is its own wasm chunk,
//! fetched on the first visit. The pages people open every day (catalog, service, requests,
//! the request form, reviews) stay in the main bundle: splitting them too cut it from 840 to
//! 280 KB gzip, but a first visit to the catalog then fetched 161 small chunks and hydrated in
//! 1.3 s instead of 0.44 s (bench/first_load.sh). In erased mode, making the request, requests,
//! reviews and service pages lazy cut the main bundle from 666 to 494 KB gzip, but a request
//! page then needed 36 more files (107 KB) and a service page 45 (90 KB): not taken either.
//! The wasm bundle must always be built with `--split` (the Makefile does): without it the
//! bundle imports chunks that were never written.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use crate::pages::{
    admin_users::{AdminUserPage, AdminUsersPage},
    audit::AuditPage,
    clusters::ClustersPage,
    hosts::{CertificatesPage, HostsPage},
    infrastructure::{CommitPage, InfrastructurePage, ObjectPage},
    teams::{TeamPage, TeamsPage},
    tokens::TokensPage,
};

/// `lazy_page!(Route, Page)` declares `Route`, a lazy route that renders `<Page/>`. Pages load
/// their own data (resources in their body), so the route carries none.
macro_rules! lazy_page {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

lazy_page! {
    Tokens => TokensPage,
    Audit => AuditPage,
    AdminUsers => AdminUsersPage,
    AdminUser => AdminUserPage,
    Teams => TeamsPage,
    Team => TeamPage,
    Clusters => ClustersPage,
    Hosts => HostsPage,
    Certificates => CertificatesPage,
    Infrastructure => InfrastructurePage,
    Commit => CommitPage,
    InfrastructureObject => ObjectPage,
}
