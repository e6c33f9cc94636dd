//! Offboarding: admins list people with their sessions and tokens, deactivate someone and
//! revoke any token. Who may is `domain::admin`'s rule, checked here before anything is
//! read; the store does each change in one audited transaction.

use domain::{
    Actor, Deactivation, Page, PortalError, UserDetail, UserQuery, UserSummary,
    admin::{may_deactivate, may_list_users, may_offboard},
};

use super::{PortalService, unavailable};
use crate::store::UserChange;

impl PortalService {
    pub(super) async fn users(
        &self,
        actor: &Actor,
        query: &UserQuery,
    ) -> Result<Page<UserSummary>, PortalError> {
        may_list_users(actor)?;
        let idle_cutoff = self.auth.idle_cutoff();
        let users = self.store.list_users(query, &idle_cutoff).await;
        users.map_err(unavailable)
    }

    pub(super) async fn user_detail(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<UserDetail, PortalError> {
        may_list_users(actor)?;
        let idle_cutoff = self.auth.idle_cutoff();
        let detail = self
            .store
            .user_detail(id, &idle_cutoff)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| PortalError::NotFound(format!("user {id}")))?;
        Ok(UserDetail {
            is_you: id == actor.user_id,
            ..detail
        })
    }

    pub(super) async fn deactivate(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Deactivation, PortalError> {
        may_deactivate(actor, id)?;
        let change = self.store.deactivate_user(&actor.email, id).await;
        match change.map_err(unavailable)? {
            UserChange::Done(deactivation) => {
                // Other processes forget theirs when the commit reaches their watcher.
                self.auth.forget_verified_tokens();
                tracing::info!(user = id, by = %actor.email, "deactivated");
                Ok(deactivation)
            }
            UserChange::NotFound => Err(PortalError::NotFound(format!("user {id}"))),
            UserChange::Unchanged => Err(PortalError::Conflict(format!(
                "user {id} is already deactivated"
            ))),
        }
    }

    pub(super) async fn reactivate(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<UserSummary, PortalError> {
        may_offboard(actor)?;
        let change = self.store.reactivate_user(&actor.email, id).await;
        match change.map_err(unavailable)? {
            UserChange::Done(()) => Ok(self.user_detail(actor, id).await?.user),
            UserChange::NotFound => Err(PortalError::NotFound(format!("user {id}"))),
            UserChange::Unchanged => Err(PortalError::Conflict(format!(
                "user {id} is not deactivated"
            ))),
        }
    }

    pub(super) async fn revoke_for_admin(&self, actor: &Actor, id: i64) -> Result<(), PortalError> {
        may_offboard(actor)?;
        let revoked = self.store.revoke_any_token(&actor.email, id).await;
        if revoked.map_err(unavailable)? {
            self.auth.forget_verified_tokens();
            Ok(())
        } else {
            Err(PortalError::NotFound(format!("live token {id}")))
        }
    }
}
