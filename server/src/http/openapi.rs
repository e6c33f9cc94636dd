//! The OpenAPI 3 document of the REST API, built from the same declarations as its routes.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stargate API",
        description = "Self-service developer portal. Authenticate with a personal access \
                       token (`Authorization: Bearer sgp_...`) or a browser session.",
    ),
    servers((url = "/api/v1")),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    tags((name = "catalog", description = "Teams, services, hosts, certificates, clusters"),
         (name = "requests", description = "Requests for services, ingress hosts, certificates and TCP/UDP exposures; changes, decommissions, restores or adopts of drifted objects, and imports of a namespace's existing objects"),
         (name = "reviews", description = "The review queue: approving several requests at once"),
         (name = "infrastructure", description = "The IaC repository: every applied change is a commit"),
         (name = "audit", description = "The append-only audit log (admins)"),
         (name = "admin", description = "People, their sessions and tokens; offboarding (admins)"),
         (name = "identity", description = "Who is calling")),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("stargate_session"))),
        );
    }
}
