//! Stargate's domain: the catalog's types and the rules that keep its data valid.
//!
//! Pure code only — no HTTP, SQL, Leptos or Kubernetes clients — so the same field checks
//! run on the server and, compiled to wasm, in the browser. Rendering, planning, the
//! catalog rules, YAML and the Kubernetes types sit behind the `render` feature (default,
//! and the server's): the wasm bundle is built without it.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod drift;
pub mod field_diff;
pub mod field_error;
pub mod iac;
#[cfg(feature = "render")]
pub mod import;
pub mod infrastructure;
pub mod live_status;
pub mod names;
#[cfg(feature = "render")]
pub mod portal;
pub mod query;
pub mod request;
pub mod tokens;

pub use admin::{
    Deactivation, RawUserQuery, SessionView, UserDetail, UserQuery, UserSummary, UserToken,
};
pub use audit::{AuditEvent, AuditQuery, RawAuditQuery};
pub use auth::{Actor, AuthMethod, Me, TeamAccess, TeamMembership, TeamRole};
pub use catalog::{
    Certificate, Cluster, Exposure, Host, Page, ServiceDetail, ServiceStatus, ServiceSummary, Team,
    TeamDetail,
};
pub use field_error::{FieldError, FieldErrors};
pub use names::{ServiceName, TeamName};
#[cfg(feature = "render")]
pub use portal::{Portal, PortalError, Review};
pub use query::{PageRequest, RawServiceQuery, ServiceQuery, ServiceSort};
pub use tokens::{DEFAULT_TOKEN_DAYS, NewToken, Scopes, TokenForm, TokenRequest, TokenView};
