//! Server functions for offboarding (admins): people, their sessions and tokens,
//! deactivation and revoking anyone's token. The writes are form-encoded, so their
//! buttons work as plain form posts before (or without) the wasm bundle.

use domain::{Deactivation, Page, RawUserQuery, UserDetail, UserSummary};
use leptos::{prelude::*, server_fn::codec::Json};

#[cfg(feature = "ssr")]
use super::{actor, answer, portal};
use crate::error::UiError;

/// People by email, as the page's address says; admins only.
#[server(prefix = "/rpc", endpoint = "admin/users", input = Json)]
pub async fn list_users(query: RawUserQuery) -> Result<Page<UserSummary>, UiError> {
    answer(
        async move {
            let actor = actor()?;
            let query = domain::UserQuery::parse(&query).map_err(UiError::Invalid)?;
            Ok(portal()?.list_users(&actor, &query).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "admin/user", input = Json)]
pub async fn get_user(id: i64) -> Result<UserDetail, UiError> {
    answer(async move { Ok(portal()?.user(&actor()?, id).await?) }.await)
}

/// `confirm` is the confirmation box of the page's form: without it nothing happens.
#[server(prefix = "/rpc", endpoint = "admin/deactivate")]
pub async fn deactivate_user(id: i64, confirm: Option<String>) -> Result<Deactivation, UiError> {
    answer(
        async move {
            let actor = actor()?;
            // Who may comes first: a non-admin hears 403 whatever the form said.
            domain::admin::may_deactivate(&actor, id)
                .map_err(|refusal| UiError::Forbidden(refusal.message().into()))?;
            if confirm.is_none() {
                let why = "tick the box to confirm the deactivation";
                return Err(UiError::Invalid(domain::FieldErrors(vec![
                    domain::FieldError::new("confirm", why),
                ])));
            }
            Ok(portal()?.deactivate_user(&actor, id).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "admin/reactivate")]
pub async fn reactivate_user(id: i64) -> Result<UserSummary, UiError> {
    answer(async move { Ok(portal()?.reactivate_user(&actor()?, id).await?) }.await)
}

#[server(prefix = "/rpc", endpoint = "admin/tokens/revoke")]
pub async fn revoke_any_token(id: i64) -> Result<(), UiError> {
    answer(async move { Ok(portal()?.revoke_any_token(&actor()?, id).await?) }.await)
}
