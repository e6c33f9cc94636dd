//! Server function for the admin audit log.

use domain::{AuditEvent, Page, RawAuditQuery};
use leptos::{prelude::*, server_fn::codec::Json};

#[cfg(feature = "ssr")]
use super::{actor, answer, portal};
use crate::error::UiError;

/// Audit events, newest first, filtered as the page's address says; admins only.
#[server(prefix = "/rpc", endpoint = "audit", input = Json)]
pub async fn audit_log(query: RawAuditQuery) -> Result<Page<AuditEvent>, UiError> {
    answer(
        async move {
            let actor = actor()?;
            let query = domain::AuditQuery::parse(&query).map_err(UiError::Invalid)?;
            Ok(portal()?.audit_log(&actor, &query).await?)
        }
        .await,
    )
}
