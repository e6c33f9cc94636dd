//! Each page as a lazily loaded route: with `cargo leptos build --split` a page's code (and the
//! server functions, parsers and components only it uses) is its own wasm chunk, fetched on the
//! first visit, so the bundle every page loads holds only the shell, the header and the router.
//! The wasm bundle must therefore always be built with `--split` (the Makefile does): without
//! it the bundle imports chunks that were never written.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use crate::pages::{
    admin_users::{AdminUserPage, AdminUsersPage},
    audit::AuditPage,
    catalog::CatalogPage,
    clusters::ClustersPage,
    hosts::{CertificatesPage, HostsPage},
    infrastructure::{CommitPage, InfrastructurePage, ObjectPage},
    new_request::NewRequestPage,
    request::RequestPage,
    requests::RequestsPage,
    reviews::ReviewsPage,
    service::ServicePage,
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
    Catalog => CatalogPage,
    Service => ServicePage,
    Tokens => TokensPage,
    Requests => RequestsPage,
    NewRequest => NewRequestPage,
    Request => RequestPage,
    Reviews => ReviewsPage,
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
